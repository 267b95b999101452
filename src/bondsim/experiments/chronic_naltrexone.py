"""Chronic naltrexone: 50 mg daily for 8 weeks, then stop (adaptation, science.md section 6).

Months of oral naltrexone bring no lasting dysphoria, only a slight rise in anxiety at week 2
(Krupitsky et al. 2016); chronic, not acute, blockade up-regulates mu receptors (Zukin et al.
1982; Lesscher et al. 2003), and after removal the animals are supersensitive to opioids
(Yoburn and colleagues). The same communities are run with naltrexone and with placebo for the
treated people; the differences show the transient distress, the recovery of positive affect,
the up-regulation and the rebound after stopping.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .chronic import daily_means, paired_differences, plot_course, run_course, window
from .common import Context, Experiment, parallel_map, write_table

DESIGN: dict[str, Any] = {
    "replicates": 6,  # communities, each run on naltrexone and on placebo
    "community": 120,
    "treated": 40,
    "warmup_days": 21,
    "baseline_days": 7,  # days of the warm-up that are recorded
    "dosing_days": 56,
    "followup_days": 28,
    "dose_mg": 50.0,
    "dose_hour": 8.0,
    "dose_interval_hours": 24.0,
    "sample_hours": 4.0,  # how often the reward per contact is evaluated
}
PARAMS: dict[str, Any] = {"engine": "array", "dose_mg": 0.0}
DRUG = "naltrexone"


def summarize(diff: pd.DataFrame, d: dict[str, Any]) -> dict[str, Any]:
    """Directions and sizes: transient distress, affect over months, up-regulation, rebound after stopping."""
    stop = d["dosing_days"]
    distress = diff[(diff["day"] >= 0) & (diff["day"] < stop)].groupby("day")["distress"].mean()
    peak_day = int(distress.idxmax())
    peak = float(distress.max())
    below_half = distress[(distress.index > peak_day) & (distress < 0.5 * peak)]
    last4 = (stop - 28, stop - 1)
    return {
        "measure": "naltrexone - placebo, daily means over the treated people, 95% CI over communities",
        "distress": {
            "peak": peak,
            "peak_day": peak_day,
            "days_to_half_of_peak": int(below_half.index[0]) if below_half.size else None,
            "first_week": window(diff, "distress", 0, 6),
            "last_four_weeks_of_dosing": window(diff, "distress", *last4),
        },
        "positive_affect": {
            "first_week": window(diff, "positive_affect", 0, 6),
            "week_2": window(diff, "positive_affect", 7, 13),
            "last_four_weeks_of_dosing": window(diff, "positive_affect", *last4),
            "first_two_weeks_after_stopping": window(diff, "positive_affect", stop, stop + 13),
        },
        "receptors": {
            "end_of_dosing": window(diff, "receptors", stop - 3, stop - 1),
            "end_of_followup": window(diff, "receptors", stop + d["followup_days"] - 3, stop + d["followup_days"] - 1),
        },
        "reward_per_contact": {
            "last_four_weeks_of_dosing": window(diff, "reward_per_contact", *last4),
            "first_week_after_stopping": window(diff, "reward_per_contact", stop + 1, stop + 7),
            "peak_after_stopping": float(diff[diff["day"] >= stop].groupby("day")["reward_per_contact"].mean().max()),
        },
        "seeking_rate": {
            "first_week": window(diff, "seeking_rate", 0, 6),
            "last_four_weeks_of_dosing": window(diff, "seeking_rate", *last4),
        },
        "felt_connection": {"last_four_weeks_of_dosing": window(diff, "felt_connection", *last4)},
    }


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


def run(ctx: Context) -> dict[str, Any]:
    """The same communities on naltrexone and on placebo; daily differences, figure and summary."""
    d = ctx.design
    seeds = ctx.child_seeds(d["replicates"])
    tasks = [(ctx.params, d, drug, s) for drug in (DRUG, "placebo") for s in seeds]
    results = parallel_map(run_course, tasks, ctx.workers, ctx.progress, "chronic_naltrexone communities")
    frame = pd.DataFrame([dict(r, replicate=i % d["replicates"]) for i, rows in enumerate(results) for r in rows])
    diff = paired_differences(frame, DRUG)
    daily = daily_means(frame)
    write_table(frame, ctx.out / "daily_by_community.csv")
    write_table(daily, ctx.out / "daily.csv")
    write_table(diff, ctx.out / "difference_by_community.csv")
    summary = summarize(diff, d)
    title = f"Chronic naltrexone: {d['dose_mg']:g} mg daily for {d['dosing_days']} days, then stop"
    plot_course(daily, DRUG, d, ctx.out / "course.png", title)
    (ctx.out / "report.md").write_text("\n".join(report_lines(title, d, summary, "course.png")), encoding="utf-8")
    return summary


EXPERIMENT = Experiment(
    name="chronic_naltrexone",
    summary="8 weeks of daily naltrexone 50 mg, then stop: transient distress, receptor up-regulation, rebound",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replicates",
)
