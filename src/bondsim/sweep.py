"""Parameter sweeps on Dask: ``bondsim sweep SPEC.toml``.

A sweep is a TOML spec (see docs/sweeps.md): a design (``grid``, ``lhs``, ``sobol`` or ``list``)
over some parameters, the others fixed, a number of replicates, a run length and a master seed.
Each run is a pure function of its parameters and its seed, and run ``r``'s seed is drawn from
``SeedSequence(master, spawn_key=(r,))`` (the ``r``-th child of ``SeedSequence(master).spawn``),
so results do not depend on the worker count, the order of completion or the cluster.

Runs go to a Dask ``distributed`` cluster (a ``LocalCluster`` by default) with a bounded number
in flight. Each finished run is written at once, atomically, as ``runs/run-NNNNNN.parquet``:
together these files are the sweep's Parquet dataset. A killed sweep leaves only complete files,
and ``--resume`` runs only what is missing. A run that raises is recorded in ``failures.csv``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import UserError, did_you_mean
from .io import now, versions, write_json
from .params import FIELDS, ParameterError, Params, check_name, check_value, read_toml, with_overrides

DESIGNS = ("grid", "lhs", "sobol", "list")
SWEEP_KEYS = ("design", "replicates", "days", "steps", "seed", "record", "samples", "second_order", "description")
TABLES = ("sweep", "fixed", "vary", "points")
ID_COLUMNS = ("run", "point", "replicate", "seed")
RUN_FILE = re.compile(r"^run-(\d+)\.parquet$")
FAIL_FILE = re.compile(r"^run-(\d+)\.json$")
MANIFEST_FORMAT = 1


# ---------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep spec.

    Attributes:
        design: ``grid``, ``lhs``, ``sobol`` or ``list``.
        replicates: runs per design point, each with its own seed.
        steps: run length in steps (or None to use ``days``).
        days: run length in simulated days (used when ``steps`` is None).
        seed: master seed of the sweep.
        record_every: 0 to record the final step only, else every K steps (and the last).
        samples: base sample size N for ``lhs`` (N points) and ``sobol`` (N (D + 2) points).
        second_order: whether a ``sobol`` design also allows second-order indices.
        fixed: parameter values common to all runs (``engine`` defaults to ``array``).
        varied: names of the varied parameters, in spec order.
        points: one mapping of varied values per design point.
        bounds: ``(low, high)`` per varied parameter for ``lhs`` and ``sobol``.
        raw: the spec as read from TOML (recorded in the manifest, compared on resume).
    """

    design: str
    replicates: int
    steps: int | None
    days: float | None
    seed: int
    record_every: int
    samples: int | None
    second_order: bool
    fixed: Mapping[str, Any]
    varied: tuple[str, ...]
    points: tuple[Mapping[str, Any], ...]
    bounds: Mapping[str, tuple[float, float]]
    raw: Mapping[str, Any]

    @property
    def n_points(self) -> int:
        """Number of design points."""
        return len(self.points)

    @property
    def n_runs(self) -> int:
        """Number of runs (points x replicates)."""
        return len(self.points) * self.replicates

    @property
    def base(self) -> Params:
        """Parameters with the fixed values applied (engine ``array`` unless fixed)."""
        return with_overrides(Params(engine="array"), self.fixed)

    def problem(self) -> dict[str, Any]:
        """The SALib problem dict of an ``lhs`` or ``sobol`` design."""
        return {
            "num_vars": len(self.varied),
            "names": list(self.varied),
            "bounds": [list(self.bounds[n]) for n in self.varied],
        }

    def run_seed(self, run: int) -> int:
        """Seed of run ``run``: from ``SeedSequence(seed, spawn_key=(run,))``, 63 bits."""
        return run_seed(self.seed, run)

    def task(self, run: int) -> RunTask:
        """Everything a worker needs to do run ``run``."""
        point, replicate = divmod(run, self.replicates)
        return RunTask(
            run=run,
            point=point,
            replicate=replicate,
            seed=self.run_seed(run),
            fixed=dict(self.fixed),
            values=dict(self.points[point]),
            steps=self.steps,
            days=self.days,
            record_every=self.record_every,
        )


