"""The virtual Inagaki et al. 2016 trial: the library design ``experiments/trials/inagaki2016.toml`` as an experiment.

The design file says everything about the study (31 participants, 16 naltrexone first, 25, 25,
50, 50 mg on days 1-4, a 10-day washout, an evening diary and a lab task on day 4, the rating
model); :mod:`bondsim.trials` runs it. This experiment adds what the classroom and the docs
show of this one trial: the occupancy of both order groups over the study, the blockade the
washout leaves, and the paired ratings of one virtual trial. ``bondsim trial inagaki2016``
runs the same design, with the same seeds, as a virtual trial.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..plots import save_figure, subplots
from ..trials import design as trial_design
from ..trials.report import describe, occupancy_days, occupancy_figure
from ..trials.run import TrialRun, run_trials, summarize
from ..trials.simulate import lab_connection as lab_connection  # re-exported: the lab task's rule
from .common import Context, Experiment, write_table

DESIGN_FILE = trial_design.load("inagaki2016")
MEASURES = tuple(m.name for m in DESIGN_FILE.measures)
META_G, META_LOW, META_HIGH = -0.20, -0.32, -0.07  # Løseth, Trøstheim & Leknes 2024

DESIGN: dict[str, Any] = {
    "trials": DESIGN_FILE.replications,  # virtual trials
    "community": DESIGN_FILE.community.size,  # people in each trial's community, participants included
    "warmup_days": DESIGN_FILE.community.warmup_days,  # the community settles before enrolment
}
PARAMS: dict[str, Any] = {"engine": "array"}


def trial_design_for(design: dict[str, Any]) -> trial_design.TrialDesign:
    """The library design with this run's community size and warm-up."""
    d = DESIGN_FILE
    return replace(
        d,
        community=replace(d.community, size=int(design["community"]), warmup_days=float(design["warmup_days"])),
        replications=int(design["trials"]),
    )


def run(ctx: Context) -> dict[str, Any]:
    """Run the virtual trials, analyse them, write tables, figures and the report."""
    t0 = time.perf_counter()
    design = trial_design_for(ctx.design)
    result = run_trials(
        design, ctx.design["trials"], ctx.seed, ctx.params, workers=ctx.workers, progress=ctx.progress,
        desc="inagaki2016 trials",
    )  # fmt: skip
    s = summarize(result)
    trials = result.trials.rename(columns={"mean_treatment": "mean_naltrexone", "mean_control": "mean_placebo"})
    summary: dict[str, Any] = {}
    for m in MEASURES:
        sub = trials[trials["measure"] == m]
        r = s[m]
        summary[m] = {
            "hedges_g": r["hedges_g"],
            "ci_low": r["hedges_g"] - r["monte_carlo_error"],
            "ci_high": r["hedges_g"] + r["monte_carlo_error"],
            "fraction_significant": r["power"],
            "fraction_p_below_05": r["fraction_p_below_05"],
            "trial_g_median": r["median_g"],
            "trial_g_2_5": r["prediction_low"],
            "trial_g_97_5": r["prediction_high"],
            "mean_naltrexone": float(sub["mean_naltrexone"].mean()),
            "mean_placebo": float(sub["mean_placebo"].mean()),
            "fraction_carryover_p_below_05": r["fraction_carryover_p_below_05"],
        }
    summary["residual_occupancy_end_of_washout"] = s["residual_occupancy_mean"]
    summary["residual_occupancy_percentiles"] = s["residual_occupancy_percentiles"]
    summary["peak_occupancy"] = float(result.occupancy.max())
    summary["meta_analysis"] = {"hedges_g": META_G, "ci_low": META_LOW, "ci_high": META_HIGH,
                                "source": "Løseth, Trøstheim & Leknes 2024"}  # fmt: skip
    summary["trials"] = ctx.design["trials"]

    write_table(trials, ctx.out / "trials.csv")
    occupancy = _occupancy_table(result)
    write_table(occupancy, ctx.out / "occupancy.csv")
    write_table(_participants(result), ctx.out / "participants_trial0.csv")
    _figures(ctx.out, trials, result)
    (ctx.out / "report.md").write_text(_report(summary, design, time.perf_counter() - t0), encoding="utf-8")
    return summary


def _occupancy_table(result: TrialRun) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": occupancy_days(result),
            "occupancy_naltrexone_first": result.occupancy[:, 0],
            "occupancy_placebo_first": result.occupancy[:, 1],
        }
    )


def _participants(result: TrialRun) -> pd.DataFrame:
    """Trial 0's ratings: one row per participant, measure and condition."""
    scores, sequence = result.first_scores
    rows = []
    for m in MEASURES:
        for i, seq in enumerate(sequence):
            order = result.design.layout.sequences[seq]
            for period, arm in enumerate(order):
                rows.append({"trial": 0, "participant": i, "order": f"{order[0]}_first", "measure": m,
                             "condition": arm, "rating": scores[m][i, period]})  # fmt: skip
    return pd.DataFrame(rows)


