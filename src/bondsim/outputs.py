"""Outputs of a run: which columns, means by group, per-person data, user functions, when to record, when to stop.

An ``[outputs]`` table (in a sweep spec, or in the ``--config`` file of ``bondsim run``) names them::

    [outputs]
    metrics = ["felt_connection", "distress by treated", "my_outputs:bond_spread"]
    people = ["tone", "distress"]     # per-person columns, to their own Parquet dataset
    people_at = "hours:[0, 84]"       # when to take them (default "end")
    stop = "distress > 0.8"           # end a run early when this holds
    record = "every:6"                # bondsim run only; a sweep has [sweep] record

A ``metrics`` entry is a column of the timeseries (``bondsim.metrics.COLUMNS`` or a mechanism's
``METRICS``), ``METRIC by GROUP`` (one column per group: ``distress[treated]``,
``distress[untreated]``), or ``module:function``, a function taking the model and returning a
number, a dict of numbers (one column per key, ``function.KEY``) or a data frame with one row per
person (its columns go to the per-person dataset as ``function.COLUMN``). Everything is checked by
:func:`check_outputs` before any run: a problem raises :class:`~bondsim.errors.ParameterError` with one line.

Schedules (``record``, ``people_at``): ``"all"`` (every step), ``"every:K"``, ``"hours:[h1, h2]"``
(the first step at or after each hour), ``"end"`` (also written ``"final"``); ``people_at`` may
also be a list of step numbers. The last step of a run (also one ended by ``stop``) is always
recorded, in the timeseries and in the per-person data. The recording itself is
:mod:`bondsim.recording`.
"""

from __future__ import annotations

import importlib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import metrics as builtin
from .errors import ParameterError, did_you_mean

OUTPUT_KEYS = ("metrics", "people", "people_at", "stop", "record")
INT_GROUPS = 3  # an integer variable groups people into =0, =1, =2 and >=3
FUNCTION = re.compile(r"^([A-Za-z_][\w.]*):([A-Za-z_]\w*)$")
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
CLAUSE = re.compile(rf"^\s*([A-Za-z_][\w.]*(?:\[[^\]]+\])?)\s*(<=|>=|==|!=|<|>)\s*({NUMBER})\s*$")
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}


def _fail(message: str) -> None:
    raise ParameterError(message)


# ------------------------------------------------------------------------------- schedules
@dataclass(frozen=True)
class Schedule:
    """When to record: ``all``, ``every`` K steps, at some ``hours``, at some ``steps``, or at the ``end``."""

    kind: str = "all"
    every: int = 1
    hours: tuple[float, ...] = ()
    steps: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        """The schedule as written in a spec (``end`` is written ``final``)."""
        if self.kind == "every":
            return f"every:{self.every}"
        if self.kind == "hours":
            return "hours:[" + ", ".join(f"{h:g}" for h in self.hours) + "]"
        if self.kind == "steps":
            return "steps:[" + ", ".join(str(s) for s in self.steps) + "]"
        return "final" if self.kind == "end" else "all"

    def chosen(self, n_steps: int, step_hours: float) -> set[int] | None:
        """The steps chosen in a run of ``n_steps`` (None: every step); the last step is added by the recorder."""
        if self.kind == "all":
            return None
        if self.kind == "every":
            return set(range(0, n_steps + 1, self.every))
        if self.kind == "hours":
            return {math.ceil(h / step_hours - 1e-9) for h in self.hours}
        if self.kind == "steps":
            return set(self.steps)
        return set()


ALL = Schedule("all")
END = Schedule("end")


def parse_schedule(value: Any, where: str, allow_steps: bool = False) -> Schedule:
    """A schedule from its spec text (or, with ``allow_steps``, a list of step numbers)."""
    hint = '"all", "every:K", "hours:[h1, h2, ...]" or "end"' + (" or a list of steps" if allow_steps else "")
    if allow_steps and isinstance(value, list):
        if not value or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in value):
            _fail(f"{where} = {value!r} must be a non-empty list of step numbers >= 0")
        return Schedule("steps", steps=tuple(sorted(set(value))))
    text = str(value).strip() if isinstance(value, str) else None
    if text in ("end", "final"):
        return END
    if text == "all":
        return ALL
    if text is not None and (m := re.fullmatch(r"every:\s*(\d+)", text)) and int(m.group(1)) >= 1:
        return ALL if int(m.group(1)) == 1 else Schedule("every", every=int(m.group(1)))
    if text is not None and (m := re.fullmatch(r"hours:\s*\[(.*)\]", text)):
        parts = [p.strip() for p in m.group(1).split(",") if p.strip()]
        try:
            hours = tuple(sorted({float(p) for p in parts}))
        except ValueError:
            hours = ()
        if hours and all(math.isfinite(h) and h >= 0 for h in hours):
            return Schedule("hours", hours=hours)
    _fail(f"{where} = {value!r} is not allowed: use {hint}")
    raise AssertionError  # unreachable


