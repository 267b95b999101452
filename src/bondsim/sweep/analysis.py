"""Analysis of a finished sweep: ``bondsim analyze SWEEP_DIR``.

From the final recorded step of every run: a summary table (mean, SD and a t confidence
interval of each observable per design point), response curves of each varied parameter,
two-parameter heatmaps (grid and list designs) and, for ``sobol`` designs, first- and
total-order Sobol indices with bootstrap confidence intervals (SALib; Saltelli 2002,
Saltelli et al. 2010). Tables are CSV, figures PNG.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UserError
from ..io import now, output_directory, write_json
from ..metrics import COLUMNS
from ..plots import save_figure, subplots
from .store import read_manifest, results

METRICS = tuple(c for c in COLUMNS if c not in ("step", "hours"))  # the model outcomes of a run
PLOT_METRICS = ("felt_connection", "positive_affect", "distress", "mean_bond")


def final_values(out: str | Path) -> pd.DataFrame:
    """One row per finished run: its identity, varied values and observables at its last recorded step."""
    frame = results(out)
    if frame.empty:
        raise UserError(f"{out} holds no finished runs yet")
    last = frame.groupby("run")["step"].transform("max") == frame["step"]
    return frame[last].reset_index(drop=True)


def _check_metrics(metrics: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if not metrics:
        return METRICS
    for m in metrics:
        if m not in METRICS:
            raise UserError(f"unknown observable '{m}': use {', '.join(METRICS)}")
    return tuple(metrics)


def summarize(out: str | Path, metrics: list[str] | None = None, conf: float = 0.95) -> pd.DataFrame:
    """Mean, SD and a two-sided t confidence interval of each observable per design point.

    Returns a long table: point, the varied values, metric, n, mean, sd, ci_low, ci_high
    (the interval is NaN with fewer than two replicates, and NaN values are left out).
    """
    from scipy import stats

    metrics = _check_metrics(metrics)
    manifest = read_manifest(out)
    varied = list(manifest["varied"])
    finals = final_values(out)
    rows = []
    for point, group in finals.groupby("point", sort=True):
        head = {"point": int(point), **{name: group[name].iloc[0] for name in varied}}
        for metric in metrics:
            x = group[metric].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n = len(x)
            mean = float(np.mean(x)) if n else float("nan")
            sd = float(np.std(x, ddof=1)) if n > 1 else float("nan")
            half = float(stats.t.ppf(0.5 + conf / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
            rows.append(
                {
                    **head,
                    "metric": metric,
                    "n": n,
                    "mean": mean,
                    "sd": sd,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                }
            )
    return pd.DataFrame(rows)


def sobol_indices(
    out: str | Path, metrics: list[str] | None = None, conf: float = 0.95, resamples: int = 1000
) -> pd.DataFrame:
    """First- and total-order Sobol indices of a ``sobol`` sweep, with bootstrap confidence intervals.

    The model output of a design point is its mean over replicates. Every design point needs a
    result (resume the sweep first if some failed); an observable that is NaN at some point is
    left out.

    Returns:
        One row per metric and parameter: S1, S1_conf, ST, ST_conf (half-widths of the interval).
    """
    from SALib.analyze import sobol

    metrics = _check_metrics(metrics)
    manifest = read_manifest(out)
    if manifest.get("design") != "sobol":
        raise UserError(f"Sobol indices need a sobol design; {out} holds a {manifest.get('design')} design")
    names = list(manifest["varied"])
    problem = {"num_vars": len(names), "names": names, "bounds": [manifest["bounds"][n] for n in names]}
    means = final_values(out).groupby("point")[list(metrics)].mean()
    missing = manifest["points"] - len(means)
    if missing:
        raise UserError(
            f"Sobol indices need every design point: {missing} of {manifest['points']} have no "
            f"finished run (see failures.csv; bondsim sweep --resume retries them)"
        )
    means = means.sort_index()
    rows = []
    for metric in metrics:
        y = means[metric].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        s = sobol.analyze(
            problem,
            y,
            calc_second_order=bool(manifest.get("second_order")),
            conf_level=conf,
            num_resamples=resamples,
            seed=int(manifest["seeds"]["master"]),
        )
        for i, name in enumerate(names):
            rows.append(
                {
                    "metric": metric,
                    "parameter": name,
                    "S1": s["S1"][i],
                    "S1_conf": s["S1_conf"][i],
                    "ST": s["ST"][i],
                    "ST_conf": s["ST_conf"][i],
                }
            )
    return pd.DataFrame(rows, columns=["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"])


# --------------------------------------------------------------------------- figures
def _figure(nrows: int, ncols: int, size: tuple[float, float]) -> tuple[Any, np.ndarray]:
    fig, axes = subplots(nrows, ncols, figsize=size, layout="constrained", squeeze=False)
    return fig, axes.ravel()


def _label(metric: str) -> str:
    return metric.replace("_", " ")


def plot_response(finals: pd.DataFrame, name: str, design: str, path: Path, conf: float = 0.95) -> None:
    """Observables at the end of the runs against one varied parameter (others averaged over)."""
    from scipy import stats

    fig, axes = _figure(1, len(PLOT_METRICS), (3.2 * len(PLOT_METRICS), 3.2))
    categorical = not pd.api.types.is_numeric_dtype(finals[name])
    for ax, metric in zip(axes, PLOT_METRICS, strict=True):
        if design in ("lhs", "sobol"):
            ax.scatter(finals[name], finals[metric], s=6, alpha=0.35, color="tab:blue")
            order = np.argsort(finals[name].to_numpy())
            x, y = finals[name].to_numpy()[order], finals[metric].to_numpy(dtype=float)[order]
            bins = np.array_split(np.arange(len(x)), min(10, max(1, len(x) // 5)))
            ax.plot(
                [x[b].mean() for b in bins],
                [np.nanmean(y[b]) for b in bins],
                color="black",
                lw=1.5,
                label="binned mean",
            )
        else:
            g = finals.groupby(name, sort=True)[metric]
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            half = stats.t.ppf(0.5 + conf / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            xs = np.arange(len(mean)) if categorical else mean.index.to_numpy(dtype=float)
            ax.errorbar(xs, mean.to_numpy(), yerr=half.to_numpy(), marker="o", capsize=3, color="tab:blue")
            if categorical:
                ax.set_xticks(xs, [str(v) for v in mean.index])
        ax.set_xlabel(_label(name))
        ax.set_ylabel(_label(metric))
    fig.suptitle(
        f"{_label(name)}: end-of-run means with {conf:.0%} CI"
        if design in ("grid", "list")
        else f"{_label(name)}: end-of-run values",
        fontsize=10,
    )
    save_figure(fig, path)


def plot_heatmap(finals: pd.DataFrame, a: str, b: str, path: Path) -> None:
    """Mean end-of-run observables over two varied parameters (others averaged over)."""
    fig, axes = _figure(1, len(PLOT_METRICS), (3.6 * len(PLOT_METRICS), 3.3))
    for ax, metric in zip(axes, PLOT_METRICS, strict=True):
        table = finals.pivot_table(index=b, columns=a, values=metric, aggfunc="mean").sort_index()
        image = ax.imshow(table.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(
            range(table.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v) for v in table.columns], rotation=45
        )
        ax.set_yticks(range(table.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v) for v in table.index])
        ax.set_xlabel(_label(a))
        ax.set_ylabel(_label(b))
        ax.set_title(_label(metric), fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    save_figure(fig, path)


def plot_sobol(indices: pd.DataFrame, path: Path) -> None:
    """First- and total-order indices with their confidence intervals, one panel per observable."""
    metrics = [m for m in PLOT_METRICS if m in set(indices["metric"])] or list(dict.fromkeys(indices["metric"]))[:4]
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.4))
    for ax, metric in zip(axes, metrics, strict=True):
        part = indices[indices["metric"] == metric]
        x = np.arange(len(part))
        ax.bar(x - 0.2, part["S1"], 0.4, yerr=part["S1_conf"], capsize=3, label="first order")
        ax.bar(x + 0.2, part["ST"], 0.4, yerr=part["ST_conf"], capsize=3, label="total order")
        ax.set_xticks(x, [_label(p) for p in part["parameter"]], rotation=30, ha="right")
        ax.set_title(_label(metric), fontsize=9)
        ax.axhline(0, color="grey", lw=0.8)
    axes[0].set_ylabel("Sobol index")
    axes[0].legend(frameon=False, fontsize=8)
    save_figure(fig, path)


# ------------------------------------------------------------------------------ the whole
def analyze(
    sweep_dir: str | Path, out: str | Path | None = None, metrics: list[str] | None = None, conf: float = 0.95
) -> dict[str, Any]:
    """Write the tables and figures of a sweep into ``out`` (default ``SWEEP_DIR/analysis``).

    Returns:
        What was written and any note (e.g. why Sobol indices were left out).
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise UserError(f"sweep directory not found: {sweep_dir}")
    if not 0 < conf < 1:
        raise UserError(f"--conf {conf:g} must be between 0 and 1")
    metrics = list(_check_metrics(metrics))
    manifest = read_manifest(sweep_dir)
    design, varied = manifest["design"], list(manifest["varied"])
    finals = final_values(sweep_dir)
    summary = summarize(sweep_dir, metrics, conf)
    out = Path(out) if out else sweep_dir / "analysis"
    written, notes = [], []
    with output_directory(out) as tmp:
        finals.to_csv(tmp / "final.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        written += ["final.csv", "summary.csv"]
        for name in varied:
            if finals[name].nunique() > 1:
                plot_response(finals, name, design, tmp / f"response_{name}.png", conf)
                written.append(f"response_{name}.png")
        if design in ("grid", "list"):
            for a, b in itertools.combinations(varied, 2):
                if finals[a].nunique() > 1 and finals[b].nunique() > 1:
                    plot_heatmap(finals, a, b, tmp / f"heatmap_{a}_{b}.png")
                    written.append(f"heatmap_{a}_{b}.png")
        if design == "sobol":
            try:
                indices = sobol_indices(sweep_dir, metrics, conf)
            except UserError as exc:
                notes.append(str(exc))
            else:
                indices.to_csv(tmp / "sobol.csv", index=False)
                written.append("sobol.csv")
                if not indices.empty:
                    plot_sobol(indices, tmp / "sobol.png")
                    written.append("sobol.png")
        info = {
            "sweep": str(sweep_dir),
            "design": design,
            "varied": varied,
            "runs_analyzed": len(finals),
            "runs_in_design": manifest["runs"],
            "confidence": conf,
            "written": written,
            "notes": notes,
            "created": now(),
        }
        write_json(tmp / "analysis.json", info)
    info["out"] = str(out)
    return info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim analyze``."""
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="directory written by bondsim sweep")
    parser.add_argument("--out", help="output directory (default SWEEP_DIR/analysis)")
    parser.add_argument("--metrics", help=f"comma-separated observables (default all: {', '.join(METRICS)})")
    parser.add_argument("--conf", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")


def command(args: argparse.Namespace) -> int:
    """Analyze a sweep and list what was written."""
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    info = analyze(args.sweep_dir, args.out, metrics, args.conf)
    print(
        f"bondsim analyze: {info['runs_analyzed']} of {info['runs_in_design']} runs, {info['design']} design; "
        f"wrote {len(info['written'])} files to {info['out']}: {', '.join(info['written'])}"
    )
    for note in info["notes"]:
        print(f"bondsim analyze: note: {note}", file=sys.stderr)
    return 0


__all__ = [
    "METRICS",
    "add_arguments",
    "analyze",
    "command",
    "final_values",
    "plot_heatmap",
    "plot_response",
    "plot_sobol",
    "sobol_indices",
    "summarize",
]
