"""A virtual meta-analysis: every study of the trial library run many times, set beside what was published.

For each outcome of the library (``experiments/trials/``, outcomes marked ``meta_analysis``),
the study's design is run ``replications`` times; the g of its virtual trials gives the 95%
prediction interval of a study of that size, and the power (the share of virtual trials that
reach p < .05 in the predicted direction). Beside it: the published g where it is known, and
whether the paper reported a significant effect. Replication r of every study, taken together,
is one virtual replication of the whole literature; a random-effects meta-analysis of it
(statsmodels ``combine_effects``, Paule-Mandel tau^2) gives a pooled g, tau^2 and I^2, set
against Løseth, Trøstheim & Leknes 2024 (g = -0.20 [-0.32, -0.07], I^2 = 23%). Studies that
share participants (``[study] sample``) share their virtual people too.
"""

from __future__ import annotations

import math
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..batch import seed_for
from ..errors import UserError
from ..plots import save_figure, subplots
from ..stats import Z95
from ..trials import design as trial_design
from ..trials.run import run_trials, summarize_measure
from .common import Context, Experiment, write_table

META = {"hedges_g": -0.20, "ci_low": -0.32, "ci_high": -0.07, "i2": 23.0, "outcomes": 17, "participants": 455,
        "source": "Løseth, Trøstheim & Leknes 2024, Transl Psychiatry 14:379"}  # fmt: skip
DESIGN: dict[str, Any] = {
    "replications": 200,  # virtual trials of each study (and virtual literatures)
    "studies": [],  # library designs to include (empty: every runnable one)
}
PARAMS: dict[str, Any] = {"engine": "array"}


def study_seed(master: int, design: trial_design.TrialDesign) -> int:
    """The master seed of a study's virtual trials: one per sample, so that papers on one sample share people."""
    return seed_for(master, zlib.crc32((design.study.sample or design.name).encode()), bits=32)


def selected(names: list[str]) -> list[trial_design.TrialDesign]:
    """The library designs to run: the named ones, or every runnable one with a meta-analysis outcome."""
    lib = trial_design.library()
    for name in names:
        if name not in lib:
            raise UserError(f"no design '{name}' in the trial library: use one of {', '.join(lib)}")
    designs = [trial_design.load(lib[n]) for n in (names or lib)]
    return [d for d in designs if any(o.meta_analysis for o in d.outcomes)]


def pool_literature(frame: pd.DataFrame) -> dict[str, float]:
    """Random-effects meta-analysis of one virtual literature (one g and variance per outcome)."""
    from statsmodels.stats.meta_analysis import combine_effects

    if len(frame) < 2:  # one outcome: nothing to pool, no heterogeneity to estimate
        g, v = float(frame["hedges_g"].iloc[0]), float(frame["variance"].iloc[0])
        half = Z95 * np.sqrt(v)
        return {"hedges_g": g, "ci_low": g - half, "ci_high": g + half, "tau2": 0.0, "i2": 0.0}
    res = combine_effects(frame["hedges_g"].to_numpy(), frame["variance"].to_numpy(), method_re="pm")
    est, se = float(res.mean_effect_re), float(res.sd_eff_w_re)
    return {
        "hedges_g": est,
        "ci_low": est - Z95 * se,
        "ci_high": est + Z95 * se,
        "tau2": max(float(res.tau2), 0.0),
        "i2": 100.0 * max(float(res.i2), 0.0),
    }


