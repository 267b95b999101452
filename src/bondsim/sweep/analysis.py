"""Analysis of a sweep: ``bondsim analyze SWEEP_DIR``.

Every function here is a pure function of the sweep's data (its dataset and manifest, read once
into a :class:`SweepData`; a sweep folder is accepted too and read on the spot); :func:`analyze`
and the CLI write the results out. An outcome of a run is an observable at its last recorded step,
or its mean over a window of days (``--window START_DAY END_DAY``) when one is given.

- :func:`summarize`: mean, SD and a t confidence interval of each outcome per design point (and arm);
- :func:`time_course`: the same at every recorded step (the time course of each design point);
- :func:`window_means`: each run's mean of each observable over a window of days;
- :func:`contrasts` and :func:`contrast_course` (sweeps with a ``[compare]`` table): each arm minus
  the reference arm, run for run of the same seed, with t intervals over replicates, at the end
  and at every recorded time, and :func:`pairing` (what the common seeds saved);
- :func:`levels`: outcomes by level of each categorical factor;
- :func:`sobol_indices`: first-, total- (and second-) order Sobol indices of ``sobol`` designs,
  with bootstrap confidence intervals (SALib; Saltelli 2002, Saltelli et al. 2010), flagging
  indices whose interval is wider than the index and S1 above ST; :func:`sobol_diagnostics`
  (the sum of the first-order indices, and the N that would settle the unsettled ones),
  :func:`sobol_over_time` (the indices at every recorded time) and :func:`sobol_convergence`
  (the indices against N);
- :func:`morris_indices`: mu, mu* and sigma of ``morris`` designs (SALib; Morris 1991,
  Campolongo et al. 2007), and :func:`morris_over_time`.

In a sweep with arms the sensitivity indices are those of a contrast (an arm minus the
reference): the drug's effect, not either arm's outcome; ``SweepData.arm(name)`` gives one arm's
data as a sweep of its own. Tables are CSV, figures PNG.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..contrast import interval_table, paired_differences, variance_ratio
from ..errors import InputError, UserError
from ..io import check_output, now, output_directory, write_json
from ..plots import save_figure, subplots
from .spec import ARM_ID_COLUMNS, level_label
from .store import read_manifest, results

PLOT_METRICS = ("felt_connection", "positive_affect", "distress", "mean_bond")
MAX_LINES = 12  # time-course figures draw one line per design point up to this many points
SETTLED_HALF_WIDTH = 0.025  # an index known to within this (95% half-width) is settled, however small


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
        skip = {*ARM_ID_COLUMNS, "step", "hours", "stopped", *self.varied, *self.manifest.get("parameters", {})}
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

    @property
    def arms(self) -> list[str]:
        """The arms of the ``[compare]`` table, the reference first (empty without one)."""
        return list(self.manifest.get("arms") or [])

    @property
    def reference(self) -> str | None:
        """The reference arm (the first of ``[compare]``), or None."""
        return self.arms[0] if self.arms else None

    @property
    def choices(self) -> dict[str, list[Any]]:
        """The levels of each categorical factor of a sampled design."""
        return dict(self.manifest.get("choices") or {})

    def arm(self, name: str) -> SweepData:
        """One arm's runs as a sweep without arms (its own outcomes, not a contrast)."""
        if name not in self.arms:
            raise UserError(f"unknown arm '{name}': use one of {', '.join(self.arms) or '(none: no [compare] table)'}")
        frame = self.frame[self.frame["arm"] == name].drop(columns="arm").reset_index(drop=True)
        return SweepData(frame, {**self.manifest, "arms": [], "compare": {}})


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
    """n, mean, SD and t interval of each metric per group of ``keys`` (:func:`bondsim.contrast.interval_table`)."""
    return interval_table(frame, keys, metrics, conf)


def _keys(data: SweepData) -> list[str]:
    """What tells the groups of a summary apart: the point, its varied values, and the arm."""
    return ["point", *data.varied, *(["arm"] if data.arms else [])]


