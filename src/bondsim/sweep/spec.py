"""The sweep spec: reading and checking the TOML file, and the runs it asks for.

A spec (see docs/sweeps.md) names a design (:mod:`bondsim.sweep.designs`) over some parameters,
the others fixed, a number of replicates, a run length and a master seed. Everything is checked
here, before any run starts; a problem raises :class:`~bondsim.errors.ParameterError` with one
line. The run of design point ``p``, replicate ``k`` gets the seed ``seed_for(master, p, k)``
(:func:`bondsim.batch.seed_for`), so adding replicates or points keeps every existing run's seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import events as interventions
from ..batch import seed_for
from ..drugs import from_tables
from ..errors import did_you_mean
from ..model import check_model
from ..outputs import Outputs, check_outputs, output_columns, parse_outputs, parse_schedule
from ..params import ParameterError, Params, check_name, check_value, mechanism_list, read_toml, with_overrides
from . import designs
from .designs import DESIGNS, SAMPLED

SWEEP_KEYS = (
    "design",
    "replicates",
    "days",
    "steps",
    "seed",
    "record",
    "samples",
    "second_order",
    "levels",
    "description",
)
TABLES = ("sweep", "fixed", "vary", "points", "drugs", "outputs", "events")
ID_COLUMNS = ("run", "point", "replicate", "seed")


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
    outputs: Outputs = field(default_factory=Outputs)
    events: tuple[interventions.Event, ...] = ()  # the spec's [[events]], the same in every run


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep spec.

    Attributes:
        design: ``grid``, ``list``, ``lhs``, ``sobol`` or ``morris``.
        replicates: runs per design point, each with its own seed.
        steps: run length in steps (or None to use ``days``).
        days: run length in simulated days (used when ``steps`` is None).
        seed: master seed of the sweep.
        record_every: K when recording every K steps (1: every step), else 0 (the schedule is ``outputs.record``).
        samples: base sample size N for ``lhs`` (N points), ``sobol`` (N (D + 2) points) and ``morris``
            (N trajectories, N (D + 1) points).
        second_order: whether a ``sobol`` design also allows second-order indices.
        levels: grid levels of a ``morris`` design (even, default 4).
        fixed: parameter values common to all runs (``engine`` defaults to ``array``).
        varied: names of the varied parameters, in spec order.
        points: one mapping of varied values per design point.
        bounds: ``(low, high)`` per varied parameter for ``lhs``, ``sobol`` and ``morris``.
        raw: the spec as read from TOML (recorded in the manifest, compared on resume).
        outputs: what each run records (the ``[outputs]`` table and ``record``; see :mod:`bondsim.outputs`).
        events: interventions in every run (``[[events]]``, :mod:`bondsim.events`), from time zero.
    """

    design: str
    replicates: int
    steps: int | None
    days: float | None
    seed: int
    record_every: int
    samples: int | None
    second_order: bool
    levels: int | None
    fixed: Mapping[str, Any]
    varied: tuple[str, ...]
    points: tuple[Mapping[str, Any], ...]
    bounds: Mapping[str, tuple[float, float]]
    raw: Mapping[str, Any]
    outputs: Outputs = field(default_factory=Outputs)
    events: tuple[interventions.Event, ...] = ()

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

    @property
    def engine(self) -> str:
        """The engine of the runs (``array`` unless the spec fixes another)."""
        return self.base.engine

    @property
    def record(self) -> str:
        """The ``record`` setting as written in the spec."""
        return self.outputs.record.text

    def problem(self) -> dict[str, Any]:
        """The SALib problem dict of a sampled design."""
        return designs.problem(self.varied, self.bounds)

    def matrix(self) -> np.ndarray:
        """The sample matrix of a sampled design, before rounding (what SALib's analyzers expect)."""
        if self.design == "lhs":
            return designs.lhs_matrix(self.varied, self.bounds, self.samples, self.seed)
        if self.design == "sobol":
            return designs.sobol_matrix(self.varied, self.bounds, self.samples, self.second_order, self.seed)
        if self.design == "morris":
            return designs.morris_matrix(self.varied, self.bounds, self.samples, self.levels, self.seed)
        raise ValueError(f"a {self.design} design has no sample matrix")

    def seed_of(self, point: int, replicate: int) -> int:
        """Seed of the run of design point ``point``, replicate ``replicate``: ``seed_for(seed, point, replicate)``."""
        return seed_for(self.seed, point, replicate)

    def run_seed(self, run: int) -> int:
        """Seed of run ``run`` of this spec's plan (point ``run // replicates``, replicate ``run % replicates``)."""
        return self.seed_of(*divmod(run, self.replicates))

    def task(self, run: int) -> RunTask:
        """Everything a worker needs to do run ``run`` of this spec's plan."""
        point, replicate = divmod(run, self.replicates)
        return RunTask(
            run=run,
            point=point,
            replicate=replicate,
            seed=self.seed_of(point, replicate),
            fixed=dict(self.fixed),
            values=dict(self.points[point]),
            steps=self.steps,
            days=self.days,
            record_every=self.record_every,
            outputs=self.outputs,
            events=self.events,
        )


