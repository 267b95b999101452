"""Named experiments: ``bondsim experiment NAME`` reproduces a study and writes its results.

Each experiment is one module here (design, simulation, analysis, figures) and one
folder ``experiments/NAME/`` at the top of the project (config.toml with the
design, README.md on the original study and how the results compare). Every run
writes tidy CSV tables, PNG figures, ``report.md`` and ``summary.json`` (with the
parameters, seed, versions and run time) into ``--out``, all at once or not at all.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..batch import default_workers
from ..errors import InputError, UserError, did_you_mean
from ..extras import require
from ..io import now, output_directory, versions, write_json
from ..model import make_seed
from .bereavement import EXPERIMENT as BEREAVEMENT
from .chronic_naltrexone import EXPERIMENT as CHRONIC_NALTREXONE
from .common import Context, Experiment, resolve
from .grooming import EXPERIMENT as GROOMING
from .inagaki2016 import EXPERIMENT as INAGAKI2016
from .maintenance import EXPERIMENT as MAINTENANCE
from .meta_analysis import EXPERIMENT as META_ANALYSIS
from .morphine_withdrawal import EXPERIMENT as MORPHINE_WITHDRAWAL
from .sensitivity import EXPERIMENT as SENSITIVITY
from .separation_distress import EXPERIMENT as SEPARATION_DISTRESS
from .state_dependence import EXPERIMENT as STATE_DEPENDENCE

REGISTRY: dict[str, Experiment] = {
    e.name: e
    for e in (
        INAGAKI2016,
        SEPARATION_DISTRESS,
        GROOMING,
        MAINTENANCE,
        CHRONIC_NALTREXONE,
        MORPHINE_WITHDRAWAL,
        STATE_DEPENDENCE,
        BEREAVEMENT,
        META_ANALYSIS,
        SENSITIVITY,
    )
}
DEFAULT_SEED = 2016


def get(name: str) -> Experiment:
    """The experiment called ``name`` (UserError naming the known ones otherwise)."""
    if name not in REGISTRY:
        raise InputError(f"unknown experiment '{name}'{did_you_mean(name, REGISTRY)}: use one of {', '.join(REGISTRY)}")
    return REGISTRY[name]


def run_experiment(
    name: str,
    out: str | Path,
    seed: int = DEFAULT_SEED,
    trials: int | None = None,
    engine: str | None = None,
    config: str | Path | None = None,
    progress: bool = False,
    workers: int | None = None,
    overwrite: bool = False,
    **design: Any,
) -> dict[str, Any]:
    """Run a named experiment and write its outputs into ``out``; returns summary.json's content.

    Args:
        name: experiment name (see ``REGISTRY``).
        out: output directory: new or empty, or with ``overwrite`` its files are replaced (each atomically).
        seed: master seed; every trial's seed derives from it.
        trials: number of virtual trials or replicates (experiments that repeat).
        engine: ``array`` (default of every experiment) or ``agents``.
        config: TOML file with ``[design]`` and ``[params]`` tables overriding the defaults.
        progress: show progress bars.
        workers: processes for independent trials (default: the usable cores).
        overwrite: replace the files of a non-empty ``out`` (refused otherwise).
        **design: design values to override (for scripts and tests), e.g. ``community=80``.

    Raises:
        ParameterError: a bad config file or design value.
        OutputError: ``out`` is not empty (without ``overwrite``), cannot be written, or the disk filled up;
            nothing is left behind.
        KeyboardInterrupt: on Ctrl-C (worker processes are stopped), with nothing left behind.
    """
    experiment = get(name)
    resolved, params = resolve(experiment, config, trials, engine)
    for extra in experiment.extras:
        require(extra, f"experiment {name}")
    if params.engine == "array":
        require("array", f"experiment {name} on the array engine (--engine agents runs without it)")
    for key, value in design.items():
        if key not in resolved:
            raise UserError(f"unknown design key '{key}' for {name}: use one of {', '.join(resolved)}")
        resolved[key] = value
    seed = make_seed(seed)
    started, t0 = now(), time.perf_counter()
    with output_directory(out, overwrite=overwrite) as tmp:
        ctx = Context(
            experiment=experiment,
            design=resolved,
            params=params,
            seed=seed,
            out=tmp,
            progress=progress,
            workers=default_workers() if workers is None else workers,
        )
        results = experiment.run(ctx)
        summary = {
            "experiment": name,
            **results,
            "design": resolved,
            "params": params.to_dict(),
            "seed": seed,
            "engine": params.engine,
            "started": started,
            "elapsed_seconds": round(time.perf_counter() - t0, 2),
            "versions": versions(),
        }
        write_json(tmp / "summary.json", summary)
    return summary


__all__ = ["REGISTRY", "Experiment", "get", "run_experiment"]
