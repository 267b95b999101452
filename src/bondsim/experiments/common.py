"""What every named experiment shares: its definition, seeds, parallel trials (via bondsim.batch), outputs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..batch import default_workers as default_workers  # re-exported for experiment scripts
from ..batch import run_many, seed_for
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
        extras: the optional parts of bondsim it needs besides the engine's (``bondsim.extras``).
    """

    name: str
    summary: str
    design: Mapping[str, Any]
    params: Mapping[str, Any]
    run: Callable[[Context], dict[str, Any]]
    trials_key: str | None = None
    extras: tuple[str, ...] = ()


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
        """``n`` independent seeds: ``seed_for(master, i, bits=32)`` for ``i < n`` (see :mod:`bondsim.batch`).

        These are the 32-bit seeds of ``SeedSequence(master).spawn(n)``, as before the shared runner.
        """
        return [seed_for(self.seed, i, bits=32) for i in range(n)]


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
    """``[fn(*t) for t in tasks]`` in task order, on ``workers`` processes (see :func:`bondsim.batch.run_many`)."""
    return run_many(fn, tasks, workers=workers, progress=progress, desc=desc, unit="trial")


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