def run_seed(master: int, run: int) -> int:
    """The seed of run ``run`` of a sweep with master seed ``master`` (a non-negative 63-bit int)."""
    state = np.random.SeedSequence(master, spawn_key=(run,)).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def _fail(message: str) -> None:
    raise ParameterError(message)


def _check_single(name: str, value: Any, where: str) -> Any:
    """Coerce and check one value of one parameter, without cross-parameter rules."""
    check_name(name)
    f = FIELDS[name]
    if isinstance(f.default, tuple):
        _fail(f"{where}: {name} holds a list of times; vary it with separate specs or set it in [fixed]")
    if isinstance(value, (dict, list)):
        _fail(f"{where}: {name} = {value!r} must be a single value")
    value = check_value(name, value)
    if f.metadata["integer"]:
        value = int(value)
    elif not f.metadata["choices"]:
        value = float(value)
    return value


def _int_setting(table: Mapping[str, Any], key: str, default: int | None, low: int) -> int | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        _fail(f"[sweep] {key} = {value!r} must be an integer >= {low}")
    return value


def parse_spec(data: Mapping[str, Any], seed: int | None = None) -> SweepSpec:
    """Check a spec (the dict read from TOML) and compute its design points.

    Every table, key, parameter name and value is checked here, before any run starts;
    problems raise :class:`ParameterError` with one line. Cross-parameter rules that only
    some design points break (say ``mean_degree`` below ``n_agents`` with both varied) are
    not errors here: those runs fail and are recorded (see :func:`invalid_points`).

    Args:
        data: the spec.
        seed: master seed to use when the spec gives none (drawn from the OS if None too).
    """
    for key in data:
        if key not in TABLES:
            _fail(
                f"unknown table [{key}] in the sweep spec: use {', '.join('[' + t + ']' for t in TABLES)}"
                f"{did_you_mean(key, TABLES)}"
            )
    sweep = data.get("sweep", {})
    fixed_in = data.get("fixed", {})
    vary = data.get("vary", {})
    for name, table in (("sweep", sweep), ("fixed", fixed_in), ("vary", vary)):
        if not isinstance(table, dict):
            _fail(f"[{name}] must be a table")
    for key in sweep:
        if key not in SWEEP_KEYS:
            _fail(f"unknown setting '{key}' in [sweep]{did_you_mean(key, SWEEP_KEYS)}: use {', '.join(SWEEP_KEYS)}")

    design = sweep.get("design", "grid")
    if design not in DESIGNS:
        hint = did_you_mean(str(design), DESIGNS)
        _fail(f"[sweep] design = {design!r} is not allowed: use one of {', '.join(DESIGNS)}{hint}")
    replicates = _int_setting(sweep, "replicates", 1, 1)
    steps = _int_setting(sweep, "steps", None, 1)
    days = sweep.get("days")
    if steps is not None and days is not None:
        _fail("[sweep] gives both steps and days: give one")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, (int, float)) or not math.isfinite(days) or days <= 0
    ):
        _fail(f"[sweep] days = {days!r} must be a positive number")
    if steps is None and days is None:
        days = 7.0
    master = sweep.get("seed", seed)
    if master is None:
        master = int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    if isinstance(master, bool) or not isinstance(master, int) or master < 0:
        _fail(f"[sweep] seed = {master!r} must be a non-negative integer")
    record = sweep.get("record", "final")
    record_every = 0
    if record != "final":
        m = re.fullmatch(r"every:(\d+)", str(record).strip())
        if not m or int(m.group(1)) < 1:
            _fail(f'[sweep] record = {record!r} is not allowed: use "final" or "every:K" with K >= 1')
        record_every = int(m.group(1))
    second_order = sweep.get("second_order", False)
    if not isinstance(second_order, bool):
        _fail(f"[sweep] second_order = {second_order!r} must be true or false")
    samples = sweep.get("samples")
    if design in ("lhs", "sobol"):
        samples = _int_setting(sweep, "samples", None, 2)
        if samples is None:
            _fail(f"[sweep] samples is missing: a {design} design needs a sample size N")
        if design == "sobol" and samples & (samples - 1):
            _fail(f"[sweep] samples = {samples} must be a power of 2 for a sobol design (e.g. 64, 128, 256)")
    elif samples is not None:
        _fail(f"[sweep] samples applies to lhs and sobol designs, not {design}")
    if "description" in sweep and not isinstance(sweep["description"], str):
        _fail("[sweep] description must be a string")

    fixed = {}
    for name, value in fixed_in.items():
        check_name(name)
        fixed[name] = value if isinstance(FIELDS[name].default, tuple) else _check_single(name, value, "[fixed]")
    with_overrides(Params(engine="array"), fixed)  # full check, cross-parameter rules included

    points_in = data.get("points")
    if points_in is not None and design != "list":
        _fail(f'[[points]] is for design = "list"; a {design} design takes [vary]')
    for name in vary:
        check_name(name)
        if name in fixed:
            _fail(f"{name} is both in [fixed] and in [vary]: keep one")

    bounds: dict[str, tuple[float, float]] = {}
    if design == "grid":
        if not vary:
            _fail("[vary] is missing or empty: a grid design needs at least one parameter with a list of values")
        levels = {}
        for name, values in vary.items():
            if not isinstance(values, list) or not values:
                _fail(f"[vary] {name} must be a non-empty list of values for a grid design, e.g. {name} = [a, b]")
            levels[name] = [_check_single(name, v, f"[vary] {name}") for v in values]
            if len(set(levels[name])) != len(levels[name]):
                _fail(f"[vary] {name} lists a value twice")
        varied = tuple(vary)
        points = tuple(dict(zip(varied, combo, strict=True)) for combo in itertools.product(*levels.values()))
    elif design == "list":
        if points_in is not None:
            if vary:
                _fail("a list design takes either [vary] lists or [[points]] tables, not both")
            if not isinstance(points_in, list) or not points_in or not all(isinstance(p, dict) for p in points_in):
                _fail("[[points]] must be one or more tables of name = value")
            varied = tuple(dict.fromkeys(k for p in points_in for k in p))
            for name in varied:
                check_name(name)
                if name in fixed:
                    _fail(f"{name} is both in [fixed] and in [[points]]: keep one")
            missing = [(i, n) for i, p in enumerate(points_in) for n in varied if n not in p]
            if missing:
                i, n = missing[0]
                _fail(f"[[points]] number {i + 1} has no value for {n}: give every point the same names")
            points = tuple(
                {n: _check_single(n, p[n], f"[[points]] number {i + 1}") for n in varied}
                for i, p in enumerate(points_in)
            )
        else:
            if not vary:
                _fail("[vary] is missing or empty: a list design needs equal-length lists in [vary] or [[points]]")
            lengths = {}
            for name, values in vary.items():
                if not isinstance(values, list) or not values:
                    _fail(f"[vary] {name} must be a non-empty list of values for a list design")
                lengths[name] = len(values)
            if len(set(lengths.values())) > 1:
                _fail(
                    "[vary] lists of a list design must have the same length (got "
                    + ", ".join(f"{n}: {k}" for n, k in lengths.items())
                    + ")"
                )
            varied = tuple(vary)
            columns = {n: [_check_single(n, v, f"[vary] {n}") for v in vals] for n, vals in vary.items()}
            points = tuple({n: columns[n][i] for n in varied} for i in range(next(iter(lengths.values()))))
    else:
        if not vary:
            _fail(f"[vary] is missing or empty: a {design} design needs name = {{ low = ..., high = ... }}")
        for name, rng in vary.items():
            f = FIELDS[name]
            if f.metadata["choices"] or isinstance(f.default, tuple):
                _fail(f"[vary] {name}: {design} designs vary numbers; set {name} in [fixed] or use a grid design")
            if not isinstance(rng, dict) or set(rng) != {"low", "high"}:
                _fail(f"[vary] {name} must be {{ low = ..., high = ... }} for a {design} design")
            low = _check_single(name, rng["low"], f"[vary] {name}.low")
            high = _check_single(name, rng["high"], f"[vary] {name}.high")
            if not low < high:
                _fail(f"[vary] {name}: low = {low:g} must be below high = {high:g}")
            bounds[name] = (float(low), float(high))
        varied = tuple(vary)
        points = _sampled_points(design, varied, bounds, samples, second_order, master)

    return SweepSpec(
        design=design,
        replicates=replicates,
        steps=steps,
        days=None if days is None else float(days),
        seed=master,
        record_every=record_every,
        samples=samples,
        second_order=second_order,
        fixed=fixed,
        varied=varied,
        points=points,
        bounds=bounds,
        raw=_plain(data),
    )


