"""Separation distress (Panksepp, Meeker & Bean 1980): isolated young animals on saline, morphine or naloxone.

Young animals live in a small group until their bonds settle; then some of them
are injected and, an hour later, isolated for a few hours. Every hour an isolated
animal may seek contact; with nobody to reach, the call goes unanswered: that is
a distress call. Each drug is given at several doses; every condition uses the
same groups (same seeds), so the conditions differ only by the drug.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..params import Params
from ..plots import save_figure, subplots
from .common import Context, Experiment, build, parallel_map, run_until, write_table

DESIGN: dict[str, Any] = {
    "groups": 12,  # independent groups (replicates) per condition
    "group_size": 40,
    "isolated": 12,  # animals isolated in each group
    "warmup_days": 14,
    "pretreatment_hours": 1.0,  # injection this long before isolation
    "isolation_hours": 6.0,
    "morphine_mg": [2.5, 5.0, 10.0],
    "naloxone_mg": [0.2, 0.4, 0.8],
}
PARAMS: dict[str, Any] = {"engine": "array", "mean_degree": 6, "dose_mg": 0.0}


def conditions(design: dict[str, Any]) -> list[tuple[str, float]]:
    """(drug, mg) of every condition; saline is the placebo."""
    return (
        [("saline", 0.0)]
        + [("morphine", mg) for mg in design["morphine_mg"]]
        + [("naloxone", mg) for mg in design["naloxone_mg"]]
    )


def run_group(params: Params, design: dict[str, Any], drug: str, mg: float, seed: int) -> dict[str, float]:
    """One group in one condition: distress calls per hour and mean distress of the isolated animals."""
    d = design
    model = build(
        params, seed, n_treated=d["isolated"], n_agents=d["group_size"], drug="placebo" if drug == "saline" else drug
    )
    subjects = model.treated_index
    injection = 24.0 * d["warmup_days"]
    model.schedule_doses([(injection, mg)], subjects)
    start = injection + d["pretreatment_hours"]
    run_until(model, start)
    model.isolate(subjects, d["isolation_hours"])
    calls, rate, distress, occupancy = [], [], [], []
    while model.hours < start + d["isolation_hours"] - 1e-9:
        model.step()
        s = model.state()
        calls.append(s["attempts"][subjects].mean())
        rate.append(s["seeking_rate"][subjects].mean() / 24.0)
        distress.append(s["distress"][subjects].mean())
        occupancy.append(s["occupancy"][subjects].mean())
    return {
        "distress_calls_per_hour": float(np.mean(calls)) / params.step_hours,
        "call_rate": float(np.mean(rate)),
        "distress": float(np.mean(distress)),
        "occupancy": float(np.mean(occupancy)),
    }


def run(ctx: Context) -> dict[str, Any]:
    """Every condition on the same groups; dose-response table and figure."""
    d = ctx.design
    seeds = ctx.child_seeds(d["groups"])
    conds = conditions(d)
    tasks = [(ctx.params, d, drug, mg, s) for drug, mg in conds for s in seeds]
    results = parallel_map(run_group, tasks, ctx.workers, ctx.progress, "separation_distress groups")
    rows = [
        {"drug": t[2], "dose_mg": t[3], "group": i % d["groups"], "seed": t[4], **r}
        for i, (t, r) in enumerate(zip(tasks, results, strict=True))
    ]
    groups = pd.DataFrame(rows)
    table = (
        groups.groupby(["drug", "dose_mg"], sort=False)
        .agg(
            distress_calls_per_hour=("distress_calls_per_hour", "mean"),
            calls_sem=("distress_calls_per_hour", "sem"),
            call_rate=("call_rate", "mean"),
            distress=("distress", "mean"),
            occupancy=("occupancy", "mean"),
        )
        .reset_index()
    )
    write_table(groups, ctx.out / "groups.csv")
    write_table(table, ctx.out / "dose_response.csv")

    def row(drug: str, mg: float) -> dict[str, float]:
        r = table[(table["drug"] == drug) & (table["dose_mg"] == mg)].iloc[0]
        return {
            "dose_mg": mg,
            "distress": float(r["distress_calls_per_hour"]),
            "calls_sem": float(r["calls_sem"]),
            "call_rate": float(r["call_rate"]),
            "internal_distress": float(r["distress"]),
            "occupancy": float(r["occupancy"]),
        }

    mid = len(d["morphine_mg"]) // 2

    def paired(drug: str, mg: float, measure: str = "distress_calls_per_hour") -> dict[str, float]:
        """The drug minus saline in the same groups (calls, or their expected rate): mean and its standard error."""
        calls = groups.pivot_table(index="group", columns=["drug", "dose_mg"], values=measure)
        diff = calls[(drug, mg)] - calls[("saline", 0.0)]
        sem = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
        return {"dose_mg": mg, "mean": float(diff.mean()), "sem": sem}

    summary = {
        "measure": "distress calls per hour of isolation (unanswered contact seeking); call_rate is their "
        "expected number (the Poisson rate of both drives), free of the counts' sampling noise",
        "conditions": {
            "saline": row("saline", 0.0),
            "morphine": row("morphine", d["morphine_mg"][mid]),
            "naloxone": row("naloxone", d["naloxone_mg"][len(d["naloxone_mg"]) // 2]),
        },
        "calls_vs_saline": {
            "morphine": paired("morphine", d["morphine_mg"][mid]),
            "naloxone": paired("naloxone", d["naloxone_mg"][len(d["naloxone_mg"]) // 2]),
        },
        # the expected calls (the Poisson rate), free of the counts' sampling noise: the direction to read
        "call_rate_vs_saline": {
            "morphine": paired("morphine", d["morphine_mg"][mid], "call_rate"),
            "naloxone": paired("naloxone", d["naloxone_mg"][len(d["naloxone_mg"]) // 2], "call_rate"),
        },
        "dose_response": table.to_dict(orient="records"),
    }
    fig, ax = subplots(figsize=(6.5, 4))
    saline = summary["conditions"]["saline"]["distress"]
    ax.axhline(saline, color="grey", ls="--", label="saline")
    for drug, color in (("morphine", "tab:blue"), ("naloxone", "tab:red")):
        sub = table[table["drug"] == drug]
        ax.errorbar(
            sub["dose_mg"],
            sub["distress_calls_per_hour"],
            yerr=sub["calls_sem"],
            marker="o",
            color=color,
            label=drug,
            capsize=3,
        )
    ax.set_xscale("log")
    ax.set_xlabel("dose (mg, log scale)")
    ax.set_ylabel("distress calls per hour of isolation")
    ax.legend(frameon=False)
    ax.set_title("Isolated young animals: opioid dose-response")
    fig.tight_layout()
    save_figure(fig, ctx.out / "dose_response.png")
    lines = [
        "# Separation distress (Panksepp, Meeker & Bean 1980)",
        "",
        f"{d['groups']} groups of {d['group_size']}, {d['isolated']} isolated for {d['isolation_hours']:g} h, "
        f"injected {d['pretreatment_hours']:g} h before.",
        "",
        "| drug | dose (mg) | calls per hour | SEM | expected calls (rate) | distress (0-1) | occupancy |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.drug} | {r.dose_mg:g} | {r.distress_calls_per_hour:.3f} | {r.calls_sem:.3f} | {r.call_rate:.3f} | "
        f"{r.distress:.3f} | "
        f"{r.occupancy:.2f} |"
        for r in table.itertuples()
    ]
    lines += [
        "",
        "Panksepp reported fewer calls under morphine and more under naloxone, dose-dependently.",
        "",
        "![dose response](dose_response.png)",
        "",
    ]
    (ctx.out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return summary


EXPERIMENT = Experiment(
    name="separation_distress",
    summary="isolated young animals on saline, morphine or naloxone: distress calls by dose (Panksepp 1980)",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="groups",
)
