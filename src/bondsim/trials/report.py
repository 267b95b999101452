"""What ``bondsim trial`` writes: tables, figures and a report a reader can take in at a glance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..plots import save_figure, subplots
from .analysis import arm_periods
from .design import MEASURE_KINDS, TrialDesign
from .run import TrialRun

METHOD = {"paired": "within-person (d_av)", "between": "between-groups", "mixed": "mixed-model"}
PARTNER = {"close": ", with a close other", "stranger": ", with a stranger"}
DRAWN = {
    "random": "at random",
    "least_connected": "among the least connected",
    "most_connected": "among the most connected",
}


def label(name: str) -> str:
    """A measure name as a figure shows it."""
    return name.replace("_", " ")


def describe(design: TrialDesign) -> str:
    """The design in one paragraph."""
    layout = design.layout
    arms = "; ".join(
        f"{a.name}: " + ("placebo" if a.placebo else f"{a.drug} {', '.join(f'{x:g}' for x in a.doses_mg)} mg/day")
        for a in design.arms
    )
    groups = ", ".join(f"{n} {' then '.join(seq)}" for seq, n in zip(layout.sequences, design.sizes, strict=True))
    shape = (
        f"crossover of {layout.periods} periods of {layout.period_days} days, {layout.washout_days:g}-day washout"
        if layout.kind == "crossover"
        else f"parallel groups, {layout.period_days} day(s)"
    )
    measures = ", ".join(
        f"{m.name} ({MEASURE_KINDS[m.kind][1]}{PARTNER[m.partner] if m.kind == 'lab_connection' else ''})"
        for m in design.measures
    )
    return (
        f"{design.participants.n} participants ({groups}) drawn {DRAWN[design.participants.draw]} from a "
        f"community of {design.community.size} people after a {design.community.warmup_days:g}-day warm-up; {shape}. "
        f"Arms: {arms}. Measures: {measures}. Analysis: {METHOD[design.analysis.method]} Hedges g of "
        f"{design.analysis.treatment} against {design.analysis.control}."
    )


def write_figures(out: Path, run: TrialRun) -> list[str]:
    """G distribution per measure, replication 0's participants, and receptor occupancy; returns the file names."""
    design, trials = run.design, run.trials
    names = [m.name for m in design.measures]
    files = []

    fig, axes = subplots(1, len(names), figsize=(3.7 * len(names), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        g = trials[trials["measure"] == name]["hedges_g"]
        ax.hist(g, bins=25, color="tab:blue", alpha=0.7)
        lo, hi = np.percentile(g, [2.5, 97.5])
        ax.axvspan(lo, hi, color="tab:blue", alpha=0.08, label="95% prediction interval")
        ax.axvline(g.median(), color="black", ls="--", label="median virtual trial")
        ax.axvline(0, color="grey", lw=0.8)
        observed = [o.hedges_g for o in design.outcomes if o.measure == name and o.hedges_g is not None]
        if observed:
            ax.axvline(observed[0], color="tab:red", lw=2, label="published g")
        ax.set_title(label(name))
        ax.set_xlabel(f"Hedges' g ({design.analysis.treatment} - {design.analysis.control})")
    axes[0][0].set_ylabel("virtual trials")
    axes[0][0].legend(frameon=False, fontsize=7)
    fig.suptitle(f"{design.name}: effect sizes of {len(trials) // len(names)} virtual trials")
    fig.tight_layout()
    save_figure(fig, out / "g_distribution.png")
    files.append("g_distribution.png")

    scores, sequence = run.first_scores
    a = design.analysis
    t_period, c_period = arm_periods(design, sequence, a.treatment), arm_periods(design, sequence, a.control)
    people = np.arange(sequence.size)
    fig, axes = subplots(1, len(names), figsize=(3.7 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = scores[name]
        if design.layout.kind == "crossover":
            t, c = values[people, t_period], values[people, c_period]
            for y0, y1 in zip(c, t, strict=True):
                ax.plot([0, 1], [y0, y1], color="grey" if y1 < y0 else "tab:orange", lw=0.8, alpha=0.7)
        else:
            t, c = values[t_period >= 0, 0], values[c_period >= 0, 0]
            rng = np.random.default_rng(0)
            ax.scatter(rng.uniform(-0.1, 0.1, c.size), c, s=10, color="grey", alpha=0.7)
            ax.scatter(1 + rng.uniform(-0.1, 0.1, t.size), t, s=10, color="grey", alpha=0.7)
        ax.plot([0, 1], [c.mean(), t.mean()], color="black", lw=2.5, marker="o")
        ax.set_xticks([0, 1], [a.control, a.treatment])
        ax.set_xlim(-0.4, 1.4)
        ax.set_title(label(name))
        unit = "rating" if design.measure(name).rated else "contact attempts per day"
        ax.set_ylabel(unit)
    fig.suptitle(
        "Virtual trial 0: "
        + (
            f"each line is one participant (grey: lower under {a.treatment}, orange: higher)"
            if design.layout.kind == "crossover"
            else "each dot is one participant"
        )
    )
    fig.tight_layout()
    save_figure(fig, out / "participants.png")
    files.append("participants.png")

    if design.drug != "placebo" and run.occupancy.size:
        occupancy_figure(out / "occupancy.png", run)
        files.append("occupancy.png")
    return files


def occupancy_days(run: TrialRun) -> np.ndarray:
    """The study day of each row of ``run.occupancy`` (0: the first dose day; negative: baseline)."""
    layout = run.design.layout
    rows = run.occupancy.shape[0]
    step_days = (layout.span_days + layout.baseline_days + layout.followup_days) / rows
    return np.arange(rows) * step_days - layout.baseline_days


def occupancy_figure(path: Path, run: TrialRun) -> None:
    """Receptor occupancy by the drug, mean of each sequence group, over the study (periods shaded)."""
    layout = run.design.layout
    fig, ax = subplots(figsize=(9, 3.6))
    for k, seq in enumerate(layout.sequences):
        ax.plot(occupancy_days(run), 100 * run.occupancy[:, k], label=" then ".join(seq))
    for p in range(layout.periods):
        start = layout.period_start(p) / 24.0
        ax.axvspan(start, start + layout.period_days, color="grey", alpha=0.15)
    ax.set_xlabel("study day (shaded: periods)")
    ax.set_ylabel("mu receptors held by the drug (%)")
    ax.set_ylim(0, 100)
    ax.legend(frameon=False)
    fig.tight_layout()
    save_figure(fig, path)


def power_figure(out: Path, frame: pd.DataFrame, design: TrialDesign) -> None:
    """Power against sample size, one line per measure, with binomial 95% bands."""
    fig, ax = subplots(figsize=(6.5, 4))
    for name, sub in frame.groupby("measure", sort=False):
        ax.plot(sub["participants"], 100 * sub["power"], marker="o", label=label(str(name)))
        ax.fill_between(sub["participants"], 100 * sub["power_low"], 100 * sub["power_high"], alpha=0.15)
    ax.axhline(80, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    sizes = sorted(frame["participants"].unique())
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xticks([], minor=True)
    ax.set_ylim(0, 100)
    ax.set_xlabel("participants")
    ax.set_ylabel(f"power (%): p < .05, {design.analysis.direction} under {design.analysis.treatment}")
    ax.set_title(f"{design.name}: power of the design by sample size")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "power.png")


def _g(x: float | None) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.2f}"


def report(
    run: TrialRun,
    summary: dict[str, Any],
    power: pd.DataFrame | None,
    figures: list[str],
    elapsed: float,
    posterior: dict[str, Any] | None = None,
) -> str:
    """report.md: the design, the predicted effects beside the published ones, power, and what the model lacks.

    With ``posterior`` (its :meth:`~bondsim.calibration.posterior.Posterior.info`) the table gives
    each measure's prediction interval with parameter uncertainty beside the sampling-only one.
    """
    design = run.design
    reps = summary[design.measures[0].name]["replications"]
    lines = [
        f"# Virtual trial: {design.name}",
        "",
        design.study.citation + (f" doi:{design.study.doi}" if design.study.doi else ""),
        "",
        f"Role in the calibration (docs/calibration.md): **{design.study.role}**"
        + (
            "".join(f"; {o.measure}'s effect is a training target" for o in design.outcomes if o.training)
            + "".join(
                f"; the control arm's {' and '.join(o.training_control)} of {o.measure} are training targets"
                for o in design.outcomes
                if o.training_control
            )
            + (
                "; every other outcome is validation"
                if any(o.training or o.training_control for o in design.outcomes)
                else ""
            )
            or ": no outcome of this study was used by any fit"
        )
        + ".",
        "",
        describe(design),
        "",
        f"{reps} virtual trials, master seed {run.seed}, run time {elapsed:.0f} s.",
        "",
    ]
    if posterior is not None:
        lines += [
            f"Parameters drawn from the posterior **{posterior['name']}** ({posterior['particles']} particles of "
            f"{', '.join(posterior['parameters'])}; sha256 {posterior['sha256'][:12]}): each virtual trial draws one "
            "particle by its weight. The same trials (same seeds) also ran at the default parameters: their "
            "prediction interval is sampling error only.",
            "",
            "| measure | mean g ± Monte Carlo error (95%) | one trial: 95% prediction interval, with parameter "
            "uncertainty | one trial: 95% prediction interval, sampling only (default parameters) | median g "
            "| power (p < .05 in the predicted direction) | published |",
            "|---|---|---|---|---|---|---|",
        ]
    else:
        lines += [
            "| measure | mean g ± Monte Carlo error (95%) | one trial of this size: 95% prediction interval | median g "
            "| power (p < .05 in the predicted direction) | published |",
            "|---|---|---|---|---|---|",
        ]
    for m in design.measures:
        s = summary[m.name]
        published = next((o for o in design.outcomes if o.measure == m.name), None)
        shown = ""
        if published is not None:
            shown = f"g = {published.hedges_g:.2f}" if published.hedges_g is not None else published.statistic
            if "observed_inside_prediction" in s:
                shown += " (inside)" if s["observed_inside_prediction"] else " (outside)"
        fixed = s.get("sampling_only")
        beside = f"[{fixed['prediction_low']:.2f}, {fixed['prediction_high']:.2f}] | " if fixed else ""
        lines.append(
            f"| {m.name} | {s['hedges_g']:.3f} ± {s['monte_carlo_error']:.3f} | "
            f"[{s['prediction_low']:.2f}, {s['prediction_high']:.2f}] | {beside}{s['median_g']:.3f} | "
            f"{100 * s['power']:.0f}% [{100 * s['power_low']:.0f}, {100 * s['power_high']:.0f}] | {shown} |"
        )
    lines += [
        "",
        "The Monte Carlo error says how precisely these virtual trials pin down the model's average effect "
        "(1.96 sd(g) / sqrt(trials)); it shrinks with more replications. What one real trial of this size could "
        "show is the prediction interval; the power is the share of virtual trials that would have reported the "
        "effect (Wilson 95% interval).",
        "",
    ]
    if reps < 100:
        lines += [
            f"**Only {reps} virtual trials**: the 95% prediction interval is close to the smallest and largest g "
            "seen, and the power is rough; use at least 100 (the default is 200) before reading them closely.",
            "",
        ]
    carry = [(m.name, summary[m.name]["fraction_carryover_p_below_05"]) for m in design.measures]
    if design.layout.kind == "crossover" and all(f is not None for _, f in carry):
        lines += [
            "Carry-over (Grizzle's test of the period sums by sequence, p < .05): "
            + ", ".join(f"{name} {100 * f:.0f}% of trials" for name, f in carry)
            + " (5% expected without carry-over; the test has little power).",
            "",
        ]
    if "residual_occupancy_percentiles" in summary:
        pct = summary["residual_occupancy_percentiles"]
        lines += [
            "Receptor occupancy left by the drug at the start of each later period (every participant who "
            "had taken it): " + ", ".join(f"{q}th percentile {100 * v:.1f}%" for q, v in pct.items()) + ".",
            "",
        ]
    if power is not None:
        lines += [
            "## Power by sample size",
            "",
            "| participants | measure | power | 95% CI | median g |",
            "|---|---|---|---|---|",
        ]
        for row in power.itertuples():
            lines.append(
                f"| {row.participants} | {row.measure} | {100 * row.power:.0f}% | "
                f"[{100 * row.power_low:.0f}, {100 * row.power_high:.0f}] | {row.median_g:.2f} |"
            )
        lines += ["", "![power](power.png)", ""]
    if design.study.not_represented:
        lines += ["## What the model cannot represent about this study", ""]
        lines += [f"- {x}" for x in design.study.not_represented] + [""]
    lines += [f"![{f[:-4]}]({f})" for f in figures] + [""]
    return "\n".join(lines)
