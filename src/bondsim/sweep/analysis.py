"""Analysis of a sweep: ``bondsim analyze SWEEP_DIR``.

Every function here is a pure function of the sweep's data (its dataset and manifest, read once
into a :class:`SweepData`; a sweep folder is accepted too and read on the spot); :func:`analyze`
and the CLI write the results out. An outcome of a run is an observable at its last recorded step,
or its mean over a window of days (``--window START_DAY END_DAY``) when one is given.

- :func:`summarize`: mean, SD and a t confidence interval of each outcome per design point;
- :func:`time_course`: the same at every recorded step (the time course of each design point);
- :func:`window_means`: each run's mean of each observable over a window of days;
- :func:`sobol_indices`: first-, total- (and second-) order Sobol indices of ``sobol`` designs,
  with bootstrap confidence intervals (SALib; Saltelli 2002, Saltelli et al. 2010), flagging
  indices whose interval is wider than the index;
- :func:`morris_indices`: mu, mu* and sigma of ``morris`` designs (SALib; Morris 1991,
  Campolongo et al. 2007).

Tables are CSV, figures PNG.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, UserError
from ..io import check_output, now, output_directory, write_json
from ..plots import save_figure, subplots
from .spec import ID_COLUMNS
from .store import read_manifest, results

PLOT_METRICS = ("felt_connection", "positive_affect", "distress", "mean_bond")
MAX_LINES = 12  # time-course figures draw one line per design point up to this many points


# ------------------------------------------------------------------------------ the data
@dataclass(frozen=True)
class SweepData:
    """A sweep's dataset and manifest, read once.

    Attributes:
        frame: every recorded row of every finished run, sorted by run and step.
        manifest: the sweep's manifest.
    """

    frame: pd.DataFrame
    manifest: dict[str, Any]

    @classmethod
    def load(cls, out: str | Path) -> SweepData:
        """Read a sweep folder."""
        manifest = read_manifest(out)
        frame = results(out)
        if frame.empty:
            raise UserError(f"{out} holds no finished runs yet")
        return cls(frame, manifest)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The outcome columns of the dataset: built-in metrics, means by group, user functions' numbers."""
        skip = {*ID_COLUMNS, "step", "hours", "stopped", *self.varied, *self.manifest.get("parameters", {})}
        skip.update(self.manifest.get("fixed", {}))
        numeric = self.frame.select_dtypes(include="number").columns
        return tuple(c for c in self.frame.columns if c not in skip and c in numeric)

    @property
    def varied(self) -> list[str]:
        """The varied parameters."""
        return list(self.manifest["varied"])

    @property
    def design(self) -> str:
        """The design's name."""
        return str(self.manifest["design"])


def _data(source: SweepData | str | Path) -> SweepData:
    return source if isinstance(source, SweepData) else SweepData.load(source)


def _check_metrics(metrics: list[str] | tuple[str, ...] | None, data: SweepData) -> tuple[str, ...]:
    known = data.metrics
    if not metrics:
        return known
    for m in metrics:
        if m not in known:
            raise UserError(f"unknown observable '{m}': use {', '.join(known)}")
    return tuple(metrics)


def final_values(source: SweepData | str | Path) -> pd.DataFrame:
    """One row per finished run: its identity, parameters and observables at its last recorded step."""
    frame = _data(source).frame
    last = frame.groupby("run")["step"].transform("max") == frame["step"]
    return frame[last].reset_index(drop=True)


def window_means(source: SweepData | str | Path, start_day: float, end_day: float) -> pd.DataFrame:
    """One row per finished run: the mean of each observable over the recorded steps in a window of days.

    A step belongs to the window when its clock (``hours / 24``) lies in ``[start_day, end_day]``.
    NaN values (e.g. an acceptance rate in a step without approaches) are left out of the means.
    """
    data = _data(source)
    if not (np.isfinite(start_day) and np.isfinite(end_day)) or start_day < 0 or start_day >= end_day:
        raise UserError(f"--window {start_day:g} {end_day:g}: give START_DAY < END_DAY, both >= 0")
    frame = data.frame
    days = frame["hours"] / 24.0
    inside = frame[(days >= start_day - 1e-9) & (days <= end_day + 1e-9)]
    if inside.empty:
        last = float(days.max())
        raise UserError(
            f"no recorded step falls in days [{start_day:g}, {end_day:g}]: the runs last {last:g} days "
            f"(record = {data.manifest.get('record')})"
        )
    metrics = list(data.metrics)
    keys = [c for c in frame.columns if c not in (*metrics, "step", "hours")]
    means = inside.groupby("run", sort=True)[metrics].mean()
    counts = inside.groupby("run", sort=True)["step"].count().rename("steps_in_window")
    heads = inside.groupby("run", sort=True)[keys].first().drop(columns="run", errors="ignore")
    return pd.concat([heads, counts, means], axis=1).reset_index()


