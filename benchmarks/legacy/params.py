"""Model parameters: one frozen dataclass with units, defaults and valid ranges.

Every parameter is a field of :class:`Params`; its metadata carries the unit, the
valid range (or allowed choices) and a one-line meaning, which the CLI, the docs
and the error messages all read. Values come from the defaults, then a TOML file,
then ``--set name=value`` overrides, and are checked where they enter.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError, did_you_mean

DRUGS = ("none", "placebo", "naltrexone", "naloxone", "morphine")
NETWORKS = ("small_world", "random", "scale_free")
SCHEDULES = ("once", "daily", "explicit")
SEPARATIONS = ("none", "loss", "isolation")
ENGINES = ("agents", "array")


class ParameterError(UserError):
    """A user-facing problem with a parameter: the message is one clear line."""


def _p(
    default: Any,
    unit: str,
    doc: str,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    integer: bool = False,
) -> Any:
    meta = {"unit": unit, "doc": doc, "low": low, "high": high, "choices": choices, "integer": integer}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Params:
    """All parameters of the bonding model (see docs/model.md for sources)."""

    # population and network
    n_agents: int = _p(200, "people", "number of people", 2, 10_000_000, integer=True)
    network: str = _p("small_world", "", "social network generator", choices=NETWORKS)
    mean_degree: int = _p(8, "ties", "mean number of network neighbours", 2, 200, integer=True)
    rewiring: float = _p(0.1, "", "small-world rewiring probability", 0.0, 1.0)
    engine: str = _p("agents", "", "simulation engine", choices=ENGINES)

    # time
    step_hours: float = _p(1.0, "h", "length of one step", 0.05, 24.0)

    # endogenous opioid tone
    set_point: float = _p(1.0, "tone units", "mean endogenous tone set point", 0.1, 10.0)
    set_point_sd: float = _p(0.1, "fraction", "person-to-person SD of the set point, relative", 0.0, 0.5)
    tone_relaxation_hours: float = _p(3.0, "h", "time constant of tone's return to its set point", 0.1, 240.0)
    endogenous_occupancy: float = _p(0.2, "fraction", "mu receptors bound by endogenous opioid at set point", 0.01, 0.9)
    contact_release: float = _p(0.5, "tone units", "opioid release per accepted contact", 0.0, 10.0)

    # contact seeking and partner choice
    base_contact_rate: float = _p(0.15, "1/h", "contact attempts per hour when not distressed", 0.0, 10.0)
    seeking_gain: float = _p(1.0, "1/h", "extra attempts per hour per unit of distress", 0.0, 100.0)
    bond_floor: float = _p(0.05, "", "choice weight of an unbonded neighbour, added to bond^selectivity", 0.0, 1.0)
    partner_selectivity: float = _p(3.0, "", "exponent of the bond in partner choice (0 = uniform)", 0.0, 10.0)
    rejection_rate: float = _p(0.2, "probability", "chance that an approached partner rejects", 0.0, 1.0)
    rejection_tone_drop: float = _p(0.3, "fraction", "fraction of tone lost on a rejection", 0.0, 1.0)

    # bonds
    bond_learning_rate: float = _p(0.1, "per contact", "bond growth per unit of felt reward", 0.0, 1.0)
    bond_half_life_days: float = _p(60.0, "days", "half-life of a bond without contact", 0.1, 3650.0)
    initial_bond: float = _p(0.2, "", "mean initial bond to each neighbour (uniform on [0, 2x])", 0.0, 0.5)
    separation_grief: float = _p(0.5, "1/h", "tone loss rate per unit of bond to absent partners", 0.0, 10.0)

    # observables (what a diary or a lab rating reports)
    opioid_share: float = _p(
        0.025, "fraction", "share of felt connection and affect carried by opioid reward", 0.0, 1.0
    )
    diary_window_hours: float = _p(24.0, "h", "time constant of the felt-connection and affect averages", 1.0, 720.0)

    # drug and dosing
    drug: str = _p("none", "", "drug given to treated people", choices=DRUGS)
    dose_mg: float = _p(0.0, "mg", "dose per administration", 0.0, 1000.0)
    schedule: str = _p("daily", "", "dosing schedule", choices=SCHEDULES)
    dose_hours: tuple[float, ...] = _p((), "h", "explicit schedule: dose times", 0.0, 1e6)
    dose_amounts_mg: tuple[float, ...] = _p((), "mg", "explicit schedule: dose per time (default dose_mg)", 0.0, 1000.0)
    dosing_start_day: float = _p(0.0, "days", "time of the first dose", 0.0, 10_000.0)
    dosing_days: int = _p(0, "days", "days of daily dosing (0 = until the end)", 0, 10_000, integer=True)
    treated_fraction: float = _p(1.0, "fraction", "fraction of people who receive the drug", 0.0, 1.0)

    # separation events
    separation: str = _p("none", "", "separation event", choices=SEPARATIONS)
    separation_day: float = _p(7.0, "days", "time of the separation event", 0.0, 10_000.0)
    separation_fraction: float = _p(0.1, "fraction", "fraction of people separated", 0.0, 1.0)
    isolation_days: float = _p(2.0, "days", "how long an isolation lasts", 0.0, 10_000.0)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_value(f, getattr(self, f.name))
        if self.schedule == "explicit" and self.dose_amounts_mg and len(self.dose_amounts_mg) != len(self.dose_hours):
            raise ParameterError(
                f"dose_amounts_mg has {len(self.dose_amounts_mg)} values but dose_hours has "
                f"{len(self.dose_hours)}: give one amount per dose time, or none to use dose_mg"
            )
        if self.mean_degree >= self.n_agents:
            raise ParameterError(f"mean_degree = {self.mean_degree} must be below n_agents = {self.n_agents}")

    # ----------------------------------------------------------------- derived
    @property
    def steps_per_day(self) -> float:
        """Steps in 24 hours."""
        return 24.0 / self.step_hours

    def replace(self, **changes: Any) -> Params:
        """Return a copy with some parameters changed (validated)."""
        return with_overrides(self, changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all values (tuples as lists), for JSON and tables."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Params)}


def describe() -> list[dict[str, Any]]:
    """One row per parameter: name, default, unit, range or choices, meaning."""
    rows = []
    for name, f in FIELDS.items():
        m = f.metadata
        allowed = ", ".join(m["choices"]) if m["choices"] else f"[{m['low']:g}, {m['high']:g}]"
        rows.append({"name": name, "default": f.default, "unit": m["unit"], "allowed": allowed, "meaning": m["doc"]})
    return rows


def _allowed(f: dataclasses.Field) -> str:
    m = f.metadata
    if m["choices"]:
        return "one of " + ", ".join(m["choices"])
    kind = "an integer" if m["integer"] else "a number"
    return f"{kind} in [{m['low']:g}, {m['high']:g}]"


def _check_value(f: dataclasses.Field, value: Any) -> None:
    m = f.metadata
    name = f.name
    if m["choices"]:
        if not isinstance(value, str) or value not in m["choices"]:
            raise ParameterError(
                f"{name} = {value!r} is not allowed: use {_allowed(f)}{did_you_mean(value, m['choices'])}"
            )
        return
    values = value if isinstance(f.default, tuple) else (value,)
    if isinstance(f.default, tuple) and not isinstance(value, tuple):
        raise ParameterError(f"{name} = {value!r} must be a list of numbers")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ParameterError(f"{name} = {v!r} is not a number: {name} must be {_allowed(f)}")
        if m["integer"] and not float(v).is_integer():
            raise ParameterError(f"{name} = {v!r} must be {_allowed(f)}")
        if not math.isfinite(v) or v < m["low"] or v > m["high"]:
            raise ParameterError(f"{name} = {v!r} is out of range: {name} must be {_allowed(f)}")


def _coerce(name: str, value: Any) -> Any:
    """Convert a value read from TOML or the command line to the field's type."""
    f = FIELDS[name]
    if f.metadata["choices"]:
        return value
    if isinstance(f.default, tuple):
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if not isinstance(value, (list, tuple)):
            value = [value]
        return tuple(_number(name, v) for v in value)
    v = _number(name, value)
    if f.metadata["integer"] and isinstance(v, float) and v.is_integer():
        v = int(v)
    return v


