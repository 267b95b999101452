"""What every named experiment shares: its definition, seeds, parallel trials, outputs."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..model import BondingModel
from ..params import ParameterError, Params, config_changes, load, read_toml


@dataclass(frozen=True)
class Experiment:
    """A named experiment.

    Attributes:
        name: the name on the command line.
        summary: one line for ``bondsim experiment --list``.
        design: the study design (sizes, doses, timing), overridable from a config's ``[design]`` table.
        params: the model parameters the study changed, on top of the calibrated defaults.
        run: ``run(ctx) -> dict`` writes tables, figures and report into ``ctx.out`` and returns the summary.
        trials_key: the design key that ``--trials`` sets (None: the experiment has no repeated trials).
    """

    name: str
    summary: str
    design: Mapping[str, Any]
    params: Mapping[str, Any]
    run: Callable[[Context], dict[str, Any]]
    trials_key: str | None = None


@dataclass
class Context:
    """Everything one experiment run needs."""

    experiment: Experiment
    design: dict[str, Any]
    params: Params
    seed: int
    out: Path
    progress: bool = True
    workers: int = 1

    def child_seeds(self, n: int) -> list[int]:
        """``n`` independent seeds derived from the master seed (SeedSequence spawning)."""
        return [int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(self.seed).spawn(n)]


def resolve(
    experiment: Experiment, config: str | Path | None = None, trials: int | None = None, engine: str | None = None
) -> tuple[dict[str, Any], Params]:
    """The design and parameters of a run: defaults, then a config file, then command-line flags."""
    design = dict(experiment.design)
    overrides = dict(experiment.params)
    if config is not None:
        data = read_toml(config)
        for key in data:
            if key not in ("design", "params", "drugs", "mechanisms"):
                raise ParameterError(
                    f"unexpected table [{key}] in {config}: use [design], [params], [drugs.NAME] and mechanisms"
                )
        for key, value in data.get("design", {}).items():
            if key not in design:
                raise ParameterError(
                    f"unknown design key '{key}' for {experiment.name}: use one of {', '.join(design)}"
                )
            if type(value) is not type(design[key]) and not (
                isinstance(design[key], float) and isinstance(value, int) and not isinstance(value, bool)
            ):
                raise ParameterError(f"design key '{key}' = {value!r} must be like {design[key]!r}")
            design[key] = type(design[key])(value) if not isinstance(value, list) else value
        overrides.update(config_changes({k: v for k, v in data.items() if k != "design"}, str(config)))
    if trials is not None:
        if experiment.trials_key is None:
            raise UserError(f"experiment {experiment.name} has no repeated trials: drop --trials")
        design[experiment.trials_key] = trials
    if engine is not None:
        overrides["engine"] = engine
    return design, load(overrides=overrides)


def parallel_map(fn: Callable[..., Any], tasks: Sequence[tuple], workers: int, progress: bool, desc: str) -> list[Any]:
    """``[fn(*t) for t in tasks]``, in worker processes if ``workers > 1``, in task order."""
    from tqdm.auto import tqdm

    results: list[Any] = [None] * len(tasks)
    bar = tqdm(total=len(tasks), disable=not progress, desc=desc, unit="trial", mininterval=0.5)
    if workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            results[i] = fn(*task)
            bar.update()
    else:
        import multiprocessing

        # Ctrl-C reaches the whole process group: the workers ignore it (they start with SIGINT
        # ignored, inherited across spawn) and this process stops them, so there is one line, not
        # one traceback per worker, and no wait for the running trials
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
        try:
            pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint
            )
            futures = {pool.submit(fn, *task): i for i, task in enumerate(tasks)}
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)
        try:
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.update()
        except BaseException:
            bar.close()
            _stop(pool)
            raise
        pool.shutdown()
    bar.close()
    return results


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started and end the running workers."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)


def default_workers() -> int:
    """Worker processes for trials: the usable cores."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_until(model: BondingModel, hour: float) -> None:
    """Step the model until its clock reaches ``hour``."""
    while model.hours < hour - 1e-9:
        model.step()


def build(params: Params, seed: int, n_treated: int = 0, **changes: Any) -> BondingModel:
    """A model without Mesa agent views (the experiments read arrays), ``n_treated`` people on the drug."""
    if changes:
        params = params.replace(**changes)
    if params.drug != "none":
        params = params.replace(treated_fraction=n_treated / params.n_agents)
    model = BondingModel(params, seed=seed, create_agents=params.engine == "agents")
    if params.drug != "none" and model.treated_index.size != n_treated:
        raise UserError(f"cannot treat {n_treated} of {params.n_agents} people")
    return model


def write_table(frame, path: Path) -> None:
    """A tidy CSV table with floats rounded for reading."""
    frame.to_csv(path, index=False, float_format="%.6g")


def elapsed_since(t0: float) -> float:
    """Seconds since ``t0`` (perf_counter), rounded."""
    return round(time.perf_counter() - t0, 2)
