"""State dependence: naltrexone vs placebo in comfortable people and in isolated people (science.md 3, 6).

When comfortable, opioids carry the reward of contact and an antagonist lowers the wish for
closeness (Tchalova & MacDonald 2020); when distressed, opioids relieve and an antagonist raises
social seeking (Martel et al. 1995; Løseth, Ellingsen & Leknes 2014). One parameter set, two
states: treated people with their usual contact, or cut off from everyone (isolated) from the
first dose on. Each community is run on naltrexone and on placebo (same seeds); the outcome is
the treated people's contact seeking (attempts/day) over the days of dosing, as the paired
difference of :mod:`bondsim.contrast`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..contrast import normal_ci, paired_differences
from ..params import Params
from ..plots import save_figure, subplots
from .common import Context, Experiment, build, parallel_map, run_until, write_table

DESIGN: dict[str, Any] = {
    "replicates": 8,  # communities, each run in both states on naltrexone and on placebo
    "community": 120,
    "treated": 40,
    "warmup_days": 21,
    "dosing_days": 4,
    "dose_mg": 50.0,
    "dose_hour": 8.0,
}
PARAMS: dict[str, Any] = {"engine": "array", "dose_mg": 0.0}
STATES = ("comfortable", "isolated")
DRUGS = ("naltrexone", "placebo")


def run_state(params: Params, design: dict[str, Any], state: str, drug: str, seed: int) -> list[dict[str, Any]]:
    """One community: daily means of the treated people's seeking, distress and reward memory while dosed."""
    d = design
    model = build(params, seed, n_treated=d["treated"], n_agents=d["community"], drug=drug)
    who = model.treated_index
    start = 24.0 * d["warmup_days"]
    model.schedule_doses([(start + 24.0 * k + d["dose_hour"], d["dose_mg"]) for k in range(d["dosing_days"])])
    run_until(model, start)
    if state == "isolated":
        model.isolate(who, 24.0 * d["dosing_days"])
    rows = []
    for day in range(d["dosing_days"]):
        seeking, distress, memory = [], [], []
        while model.hours < start + 24.0 * (day + 1) - 1e-9:
            model.step()
            seeking.append(model.engine.view("seeking_rate")[who].mean())
            distress.append(model.engine.view("distress")[who].mean())
            memory.append(model.engine.view("reward_memory")[who].mean())
        rows.append(
            {
                "state": state,
                "drug": drug,
                "day": day,
                "seeking_rate": float(np.mean(seeking)),
                "distress": float(np.mean(distress)),
                "reward_memory": float(np.mean(memory)),
            }
        )
    return rows


def run(ctx: Context) -> dict[str, Any]:
    """Both states, both drugs, on the same communities; differences with 95% CIs over communities."""
    d = ctx.design
    seeds = ctx.child_seeds(d["replicates"])
    tasks = [(ctx.params, d, st, drug, s) for st in STATES for drug in DRUGS for s in seeds]
    results = parallel_map(run_state, tasks, ctx.workers, ctx.progress, "state_dependence communities")
    frame = pd.DataFrame([dict(r, replicate=i % d["replicates"]) for i, rows in enumerate(results) for r in rows])
    write_table(frame, ctx.out / "daily_by_community.csv")
    keys = ["state", "replicate", "day"]
    on = frame[frame["drug"] == "naltrexone"].set_index(keys)
    off = frame[frame["drug"] == "placebo"].set_index(keys)
    measures = ["seeking_rate", "distress", "reward_memory"]
    diff = paired_differences(frame, measures, by="drug", reference="placebo", keys=keys).drop(columns="drug")
    write_table(diff, ctx.out / "difference_by_community.csv")
    summary: dict[str, Any] = {
        "measure": "naltrexone - placebo in the treated people, 95% CI over communities; seeking in attempts/day"
    }
    for st in STATES:
        sub = diff[diff["state"] == st]
        per_rep = sub.groupby("replicate")[measures].mean()
        summary[st] = {
            "seeking_rate_placebo": float(off.loc[st, "seeking_rate"].mean()),
            "seeking_rate_naltrexone": float(on.loc[st, "seeking_rate"].mean()),
            **{f"{k}_difference": normal_ci(per_rep[k]) for k in measures},
            "seeking_rate_difference_by_day": [
                normal_ci(sub[sub["day"] == day]["seeking_rate"]) for day in range(d["dosing_days"])
            ],
        }
    c, i = summary["comfortable"]["seeking_rate_difference"], summary["isolated"]["seeking_rate_difference"]
    summary["both_signs"] = bool(c["ci_high"] < 0 < i["ci_low"])

    fig, ax = subplots(figsize=(6.5, 4))
    for st, color in (("comfortable", "tab:blue"), ("isolated", "tab:red")):
        by_day = summary[st]["seeking_rate_difference_by_day"]
        days = np.arange(d["dosing_days"]) + 1
        mean = [b["mean"] for b in by_day]
        err = [[b["mean"] - b["ci_low"] for b in by_day], [b["ci_high"] - b["mean"] for b in by_day]]
        ax.errorbar(days, mean, yerr=err, marker="o", capsize=3, color=color, label=st)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("day of naltrexone 50 mg")
    ax.set_ylabel("contact seeking, naltrexone - placebo (attempts/day)")
    ax.legend(frameon=False)
    fig.tight_layout()
    save_figure(fig, ctx.out / "seeking_by_state.png")
    lines = [
        "# State dependence: naltrexone in comfortable and in isolated people",
        "",
        f"{d['replicates']} communities of {d['community']}, {d['treated']} treated, {d['dosing_days']} days "
        f"of {d['dose_mg']:g} mg; {summary['measure']}.",
        "",
        "| state | seeking placebo | seeking naltrexone | difference | 95% CI |",
        "|---|---|---|---|---|",
    ]
    for st in STATES:
        s = summary[st]
        w = s["seeking_rate_difference"]
        lines.append(
            f"| {st} | {s['seeking_rate_placebo']:.2f} | {s['seeking_rate_naltrexone']:.2f} | {w['mean']:+.2f} | "
            f"{w['ci_low']:+.2f} .. {w['ci_high']:+.2f} |"
        )
    lines += ["", "![seeking by state](seeking_by_state.png)", ""]
    (ctx.out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return summary


EXPERIMENT = Experiment(
    name="state_dependence",
    summary="naltrexone vs placebo in comfortable and in isolated people: contact seeking falls vs rises",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replicates",
)
