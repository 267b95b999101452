"""Interventions: ``[[events]]`` that act at a day and hour of a run, from a config, a design or Python.

An event changes parameters (``set``), gives a dose (``dose_mg``), cuts people off from everyone
for a time (``isolate_days``) or ends their isolation (``reunite``), at ``day`` (days from time
zero, the end of the warm-up) and ``hour`` (of that day, default 0)::

    [[events]]
    day = 14
    hour = 9
    set = { rejection_rate = 0.6 }          # from then on, for everyone

    [[events]]
    day = 7
    hour = 8
    dose_mg = 50                            # to the treated people (see treated_fraction)

    [[events]]
    day = 21
    isolate_days = 3
    who = "untreated"
    fraction = 0.2                          # a fifth of them, drawn at that moment

    [[events]]
    day = 22
    reunite = true                          # ends the isolations early
    who = "isolated"

Who an action is for: ``who`` names a group, ``fraction`` draws a share of it at the event's
time from the model's generator, as the separation events do (``round(fraction x size)``, at
least one), or ``people`` lists people by index. The groups of a run (``GROUPS``):

- ``everyone`` (the default, except for a dose);
- ``treated`` and ``untreated``: who is on the drug (``treated_fraction``; a dose's default);
- ``separated``: whom the last loss or isolation chose (also the parameters' separation event);
- ``isolated``: who is cut off by an isolation at that moment.

A virtual trial's design has its own groups (``participants``, ``others``) and no doses: its
arms give them (:mod:`bondsim.trials.design`).

A parameter change acts from that step on: the model's constants are recomputed and handed to
the engine (:meth:`bondsim.model.BondingModel.set_parameters`). A parameter that sizes or builds
the model, sets its initial state or schedules its own events at time zero cannot change mid-run
(``bondsim.params.FIXED``); it is refused with one line, as is anything else wrong in a table.
Until an event acts, a run is the very same as one without it.

:func:`parse` turns a list of tables into checked :class:`Event` objects; :func:`schedule` puts
them on a model. ``bondsim run`` reads the ``[[events]]`` of its ``--config``; sweeps and trial
designs call the same two functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ParameterError, did_you_mean
from .params import FIXED, Params, check_value

GROUPS = ("everyone", "treated", "untreated", "separated", "isolated")
ACTIONS = ("set", "dose_mg", "isolate_days", "reunite")
KEYS = ("day", "hour", *ACTIONS, "who", "fraction", "people")
MAX_DAY = 10_000.0  # as the parameters' own event times (dosing_start_day, separation_day)


class EventError(ParameterError):
    """An event that cannot be carried out as written: one line naming it."""


@dataclass(frozen=True)
class Event:
    """One intervention: at ``day`` and ``hour``, one action for a group.

    Exactly one of ``set`` (parameter name and value pairs), ``dose_mg``, ``isolate_days`` and
    ``reunite`` is given. ``who`` names a group (None: the action's default), ``fraction`` draws a
    share of it when the event acts, ``people`` lists people by index instead.
    """

    day: float
    hour: float = 0.0
    set: tuple[tuple[str, Any], ...] = ()
    dose_mg: float | None = None
    isolate_days: float | None = None
    reunite: bool = False
    who: str | None = None
    fraction: float | None = None
    people: tuple[int, ...] | None = None

    @property
    def action(self) -> str:
        """``set``, ``dose``, ``isolate`` or ``reunite``."""
        if self.set:
            return "set"
        if self.dose_mg is not None:
            return "dose"
        return "isolate" if self.isolate_days is not None else "reunite"

    @property
    def hours(self) -> float:
        """When the event acts: hours from time zero (or from the moment it is counted from)."""
        return 24.0 * self.day + self.hour

    @property
    def group(self) -> str:
        """The group the action is for: ``who``, or the action's default (the treated for a dose)."""
        return self.who or ("treated" if self.action == "dose" else "everyone")

    def to_table(self) -> dict[str, Any]:
        """The event as a TOML table (what :func:`parse` reads back)."""
        table: dict[str, Any] = {"day": self.day, "hour": self.hour}
        if self.set:
            table["set"] = dict(self.set)
        elif self.dose_mg is not None:
            table["dose_mg"] = self.dose_mg
        elif self.isolate_days is not None:
            table["isolate_days"] = self.isolate_days
        else:
            table["reunite"] = True
        for key in ("who", "fraction"):
            if getattr(self, key) is not None:
                table[key] = getattr(self, key)
        if self.people is not None:
            table["people"] = list(self.people)
        return table

    def describe(self) -> str:
        """The event in a few words, e.g. ``day 14, hour 9: set rejection_rate = 0.6``."""
        when = f"day {self.day:g}, hour {self.hour:g}"
        if self.set:
            return f"{when}: set " + ", ".join(f"{k} = {v!r}" for k, v in self.set)
        whom = f"people {list(self.people)}" if self.people is not None else self.group
        if self.fraction is not None:
            whom = f"{self.fraction:g} of {whom}"
        if self.action == "dose":
            return f"{when}: {self.dose_mg:g} mg to {whom}"
        if self.action == "isolate":
            return f"{when}: isolate {whom} for {self.isolate_days:g} days"
        return f"{when}: reunite {whom}"


def _number(table: Mapping[str, Any], key: str, where: str, low: float, high: float, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise EventError(f"{where} needs '{key}'")
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EventError(f"{where}: {key} = {value!r} must be a number")
    if not low <= value <= high:
        raise EventError(f"{where}: {key} = {value!r} must be between {low:g} and {high:g}")
    return float(value)


def parse(
    tables: Any,
    where: str = "[[events]]",
    params: Params | None = None,
    *,
    groups: Sequence[str] = GROUPS,
    actions: Sequence[str] = ACTIONS,
    earliest_day: float = 0.0,
) -> tuple[Event, ...]:
    """Checked events from a list of ``[[events]]`` tables, in time order (one line for any problem).

    Args:
        tables: the tables as TOML reads them (a list of dicts).
        where: where they come from, for the messages (e.g. the file name).
        params: the parameters they act on (their names and values are checked against these, a
            user's mechanisms' parameters included; default: the built-in ones).
        groups: the groups ``who`` may name (a trial design has its own).
        actions: the actions allowed (a trial design gives no doses).
        earliest_day: the earliest ``day`` (a design counts days from its first period).

    Raises:
        EventError: an unknown key, a missing or bad value, no action or two, a group that does
            not exist, a parameter that is unknown, out of range or cannot change mid-run.
    """
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise EventError(f"{where} must be a list of tables: [[events]] with day = ... and an action")
    events = []
    for i, table in enumerate(tables):
        at = f"{where}[{i}]"
        for key in table:
            if key not in KEYS:
                raise EventError(f"{at}: unknown key '{key}'{did_you_mean(key, KEYS)}: use {', '.join(KEYS)}")
        given = [a for a in ACTIONS if a in table]
        if len(given) != 1:
            raise EventError(
                f"{at} needs exactly one action, " + (f"not {' and '.join(given)}" if given else "and has none")
                + f": {', '.join(a for a in ACTIONS if a in actions)}"
            )  # fmt: skip
        action = given[0]
        if action not in actions:
            raise EventError(f"{at}: {action} is not an action here: use {', '.join(actions)}")
        day = _number(table, "day", at, earliest_day, MAX_DAY)
        hour = _number(table, "hour", at, 0.0, 24.0, 0.0)
        if hour >= 24.0:
            raise EventError(f"{at}: hour = {hour:g} must be below 24 (the next day is day + 1)")
        event = Event(day=day, hour=hour)
        if action == "set":
            changes = table["set"]
            if not isinstance(changes, dict) or not changes:
                raise EventError(
                    f"{at}: set = {changes!r} must be a table of parameters, e.g. set = {{ rejection_rate = 0.6 }}"
                )
            checked = []
            for name, value in changes.items():
                try:
                    value = check_value(name, value, params)
                except ParameterError as exc:
                    raise EventError(f"{at}: set: {exc}") from None
                if name in FIXED:
                    raise EventError(f"{at}: set: {name} cannot change mid-run: it {FIXED[name]}")
                checked.append((name, value))
            event = Event(day=day, hour=hour, set=tuple(checked))
        elif action == "dose_mg":
            event = Event(day=day, hour=hour, dose_mg=_number(table, "dose_mg", at, 0.0, 1000.0))
        elif action == "isolate_days":
            event = Event(day=day, hour=hour, isolate_days=_number(table, "isolate_days", at, 0.0, MAX_DAY))
        else:
            if table["reunite"] is not True:
                raise EventError(f"{at}: reunite = {table['reunite']!r}: write reunite = true")
            event = Event(day=day, hour=hour, reunite=True)
        events.append(_whom(event, table, at, groups))
    return tuple(sorted(events, key=lambda e: e.hours))


def _whom(event: Event, table: Mapping[str, Any], at: str, groups: Sequence[str]) -> Event:
    """The event with its ``who``, ``fraction`` and ``people``, checked."""
    if event.set:
        for key in ("who", "fraction", "people"):
            if key in table:
                raise EventError(f"{at}: {key}: a parameter change applies to everyone (drop {key})")
        return event
    who = table.get("who")
    if who is not None and (not isinstance(who, str) or who not in groups):
        raise EventError(
            f"{at}: who = {who!r} is not a group: use one of {', '.join(groups)}{did_you_mean(who, groups)}"
        )
    if event.dose_mg is not None and who in ("untreated", "others"):
        raise EventError(f"{at}: who = '{who}': a dose goes to treated people only")
    fraction = _number(table, "fraction", at, 0.0, 1.0, None)
    if fraction == 0.0:
        raise EventError(f"{at}: fraction = 0 chooses nobody: leave the event out")
    people = table.get("people")
    if people is not None:
        if who is not None or fraction is not None:
            raise EventError(f"{at}: people names them one by one: drop who and fraction")
        if (
            not isinstance(people, list)
            or not people
            or not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in people)
        ):
            raise EventError(f"{at}: people = {people!r} must be a list of person numbers (0, 1, ...)")
        people = tuple(sorted(set(people)))
    return Event(
        day=event.day,
        hour=event.hour,
        dose_mg=event.dose_mg,
        isolate_days=event.isolate_days,
        reunite=event.reunite,
        who=who,
        fraction=fraction,
        people=people,
    )


def schedule(
    model: Any,
    events: Iterable[Event],
    *,
    offset_hours: float = 0.0,
    groups: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Schedule ``events`` on ``model``, ``offset_hours`` after its time zero (one line if one cannot act).

    ``groups``: more groups by name (people's indices), e.g. a trial's participants; they are
    added to the model's own (``GROUPS``).
    """
    groups = dict(groups or {})
    for event in events:
        if event.set:
            model.check_parameters(dict(event.set))
        if event.action == "dose" and model.params.drug == "none":
            raise EventError(f"event {event.describe()}: a dose needs a drug: set drug (and treated_fraction)")
        if event.people is not None and max(event.people) >= model.n:
            raise EventError(
                f"event {event.describe()}: person {max(event.people)} does not exist: people are 0 to {model.n - 1}"
            )
        if event.action == "dose" and event.people is None and event.group in ("everyone", *groups):
            who = people_of(model, event.group, groups)
            if not np.isin(who, model.treated_index).all():
                raise EventError(
                    f"event {event.describe()}: a dose goes to treated people only ({event.group} are not)"
                )
        model.schedule(offset_hours + event.hours, "event", (event, groups))


def people_of(model: Any, group: str, groups: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """The indices of the people in ``group`` now (sorted)."""
    if groups and group in groups:
        return np.asarray(groups[group], dtype=np.int64)
    if group == "everyone":
        return np.arange(model.n, dtype=np.int64)
    if group == "treated":
        return model.treated_index
    if group == "untreated":
        return np.setdiff1d(np.arange(model.n, dtype=np.int64), model.treated_index)
    if group == "separated":
        return model.separated_index
    if group == "isolated":
        return model.isolated_index
    raise EventError(f"unknown group '{group}': use one of {', '.join([*GROUPS, *(groups or {})])}")


def chosen(model: Any, event: Event, groups: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Who the event acts on now: its people, its group, or a share of the group drawn from the model's generator."""
    if event.people is not None:
        return np.asarray(event.people, dtype=np.int64)
    who = people_of(model, event.group, groups)
    if event.fraction is None or who.size == 0:
        return who
    k = max(1, round(event.fraction * who.size))
    return who[np.sort(model.rng.choice(who.size, size=k, replace=False))]  # as the separation events draw


def apply(model: Any, event: Event, groups: Mapping[str, np.ndarray] | None = None) -> None:
    """Carry out one event now (the model's ``event`` handler)."""
    if event.set:
        model.set_parameters(**dict(event.set))
        return
    who = chosen(model, event, groups)
    if event.action == "dose":
        model.give_dose(who, event.dose_mg)
    elif event.action == "isolate":
        model.isolate(who, 24.0 * event.isolate_days)
        model.separated_index = who
    else:
        model.reunite(who)


def to_tables(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The events as TOML tables (for run.json and design files)."""
    return [e.to_table() for e in events]


__all__ = ["ACTIONS", "GROUPS", "Event", "EventError", "apply", "chosen", "parse", "schedule", "to_tables"]
