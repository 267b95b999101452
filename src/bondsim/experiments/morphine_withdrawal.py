"""Morphine withdrawal: four weeks of morphine every 6 hours, then stop (adaptation, science.md section 6).

Chronic agonist down-regulates receptors (tolerance): while on the drug the opioid signal returns
towards its baseline and the adapted reference rises with it; when the drug stops, the signal
falls short of that reference, which is felt as withdrawal distress (the opponent state Panksepp
likened to separation distress) and drives relief seeking. The same communities are run with
morphine and with placebo for the treated people.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .chronic import against_placebo, require_days, window
from .common import Context, Experiment

DESIGN: dict[str, Any] = {
    "replicates": 6,  # communities, each run on morphine and on placebo
    "community": 120,
    "treated": 40,
    "warmup_days": 21,
    "baseline_days": 7,
    "dosing_days": 28,
    "followup_days": 21,
    "dose_mg": 10.0,
    "dose_hour": 2.0,
    "dose_interval_hours": 6.0,
    "sample_hours": 4.0,
}
PARAMS: dict[str, Any] = {"engine": "array", "dose_mg": 0.0}
DRUG = "morphine"


def summarize(diff: pd.DataFrame, d: dict[str, Any]) -> dict[str, Any]:
    """Tolerance on the drug, down-regulation, and withdrawal distress and seeking after stopping."""
    stop = d["dosing_days"]
    signal_first = window(diff, "signal", 0, 0)
    signal_last = window(diff, "signal", stop - 7, stop - 1)
    return {
        "measure": "morphine - placebo, daily means over the treated people, 95% CI over communities",
        "signal": {
            "first_day": signal_first,
            "last_week_of_dosing": signal_last,
            "first_week_after_stopping": window(diff, "signal", stop, stop + 6),
        },
        "tolerance_fraction": (
            1.0 - signal_last["mean"] / signal_first["mean"] if signal_first["mean"] > 0 else float("nan")
        ),
        "receptors": {
            "end_of_dosing": window(diff, "receptors", stop - 3, stop - 1),
            "end_of_followup": window(diff, "receptors", stop + d["followup_days"] - 3, stop + d["followup_days"] - 1),
        },
        "distress": {
            "first_day": window(diff, "distress", 0, 0),
            "last_week_of_dosing": window(diff, "distress", stop - 7, stop - 1),
            "first_three_days_after_stopping": window(diff, "distress", stop, stop + 2),
            "third_week_after_stopping": window(diff, "distress", stop + 14, stop + 20),
        },
        "seeking_rate": {
            "last_week_of_dosing": window(diff, "seeking_rate", stop - 7, stop - 1),
            "first_three_days_after_stopping": window(diff, "seeking_rate", stop, stop + 2),
        },
        "positive_affect": {
            "first_day": window(diff, "positive_affect", 0, 0),
            "first_three_days_after_stopping": window(diff, "positive_affect", stop, stop + 2),
        },
    }


def run(ctx: Context) -> dict[str, Any]:
    """The same communities on morphine and on placebo; daily differences, figure and summary."""
    d = ctx.design
    require_days(d, "morphine_withdrawal", dosing_days=7, followup_days=21)  # the third week after stopping
    title = f"Morphine {d['dose_mg']:g} mg every {d['dose_interval_hours']:g} h for {d['dosing_days']} days, then stop"
    return against_placebo(ctx, DRUG, "morphine_withdrawal", summarize, title)


EXPERIMENT = Experiment(
    name="morphine_withdrawal",
    summary="4 weeks of morphine every 6 h, then stop: tolerance, receptor down-regulation, withdrawal distress",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replicates",
)
