"""Maintenance naltrexone: 12 weeks of 50 mg daily for some people in a community.

Naltrexone is taken daily for months in the treatment of alcohol and opioid use
disorder; the clinical worry of the seed article is what this does to social
bonds. Some people of a community take 50 mg every morning for 12 weeks; we
follow bond strength and felt connection of treated and untreated people, and
ask whether more social support (more contact opportunities, or more ties)
offsets the loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..params import Params
from ..plots import save_figure, subplots
from .common import Context, Experiment, build, parallel_map, run_until, write_table

DESIGN: dict[str, Any] = {
    "replicates": 4,  # communities per scenario
    "community": 200,
    "treated": 40,
    "warmup_days": 42,
    "weeks": 12,
    "dose_mg": 50.0,
    "dose_hour": 8.0,
    "support_contact_factor": 2.0,  # "more contacts": appetitive_seeking times this
    "support_degree_factor": 2.0,  # "more ties": mean_degree times this
}
PARAMS: dict[str, Any] = {"engine": "array", "drug": "naltrexone", "dose_mg": 0.0}
SCENARIOS = ("usual", "more_contacts", "more_ties")


def scenario_params(params: Params, design: dict[str, Any], scenario: str) -> dict[str, Any]:
    """Parameter changes of a social-support scenario."""
    if scenario == "more_contacts":
        return {"appetitive_seeking": params.appetitive_seeking * design["support_contact_factor"]}
    if scenario == "more_ties":
        return {"mean_degree": round(params.mean_degree * design["support_degree_factor"])}
    return {}


def run_community(params: Params, design: dict[str, Any], scenario: str, seed: int) -> list[dict[str, Any]]:
    """One community: weekly means of bonds and felt connection of treated and untreated people."""
    d = design
    model = build(params, seed, n_treated=d["treated"], n_agents=d["community"], **scenario_params(params, d, scenario))
    treated = np.zeros(model.n, dtype=bool)
    treated[model.treated_index] = True
    start = 24.0 * d["warmup_days"]
    days = 7 * d["weeks"]
    model.schedule_doses([(start + 24.0 * k + d["dose_hour"], d["dose_mg"]) for k in range(days)])
    rows = []
    for week in range(d["weeks"] + 1):
        run_until(model, start + 24.0 * 7 * week)
        s = model.state()
        for group, mask in (("treated", treated), ("untreated", ~treated)):
            rows.append(
                {
                    "scenario": scenario,
                    "week": week,
                    "group": group,
                    "bond_sum": float(s["bond_sum"][mask].mean()),
                    "strong_bonds": float(s["strong_bonds"][mask].mean()),
                    "felt_connection": float(s["felt_connection"][mask].mean()),
                    "seeking_rate": float(s["seeking_rate"][mask].mean()),
                    "occupancy": float(s["occupancy"][mask].mean()),
                }
            )
    return rows


def run(ctx: Context) -> dict[str, Any]:
    """All scenarios on the same communities (same seeds)."""
    d = ctx.design
    seeds = ctx.child_seeds(d["replicates"])
    tasks = [(ctx.params, d, sc, s) for sc in SCENARIOS for s in seeds]
    results = parallel_map(run_community, tasks, ctx.workers, ctx.progress, "maintenance communities")
    frame = pd.DataFrame([dict(r, replicate=i % d["replicates"]) for i, rows in enumerate(results) for r in rows])
    weekly = frame.groupby(["scenario", "week", "group"], sort=False).mean(numeric_only=True).reset_index()
    weekly = weekly.drop(columns="replicate")
    write_table(frame, ctx.out / "weekly_by_community.csv")
    write_table(weekly, ctx.out / "weekly.csv")

    summary: dict[str, Any] = {"scenarios": {}}
    for sc in SCENARIOS:
        w = weekly[weekly["scenario"] == sc]
        base = w[w["week"] == 0].set_index("group")
        end = w[w["week"] == d["weeks"]].set_index("group")
        change = {
            g: {k: float(end.loc[g, k] - base.loc[g, k]) for k in ("bond_sum", "felt_connection")}
            for g in ("treated", "untreated")
        }
        summary["scenarios"][sc] = {
            "treated": {k: float(end.loc["treated", k]) for k in ("bond_sum", "felt_connection", "strong_bonds")},
            "untreated": {k: float(end.loc["untreated", k]) for k in ("bond_sum", "felt_connection", "strong_bonds")},
            "bond_loss_treated_vs_untreated": float(end.loc["untreated", "bond_sum"] - end.loc["treated", "bond_sum"]),
            "felt_connection_gap": float(
                end.loc["untreated", "felt_connection"] - end.loc["treated", "felt_connection"]
            ),
            "change_from_week0": change,
        }
    usual = summary["scenarios"]["usual"]["treated"]["bond_sum"]
    summary["support_offsets_loss"] = {
        sc: bool(
            summary["scenarios"][sc]["treated"]["bond_sum"] >= summary["scenarios"]["usual"]["untreated"]["bond_sum"]
        )
        for sc in SCENARIOS[1:]
    }
    summary["treated_bond_gain_from_support"] = {
        sc: float(summary["scenarios"][sc]["treated"]["bond_sum"] - usual) for sc in SCENARIOS[1:]
    }

    fig, axes = subplots(1, 2, figsize=(11, 4))
    for sc, ls in zip(SCENARIOS, ("-", "--", ":"), strict=True):
        for g, color in (("treated", "tab:red"), ("untreated", "tab:blue")):
            sub = weekly[(weekly["scenario"] == sc) & (weekly["group"] == g)]
            axes[0].plot(sub["week"], sub["bond_sum"], ls=ls, color=color, label=f"{g}, {sc.replace('_', ' ')}")
            axes[1].plot(sub["week"], sub["felt_connection"], ls=ls, color=color)
    axes[0].set_ylabel("sum of bonds per person")
    axes[1].set_ylabel("felt connection (0-1)")
    for ax in axes:
        ax.set_xlabel("week of daily naltrexone 50 mg")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    save_figure(fig, ctx.out / "bonds_over_weeks.png")
    lines = [
        "# Maintenance naltrexone: 12 weeks of 50 mg daily",
        "",
        f"{d['replicates']} communities of {d['community']} per scenario, {d['treated']} treated.",
        "",
        "| scenario | bonds treated | bonds untreated | felt connection treated | untreated |",
        "|---|---|---|---|---|",
    ]
    for sc in SCENARIOS:
        r = summary["scenarios"][sc]
        lines.append(
            f"| {sc} | {r['treated']['bond_sum']:.2f} | {r['untreated']['bond_sum']:.2f} | "
            f"{r['treated']['felt_connection']:.3f} | {r['untreated']['felt_connection']:.3f} |"
        )
    lines += ["", "![bonds over weeks](bonds_over_weeks.png)", ""]
    (ctx.out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return summary


EXPERIMENT = Experiment(
    name="maintenance",
    summary="12 weeks of daily naltrexone 50 mg for some people: bonds, felt connection, and social support",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replicates",
)
