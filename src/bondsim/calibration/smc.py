"""ABC-SMC (Toni et al. 2009) with pyabc (Schälte et al. 2022), its particles simulated on bondsim's runner.

pyabc proposes the particles (from the priors in generation 0, then from a multivariate normal
kernel around the last generation's weighted particles), keeps those within each generation's
tolerance (the quantile of the last generation's distances, from ``initial_epsilon`` in
generation 0) and weights them. Its own parallel samplers accept whichever particles finish
first, so their posterior depends on the number of workers and on timing. ``RunnerSampler``
replaces them: it evaluates particles in rounds of a fixed size, on :class:`bondsim.batch.Runner`
(this process, or Dask workers of a ``LocalCluster`` or of a scheduler), each evaluation seeded
from ``(seed, generation, index)`` (:mod:`bondsim.calibration.particle`), and accepts the first
``population`` accepted evaluations in index order: the posterior of a seed is the same with any
number of workers. A round's size depends only on what earlier rounds found, and does not change which
particles are accepted (only how many evaluations past the last acceptance are run for nothing).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np

from ..batch import Runner, seed_for
from .particle import ParticleDistance, ParticleModel, evaluate, evaluate_local
from .spec import Spec

MIN_ROUND = 8  # evaluations per round at least
ROUND_MARGIN = 1.0  # a round asks for the evaluations expected to fill the population (what it overshoots is wasted)


def round_size(missing: int, rate: float) -> int:
    """Evaluations of the next round: enough to find ``missing`` acceptances at acceptance rate ``rate``."""
    return max(MIN_ROUND, math.ceil(ROUND_MARGIN * missing / max(rate, 0.02)))


def make_sampler(runner: Runner, master: int, progress: bool) -> Any:
    """A pyabc sampler whose evaluations run on ``runner`` (see the module docstring)."""
    import cloudpickle
    from pyabc.sampler import Sampler
    from tqdm.auto import tqdm

    class RunnerSampler(Sampler):
        """Deterministic rounds on bondsim's runner; the first ``n`` acceptances in index order."""

        def __init__(self) -> None:
            super().__init__()
            self.simulations: dict[int, int] = {}  # generation -> evaluations run (the rounds' total)
            self.rate = 1.0  # acceptance rate expected of the next generation's first round (then: the last one's)

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
            sample = self._create_empty_sample()
            blob = cloudpickle.dumps(simulate_one) if runner.kind != "serial" else b""
            token = f"{t}-{time.time_ns()}"
            accepted, done, evaluated = 0, 0, 0
            bar = tqdm(total=n, desc=f"generation {t}", unit="particle", disable=not progress, dynamic_ncols=True)
            try:
                while accepted < n:
                    size = round_size(n - accepted, self.rate)
                    indices = range(done, done + size)
                    results: list[Any] = [None] * size
                    if runner.kind == "serial":
                        stream = ((i - done, evaluate_local(simulate_one, master, t, i)) for i in indices)
                    else:
                        tasks = [(token, blob, master, t, i) for i in indices]
                        stream = runner.imap(evaluate, tasks)
                    for k, particle in stream:
                        results[k] = particle
                        evaluated += 1
                        bar.set_postfix(evaluated=evaluated)
                    found = 0
                    for k, particle in enumerate(results):
                        if accepted >= n:
                            break
                        sample.append(particle)
                        self.nr_evaluations_ = done + k + 1  # as a serial sampler would have counted
                        if particle.accepted:
                            accepted += 1
                            found += 1
                            bar.update(1)
                    bar.refresh()
                    done += size
                    self.rate = max(found / size, 0.0) if found else self.rate / 4
            finally:
                bar.close()
            # the driver's global generator as it would be whatever ran where (a serial run reseeded it)
            np.random.seed(seed_for(master, t, 2**32 - 1, bits=32))  # noqa: NPY002
            self.simulations[t] = evaluated
            self.rate = accepted / max(self.nr_evaluations_, 1)
            return sample

    return RunnerSampler()


def abc_run(spec: Spec, runner: Runner, db: str, progress: bool = False) -> tuple[Any, Any]:
    """Run ABC-SMC of ``spec`` on ``runner`` with pyabc's history in the SQLite file ``db``; (history, sampler)."""
    import pyabc

    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Transition",
                 "ABC.Population", "ABC.Adaptation", "ABC.Acceptor", "ABC.Predictor", "ABC.Sumstat"):  # fmt: skip
        logging.getLogger(name).setLevel(logging.WARNING)
    priors = {}
    for p in spec.priors:
        if p.kind == "uniform":
            priors[p.name] = pyabc.RV("uniform", p.low, p.width)
        else:
            # held as its logarithm, uniform (bondsim.calibration.particle.natural)
            priors[p.name] = pyabc.RV("uniform", math.log(p.low), math.log(p.high) - math.log(p.low))
    sampler = make_sampler(runner, spec.abc.seed, progress)
    abc = pyabc.ABCSMC(
        ParticleModel(spec),
        pyabc.Distribution(**priors),
        ParticleDistance(spec),
        population_size=spec.abc.population,
        sampler=sampler,
        eps=pyabc.QuantileEpsilon(initial_epsilon=spec.abc.initial_epsilon, alpha=spec.abc.quantile),
    )
    observed = {t.name: t.value for t in spec.targets}
    observed["constraints_ok"] = 1.0
    np.random.seed(spec.abc.seed % 2**32)  # noqa: NPY002 - nothing should draw here; if pyabc does, it draws the same
    abc.new(f"sqlite:///{db}", observed)
    history = abc.run(
        minimum_epsilon=spec.abc.min_epsilon if spec.abc.min_epsilon > 0 else None,
        max_nr_populations=spec.abc.generations,
        max_total_nr_simulations=spec.abc.max_simulations or np.inf,
    )
    return history, sampler


__all__ = ["abc_run", "make_sampler", "round_size"]
