"""What every engine offers the model: the explicit engine interface.

An engine is handed, once, the model's mechanisms (:class:`bondsim.mechanism.ModelSpec`), the
constants derived from the parameters (the drug's kinetics among them), the network and the
initial state; and, each step, the model's random generator and the clock. It never reads or
writes the model. It answers:

- ``step(rng, hours) -> Contacts``: one synchronous step; who approached whom, and whether the
  partner accepted. Every engine draws the same numbers in the same order (:meth:`EngineBase.step`),
  so with one seed both engines give one result;
- ``get(name)``: a copy of one variable for everyone (or for every tie), ``view(name)`` the same
  read-only without copying (valid until the next step);
- ``add(name, where, amount)`` and ``put(name, where, values)``: change a variable of some
  people or ties (a dose, a closed tie).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


class RuleFault(Exception):
    """A rule that returned a number that is not finite, or (agents engine) raised, for one person.

    The model turns it into a :class:`bondsim.model.RuleError` that names the step too. The array
    engine and the agents engine raise it for the same person, rule and variable (the first
    person, in index order, whose rules went wrong in the phase; their first rule that did).
    """

    def __init__(
        self,
        rule: Any,
        person: int,
        *,
        variable: str | None = None,
        value: Any = None,
        error: BaseException | None = None,
    ) -> None:
        super().__init__(f"rule {rule.mechanism}.{rule.name}, person {person}")
        self.rule = rule
        self.person = person
        self.variable = variable
        self.value = value
        self.error = error

    def describe(self, when: str) -> str:
        """One line: the rule, what went wrong, the person and ``when`` (e.g. "step 5 (hour 5)")."""
        where = f"{self.rule.mechanism}.{self.rule.name}"
        if self.error is None:
            return (
                f"rule {where} wrote {self.value!r} to '{self.variable}' for person {self.person} at {when}: "
                "rules must return finite numbers (docs/extending.md: debugging a rule)"
            )
        frames = traceback.extract_tb(self.error.__traceback__)
        line = f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
        writes = f" (which writes {', '.join(self.rule.writes)})" if self.rule.writes else ""
        error = f"{type(self.error).__name__}: {' '.join(str(self.error).split())}"
        return f"rule {where}{writes} failed for person {self.person} at {when}: {error}{line}"


@dataclass(frozen=True)
class Contacts:
    """The approaches of one step: seeker, approached partner, and whether the partner accepted."""

    seeker: np.ndarray
    partner: np.ndarray
    accepted: np.ndarray

    def __len__(self) -> int:
        return len(self.seeker)

    @classmethod
    def none(cls) -> Contacts:
        """No approaches (before the first step)."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))


class EngineBase:
    """What both engines share: the model's mechanisms, constants, network and step length."""

    name = "base"

    def __init__(self, spec, constants: dict[str, Any], network, dt: float) -> None:
        self.spec = spec
        self.constants = constants
        self.network = network
        self.dt = dt
        self._people = np.arange(network.n, dtype=np.int64)
        stages = ("decide", "approach", "update")
        self._draw_names = {stage: [name[5:] for name in spec.draws(stage)] for stage in stages}

    def step(self, rng: np.random.Generator, hours: float) -> Contacts:
        """One synchronous step: decide, approach (each attempt, seekers in index order), then update and observe."""
        n = self.network.n
        self._decide(self._draw(rng, "decide", n), hours)
        seekers = self._people.repeat(self.view("attempts"))  # a seeker once per attempt
        partners, accepted = self._approach(seekers, self._draw(rng, "approach", len(seekers)), hours)
        self._update(self._draw(rng, "update", n), hours)
        met = partners >= 0  # a seeker with no open tie made an unanswered call
        if met.all():
            return Contacts(seekers, partners, accepted)
        return Contacts(seekers[met], partners[met], accepted[met])

    def _draw(self, rng: np.random.Generator, stage: str, size: int) -> dict[str, np.ndarray]:
        return {name: rng.random(size) for name in self._draw_names[stage]}

    def state(self, names=None) -> dict[str, np.ndarray]:
        """Copies of the per-person variables (all, or those named)."""
        names = names or [v.name for v in self.spec.variables.values() if v.per == "person"]
        return {name: self.get(name) for name in names}

    def views(self, names) -> dict[str, np.ndarray]:
        """Several per-person variables, read-only and not copied where the engine can (valid until the next step)."""
        return {name: self.view(name) for name in names}

    def bonds_of(self, person: int, include_closed: bool = False) -> dict[int, float]:
        """A person's bond to each neighbour (by default only over open ties)."""
        lo, hi = self.network.indptr[person], self.network.indptr[person + 1]
        bond, closed = self.view("bond")[lo:hi], self.view("closed")[lo:hi]
        keep = np.ones(hi - lo, dtype=bool) if include_closed else closed == 0
        return dict(zip(self.network.indices[lo:hi][keep].tolist(), bond[keep].tolist(), strict=True))

    def get(self, name: str) -> np.ndarray:  # pragma: no cover - every engine defines it
        """A copy of one variable for everyone (or for every tie)."""
        raise NotImplementedError

    def view(self, name: str) -> np.ndarray:  # pragma: no cover - every engine defines it
        """One variable for everyone, read-only (valid until the next step)."""
        raise NotImplementedError