def summarize(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Mean, SD and a two-sided t confidence interval of each outcome per design point (and arm).

    Returns a long table: point, the varied values, (arm,) metric, n, mean, sd, ci_low, ci_high
    (the interval is NaN with fewer than two replicates, and NaN values are left out).
    """
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    return _grouped_stats(outcomes(data, window), _keys(data), metrics, conf)


def time_course(source: SweepData | str | Path, metrics: list[str] | None = None, conf: float = 0.95) -> pd.DataFrame:
    """Mean, SD and t confidence interval of each observable per design point (and arm) at every recorded step.

    Returns a long table: point, the varied values, (arm,) step, hours, day, metric, n, mean, sd, ci_low, ci_high.
    """
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    table = _grouped_stats(data.frame, [*_keys(data), "step", "hours"], metrics, conf)
    table.insert(table.columns.get_loc("hours") + 1, "day", table["hours"] / 24.0)
    return table


# ------------------------------------------------------------------------------ contrasts
def _compared(data: SweepData) -> None:
    if not data.arms:
        raise UserError("contrasts need a sweep with a [compare] table of two or more arms")


def _contrast_arm(data: SweepData, contrast: str | None) -> list[str]:
    """The arms whose contrast with the reference is asked for (all but the reference by default)."""
    others = data.arms[1:]
    if contrast is None:
        return others
    arm = contrast.split(" - ")[0].strip()
    if arm not in others:
        raise UserError(
            f"unknown contrast '{contrast}': use one of {', '.join(others)} "
            f"(each minus the reference, {data.reference})"
        )
    return [arm]


def _label_contrast(data: SweepData, arm: str) -> str:
    return f"{arm} - {data.reference}"


def _point_values(data: SweepData) -> pd.DataFrame:
    """The varied values of each design point (as the dataset records them), by point."""
    points = data.manifest.get("design_points") or []
    rows = [{"point": i, **{n: level_label(p.get(n)) for n in data.varied}} for i, p in enumerate(points)]
    return pd.DataFrame(rows, columns=["point", *data.varied])


def contrast_outcomes(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    window: tuple[float, float] | None = None,
    step: int | None = None,
) -> pd.DataFrame:
    """One row per arm (but the reference), design point and replicate: the arm's outcomes minus the reference's.

    The two runs of a row share their seed. ``step`` takes the outcomes at that recorded step instead
    of the final values (or the window means).

    Returns:
        arm, contrast (``"arm - reference"``), point, replicate, the varied values, and each metric's difference.
    """
    data = _data(source)
    _compared(data)
    metrics = list(_check_metrics(metrics, data))
    runs = outcomes(data, window) if step is None else data.frame[data.frame["step"] == step]
    diffs = paired_differences(runs, metrics, by="arm", reference=data.reference, keys=["point", "replicate"])
    diffs.insert(1, "contrast", [_label_contrast(data, a) for a in diffs["arm"]])
    values = _point_values(data)
    out = diffs.merge(values, on="point", how="left") if data.varied else diffs
    return out[["arm", "contrast", "point", "replicate", *data.varied, *metrics]]


def contrasts(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Each arm minus the reference per design point: the mean paired difference over replicates and its t interval.

    Returns a long table: arm, contrast, point, the varied values, metric, n (pairs), mean, sd,
    ci_low, ci_high, and variance_ratio: how many times more replicates two independent runs would
    need for the same interval (:func:`bondsim.contrast.variance_ratio`).
    """
    data = _data(source)
    _compared(data)
    metrics = _check_metrics(metrics, data)
    diffs = contrast_outcomes(data, list(metrics), window)
    table = _grouped_stats(diffs, ["arm", "contrast", "point", *data.varied], metrics, conf)
    ratios = pairing(data, list(metrics), window)[["arm", "point", "metric", "variance_ratio"]]
    return table.merge(ratios, on=["arm", "point", "metric"], how="left")


def contrast_course(
    source: SweepData | str | Path, metrics: list[str] | None = None, conf: float = 0.95
) -> pd.DataFrame:
    """Each arm minus the reference per design point at every recorded step, with t intervals over replicates.

    Returns a long table: arm, contrast, point, the varied values, step, hours, day, metric, n,
    mean, sd, ci_low, ci_high. Before the arms first differ (e.g. the first dose) every
    difference is exactly 0.
    """
    data = _data(source)
    _compared(data)
    metrics = list(_check_metrics(metrics, data))
    frame = data.frame
    diffs = paired_differences(frame, metrics, by="arm", reference=data.reference, keys=["point", "replicate", "step"])
    diffs.insert(1, "contrast", [_label_contrast(data, a) for a in diffs["arm"]])
    if data.varied:
        diffs = diffs.merge(_point_values(data), on="point", how="left")
    table = _grouped_stats(diffs, ["arm", "contrast", "point", *data.varied, "step"], tuple(metrics), conf)
    hours = frame[frame["arm"] == data.reference].groupby("step")["hours"].first()
    table.insert(table.columns.get_loc("step") + 1, "hours", table["step"].map(hours))
    table.insert(table.columns.get_loc("hours") + 1, "day", table["hours"] / 24.0)
    return table


def pairing(
    source: SweepData | str | Path, metrics: list[str] | None = None, window: tuple[float, float] | None = None
) -> pd.DataFrame:
    """What the common seeds saved, per arm, design point and metric: ``(Var(arm) + Var(ref)) / Var(arm - ref)``.

    The variances are over replicates of the outcomes; the ratio is the factor by which two
    independent runs per replicate would need more replicates for the same interval (NaN with
    fewer than two replicates or a zero paired variance).
    """
    data = _data(source)
    _compared(data)
    metrics = list(_check_metrics(metrics, data))
    runs = outcomes(data, window)
    return variance_ratio(
        runs, metrics, by="arm", reference=data.reference, pair=["point", "replicate"], group=["point"]
    )


def divergence(source: SweepData | str | Path) -> pd.DataFrame:
    """When each arm first differs from the reference run with the same seed: the check of common random numbers.

    Returns one row per arm: pairs (compared), identical_pairs (identical at every recorded step),
    first_hours (the earliest recorded time, over pairs, at which any observable differs; NaN if never)
    and last_same_hours (the latest recorded time before it at which every pair is still identical).
    """
    data = _data(source)
    _compared(data)
    metrics = list(data.metrics)
    frame = data.frame
    diffs = paired_differences(frame, metrics, by="arm", reference=data.reference, keys=["point", "replicate", "step"])
    values = diffs[metrics].to_numpy(dtype=float)
    differs = ~((values == 0) | (np.isnan(values) & np.isnan(values))).all(axis=1)
    hours = frame[frame["arm"] == data.reference].groupby("step")["hours"].first()
    diffs["hours"] = diffs["step"].map(hours)
    rows = []
    for arm in data.arms[1:]:
        mine = diffs["arm"] == arm
        pairs = diffs[mine].groupby(["point", "replicate"]).ngroups
        split = diffs[mine & differs]
        first = float(split["hours"].min()) if len(split) else float("nan")
        same = diffs[mine & ~differs]["hours"]
        before = same[same < first] if np.isfinite(first) else same
        rows.append(
            {
                "arm": arm,
                "contrast": _label_contrast(data, arm),
                "pairs": pairs,
                "identical_pairs": pairs - split.groupby(["point", "replicate"]).ngroups,
                "first_hours": first,
                "last_same_hours": float(before.max()) if len(before) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["arm", "contrast", "pairs", "identical_pairs", "first_hours", "last_same_hours"])


def levels(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    window: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Outcomes by level of each categorical factor (``{ choices = [...] }``), over every run with that level.

    In a sweep with arms, the outcome is each contrast (arm minus reference, per pair of runs).

    Returns a long table: factor, level, (arm, contrast,) metric, n, mean, sd, ci_low, ci_high.
    """
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    if not data.choices:
        raise UserError("levels need a categorical factor: name = { choices = [...] } in [vary] of a sampled design")
    runs = contrast_outcomes(data, list(metrics), window) if data.arms else outcomes(data, window)
    parts = []
    for factor, choices in data.choices.items():
        order = {level_label(c): i for i, c in enumerate(choices)}
        frame = runs.assign(factor=factor, level=runs[factor].map(level_label))
        keys = ["factor", "level", *(["arm", "contrast"] if data.arms else [])]
        table = _grouped_stats(frame, keys, metrics, conf)
        table["_order"] = table["level"].map(order)
        parts.append(table.sort_values(["_order", *keys[2:]], kind="stable").drop(columns="_order"))
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------- sensitivity
def _means_by_point(
    data: SweepData,
    runs: pd.DataFrame,
    metrics: tuple[str, ...],
    what: str,
    arm: str | None,
    complete: bool = True,
) -> pd.DataFrame | None:
    """Per design point, the mean outcome (or contrast) over replicates; every point must have one.

    ``runs`` holds each run's outcomes. With ``arm`` (a sweep with arms) the outcome is the arm's
    minus the reference's, pair by pair. Returns None if a point has none and not ``complete``.
    """
    if arm is not None:
        runs = paired_differences(
            runs, list(metrics), by="arm", reference=data.reference, keys=["point", "replicate"], arms=[arm]
        )
    means = runs.groupby("point")[list(metrics)].mean().sort_index()
    total = int(data.manifest["points"])
    if len(means) < total:
        if not complete:
            return None
        raise UserError(
            f"{what} need every design point: {total - len(means)} of {total} have no finished run "
            f"(see failures.csv; bondsim sweep --resume retries them)"
        )
    return means


def _point_means(data: SweepData, metrics: tuple[str, ...], window: tuple[float, float] | None, what: str):
    """Per design point, the mean outcome over replicates; every point must have one."""
    return _means_by_point(data, outcomes(data, window), metrics, what, None)


def _spec_of(data: SweepData):
    from .spec import parse_spec

    return parse_spec(data.manifest["spec"], seed=int(data.manifest["seeds"]["master"]))


def _outcome_runs(data: SweepData, window: tuple[float, float] | None, step: int | None) -> pd.DataFrame:
    if step is None:
        return outcomes(data, window)
    if window is not None:
        raise UserError("give either a window or a step, not both")
    runs = data.frame[data.frame["step"] == step]
    if runs.empty:
        raise UserError(f"no run recorded step {step}")
    return runs


def _targets(data: SweepData, contrast: str | None) -> list[str | None]:
    """What the indices are of: each contrast's arm in a sweep with arms, else the outcome (None)."""
    return _contrast_arm(data, contrast) if data.arms else [None]


def _with_contrast(data: SweepData, table: pd.DataFrame, arm: str | None) -> pd.DataFrame:
    if arm is not None:
        table.insert(0, "contrast", _label_contrast(data, arm))
    return table


def _sobol_problem(data: SweepData) -> dict[str, Any]:
    names = data.varied
    return {"num_vars": len(names), "names": names, "bounds": [data.manifest["bounds"][n] for n in names]}


def _points_per_sample(data: SweepData) -> int:
    d = len(data.varied)
    return 2 * d + 2 if data.manifest.get("second_order") else d + 2


def _sobol_rows(
    data: SweepData,
    means: pd.DataFrame,
    metrics: tuple[str, ...],
    conf: float,
    resamples: int,
    samples: int | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """First/total-order rows, second-order rows and one row of sums per metric, from the point means."""
    manifest = data.manifest
    n = int(manifest.get("samples") or 0) if samples is None else samples
    names = data.varied
    return saltelli_rows(
        names,
        {name: tuple(manifest["bounds"][name]) for name in names},
        means[list(metrics)].iloc[: n * _points_per_sample(data)],
        conf=conf,
        resamples=resamples,
        seed=int(manifest["seeds"]["master"]),
        sampled_second=bool(manifest.get("second_order")),
        samples=n,
    )


def saltelli_rows(
    names: list[str],
    bounds: dict[str, tuple[float, float]],
    means: pd.DataFrame,
    *,
    conf: float,
    resamples: int,
    seed: int,
    sampled_second: bool,
    samples: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Sobol indices of each column of ``means`` (one row per point of a Saltelli design, in its order).

    Returns first/total-order rows (with the S1_wide, ST_wide and S1_above_ST flags), second-order
    rows (if the design sampled them) and one row of sums per output; an output that is NaN
    somewhere, or constant, is left out. ``seed`` seeds the bootstrap.
    """
    from SALib.analyze import sobol
    from scipy.stats import norm

    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}
    rows, pairs, sums = [], [], []
    z = norm.ppf(0.5 + conf / 2)
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
            keep_resamples=True,
        )
        for i, name in enumerate(names):
            s1, c1, st, ct = (float(s[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
            rows.append(
                {
                    "metric": metric,
                    "parameter": name,
                    "S1": s1,
                    "S1_conf": c1,
                    "ST": st,
                    "ST_conf": ct,
                    "S1_wide": bool(2 * c1 > abs(s1)),
                    "ST_wide": bool(2 * ct > abs(st)),
                    "S1_above_ST": bool(s1 - c1 > st + ct),
                }
            )
        resampled = np.asarray(s["S1_conf_all"], dtype=float).sum(axis=1)
        sums.append(
            {
                "metric": metric,
                "N": samples,
                "sum_S1": float(np.sum(s["S1"])),
                "sum_S1_conf": float(z * resampled.std(ddof=1)),
                "sum_ST": float(np.sum(s["ST"])),
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
    return rows, pairs, sums


SOBOL_COLUMNS = ["metric", "parameter", "S1", "S1_conf", "ST", "ST_conf", "S1_wide", "ST_wide", "S1_above_ST"]
SECOND_COLUMNS = ["metric", "parameter_a", "parameter_b", "S2", "S2_conf", "S2_wide"]


def _sobol_data(source: SweepData | str | Path, metrics, second_order: bool) -> tuple[SweepData, tuple[str, ...]]:
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    if data.design != "sobol":
        raise UserError(f"Sobol indices need a sobol design; this sweep has a {data.design} design")
    if second_order and not data.manifest.get("second_order"):
        raise UserError("second-order Sobol indices need a sobol design with second_order = true")
    return data, metrics


def sobol_indices(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    window: tuple[float, float] | None = None,
    second_order: bool = False,
    *,
    contrast: str | None = None,
    step: int | None = None,
    samples: int | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """First- and total-order Sobol indices of a ``sobol`` sweep, with bootstrap confidence intervals.

    The model output of a design point is its mean outcome over replicates; in a sweep with arms,
    the mean of a contrast (an arm minus the reference, pair by pair). Every design point needs a
    result (resume the sweep first if some failed); an observable that is NaN at some point, or
    constant, is left out. ``S1_wide`` and ``ST_wide`` flag indices whose confidence interval
    (twice the half-width) is wider than the index itself: too few samples to tell it from
    noise; ``S1_above_ST`` flags a first-order index above the total-order one beyond both
    intervals, which cannot hold in the model (sampling error; :func:`sobol_diagnostics` says
    what N would settle them).

    Args:
        source: the sweep.
        metrics: observables (default all).
        conf: confidence level of the bootstrap intervals.
        resamples: bootstrap resamples.
        window: ``(start_day, end_day)`` to use window means instead of final values.
        second_order: also return the second-order indices (the design must have sampled them).
        contrast: in a sweep with arms, the arm whose difference from the reference is analysed
            (default every arm but the reference; a column ``contrast`` says which).
        step: the indices of the outcomes at this recorded step (see :func:`sobol_over_time`).
        samples: use only the first ``samples`` base samples of the design (a power of 2 up to its N).

    Returns:
        One row per metric and parameter: S1, S1_conf, ST, ST_conf (half-widths), S1_wide, ST_wide,
        S1_above_ST; with ``second_order``, also a table of metric, parameter_a, parameter_b, S2,
        S2_conf, S2_wide.
    """
    data, metrics = _sobol_data(source, metrics, second_order)
    runs = _outcome_runs(data, window, step)
    firsts, seconds = [], []
    for arm in _targets(data, contrast):
        means = _means_by_point(data, runs, metrics, "Sobol indices", arm)
        rows, pairs, _ = _sobol_rows(data, means, metrics, conf, resamples, samples)
        firsts.append(_with_contrast(data, pd.DataFrame(rows, columns=SOBOL_COLUMNS), arm))
        seconds.append(_with_contrast(data, pd.DataFrame(pairs, columns=SECOND_COLUMNS), arm))
    first = pd.concat(firsts, ignore_index=True)
    if not second_order:
        return first
    return first, pd.concat(seconds, ignore_index=True)


def _settle(n: int, s: float, c: float, power_of_two: bool) -> int:
    """The base sample size at which an index's half-width would settle it (intervals shrink as 1/sqrt(N))."""
    target = max(abs(s) / 2, SETTLED_HALF_WIDTH)
    if not (np.isfinite(c) and c > target):
        return n
    need = math.ceil(n * (c / target) ** 2)
    return 1 << (need - 1).bit_length() if power_of_two else need


def sobol_diagnostics(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    window: tuple[float, float] | None = None,
    *,
    contrast: str | None = None,
) -> pd.DataFrame:
    """Per metric (and contrast): the sum of the first-order indices, the unsettled ones, the N that would settle them.

    ``sum_S1`` is the share of the output's variance that the parameters explain alone (1 for an
    additive model; 1 - sum_S1 is the share of interactions); its interval comes from the same
    bootstrap resamples as the indices'. Above 1 beyond its interval, it is sampling error.
    ``wide`` counts indices whose interval is wider than the index, ``S1_above_ST`` parameters
    whose S1 exceeds ST beyond both intervals; ``N_to_settle`` is the base sample size at which
    every index's half-width would be at most half the index or ``SETTLED_HALF_WIDTH``, whichever
    is larger, if it shrinks as 1/sqrt(N) from the observed one (rounded up to a power of 2; ``N``
    when all are settled).
    """
    data, metrics = _sobol_data(source, metrics, False)
    runs = outcomes(data, window)
    parts = []
    for arm in _targets(data, contrast):
        means = _means_by_point(data, runs, metrics, "Sobol indices", arm)
        rows, _, sums = _sobol_rows(data, means, metrics, conf, resamples)
        table = pd.DataFrame(sums, columns=["metric", "N", "sum_S1", "sum_S1_conf", "sum_ST"])
        first = pd.DataFrame(rows, columns=SOBOL_COLUMNS)
        wide, above, settle = [], [], []
        for metric, n in zip(table["metric"], table["N"], strict=True):
            part = first[first["metric"] == metric]
            wide.append(int(part["S1_wide"].sum() + part["ST_wide"].sum()))
            above.append(int(part["S1_above_ST"].sum()))
            needs = [_settle(int(n), r.S1, r.S1_conf, True) for r in part.itertuples()]
            needs += [_settle(int(n), r.ST, r.ST_conf, True) for r in part.itertuples()]
            settle.append(max(needs, default=int(n)))
        table["wide"], table["S1_above_ST"], table["N_to_settle"] = wide, above, settle
        parts.append(_with_contrast(data, table, arm))
    return pd.concat(parts, ignore_index=True)


def _common_steps(data: SweepData) -> list[int]:
    """The recorded steps of the sweep, in order."""
    return sorted(int(s) for s in data.frame["step"].unique())


def sobol_over_time(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    *,
    contrast: str | None = None,
) -> pd.DataFrame:
    """First- and total-order Sobol indices at every recorded step (of each contrast, in a sweep with arms).

    A step at which some design point has no run (e.g. runs that a stop condition ended earlier)
    is left out. Returns a long table: (contrast,) step, hours, day, metric, parameter, S1, S1_conf,
    ST, ST_conf.
    """
    data, metrics = _sobol_data(source, metrics, False)
    frame = data.frame
    hours = frame.groupby("step")["hours"].first()
    parts = []
    for arm in _targets(data, contrast):
        for step in _common_steps(data):
            means = _means_by_point(data, frame[frame["step"] == step], metrics, "Sobol indices", arm, complete=False)
            if means is None:
                continue
            rows, _, _ = _sobol_rows(data, means, metrics, conf, resamples)
            if not rows:  # every observable constant (e.g. before the arms first differ)
                continue
            table = pd.DataFrame(rows, columns=SOBOL_COLUMNS).drop(columns=["S1_wide", "ST_wide", "S1_above_ST"])
            table.insert(0, "day", float(hours[step]) / 24.0)
            table.insert(0, "hours", float(hours[step]))
            table.insert(0, "step", step)
            parts.append(_with_contrast(data, table, arm))
    columns = ["step", "hours", "day", "metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def sobol_convergence(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    window: tuple[float, float] | None = None,
    *,
    contrast: str | None = None,
    sizes: list[int] | None = None,
) -> pd.DataFrame:
    """The indices against the base sample size N: those of the design's first N samples, N = 8, 16, ... up to its own.

    The first N base samples of a scrambled Sobol' sequence are a design of their own, so this is
    what a sweep of that size would have given: indices that still move as N doubles are not
    settled. Returns a long table: (contrast,) N, metric, parameter, S1, S1_conf, ST, ST_conf.
    """
    data, metrics = _sobol_data(source, metrics, False)
    full = int(data.manifest["samples"])
    sizes = sizes or [n for n in (1 << k for k in range(3, 31)) if n < full] + [full]
    runs = outcomes(data, window)
    parts = []
    for arm in _targets(data, contrast):
        means = _means_by_point(data, runs, metrics, "Sobol indices", arm)
        for n in sizes:
            rows, _, _ = _sobol_rows(data, means, metrics, conf, resamples, n)
            if not rows:
                continue
            table = pd.DataFrame(rows, columns=SOBOL_COLUMNS).drop(columns=["S1_wide", "ST_wide", "S1_above_ST"])
            table.insert(0, "N", n)
            parts.append(_with_contrast(data, table, arm))
    columns = ["N", "metric", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


MORRIS_COLUMNS = ["metric", "parameter", "mu", "mu_star", "sigma", "mu_star_conf", "mu_star_wide"]


def _morris_rows(
    spec, x, means: pd.DataFrame, metrics: tuple[str, ...], conf: float, resamples: int, skip_constant: bool = False
) -> list[dict]:
    """mu, mu*, sigma and mu*'s interval per metric and parameter (``skip_constant``: not of constant outputs)."""
    from SALib.analyze import morris

    rows = []
    for metric in metrics:
        y = means[metric].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or (skip_constant and np.ptp(y) == 0):
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
            mu_star, half = float(s["mu_star"][i]), float(s["mu_star_conf"][i])
            rows.append(
                {
                    "metric": metric,
                    "parameter": name,
                    "mu": float(s["mu"][i]),
                    "mu_star": mu_star,
                    "sigma": float(s["sigma"][i]),
                    "mu_star_conf": half,
                    "mu_star_wide": bool(2 * half > abs(mu_star)),
                }
            )
    return rows


def _morris_data(source, metrics) -> tuple[SweepData, tuple[str, ...]]:
    data = _data(source)
    metrics = _check_metrics(metrics, data)
    if data.design != "morris":
        raise UserError(f"Morris indices need a morris design; this sweep has a {data.design} design")
    return data, metrics


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
    (:func:`bondsim.sweep.designs.sobol_matrix`). Returns what :func:`sobol_indices` returns.
    """
    d = len(names)
    samples = len(means) // (2 * d + 2 if sampled_second else d + 2)
    rows, pairs, _ = saltelli_rows(
        names, bounds, means, conf=conf, resamples=resamples, seed=seed, sampled_second=sampled_second, samples=samples
    )
    first = pd.DataFrame(rows, columns=SOBOL_COLUMNS)
    return (first, pd.DataFrame(pairs, columns=SECOND_COLUMNS)) if second_order else first


def morris_indices(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    window: tuple[float, float] | None = None,
    *,
    contrast: str | None = None,
    step: int | None = None,
) -> pd.DataFrame:
    """Morris elementary-effects statistics of a ``morris`` sweep (SALib ``morris.analyze``).

    The model output of a design point is its mean outcome over replicates (in a sweep with arms,
    the mean of a contrast); the design's sample matrix is rebuilt from the spec in the manifest
    (before integer rounding; a categorical factor on ``[0, k]``).

    Returns:
        One row per metric and parameter: mu, mu_star, sigma, mu_star_conf (half-width of mu*'s
        bootstrap interval) and mu_star_wide (that interval wider than mu*); in a sweep with arms, a
        column ``contrast`` first.
    """
    data, metrics = _morris_data(source, metrics)
    spec = _spec_of(data)
    x = spec.matrix()
    runs = _outcome_runs(data, window, step)
    parts = []
    for arm in _targets(data, contrast):
        means = _means_by_point(data, runs, metrics, "Morris indices", arm)
        table = pd.DataFrame(_morris_rows(spec, x, means, metrics, conf, resamples), columns=MORRIS_COLUMNS)
        parts.append(_with_contrast(data, table, arm))
    return pd.concat(parts, ignore_index=True)


def morris_over_time(
    source: SweepData | str | Path,
    metrics: list[str] | None = None,
    conf: float = 0.95,
    resamples: int = 1000,
    *,
    contrast: str | None = None,
) -> pd.DataFrame:
    """Morris mu, mu* and sigma at every recorded step (of each contrast, in a sweep with arms).

    An observable equal at every design point at a step (a contrast before the arms differ) has no
    elementary effects there and is left out, as :func:`sobol_over_time` leaves it out.

    Returns a long table: (contrast,) step, hours, day, metric, parameter, mu, mu_star, sigma, mu_star_conf.
    """
    data, metrics = _morris_data(source, metrics)
    spec = _spec_of(data)
    x = spec.matrix()
    frame = data.frame
    hours = frame.groupby("step")["hours"].first()
    parts = []
    for arm in _targets(data, contrast):
        for step in _common_steps(data):
            means = _means_by_point(data, frame[frame["step"] == step], metrics, "Morris indices", arm, complete=False)
            if means is None:
                continue
            rows = _morris_rows(spec, x, means, metrics, conf, resamples, skip_constant=True)
            if not rows:  # every observable constant (e.g. before the arms first differ)
                continue
            table = pd.DataFrame(rows, columns=MORRIS_COLUMNS).drop(columns="mu_star_wide")
            table.insert(0, "day", float(hours[step]) / 24.0)
            table.insert(0, "hours", float(hours[step]))
            table.insert(0, "step", step)
            parts.append(_with_contrast(data, table, arm))
    columns = ["step", "hours", "day", "metric", "parameter", "mu", "mu_star", "sigma", "mu_star_conf"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


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
    skip = {*ARM_ID_COLUMNS, "step", "hours", "stopped", "steps_in_window", "contrast"}
    numeric = finals.select_dtypes(include="number").columns
    return [c for c in finals.columns if c in numeric and c not in skip and finals[c].nunique() > 0][-4:]


def _shown(metrics: list[str] | tuple[str, ...]) -> list[str]:
    """The metrics of a figure of indices: the usual four among ``metrics``, else the first four."""
    return [m for m in PLOT_METRICS if m in metrics] or list(dict.fromkeys(metrics))[:4]


def plot_response(
    finals: pd.DataFrame,
    name: str,
    design: str,
    path: Path,
    conf: float = 0.95,
    *,
    categorical: bool | None = None,
    what: str = "end-of-run",
) -> None:
    """Observables at the end of the runs against one varied parameter (others averaged over).

    A sampled design shows every run and a binned mean; a grid, a list or a categorical factor
    (``categorical``, default: a non-numeric column) the mean of each level with its t interval.
    ``what`` names the outcome in the title (e.g. a contrast).
    """
    from scipy import stats

    shown = _plotted(finals)
    fig, axes = _figure(1, len(shown), (3.2 * len(shown), 3.2))
    if categorical is None:
        categorical = not pd.api.types.is_numeric_dtype(finals[name])
    scatter = design in ("lhs", "sobol") and not categorical
    for ax, metric in zip(axes, shown, strict=True):
        if scatter:
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
            g = finals.groupby(name, sort=not categorical)[metric]
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            half = stats.t.ppf(0.5 + conf / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            xs = np.arange(len(mean)) if categorical else mean.index.to_numpy(dtype=float)
            ax.errorbar(xs, mean.to_numpy(), yerr=half.to_numpy(), marker="o", capsize=3, color="tab:blue")
            if categorical:
                ax.set_xticks(xs, [_wrap(v) for v in mean.index], fontsize=7)
        ax.set_xlabel(_label(name))
        ax.set_ylabel(_label(metric))
        ax.axhline(0, color="grey", lw=0.6) if what != "end-of-run" else None
    fig.suptitle(
        f"{_label(name)}: {what} means with {conf:.0%} CI" if not scatter else f"{_label(name)}: {what} values",
        fontsize=10,
    )
    save_figure(fig, path)


def _wrap(value: Any, width: int = 18) -> str:
    """A level as a tick label: numbers short, a mechanism list by its last module names."""
    text = _short(value)
    if ", " in text:
        text = "\n".join(part.rsplit(".", 1)[-1] for part in text.split(", "))
    return text if len(text) <= width or "\n" in text else text[: width - 1] + "…"


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


def plot_sobol(indices: pd.DataFrame, path: Path, title: str | None = None) -> None:
    """First- and total-order indices with their confidence intervals, one panel per observable."""
    metrics = _shown(list(indices["metric"]))
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
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def plot_time_course(course: pd.DataFrame, varied: list[str], path: Path, title: str | None = None) -> None:
    """Mean time course of each design point (and arm) with its confidence band, one panel per observable.

    With more than ``MAX_LINES`` lines, the lines are thin and without bands.
    """
    metrics = _shown(list(dict.fromkeys(course["metric"])))
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.3))
    by = ["point", "arm"] if "arm" in course.columns else ["point"]
    lines = [key for key, _ in course.groupby(by, sort=True)]
    few = len(lines) <= MAX_LINES
    colors = [f"C{i % 10}" for i in range(len(lines))]
    for ax, metric in zip(axes, metrics, strict=True):
        part = course[course["metric"] == metric]
        for key, color in zip(lines, colors, strict=True):
            key = key if isinstance(key, tuple) else (key,)
            line = part[np.logical_and.reduce([part[k] == v for k, v in zip(by, key, strict=True)])]
            if line.empty:
                continue
            names = [f"{_label(n)} {_short(line[n].iloc[0])}" for n in varied] + [str(v) for v in key[1:]]
            ax.plot(
                line["day"], line["mean"], color=color, lw=1.4 if few else 0.6, label=", ".join(names) if few else None
            )
            if few:
                ax.fill_between(line["day"], line["ci_low"], line["ci_high"], color=color, alpha=0.2, lw=0)
        ax.set_xlabel("day")
        ax.set_title(_label(metric), fontsize=9)
        if "contrast" in course.columns:
            ax.axhline(0, color="grey", lw=0.6)
    if few and any(ax.get_legend_handles_labels()[0] for ax in axes):
        axes[-1].legend(frameon=False, fontsize=6, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def _over_time(
    table: pd.DataFrame,
    path: Path,
    value: str,
    band: str | None,
    ylabel: str,
    title: str,
    dashed: str | None = None,
) -> None:
    """One panel per observable: ``value`` of each parameter against the day (with its band; ``dashed`` beside it)."""
    metrics = _shown(list(dict.fromkeys(table["metric"])))
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.3))
    parameters = list(dict.fromkeys(table["parameter"]))
    for ax, metric in zip(axes, metrics, strict=True):
        part = table[table["metric"] == metric]
        for i, name in enumerate(parameters):
            line = part[part["parameter"] == name].sort_values("day")
            color = f"C{i % 10}"
            ax.plot(line["day"], line[value], color=color, lw=1.4, label=_label(name))
            if band is not None:
                low, high = line[value] - line[band], line[value] + line[band]
                ax.fill_between(line["day"], low, high, color=color, alpha=0.15, lw=0)
            if dashed is not None:
                ax.plot(line["day"], line[dashed], color=color, lw=1.0, ls="--")
        ax.set_xlabel("day")
        ax.set_title(_label(metric), fontsize=9)
        ax.axhline(0, color="grey", lw=0.6)
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(frameon=False, fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def plot_sobol_time(table: pd.DataFrame, path: Path, title: str = "Sobol indices over time") -> None:
    """Total-order indices (lines, with their intervals) and first-order ones (dashed) against the day."""
    _over_time(table, path, "ST", "ST_conf", "ST (solid, with CI), S1 (dashed)", title, dashed="S1")


def plot_sobol_convergence(table: pd.DataFrame, path: Path, title: str = "Sobol indices against N") -> None:
    """First- and total-order indices of each parameter against the base sample size N (log scale)."""
    metrics = _shown(list(dict.fromkeys(table["metric"])))
    fig, axes = _figure(2, len(metrics), (3.4 * len(metrics), 5.6))
    parameters = list(dict.fromkeys(table["parameter"]))
    for col, metric in enumerate(metrics):
        part = table[table["metric"] == metric]
        for row, (index, half) in enumerate((("S1", "S1_conf"), ("ST", "ST_conf"))):
            ax = axes[row * len(metrics) + col]
            for i, name in enumerate(parameters):
                line = part[part["parameter"] == name].sort_values("N")
                ax.errorbar(
                    line["N"] * (1 + 0.04 * (i - len(parameters) / 2)),
                    line[index],
                    yerr=line[half],
                    marker="o",
                    ms=3,
                    capsize=2,
                    color=f"C{i % 10}",
                    label=_label(name),
                )
            ax.set_xscale("log", base=2)
            ax.axhline(0, color="grey", lw=0.6)
            ax.set_title(f"{_label(metric)}: {index}", fontsize=9)
            if row == 1:
                ax.set_xlabel("base sample size N")
    axes[0].legend(frameon=False, fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def plot_morris(indices: pd.DataFrame, path: Path, title: str | None = None) -> None:
    """mu* against sigma of each parameter, one panel per observable (Campolongo et al. 2007)."""
    metrics = _shown(list(indices["metric"]))
    fig, axes = _figure(1, len(metrics), (3.4 * len(metrics), 3.4))
    for ax, metric in zip(axes, metrics, strict=True):
        part = indices[indices["metric"] == metric]
        ax.errorbar(part["mu_star"], part["sigma"], xerr=part["mu_star_conf"], fmt="o", capsize=3)
        for _, row in part.iterrows():
            ax.annotate(_label(row["parameter"]), (row["mu_star"], row["sigma"]), fontsize=7)
        ax.set_xlabel("mu*")
        ax.set_title(_label(metric), fontsize=9)
    axes[0].set_ylabel("sigma")
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def plot_morris_time(table: pd.DataFrame, path: Path, title: str = "Morris mu* over time") -> None:
    """mu* of each parameter against the day, with its interval, one panel per observable."""
    _over_time(table, path, "mu_star", "mu_star_conf", "mu*", title)


def _short(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


# ------------------------------------------------------------------------------ the whole
def _power_of_two_above(n: int) -> int:
    return 1 << max(0, (int(n) - 1).bit_length())


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
    written: list[str] = []
    notes: list[str] = []
    warnings: list[str] = []
    extra: dict[str, Any] = {}
    several_steps = data.frame["step"].nunique() > 1
    shown = _shown(metrics)  # the observables of the figures, and of the indices over time and against N
    what = "end-of-run" if window is None else f"days {window[0]:g}-{window[1]:g}"
    arms = data.arms[1:]

    def suffix(arm: str | None) -> str:
        return "" if arm is None else f"_{arm}"

    def title(arm: str | None, text: str) -> str:
        return text if arm is None else f"{text}: {_label_contrast(data, arm)}"

    with output_directory(out, overwrite=overwrite) as tmp:

        def save(frame: pd.DataFrame, name: str) -> None:
            frame.to_csv(tmp / name, index=False)
            written.append(name)

        save(final_values(data), "final.csv")
        save(summary, "summary.csv")
        if window is not None:
            save(runs, "window.csv")
        save(course, "timecourse.csv")
        if several_steps:
            plot_time_course(course, varied, tmp / "timecourse.png")
            written.append("timecourse.png")

        # --------------------------------------------------------------- arms: contrasts
        if arms:
            table = contrasts(data, metrics, conf, window)
            save(table, "contrast.csv")
            paired = contrast_outcomes(data, metrics, window)
            cc = contrast_course(data, metrics, conf)
            save(cc, "contrast_course.csv")
            if several_steps:
                for arm in arms:
                    part = cc[cc["arm"] == arm]
                    plot_time_course(part, varied, tmp / f"contrast_{arm}.png", title(arm, "difference over time"))
                    written.append(f"contrast_{arm}.png")
            ratios = table.groupby(["arm", "metric"])["variance_ratio"].median()
            extra["pairing"] = {
                _label_contrast(data, arm): {m: _finite(ratios.get((arm, m))) for m in shown} for arm in arms
            }
            for arm in arms:
                shown_ratios = [
                    f"{m} {ratios[(arm, m)]:.3g}x"
                    for m in shown
                    if (arm, m) in ratios and np.isfinite(ratios[(arm, m)])
                ]
                if shown_ratios:
                    notes.append(
                        f"{_label_contrast(data, arm)}: pairing by seed divides the variance of the difference by "
                        f"{', '.join(shown_ratios)} (median over points; independent runs would need that many "
                        f"times the replicates; column variance_ratio of contrast.csv)"
                    )
            split = divergence(data)
            extra["divergence"] = split.to_dict(orient="records")
            for row in split.itertuples():
                if np.isfinite(row.first_hours):
                    same = (
                        ""
                        if not np.isfinite(row.last_same_hours)
                        else f"identical up to hour {row.last_same_hours:g}, "
                    )
                    notes.append(
                        f"{row.contrast}: the runs of a pair are {same}first differ at hour {row.first_hours:g} "
                        f"(recorded times)"
                    )
                else:
                    notes.append(f"{row.contrast}: identical in all {row.pairs} pairs at every recorded time")
        else:
            paired = None

        # ---------------------------------------------------------------- responses
        responses = [(None, runs)] if not arms else [(arm, paired[paired["arm"] == arm]) for arm in arms]
        for arm, frame in responses:
            label = what if arm is None else f"{_label_contrast(data, arm)}, {what}"
            for name in varied:
                if frame[name].nunique() > 1:
                    plot_response(
                        frame, name, design, tmp / f"response_{name}{suffix(arm)}.png", conf,
                        categorical=name in data.choices or None, what=label,
                    )  # fmt: skip
                    written.append(f"response_{name}{suffix(arm)}.png")
            if design in ("grid", "list"):
                for a, b in itertools.combinations(varied, 2):
                    if frame[a].nunique() > 1 and frame[b].nunique() > 1:
                        plot_heatmap(frame, a, b, tmp / f"heatmap_{a}_{b}{suffix(arm)}.png")
                        written.append(f"heatmap_{a}_{b}{suffix(arm)}.png")
        if data.choices:
            save(levels(data, metrics, conf, window), "levels.csv")

        # ---------------------------------------------------------------- Sobol
        if design == "sobol":
            try:
                if data.manifest.get("second_order"):
                    first, second = sobol_indices(data, metrics, conf, window=window, second_order=True)
                else:
                    first, second = sobol_indices(data, metrics, conf, window=window), None
                sums = sobol_diagnostics(data, metrics, conf, window=window)
            except UserError as exc:
                notes.append(str(exc))
            else:
                save(first, "sobol.csv")
                if second is not None:
                    save(second, "sobol_second_order.csv")
                save(sums, "sobol_diagnostics.csv")
                for arm in arms or [None]:
                    part = first if arm is None else first[first["contrast"] == _label_contrast(data, arm)]
                    if not part.empty:
                        plot_sobol(part, tmp / f"sobol{suffix(arm)}.png", title(arm, "Sobol indices") if arm else None)
                        written.append(f"sobol{suffix(arm)}.png")
                warnings += _sobol_warnings(data, first, second, sums, conf, shown)
                extra["sobol_sums"] = [
                    {k: _finite(v) for k, v in row.items()} for row in sums.to_dict(orient="records")
                ]
                shown_sums = sums[sums["metric"].isin(shown)]
                for arm in arms or [None]:
                    part = (
                        shown_sums if arm is None else shown_sums[shown_sums["contrast"] == _label_contrast(data, arm)]
                    )
                    if not part.empty:
                        notes.append(
                            ("" if arm is None else f"{_label_contrast(data, arm)}: ")
                            + "sum of first-order Sobol indices (1 - sum is the share of interactions; "
                            "sobol_diagnostics.csv): "
                            + ", ".join(f"{r.metric} {r.sum_S1:.2f} ± {r.sum_S1_conf:.2f}" for r in part.itertuples())
                        )
                try:
                    convergence = sobol_convergence(data, shown, conf, window=window)
                except UserError as exc:
                    notes.append(str(exc))
                else:
                    save(convergence, "sobol_convergence.csv")
                    for arm in arms or [None]:
                        part = (
                            convergence
                            if arm is None
                            else convergence[convergence["contrast"] == _label_contrast(data, arm)]
                        )
                        if not part.empty and part["N"].nunique() > 1:
                            name = f"sobol_convergence{suffix(arm)}.png"
                            plot_sobol_convergence(part, tmp / name, title(arm, "Sobol indices against N"))
                            written.append(name)
                if several_steps:
                    over = sobol_over_time(data, shown, conf)
                    save(over, "sobol_time.csv")
                    for arm in arms or [None]:
                        part = over if arm is None else over[over["contrast"] == _label_contrast(data, arm)]
                        if part["step"].nunique() > 1:
                            plot_sobol_time(
                                part, tmp / f"sobol_time{suffix(arm)}.png", title(arm, "Sobol indices over time")
                            )
                            written.append(f"sobol_time{suffix(arm)}.png")

        # ---------------------------------------------------------------- Morris
        if design == "morris":
            try:
                indices = morris_indices(data, metrics, conf, window=window)
            except UserError as exc:
                notes.append(str(exc))
            else:
                save(indices, "morris.csv")
                for arm in arms or [None]:
                    part = indices if arm is None else indices[indices["contrast"] == _label_contrast(data, arm)]
                    if not part.empty:
                        plot_morris(
                            part, tmp / f"morris{suffix(arm)}.png", title(arm, "Morris screening") if arm else None
                        )
                        written.append(f"morris{suffix(arm)}.png")
                wide = int(indices["mu_star_wide"].sum())
                if wide:
                    n = int(data.manifest.get("samples") or 0)
                    need = max(
                        (_settle(n, r.mu_star, r.mu_star_conf, False) for r in indices.itertuples() if r.mu_star_wide),
                        default=n,
                    )
                    warnings.append(
                        f"{wide} of {len(indices)} Morris mu* have a {conf:.0%} interval wider than mu* "
                        f"(column mu_star_wide of morris.csv): increase samples (about {need} trajectories would "
                        f"narrow them; intervals shrink as 1/sqrt(N))"
                    )
                if several_steps:
                    over = morris_over_time(data, shown, conf)
                    save(over, "morris_time.csv")
                    for arm in arms or [None]:
                        part = over if arm is None else over[over["contrast"] == _label_contrast(data, arm)]
                        if part["step"].nunique() > 1:
                            plot_morris_time(
                                part, tmp / f"morris_time{suffix(arm)}.png", title(arm, "Morris mu* over time")
                            )
                            written.append(f"morris_time{suffix(arm)}.png")

        info = {
            "sweep": str(sweep_dir),
            "design": design,
            "varied": varied,
            "arms": data.arms,
            "runs_analyzed": len(runs),
            "runs_in_design": data.manifest["runs"],
            "outcome": "final values" if window is None else f"means over days {window[0]:g}-{window[1]:g}",
            "window_days": None if window is None else list(window),
            "confidence": conf,
            "written": written,
            "notes": notes,
            "warnings": warnings,
            **extra,
            "created": now(),
        }
        write_json(tmp / "analysis.json", info)
    info["out"] = str(out)
    return info


def _finite(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _sobol_warnings(
    data: SweepData,
    first: pd.DataFrame,
    second: pd.DataFrame | None,
    sums: pd.DataFrame,
    conf: float,
    shown: list[str],
) -> list[str]:
    """One line per kind of unsettled index (wide, S1 above ST, a sum of S1 above 1) with the N to settle it."""
    n = int(data.manifest.get("samples") or 0)
    main = sums[sums["metric"].isin(shown)] if sums["metric"].isin(shown).any() else sums
    need = _power_of_two_above(int(main["N_to_settle"].max())) if len(main) else n
    which = ", ".join(dict.fromkeys(main["metric"]))
    advice = (
        f"increase samples (about N = {need} would settle those of {which}, if the intervals shrink as "
        f"1/sqrt(N); each observable's N is in sobol_diagnostics.csv)"
    )
    out = []
    wide = int(first["S1_wide"].sum() + first["ST_wide"].sum())
    if second is not None:
        wide += int(second["S2_wide"].sum())
    if wide:
        total = 2 * len(first) + (0 if second is None else len(second))
        out.append(
            f"{wide} of {total} Sobol indices have a {conf:.0%} interval wider than the index "
            f"(columns *_wide of sobol.csv): {advice}"
        )
    above = first[first["S1_above_ST"]]
    if len(above):
        shown = ", ".join(
            (f"{r.contrast} " if "contrast" in above.columns else "")
            + f"{r.metric}/{r.parameter} S1 {r.S1:.2f} > ST {r.ST:.2f}"
            for r in above.head(3).itertuples()
        )
        more = f" and {len(above) - 3} more" if len(above) > 3 else ""
        out.append(
            f"{len(above)} first-order Sobol indices exceed their total-order index beyond both intervals "
            f"({shown}{more}; column S1_above_ST of sobol.csv), which cannot hold in the model: "
            f"sampling error; {advice}"
        )
    over = sums[sums["sum_S1"] - sums["sum_S1_conf"] > 1]
    if len(over):
        shown = ", ".join(f"{r.metric} {r.sum_S1:.2f} ± {r.sum_S1_conf:.2f}" for r in over.head(3).itertuples())
        out.append(
            f"the first-order Sobol indices sum above 1 beyond their interval for {len(over)} observables "
            f"({shown}; sobol_diagnostics.csv): sampling error; {advice}"
        )
    return out


__all__ = [
    "SweepData",
    "analyze",
    "contrast_course",
    "contrast_outcomes",
    "contrasts",
    "divergence",
    "final_values",
    "levels",
    "morris_indices",
    "morris_over_time",
    "outcomes",
    "pairing",
    "plot_heatmap",
    "plot_morris",
    "plot_morris_time",
    "plot_response",
    "plot_sobol",
    "plot_sobol_convergence",
    "plot_sobol_time",
    "plot_time_course",
    "sobol_convergence",
    "sobol_diagnostics",
    "sobol_indices",
    "sobol_over_time",
    "summarize",
    "time_course",
    "window_means",
]
