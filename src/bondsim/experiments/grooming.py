"""Grooming in monkeys (Keverne, Martensz & Tuite 1989; Martel et al. 1995).

A primate group lives together until its bonds settle. Half of the group is taken
out for an injection (saline, morphine or naloxone) and a short separation, then
returned; over the next hours we count grooming solicitations (contact seeking)
of the injected animals. Keverne measured CSF beta-endorphin before and after
grooming: here the opioid tone of an animal just before and just after an
accepted contact (a grooming bout) in the saline groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..params import Params
from ..plots import save_figure, subplots
from .common import Context, Experiment, build, parallel_map, run_until, write_table

DESIGN: dict[str, Any] = {
    "groups": 16,  # replicate groups per condition
    "group_size": 20,
    "injected": 10,
    "warmup_days": 14,
    "separation_hours": 6.0,  # out of the group for the injection
    "observation_hours": 6.0,
    "morphine_mg": 10.0,
    "naloxone_mg": 0.8,
}
PARAMS: dict[str, Any] = {"engine": "array", "mean_degree": 10, "dose_mg": 0.0}
KEVERNE_RISE = (17.0, 186.0)  # CSF beta-endorphin rise after grooming, % (Keverne et al. 1989)


def run_group(params: Params, design: dict[str, Any], drug: str, seed: int) -> dict[str, float]:
    """One group in one condition: solicitations of the injected animals and tone around grooming bouts."""
    d = design
    mg = {"saline": 0.0, "morphine": d["morphine_mg"], "naloxone": d["naloxone_mg"]}[drug]
    model = build(
        params, seed, n_treated=d["injected"], n_agents=d["group_size"], drug="placebo" if drug == "saline" else drug
    )
    injected = model.treated_index
    out_at = 24.0 * d["warmup_days"]
    back = out_at + d["separation_hours"]
    model.schedule_doses([(back - 0.5, mg)], injected)
    run_until(model, out_at)
    model.isolate(injected, d["separation_hours"])
    run_until(model, back)
    seeking, rate, before, after = [], [], [], []
    while model.hours < back + d["observation_hours"] - 1e-9:
        tone0 = model.state()["tone"]
        model.step()
        s = model.state()
        seeking.append(s["attempts"][injected].mean())
        rate.append(s["seeking_rate"][injected].mean() / 24.0)
        bouts = model.last_contacts  # who approached whom this step
        groomed = np.zeros(model.n, dtype=bool)
        groomed[bouts.seeker[bouts.accepted]] = True
        groomed[bouts.partner[bouts.accepted]] = True
        before.extend(tone0[groomed])
        after.extend(s["tone"][groomed])
    before_arr, after_arr = np.asarray(before), np.asarray(after)
    rise = float(100.0 * np.mean(after_arr / before_arr - 1.0)) if before_arr.size else float("nan")
    return {
        "contact_seeking": float(np.mean(seeking)) / params.step_hours,
        "solicitation_rate": float(np.mean(rate)),
        "tone_rise_percent": rise,
        "bouts": int(before_arr.size),
    }


def run(ctx: Context) -> dict[str, Any]:
    """Saline, morphine and naloxone on the same groups."""
    d = ctx.design
    seeds = ctx.child_seeds(d["groups"])
    drugs = ("saline", "morphine", "naloxone")
    tasks = [(ctx.params, d, drug, s) for drug in drugs for s in seeds]
    results = parallel_map(run_group, tasks, ctx.workers, ctx.progress, "grooming groups")
    groups = pd.DataFrame(
        [
            {"drug": t[2], "group": i % d["groups"], "seed": t[3], **r}
            for i, (t, r) in enumerate(zip(tasks, results, strict=True))
        ]
    )
    table = (
        groups.groupby("drug", sort=False)
        .agg(
            contact_seeking=("contact_seeking", "mean"),
            sem=("contact_seeking", "sem"),
            solicitation_rate=("solicitation_rate", "mean"),
        )
        .reset_index()
    )
    write_table(groups, ctx.out / "groups.csv")
    write_table(table, ctx.out / "conditions.csv")
    saline = groups[groups["drug"] == "saline"]
    rise = float(np.average(saline["tone_rise_percent"], weights=saline["bouts"]))
    summary = {
        "measure": "grooming solicitations (contact seeking) per hour of the injected animals; "
        "solicitation_rate is their expected number (the Poisson rate), free of the counts' sampling noise",
        "conditions": {
            r.drug: {
                "contact_seeking": float(r.contact_seeking),
                "sem": float(r.sem) if np.isfinite(r.sem) else None,
                "solicitation_rate": float(r.solicitation_rate),
            }
            for r in table.itertuples()
        },
        "tone_rise_after_grooming_percent": rise,
        "keverne_1989_rise_percent": list(KEVERNE_RISE),
    }
    fig, ax = subplots(figsize=(5, 4))
    ax.bar(table["drug"], table["contact_seeking"], yerr=table["sem"], capsize=4, color=["grey", "tab:blue", "tab:red"])
    ax.set_ylabel("solicitations per hour")
    ax.set_title("Grooming solicitation after injection")
    fig.tight_layout()
    save_figure(fig, ctx.out / "solicitation.png")
    lines = [
        "# Grooming (Keverne et al. 1989; Martel et al. 1995)",
        "",
        f"{d['groups']} groups of {d['group_size']}; {d['injected']} injected animals per group.",
        "",
        "| drug | solicitations per hour | SEM | expected (rate) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r.drug} | {r.contact_seeking:.3f} | {r.sem:.3f} | {r.solicitation_rate:.3f} |" for r in table.itertuples()
    ]
    lines += [
        "",
        f"Opioid tone rise after a grooming bout: {rise:.0f}% (Keverne 1989: CSF beta-endorphin "
        f"{KEVERNE_RISE[0]:g}-{KEVERNE_RISE[1]:g}%).",
        "",
        "![solicitation](solicitation.png)",
        "",
    ]
    (ctx.out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return summary


EXPERIMENT = Experiment(
    name="grooming",
    summary="primate group: naloxone raises, morphine lowers grooming solicitation; tone rises after grooming",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="groups",
)
