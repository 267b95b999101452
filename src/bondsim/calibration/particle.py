"""One particle of the calibration: a parameter set, its simulations, its statistics and its distance.

A particle's values are model parameters (:class:`~bondsim.params.Params` fields) and, optionally,
``rating_noise``: the rating model's total noise (scale points), split by the assumed test-retest
correlation ``r`` into a person's bias (SD sqrt(r) x total) and occasion noise (SD sqrt(1 - r) x
total), as the one-parameter fit of model 2 did.

Seeds: evaluation ``i`` of generation ``t`` under master seed ``S`` draws its parameters with
NumPy's global generator seeded ``seed_for(S, t, i, bits=32)``, and its model runs take
``seed_for(S, t, i, part, j, k, bits=32)`` (part 1: constraint ``j``'s experiment, replicate
``k``; part 2: target design ``j``, virtual trial ``k``). Nothing depends on where it ran.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..batch import seed_for
from ..params import Params
from ..trials.analysis import analyse, arm_periods
from ..trials.design import TrialDesign
from ..trials.simulate import simulate
from .constraints import EXPERIMENTS
from .spec import RATING_NOISE, Spec

PREDICTIVE = 1_000_000  # the generation key of the posterior predictive draws


def rating_sds(total: float, retest: float) -> dict[str, float]:
    """A person's bias and occasion noise whose squares add up to the square of ``total``, split by ``retest``."""
    return {"person_sd": float(math.sqrt(retest) * total), "occasion_sd": float(math.sqrt(1.0 - retest) * total)}


def model_values(values: dict[str, Any]) -> dict[str, float]:
    """The model parameters among a particle's values."""
    return {k: float(v) for k, v in values.items() if k not in (RATING_NOISE, "rating_person_sd", "rating_occasion_sd")}


def with_ratings(design: TrialDesign, ratings: dict[str, float] | None) -> TrialDesign:
    """``design`` with the rating model's person and occasion SDs replaced (None: unchanged)."""
    return design if not ratings else replace(design, ratings=replace(design.ratings, **ratings))


def control_levels(design: TrialDesign, record: Any, scores: np.ndarray) -> tuple[float, float]:
    """Mean and between-person SD of the control arm's scores of one measure (participants, periods)."""
    period = arm_periods(design, record.sequence, design.analysis.control)
    people = np.flatnonzero(period >= 0)
    values = scores[people, period[people]]
    return float(values.mean()), float(values.std(ddof=1))


def statistics(spec: Spec, values: dict[str, Any], key: tuple[int, ...], reject: bool = True) -> dict[str, float]:
    """Simulate one particle: its constraints' differences, then (if they all hold) its targets' statistics.

    Returns ``{target name: statistic (mean over the virtual trials)}``, ``constraints_ok`` (1 or 0)
    and ``constraint:NAME``: the mean difference treatment - control of each constraint. With
    ``reject`` (the fit) the first broken constraint ends the particle (targets NaN); without it
    (posterior predictive draws) everything is simulated.
    """
    params = Params().replace(engine=spec.engine, **model_values(values))
    out: dict[str, float] = {}
    ok = True
    experiments = list(dict.fromkeys(c.experiment for c in spec.constraints))
    cache: dict[tuple, float] = {}
    for c in spec.constraints:
        j = experiments.index(c.experiment)
        run = EXPERIMENTS[c.experiment].run
        diffs = []
        for r in range(c.replicates):
            seed = seed_for(spec.abc.seed, *key, 1, j, r, bits=32)
            for condition in (c.treatment, c.control):
                if (c.experiment, condition, c.state, r) not in cache:
                    cache[c.experiment, condition, c.state, r] = run(params, condition, c.state, seed)
            diffs.append(cache[c.experiment, c.treatment, c.state, r] - cache[c.experiment, c.control, c.state, r])
        diff = float(np.mean(diffs))
        out[f"constraint:{c.name}"] = diff
        holds = diff > 0 if c.direction == "higher" else diff < 0
        ok = ok and holds
        if not ok and reject:
            break  # a broken constraint rejects the particle: its targets are not simulated
    out["constraints_ok"] = float(ok)
    if not ok and reject:
        return {**out, **{t.name: math.nan for t in spec.targets}}

    ratings = rating_sds(float(values[RATING_NOISE]), spec.retest) if RATING_NOISE in values else None
    for j, name in enumerate(spec.design_names()):
        design = with_ratings(spec.designs[name], ratings)
        targets = [t for t in spec.targets if t.design == name]
        sums = {t.name: [] for t in targets}
        for k in range(spec.abc.trials):
            seed = seed_for(spec.abc.seed, *key, 2, j, k, bits=32)
            record = simulate(design, params, seed)
            rows, scores = analyse(design, record, seed)
            for t in targets:
                if t.statistic == "hedges_g":
                    sums[t.name].append(next(r["hedges_g"] for r in rows if r["measure"] == t.measure))
                else:
                    mean, sd = control_levels(design, record, scores.by_measure[t.measure])
                    sums[t.name].append(mean if t.statistic == "control_mean" else sd)
        out.update({n: float(np.mean(v)) for n, v in sums.items()})
    return out


