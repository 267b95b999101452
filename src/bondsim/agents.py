"""A person as a Mesa agent: the agents engine, the model read one person at a time.

This is the readable reference engine (``engine = "agents"``) and the test oracle of the array
engine. Each person is a :class:`Person`, a ``mesa.Agent`` whose attributes are the person's
state (``person.tone``, ``person.distress``, ...) and whose ties are lists aligned with its
neighbours (``person.partners``, ``person.edge_bond``, ...). A step has phases, each run for
everyone before the next starts (synchronous updates):

1. ``decide``: a fresh start for the step, and whether to seek contact;
2. ``approach`` (seekers only): choose a partner, who accepts or rejects;
3. ``update``: reward, tone, bonds, drug and memory; then what the person observes.

The methods are written from the mechanisms' rules (:mod:`bondsim.codegen`), so they call the
very functions the array engine compiles: ``print(bondsim.codegen.agent_source(spec))`` shows
them.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet

from .codegen import agent_methods
from .engine import EngineBase
from .mechanism import DTYPES


class Person(mesa.Agent):
    """One person: opioid tone, mu receptors and a drug, bonds to neighbours, and feelings.

    Attributes: one per per-person variable of the model's mechanisms; ``partners`` (the
    neighbouring Person agents), ``edge_NAME`` (the person's value of each tie variable, one per
    partner) and ``back`` (where this person sits in each partner's lists).
    """

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.unique_id = index  # one name for a person everywhere: the index 0..n-1

    @property
    def bonds(self) -> dict[int, float]:
        """Neighbour index -> bond in [0, 1] (a copy)."""
        return {p.index: b for p, b in zip(self.partners, self.edge_bond, strict=True)}


class AgentEngine(EngineBase):
    """Runs the model as Mesa agents, phase by phase, one person at a time."""

    name = "agents"

    def __init__(self, spec, constants, network, state, dt, *, model: mesa.Model, start: bool = True) -> None:
        super().__init__(spec, constants, network, dt)
        methods, self.namespace = agent_methods(spec, constants, dt)
        self.person_class = type("Person", (Person,), {**methods, "__module__": __name__})
        n = network.n
        people = [self.person_class(model, i) for i in range(n)]
        self.people = people
        self.everyone = AgentSet(people, random=model.random)
        self.variables = [v for v in spec.variables.values() if v.per == "person"]
        self.edge_variables = [v for v in spec.variables.values() if v.per == "edge"]
        for v in self.variables:
            values = state.get(v.name)
            values = [_cast(v, v.initial)] * n if values is None else np.asarray(values).tolist()
            for person, value in zip(people, values, strict=True):
                setattr(person, v.name, value)
        indptr, indices = network.indptr.tolist(), network.indices.tolist()
        # where this person sits in each partner's lists: the reverse tie's place in the partner's row
        back = (network.reverse - network.indptr[network.indices]).tolist()
        for i, person in enumerate(people):
            person.partners = [people[j] for j in indices[indptr[i] : indptr[i + 1]]]
            person.back = back[indptr[i] : indptr[i + 1]]
        for v in self.edge_variables:
            values = state.get(v.name)
            values = [_cast(v, v.initial)] * network.n_edges if values is None else np.asarray(values).tolist()
            for i, person in enumerate(people):
                setattr(person, f"edge_{v.name}", values[indptr[i] : indptr[i + 1]])
        if start:  # not for a state saved whole (a settled one): its start rules have run
            self.start()

    @property
    def constants(self) -> MappingProxyType:
        """The numbers derived from the parameters; setting them gives the methods the new ones (``C_name``)."""
        return self._constants

    @constants.setter
    def constants(self, value: dict[str, Any]) -> None:
        self._constants = MappingProxyType(dict(value))
        if hasattr(self, "namespace"):
            self.namespace.update({f"C_{k}": v for k, v in value.items()})

    def _decide(self, draws: dict[str, np.ndarray], hours: float) -> None:
        self.namespace.update(DRAWS={k: v.tolist() for k, v in draws.items()}, HOURS=hours)
        self.everyone.do("decide")

    def _approach(self, seekers: np.ndarray, draws: dict[str, np.ndarray], hours: float):
        self.namespace["DRAWS"] = {k: v.tolist() for k, v in draws.items()}
        self.namespace["CONTACTS"] = contacts = [(-1, False)] * len(seekers)
        for rank, i in enumerate(seekers.tolist()):  # one approach per attempt, in the order of the draws
            person = self.people[i]
            person.rank = rank
            person.approach()
        partners = np.array([c[0] for c in contacts], dtype=np.int64)
        return partners, np.array([c[1] for c in contacts], dtype=bool)

    def _update(self, draws: dict[str, np.ndarray], hours: float) -> None:
        self.namespace["DRAWS"] = {k: v.tolist() for k, v in draws.items()}
        self.everyone.do("update")

    def start(self) -> None:
        """Run the start rules and compute everyone's observables, without advancing."""
        self.everyone.do("start")

    # ------------------------------------------------------------ reading and changing state
    def get(self, name: str) -> np.ndarray:
        """A copy of one variable for everyone (or every tie, in the network's edge order)."""
        v = self.spec.variables[name]
        if v.per == "edge":
            values = chain.from_iterable(getattr(p, f"edge_{name}") for p in self.people)
            return np.fromiter(values, dtype=DTYPES[v.dtype], count=self.network.n_edges)
        return np.fromiter((getattr(p, name) for p in self.people), dtype=DTYPES[v.dtype], count=self.network.n)

    view = get  # gathering from the agents already makes a fresh array

    def views(self, names) -> dict[str, np.ndarray]:
        """Several per-person variables at once, in one pass over the agents."""
        names = list(names)
        values = chain.from_iterable(map(attrgetter(*names), self.people))
        rows = np.fromiter(values, dtype=np.float64, count=len(names) * len(self.people)).reshape(-1, len(names))
        return {
            name: rows[:, k].astype(DTYPES[self.spec.variables[name].dtype], copy=False) for k, name in enumerate(names)
        }

    def add(self, name: str, where, amount: float) -> None:
        """Add ``amount`` to a variable of the listed people (or ties)."""
        for index in np.asarray(where, dtype=np.int64).tolist():
            self._change(name, index, lambda old: old + amount)

    def put(self, name: str, where, values: Any) -> None:
        """Set a variable of the listed people (or ties)."""
        where = np.asarray(where, dtype=np.int64).tolist()
        values = np.broadcast_to(np.asarray(values), (len(where),)).tolist()
        for index, value in zip(where, values, strict=True):
            self._change(name, index, lambda old, value=value: value)

    def _change(self, name: str, index: int, how) -> None:
        if self.spec.variables[name].per == "edge":
            owner = int(self.network.row[index])
            k = index - int(self.network.indptr[owner])
            row = getattr(self.people[owner], f"edge_{name}")
            row[k] = how(row[k])
        else:
            person = self.people[index]
            setattr(person, name, how(getattr(person, name)))


def _cast(v, value):
    return float(value) if v.dtype == "float" else bool(value) if v.dtype == "bool" else int(value)