def run_seed(master: int, *key: int) -> int:
    """``seed_for(master, *key)``: the seed rule of sweeps (point, replicate) and experiments (see bondsim.batch)."""
    return seed_for(master, *key)


def _fail(message: str) -> None:
    raise ParameterError(message)


def _check_single(name: str, value: Any, where: str, base: Params) -> Any:
    """Coerce and check one value of one parameter, without cross-parameter rules."""
    check_name(name, base)
    f = base.parameter(name)
    if isinstance(f.default, tuple):
        _fail(f"{where}: {name} holds a list of times; vary it with separate specs or set it in [fixed]")
    if isinstance(value, (dict, list)):
        _fail(f"{where}: {name} = {value!r} must be a single value")
    value = check_value(name, value, base)
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
    schedule = parse_schedule(sweep.get("record", "final"), "[sweep] record")
    record_every = {"all": 1, "every": schedule.every}.get(schedule.kind, 0)
    outputs = parse_outputs(data.get("outputs"), "[outputs]", record=schedule)
    second_order = sweep.get("second_order", False)
    if not isinstance(second_order, bool):
        _fail(f"[sweep] second_order = {second_order!r} must be true or false")
    samples = sweep.get("samples")
    if design in SAMPLED:
        samples = _int_setting(sweep, "samples", None, 2)
        if samples is None:
            _fail(f"[sweep] samples is missing: a {design} design needs a sample size N")
        if design == "sobol" and samples & (samples - 1):
            _fail(f"[sweep] samples = {samples} must be a power of 2 for a sobol design (e.g. 64, 128, 256)")
    elif samples is not None:
        _fail(f"[sweep] samples applies to {', '.join(SAMPLED)} designs, not {design}")
    levels = None
    if design == "morris":
        levels = _int_setting(sweep, "levels", 4, 2)
        if levels % 2:
            _fail(f"[sweep] levels = {levels} must be even for a morris design (e.g. 4)")
    elif "levels" in sweep:
        _fail(f"[sweep] levels applies to morris designs, not {design}")
    if "description" in sweep and not isinstance(sweep["description"], str):
        _fail("[sweep] description must be a string")

    # the model's mechanisms and the spec's own drugs first: they decide which parameters exist
    fixed: dict[str, Any] = {}
    if "mechanisms" in fixed_in:
        fixed["mechanisms"] = list(mechanism_list(fixed_in["mechanisms"]))
    if "drugs" in data:
        drug_tables = data["drugs"]
        from_tables(drug_tables, "the sweep spec")  # checked here, kept as tables (they go into the manifest)
        fixed["drugs"] = {name: dict(table) for name, table in drug_tables.items()}
    base = with_overrides(Params(engine="array"), fixed)
    for name, value in fixed_in.items():
        if name == "mechanisms":
            continue
        check_name(name, base)
        is_list = isinstance(base.parameter(name).default, tuple)
        fixed[name] = value if is_list else _check_single(name, value, "[fixed]", base)
    check_model(with_overrides(Params(engine="array"), fixed))  # full check: cross-parameter rules, every rule
    check_outputs(outputs, base)
    events = ()
    if "events" in data:
        events = interventions.parse(data["events"], "[[events]] in the sweep spec", base)

    points_in = data.get("points")
    if points_in is not None and design != "list":
        _fail(f'[[points]] is for design = "list"; a {design} design takes [vary]')
    for name in vary:
        check_name(name, base)
        if name in fixed:
            _fail(f"{name} is both in [fixed] and in [vary]: keep one")

    bounds: dict[str, tuple[float, float]] = {}
    if design == "grid":
        if not vary:
            _fail("[vary] is missing or empty: a grid design needs at least one parameter with a list of values")
        grid_levels = {}
        for name, values in vary.items():
            if not isinstance(values, list) or not values:
                _fail(f"[vary] {name} must be a non-empty list of values for a grid design, e.g. {name} = [a, b]")
            grid_levels[name] = [_check_single(name, v, f"[vary] {name}", base) for v in values]
            if len(set(grid_levels[name])) != len(grid_levels[name]):
                _fail(f"[vary] {name} lists a value twice")
        varied = tuple(vary)
        points = designs.grid(grid_levels)
    elif design == "list":
        if points_in is not None:
            if vary:
                _fail("a list design takes either [vary] lists or [[points]] tables, not both")
            if not isinstance(points_in, list) or not points_in or not all(isinstance(p, dict) for p in points_in):
                _fail("[[points]] must be one or more tables of name = value")
            varied = tuple(dict.fromkeys(k for p in points_in for k in p))
            for name in varied:
                check_name(name, base)
                if name in fixed:
                    _fail(f"{name} is both in [fixed] and in [[points]]: keep one")
            missing = [(i, n) for i, p in enumerate(points_in) for n in varied if n not in p]
            if missing:
                i, n = missing[0]
                _fail(f"[[points]] number {i + 1} has no value for {n}: give every point the same names")
            points = tuple(
                {n: _check_single(n, p[n], f"[[points]] number {i + 1}", base) for n in varied}
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
            columns = {n: [_check_single(n, v, f"[vary] {n}", base) for v in vals] for n, vals in vary.items()}
            points = designs.listed(columns)
    else:
        if not vary:
            _fail(f"[vary] is missing or empty: a {design} design needs name = {{ low = ..., high = ... }}")
        for name, rng in vary.items():
            f = base.parameter(name)
            if f.metadata["choices"] or isinstance(f.default, tuple):
                _fail(f"[vary] {name}: {design} designs vary numbers; set {name} in [fixed] or use a grid design")
            if not isinstance(rng, dict) or set(rng) != {"low", "high"}:
                _fail(f"[vary] {name} must be {{ low = ..., high = ... }} for a {design} design")
            low = _check_single(name, rng["low"], f"[vary] {name}.low", base)
            high = _check_single(name, rng["high"], f"[vary] {name}.high", base)
            if not low < high:
                _fail(f"[vary] {name}: low = {low:g} must be below high = {high:g}")
            bounds[name] = (float(low), float(high))
        varied = tuple(vary)
        if design == "lhs":
            integers = [n for n in varied if base.parameter(n).integer]
            points = designs.lhs(varied, bounds, samples, master, integers)
        elif design == "sobol":
            integers = [n for n in varied if base.parameter(n).integer]
            points = designs.sobol(varied, bounds, samples, second_order, master, integers)
        else:
            integers = [n for n in varied if base.parameter(n).integer]
            points = designs.morris(varied, bounds, samples, levels, master, integers)

    taken = {**dict.fromkeys(ID_COLUMNS, "an identity column"), **dict.fromkeys((*fixed, *varied), "a parameter")}
    for column in output_columns(outputs, base):
        if column in taken:
            _fail(f"output '{column}' has the name of {taken[column]} of the sweep's rows: rename it")
    return SweepSpec(
        design=design,
        replicates=replicates,
        steps=steps,
        days=None if days is None else float(days),
        seed=master,
        record_every=record_every,
        samples=samples,
        second_order=second_order,
        levels=levels,
        fixed=fixed,
        varied=varied,
        points=points,
        bounds=bounds,
        raw=_plain(data),
        outputs=outputs,
        events=events,
    )


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
    """One row per run: run, point, replicate, seed and the varied values (point-major run numbers)."""
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