# --------------------------------------------------------------------------- stop conditions
@dataclass(frozen=True)
class Stop:
    """``metric op number`` clauses joined by ``and`` or by ``or``: no code is evaluated."""

    text: str
    clauses: tuple[tuple[str, str, float], ...]
    join: str = "and"

    def holds(self, row: Mapping[str, float]) -> bool:
        """Whether the condition holds for a row of metrics (a NaN compares false)."""
        value_of = {name: float(row[name] if name in row else row["_" + name]) for name in self.names}
        results = (OPS[op](value_of[name], value) for name, op, value in self.clauses)
        return all(results) if self.join == "and" else any(results)

    @property
    def names(self) -> tuple[str, ...]:
        """The metrics the condition reads."""
        return tuple(name for name, _, _ in self.clauses)


def parse_stop(text: Any, where: str = "stop") -> Stop:
    """Parse ``metric op number [and|or metric op number ...]`` (ops ``< <= > >= == !=``)."""
    if not isinstance(text, str) or not text.strip():
        _fail(f'{where} = {text!r} must be a condition such as "distress > 0.8"')
    has_and, has_or = re.search(r"\sand\s", text), re.search(r"\sor\s", text)
    if has_and and has_or:
        _fail(f"{where} = {text!r} mixes 'and' and 'or': use one of them")
    join = "or" if has_or else "and"
    clauses = []
    for part in re.split(rf"\s{join}\s", text):
        m = CLAUSE.match(part)
        if not m:
            _fail(f"{where} = {text!r}: {part.strip()!r} is not of the form 'metric op number' (op: < <= > >= == !=)")
        clauses.append((m.group(1), m.group(2), float(m.group(3))))
    return Stop(text.strip(), tuple(clauses), join)


# ------------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class Outputs:
    """What a run records (see the module docstring). The default is today's timeseries, every step.

    Attributes:
        metrics: plain metric columns, in order (None: every column of the model's timeseries).
        grouped: ``(metric, group)`` pairs, one column per group.
        functions: user functions as ``module:function``.
        people: per-person variables for the per-person dataset.
        people_at: when per-person data is taken.
        record: when a row of the timeseries is recorded.
        stop: a condition that ends the run early.
    """

    metrics: tuple[str, ...] | None = None
    grouped: tuple[tuple[str, str], ...] = ()
    functions: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    people_at: Schedule = END
    record: Schedule = ALL
    stop: Stop | None = None

    @property
    def plain(self) -> bool:
        """Only the default columns (at whatever schedule): the model's own fast path serves them."""
        return self.metrics is None and not (self.grouped or self.functions or self.people or self.stop)

    @property
    def per_person(self) -> bool:
        """Whether the run may write per-person data (variables, or functions that return a frame)."""
        return bool(self.people or self.functions)

    def to_dict(self) -> dict[str, Any]:
        """The outputs as recorded in a manifest or run.json."""
        return {
            "metrics": None if self.metrics is None else list(self.metrics),
            "grouped": [f"{m} by {g}" for m, g in self.grouped],
            "functions": list(self.functions),
            "people": list(self.people),
            "people_at": self.people_at.text,
            "record": self.record.text,
            "stop": None if self.stop is None else self.stop.text,
        }


