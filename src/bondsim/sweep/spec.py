"""The sweep spec: reading and checking the TOML file, and the runs it asks for.

A spec (see docs/sweeps.md) names a design (:mod:`bondsim.sweep.designs`) over some parameters,
the others fixed, a number of replicates, a run length and a master seed. Everything is checked
here, before any run starts; a problem raises :class:`~bondsim.errors.ParameterError` with one
line. The run of design point ``p``, replicate ``k`` gets the seed ``seed_for(master, p, k)``
(:func:`bondsim.batch.seed_for`), so adding replicates or points keeps every existing run's seed.

A ``[compare]`` table names two or more *arms*, each a table of parameter changes (a drug and
dose, a mechanism list, ``replace``, any parameter): every design point and replicate runs once
per arm, every arm with the same seed (common random numbers, :mod:`bondsim.contrast`). In
``lhs``, ``sobol`` and ``morris`` designs a parameter may be a categorical factor,
``name = { choices = [...] }`` (:mod:`bondsim.sweep.designs`).
"""

from __future__ import annotations

import json
import math
import re
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
from ..params import (
    ParameterError,
    Params,
    check_name,
    check_value,
    mechanism_list,
    read_toml,
    replaced,
    with_overrides,
)
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
TABLES = ("sweep", "fixed", "vary", "points", "drugs", "outputs", "compare", "events")
ID_COLUMNS = ("run", "point", "replicate", "seed")
ARM_ID_COLUMNS = ("run", "point", "replicate", "arm", "seed")  # a sweep with a [compare] table
MODEL_KEYS = ("mechanisms", "replace")  # model changes that are not parameters (no column of the dataset)
NOT_COLUMNS = ("mechanisms", "drugs", "replace")  # recorded in the manifest, not as columns
ARM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


