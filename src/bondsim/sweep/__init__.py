"""Parameter sweeps: what ``bondsim sweep SPEC.toml`` and ``bondsim analyze SWEEP_DIR`` run (:mod:`bondsim.commands`).

A sweep is a TOML spec (see docs/sweeps.md): a design (``grid``, ``list``, ``lhs``, ``sobol`` or
``morris``) over some parameters (in sampled designs, numbers in a range or the levels of a
categorical factor), the others fixed, a number of replicates, a run length and a master seed,
and optionally arms to compare (``[compare]``). The run of design point ``p``, replicate ``k``
has the seed ``seed_for(master, p, k)`` (:func:`bondsim.batch.seed_for`), every arm the same
one, so results do not depend on the worker count, the order of completion or the cluster,
growing a sweep (``--extend``) keeps every existing run's seed, and the arms of a point and
replicate are paired runs with common random numbers (:mod:`bondsim.contrast`).

- :mod:`~bondsim.sweep.spec`: reading and checking the spec;
- :mod:`~bondsim.sweep.designs`: one function per design;
- :mod:`~bondsim.sweep.store`: the result folder (Parquet per run, manifest, plan, failures);
- :mod:`~bondsim.sweep.execute`: running the runs (in process, or on Dask);
- :mod:`~bondsim.sweep.analysis`: tables, contrasts, figures and sensitivity indices (``bondsim analyze``);
- :mod:`~bondsim.sweep.reproduce`: one run of a sweep again (``bondsim run --from-sweep DIR --run ID``).

The analysis is imported on first use, so that ``bondsim sweep`` does not import matplotlib and
SALib.
"""

from importlib import import_module as _import_module

from ..batch import batch_size, seed_for
from .execute import RunResult, RunTask, SweepReport, execute, execute_run, run_sweep, run_task, run_tasks
from .spec import SweepSpec, invalid_points, load_spec, parse_spec, plan, run_seed
from .store import (
    data_dictionary,
    failures,
    finished_runs,
    people,
    read_manifest,
    read_plan,
    results,
    run_path,
)

_ANALYSIS = (
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
    "pairing",
    "sobol_convergence",
    "sobol_diagnostics",
    "sobol_indices",
    "sobol_over_time",
    "summarize",
    "time_course",
    "window_means",
)


def __getattr__(name: str):
    if name in _ANALYSIS:
        value = getattr(_import_module("bondsim.sweep.analysis"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bondsim.sweep' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_ANALYSIS])


__all__ = [
    "RunResult",
    "RunTask",
    "SweepData",
    "SweepReport",
    "SweepSpec",
    "analyze",
    "batch_size",
    "contrast_course",
    "contrast_outcomes",
    "contrasts",
    "data_dictionary",
    "divergence",
    "execute",
    "execute_run",
    "failures",
    "final_values",
    "finished_runs",
    "invalid_points",
    "levels",
    "load_spec",
    "morris_indices",
    "morris_over_time",
    "pairing",
    "parse_spec",
    "people",
    "plan",
    "read_manifest",
    "read_plan",
    "results",
    "run_path",
    "run_seed",
    "run_sweep",
    "run_task",
    "run_tasks",
    "seed_for",
    "sobol_convergence",
    "sobol_diagnostics",
    "sobol_indices",
    "sobol_over_time",
    "summarize",
    "time_course",
    "window_means",
]