def run(ctx: Context) -> dict[str, Any]:
    """Run every study, pool each virtual literature, write tables, the forest plot and the report."""
    t0 = time.perf_counter()
    reps = int(ctx.design["replications"])
    designs = selected(list(ctx.design["studies"]))
    outcomes, skipped, rows = [], [], []
    for design in designs:
        wanted = [o for o in design.outcomes if o.meta_analysis]
        if not design.runnable:
            skipped += [{"study": design.name, "measure": o.measure, "reason": "number of participants not found"}
                        for o in wanted]  # fmt: skip
            continue
        result = run_trials(
            design, reps, study_seed(ctx.seed, design), ctx.params, workers=ctx.workers, progress=ctx.progress,
            desc=design.name,
        )  # fmt: skip
        for o in wanted:
            sub = result.trials[result.trials["measure"] == o.measure]
            s = summarize_measure(sub)
            inside = None if o.hedges_g is None else bool(s["prediction_low"] <= o.hedges_g <= s["prediction_high"])
            outcomes.append(
                {
                    "study": design.name,
                    "measure": o.measure,
                    "role": "training" if o.training else "validation",
                    "participants": design.participants.n,
                    "predicted_median_g": s["median_g"],
                    "prediction_low": s["prediction_low"],
                    "prediction_high": s["prediction_high"],
                    "power": s["power"],
                    "observed_g": o.hedges_g,
                    "observed_inside_prediction": inside,
                    "reported": o.reported,
                }
            )
            rows.append(sub.assign(study=design.name))
    if not outcomes:
        raise UserError("no runnable study with a meta-analysis outcome was selected")
    table = pd.DataFrame(outcomes)
    trials = pd.concat(rows, ignore_index=True)
    trained = {(o["study"], o["measure"]) for o in outcomes if o["role"] == "training"}
    trials["role"] = [
        "training" if key in trained else "validation" for key in zip(trials["study"], trials["measure"], strict=True)
    ]
    literature = pd.DataFrame(
        [{"replication": r, **pool_literature(g)} for r, g in trials.groupby("replication", sort=True)]
    )
    validation = trials[trials["role"] == "validation"]
    validation_only = pd.DataFrame(
        [{"replication": r, **pool_literature(g)} for r, g in validation.groupby("replication", sort=True)]
    )
    summary = _summary(table, literature, skipped, reps)
    summary["virtual_literature_validation_only"] = _spread(validation_only) if len(validation_only) else None
    write_table(table, ctx.out / "outcomes.csv")
    write_table(literature, ctx.out / "literature.csv")
    if skipped:
        write_table(pd.DataFrame(skipped), ctx.out / "not_run.csv")
    trials.to_parquet(ctx.out / "trials.parquet", index=False)
    _forest(ctx.out, table, literature)
    (ctx.out / "report.md").write_text(_report(summary, table, skipped, time.perf_counter() - t0), encoding="utf-8")
    return summary


def _summary(table: pd.DataFrame, literature: pd.DataFrame, skipped: list[dict], reps: int) -> dict[str, Any]:
    known = table[table["observed_g"].notna()]
    reported = table[table["reported"] != ""]
    validation = reported[reported["role"] == "validation"]
    return {
        "replications": reps,
        "outcomes": table.to_dict(orient="records"),
        "not_run": skipped,
        "observed_inside_prediction": {"inside": int(known["observed_inside_prediction"].sum()), "of": len(known)},
        "reported_significant": {
            "validation_outcomes": len(validation),
            "observed": int((validation["reported"] == "significant").sum()),
            "expected": float(validation["power"].sum()),
        },
        "virtual_literature": _spread(literature),
        "published_meta_analysis": META,
    }


def _spread(literature: pd.DataFrame) -> dict[str, float]:
    """The distribution of the pooled results over the virtual literatures."""
    return {
        "hedges_g_median": float(literature["hedges_g"].median()),
        "hedges_g_2_5": float(literature["hedges_g"].quantile(0.025)),
        "hedges_g_97_5": float(literature["hedges_g"].quantile(0.975)),
        "ci_low_median": float(literature["ci_low"].median()),
        "ci_high_median": float(literature["ci_high"].median()),
        "tau2_median": float(literature["tau2"].median()),
        "i2_median": float(literature["i2"].median()),
        "fraction_excluding_zero": float(np.mean(literature["ci_high"] < 0)),
    }


def _forest(out: Path, table: pd.DataFrame, literature: pd.DataFrame) -> None:
    """Predicted 95% intervals per outcome with the published g where known, and the pooled literature."""
    n = len(table)
    fig, ax = subplots(figsize=(9, 0.45 * (n + 3) + 1.2))
    for i, row in enumerate(table.itertuples()):
        y = n - i + 1
        color = "tab:green" if row.role == "training" else "tab:blue"
        ax.plot([row.prediction_low, row.prediction_high], [y, y], color=color, lw=3, alpha=0.6)
        ax.plot(row.predicted_median_g, y, "o", color=color)
        if row.observed_g is not None and not (isinstance(row.observed_g, float) and math.isnan(row.observed_g)):
            ax.plot(row.observed_g, y, "D", color="tab:red", ms=7)
        mark = {"significant": "reported: significant", "not significant": "reported: not significant"}.get(
            row.reported, ""
        )
        ax.text(1.02, y, f"{mark}  (power {100 * row.power:.0f}%)", transform=ax.get_yaxis_transform(), va="center",
                fontsize=8)  # fmt: skip
    lo, hi = literature["hedges_g"].quantile([0.025, 0.975])
    ax.plot([lo, hi], [0.5, 0.5], color="black", lw=3, alpha=0.6)
    ax.plot(literature["hedges_g"].median(), 0.5, "o", color="black")
    ax.plot([META["ci_low"], META["ci_high"]], [0, 0], color="tab:red", lw=3)
    ax.plot(META["hedges_g"], 0, "D", color="tab:red", ms=7)
    labels = [f"{r.study}: {r.measure} (N={r.participants}, {r.role})" for r in table.itertuples()]
    ax.set_yticks(
        [n - i + 1 for i in range(n)] + [0.5, 0],
        [*labels, "virtual literatures, pooled (spread of 95% of them)", "Løseth et al. 2024, pooled (95% CI)"],
        fontsize=8,
    )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("Hedges' g, naltrexone - placebo (bars: predicted 95% interval; red diamonds: published)")
    ax.set_title("Virtual meta-analysis: predicted against published")
    from matplotlib.lines import Line2D

    ax.legend(
        handles=[
            Line2D([], [], color="tab:blue", lw=3, marker="o", label="validation: predicted median, 95% interval"),
            Line2D([], [], color="tab:green", lw=3, marker="o", label="training (fitted by the calibration)"),
            Line2D([], [], color="tab:red", ls="", marker="D", label="published"),
        ],
        loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=7, frameon=False,
    )  # fmt: skip
    fig.tight_layout()
    save_figure(fig, out / "forest.png")


