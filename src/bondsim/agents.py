"""A person as a Mesa agent: the model's rules written one person at a time.

This is the readable reference engine (``engine = "agents"``) and the test oracle
of the array engine. A step has phases, run for everyone before the next phase
starts (synchronous updates), in the order of design.md:

1. ``decide``: distress (the opioid signal's shortfall) raises the chance of
   seeking contact;
2. ``approach``: a seeker picks a neighbour, preferring strong bonds; the
   partner accepts or rejects;
3. ``update``: accepted contacts release opioid and grow bonds in proportion to
   the reward felt through free receptors; rejection and absent partners lower
   tone; tone relaxes, bonds fade, the drug moves on; then ``observe`` computes
   the signal, distress and what a diary would report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .rules import STRONG_BOND, TIE_BOND, Rules, close_ties

if TYPE_CHECKING:
    from .model import BondingModel


class Person(mesa.Agent):
    """One person with an endogenous opioid tone, mu receptors, bonds and feelings."""

    def __init__(self, model: BondingModel, index: int, set_point: float) -> None:
        super().__init__(model)
        self.index = index
        self.set_point = set_point  # tone units
        self.tone = set_point  # tone units
        self.bonds: dict[int, float] = {}  # partner index -> bond in [0, 1]
        self.absent: set[int] = set()  # partners who cannot be reached
        self.isolated_until = -1.0  # hours; isolated while model hours < this
        self.treated = False
        self.drug_state = [0.0, 0.0, 0.0, 0.0]  # depot mg, plasma, metabolite, effect site ng/mL
        self.occupancy = 0.0  # fraction of mu receptors held by the drug
        self.signal = 1.0  # opioid signal relative to the set point
        self.distress = 0.0
        self.reward_memory = 1.0  # running mean reward per contact
        self.felt_connection = 0.0
        self.positive_affect = 0.5
        self.seeking = False
        self.partner: Person | None = None
        self.accepted = False
        self._reset_step()

    @property
    def rules(self) -> Rules:
        """The model's rules."""
        return self.model.rules

    def _reset_step(self) -> None:
        self.contacts: list[int] = []  # partners met this step (as seeker or as partner)
        self.rejections = 0

    def is_isolated(self) -> bool:
        """Whether the person is cut off from everyone now."""
        return self.model.hours < self.isolated_until

    def available_partners(self) -> dict[int, float]:
        """Neighbours who can be reached now, with the bond to each."""
        if self.is_isolated():
            return {}
        people = self.model.people
        return {j: w for j, w in self.bonds.items() if j not in self.absent and not people[j].is_isolated()}

    # ---------------------------------------------------------------- phases
    def decide(self) -> None:
        """Phase 1: distress raises the chance of seeking contact this step."""
        self.seeking = self.model.rng.random() < self.rules.seek_probability(self.distress)
        self.partner = None
        self.accepted = False

    def approach(self) -> None:
        """Phase 2: pick a neighbour, preferring strong bonds; the partner accepts or rejects."""
        partners = self.available_partners()
        if not partners:
            return  # an unanswered call
        floor, selectivity = self.model.params.bond_floor, self.model.params.partner_selectivity
        ids = list(partners)
        weights = [floor + partners[j] ** selectivity for j in ids]
        pick = self.model.rng.random() * sum(weights)
        chosen = ids[-1]
        for j, w in zip(ids, weights, strict=True):
            pick -= w
            if pick < 0:
                chosen = j
                break
        self.partner = self.model.people[chosen]
        self.accepted = self.model.rng.random() < self.rules.accept_probability
        if self.accepted:
            self.contacts.append(chosen)
            self.partner.contacts.append(self.index)
        else:
            self.rejections += 1

    def update(self) -> None:
        """Phase 3: contacts reward and bond, rejection and absence hurt, then everything relaxes."""
        rules = self.rules
        reward = rules.reward(self.tone, self.occupancy, self.set_point)
        self.last_reward = reward
        absent_bond = sum(w for j, w in self.bonds.items() if j in self.absent) if self.absent else 0.0
        if self.is_isolated():
            absent_bond = sum(self.bonds.values())
        self.tone = rules.new_tone(self.tone, self.set_point, len(self.contacts), self.rejections, absent_bond)
        for j in self.contacts:
            self.bonds[j] = rules.grow_bond(self.bonds[j], reward)
        keep = rules.bond_keep
        bonds = self.bonds
        for j in bonds:
            bonds[j] *= keep
        if self.treated:
            self.drug_state, self.occupancy = self.model.kinetics.advance_person(self.drug_state, self.occupancy)
        if self.contacts:
            self.reward_memory = rules.remember_reward(self.reward_memory, reward, len(self.contacts))
        self.observe(rules)

    def observe(self, rules: Rules) -> None:
        """Opioid signal through the receptors, the distress of its shortfall, and what a diary reports."""
        self.signal = rules.opioid_signal(self.tone, self.occupancy, self.set_point)
        self.distress = rules.distress(self.signal)
        bond_sum = square_sum = 0.0
        strong, tied = 0, False
        for w in self.bonds.values():
            bond_sum += w
            square_sum += w * w
            strong += w >= STRONG_BOND
            tied = tied or w >= TIE_BOND
        self.bond_sum, self.strong_bonds, self.has_tie = bond_sum, strong, tied
        self.close_ties = close_ties(bond_sum, square_sum)
        self.felt_connection = rules.felt_connection(self.close_ties, self.reward_memory)
        self.positive_affect = rules.positive_affect(self.positive_affect, self.signal)

    def end_step(self) -> None:
        """Forget this step's contacts."""
        self._reset_step()