def _number(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        raise ParameterError(f"{name} = {value!r} is not a number: {name} must be {_allowed(FIELDS[name])}")
    if isinstance(value, (int, float)):
        return value
    try:
        text = str(value).strip()
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        raise ParameterError(f"{name} = {value!r} is not a number: {name} must be {_allowed(FIELDS[name])}") from None


def check_value(name: str, value: Any) -> Any:
    """Validate one parameter value on its own (no cross-parameter rules); returns it converted."""
    check_name(name)
    value = _coerce(name, value)
    _check_value(FIELDS[name], value)
    return value


def check_name(name: str) -> None:
    """Refuse an unknown parameter name, suggesting the closest known one."""
    if name not in FIELDS:
        raise ParameterError(f"unknown parameter '{name}'{did_you_mean(name, FIELDS)}")


def with_overrides(base: Params, changes: Mapping[str, Any]) -> Params:
    """Validated copy of ``base`` with ``changes`` (values may be strings)."""
    coerced = {}
    for name, value in changes.items():
        check_name(name)
        coerced[name] = _coerce(name, value)
    return dataclasses.replace(base, **coerced)


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Parse ``name=value`` strings from ``--set``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"--set {item!r} is not of the form name=value")
        check_name(name.strip())
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


def load(
    config: str | Path | None = None, overrides: Mapping[str, Any] | None = None, base: Params | None = None
) -> Params:
    """Parameters from defaults (or ``base``), an optional TOML file, then overrides.

    The TOML file holds ``name = value`` pairs at top level or in a ``[params]`` table.
    """
    params = base or Params()
    if config is not None:
        data = read_toml(config)
        table = data.get("params", data)
        if not isinstance(table, dict):
            raise ParameterError(f"[params] in {config} must be a table of name = value pairs")
        for key, value in table.items():
            if isinstance(value, dict):
                raise ParameterError(f"unexpected table [{key}] in {config}: parameters are name = value pairs")
        params = with_overrides(params, table)
    if overrides:
        params = with_overrides(params, overrides)
    return params
