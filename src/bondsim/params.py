"""Model parameters: one frozen dataclass with units, defaults and valid ranges.

The parameters are declared where they act: the model's own (population, network, time, engine,
mechanisms) here, every other one in its mechanism module (:mod:`bondsim.mechanisms`), each with
its unit, range, meaning, source and status. :class:`Params` gathers them into one frozen
dataclass; parameters of a user's own mechanisms (named in ``mechanisms``) are kept beside the
built-in ones and read the same way (``params.name``). Values come from the defaults, then a TOML
file, then ``--set name=value`` overrides, and are checked where they enter. A TOML file may also
define drugs (``[drugs.NAME]`` tables, see :mod:`bondsim.drugs`).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from . import drugs as drug_registry
from .errors import ParameterError, did_you_mean
from .mechanism import MechanismError, Parameter, load_mechanism
from .mechanisms import DEFAULT as DEFAULT_MECHANISMS

NETWORKS = ("small_world", "random", "scale_free")
ENGINES = ("agents", "array")


MODEL_PARAMETERS = (
    Parameter("n_agents", 200, "people", "number of people", 2, 10_000_000, integer=True,
              source="a classroom-sized group; sweeps go to millions with the array engine", status="setting"),
    Parameter("network", "small_world", "", "social network generator", choices=NETWORKS,
              source="human contact networks are clustered with short paths (Watts-Strogatz)"),
    Parameter("mean_degree", 8, "ties", "mean number of network neighbours", 2, 200, integer=True,
              source="the few people one meets regularly; larger values dilute bonds"),
    Parameter("rewiring", 0.1, "", "small-world rewiring probability", 0.0, 1.0,
              source="keeps clustering high while shortening paths"),
    Parameter("engine", "agents", "", "simulation engine", choices=ENGINES,
              source="agents is the readable reference, array the fast one (performance.md)", status="setting"),
    Parameter("threads", 1, "", "threads of the array engine's loops over people", 1, 256, integer=True,
              source="the same results with any number; sweeps already use a core per run (performance.md)",
              status="setting"),
    Parameter("step_hours", 1.0, "h", "length of one step", 0.05, 24.0,
              source="resolves the ~1 h peak of naltrexone and the ~3 h tone relaxation", status="setting"),
    Parameter("warmup_days", 42.0, "days", "warm-up before time zero: at least this long, then until felt connection "
              "and bonds are stationary (0: start from the initial bonds)", 0.0, 3650.0,
              source="bonds settle within six weeks with the defaults (model.md: the warm-up and time zero)",
              status="setting"),
)  # fmt: skip

BUILTIN_PARAMETERS: dict[str, Parameter] = {p.name: p for p in MODEL_PARAMETERS}
DECLARED_BY: dict[str, str] = {}  # a built-in mechanism's parameter -> the mechanism
for _name in DEFAULT_MECHANISMS:
    for _p in load_mechanism(_name).parameters:
        BUILTIN_PARAMETERS[_p.name] = _p
        DECLARED_BY[_p.name] = _name
FIELDS = BUILTIN_PARAMETERS  # name -> Parameter (``.default``, ``.metadata``) of every built-in parameter

# The built-in parameters that cannot change once a model is built (bondsim.events,
# BondingModel.set_parameters), with why; a model adds those its mechanisms' ``initialize`` and
# ``schedule`` read (a user's mechanisms' among them).
FIXED: dict[str, str] = {
    **dict.fromkeys(
        ("n_agents", "network", "mean_degree", "rewiring", "engine", "threads", "step_hours"),
        "sizes or builds the model",
    ),
    "warmup_days": "sets the warm-up before time zero",
    **dict.fromkeys(
        (
            "set_point",
            "set_point_sd",
            "initial_bond",
            "drug",
            "treated_fraction",
            "pk_variability",
            "blockade_variability",
        ),
        "sets the initial state (set points, first bonds, who is treated and how each person takes the drug)",
    ),
    **dict.fromkeys(
        ("dose_mg", "schedule", "dose_hours", "dose_amounts_mg", "dosing_start_day", "dosing_days"),
        "schedules the doses at time zero: give a dose with an event (dose_mg = ...) instead",
    ),
    **dict.fromkeys(
        ("separation", "separation_day", "separation_fraction", "isolation_days"),
        "schedules the separation event at time zero: isolate people with an event (isolate_days = ...) instead",
    ),
}


def _validate(self) -> None:
    for name, value in self.values().items():
        _check_value(self.parameter(name), value, self)
    if self.threads > 1 and self.engine != "array":
        raise ParameterError(f"threads = {self.threads} needs engine = 'array' (agents run one person at a time)")
    if self.schedule == "explicit" and self.dose_amounts_mg and len(self.dose_amounts_mg) != len(self.dose_hours):
        raise ParameterError(
            f"dose_amounts_mg has {len(self.dose_amounts_mg)} values but dose_hours has "
            f"{len(self.dose_hours)}: give one amount per dose time, or none to use dose_mg"
        )
    if self.mean_degree >= self.n_agents:
        raise ParameterError(f"mean_degree = {self.mean_degree} must be below n_agents = {self.n_agents}")


class _ParamsMethods:
    """Methods of :class:`Params` (the dataclass itself is built from the declarations)."""

    def __post_init__(self) -> None:
        extra = dict(self.extra)
        known = {n: p for n, p in user_parameters(self.mechanisms).items() if n not in FIELDS}
        for name in extra:
            if name not in known:
                raise ParameterError(f"unknown parameter '{name}'{did_you_mean(name, [*FIELDS, *known])}")
        full = {**{n: p.default for n, p in known.items()}, **extra}
        object.__setattr__(self, "extra", tuple(sorted(full.items())))
        _validate(self)

    def __getattr__(self, name: str) -> Any:
        if name != "extra":
            for key, value in self.extra:
                if key == name:
                    return value
        raise AttributeError(f"Params has no parameter '{name}'")

    @property
    def steps_per_day(self) -> float:
        """Steps in 24 hours."""
        return 24.0 / self.step_hours

    def parameter(self, name: str) -> Parameter:
        """The declaration of one parameter of this parameter set (a user's mechanism's, where it replaces one)."""
        return user_parameters(self.mechanisms).get(name) or FIELDS[name]

    def values(self) -> dict[str, Any]:
        """Every parameter's value by name (built-in ones, then those of user mechanisms)."""
        out = {name: getattr(self, name) for name in FIELDS}
        out.update(self.extra)
        return out

    def replace(self, **changes: Any) -> Params:
        """Return a copy with some parameters changed (validated)."""
        return with_overrides(self, changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all values (tuples as lists, drugs as tables), for JSON and tables."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in self.values().items()}
        out["mechanisms"] = list(self.mechanisms)
        out["drugs"] = {d.name: {k: v for k, v in dataclasses.asdict(d).items() if k != "name"} for d in self.drugs}
        return out


Params = dataclasses.make_dataclass(
    "Params",
    [(name, Any, dataclasses.field(default=p.default)) for name, p in FIELDS.items()]
    + [
        ("mechanisms", tuple, dataclasses.field(default=DEFAULT_MECHANISMS)),
        ("drugs", tuple, dataclasses.field(default=())),
        ("extra", tuple, dataclasses.field(default=())),
    ],
    bases=(_ParamsMethods,),
    frozen=True,
    module=__name__,
)
Params.__doc__ = """All parameters of the bonding model (see docs/model.md for sources).

    Every built-in parameter is a field; ``mechanisms`` lists the mechanism modules in order,
    ``drugs`` holds drugs defined in a config, and ``extra`` the parameters of user mechanisms.
    """


@cache
def user_parameters(mechanisms: tuple[str, ...]) -> dict[str, Parameter]:
    """Parameters declared by the mechanisms that are not bondsim's own.

    A user's mechanism may declare a parameter of a built-in mechanism that it replaces (one that
    is not in the list: a copy of a built-in module, changed): its declaration then governs that
    parameter (range, default, meaning).
    """
    out: dict[str, Parameter] = {}
    for name in mechanisms:
        if name in DEFAULT_MECHANISMS:
            continue
        try:
            mechanism = load_mechanism(name)
        except MechanismError as exc:
            raise ParameterError(str(exc)) from None
        for p in mechanism.parameters:
            owner = DECLARED_BY.get(p.name)
            taken = p.name in out or (p.name in FIELDS and (owner is None or owner in mechanisms))
            if taken and owner in mechanisms:
                raise ParameterError(
                    f"mechanism '{name}' declares '{p.name}', which {owner} declares too: list one of them "
                    f'(replace = {{ "{owner}" = "{name}" }} puts yours in its place)'
                )
            if taken:
                raise ParameterError(f"mechanism '{name}' declares '{p.name}', which is already a parameter")
            out[p.name] = p
    return out


def describe(params: Params | None = None) -> list[dict[str, Any]]:
    """One row per parameter: name, default, unit, range or choices, meaning, source and status."""
    declared = dict(FIELDS)
    if params is not None:
        declared.update(user_parameters(params.mechanisms))
    return [
        {
            "name": name,
            "default": f.default,
            "unit": f.unit,
            "allowed": _allowed(f, params, short=True),
            "meaning": f.doc,
            "status": f.status,
            "source": f.source,
        }
        for name, f in declared.items()
    ]


def _choices(f: Parameter, params: Params | None = None) -> tuple[str, ...]:
    return f.allowed_choices(params.drugs if params is not None else ()) or ()


def _allowed(f: Parameter, params: Params | None = None, short: bool = False) -> str:
    if f.choices:
        return ("" if short else "one of ") + ", ".join(_choices(f, params))
    kind = "an integer" if f.integer else "a number"
    interval = f"[{f.low:g}, {f.high:g}]"
    return interval if short else f"{kind} in {interval}"


def _check_value(f: Parameter, value: Any, params: Params | None = None) -> None:
    name = f.name
    if f.choices:
        choices = _choices(f, params)
        if not isinstance(value, str) or value not in choices:
            raise ParameterError(
                f"{name} = {value!r} is not allowed: use {_allowed(f, params)}{did_you_mean(value, choices)}"
            )
        return
    values = value if isinstance(f.default, tuple) else (value,)
    if isinstance(f.default, tuple) and not isinstance(value, tuple):
        raise ParameterError(f"{name} = {value!r} must be a list of numbers")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParameterError(f"{name} = {v!r} is not a number: {name} must be {_allowed(f)}")
        if f.integer and not float(v).is_integer():
            raise ParameterError(f"{name} = {v!r} must be {_allowed(f)}")
        if not math.isfinite(v) or v < f.low or v > f.high:
            raise ParameterError(f"{name} = {v!r} is out of range: {name} must be {_allowed(f)}")


def _coerce(f: Parameter, value: Any) -> Any:
    """Convert a value read from TOML or the command line to the parameter's type."""
    if f.choices:
        return value
    if isinstance(f.default, tuple):
        if isinstance(value, str):  # "3,27,51", "3 27 51" or "[3, 27, 51]"
            value = [v for v in value.strip().strip("[]").replace(",", " ").split() if v]
        if not isinstance(value, (list, tuple)):
            value = [value]
        return tuple(_number(f, v) for v in value)
    v = _number(f, value)
    if f.integer and isinstance(v, float) and v.is_integer():
        v = int(v)
    return v


def _number(f: Parameter, value: Any) -> Any:
    if isinstance(value, bool):
        raise ParameterError(f"{f.name} = {value!r} is not a number: {f.name} must be {_allowed(f)}")
    if isinstance(value, (int, float)):
        return value
    try:
        text = str(value).strip()
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise ParameterError(f"{f.name} = {value!r} is not a number: {f.name} must be {_allowed(f)}") from None


def check_value(name: str, value: Any, params: Params | None = None) -> Any:
    """Validate one parameter value on its own (no cross-parameter rules); returns it converted."""
    check_name(name, params)
    f = params.parameter(name) if params is not None else FIELDS[name]
    value = _coerce(f, value)
    _check_value(f, value, params)
    return value


def check_name(name: str, params: Params | None = None) -> None:
    """Refuse an unknown parameter name, suggesting the closest known one."""
    known = dict(FIELDS)
    if params is not None:
        known.update(user_parameters(params.mechanisms))
    if name not in known:
        raise ParameterError(f"unknown parameter '{name}'{did_you_mean(name, known)}")


def mechanism_list(value: Any) -> tuple[str, ...]:
    """A list of mechanism module names, from TOML or the command line."""
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ParameterError(f"mechanisms = {value!r} must be a list of module names")
    return tuple(value)


def with_overrides(base: Params, changes: Mapping[str, Any]) -> Params:
    """Validated copy of ``base`` with ``changes`` (values may be strings).

    ``changes`` may hold ``mechanisms`` (module names), ``replace`` (a table: a mechanism of the
    list -> the module that takes its place) and ``drugs`` (DrugProfile objects). A parameter that
    a user's mechanism declares in place of a built-in one, and that is left at the built-in
    default, takes the user's default.
    """
    changes = dict(changes)
    mechanisms = mechanism_list(changes.pop("mechanisms")) if "mechanisms" in changes else base.mechanisms
    if "replace" in changes:
        mechanisms = replaced(mechanisms, changes.pop("replace"))
    drugs = base.drugs
    if "drugs" in changes:  # DrugProfile objects, or [drugs.NAME] tables
        drugs = changes.pop("drugs")
        drugs = drug_registry.from_tables(drugs) if isinstance(drugs, Mapping) else tuple(drugs)
    known = user_parameters(mechanisms)
    before = user_parameters(base.mechanisms)
    builtin, extra = {}, dict(base.extra)
    for name, value in changes.items():
        if name in FIELDS:
            builtin[name] = _coerce(known.get(name) or FIELDS[name], value)
        elif name in known:
            extra[name] = _coerce(known[name], value)
        else:
            raise ParameterError(f"unknown parameter '{name}'{did_you_mean(name, [*FIELDS, *known])}")
    for name, p in known.items():  # a replacing mechanism's own default, where the built-in one was left
        old = before.get(name) or FIELDS.get(name)
        if name in FIELDS and name not in builtin and old is not p and getattr(base, name) == old.default:
            builtin[name] = p.default
    extra = {k: v for k, v in extra.items() if k in known and k not in FIELDS}
    return dataclasses.replace(base, **builtin, mechanisms=mechanisms, drugs=drugs, extra=tuple(extra.items()))


def replaced(mechanisms: tuple[str, ...], table: Any) -> tuple[str, ...]:
    """The mechanism list with some replaced: ``table`` maps one of the list to the module that takes its place."""
    if not isinstance(table, Mapping) or not all(isinstance(v, str) and v for v in table.values()):
        raise ParameterError(f'replace = {table!r} must be a table: mechanism = "module taking its place"')
    for old in table:
        if old not in mechanisms:
            raise ParameterError(
                f"replace: '{old}' is not in the mechanism list{did_you_mean(old, mechanisms)}: "
                f"use one of {', '.join(mechanisms)}"
            )
    return tuple(table.get(m, m) for m in mechanisms)


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Parse ``name=value`` strings from ``--set`` (names are checked against the model's parameters later)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r} is not of the form name=value")
        out[name.strip()] = value.strip()
    return out


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line ParameterError."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"config file not found: {path}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"malformed TOML in {path}: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read {path}: {exc}") from None


CONFIG_TABLES = ("params", "drugs", "mechanisms", "replace")  # what :func:`config_changes` reads itself
RUN_TABLES = ("outputs", "events")  # what only a run config holds: ``bondsim run`` reads them (outputs, events)


def config_changes(data: Mapping[str, Any], where: str, reads: Iterable[str] = ()) -> dict[str, Any]:
    """Parameter changes in a config's contents.

    These are ``name = value`` pairs (top level or in ``[params]``), ``mechanisms = [...]``,
    ``replace = { "bondsim.mechanisms.tone" = "mytone" }`` (a mechanism of the list and the module
    that takes its place) and ``[drugs.NAME]`` tables. ``reads`` names the other tables the caller
    reads itself: ``bondsim run`` reads ``[outputs]`` (:mod:`bondsim.outputs`) and ``[[events]]``
    (:mod:`bondsim.events`). Any other table is refused with one line naming it, as is a run
    config's table where it is not read.
    """
    data = dict(data)
    for name in reads:
        data.pop(name, None)
    changes: dict[str, Any] = {}
    if "drugs" in data:
        try:
            changes["drugs"] = drug_registry.from_tables(data.pop("drugs"), where)
        except drug_registry.DrugError as exc:
            raise ParameterError(str(exc)) from None
    if "mechanisms" in data:
        changes["mechanisms"] = data.pop("mechanisms")
    if "replace" in data:
        changes["replace"] = data.pop("replace")
    table = data.pop("params", {})
    if not isinstance(table, dict):
        raise ParameterError(f"[params] in {where} must be a table of name = value pairs")
    known = [*CONFIG_TABLES, *reads]
    for key, value in data.items():  # the rest of the top level: parameters, name = value
        if key in RUN_TABLES:
            shown = "[[events]]" if key == "events" else f"[{key}]"
            raise ParameterError(
                f"{shown} in {where} is not read here: only a run config (bondsim run --config) takes it"
            )
        if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
            shown = f"[{key}]" if isinstance(value, dict) else f"[[{key}]]"
            more = "".join(f", [[{t}]]" if t == "events" else f", [{t}]" for t in reads)
            raise ParameterError(
                f"unknown table {shown} in {where}{did_you_mean(key, known)}: a config holds name = value parameters, "
                f"[params], [drugs.NAME], mechanisms and replace{more}"
            )
        if key in table:
            raise ParameterError(f"'{key}' is set twice in {where}: at top level and in [params]")
        changes[key] = value
    for key, value in table.items():
        if isinstance(value, dict):
            raise ParameterError(f"unexpected table [params.{key}] in {where}: parameters are name = value pairs")
        changes[key] = value
    return changes


def load(
    config: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: Params | None = None,
    reads: Iterable[str] = (),
) -> Params:
    """Parameters from defaults (or ``base``), an optional TOML file, then overrides.

    The TOML file holds ``name = value`` pairs at top level or in a ``[params]`` table, and may
    list ``mechanisms`` and define drugs in ``[drugs.NAME]`` tables; ``reads`` names the tables
    the caller reads itself (:func:`config_changes`: e.g. ``RUN_TABLES`` for a run config). Any
    other table or unknown name is refused with one line.
    """
    params = base or Params()
    changes: dict[str, Any] = {}
    if config is not None:
        changes.update(config_changes(read_toml(config), str(config), reads))
    changes.update(overrides or {})
    if "mechanisms" in changes or "replace" in changes:  # first, so that the parameters of the mechanisms are known
        first = {k: changes.pop(k) for k in ("mechanisms", "replace") if k in changes}
        params = with_overrides(params, first)
    return with_overrides(params, changes) if changes else params