def parse_outputs(table: Any, where: str = "[outputs]", record: Schedule | None = None) -> Outputs:
    """An :class:`Outputs` from an ``[outputs]`` table (names are checked against a model by :func:`check_outputs`).

    Args:
        table: the table (a dict), or None for the default outputs.
        where: how to name the table in messages.
        record: the recording schedule when it is given elsewhere (a sweep's ``[sweep] record``);
            then ``record`` in the table is refused.
    """
    table = {} if table is None else table
    if not isinstance(table, Mapping):
        _fail(f"{where} must be a table")
    keys = OUTPUT_KEYS if record is None else tuple(k for k in OUTPUT_KEYS if k != "record")
    for key in table:
        if key not in keys:
            extra = " (a sweep's record goes in [sweep])" if key == "record" else ""
            _fail(f"unknown key {key!r} in {where}: use {', '.join(keys)}{extra}{did_you_mean(key, keys)}")
    entries = table.get("metrics")
    plain: list[str] | None = None
    grouped: list[tuple[str, str]] = []
    functions: list[str] = []
    if entries is not None:
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            _fail(f"{where} metrics must be a list of strings")
        plain = []
        for entry in entries:
            text = entry.strip()
            if " by " in text:
                metric, _, group = (s.strip() for s in text.partition(" by "))
                if not metric or not group or " " in metric or " " in group:
                    _fail(f"{where} metrics: {entry!r} must be 'METRIC by GROUP'")
                grouped.append((metric, group))
            elif ":" in text:
                if not FUNCTION.match(text):
                    _fail(f"{where} metrics: {entry!r} must be 'module:function'")
                functions.append(text)
            else:
                plain.append(text)
    people = table.get("people", [])
    if not isinstance(people, list) or not all(isinstance(p, str) for p in people):
        _fail(f"{where} people must be a list of per-person variable names")
    people_at = parse_schedule(table["people_at"], f"{where} people_at", True) if "people_at" in table else END
    rec = record if record is not None else parse_schedule(table.get("record", "all"), f"{where} record")
    stop = parse_stop(table["stop"], f"{where} stop") if "stop" in table else None
    return Outputs(
        metrics=None if plain is None else tuple(plain),
        grouped=tuple(grouped),
        functions=tuple(functions),
        people=tuple(people),
        people_at=people_at,
        record=rec,
        stop=stop,
    )


# ------------------------------------------------------------------------------- checking
def import_function(name: str) -> Callable[..., Any]:
    """The function named ``module:function`` (the module must be importable: see PYTHONPATH)."""
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any failure to import is the user's module: one line
        raise ParameterError(
            f"output {name}: cannot import module '{module_name}' ({type(exc).__name__}: {exc}); "
            f"put its folder on PYTHONPATH"
        ) from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ParameterError(f"output {name}: module '{module_name}' has no function '{attr}'")
    return function


