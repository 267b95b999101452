"""The bonding model: a Mesa model of people on a social network, with either engine."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Collection, Iterable
from types import MappingProxyType
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import metrics
from .agents import AgentEngine
from .drugs import DrugProfile, profile
from .engine import Contacts, RuleFault
from .errors import UserError
from .extras import require
from .mechanism import MechanismError, ModelSpec, check_arguments, model_spec, resolve
from .network import SocialNetwork, build
from .params import Params, load

SETTLE_MIN_DAYS = 42.0  # the shortest warm-up: bonds settle within six weeks with the defaults (model.md)
SETTLE_MAX_DAYS = 365.0  # the longest: a community that has not settled in a year is reported as it is
SETTLE_TOLERANCE = 0.005  # weekly change of felt connection and mean bond (0-1 scales) counted as settled


class ModelError(UserError):
    """A request the model cannot carry out (an event in the past, of an unknown kind): one line."""


class RuleError(MechanismError):
    """A rule that returned a number that is not finite, or raised: one line naming the rule, person and step.

    Both engines raise it for the same rule, person and step; the original error (agents engine)
    is its ``__cause__``.
    """


def make_seed(seed: int | None) -> int:
    """The seed to use and record: ``seed`` itself, or a fresh one from the OS."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} must be a non-negative integer")
    return int(seed)


def model_constants(params: Params, spec) -> dict[str, Any]:
    """Every number the rules may read: the numeric parameters, then each mechanism's derived constants.

    A constant may not take the name of a parameter, a variable or another mechanism's constant.
    """
    out = {k: v for k, v in params.values().items() if isinstance(v, (int, float)) and not isinstance(v, str)}
    owner = dict.fromkeys(params.values(), "the parameters")
    owner.update(dict.fromkeys(spec.variables, "a variable"))
    for m in spec.mechanisms:
        for name, value in m.constants(params).items():
            if name in owner:
                raise MechanismError(f"{m.name}.constants() defines '{name}', which is already {owner[name]}")
            owner[name] = m.name
            out[name] = value
    return out


def check_model(params: Params) -> tuple[ModelSpec, dict[str, Any]]:
    """The model's mechanisms and constants, every rule checked, without building a population."""
    spec = model_spec(params.mechanisms)
    constants = model_constants(params, spec)
    check_arguments(spec, constants)
    return spec, constants


class Timeseries(mesa.DataCollector):
    """Mesa's DataCollector of the model's population means, one row per step.

    The row is computed once per step (``model.current``) and appended as it is: Mesa's own
    ``collect`` calls a reporter and deep-copies its number for each column, a fifth of a small
    model's step.
    """

    def __init__(self, model_reporters: dict[str, Callable[..., Any]]) -> None:
        super().__init__(model_reporters=model_reporters)
        self._rows = dict(model_reporters)  # the reporters that read the row

    def collect(self, model: mesa.Model) -> None:
        """Append this step's row (as Mesa does, reporter by reporter, once a reporter was changed or added)."""
        if self.model_reporters != self._rows or self.agent_reporters or self.agenttype_reporters:
            super().collect(model)
            return
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)  # as Mesa's collect does (batch_run reads it)
        row = model.current
        for column, values in self.model_vars.items():
            values.append(row[column])


