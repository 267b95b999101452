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

from .chronic import against_placebo, require_days, window
from .common import Context, Experiment

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


def run(ctx: Context) -> dict[str, Any]:
    """The same communities on naltrexone and on placebo; daily differences, figure and summary."""
    d = ctx.design
    require_days(d, "chronic_naltrexone", dosing_days=28, followup_days=14)  # the last four weeks of dosing
    title = f"Chronic naltrexone: {d['dose_mg']:g} mg daily for {d['dosing_days']} days, then stop"
    return against_placebo(ctx, DRUG, "chronic_naltrexone", summarize, title)


EXPERIMENT = Experiment(
    name="chronic_naltrexone",
    summary="8 weeks of daily naltrexone 50 mg, then stop: transient distress, receptor up-regulation, rebound",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replicates",
)