def distance(spec: Spec, simulated: dict[str, float], observed: dict[str, float]) -> float:
    """Euclidean distance in tolerance units, sqrt(sum(((x - y) / scale)^2)); infinite if a constraint broke."""
    if not simulated.get("constraints_ok", 0.0):
        return math.inf
    total = sum(((simulated[t.name] - observed[t.name]) / t.scale) ** 2 for t in spec.targets)
    return float(math.sqrt(total)) if math.isfinite(total) else math.inf


_KEY: tuple[int, int] = (0, 0)  # (generation, evaluation) of the particle being simulated in this process


class ParticleModel:
    """The model pyabc calls: parameters in, statistics out, seeded by the evaluation being run."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def __call__(self, parameters: dict[str, Any]) -> dict[str, float]:
        """The statistics of the particle being evaluated in this process (pyabc's values, see :func:`natural`)."""
        return statistics(self.spec, natural(self.spec, parameters), _KEY)


def natural(spec: Spec, values: dict[str, Any]) -> dict[str, float]:
    """A particle's values on their own scale: pyabc holds a log-uniform parameter as its natural logarithm.

    A log-uniform prior is then uniform to pyabc, and its perturbation kernel (a multivariate normal)
    moves such a parameter by factors rather than by amounts: importance weights stay even where
    the prior's density 1/x is steep.
    """
    logs = {p.name for p in spec.priors if p.kind == "loguniform"}
    return {k: float(np.exp(v)) if k in logs else float(v) for k, v in dict(values).items()}


class ParticleDistance:
    """The distance pyabc calls (see :func:`distance`)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def __call__(self, x: dict[str, float], x0: dict[str, float]) -> float:
        """Distance of simulated ``x`` from observed ``x0``."""
        return distance(self.spec, x, x0)


_UNPICKLED: dict[str, Any] = {}


def evaluate(token: str, blob: bytes, master: int, generation: int, index: int) -> Any:
    """Worker entry point: run pyabc's ``simulate_one`` (pickled in ``blob``) as evaluation ``index`` of a generation.

    NumPy's global generator (pyabc's draws from the prior or the transition) is seeded from
    ``(master, generation, index)``, and the particle's simulations take their seeds from the same key.
    """
    if token not in _UNPICKLED:
        import cloudpickle

        _UNPICKLED.clear()
        _UNPICKLED[token] = cloudpickle.loads(blob)
    return evaluate_local(_UNPICKLED[token], master, generation, index)


def evaluate_local(simulate_one: Any, master: int, generation: int, index: int) -> Any:
    """Run ``simulate_one`` in this process as evaluation ``index`` of ``generation`` (see :func:`evaluate`)."""
    global _KEY
    np.random.seed(seed_for(master, generation, index, bits=32))  # noqa: NPY002 - pyabc draws from it
    _KEY = (generation, index)
    return simulate_one()


def predictive(spec: Spec, values: dict[str, float], draw: int) -> dict[str, float]:
    """Worker entry point: the statistics of one posterior predictive draw."""
    return statistics(spec, values, (PREDICTIVE, draw), reject=False)


__all__ = [
    "ParticleDistance",
    "ParticleModel",
    "control_levels",
    "distance",
    "evaluate",
    "model_values",
    "natural",
    "predictive",
    "rating_sds",
    "statistics",
    "with_ratings",
]