def _model_names(params: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The timeseries columns (name -> meaning) and per-person variables of the model of ``params``."""
    from .mechanism import model_spec

    spec = model_spec(params.mechanisms)
    columns = {c: builtin.DESCRIPTIONS.get(c, "") for c in builtin.COLUMNS}
    for m in spec.mechanisms:
        columns.update({k: v[0] for k, v in m.metrics().items()})
    variables = {k: v for k, v in spec.variables.items() if v.per == "person"}
    return columns, variables


def group_labels(group: str, variables: Mapping[str, Any]) -> tuple[str, ...]:
    """The labels of the groups of ``group`` (``separated``, or a bool or integer per-person variable)."""
    if group == "separated":
        return ("separated", "not_separated")
    if group == "treated":
        return ("treated", "untreated")
    if variables[group].dtype == "bool":
        return (group, f"not_{group}")
    return (*(f"{group}={k}" for k in range(INT_GROUPS)), f"{group}>={INT_GROUPS}")


def check_outputs(outputs: Outputs, params: Any) -> None:
    """Check every name of ``outputs`` against the model of ``params`` and import the functions; one line if not."""
    columns, variables = _model_names(params)
    metrics = outputs.metrics if outputs.metrics is not None else ()
    for metric in metrics:
        if metric not in columns:
            _fail(f"unknown output '{metric}': use one of {', '.join(columns)}{did_you_mean(metric, columns)}")
    numeric = [k for k, v in variables.items() if v.dtype != "bool"]
    groups = ["separated", *(k for k, v in variables.items() if v.dtype == "bool" or v.dtype.startswith("int"))]
    for metric, group in outputs.grouped:
        if metric not in builtin.PER_PERSON and metric not in numeric:
            options = [*builtin.PER_PERSON, *numeric]
            _fail(
                f"output '{metric} by {group}': '{metric}' cannot be taken by group; use a per-person mean "
                f"such as {', '.join(builtin.PER_PERSON)} or a per-person variable{did_you_mean(metric, options)}"
            )
        if group not in groups:
            _fail(
                f"output '{metric} by {group}': unknown group variable '{group}': use separated or a boolean or "
                f"integer per-person variable ({', '.join(groups[1:])}){did_you_mean(group, groups)}"
            )
    for name in outputs.people:
        if name not in variables:
            _fail(f"unknown per-person variable '{name}' in people: use one of {', '.join(variables)}")
    for name in outputs.functions:
        import_function(name)
    names = output_columns(outputs, params)
    seen = set()
    for name in names:
        if name in seen:
            _fail(f"output column '{name}' is named twice: list each output once")
        seen.add(name)
    if outputs.stop is not None:
        fn_names = [n.partition(":")[2] for n in outputs.functions]
        allowed = {*columns, *names}
        for name in outputs.stop.names:
            if name not in allowed and not any(name == f or name.startswith(f + ".") for f in fn_names):
                hint = " (add 'METRIC by GROUP' to metrics)" if "[" in name else ""
                _fail(f"stop = {outputs.stop.text!r}: '{name}' is no output column{hint}{did_you_mean(name, allowed)}")


def output_columns(outputs: Outputs, params: Any) -> list[str]:
    """The metric columns of the timeseries, in order (functions' dict keys are known only when they run)."""
    columns, variables = _model_names(params)
    names = list(columns) if outputs.metrics is None else ["step", "hours", *outputs.metrics]
    names = list(dict.fromkeys(names))
    for metric, group in outputs.grouped:
        names += [f"{metric}[{label}]" for label in group_labels(group, variables)]
    names += [n.partition(":")[2] for n in outputs.functions]
    if outputs.stop is not None:
        names.append("stopped")
    return names


def describe(
    outputs: Outputs, params: Any, units: Mapping[str, str], present: list[str] | None = None
) -> list[dict[str, str]]:
    """The data dictionary rows (column, unit, meaning) of the timeseries columns of ``outputs``.

    With ``present`` (the columns of a recorded timeseries), exactly those columns: a function that
    returned a dict gets one row per key, one that returned a data frame none.
    """
    rows = _describe(outputs, params, units)
    if present is None:
        return rows
    by_name = {r["column"]: r for r in rows}
    out = []
    for name in present:
        if name in by_name:
            out.append(by_name[name])
        else:
            function, _, key = name.partition(".")
            full = next((f for f in outputs.functions if f.partition(":")[2] == function), function)
            out.append({"column": name, "unit": "", "meaning": f"key {key!r} of the dict user function {full} returns"})
    return out


def _describe(outputs: Outputs, params: Any, units: Mapping[str, str]) -> list[dict[str, str]]:
    columns, variables = _model_names(params)
    rows = []
    for name in output_columns(outputs, params):
        if name == "stopped":
            rows.append(
                {
                    "column": name,
                    "unit": "",
                    "meaning": f"whether the run ended early: stop = {outputs.stop.text!r} held at its last step",
                }
            )
        elif name in columns:
            rows.append({"column": name, "unit": units.get(name, ""), "meaning": columns[name]})
        elif "[" in name:
            metric, label = name[:-1].split("[", 1)
            meaning = columns.get(metric) or f"mean {variables[metric].doc}"
            unit = units.get(metric, "") if metric in columns else variables[metric].unit
            rows.append({"column": name, "unit": unit, "meaning": f"{meaning}; in the group {label}"})
        else:
            full = next(f for f in outputs.functions if f.partition(":")[2] == name)
            rows.append(
                {
                    "column": name,
                    "unit": "",
                    "meaning": f"user function {full} (a dict gives one column {name}.KEY per key; "
                    "a data frame goes to the per-person dataset)",
                }
            )
    return rows


def describe_people(outputs: Outputs, params: Any) -> list[dict[str, str]]:
    """The data dictionary rows of the per-person dataset."""
    _, variables = _model_names(params)
    rows = [
        {"column": "step", "unit": "steps", "meaning": f"step of the snapshot ({outputs.people_at.text})"},
        {"column": "person", "unit": "", "meaning": "person (index 0..n-1)"},
    ]
    rows += [{"column": v, "unit": variables[v].unit, "meaning": variables[v].doc} for v in outputs.people]
    rows += [
        {"column": f"{f.partition(':')[2]}.*", "unit": "", "meaning": f"columns of the data frame user function {f}"}
        for f in outputs.functions
    ]
    return rows


__all__ = [
    "ALL",
    "END",
    "Outputs",
    "Schedule",
    "Stop",
    "check_outputs",
    "describe",
    "describe_people",
    "import_function",
    "output_columns",
    "parse_outputs",
    "parse_schedule",
    "parse_stop",
]
