"""Running a sweep: one run per task, on the shared runner (:mod:`bondsim.batch`).

With ``workers=1`` the runs go one after another in this process, as they do for a sweep too
small to repay starting workers (:func:`serial_is_faster`); with more, on worker processes
started once and forked from this one (a Dask ``LocalCluster`` with ``backend="dask"``); with
``scheduler``, on an existing Dask cluster whose workers must run the same bondsim (version and
code hash) as the driver and import the user's modules the runs need with the driver's source.
Results travel back to the driver, which writes each run's file as soon as it arrives, so a
killed sweep leaves only whole files and ``resume`` runs only what is missing. Local worker
processes end with the driver, also when it is killed outright (:mod:`bondsim.batch`).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..batch import Lost, Runner
from ..errors import UserError
from . import store
from .spec import NOT_COLUMNS, RunTask, SweepSpec, level_label, load_spec


# ----------------------------------------------------------------------------- one run
class RunResult(NamedTuple):
    """A run's recorded rows and, when the outputs ask for it, its per-person rows."""

    rows: pd.DataFrame
    people: pd.DataFrame | None


def execute(task: RunTask) -> pd.DataFrame:
    """Do one run and return its recorded rows, with the run's identity and parameters as columns."""
    return execute_run(task).rows


def execute_run(task: RunTask) -> RunResult:
    """Do one run: its recorded rows (identity and parameters as columns) and its per-person rows (or None)."""
    columns, people = _run(task)
    return RunResult(pd.DataFrame(columns), people)