def outcomes(source: SweepData | str | Path, window: tuple[float, float] | None = None) -> pd.DataFrame:
    """Each finished run's outcomes: final values, or window means when ``window`` is given."""
    return final_values(source) if window is None else window_means(source, *window)


def _grouped_stats(frame: pd.DataFrame, keys: list[str], metrics: tuple[str, ...], conf: float) -> pd.DataFrame:
    """n, mean, SD and a two-sided t interval of each metric per group of ``keys``, in one pass.

    Non-finite values are left out; the interval is NaN with fewer than two values.
    """
    from scipy import stats

    values = frame[list(metrics)].astype(float).replace([np.inf, -np.inf], np.nan)
    long = pd.concat([frame[keys].reset_index(drop=True), values.reset_index(drop=True)], axis=1).melt(
        id_vars=keys, var_name="metric", value_name="value"
    )
    long["metric"] = pd.Categorical(long["metric"], categories=list(metrics), ordered=True)
    table = long.groupby([*keys, "metric"], sort=True, observed=True, dropna=False)["value"].agg(
        n="count", mean="mean", sd="std"
    )
    table = table.reset_index()
    n = table["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + conf / 2, np.where(n > 1, n - 1, np.nan)) * table["sd"] / np.sqrt(n)
    table["ci_low"] = table["mean"] - half
    table["ci_high"] = table["mean"] + half
    table["metric"] = table["metric"].astype(str)
    table["n"] = table["n"].astype(int)
    return table


def summarize(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Mean, SD and a two-sided t confidence interval of each outcome per design point.

    Returns a long table: point, the varied values, metric, n, mean, sd, ci_low, ci_high
    (the interval is NaN with fewer than two replicates, and NaN values are left out).
    """
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    return _grouped_stats(outcomes(data, window), ["point", *data.varied], metrics, conf)


def time_course(source: SweepData | str | Path, metrics: list[str] | None = None, conf: float = 0.95) -> pd.DataFrame:
    """Mean, SD and t confidence interval of each observable per design point at every recorded step.

    Returns a long table: point, the varied values, step, hours, day, metric, n, mean, sd, ci_low, ci_high.
    """
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    table = _grouped_stats(data.frame, ["point", *data.varied, "step", "hours"], metrics, conf)
    table.insert(table.columns.get_loc("hours") + 1, "day", table["hours"] / 24.0)
    return table


# ----------------------------------------------------------------------- sensitivity
def _point_means(data: SweepData, metrics: tuple[str, ...], window: tuple[float, float] | None, what: str):
    """Per design point, the mean outcome over replicates; every point must have one."""
    means = outcomes(data, window).groupby("point")[list(metrics)].mean().sort_index()
    total = int(data.manifest["points"])
    if len(means) < total:
        raise UserError(
            f"{what} need every design point: {total - len(means)} of {total} have no finished run "
            f"(see failures.csv; bondsim sweep --resume retries them)"
        )
    return means


def _spec_of(data: SweepData):
    from .spec import parse_spec

    return parse_spec(data.manifest["spec"], seed=int(data.manifest["seeds"]["master"]))


def sobol_indices(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    window: tuple[float, float] | None = None,
    second_order: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """First- and total-order Sobol indices of a ``sobol`` sweep, with bootstrap confidence intervals.

    The model output of a design point is its mean outcome over replicates. Every design point needs
    a result (resume the sweep first if some failed); an observable that is NaN at some point, or
    constant, is left out. ``S1_wide`` and ``ST_wide`` flag indices whose confidence interval
    (twice the half-width) is wider than the index itself: too few samples to tell it from noise.

    Args:
        source: the sweep.
        metrics: observables (default all).
        conf: confidence level of the bootstrap intervals.
        resamples: bootstrap resamples.
        window: ``(start_day, end_day)`` to use window means instead of final values.
        second_order: also return the second-order indices (the design must have sampled them).

    Returns:
        One row per metric and parameter: S1, S1_conf, ST, ST_conf (half-widths), S1_wide, ST_wide;
        with ``second_order``, also a table of metric, parameter_a, parameter_b, S2, S2_conf, S2_wide.
    """
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    manifest = data.manifest
    if data.design != "sobol":
        raise UserError(f"Sobol indices need a sobol design; this sweep has a {data.design} design")
    sampled_second = bool(manifest.get("second_order"))
    if second_order and not sampled_second:
        raise UserError("second-order Sobol indices need a sobol design with second_order = true")
    names = data.varied
    means = _point_means(data, metrics, window, "Sobol indices")
    return sobol_table(
        names,
        {n: tuple(manifest["bounds"][n]) for n in names},
        means,
        conf=conf,
        resamples=resamples,
        seed=int(manifest["seeds"]["master"]),
        sampled_second=sampled_second,
        second_order=second_order,
    )


def sobol_table(
    names: list[str],
    bounds: dict[str, tuple[float, float]],
    means: pd.DataFrame,
    *,
    conf: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
    sampled_second: bool = False,
    second_order: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Sobol indices of the outputs of a Saltelli design, one column of ``means`` per output.

    ``means`` has one row per design point, in the order of the design's sample matrix
    (:func:`bondsim.sweep.designs.sobol_matrix`); an output that is NaN somewhere, or constant, is
    left out. ``seed`` seeds the bootstrap. Returns what :func:`sobol_indices` returns.
    """
    from SALib.analyze import sobol

    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}
    rows, pairs = [], []
    for metric in means.columns:
        y = means[metric].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
            continue
        s = sobol.analyze(
            problem,
            y,
            calc_second_order=sampled_second,
            conf_level=conf,
            num_resamples=resamples,
            seed=seed,
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
                    "S1_wide": bool(2 * s["S1_conf"][i] > abs(s["S1"][i])),
                    "ST_wide": bool(2 * s["ST_conf"][i] > abs(s["ST"][i])),
                }
            )
        if sampled_second:
            for i, j in itertools.combinations(range(len(names)), 2):
                s2, c2 = s["S2"][i, j], s["S2_conf"][i, j]
                pairs.append(
                    {
                        "metric": metric,
                        "parameter_a": names[i],
                        "parameter_b": names[j],
                        "S2": s2,
                        "S2_conf": c2,
                        "S2_wide": bool(2 * c2 > abs(s2)),
                    }
                )
    first = pd.DataFrame(rows, columns=["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf", "S1_wide", "ST_wide"])
    if not second_order:
        return first
    columns = ["metric", "parameter_a", "parameter_b", "S2", "S2_conf", "S2_wide"]
    return first, pd.DataFrame(pairs, columns=columns)


