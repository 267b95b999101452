"""The bonding model: a Mesa model of people on a social network, with either engine."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import metrics
from .agents import AgentEngine
from .kernel import ArrayEngine
from .network import SocialNetwork, build
from .params import Params, load
from .pharmacology import Kinetics, dose_times
from .rules import Rules


def make_seed(seed: int | None) -> int:
    """The seed to use and record: ``seed`` itself, or a fresh one from the OS."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint32)[0])
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed = {seed!r} must be a non-negative integer")
    return int(seed)


class BondingModel(mesa.Model):
    """People whose endogenous opioid tone drives, and is driven by, social contact.

    Args:
        params: the parameters (defaults if None); keyword overrides are applied on top.
        seed: master seed of the model's single NumPy Generator (drawn and recorded if None).
        social_network: a prebuilt network to use instead of generating one.
        create_agents: whether the array engine creates its Mesa agent views
            (skip for very large populations; the per-agent engine always has agents).
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
        self.steps_done = 0  # Mesa counts a step as done before it runs; events need the step's start
        p = self.params
        self.rules = Rules(p)
        self.kinetics = Kinetics(self.rules.drug, p.step_hours)
        self.network = (
            social_network
            if social_network is not None
            else build(p.network, p.n_agents, p.mean_degree, self.rng, p.rewiring)
        )
        n = self.network.n
        z = self.rng.standard_normal(n)
        set_points = p.set_point * np.exp(p.set_point_sd * z - 0.5 * p.set_point_sd**2)
        bonds = self.rng.uniform(0.0, 2.0 * p.initial_bond, self.network.n_edges)
        treated = np.zeros(0, dtype=np.int64)
        if p.drug != "none":
            k = round(p.treated_fraction * n)
            treated = np.sort(self.rng.choice(n, size=k, replace=False))
        self.people: list = []
        if p.engine == "array":
            self.engine = ArrayEngine(self, set_points, bonds, create_agents=create_agents)
            self.engine.set_treated(treated)
        else:
            self.engine = AgentEngine(self, set_points, bonds)
            for i in treated:
                self.people[i].treated = True
        self.treated_index = treated
        self._events: list[tuple[float, int, str, Any]] = []
        self._event_counter = 0
        self._schedule_parameter_events()
        self.last_contacts = {"seekers": 0, "approaches": 0, "accepted": 0, "reward_sum": 0.0, "rewarded": 0}
        self.datacollector = mesa.DataCollector(
            model_reporters={c: (lambda m, c=c: m.current[c]) for c in metrics.COLUMNS}
        )
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

    # ----------------------------------------------------------- events
    def schedule(self, hour: float, kind: str, payload: Any) -> None:
        """Schedule an event at ``hour`` (h).

        Kinds: ``dose`` and ``daily dose`` (which repeats every 24 h) with payload (people, mg);
        ``loss`` or ``isolation`` of ``separation_fraction`` of the people; or any kind whose
        payload is a callable, called with the model.
        """
        self._events.append((float(hour), self._event_counter, kind, payload))
        self._event_counter += 1
        self._events.sort()

    def schedule_doses(self, events: Iterable[tuple[float, float]], people: Iterable[int] | None = None) -> None:
        """Schedule (hour, mg) doses for the given people (default: everyone treated)."""
        who = self.treated_index if people is None else np.asarray(list(people), dtype=np.int64)
        for hour, mg in events:
            self.schedule(hour, "dose", (who, float(mg)))

    def give_dose(self, people: Iterable[int], mg: float) -> None:
        """Give a dose now to people who are on the drug."""
        people = np.asarray(list(people), dtype=np.int64)
        if people.size and not np.isin(people, self.treated_index).all():
            raise ValueError("a dose can only be given to treated people (see treated_fraction)")
        if self.rules.drug.active and people.size:
            self.engine.dose(people, mg)

    def separate(self, person: int, partner: int | None = None) -> int | None:
        """Person loses a partner for good (default: the strongest reachable bond); returns who."""
        bonds = self.bonds_of(person)
        if partner is None:
            if not bonds:
                return None
            partner = max(bonds, key=bonds.get)
        self.engine.close_tie(person, partner)
        return partner

    def isolate(self, people: Iterable[int], hours: float) -> None:
        """Cut people off from everyone for ``hours`` from now."""
        self.engine.isolate(np.asarray(list(people), dtype=np.int64), self.hours + hours)

    def bonds_of(self, person: int) -> dict[int, float]:
        """Bonds of a person to reachable neighbours (partners who left are not listed)."""
        return self.engine.bonds_of(person)

    def _schedule_parameter_events(self) -> None:
        p = self.params
        if p.drug != "none" and self.rules.drug.active and (p.dose_mg > 0 or p.schedule == "explicit"):
            start = 24.0 * p.dosing_start_day
            if p.schedule == "daily" and p.dosing_days == 0:  # until the end: each dose schedules the next
                self.schedule(start, "daily dose", (self.treated_index, float(p.dose_mg)))
            else:
                self.schedule_doses(
                    dose_times(
                        p.schedule,
                        p.dose_mg,
                        start_hours=start,
                        days=p.dosing_days,
                        hours=p.dose_hours,
                        amounts_mg=p.dose_amounts_mg,
                    )
                )
        if p.separation != "none" and p.separation_fraction > 0:
            self.schedule(24.0 * p.separation_day, p.separation, None)

    def _apply_events(self) -> None:
        end = self.hours + self.params.step_hours
        while self._events and self._events[0][0] < end - 1e-9:
            hour, _, kind, payload = self._events.pop(0)
            if kind in ("dose", "daily dose"):
                who, mg = payload
                self.give_dose(who, mg)
                if kind == "daily dose":
                    self.schedule(hour + 24.0, kind, payload)
            elif kind in ("loss", "isolation"):
                k = max(1, round(self.params.separation_fraction * self.n))
                chosen = np.sort(self.rng.choice(self.n, size=k, replace=False))
                if kind == "loss":
                    for i in chosen:
                        self.separate(int(i))
                else:
                    self.isolate(chosen, 24.0 * self.params.isolation_days)
                self.separated_index = chosen
            elif callable(payload):
                payload(self)

    # -------------------------------------------------------------- step
    def step(self) -> None:
        """Advance one step of ``step_hours``: events, then the phases of the engine."""
        self._apply_events()
        self.last_contacts = self.engine.step()
        self.steps_done += 1
        self._record()

    def _record(self) -> None:
        self.current = metrics.summarize(
            self.engine.arrays(), self.last_contacts, self.steps_done, self.hours, self.network.n_edges
        )
        self.datacollector.collect(self)

    def state(self) -> dict[str, np.ndarray]:
        """Per-person state and observables as arrays (either engine)."""
        return self.engine.arrays()

    def run(self, steps: int, progress: bool = False) -> pd.DataFrame:
        """Run ``steps`` steps and return the whole timeseries."""
        from tqdm.auto import tqdm

        for _ in tqdm(range(steps), disable=not progress, unit="step", desc="bondsim", mininterval=0.5):
            self.step()
        return self.timeseries()

    def timeseries(self) -> pd.DataFrame:
        """The tidy per-step table (one row per recorded step)."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)


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