def _figures(out: Path, trials: pd.DataFrame, result: TrialRun) -> None:
    people = _participants(result)
    fig, axes = subplots(1, 3, figsize=(11, 4), sharey=True)
    for ax, m in zip(axes, MEASURES, strict=True):
        sub = people[people["measure"] == m].sort_values(["participant", "condition"])
        ntx = sub[sub["condition"] == "naltrexone"]["rating"].to_numpy()
        plc = sub[sub["condition"] == "placebo"]["rating"].to_numpy()
        for a, b in zip(plc, ntx, strict=True):
            ax.plot([0, 1], [a, b], color="grey" if b < a else "tab:orange", lw=0.8, alpha=0.7)
        ax.plot([0, 1], [plc.mean(), ntx.mean()], color="black", lw=2.5, marker="o")
        ax.set_xticks([0, 1], ["placebo", "naltrexone"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(m.replace("_", " "))
    axes[0].set_ylabel("rating (1-7)")
    fig.suptitle("Virtual trial 0: each line is one participant")
    fig.tight_layout()
    save_figure(fig, out / "paired.png")

    fig, axes = subplots(1, 3, figsize=(11, 3.8), sharex=True)
    for ax, m in zip(axes, MEASURES, strict=True):
        g = trials[trials["measure"] == m]["hedges_g"]
        ax.hist(g, bins=25, color="tab:blue", alpha=0.7)
        ax.axvspan(META_LOW, META_HIGH, color="tab:red", alpha=0.2, label="meta-analysis 95% CI")
        ax.axvline(META_G, color="tab:red", lw=2)
        ax.axvline(g.median(), color="black", ls="--", label="median of virtual trials")
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(m.replace("_", " "))
        ax.set_xlabel("Hedges' g (naltrexone - placebo)")
    axes[0].set_ylabel("virtual trials")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "g_distribution.png")

    occupancy_figure(out / "occupancy.png", result)


ROLES = {"daily_connection": "training target", "lab_connection": "validation", "positive_affect": "validation"}


def _report(s: dict[str, Any], design: trial_design.TrialDesign, elapsed: float) -> str:
    lines = [
        "# Virtual Inagaki et al. 2016 crossover trial",
        "",
        f"{s['trials']} virtual trials of experiments/trials/inagaki2016.toml: {describe(design)} "
        f"Run time {elapsed:.0f} s.",
        "",
        "| measure | role in calibration | mean g ± Monte Carlo error (95%) | one 31-person trial: 95% "
        "prediction interval | median trial g | trials with p < .05, g < 0 | carry-over p < .05 |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in MEASURES:
        r = s[m]
        lines.append(
            f"| {m} | {ROLES[m]} | {r['hedges_g']:.3f} ± {0.5 * (r['ci_high'] - r['ci_low']):.3f} | "
            f"[{r['trial_g_2_5']:.2f}, {r['trial_g_97_5']:.2f}] | "
            f"{r['trial_g_median']:.3f} | {100 * r['fraction_significant']:.0f}% | "
            f"{100 * r['fraction_carryover_p_below_05']:.0f}% |"
        )
    lines += [
        "",
        "The Monte Carlo error (1.96 sd(g) / sqrt(trials)) says how precisely these virtual trials pin down the "
        "model's average effect; it shrinks with more trials and says nothing about real studies. What one "
        "real trial of this size could show is the prediction interval. The daily-connection effect is the "
        "calibration's training target (experiments/calibration/default.toml fits the parameters jointly "
        "to it and other targets), so its closeness to "
        "the meta-analysis is by construction; the lab and affect effects were not used in any fit.",
        "",
        f"Meta-analysis (Løseth, Trøstheim & Leknes 2024), an estimate over 17 real outcomes: g = {META_G} "
        f"(95% CI {META_LOW} to {META_HIGH}).",
        "",
        f"Residual receptor occupancy at the end of the washout (naltrexone-first group): "
        f"{100 * s['residual_occupancy_end_of_washout']:.1f}% on average (peak {100 * s['peak_occupancy']:.1f}%); "
        "people differ in their kinetics, so over every participant of every trial: "
        + ", ".join(f"{q}th percentile {100 * v:.1f}%" for q, v in s["residual_occupancy_percentiles"].items())
        + ".",
        "",
        "![paired ratings](paired.png)",
        "",
        "![g distribution](g_distribution.png)",
        "",
        "![occupancy](occupancy.png)",
        "",
    ]
    return "\n".join(lines)


EXPERIMENT = Experiment(
    name="inagaki2016",
    summary="crossover trial of naltrexone vs placebo on felt connection (Inagaki et al. 2016), T virtual trials",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="trials",
    extras=("trials",),
)
