"""Sensitivity of the headline: Sobol indices of two virtual trials' effects over the assumed parameters.

Saltelli's scheme (SALib, :func:`bondsim.sweep.designs.sobol_matrix`) samples the parameters
named in ``ranges`` uniformly within their ranges: N (D + 2) points for D parameters. At every
point each output's trial design (from the trial library, ``bondsim.trials``) runs ``trials``
virtual trials, the same seeds at every point (common random numbers: the trial-to-trial noise
shared by all points drops out of the differences between them); a point's output is the mean
Hedges g of its trials. First- and total-order indices with bootstrap 95% CIs come from
:func:`bondsim.sweep.analysis.sobol_table`.

The noise left in a point's mean is estimated from the spread of its trials. With common seeds a
trial's g is mu(point) + c(seed) + d(point, seed): c moves every point alike and drops out of the
indices; only the interaction d is noise in them. ``noise_share`` is var(d) / trials (the two-way
residual mean square) as a share of the variance of the point means;
``noise_share_without_common_seeds`` is what the same spread would give with independent seeds
(the within-point variance / trials). All other
parameters keep their defaults (the calibrated model of ``bondsim params``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from ..batch import seed_for
from ..errors import UserError
from ..params import FIELDS, ParameterError, Params
from ..sweep.analysis import plot_sobol, sobol_table
from ..sweep.designs import sobol_matrix, to_points
from ..trials import design as trial_design
from ..trials.analysis import analyse
from ..trials.simulate import simulate
from .common import Context, Experiment, elapsed_since, parallel_map, write_table

DESIGN: dict[str, Any] = {
    "samples": 64,  # N of Saltelli's scheme, a power of 2: N (D + 2) points
    "trials": 3,  # virtual trials of each output's design per point (the same seeds at every point)
    "outputs": ["inagaki2016:daily_connection", "inagaki2019:close_connection"],  # design:measure, its Hedges g
    "ranges": {  # parameter = [low, high], sampled uniformly (reasons in experiments/sensitivity/README.md)
        "bond_capacity": [1.5, 6.0],
        "mean_degree": [4, 16],
        "reward_learning_rate": [0.05, 0.5],
        "bond_learning_rate": [0.2, 1.0],
        "reference_adaptation_days": [0.5, 4.0],
        "tone_distress_share": [0.0, 1.0],
        "opioid_share": [0.1, 0.9],
    },
    "resamples": 1000,  # bootstrap resamples of the indices' confidence intervals
}
PARAMS: dict[str, Any] = {"engine": "array"}
WIDE_ST = 0.05  # a parameter "carries" an output when its total index's 95% CI lies this far above the noise


def carriers(indices: dict[str, dict[str, float]], noise_share: float | None) -> list[str]:
    """The parameters that carry an output, largest total index first.

    Those whose total index's 95% CI lies above ``WIDE_ST`` plus the noise share: trial noise
    inflates every total index by about the noise share (Jansen's estimator reads the noise of
    two runs as interaction), while the first-order indices are unbiased by it.
    """
    floor = WIDE_ST + (noise_share or 0.0)
    ranked = sorted(indices.items(), key=lambda kv: -kv[1]["ST"])
    return [name for name, v in ranked if v["ST"] - v["ST_conf"] > floor]


def outputs_of(names: list[str]) -> list[tuple[str, trial_design.TrialDesign, str]]:
    """Each output ``design:measure`` as (label, the library design, the measure); UserError if unknown."""
    if not names:
        raise UserError(
            "sensitivity needs at least one output (design key 'outputs', e.g. 'inagaki2016:daily_connection')"
        )
    lib = trial_design.library()
    result = []
    for name in names:
        study, _, measure = str(name).partition(":")
        if study not in lib:
            raise UserError(f"output '{name}': no design '{study}' in the trial library: use one of {', '.join(lib)}")
        design = trial_design.load(lib[study])
        known = [m.name for m in design.measures]
        if measure not in known:
            raise UserError(
                f"output '{name}': design {study} has no measure '{measure}': use one of {', '.join(known)}"
            )
        if not design.runnable:
            raise UserError(f"output '{name}': design {study} cannot run (its number of participants is not known)")
        result.append((f"{study}_{measure}", design, measure))
    if len({label for label, _, _ in result}) < len(result):
        raise UserError("sensitivity: an output is named twice")
    return result


def ranges_of(ranges: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """The varied parameters' ranges, checked against their declared ranges; UserError if bad."""
    if len(ranges) < 2:
        raise UserError("sensitivity needs at least two parameters in 'ranges'")
    bounds = {}
    for name, pair in ranges.items():
        f = FIELDS.get(name)
        if f is None:
            raise UserError(f"ranges: '{name}' is not a model parameter (bondsim params lists them)")
        if f.choices or f.status == "setting":
            raise UserError(f"ranges: '{name}' is {'a choice' if f.choices else 'a setting'}, not a numeric parameter")
        ok = isinstance(pair, (list, tuple)) and len(pair) == 2
        ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in pair)
        if not ok or not pair[0] < pair[1]:
            raise UserError(f"ranges: {name} = {pair!r} must be [low, high] with low < high")
        low, high = float(pair[0]), float(pair[1])
        if (f.low is not None and low < f.low) or (f.high is not None and high > f.high):
            raise UserError(f"ranges: {name} = [{low:g}, {high:g}] leaves its declared range [{f.low:g}, {f.high:g}]")
        bounds[name] = (low, high)
    return bounds