def _report(s: dict[str, Any], table: pd.DataFrame, skipped: list[dict], elapsed: float) -> str:
    lit, meta = s["virtual_literature"], s["published_meta_analysis"]
    val = s["virtual_literature_validation_only"]
    inside, rep = s["observed_inside_prediction"], s["reported_significant"]
    lines = [
        "# Virtual meta-analysis of the trial library",
        "",
        f"Every study of experiments/trials/ with a meta-analysis outcome, {s['replications']} virtual trials each; "
        f"run time {elapsed:.0f} s. Training outcomes were fitted by the calibration "
        "(experiments/calibration/default.toml); every other outcome is validation: no model parameter "
        "was set by it, and none was changed after seeing these results.",
        "",
        "| study | measure | N | role | predicted g (median) | 95% prediction interval | power | published g | "
        "reported |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        missing = r.observed_g is None or (isinstance(r.observed_g, float) and math.isnan(r.observed_g))
        g = "g unknown" if missing else (
            f"{r.observed_g:.2f} ({'inside' if r.observed_inside_prediction else 'outside'})"
        )  # fmt: skip
        lines.append(
            f"| {r.study} | {r.measure} | {r.participants} | {r.role} | {r.predicted_median_g:.2f} | "
            f"[{r.prediction_low:.2f}, {r.prediction_high:.2f}] | {100 * r.power:.0f}% | {g} | {r.reported or '-'} |"
        )
    for row in skipped:
        lines.append(f"| {row['study']} | {row['measure']} | ? | - | not run: {row['reason']} | | | | |")
    lines += [
        "",
        f"Published effects inside their predicted 95% interval: {inside['inside']} of {inside['of']} "
        "(only outcomes whose g we could find or derive).",
        "",
        f"Significance: of {rep['validation_outcomes']} validation outcomes, the papers reported "
        f"{rep['observed']} as significant in the predicted direction; the model expects {rep['expected']:.1f} "
        "(the sum of their powers).",
        "",
        f"One virtual replication of the literature, pooled with a random-effects model (Paule-Mandel tau^2): "
        f"g = {lit['hedges_g_median']:.2f} (median over replications; 95% of virtual literatures between "
        f"{lit['hedges_g_2_5']:.2f} and {lit['hedges_g_97_5']:.2f}), typical 95% CI "
        f"[{lit['ci_low_median']:.2f}, {lit['ci_high_median']:.2f}], tau^2 = {lit['tau2_median']:.3f}, "
        f"I^2 = {lit['i2_median']:.0f}%; {100 * lit['fraction_excluding_zero']:.0f}% of virtual literatures "
        f"exclude 0. Published ({meta['source']}): g = {meta['hedges_g']:.2f} [{meta['ci_low']:.2f}, "
        f"{meta['ci_high']:.2f}], I^2 = {meta['i2']:.0f}%, over {meta['outcomes']} outcomes (N = "
        f"{meta['participants']}), with a multilevel model (outcomes nested in studies); this virtual one pools "
        f"{len(table)} outcomes as independent, and outcomes of one sample are correlated.",
        "",
        "This comparison is not independent of the calibration: opioid_rating_weight was fitted so that the "
        "Inagaki 2016 daily diary gives the published pooled g (-0.20). "
        + (
            f"Pooling the validation outcomes only: g = {val['hedges_g_median']:.2f} (95% of virtual literatures "
            f"between {val['hedges_g_2_5']:.2f} and {val['hedges_g_97_5']:.2f}), I^2 = {val['i2_median']:.0f}%."
            if val
            else "No validation outcome was selected."
        ),
        "",
        "![forest plot](forest.png)",
        "",
    ]
    return "\n".join(lines)


EXPERIMENT = Experiment(
    name="meta_analysis",
    summary="every study of the trial library, predicted against published, and a virtual pooled literature",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="replications",
    extras=("trials",),
)