def morris_indices(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Morris elementary-effects statistics of a ``morris`` sweep (SALib ``morris.analyze``).

    The model output of a design point is its mean outcome over replicates; the design's sample
    matrix is rebuilt from the spec in the manifest (before integer rounding).

    Returns:
        One row per metric and parameter: mu, mu_star, sigma, mu_star_conf (half-width of mu*'s
        bootstrap interval).
    """
    from SALib.analyze import morris

    data = _data(source)
    metrics = _check_metrics(metrics, data)
    if data.design != "morris":
        raise UserError(f"Morris indices need a morris design; this sweep has a {data.design} design")
    spec = _spec_of(data)
    x = spec.matrix()
    means = _point_means(data, metrics, window, "Morris indices")
    rows = []
    for metric in metrics:
        y = means[metric].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            continue
        s = morris.analyze(
            spec.problem(),
            x,
            y,
            num_resamples=resamples,
            conf_level=conf,
            num_levels=spec.levels,
            seed=spec.seed,
        )
        for i, name in enumerate(spec.varied):
            rows.append(
                {
                    "metric": metric,
                    "parameter": name,
                    "mu": float(s["mu"][i]),
                    "mu_star": float(s["mu_star"][i]),
                    "sigma": float(s["sigma"][i]),
                    "mu_star_conf": float(s["mu_star_conf"][i]),
                }
            )
    return pd.DataFrame(rows, columns=["metric", "parameter", "mu", "mu_star", "sigma", "mu_star_conf"])


# --------------------------------------------------------------------------- figures
def _figure(nrows: int, ncols: int, size: tuple[float, float]) -> tuple[Any, np.ndarray]:
    fig, axes = subplots(nrows, ncols, figsize=size, layout="constrained", squeeze=False)
    return fig, axes.ravel()


def _label(metric: str) -> str:
    return metric.replace("_", " ")


def _plotted(finals: pd.DataFrame) -> list[str]:
    """The metrics a figure shows: the usual four where recorded, else the last four outcome columns."""
    shown = [m for m in PLOT_METRICS if m in finals.columns]
    if shown:
        return shown
    skip = {*ID_COLUMNS, "step", "hours", "stopped", "steps_in_window"}
    numeric = finals.select_dtypes(include="number").columns
    return [c for c in finals.columns if c in numeric and c not in skip and finals[c].nunique() > 0][-4:]


def plot_response(finals: pd.DataFrame, name: str, design: str, path: Path, conf: float = 0.95) -> None:
    """Observables at the end of the runs against one varied parameter (others averaged over)."""
    from scipy import stats

    shown = _plotted(finals)
    fig, axes = _figure(1, len(shown), (3.2 * len(shown), 3.2))
    categorical = not pd.api.types.is_numeric_dtype(finals[name])
    for ax, metric in zip(axes, shown, strict=True):
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
    shown = _plotted(finals)
    fig, axes = _figure(1, len(shown), (3.6 * len(shown), 3.3))
    for ax, metric in zip(axes, shown, strict=True):
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


def plot_time_course(course: pd.DataFrame, varied: list[str], path: Path) -> None:
    """Mean time course of each design point with its confidence band, one panel per observable.

    With more than ``MAX_LINES`` design points, the lines are thin and without bands.
    """
    metrics = [m for m in PLOT_METRICS if m in set(course["metric"])] or list(dict.fromkeys(course["metric"]))[:4]
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.3))
    points = sorted(course["point"].unique())
    few = len(points) <= MAX_LINES
    colors = [f"C{i % 10}" for i in range(len(points))]
    for ax, metric in zip(axes, metrics, strict=True):
        part = course[course["metric"] == metric]
        for point, color in zip(points, colors, strict=True):
            line = part[part["point"] == point]
            label = ", ".join(f"{_label(n)} {_short(line[n].iloc[0])}" for n in varied) if few else None
            ax.plot(line["day"], line["mean"], color=color, lw=1.4 if few else 0.6, label=label)
            if few:
                ax.fill_between(line["day"], line["ci_low"], line["ci_high"], color=color, alpha=0.2, lw=0)
        ax.set_xlabel("day")
        ax.set_title(_label(metric), fontsize=9)
    if few:
        axes[-1].legend(frameon=False, fontsize=6, loc="best")
    save_figure(fig, path)


def plot_morris(indices: pd.DataFrame, path: Path) -> None:
    """mu* against sigma of each parameter, one panel per observable (Campolongo et al. 2007)."""
    metrics = [m for m in PLOT_METRICS if m in set(indices["metric"])] or list(dict.fromkeys(indices["metric"]))[:4]
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.4))
    for ax, metric in zip(axes, metrics, strict=True):
        part = indices[indices["metric"] == metric]
        ax.errorbar(part["mu_star"], part["sigma"], xerr=part["mu_star_conf"], fmt="o", capsize=3)
        for _, row in part.iterrows():
            ax.annotate(_label(row["parameter"]), (row["mu_star"], row["sigma"]), fontsize=7)
        ax.set_xlabel("mu*")
        ax.set_title(_label(metric), fontsize=9)
    axes[0].set_ylabel("sigma")
    save_figure(fig, path)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


# ------------------------------------------------------------------------------ the whole
def analyze(
    sweep_dir: str | Path,
    out: str | Path | None = None,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    window: tuple[float, float] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the tables and figures of a sweep into ``out`` (default ``SWEEP_DIR/analysis``).

    Args:
        sweep_dir: the sweep folder.
        out: where to write; it must be new or empty unless ``overwrite``, and it appears all at
            once or not at all.
        metrics: observables (default all).
        conf: confidence level of every interval.
        window: ``(start_day, end_day)``: outcomes are window means instead of final values.
        overwrite: replace files of the same name in a non-empty ``out``.

    Returns:
        What was written, and notes and warnings (e.g. why Sobol indices were left out).

    Raises:
        InputError: ``sweep_dir`` is not a directory.
        OutputError: ``out`` is not empty (without ``overwrite``), cannot be written, or the disk filled up.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise InputError(f"sweep directory not found: {sweep_dir}")
    if not 0 < conf < 1:
        raise UserError(f"--conf {conf:g} must be between 0 and 1")
    check_output(Path(out) if out else sweep_dir / "analysis", overwrite=overwrite)  # before reading the data
    data = SweepData.load(sweep_dir)
    metrics = list(_check_metrics(metrics, data))
    design, varied = data.design, data.varied
    runs = outcomes(data, window)
    summary = summarize(data, metrics, conf, window)
    course = time_course(data, metrics, conf)
    out = Path(out) if out else sweep_dir / "analysis"
    written, notes, warnings = [], [], []
    with output_directory(out, overwrite=overwrite) as tmp:
        final_values(data).to_csv(tmp / "final.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        written += ["final.csv", "summary.csv"]
        if window is not None:
            runs.to_csv(tmp / "window.csv", index=False)
            written.append("window.csv")
        course.to_csv(tmp / "timecourse.csv", index=False)
        written.append("timecourse.csv")
        if course["step"].nunique() > 1:
            plot_time_course(course, varied, tmp / "timecourse.png")
            written.append("timecourse.png")
        for name in varied:
            if runs[name].nunique() > 1:
                plot_response(runs, name, design, tmp / f"response_{name}.png", conf)
                written.append(f"response_{name}.png")
        if design in ("grid", "list"):
            for a, b in itertools.combinations(varied, 2):
                if runs[a].nunique() > 1 and runs[b].nunique() > 1:
                    plot_heatmap(runs, a, b, tmp / f"heatmap_{a}_{b}.png")
                    written.append(f"heatmap_{a}_{b}.png")
        if design == "sobol":
            try:
                if data.manifest.get("second_order"):
                    first, second = sobol_indices(data, metrics, conf, window=window, second_order=True)
                else:
                    first, second = sobol_indices(data, metrics, conf, window=window), None
            except UserError as exc:
                notes.append(str(exc))
            else:
                first.to_csv(tmp / "sobol.csv", index=False)
                written.append("sobol.csv")
                if second is not None:
                    second.to_csv(tmp / "sobol_second_order.csv", index=False)
                    written.append("sobol_second_order.csv")
                if not first.empty:
                    plot_sobol(first, tmp / "sobol.png")
                    written.append("sobol.png")
                wide = int(first["S1_wide"].sum() + first["ST_wide"].sum())
                if second is not None:
                    wide += int(second["S2_wide"].sum())
                if wide:
                    total = 2 * len(first) + (0 if second is None else len(second))
                    warnings.append(
                        f"{wide} of {total} Sobol indices have a {conf:.0%} interval wider than the index "
                        f"(columns *_wide of sobol.csv): increase samples"
                    )
        if design == "morris":
            try:
                indices = morris_indices(data, metrics, conf, window=window)
            except UserError as exc:
                notes.append(str(exc))
            else:
                indices.to_csv(tmp / "morris.csv", index=False)
                written.append("morris.csv")
                if not indices.empty:
                    plot_morris(indices, tmp / "morris.png")
                    written.append("morris.png")
        info = {
            "sweep": str(sweep_dir),
            "design": design,
            "varied": varied,
            "runs_analyzed": len(runs),
            "runs_in_design": data.manifest["runs"],
            "outcome": "final values" if window is None else f"means over days {window[0]:g}-{window[1]:g}",
            "window_days": None if window is None else list(window),
            "confidence": conf,
            "written": written,
            "notes": notes,
            "warnings": warnings,
            "created": now(),
        }
        write_json(tmp / "analysis.json", info)
    info["out"] = str(out)
    return info


__all__ = [
    "SweepData",
    "analyze",
    "final_values",
    "morris_indices",
    "outcomes",
    "plot_heatmap",
    "plot_morris",
    "plot_response",
    "plot_sobol",
    "plot_time_course",
    "sobol_indices",
    "sobol_table",
    "summarize",
    "time_course",
    "window_means",
]