def trial_g(design: trial_design.TrialDesign, params: Params, seed: int, measure: str) -> float:
    """Hedges g of ``measure`` in one virtual trial of ``design`` (the task each worker runs)."""
    rows, _ = analyse(design, simulate(design, params, seed), seed)
    return float(next(r["hedges_g"] for r in rows if r["measure"] == measure))


def noise_shares(g: np.ndarray) -> tuple[float | None, float | None]:
    """Trial noise as a share of the variance of the point means, from ``g`` (points, trials).

    ``g[i, k] = mu_i + c_k + d_ik``: the seed's effect ``c_k`` is the same at every point (common
    seeds) and moves every point mean alike; only the interaction ``d`` reaches the indices. Its
    variance is the residual mean square of the two-way layout, and var(d) / trials its share
    of the points' variance (first value). The second is the share the same spread would have
    with independent seeds: the mean within-point variance / trials. None with one trial.
    """
    points, trials = g.shape
    total = float(g.mean(axis=1).var(ddof=1))
    if trials < 2 or points < 2 or total == 0:
        return None, None
    resid = g - g.mean(axis=1, keepdims=True) - g.mean(axis=0, keepdims=True) + g.mean()
    interaction = float((resid**2).sum() / ((points - 1) * (trials - 1)))
    within = float(g.var(axis=1, ddof=1).mean())
    return interaction / trials / total, within / trials / total


def role(design: trial_design.TrialDesign, measure: str) -> str:
    """``training`` if the calibration fitted this outcome's effect, else ``validation``."""
    return "training" if any(o.measure == measure and o.training for o in design.outcomes) else "validation"


def run(ctx: Context) -> dict[str, Any]:
    """Sample the parameters, run the trials, compute the indices, write tables, figure and report."""
    t0 = time.perf_counter()
    samples, trials = int(ctx.design["samples"]), int(ctx.design["trials"])
    if samples < 2 or samples & (samples - 1):
        raise UserError(f"samples = {samples} must be a power of 2 (Saltelli's scheme), at least 2")
    if trials < 1:
        raise UserError(f"trials = {trials} must be at least 1")
    outputs = outputs_of(list(ctx.design["outputs"]))
    bounds = ranges_of(dict(ctx.design["ranges"]))
    names = list(bounds)
    points = to_points(names, bounds, sobol_matrix(names, bounds, samples, False, ctx.seed))
    try:
        point_params = [ctx.params.replace(**p) for p in points]
    except ParameterError as exc:
        raise UserError(f"sensitivity: a sampled point is not a valid parameter set: {exc}") from None
    seeds = [seed_for(ctx.seed, k, bits=32) for k in range(trials)]  # common to every point and output
    tasks = [(d, p, s, m) for p in [ctx.params, *point_params] for _, d, m in outputs for s in seeds]
    g = np.array(parallel_map(trial_g, tasks, ctx.workers, ctx.progress, "sensitivity"), dtype=float)
    g = g.reshape(len(points) + 1, len(outputs), trials)  # the defaults first, then the design's points
    at_defaults, g = g[0], g[1:]
    labels = [label for label, _, _ in outputs]
    means = pd.DataFrame(g.mean(axis=2), columns=labels)
    indices = sobol_table(names, bounds, means, resamples=int(ctx.design["resamples"]), seed=ctx.seed)
    if not isinstance(indices, pd.DataFrame):  # first order only: one table
        raise TypeError("sobol_table returned second-order indices")
    summary_outputs = {}
    for j, (label, design, measure) in enumerate(outputs):
        part = indices[indices["metric"] == label]
        y = means[label].to_numpy()
        shared, independent = noise_shares(g[:, j, :])
        summary_outputs[label] = {
            "design": design.name,
            "measure": measure,
            "role": role(design, measure),
            "hedges_g_at_defaults": float(at_defaults[j].mean()),
            "point_means": {
                "mean": float(y.mean()),
                "sd": float(y.std(ddof=1)),
                **{f"q{q:g}": float(np.percentile(y, q)) for q in (2.5, 50, 97.5)},
                "min": float(y.min()),
                "max": float(y.max()),
            },
            "noise_share": shared,
            "noise_share_without_common_seeds": independent,
            "S1_sum": float(part["S1"].sum()),
            "ST_sum": float(part["ST"].sum()),
            "indices": {
                r.parameter: {
                    "S1": float(r.S1),
                    "S1_conf": float(r.S1_conf),
                    "ST": float(r.ST),
                    "ST_conf": float(r.ST_conf),
                }
                for r in part.itertuples()
            },
        }
        summary_outputs[label]["carried_by"] = carriers(summary_outputs[label]["indices"], shared)
    parameters = {
        n: {"low": lo, "high": hi, "default": getattr(ctx.params, n), "status": FIELDS[n].status,
            "unit": FIELDS[n].unit}
        for n, (lo, hi) in bounds.items()
    }  # fmt: skip
    table = indices.rename(columns={"metric": "output"})
    table.insert(2, "status", [FIELDS[n].status for n in table["parameter"]])
    table.insert(3, "low", [bounds[n][0] for n in table["parameter"]])
    table.insert(4, "high", [bounds[n][1] for n in table["parameter"]])
    write_table(table, ctx.out / "indices.csv")
    frame = pd.DataFrame(points).assign(**{label: means[label] for label in labels})
    write_table(frame.rename_axis("point").reset_index(), ctx.out / "points.csv")
    write_table(
        pd.DataFrame(
            [{"point": i, "output": label, "trial": k, "seed": seeds[k], "hedges_g": g[i, j, k]}
             for i in range(len(points)) for j, label in enumerate(labels) for k in range(trials)]
        ),
        ctx.out / "trials.csv",
    )  # fmt: skip
    plot_sobol(indices, ctx.out / "sobol.png")
    summary = {
        "samples": samples,
        "points": len(points),
        "trials_per_point": trials,
        "virtual_trials": len(tasks),
        "trial_seeds": seeds,
        "parameters": parameters,
        "outputs": summary_outputs,
    }
    (ctx.out / "report.md").write_text(_report(summary, elapsed_since(t0)), encoding="utf-8")
    return summary


