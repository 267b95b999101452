"""Treatment contrasts from paired runs: each arm minus the reference arm, run for run.

Two arms of a comparison (placebo and a drug, the default model and a variant) run with the same
seed share every random number until they differ: the same network, the same people, the same
draws step by step, so a placebo and a naltrexone arm give identical rows until the first dose.
Their difference then holds the treatment's effect and little of the noise that two independent
runs would add: these are *common random numbers*, the standard way to compare two simulated
treatments (Law, *Simulation Modeling and Analysis*, ch. 11). The variance of a paired
difference is ``Var(A) + Var(B) - 2 Cov(A, B)``; for independent runs the covariance term is
zero, so :func:`variance_ratio` (``(Var(A) + Var(B)) / Var(A - B)``) is the factor by which
pairing divides the replicates a given precision needs.

Sweeps with a ``[compare]`` table (:mod:`bondsim.sweep`) and the named experiments that compare a
drug with placebo on the same communities (``bondsim.experiments.chronic``,
``bondsim.experiments.state_dependence``, ``bondsim.experiments.separation_distress``)
compute their differences and intervals here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .stats import Z95


def paired_differences(
    frame: pd.DataFrame,
    measures: Sequence[str],
    *,
    by: str,
    reference: Any,
    keys: Sequence[str],
    arms: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Each arm minus the reference arm, row for row of the same key (same seed, same day).

    Args:
        frame: one row per arm and key.
        measures: the columns to difference.
        by: the column naming the arm.
        reference: the arm subtracted from the others.
        keys: the columns that pair a row of one arm with a row of the reference (e.g. replicate and
            day); each key must be unique within an arm.
        arms: the arms to compare (default every other arm, in order of appearance).

    Returns:
        One row per arm and key that both arms have: ``by``, the keys, then the differences.
    """
    keys, measures = list(keys), list(measures)
    ref = frame[frame[by] == reference].set_index(keys)[measures]
    chosen = [a for a in pd.unique(frame[by]) if a != reference] if arms is None else list(arms)
    parts = []
    for arm in chosen:
        on = frame[frame[by] == arm].set_index(keys)[measures]
        if on.index.equals(ref.index):
            diff = on - ref
        else:  # a run missing in one arm (a failure): only complete pairs
            common = on.index.intersection(ref.index, sort=False)
            diff = on.loc[common] - ref.loc[common]
        diff = diff.reset_index()
        diff.insert(0, by, arm)
        parts.append(diff)
    if not parts:
        return pd.DataFrame(columns=[by, *keys, *measures])
    return pd.concat(parts, ignore_index=True)


def normal_ci(x: Any) -> dict[str, float]:
    """Mean of replicate values with a normal 95% CI (1.96 SEM); NaN bounds with one value."""
    x = np.asarray(x, dtype=np.float64)
    sem = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    mean = float(x.mean())
    return {"mean": mean, "ci_low": mean - Z95 * sem, "ci_high": mean + Z95 * sem}


def mean_sem(x: Any) -> dict[str, float]:
    """Mean of replicate values and its standard error (NaN with one value)."""
    x = np.asarray(x, dtype=np.float64)
    sem = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return {"mean": float(x.mean()), "sem": sem}


def interval_table(frame: pd.DataFrame, keys: Sequence[str], measures: Sequence[str], conf: float) -> pd.DataFrame:
    """n, mean, SD and a two-sided t interval of each measure per group of ``keys``, as a long table.

    The interval is ``mean ± t(1 - α/2, n - 1) · SD / √n``; non-finite values are left out, and
    the interval is NaN with fewer than two values.
    """
    from scipy import stats

    keys, measures = list(keys), list(measures)
    values = frame[measures].astype(float).replace([np.inf, -np.inf], np.nan)
    long = pd.concat([frame[keys].reset_index(drop=True), values.reset_index(drop=True)], axis=1).melt(
        id_vars=keys, var_name="metric", value_name="value"
    )
    long["metric"] = pd.Categorical(long["metric"], categories=measures, ordered=True)
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


def variance_ratio(
    frame: pd.DataFrame,
    measures: Sequence[str],
    *,
    by: str,
    reference: Any,
    pair: Sequence[str],
    group: Sequence[str] = (),
) -> pd.DataFrame:
    """What pairing saves: ``(Var(arm) + Var(reference)) / Var(arm - reference)`` per group and measure.

    The numerator is the variance of the difference of two *independent* runs, the denominator
    that of the paired difference; their ratio is how many times more replicates independent runs
    would need for the same interval (NaN where a variance is zero or undefined).

    Args:
        frame: one row per arm and pair key.
        measures: the columns to compare.
        by: the column naming the arm.
        reference: the reference arm.
        pair: the columns that pair two runs (e.g. point and replicate), ``group`` included.
        group: the columns within which replicates are compared (e.g. the design point).

    Returns:
        One row per arm, group and measure: ``var_arm``, ``var_reference``, ``var_paired``,
        ``variance_ratio`` and ``pairs`` (the number of complete pairs).
    """
    group = list(group)
    diffs = paired_differences(frame, measures, by=by, reference=reference, keys=pair)
    ref = frame[frame[by] == reference]
    rows = []
    for arm, part in diffs.groupby(by, sort=False):
        on = frame[frame[by] == arm]
        for key, d in part.groupby(group, sort=True) if group else [((), part)]:
            key = key if isinstance(key, tuple) else (key,)
            select = np.ones(len(on), dtype=bool), np.ones(len(ref), dtype=bool)
            for name, value in zip(group, key, strict=True):
                select = select[0] & (on[name] == value).to_numpy(), select[1] & (ref[name] == value).to_numpy()
            for m in measures:
                var_arm = float(on.loc[select[0], m].astype(float).var(ddof=1))
                var_ref = float(ref.loc[select[1], m].astype(float).var(ddof=1))
                var_paired = float(d[m].astype(float).var(ddof=1))
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = (var_arm + var_ref) / var_paired if var_paired > 0 else float("nan")
                rows.append(
                    {
                        by: arm,
                        **dict(zip(group, key, strict=True)),
                        "metric": m,
                        "pairs": int(d[m].notna().sum()),
                        "var_arm": var_arm,
                        "var_reference": var_ref,
                        "var_paired": var_paired,
                        "variance_ratio": ratio,
                    }
                )
    columns = [by, *group, "metric", "pairs", "var_arm", "var_reference", "var_paired", "variance_ratio"]
    return pd.DataFrame(rows, columns=columns)


__all__ = ["interval_table", "mean_sem", "normal_ci", "paired_differences", "variance_ratio"]