def id_columns(arms: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The identity columns of a sweep's rows: ``arm`` too when it compares arms."""
    return ARM_ID_COLUMNS if arms else ID_COLUMNS


def level_label(value: Any) -> Any:
    """A level as the dataset records it: a mechanism list as its modules joined by ', ', others as they are."""
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else value


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
    arm: str | None = None
    arm_values: dict[str, Any] = field(default_factory=dict)
    arm_columns: tuple[str, ...] = ()

    def params(self) -> Params:
        """The run's parameters: defaults (engine ``array``), then the fixed values and the arm's, then the point's."""
        changes = {**self.fixed, **self.arm_values} if self.arm_values else self.fixed
        return with_overrides(with_overrides(Params(engine="array"), changes), self.values)

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
        arms: the arms of the ``[compare]`` table in order (the first is the reference), each its
            parameter changes; empty without one.
        choices: the levels of each categorical factor of a sampled design (``{ choices = [...] }``).
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
    arms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    events: tuple[interventions.Event, ...] = ()

    @property
    def n_points(self) -> int:
        """Number of design points."""
        return len(self.points)

    @property
    def arm_names(self) -> tuple[str, ...]:
        """The arms of the ``[compare]`` table, the reference first (empty without one)."""
        return tuple(self.arms)

    @property
    def n_arms(self) -> int:
        """Runs per design point and replicate: the arms, or 1."""
        return max(1, len(self.arms))

    @property
    def n_runs(self) -> int:
        """Number of runs (points x replicates x arms)."""
        return len(self.points) * self.replicates * self.n_arms

    @property
    def id_columns(self) -> tuple[str, ...]:
        """The identity columns of the rows (``arm`` too with a ``[compare]`` table)."""
        return id_columns(self.arm_names)

    @property
    def arm_columns(self) -> tuple[str, ...]:
        """The parameters some arm sets (columns of the dataset), in order of appearance."""
        names = (n for changes in self.arms.values() for n in changes if n not in MODEL_KEYS)
        return tuple(n for n in dict.fromkeys(names) if n not in self.fixed)

    def run_key(self, run: int) -> tuple[int, int, str | None]:
        """(point, replicate, arm) of run ``run`` of this spec's plan: point-major, then replicate, then arm."""
        pair, arm = divmod(run, self.n_arms)
        point, replicate = divmod(pair, self.replicates)
        return point, replicate, (self.arm_names[arm] if self.arms else None)

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
        """Seed of run ``run`` of this spec's plan: that of its (point, replicate), shared by its arms."""
        point, replicate, _ = self.run_key(run)
        return self.seed_of(point, replicate)

    def task(self, run: int) -> RunTask:
        """Everything a worker needs to do run ``run`` of this spec's plan."""
        point, replicate, arm = self.run_key(run)
        return self.task_for(run, point, replicate, arm, self.seed_of(point, replicate), self.points[point])

    def task_for(
        self, run: int, point: int, replicate: int, arm: str | None, seed: int, values: Mapping[str, Any]
    ) -> RunTask:
        """The task of a planned run (its number, point, replicate, arm, seed and point values)."""
        return RunTask(
            run=run,
            point=point,
            replicate=replicate,
            seed=seed,
            fixed=dict(self.fixed),
            values=dict(values),
            steps=self.steps,
            days=self.days,
            record_every=self.record_every,
            outputs=self.outputs,
            arm=arm,
            arm_values=dict(self.arms[arm]) if arm is not None else {},
            arm_columns=self.arm_columns,
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


def _prefixed(where: str, check: Any, *args: Any) -> Any:
    """``check(*args)``, its one-line refusal prefixed with ``where`` (unless it names it already)."""
    try:
        return check(*args)
    except ParameterError as exc:
        message = str(exc)
        if message.startswith(where):
            raise
        raise ParameterError(f"{where}: {message}") from None


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
    if "replace" in fixed_in:
        replaced(tuple(fixed.get("mechanisms", Params().mechanisms)), fixed_in["replace"])
        fixed["replace"] = dict(fixed_in["replace"])
    if "drugs" in data:
        drug_tables = data["drugs"]
        from_tables(drug_tables, "the sweep spec")  # checked here, kept as tables (they go into the manifest)
        fixed["drugs"] = {name: dict(table) for name, table in drug_tables.items()}
    base = with_overrides(Params(engine="array"), fixed)
    for name, value in fixed_in.items():
        if name in MODEL_KEYS:
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
        if name == "mechanisms" and design in SAMPLED:
            if "mechanisms" in fixed or "replace" in fixed:
                _fail("mechanisms is both in [fixed] (mechanisms or replace) and in [vary]: keep one")
            continue
        if name in MODEL_KEYS:
            _fail(
                f"[vary] {name}: vary the model with {{ choices = [...] }} in a lhs, sobol or morris design, "
                f"or with arms of a [compare] table"
            )
        check_name(name, base)
        if name in fixed:
            _fail(f"{name} is both in [fixed] and in [vary]: keep one")
    arms = _arms(data.get("compare"), fixed, base, vary)

    bounds: dict[str, tuple[float, float]] = {}
    choices: dict[str, tuple[Any, ...]] = {}
    if design == "grid":
        if not vary and not arms:
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
                for arm, changes in arms.items():
                    if name in changes:
                        _fail(f"{name} is both in [[points]] and in [compare] {arm}: keep one")
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
            _fail(
                f"[vary] is missing or empty: a {design} design needs name = {{ low = ..., high = ... }} "
                f"or name = {{ choices = [...] }}"
            )
        for name, rng in vary.items():
            if isinstance(rng, dict) and "choices" in rng:
                choices[name] = _levels(name, rng, base, fixed)
                bounds[name] = (0.0, float(len(choices[name])))
                continue
            if name == "mechanisms":
                _fail("[vary] mechanisms must be { choices = [[...], [...]] }: two or more lists of mechanism modules")
            f = base.parameter(name)
            if f.metadata["choices"]:
                shown = ", ".join(f'"{c}"' for c in f.allowed_choices(base.drugs)[:2])
                _fail(
                    f"[vary] {name}: {design} designs vary numbers in a range; sample {name} from its levels "
                    f"with {name} = {{ choices = [{shown}] }}"
                )
            if isinstance(f.default, tuple):
                _fail(f"[vary] {name}: {name} holds a list of times; set it in [fixed] or in the arms of [compare]")
            if not isinstance(rng, dict) or set(rng) != {"low", "high"}:
                _fail(
                    f"[vary] {name} must be {{ low = ..., high = ... }} (or {{ choices = [...] }}) "
                    f"for a {design} design"
                )
            low = _check_single(name, rng["low"], f"[vary] {name}.low", base)
            high = _check_single(name, rng["high"], f"[vary] {name}.high", base)
            if not low < high:
                _fail(f"[vary] {name}: low = {low:g} must be below high = {high:g}")
            bounds[name] = (float(low), float(high))
        varied = tuple(vary)
        integers = [n for n in varied if n not in choices and base.parameter(n).integer]
        if design == "lhs":
            points = designs.lhs(varied, bounds, samples, master, integers, choices)
        elif design == "sobol":
            points = designs.sobol(varied, bounds, samples, second_order, master, integers, choices)
        else:
            points = designs.morris(varied, bounds, samples, levels, master, integers, choices)

    identity = id_columns(tuple(arms))
    arm_names = [n for changes in arms.values() for n in changes if n not in MODEL_KEYS]
    taken = {
        **dict.fromkeys(identity, "an identity column"),
        **dict.fromkeys((*fixed, *arm_names, *varied), "a parameter"),
    }
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
        arms=arms,
        choices=choices,
        events=events,
    )


def _levels(name: str, table: Mapping[str, Any], base: Params, fixed: Mapping[str, Any]) -> tuple[Any, ...]:
    """The levels of a categorical factor ``name = { choices = [...] }``, each checked."""
    if set(table) != {"choices"}:
        _fail(f"[vary] {name} = {{ choices = [...] }} takes no other key (got {', '.join(sorted(table))})")
    values = table["choices"]
    if not isinstance(values, list) or len(values) < 2:
        _fail(f"[vary] {name}: choices must list at least two levels, e.g. {name} = {{ choices = [a, b] }}")
    if name == "mechanisms":
        levels = []
        for i, value in enumerate(values):
            level = list(mechanism_list(value))
            try:
                check_model(with_overrides(Params(engine="array"), {**fixed, "mechanisms": level}))
            except ParameterError as exc:
                _fail(f"[vary] mechanisms: level {i + 1} ({level_label(level)}): {exc}")
            levels.append(level)
    else:
        f = base.parameter(name)
        if isinstance(f.default, tuple):
            _fail(f"[vary] {name}: {name} holds a list of times; set it in [fixed] or in the arms of [compare]")
        levels = [_prefixed(f"[vary] {name}", _check_single, name, v, f"[vary] {name}", base) for v in values]
    if len({json.dumps(v) for v in levels}) != len(levels):
        _fail(f"[vary] {name}: choices list a level twice")
    return tuple(levels)


def _arms(table: Any, fixed: Mapping[str, Any], base: Params, vary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The arms of a ``[compare]`` table, each checked against the model it makes; {} without one."""
    if table is None:
        return {}
    example = 'placebo = { drug = "placebo" } and naltrexone = { drug = "naltrexone", dose_mg = 50 }'
    if not isinstance(table, dict) or len(table) < 2:
        _fail(f"[compare] must name two or more arms, each a table of parameter changes, e.g. {example}")
    arms: dict[str, dict[str, Any]] = {}
    for arm, changes_in in table.items():
        if not ARM_NAME.match(arm):
            _fail(f"[compare] arm '{arm}': name arms with letters, digits, '_', '-' or '.', starting with a letter")
        if not isinstance(changes_in, dict):
            _fail(f'[compare] {arm} must be a table of parameter changes, e.g. {arm} = {{ drug = "placebo" }}')
        where = f"[compare] {arm}"
        changes: dict[str, Any] = {}
        if "mechanisms" in changes_in:
            changes["mechanisms"] = list(mechanism_list(changes_in["mechanisms"]))
        if "replace" in changes_in:
            mechanisms = changes.get("mechanisms") or fixed.get("mechanisms") or Params().mechanisms
            try:
                replaced(tuple(mechanisms), changes_in["replace"])
            except ParameterError as exc:
                _fail(f"{where}: {exc}")
            changes["replace"] = dict(changes_in["replace"])
        try:
            model = with_overrides(base, changes) if changes else base
        except ParameterError as exc:
            _fail(f"{where}: {exc}")
        for name, value in changes_in.items():
            if name in MODEL_KEYS:
                continue
            try:
                check_name(name, model)
            except ParameterError as exc:
                _fail(f"{where}: {exc}")
            if name in vary:
                _fail(f"{name} is both in [vary] and in [compare] {arm}: keep one")
            is_list = isinstance(model.parameter(name).default, tuple)
            changes[name] = value if is_list else _prefixed(where, _check_single, name, value, where, model)
        try:
            check_model(with_overrides(Params(engine="array"), {**fixed, **changes}))
        except ParameterError as exc:
            _fail(f"{where}: {exc}")
        arms[arm] = changes
    return arms


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
    return parse_spec(read_spec(path), seed=seed)


SPEC_HELP = "give the sweep's spec, a TOML file (see docs/sweeps.md; examples in experiments/sweeps)"


def read_spec(path: str | Path) -> dict[str, Any]:
    """The TOML data of a spec file; a file that is not TOML (a manifest, a dataset, a table) is named in one line."""
    path = Path(path)
    if path.is_dir():
        hint = (
            f"; to continue the sweep in it: bondsim sweep SPEC.toml --resume --out {path}"
            if (path / "manifest.json").is_file()
            else ""
        )
        raise ParameterError(f"{path} is a folder, not a sweep spec: {SPEC_HELP}{hint}")
    try:
        return read_toml(path)
    except ParameterError:
        what = _not_toml(path)
        if what is None:
            raise
        raise ParameterError(f"{path} is {what}") from None


def _not_toml(path: Path) -> str | None:
    """What a file that failed to parse as TOML is, and what to give instead (None: a TOML file with an error)."""
    try:
        head = path.read_bytes()[: 1 << 20]
    except OSError:
        return None
    if head.startswith(b"PAR1"):
        return f"a Parquet file (a dataset), not a sweep spec: {SPEC_HELP}; read a sweep's dataset with bondsim analyze"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"a binary file, not a sweep spec: {SPEC_HELP}"
    if "\0" in text:
        return f"a binary file, not a sweep spec: {SPEC_HELP}"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("command") == "sweep":
        folder = path.parent
        made_from = f" ({data['spec_file']}, says its spec_file)" if data.get("spec_file") else ""
        return (
            f"the manifest (JSON) of the sweep in {folder}, not a spec: give the TOML spec it was made from"
            f"{made_from}; to grow that sweep: bondsim sweep SPEC.toml --extend {folder}"
        )
    if isinstance(data, dict) and data.get("command") == "run":
        return f"the record (JSON) of a bondsim run, not a sweep spec: {SPEC_HELP}"
    if data is not None:
        return f"a JSON file, not a sweep spec: {SPEC_HELP}"
    if path.suffix == ".py":
        return f"Python source, not a sweep spec: {SPEC_HELP}"
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if path.suffix == ".csv" or (first.count(",") >= 2 and "=" not in first and "[" not in first):
        return f"a CSV table, not a sweep spec: {SPEC_HELP}"
    return None


def invalid_points(spec: SweepSpec) -> dict[int, str]:
    """Design points the model refuses (cross-parameter rules): point index -> the error."""
    bad = {}
    for i, point in enumerate(spec.points):
        for arm in spec.arm_names or (None,):
            try:
                spec.task_for(0, i, 0, arm, 0, point).params()
            except ParameterError as exc:
                bad[i] = (f"[compare] {arm}: " if arm else "") + str(exc)
                break
    return bad


def plan(spec: SweepSpec) -> pd.DataFrame:
    """One row per run: run, point, replicate (arm), seed and the varied values (point-major run numbers)."""
    keys = [spec.run_key(r) for r in range(spec.n_runs)]
    frame = pd.DataFrame(
        {
            "run": np.arange(spec.n_runs, dtype=np.int64),
            "point": np.array([k[0] for k in keys], dtype=np.int64),
            "replicate": np.array([k[1] for k in keys], dtype=np.int64),
        }
    )
    if spec.arms:
        frame["arm"] = [k[2] for k in keys]
    frame["seed"] = np.array([spec.seed_of(p, k) for p, k, _ in keys], dtype=np.int64)
    for name in spec.varied:
        frame[name] = [level_label(spec.points[p][name]) for p in frame["point"]]
    return frame
