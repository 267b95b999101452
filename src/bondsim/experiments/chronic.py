"""A course of chronic dosing in a community, then stopping: the shared core of the model-2 drug experiments.

The same communities (same seeds) are run twice: the treated people get the drug in one run and
placebo in the other, so every difference is the drug's. Daily means over the treated people of
distress, positive affect, receptors, the adapted reference, the opioid signal, occupancy,
contact seeking (attempts/day), felt connection, bonds, and the reward one contact with a
closest partner would give (``contact_reward`` at bond 1, sampled every ``sample_hours``).
Used by :mod:`.chronic_naltrexone` and :mod:`.morphine_withdrawal`. The paired differences and their
intervals are :mod:`bondsim.contrast`'s, as for a sweep's ``[compare]`` arms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..contrast import normal_ci
from ..contrast import paired_differences as contrast
from ..errors import UserError
from ..mechanisms.receptor import contact_reward
from ..params import Params
from ..plots import save_figure, subplots
from .common import build, parallel_map, run_until, write_table

STEP_MEASURES = (
    "distress",
    "positive_affect",
    "receptors",
    "reference",
    "signal",
    "occupancy",
    "seeking_rate",
    "felt_connection",
    "bond_sum",
    "tone",
)
MEASURES = (*STEP_MEASURES, "reward_per_contact")


def dose_events(design: dict[str, Any]) -> list[tuple[float, float]]:
    """(hour, mg) of every dose: every ``dose_interval_hours`` from the end of the warm-up for ``dosing_days``."""
    d = design
    start = 24.0 * d["warmup_days"] + d["dose_hour"]
    per_day = round(24.0 / d["dose_interval_hours"])
    return [(start + k * d["dose_interval_hours"], d["dose_mg"]) for k in range(d["dosing_days"] * per_day)]


def run_course(params: Params, design: dict[str, Any], drug: str, seed: int) -> list[dict[str, Any]]:
    """One community, ``drug`` or ``placebo`` for the treated: daily means over the treated people.

    Day 0 is the first day of dosing; days before it are the end of the warm-up.
    """
    d = design
    model = build(params, seed, n_treated=d["treated"], n_agents=d["community"], drug=drug)
    who = model.treated_index
    model.schedule_doses(dose_events(d))
    start_day = d["warmup_days"] - d["baseline_days"]
    run_until(model, 24.0 * start_day)
    every = max(1, round(d["sample_hours"] / params.step_hours))
    rows = []
    for day in range(start_day, d["warmup_days"] + d["dosing_days"] + d["followup_days"]):
        sums = dict.fromkeys(STEP_MEASURES, 0.0)
        rewards = []
        steps = 0
        while model.hours < 24.0 * (day + 1) - 1e-9:
            model.step()
            steps += 1
            for k in STEP_MEASURES:
                sums[k] += float(model.engine.view(k)[who].mean())
            if steps % every == 0:
                rewards.append(float(model.evaluate(contact_reward, bond=1.0)[who].mean()))
        row = {"day": day - d["warmup_days"], "drug": drug, **{k: v / steps for k, v in sums.items()}}
        row["reward_per_contact"] = float(np.mean(rewards)) if rewards else float("nan")
        rows.append(row)
    return rows


def paired_differences(frame: pd.DataFrame, drug: str) -> pd.DataFrame:
    """Per replicate and day: drug - placebo difference of every measure (same community, same people)."""
    diff = contrast(frame, MEASURES, by="drug", reference="placebo", keys=["replicate", "day"], arms=[drug])
    return diff.drop(columns="drug")


mean_ci = normal_ci  # mean of replicate values with a normal 95% CI (1.96 SEM): bondsim.contrast.normal_ci


def require_days(design: dict[str, Any], name: str, dosing_days: int, followup_days: int) -> None:
    """Refuse, before any run, a design too short for the windows its summary reads (they would be empty)."""
    if design["dosing_days"] < dosing_days or design["followup_days"] < followup_days:
        raise UserError(
            f"{name} needs dosing_days >= {dosing_days} and followup_days >= {followup_days}: its summary "
            f"reads windows that long (got {design['dosing_days']} and {design['followup_days']})"
        )


def window(diffs: pd.DataFrame, measure: str, first: int, last: int) -> dict[str, float]:
    """Drug - placebo difference of ``measure`` averaged over days ``first..last``, 95% CI over replicates."""
    w = diffs[(diffs["day"] >= first) & (diffs["day"] <= last)]
    return mean_ci(w.groupby("replicate")[measure].mean())


def daily_means(frame: pd.DataFrame) -> pd.DataFrame:
    """Means over replicates per drug and day."""
    return frame.groupby(["drug", "day"], sort=False).mean(numeric_only=True).reset_index().drop(columns="replicate")


def plot_course(daily: pd.DataFrame, drug: str, design: dict[str, Any], path, title: str) -> None:
    """Six panels over days, drug vs placebo: distress, affect, receptors, reward per contact, seeking, signal."""
    panels = (
        ("distress", "distress (0-1)"),
        ("positive_affect", "positive affect (0-1)"),
        ("receptors", "receptor number (1 = naive)"),
        ("reward_per_contact", "reward of a contact (closest partner)"),
        ("seeking_rate", "contact seeking (attempts/day)"),
        ("signal", "opioid signal (1 = set point)"),
    )
    fig, axes = subplots(2, 3, figsize=(13, 6.5))
    for ax, (k, label) in zip(axes.flat, panels, strict=True):
        for name, color in ((drug, "tab:red"), ("placebo", "tab:blue")):
            sub = daily[daily["drug"] == name]
            ax.plot(sub["day"], sub[k], color=color, label=name)
        ax.axvspan(0, design["dosing_days"], color="0.9", zorder=0)
        ax.set_ylabel(label)
        ax.set_xlabel("day (shaded: dosing)")
    axes.flat[0].legend(frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def report_lines(title: str, d: dict[str, Any], summary: dict[str, Any], figure: str) -> list[str]:
    """A markdown table of every window of the summary: mean difference and its 95% CI."""
    lines = [
        f"# {title}",
        "",
        f"{d['replicates']} communities of {d['community']}, {d['treated']} treated; {summary['measure']}.",
        "",
        "| measure | window | difference | 95% CI |",
        "|---|---|---|---|",
    ]
    for measure, windows in summary.items():
        if not isinstance(windows, dict):
            continue
        for name, w in windows.items():
            if isinstance(w, dict):
                lines.append(f"| {measure} | {name} | {w['mean']:+.3f} | {w['ci_low']:+.3f} .. {w['ci_high']:+.3f} |")
            elif w is not None:
                lines.append(f"| {measure} | {name} | {w:+.3f} | |")
    return [*lines, "", f"![course]({figure})", ""]


def against_placebo(ctx, drug: str, name: str, summarize, title: str) -> dict[str, Any]:
    """The same communities on ``drug`` and on placebo: daily differences, tables, figure, report and summary.

    ``summarize(differences, design)`` turns the paired daily differences into the experiment's summary.
    """
    d = ctx.design
    seeds = ctx.child_seeds(d["replicates"])
    tasks = [(ctx.params, d, x, s) for x in (drug, "placebo") for s in seeds]
    results = parallel_map(run_course, tasks, ctx.workers, ctx.progress, f"{name} communities")
    frame = pd.DataFrame([dict(r, replicate=i % d["replicates"]) for i, rows in enumerate(results) for r in rows])
    diff = paired_differences(frame, drug)
    daily = daily_means(frame)
    write_table(frame, ctx.out / "daily_by_community.csv")
    write_table(daily, ctx.out / "daily.csv")
    write_table(diff, ctx.out / "difference_by_community.csv")
    summary = summarize(diff, d)
    plot_course(daily, drug, d, ctx.out / "course.png", title)
    (ctx.out / "report.md").write_text("\n".join(report_lines(title, d, summary, "course.png")), encoding="utf-8")
    return summary