def _sampled_points(
    design: str,
    names: tuple[str, ...],
    bounds: Mapping[str, tuple[float, float]],
    samples: int,
    second_order: bool,
    seed: int,
) -> tuple[dict[str, Any], ...]:
    """Points of an ``lhs`` (SALib latin) or ``sobol`` (SALib Saltelli/Sobol') design."""
    problem = {"num_vars": len(names), "names": list(names), "bounds": [list(bounds[n]) for n in names]}
    if design == "lhs":
        from SALib.sample import latin

        x = latin.sample(problem, samples, seed=seed)
    else:
        from SALib.sample import sobol

        x = sobol.sample(problem, samples, calc_second_order=second_order, scramble=True, seed=seed)
    points = []
    for row in x:
        point = {}
        for name, v in zip(names, row, strict=True):
            low, high = bounds[name]
            v = min(max(float(v), low), high)
            point[name] = round(v) if FIELDS[name].metadata["integer"] else v
        points.append(point)
    return tuple(points)


def _plain(obj: Any) -> Any:
    """TOML data as plain JSON-able values (dates become strings)."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def load_spec(path: str | Path, seed: int | None = None) -> SweepSpec:
    """Read and check a sweep spec from a TOML file."""
    return parse_spec(read_toml(path), seed=seed)


def invalid_points(spec: SweepSpec) -> dict[int, str]:
    """Design points the model refuses (cross-parameter rules): point index -> the error."""
    base = spec.base
    bad = {}
    for i, point in enumerate(spec.points):
        try:
            with_overrides(base, point)
        except ParameterError as exc:
            bad[i] = str(exc)
    return bad


def plan(spec: SweepSpec) -> pd.DataFrame:
    """One row per run: run, point, replicate, seed and the varied values."""
    runs = np.arange(spec.n_runs)
    frame = pd.DataFrame(
        {
            "run": runs,
            "point": runs // spec.replicates,
            "replicate": runs % spec.replicates,
            "seed": [spec.run_seed(int(r)) for r in runs],
        }
    )
    for name in spec.varied:
        frame[name] = [spec.points[p][name] for p in frame["point"]]
    return frame


# ----------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class RunTask:
    """One run: a pure function of these fields."""

    run: int
    point: int
    replicate: int
    seed: int
    fixed: dict[str, Any]
    values: dict[str, Any]
    steps: int | None
    days: float | None
    record_every: int


def execute(task: RunTask) -> pd.DataFrame:
    """Do one run and return its recorded rows, with the run's identity and parameters as columns."""
    from .model import BondingModel, steps_for

    params = with_overrides(with_overrides(Params(engine="array"), task.fixed), task.values)
    n_steps = steps_for(params, task.steps, task.days)
    model = BondingModel(params, seed=task.seed, create_agents=False)
    model.run(n_steps)
    frame = model.timeseries()
    if task.record_every:
        keep = (frame["step"] % task.record_every == 0) | (frame["step"] == frame["step"].iloc[-1])
        frame = frame[keep]
    else:
        frame = frame.iloc[[-1]]
    frame = frame.reset_index(drop=True)
    head = {"run": task.run, "point": task.point, "replicate": task.replicate, "seed": task.seed}
    head.update({name: getattr(params, name) for name in (*task.fixed, *task.values)})
    head_frame = pd.DataFrame({k: [v] * len(frame) for k, v in head.items()})
    out = pd.concat([head_frame, frame], axis=1)
    for column in ("run", "point", "replicate", "seed", "step"):
        out[column] = out[column].astype(np.int64)
    return out