def _run(task: RunTask) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Do one run: its recorded rows as columns (identity and parameters first), its per-person rows (or None)."""
    from .. import events as interventions
    from ..model import BondingModel, steps_for
    from ..recording import record

    params = task.params()
    n_steps = steps_for(params, task.steps, task.days)
    model = BondingModel(params, seed=task.seed, create_agents=False)  # no Mesa views: faster
    interventions.schedule(model, task.events)
    recording = record(model, n_steps, task.outputs)
    rows = len(recording.columns["step"])
    columns: dict[str, Any] = {
        name: np.full(rows, value, dtype=np.int64)
        for name, value in (("run", task.run), ("point", task.point), ("replicate", task.replicate))
    }
    if task.arm is not None:
        columns["arm"] = [task.arm] * rows
    columns["seed"] = np.full(rows, task.seed, dtype=np.int64)
    if "mechanisms" in task.values:  # a categorical factor: its level
        columns["mechanisms"] = [level_label(task.values["mechanisms"])] * rows
    names = [n for n in dict.fromkeys((*task.fixed, *task.arm_columns, *task.values)) if n not in NOT_COLUMNS]
    columns.update({name: [getattr(params, name, None)] * rows for name in names})
    clash = next((name for name in recording.columns if name in columns), None)
    if clash is not None:  # e.g. a mechanism's metric named like a parameter: refused, not overwritten
        raise UserError(f"the run recorded a column '{clash}', which is already an identity or parameter column")
    columns.update(recording.columns)
    columns["step"] = columns["step"].astype(np.int64)
    people = recording.people
    if people is not None:
        people.insert(0, "run", np.int64(task.run))
    return columns, people


def run_task(task: RunTask) -> tuple[int, pd.DataFrame | RunResult | None, str | None]:
    """Run one task: ``(run, rows, None)``, or ``(run, None, error)`` if the run raised.

    ``rows`` is a :class:`RunResult` (rows and per-person rows) when the run wrote per-person data.
    """
    try:
        result = execute_run(task)
        return task.run, (result if result.people is not None else result.rows), None
    except Exception as exc:  # a failing run is recorded; the sweep goes on
        return task.run, None, _failure(exc)


def run_encoded(task: RunTask) -> tuple[int, tuple[bytes, bytes | None] | None, str | None]:
    """:func:`run_task` with the rows encoded as Parquet files: ``(run, (rows, per-person rows or None), None)``.

    What a sweep's workers do: the encoding is done beside the runs, the driver only saves files.
    """
    try:
        columns, people = _run(task)
        return task.run, (store.parquet_bytes(columns), None if people is None else store.parquet_bytes(people)), None
    except Exception as exc:  # a failing run is recorded; the sweep goes on
        return task.run, None, _failure(exc)


def _failure(exc: Exception) -> str:
    """A failed run's one-line message (where it failed, unless it is bondsim's own refusal)."""
    message = " ".join(f"{type(exc).__name__}: {exc}".split())
    if not isinstance(exc, UserError):
        where = traceback.extract_tb(exc.__traceback__)[-1]
        message += f" (at {Path(where.filename).name}:{where.lineno})"
    return message


def run_tasks(tasks: list[RunTask]) -> list[tuple[int, pd.DataFrame | None, str | None]]:
    """One :func:`run_task` result per task."""
    return [run_task(task) for task in tasks]


# ----------------------------------------------------------------------------- a sweep
@dataclass
class SweepReport:
    """What a sweep did.

    Attributes:
        out: the sweep directory.
        runs: runs in the design.
        done: runs with a result file at the end.
        failed: runs that raised.
        resumed: runs found finished at the start (skipped).
        elapsed_seconds: wall-clock time of this invocation (s).
        added: runs added by ``extend``.
    """

    out: Path
    runs: int
    done: int
    failed: int
    resumed: int
    elapsed_seconds: float
    added: int = 0

    def results(self) -> pd.DataFrame:
        """The dataset (see :func:`bondsim.sweep.store.results`)."""
        return store.results(self.out)

    def failures(self) -> pd.DataFrame:
        """The failures table (see :func:`bondsim.sweep.store.failures`)."""
        return store.failures(self.out)


def tasks_for(spec: SweepSpec, opened: store.Opened, runs: list[int]) -> list[RunTask]:
    """The tasks of some planned runs (seeds and points as planned, run length and fixed values from the spec)."""
    ids = _ids(opened)
    tasks = []
    for run in runs:
        point, replicate, arm, seed = ids[run]
        tasks.append(spec.task_for(int(run), point, replicate, arm, seed, opened.points[point]))
    return tasks


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    extend: bool = False,
    progress: bool = False,
    max_in_flight: int | None = None,
    spec_file: str | None = None,
    backend: str = "processes",
) -> SweepReport:
    """Run a sweep, streaming one Parquet file per run into ``out/runs``.

    Nothing is written until the spec and folder are checked and the workers are up (and run the
    same bondsim as this process): a bad spec, an unreachable scheduler or a refused worker leaves
    ``out`` as it was.

    Args:
        spec: a checked spec, or the path of a TOML spec.
        out: the sweep directory (created; must be empty unless ``resume`` or ``extend``).
        workers: worker processes: 1 runs in this process, more start that many workers once
            (default: one per core); a sweep too small to repay them runs in this process.
        scheduler: address of an existing Dask scheduler (``tcp://host:port``) instead.
        resume: continue the sweep in ``out``, running only runs without a result file.
        extend: grow the sweep in ``out`` to ``spec`` (more replicates or design points), running only
            the new runs and any unfinished ones; any change to what was already run is refused.
        progress: show a progress bar (runs done, failures, ETA) on stderr.
        max_in_flight: tasks submitted at once (default: 2 per worker process; on Dask 4 per worker
            thread, at least 8); a task holds a small batch of runs (:func:`bondsim.batch.batch_size`)
            so that scheduling stays cheap.
        spec_file: the spec's file name, recorded in the manifest.
        backend: local workers as ``processes`` (forked from this process) or a Dask ``LocalCluster``
            (``dask``); the results are the same.

    Returns:
        A :class:`SweepReport`; ``report.results()`` and ``report.failures()`` give DataFrames.
    """
    if not isinstance(spec, SweepSpec):
        spec_file = spec_file or str(spec)
        spec = load_spec(spec)
    if resume and extend:
        raise UserError("give either resume or extend, not both")
    out = Path(out)
    t0 = time.perf_counter()
    opened = store.check(spec, out, "resume" if resume else "extend" if extend else "new", spec_file)
    todo = [int(r) for r in opened.plan["run"] if int(r) not in opened.done]
    resumed = len(opened.done)
    ids = _ids(opened)
    tally = {"failed": 0}
    status = "interrupted"
    modules = {name: info["hash"] for name, info in (opened.manifest.get("modules") or {}).items()}
    runner = Runner(workers, scheduler, backend=backend, modules=modules)
    if runner.kind != "dask" and serial_is_faster(spec, opened, todo, runner.workers):
        runner = Runner(1)  # no workers to start: the runs are done before they would be up
    with runner:
        cluster = runner.info
        store.commit(opened, out)
        try:
            tasks = [(task,) for task in tasks_for(spec, opened, todo)]
            for i, outcome in runner.imap(
                run_encoded,
                tasks,
                progress=progress,
                desc="sweep",
                unit="run",
                initial=resumed,
                total=len(opened.plan),
                postfix=lambda: dict(tally),
                max_in_flight=max_in_flight,
                errors="return",
            ):
                if isinstance(outcome, Lost):  # the batch was lost, e.g. its workers kept dying
                    run, files, error = tasks[i][0].run, None, outcome.error
                else:
                    run, files, error = outcome
                if error is None:
                    rows, people = files
                    if people is not None:  # per-person rows first: the run file marks the run done
                        store.write_bytes(people, store.people_path(out, run))
                    store.write_bytes(rows, store.run_path(out, run))
                    store.failure_path(out, run).unlink(missing_ok=True)
                else:
                    point, replicate, arm, seed = ids[run]
                    row = {"run": run, "point": point, "replicate": replicate, "arm": arm, "seed": seed}
                    if arm is None:
                        del row["arm"]
                    values = {k: level_label(v) for k, v in opened.points[point].items()}
                    store.write_failure(out, {**row, **values, "error": error})
                    tally["failed"] += 1
                del files, outcome
            status = "complete"
        finally:
            n_done, n_failed = store.finish(out, opened, status, time.perf_counter() - t0, cluster)
    return SweepReport(
        out=out,
        runs=len(opened.plan),
        done=n_done,
        failed=n_failed,
        resumed=resumed,
        elapsed_seconds=time.perf_counter() - t0,
        added=opened.added_runs,
    )


# seconds: starting worker processes and sending them the runs; a run's fixed cost; per step; per person-step
WORKER_START, RUN_COST, STEP_COST = 0.3, 0.02, 3e-4
PERSON_STEP_COST = {"array": 1e-7, "agents": 2e-5}


def serial_is_faster(spec: SweepSpec, opened: store.Opened, runs: list[int], workers: int) -> bool:
    """Whether ``runs`` take less time in this process than on ``workers`` processes started for them.

    A rough estimate of the array engine's cost from each run's people and steps (a sweep of
    more than 64 runs is never this small). The results are the same either way.
    """
    if workers <= 1 or len(runs) <= 1:
        return True
    if len(runs) > 64:
        return False
    from ..model import steps_for

    seconds = 0.0
    for task in tasks_for(spec, opened, runs):
        try:
            params = task.params()
        except UserError:  # a point the model refuses: the run fails at once
            continue
        steps = steps_for(params, task.steps, task.days)
        seconds += RUN_COST + steps * (STEP_COST + params.n_agents * PERSON_STEP_COST[params.engine])
    return seconds < WORKER_START * workers / (workers - 1)


def _ids(opened: store.Opened) -> dict[int, tuple[int, int, str | None, int]]:
    """Run -> (point, replicate, arm or None, seed), read column by column so that 63-bit seeds stay exact."""
    plan = opened.plan
    runs, points, reps, seeds = (plan[c].astype("int64").tolist() for c in ("run", "point", "replicate", "seed"))
    arms = plan["arm"].tolist() if "arm" in plan.columns else [None] * len(plan)
    return {
        run: (point, rep, arm, seed) for run, point, rep, arm, seed in zip(runs, points, reps, arms, seeds, strict=True)
    }


__all__ = [
    "RunResult",
    "RunTask",
    "SweepReport",
    "execute",
    "execute_run",
    "run_encoded",
    "run_sweep",
    "run_task",
    "serial_is_faster",
    "tasks_for",
]