class BondingModel(mesa.Model):
    """People whose endogenous opioid tone drives, and is driven by, social contact.

    The model is the ordered list of mechanisms in ``params.mechanisms``; the engine
    (``params.engine``) executes their rules, one Mesa agent at a time (``agents``) or compiled
    over arrays (``array``). People are named by their index 0..n-1 everywhere.

    Args:
        params: the parameters (defaults if None); keyword overrides are applied on top.
        seed: master seed of the model's single NumPy Generator (drawn and recorded if None).
        social_network: a prebuilt network to use instead of generating one.
        create_agents: whether the array engine creates its Mesa agent views
            (skip for very large populations; the agents engine always has agents).
        **overrides: parameter values, e.g. ``n_agents=500, drug="naltrexone"``.
    """

    def __init__(
        self,
        params: Params | None = None,
        seed: int | None = None,
        *,
        social_network: SocialNetwork | None = None,
        create_agents: bool = True,
        **overrides: Any,
    ) -> None:
        self.params = load(overrides=overrides, base=params) if overrides else (params or Params())
        self.seed = make_seed(seed)
        super().__init__(rng=self.seed)
        self._mesa_step, self.step = self.step, self._guarded_step  # Mesa's clock, behind a check
        self._failure: str | None = None
        self._keep: set[int] | None = None  # the steps whose rows are recorded (None: every step)
        self._current_step = -1  # the step whose row self._current is
        self.steps_done = 0  # Mesa counts a step as done before it runs; events need the step's start
        p = self.params
        self.spec, constants = check_model(p)
        self.constants = MappingProxyType(constants)  # read-only: derived from the parameters, given to the engine
        self.drug: DrugProfile = profile(p.drug, p.drugs)
        self.network = (
            social_network
            if social_network is not None
            else build(p.network, p.n_agents, p.mean_degree, self.rng, p.rewiring)
        )
        self._degree = self.network.degree()
        state: dict[str, np.ndarray] = {}
        for m in self.spec.mechanisms:
            state.update(m.initialize(p, self.network.n, self.network, self.rng))
        try:
            if p.engine == "array":
                require("array", "engine = 'array'")
                from .kernel import ArrayEngine

                kwargs = {"create_agents": create_agents, "threads": p.threads}
                self.engine = ArrayEngine(
                    self.spec, self.constants, self.network, state, p.step_hours, model=self, **kwargs
                )
            else:
                self.engine = AgentEngine(self.spec, self.constants, self.network, state, p.step_hours, model=self)
        except RuleFault as fault:  # a start rule or an observation of the initial state
            raise RuleError(fault.describe("the start (step 0)")) from fault.error
        self.treated_index = np.flatnonzero(self.engine.get("treated"))
        self.separated_index = np.zeros(0, dtype=np.int64)
        self.event_hour = 0.0
        self._events: list[tuple[float, int, str, Any]] = []
        self._event_counter = 0
        self._handlers = {"reopen ties": _reopen_ties}
        for m in self.spec.mechanisms:
            self._handlers.update(m.events())
        for m in self.spec.mechanisms:
            m.schedule(self)
        self.last_contacts = Contacts.none()
        self.extra_metrics = {k: v for m in self.spec.mechanisms for k, v in m.metrics().items()}
        columns = (*metrics.COLUMNS, *self.extra_metrics)
        self.datacollector = Timeseries(model_reporters={c: (lambda m, c=c: m.current[c]) for c in columns})
        self._record()

    # ------------------------------------------------------------- time
    @property
    def hours(self) -> float:
        """Simulated time (h): the start of the step while it runs, its end once it is done."""
        return self.steps_done * self.params.step_hours

    @property
    def n(self) -> int:
        """Number of people."""
        return self.network.n

    @property
    def people(self) -> list:
        """The Mesa agents, one per person, in index order."""
        return list(self.agents)

    # ----------------------------------------------------------- events
    def schedule(self, hour: float, kind: str, payload: Any = None) -> None:
        """Schedule an event at ``hour`` (h, not before now).

        Kinds: those of the mechanisms (``dose`` and ``daily dose`` with payload (people, mg);
        ``loss`` and ``isolation`` of ``separation_fraction`` of the people), or any kind whose
        payload is a callable, called with the model.
        """
        hour = float(hour)
        if not math.isfinite(hour) or hour < self.hours - 1e-9:
            raise ModelError(f"cannot schedule '{kind}' at hour {hour:g}: the model is already at hour {self.hours:g}")
        if kind not in self._handlers and not callable(payload):
            raise ModelError(
                f"unknown event kind '{kind}': use one of {', '.join(self._handlers)}, or pass a callable payload"
            )
        self._events.append((hour, self._event_counter, kind, payload))
        self._event_counter += 1
        self._events.sort(key=lambda e: (e[0], e[1]))

    def schedule_doses(self, events: Iterable[tuple[float, float]], people: Iterable[int] | None = None) -> None:
        """Schedule (hour, mg) doses for the given people (default: everyone treated)."""
        who = self.treated_index if people is None else np.asarray(list(people), dtype=np.int64)
        for hour, mg in events:
            self.schedule(hour, "dose", (who, float(mg)))

    def give_dose(self, people: Iterable[int], mg: float) -> None:
        """Give a dose now to people who are on the drug."""
        people = np.asarray(list(people), dtype=np.int64)
        if people.size and not np.isin(people, self.treated_index).all():
            raise ModelError("a dose can only be given to treated people (see treated_fraction)")
        if self.drug.active and people.size:
            self.engine.add("drug_depot", people, mg)

    def _person(self, person: Any) -> int:
        """A person's index, checked: an integer 0..n-1."""
        if isinstance(person, bool) or not isinstance(person, (int, np.integer)) or not 0 <= person < self.n:
            raise ModelError(f"person {person!r} does not exist: people are numbered 0 to {self.n - 1}")
        return int(person)

    def separate(self, person: int, partner: int | None = None) -> int | None:
        """Person loses a partner for good (default: the strongest reachable bond); returns who."""
        person = self._person(person)
        bonds = self.bonds_of(person)
        if partner is None:
            if not bonds:
                return None
            partner = max(bonds, key=bonds.get)
        partner = self._person(partner)
        if partner not in bonds:
            raise ModelError(f"person {person} has no open tie to person {partner}")
        e = self.network.edge(person, partner)
        self._close([e, self.network.reverse[e]], 1)
        return partner

    def _close(self, ties, change: int) -> None:
        """Close (``change`` 1) or reopen (-1) directed ties, keeping each person's count of closed ties."""
        ties = np.asarray(ties, dtype=np.int64)
        self.engine.add("closed", ties, change)
        before = self.engine.view("closed")
        owners = np.unique(self.network.row[ties])
        counts = [int(np.count_nonzero(before[self.network.indptr[i] : self.network.indptr[i + 1]])) for i in owners]
        self.engine.put("closed_ties", owners, counts)

    def isolate(self, people: Iterable[int], hours: float) -> None:
        """Cut people off from everyone for ``hours`` from now (their ties close, then reopen)."""
        if not (isinstance(hours, (int, float)) and math.isfinite(hours) and hours >= 0):
            raise ModelError(f"isolate: hours = {hours!r} must be a number >= 0")
        people = np.asarray([self._person(i) for i in people], dtype=np.int64)
        net = self.network
        own = np.concatenate([np.arange(net.indptr[i], net.indptr[i + 1]) for i in people]) if people.size else []
        ties = np.concatenate([own, net.reverse[np.asarray(own, dtype=np.int64)]]).astype(np.int64)
        self._close(ties, 1)
        self.schedule(self.hours + hours, "reopen ties", ties)

    def bonds_of(self, person: int) -> dict[int, float]:
        """Bonds of a person to reachable neighbours (partners who left or are away are not listed)."""
        return self.engine.bonds_of(self._person(person))

    def _apply_events(self) -> None:
        end = self.hours + self.params.step_hours
        while self._events and self._events[0][0] < end - 1e-9:
            hour, _, kind, payload = self._events.pop(0)
            self.event_hour = hour
            if kind in self._handlers:
                self._handlers[kind](self, payload)
            else:
                payload(self)

    # -------------------------------------------------------------- step
    def step(self) -> None:
        """Advance one step of ``step_hours``: events, then the phases of the engine."""
        try:
            self._apply_events()
            self.last_contacts = self.engine.step(self.rng, self.hours)
            self.steps_done += 1
            if self._keep is None or self.steps_done in self._keep:
                self._record()
        except RuleFault as fault:  # a rule went wrong for someone: the step is half done
            error = RuleError(
                fault.describe(
                    f"step {self.steps_done + 1} (hours {self.hours:g}-{self.hours + self.params.step_hours:g})"
                )
            )
            self._failure = str(error)
            raise error from fault.error
        except BaseException as exc:  # the step is half done: the model cannot go on
            self._failure = f"{type(exc).__name__}: {exc}".split("\n")[0]
            raise

    def _guarded_step(self) -> None:
        """``step()`` as called: refuses to go on after a step failed half-way (its state is not consistent)."""
        if self._failure is not None:
            raise ModelError(
                f"this model stopped at hour {self.hours:g} when a step failed ({self._failure}); build a new model"
            )
        self._mesa_step()

    def _record(self) -> None:
        self.datacollector.collect(self)  # this step's row: model.current

    @property
    def current(self) -> dict[str, float]:
        """This step's row of the timeseries, computed when first asked for in the step.

        Up to date at every step, also where a run keeps rows of some steps only (:meth:`advance`).
        """
        if self._current_step != self.steps_done:
            self._current = self._row()
            self._current_step = self.steps_done
        return self._current

    def _row(self) -> dict[str, float]:
        view = self.engine.views(metrics.NEEDS)
        row = metrics.summarize(view, self.last_contacts, self.steps_done, self.hours, self._degree)
        if self.extra_metrics:
            state = self.state()
            for name, (_, fn) in self.extra_metrics.items():
                try:
                    row[name] = float(fn(state))
                except Exception as exc:
                    raise MechanismError(f"metric '{name}' failed: {type(exc).__name__}: {exc}") from None
        return row

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every per-person variable (either engine)."""
        return self.engine.state()

    def evaluate(self, function: Callable[..., Any], **given: Any) -> np.ndarray:
        """What a rule (or helper) function gives for everyone now, without changing the model.

        Arguments are found by name, as for the rules: in ``given`` (a number, or one value per
        person), then the state, then the constants. For example the reward a contact would
        give each person now: ``model.evaluate(contact_reward)``.
        """
        net = self.network
        columns = []
        for name in inspect.signature(function).parameters:
            if name in given:
                columns.append(np.broadcast_to(np.asarray(given[name]), (self.n,)).tolist())
                continue
            try:
                a = resolve(name, self.spec, self.constants)
            except MechanismError as exc:
                raise ModelError(f"{function.__name__} reads {exc}: pass it in") from None
            if a.kind == "draw":
                raise ModelError(f"{function.__name__} reads the draw '{name}': pass it in")
            if a.kind == "edge":
                values = self.engine.view(a.key).tolist()
                columns.append([values[net.indptr[i] : net.indptr[i + 1]] for i in range(self.n)])
            elif a.kind == "variable":
                columns.append(self.engine.view(a.key).tolist())
            else:
                value = (
                    self.params.step_hours if name == "dt" else self.hours if name == "hours" else self.constants[name]
                )
                columns.append([value] * self.n)
        return np.array([function(*args) for args in zip(*columns, strict=True)])

    def edge_bonds(self) -> np.ndarray:
        """A copy of the bond on each directed tie, in the order of ``network.indices``."""
        return self.engine.get("bond")

    def open_edges(self) -> np.ndarray:
        """For each directed tie, whether it is open now (not closed by a loss or an isolation)."""
        return self.engine.get("closed") == 0

    def settle(
        self, min_days: float = SETTLE_MIN_DAYS, max_days: float = SETTLE_MAX_DAYS, tolerance: float = SETTLE_TOLERANCE
    ) -> float:
        """Run until the community is stationary; returns the days run (``min_days``, or whole weeks more).

        Bonds form over weeks, and how many depends on the parameters (a small capacity or slow
        learning takes longer). After ``min_days`` the model runs a week at a time until the weekly
        means of felt connection and of the mean bond (0-1 scales) both moved by less than
        ``tolerance`` from the week before, or until ``max_days``. The same seed gives the same
        length: the check reads the model's own state once a day.
        """
        day = max(1, round(24.0 / self.params.step_hours))
        means: list[tuple[float, float]] = []

        def week() -> tuple[float, float]:
            rows = []
            for _ in range(7):
                self.advance(day)
                rows.append((self.current["felt_connection"], self.current["mean_bond"]))
            return tuple(np.mean(rows, axis=0))

        start = self.hours
        self.advance(max(0, math.ceil(24.0 * (min_days - 14.0) / self.params.step_hours - 1e-9)))
        means.append(week())  # the two weeks before min_days are compared first
        while (self.hours - start) / 24.0 < max_days - 1e-9:
            means.append(week())
            if max(abs(a - b) for a, b in zip(means[-1], means[-2], strict=True)) < tolerance:
                break
        return (self.hours - start) / 24.0

    def run(self, steps: int, progress: bool = False, keep: Collection[int] | None = None) -> pd.DataFrame:
        """Run ``steps`` steps and return the whole timeseries (see :meth:`advance` for ``keep``)."""
        self.advance(steps, progress=progress, keep=keep)
        return self.timeseries()

    def advance(self, steps: int, progress: bool = False, keep: Collection[int] | None = None) -> None:
        """Run ``steps`` steps.

        ``keep``: the steps (counted from the model's start) whose rows are recorded in this run,
        and the last; rows of other steps are not computed unless asked for (``model.current``,
        e.g. by an event), so a mechanism's metric that fails at such a step goes unnoticed.
        """
        from tqdm.auto import tqdm

        self._keep = None if keep is None else {*keep, self.steps_done + steps}
        try:
            for _ in tqdm(range(steps), disable=not progress, unit="step", desc="bondsim", mininterval=0.5):
                self.step()
        finally:
            self._keep = None

    def timeseries(self) -> pd.DataFrame:
        """The tidy per-step table (one row per recorded step)."""
        return pd.DataFrame(self.datacollector.model_vars)

    def timeseries_columns(self) -> dict[str, np.ndarray]:
        """The per-step table as columns: one array per column, an entry per recorded step."""
        return {column: np.asarray(values) for column, values in self.datacollector.model_vars.items()}


def _reopen_ties(model: BondingModel, ties: np.ndarray) -> None:
    """The end of an isolation: the ties it closed open again (unless closed for another reason)."""
    model._close(ties, -1)


def steps_for(params: Params, steps: int | None = None, days: float | None = None) -> int:
    """Number of steps for ``steps`` or ``days`` (default 7 days)."""
    if steps is not None:
        return steps
    return max(1, math.ceil((7.0 if days is None else days) * params.steps_per_day - 1e-9))


def run(
    params: Params | None = None,
    steps: int | None = None,
    days: float | None = None,
    seed: int | None = None,
    progress: bool = False,
    **overrides: Any,
) -> tuple[pd.DataFrame, dict]:
    """Run one simulation; returns the timeseries and its provenance (seed, timing)."""
    started = time.perf_counter()
    model = BondingModel(params, seed=seed, **overrides)
    n_steps = steps_for(model.params, steps, days)
    frame = model.run(n_steps, progress=progress)
    info = {"seed": model.seed, "steps": n_steps, "elapsed_seconds": time.perf_counter() - started}
    return frame, info