class AgentEngine:
    """Runs the model as Mesa agents, phase by phase, one person at a time."""

    name = "agents"

    def __init__(self, model: BondingModel, set_points, bonds) -> None:
        self.model = model
        net = model.network
        people = [Person(model, i, float(set_points[i])) for i in range(net.n)]
        for i, person in enumerate(people):
            lo, hi = net.indptr[i], net.indptr[i + 1]
            person.bonds = dict(zip(net.indices[lo:hi].tolist(), bonds[lo:hi].tolist(), strict=True))
            person.observe(model.rules)
        model.people = people

    def step(self) -> dict[str, float]:
        """One synchronous step; returns this step's contact counts."""
        agents = self.model.agents
        agents.do("decide")
        seekers = agents.select(lambda a: a.seeking)
        seekers.do("approach")
        agents.do("update")
        approaches = sum(1 for p in seekers if p.partner is not None)
        accepted = sum(1 for p in seekers if p.accepted)
        reward_sum = sum(p.last_reward * len(p.contacts) for p in agents)
        agents.do("end_step")
        return {
            "seekers": len(seekers),
            "approaches": approaches,
            "accepted": accepted,
            "reward_sum": reward_sum,
            "rewarded": 2 * accepted,
        }

    def arrays(self) -> dict:
        """Per-person state gathered into arrays (same keys as the array engine)."""
        people = self.model.people
        return {
            "tone": np.array([p.tone for p in people]),
            "set_point": np.array([p.set_point for p in people]),
            "occupancy": np.array([p.occupancy for p in people]),
            "distress": np.array([p.distress for p in people]),
            "felt_connection": np.array([p.felt_connection for p in people]),
            "positive_affect": np.array([p.positive_affect for p in people]),
            "seeking": np.array([p.seeking for p in people]),
            "treated": np.array([p.treated for p in people]),
            "bond_sum": np.array([p.bond_sum for p in people]),
            "strong_bonds": np.array([p.strong_bonds for p in people]),
            "has_tie": np.array([p.has_tie for p in people]),
            "close_ties": np.array([p.close_ties for p in people]),
        }

    def edge_bonds(self) -> np.ndarray:
        """Bonds on the network's CSR edges, as the array engine keeps them."""
        net, people = self.model.network, self.model.people
        return np.array([people[i].bonds[j] for i, j in zip(net.row.tolist(), net.indices.tolist(), strict=True)])

    def open_edges(self) -> np.ndarray:
        """Whether each directed edge can carry contact now: not closed by a loss, neither end isolated."""
        net, people = self.model.network, self.model.people
        isolated = np.array([p.is_isolated() for p in people], dtype=bool)
        absent = np.array([j in people[i].absent for i, j in zip(net.row.tolist(), net.indices.tolist(), strict=True)])
        return ~absent.astype(bool) & ~isolated[net.row] & ~isolated[net.indices]

    def bonds_of(self, person: int) -> dict[int, float]:
        """Bonds of a person to neighbours who have not left."""
        agent = self.model.people[person]
        return {j: w for j, w in agent.bonds.items() if j not in agent.absent}

    def dose(self, indices, mg: float) -> None:
        """Put ``mg`` into the depot of each listed person."""
        for i in indices:
            self.model.people[i].drug_state[0] += mg

    def close_tie(self, i: int, j: int) -> None:
        """Make i and j unreachable to each other for good (a partner leaves)."""
        self.model.people[i].absent.add(j)
        self.model.people[j].absent.add(i)

    def isolate(self, indices, until_hours: float) -> None:
        """Cut the listed people off from everyone until ``until_hours``."""
        for i in indices:
            self.model.people[i].isolated_until = until_hours