def _report(s: dict[str, Any], elapsed: float) -> str:
    params = s["parameters"]
    lines = [
        "# Sensitivity of the headline: Sobol indices over the assumed parameters",
        "",
        f"Saltelli's scheme, N = {s['samples']}: {s['points']} parameter sets, each output the mean Hedges g of "
        f"{s['trials_per_point']} virtual trials per set (the same seeds at every set), {s['virtual_trials']} "
        f"virtual trials in all (the defaults included); run time {elapsed:.0f} s. Every other parameter keeps "
        "its default. Indices with bootstrap 95% CIs (half-widths after ±).",
        "",
        "| parameter | status | range | default |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {p['status']} | [{p['low']:g}, {p['high']:g}] | {p['default']:g} |" for n, p in params.items()]
    for o in s["outputs"].values():
        pm = o["point_means"]
        noise = "n/a (one trial per set)" if o["noise_share"] is None else f"{100 * o['noise_share']:.0f}%"
        if o["noise_share_without_common_seeds"] is not None:
            noise += f" (with independent seeds it would be {100 * o['noise_share_without_common_seeds']:.0f}%)"
        lines += [
            "",
            f"## {o['design']}: {o['measure']} ({o['role']})",
            "",
            f"Hedges g at the defaults {o['hedges_g_at_defaults']:+.3f}; over the parameter sets {pm['mean']:+.3f} "
            f"on average (SD {pm['sd']:.3f}; 95% of sets between {pm['q2.5']:+.3f} and {pm['q97.5']:+.3f}, all "
            f"between {pm['min']:+.3f} and {pm['max']:+.3f}). Sum of first-order indices {o['S1_sum']:.2f} "
            f"(the rest is interaction, and trial noise). Trial noise is {noise} of the variance of the point "
            "means.",
            "",
            "| parameter | S1 | ST |",
            "|---|---|---|",
        ]
        ranked = sorted(o["indices"].items(), key=lambda kv: -kv[1]["ST"])
        lines += [f"| {n} | {v['S1']:.2f} ± {v['S1_conf']:.2f} | {v['ST']:.2f} ± {v['ST_conf']:.2f} |"
                  for n, v in ranked]  # fmt: skip
        carried = ", ".join(o["carried_by"]) or "none"
        lines += [
            "",
            f"Parameters whose total index is above {WIDE_ST} plus the noise share with 95% confidence (noise "
            f"inflates every total index by about its share): {carried}.",
        ]
    lines += ["", "![Sobol indices](sobol.png)", ""]
    return "\n".join(lines)


EXPERIMENT = Experiment(
    name="sensitivity",
    summary="Sobol indices of the diary g and a lab g over the assumed parameters that carry them",
    design=DESIGN,
    params=PARAMS,
    run=run,
    trials_key="trials",
    extras=("trials", "sweep"),
)
