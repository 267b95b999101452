"""What ``bondsim calibrate`` writes besides its tables: the pair plot and report.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..plots import save_figure, subplots
from .posterior import weighted_quantile
from .spec import Spec


def pairplot(path: Path, spec: Spec, posterior: pd.DataFrame) -> None:
    """The posterior's pairwise marginals (weighted), each axis spanning its parameter's prior range."""
    names = spec.names
    k = len(names)
    weights = posterior["weight"].to_numpy()
    fig, axes = subplots(k, k, figsize=(1.9 * k + 1, 1.9 * k + 1), squeeze=False)
    for i, yi in enumerate(names):
        for j, xj in enumerate(names):
            ax = axes[i][j]
            px, py = spec.prior(xj), spec.prior(yi)
            log_x = px.kind == "loguniform"
            if i == j:
                bins = np.geomspace(px.low, px.high, 16) if log_x else np.linspace(px.low, px.high, 16)
                ax.hist(posterior[xj], bins=bins, weights=weights, color="tab:blue", alpha=0.75)
                ax.set_yticks([])
            elif i > j:
                ax.scatter(posterior[xj], posterior[yi], s=4 + 400 * weights, color="tab:blue", alpha=0.5, lw=0)
                ax.set_ylim(py.low, py.high)
                if py.kind == "loguniform":
                    ax.set_yscale("log")
            else:
                ax.axis("off")
                continue
            ax.set_xlim(px.low, px.high)
            if log_x:
                ax.set_xscale("log")
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(xj, fontsize=7)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(yi, fontsize=7)
            elif i != j:
                ax.set_yticklabels([])
    fig.suptitle(f"{spec.name}: posterior of {len(posterior)} particles (axes: the priors' ranges)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def parameter_table(spec: Spec, posterior: pd.DataFrame) -> list[dict[str, Any]]:
    """Per fitted parameter: its prior, and the posterior's weighted median and 95% interval."""
    w = posterior["weight"].to_numpy()
    rows = []
    for p in spec.priors:
        lo, med, hi = weighted_quantile(posterior[p.name].to_numpy(), w, [0.025, 0.5, 0.975])
        rows.append(
            {"parameter": p.name, "prior": p.kind, "low": p.low, "high": p.high,
             "median": float(med), "ci_low": float(lo), "ci_high": float(hi)}
        )  # fmt: skip
    return rows


def report(spec: Spec, summary: dict[str, Any], generations: pd.DataFrame, targets: pd.DataFrame) -> str:
    """report.md: what was fitted to what, the diagnostics, the posterior, and the outcomes not read."""
    a = spec.abc
    lines = [
        f"# Calibration: {spec.name}",
        "",
        *([spec.description, ""] if spec.description else []),
        f"ABC-SMC (Toni et al. 2009) with pyabc {summary['versions'].get('pyabc', '?')}: {a.population} particles per "
        f"generation, at most {a.generations} generations, tolerance the {a.quantile:g} quantile of the last "
        f"generation's distances (generation 0: {a.initial_epsilon:g}), {a.trials} virtual trial(s) of each target "
        f"design per particle, engine {spec.engine}, seed {a.seed}. Distances are in units of each target's "
        "tolerance scale (Euclidean); a particle that breaks a constraint is rejected. "
        f"Run time {summary['elapsed_seconds']:.0f} s on {summary['runner']['workers']} worker(s).",
        "",
        "## Training targets",
        "",
        "| target | source | design: measure | statistic | published | tolerance scale | posterior predictive "
        "mean [95%] |",
        "|---|---|---|---|---|---|---|",
    ]
    for t, row in zip(spec.targets, targets.itertuples(), strict=True):
        pred = (
            f"{row.predictive_mean:.3f} [{row.predictive_low:.3f}, {row.predictive_high:.3f}]"
            if np.isfinite(row.predictive_mean)
            else "not drawn"
        )
        lines.append(
            f"| {t.name} | {t.source} | {spec.designs[t.design].name}: {t.measure} | {t.statistic} | {t.value:g} | "
            f"{t.scale:g} ({t.scale_source}) | {pred} |"
        )
    lines += ["", "## Constraints (a particle that breaks one is rejected)", ""]
    if spec.constraints:
        lines += ["| constraint | experiment | treatment vs control | must be | source | held in predictive draws |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        held = summary.get("constraints_held", {})
        for c in spec.constraints:
            where = f"{c.experiment}{f' ({c.state})' if c.state else ''}"
            share = held.get(c.name)
            lines.append(
                f"| {c.name} | {where} | {c.treatment} vs {c.control} | {c.direction} | {c.source} | "
                f"{'' if share is None else f'{100 * share:.0f}%'} |"
            )
    else:
        lines.append("None.")
    lines += [
        "",
        "## Diagnostics",
        "",
        "| generation | epsilon | acceptance rate | effective sample size | particles | evaluations | simulations |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in generations.itertuples():
        lines.append(
            f"| {g.generation} | {g.epsilon:.3f} | {g.acceptance_rate:.3f} | {g.ess:.1f} | {g.particles} | "
            f"{g.evaluations} | {g.simulations} |"
        )
    lines += [
        "",
        "Evaluations count the particles proposed up to the population's last acceptance (the acceptance rate's "
        "denominator); simulations count those run, including the rest of the last round.",
        f"Stopped: {summary['stopped']}.",
        "",
        "## Posterior",
        "",
        "| parameter | prior | posterior median | 95% interval |",
        "|---|---|---|---|",
    ]
    for row in summary["posterior"]:
        lines.append(
            f"| {row['parameter']} | {row['prior']} [{row['low']:g}, {row['high']:g}] | {row['median']:.4g} | "
            f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}] |"
        )
    if "rating_noise" in spec.names:
        lines += ["", f"rating_noise is split by the assumed test-retest correlation {spec.retest:g} into a "
                  "person's bias (sqrt(r) x total) and occasion noise (sqrt(1 - r) x total)."]  # fmt: skip
    lines += ["", "![posterior pair plot](pairplot.png)", "", "## Validation outcomes not read", ""]
    lines += [
        "Every published outcome of the designs below is validation: the calibration did not read it.",
        "",
        "| design | role | outcomes not read |",
        "|---|---|---|",
    ]
    for row in summary["validation_not_read"]:
        lines.append(f"| {row['design']} | {row['role']} | {', '.join(row['outcomes'])} |")
    return "\n".join(lines) + "\n"


__all__ = ["pairplot", "parameter_table", "report"]
