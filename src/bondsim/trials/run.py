"""Many virtual trials of a design on the shared runner, their summary, and power over sample sizes.

Replication ``r`` of a design run with master seed ``S`` has seed ``seed_for(S, r, bits=32)``
(:mod:`bondsim.batch`), whatever the number of workers or the scheduler; a power analysis
reuses the same seeds at every sample size (common random numbers), so that the curve is
smooth in N. With a posterior (:mod:`bondsim.calibration.posterior`) replication ``r`` first
draws one particle, weighted, from a stream of its seed of its own, and runs with its parameters
(and its rating noise): the spread of its effects is then sampling error and parameter uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..batch import run_many, seed_for
from ..params import Params
from ..stats import Z95
from .analysis import analyse
from .design import TrialDesign
from .simulate import simulate

if TYPE_CHECKING:
    from ..calibration.posterior import Posterior


@dataclass
class TrialRun:
    """The replications of one design.

    Attributes:
        design: the design that ran.
        seed: the master seed.
        trials: one row per replication and measure (see :func:`bondsim.trials.analysis.analyse`).
        occupancy: mean receptor occupancy of each sequence group over the replications, per step
            from the start of the baseline days.
        residual: occupancy left at the start of each later period, every participant of every
            replication (flat; NaN for those who had taken no drug yet).
        first_scores: replication 0's scores, measure -> (participants, periods), and its sequences.
    """

    design: TrialDesign
    seed: int
    trials: pd.DataFrame
    occupancy: np.ndarray
    residual: np.ndarray
    first_scores: tuple[dict[str, np.ndarray], np.ndarray]


def replicate(design: TrialDesign, params: Params, seed: int) -> dict[str, Any]:
    """One virtual trial, analysed: the task each worker runs."""
    record = simulate(design, params, seed)
    rows, s = analyse(design, record, seed)
    return {
        "rows": rows,
        "occupancy": record.occupancy,
        "residual": record.residual.ravel(),
        "scores": s.by_measure,
        "sequence": record.sequence,
    }


def run_trials(
    design: TrialDesign,
    replications: int,
    seed: int,
    params: Params | None = None,
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: bool = False,
    desc: str | None = None,
    posterior: Posterior | None = None,
    particles: list[int] | None = None,
) -> TrialRun:
    """Run ``replications`` virtual trials of ``design`` (see the module docstring for the seeds).

    ``params`` are the model's parameters before the design's changes (default: the calibrated
    defaults on the array engine, as ``bondsim trial`` uses them). With ``posterior`` each virtual
    trial draws its own parameter set from it; ``trials`` then has a ``particle`` column.
    ``particles`` gives replication r the posterior's particle ``particles[r]`` instead of a draw
    from its seed (several designs that share one parameter set per replication).
    """
    params = params or Params().replace(engine="array")
    seeds = [seed_for(seed, r, bits=32) for r in range(replications)]
    if posterior is None:
        particles = [None] * len(seeds)
    elif particles is None:
        particles = [posterior.draw(s) for s in seeds]
    elif len(particles) != replications:
        raise ValueError(f"{len(particles)} particles for {replications} replications")
    tasks = [
        (design, params, s) if k is None else (*posterior.apply(k, design, params), s)
        for s, k in zip(seeds, particles, strict=True)
    ]
    results = run_many(
        replicate,
        tasks,
        workers=None if scheduler else workers,
        scheduler=scheduler,
        progress=progress,
        desc=desc or design.name,
        unit="trial",
    )
    rows = [
        {"replication": r, "seed": s, "participants": design.participants.n, **row}
        | ({} if k is None else {"particle": k})
        for r, (s, k, res) in enumerate(zip(seeds, particles, results, strict=True))
        for row in res["rows"]
    ]
    return TrialRun(
        design=design,
        seed=seed,
        trials=pd.DataFrame(rows),
        occupancy=np.mean([res["occupancy"] for res in results], axis=0),
        residual=np.concatenate([res["residual"] for res in results]),
        first_scores=(results[0]["scores"], results[0]["sequence"]),
    )


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion (statsmodels)."""
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return float(low), float(high)


def summarize_measure(frame: pd.DataFrame) -> dict[str, Any]:
    """The distribution of one measure's effect over replications: pooled g, prediction interval, power."""
    g = frame["hedges_g"].to_numpy()
    hits = int(frame["significant"].sum())
    low, high = wilson(hits, len(frame))
    return {
        "replications": len(frame),
        # the model's average effect: the mean g of the virtual trials (each its own community), and the
        # 95% half-width of that mean from their spread, 1.96 sd(g) / sqrt(R)
        "hedges_g": float(np.mean(g)),
        "monte_carlo_error": float(Z95 * np.std(g, ddof=1) / np.sqrt(g.size)) if g.size > 1 else float("nan"),
        "median_g": float(np.median(g)),
        "prediction_low": float(np.percentile(g, 2.5)),
        "prediction_high": float(np.percentile(g, 97.5)),
        "power": hits / len(frame),
        "power_low": low,
        "power_high": high,
        "fraction_p_below_05": float(np.mean(frame["p"] < 0.05)),
        "mean_treatment": float(frame["mean_treatment"].mean()),
        "mean_control": float(frame["mean_control"].mean()),
        "fraction_carryover_p_below_05": float(np.mean(frame["carryover_p"] < 0.05))
        if frame["carryover_p"].notna().any()
        else None,
    }


def summarize(run: TrialRun) -> dict[str, Any]:
    """Per measure: the virtual trials' effect distribution, beside the published result if any."""
    design = run.design
    out: dict[str, Any] = {}
    for m in design.measures:
        s = summarize_measure(run.trials[run.trials["measure"] == m.name])
        published = [o for o in design.outcomes if o.measure == m.name]
        if published and published[0].hedges_g is not None:
            g = published[0].hedges_g
            s["observed_g"] = g
            s["observed_inside_prediction"] = bool(s["prediction_low"] <= g <= s["prediction_high"])
        out[m.name] = s
    residual = run.residual[np.isfinite(run.residual)]
    if residual.size:
        out["residual_occupancy_percentiles"] = {str(q): float(np.percentile(residual, q)) for q in (5, 25, 50, 75, 95)}
        out["residual_occupancy_mean"] = float(residual.mean())
    return out


def power_curve(
    design: TrialDesign,
    sizes: list[int],
    replications: int,
    seed: int,
    params: Params | None = None,
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: bool = False,
    posterior: Posterior | None = None,
) -> pd.DataFrame:
    """For each sample size, per measure: the share of virtual trials with p < .05 in the predicted direction.

    Each size keeps the design's sequence shares and grows the community with it
    (:meth:`~bondsim.trials.design.TrialDesign.with_participants`); every size uses the same replication seeds.
    """
    rows = []
    for n in sizes:
        run = run_trials(
            design.with_participants(n),
            replications,
            seed,
            params,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            desc=f"{design.name} N={n}",
            posterior=posterior,
        )
        for m in design.measures:
            s = summarize_measure(run.trials[run.trials["measure"] == m.name])
            rows.append(
                {
                    "participants": n,
                    "measure": m.name,
                    "power": s["power"],
                    "power_low": s["power_low"],
                    "power_high": s["power_high"],
                    "median_g": s["median_g"],
                    "replications": replications,
                }
            )
    return pd.DataFrame(rows)