def run_tasks(tasks: list[RunTask]) -> list[tuple[int, pd.DataFrame | None, str | None]]:
    """Worker entry point for a batch of runs: one :func:`run_task` result per run."""
    return [run_task(task) for task in tasks]


def batch_size(runs: int, threads: int, largest: int = 16) -> int:
    """Runs per Dask task: enough to keep scheduling cheap, few enough to keep every worker busy."""
    return max(1, min(largest, runs // (8 * max(threads, 1))))


def run_task(task: RunTask) -> tuple[int, pd.DataFrame | None, str | None]:
    """Run one task: ``(run, rows, None)``, or ``(run, None, error)`` if the run raised."""
    try:
        return task.run, execute(task), None
    except Exception as exc:  # a failing run is recorded; the sweep goes on
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        if not isinstance(exc, UserError):
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message += f" (at {Path(where.filename).name}:{where.lineno})"
        return task.run, None, message


# ------------------------------------------------------------------------ the store
def run_path(out: Path, run: int) -> Path:
    """Path of run ``run``'s Parquet file."""
    return out / "runs" / f"run-{run:06d}.parquet"


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False, engine="pyarrow")
    os.replace(tmp, path)


def finished_runs(out: str | Path) -> set[int]:
    """Runs whose result file exists in a sweep directory."""
    folder = Path(out) / "runs"
    if not folder.is_dir():
        return set()
    return {int(m.group(1)) for p in folder.iterdir() if (m := RUN_FILE.match(p.name))}


def results(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The sweep's dataset as one DataFrame, sorted by run and step."""
    folder = Path(out) / "runs"
    files = sorted(p for p in folder.glob("run-*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=list(columns or ID_COLUMNS))
    frame = pd.concat([pd.read_parquet(p, columns=columns) for p in files], ignore_index=True)
    keys = [c for c in ("run", "step") if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True) if keys else frame


def failures(out: str | Path) -> pd.DataFrame:
    """The failures table of a sweep: run, point, replicate, seed, varied values, error."""
    path = Path(out) / "failures.csv"
    if path.is_file():
        return pd.read_csv(path)
    rows = [json.loads(p.read_text()) for p in sorted((Path(out) / "failures").glob("run-*.json"))]
    return pd.DataFrame(rows)


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep directory."""
    path = Path(out) / "manifest.json"
    if not path.is_file():
        raise UserError(f"{out} is not a sweep directory (no manifest.json)")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


# ---------------------------------------------------------------------- the cluster
@contextlib.contextmanager
def connect(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: on an existing scheduler, or on a LocalCluster of ``workers`` processes.

    The LocalCluster has one single-threaded worker process per core by default.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise UserError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
        try:
            client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            client.close()
            raise UserError(f"the Dask scheduler at {scheduler} has no workers (waited 120 s)") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ------------------------------------------------------------------------ the sweep
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
    """

    out: Path
    runs: int
    done: int
    failed: int
    resumed: int
    elapsed_seconds: float

    def results(self) -> pd.DataFrame:
        """The dataset (see :func:`results`)."""
        return results(self.out)

    def failures(self) -> pd.DataFrame:
        """The failures table (see :func:`failures`)."""
        return failures(self.out)


def _prepare(spec: SweepSpec, out: Path, resume: bool, spec_file: str | None) -> tuple[dict[str, Any], set[int]]:
    """Create or reopen the sweep directory; returns the manifest and finished runs."""
    manifest_path = out / "manifest.json"
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    if resume:
        if not manifest_path.is_file():
            raise UserError(f"cannot resume: {out} holds no sweep (no manifest.json); run without --resume")
        manifest = read_manifest(out)
        if manifest.get("spec") != spec.raw or manifest.get("seeds", {}).get("master") != spec.seed:
            raise UserError(f"cannot resume: the spec differs from the one {out} was started with")
        for folder in ("runs", "failures"):
            (out / folder).mkdir(exist_ok=True)
            for p in (out / folder).glob(".*.tmp"):
                p.unlink()
        return manifest, finished_runs(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty: use --resume to continue the sweep in it, or another --out")
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
        (out / "failures").mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror}") from None
    table = plan(spec)
    tmp = out / ".plan.csv.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out / "plan.csv")
    manifest = {
        "format": MANIFEST_FORMAT,
        "command": "sweep",
        "spec_file": spec_file,
        "spec": spec.raw,
        "design": spec.design,
        "replicates": spec.replicates,
        "steps": spec.steps,
        "days": spec.days,
        "record": "final" if not spec.record_every else f"every:{spec.record_every}",
        "samples": spec.samples,
        "second_order": spec.second_order,
        "fixed": dict(spec.fixed),
        "varied": list(spec.varied),
        "bounds": {k: list(v) for k, v in spec.bounds.items()},
        "points": spec.n_points,
        "runs": spec.n_runs,
        "seeds": {
            "master": spec.seed,
            "rule": "run r: SeedSequence(master, spawn_key=(r,)).generate_state(1, "
            "uint64)[0] >> 1; listed per run in plan.csv",
        },
        "versions": versions(extra=("dask", "distributed", "pyarrow", "SALib")),
        "started": now(),
        "finished": None,
        "status": "running",
        "counts": {"runs": spec.n_runs, "done": 0, "failed": 0},
    }
    write_json(manifest_path, manifest)
    return manifest, set()


def _failure_row(spec: SweepSpec, run: int, error: str) -> dict[str, Any]:
    task = spec.task(run)
    return {
        "run": run,
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        **task.values,
        "error": error,
    }


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = False,
    max_in_flight: int | None = None,
    spec_file: str | None = None,
) -> SweepReport:
    """Run a sweep on Dask, streaming one Parquet file per run into ``out/runs``.

    Args:
        spec: a checked spec, or the path of a TOML spec.
        out: the sweep directory (created; must be empty unless ``resume``).
        workers: worker processes of the LocalCluster (default: one per core).
        scheduler: address of an existing Dask scheduler (``tcp://host:port``) instead.
        resume: continue the sweep in ``out``, running only runs without a result file.
        progress: show a progress bar (runs done, failures, ETA) on stderr.
        max_in_flight: tasks submitted at once (default: 4 per worker thread, at least 8); a task
            holds a small batch of runs (:func:`batch_size`) so that scheduling stays cheap.
        spec_file: the spec's file name, recorded in the manifest.

    Returns:
        A :class:`SweepReport`; ``report.results()`` and ``report.failures()`` give DataFrames.
    """
    from distributed import as_completed
    from tqdm.auto import tqdm

    if not isinstance(spec, SweepSpec):
        spec_file = spec_file or str(spec)
        spec = load_spec(spec)
    if workers is not None and scheduler is not None:
        raise UserError("give either workers or scheduler, not both")
    if workers is not None and workers < 1:
        raise UserError(f"workers = {workers} must be at least 1")
    out = Path(out)
    t0 = time.perf_counter()
    manifest, done = _prepare(spec, out, resume, spec_file)
    resumed = len(done)
    todo = [r for r in range(spec.n_runs) if r not in done]
    failed = 0
    status = "interrupted"
    bar = tqdm(
        total=spec.n_runs,
        initial=resumed,
        unit="run",
        desc="sweep",
        disable=not progress,
        file=sys.stderr,
        mininterval=0.5,
        dynamic_ncols=True,
    )
    bar.set_postfix(failed=0)
    token = f"{spec.seed:x}-{os.getpid()}-{time.time_ns():x}"
    try:
        if todo:
            with connect(workers, scheduler) as client:
                manifest["cluster"] = {
                    "scheduler": scheduler or "LocalCluster",
                    "workers": len(client.scheduler_info().get("workers", {})),
                }
                threads = sum(client.nthreads().values()) or 1
                limit = max_in_flight or max(8, 4 * threads)
                size = batch_size(len(todo), threads)
                batches = iter([todo[i : i + size] for i in range(0, len(todo), size)])
                pending = as_completed()
                batch_of = {}

                def submit_next() -> None:
                    runs = next(batches, None)
                    if runs is not None:
                        key = f"bondsim-runs-{token}-{runs[0]}"
                        batch_of[key] = runs
                        tasks = [spec.task(run) for run in runs]
                        pending.add(client.submit(run_tasks, tasks, key=key, pure=False, retries=0))

                for _ in range(limit):
                    submit_next()
                for future in pending:
                    runs = batch_of.pop(future.key)
                    if future.status == "error":  # the task itself was lost, e.g. its workers kept dying
                        exc = future.exception()
                        message = " ".join(f"{type(exc).__name__}: {exc}".split())
                        outcomes = [(run, None, message) for run in runs]
                    else:
                        outcomes = future.result()
                    future.release()
                    for run, rows, error in outcomes:
                        fail_file = out / "failures" / f"run-{run:06d}.json"
                        if error is None:
                            _atomic_parquet(rows, run_path(out, run))
                            fail_file.unlink(missing_ok=True)
                        else:
                            write_json(fail_file, _failure_row(spec, run, error))
                            failed += 1
                    del outcomes
                    bar.update(len(runs))
                    bar.set_postfix(failed=failed, refresh=False)
                    submit_next()
        status = "failed" if failed else "complete"
    finally:
        bar.close()
        n_done, n_failed = _finish(spec, out, manifest, status, t0)
    return SweepReport(
        out=out,
        runs=spec.n_runs,
        done=n_done,
        failed=n_failed,
        resumed=resumed,
        elapsed_seconds=time.perf_counter() - t0,
    )


def _finish(spec: SweepSpec, out: Path, manifest: dict[str, Any], status: str, t0: float) -> tuple[int, int]:
    """Write failures.csv and the final manifest; returns runs done and runs failed."""
    rows = [json.loads(p.read_text()) for p in sorted((out / "failures").glob("run-*.json"))]
    columns = [*ID_COLUMNS, *spec.varied, "error"]
    table = pd.DataFrame(rows, columns=columns)
    tmp = out / ".failures.csv.tmp"
    table.to_csv(tmp, index=False)
    os.replace(tmp, out / "failures.csv")
    n_done = len(finished_runs(out))
    if status == "complete" and n_done < spec.n_runs:
        status = "failed"
    manifest.update(
        {
            "finished": now(),
            "status": status,
            "elapsed_seconds": round(manifest.get("elapsed_seconds", 0.0) + time.perf_counter() - t0, 3),
            "counts": {"runs": spec.n_runs, "done": n_done, "failed": len(rows)},
        }
    )
    write_json(out / "manifest.json", manifest)
    return n_done, len(rows)


# ---------------------------------------------------------------------------- the CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim sweep``."""
    from .runner import positive_int

    parser.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (see docs/sweeps.md)")
    parser.add_argument("--out", help="sweep directory (default results/sweeps/<spec name>)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="worker processes of the local cluster (default: cores)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="use an existing Dask scheduler")
    parser.add_argument("--resume", action="store_true", help="continue the sweep in --out, skipping finished runs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def command(args: argparse.Namespace) -> int:
    """Check the spec, run the sweep, report; exit status 1 if some runs failed."""
    spec = load_spec(args.spec)
    out = Path(args.out) if args.out else Path("results") / "sweeps" / Path(args.spec).stem
    bad = invalid_points(spec)
    if len(bad) == spec.n_points:
        raise ParameterError(f"every design point is refused by the model, e.g. {next(iter(bad.values()))}")
    if bad and not args.quiet:
        print(
            f"bondsim sweep: warning: {len(bad)} of {spec.n_points} design points break a rule between "
            f"parameters and will be recorded as failures, e.g. {next(iter(bad.values()))}",
            file=sys.stderr,
        )
    if not args.quiet:
        print(
            f"bondsim sweep: {spec.design} design, {spec.n_points} points x {spec.replicates} replicates = "
            f"{spec.n_runs} runs, seed {spec.seed} -> {out}"
        )
    report = run_sweep(
        spec,
        out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=not args.quiet,
        spec_file=str(args.spec),
    )
    if not args.quiet:
        resumed = f" ({report.resumed} already done)" if report.resumed else ""
        print(
            f"bondsim sweep: {report.done} of {report.runs} runs done{resumed} in "
            f"{report.elapsed_seconds:.1f} s; dataset {out / 'runs'}, manifest {out / 'manifest.json'}"
        )
    if report.failed:
        print(
            f"bondsim sweep: {report.failed} of {report.runs} runs failed; see {out / 'failures.csv'} "
            f"(bondsim sweep --resume retries them)",
            file=sys.stderr,
        )
        return 1
    return 0


__all__ = [
    "SweepReport",
    "SweepSpec",
    "failures",
    "invalid_points",
    "load_spec",
    "parse_spec",
    "plan",
    "results",
    "run_seed",
    "run_sweep",
]
