"""The array engine: the same rules as :mod:`bondsim.agents`, over everyone at once.

State lives in NumPy arrays, one entry per person, and the bonds in an array
aligned with the network's CSR edges (``bond[e]`` is ``row[e]``'s bond to
``indices[e]``). Each phase is a handful of array operations, with no Python loop
over people. All random draws come from the model's Generator.

Mesa stays the public face: :class:`PersonView` agents read and write these
arrays, so ``model.agents``, the DataCollector and the app work as with the
per-agent engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from .rules import STRONG_BOND, TIE_BOND, close_ties

if TYPE_CHECKING:
    from .model import BondingModel


def row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each CSR row (works for empty rows)."""
    cs = np.zeros(len(values) + 1)
    np.cumsum(values, out=cs[1:])
    return cs[indptr[1:]] - cs[indptr[:-1]]


class ArrayEngine:
    """Runs the model on arrays."""

    name = "array"

    def __init__(self, model: BondingModel, set_points: np.ndarray, bonds: np.ndarray,
                 create_agents: bool = True) -> None:
        self.model = model
        self.rules = model.rules
        net = model.network
        n = net.n
        self.net = net
        self.set_point = np.asarray(set_points, dtype=np.float64)
        self.tone = self.set_point.copy()
        self.bond = np.asarray(bonds, dtype=np.float64).copy()
        self.tie_open = np.ones(net.n_edges, dtype=bool)  # False once a partner has left
        self.closed_edges = np.zeros(0, dtype=np.int64)
        self.isolated_until = np.full(n, -1.0)
        self.treated = np.zeros(n, dtype=bool)
        self.treated_index = np.zeros(0, dtype=np.int64)
        self.drug_state = np.zeros((0, 4))
        self.occupancy = np.zeros(n)
        self.reward_memory = np.ones(n)
        self.positive_affect = np.full(n, 0.5)
        self.felt_connection = np.zeros(n)
        self.signal = np.ones(n)
        self.distress = np.zeros(n)
        self.seeking = np.zeros(n, dtype=bool)
        self.last_reward = np.ones(n)
        self.observe()
        if create_agents:
            for i in range(n):
                PersonView(model, i)

    # -------------------------------------------------------------- helpers
    def isolated_now(self) -> np.ndarray:
        """Boolean array: who is cut off from everyone now."""
        return self.model.hours < self.isolated_until

    def set_treated(self, indices: np.ndarray) -> None:
        """Mark who receives the drug."""
        self.treated[:] = False
        self.treated[indices] = True
        self.treated_index = np.flatnonzero(self.treated)
        self.drug_state = np.zeros((len(self.treated_index), 4))

    # ---------------------------------------------------------------- step
    def step(self) -> dict[str, float]:
        """One synchronous step of everyone; returns this step's contact counts."""
        rules, rng, net = self.rules, self.model.rng, self.net
        n = net.n
        # phase 1: distress raises the chance of seeking contact
        self.seeking = rng.random(n) < rules.seek_probability(self.distress)
        seekers = np.flatnonzero(self.seeking)

        # phase 2: a seeker picks an available neighbour with weight floor + bond^selectivity
        isolated = self.isolated_now()
        any_isolated = bool(isolated.any())
        params = self.model.params
        weight = params.bond_floor + self.bond**params.partner_selectivity
        if any_isolated or self.closed_edges.size:
            available = self.tie_open & ~isolated[net.row] & ~isolated[net.indices]
            weight = weight * available
        cum = np.zeros(len(weight) + 1)
        np.cumsum(weight, out=cum[1:])
        lo, hi = net.indptr[seekers], net.indptr[seekers + 1]
        start, total = cum[lo], cum[hi] - cum[lo]
        has_partner = total > 0
        draw = rng.random(len(seekers))
        target = start + draw * total
        edge = np.clip(np.searchsorted(cum, target, side="right") - 1, lo, np.maximum(hi - 1, lo))
        approach = edge[has_partner]
        who = seekers[has_partner]
        accepted = rng.random(len(approach)) < rules.accept_probability
        met_edges = np.concatenate([approach[accepted], net.reverse[approach[accepted]]])
        rejected = who[~accepted]

        # phase 3: rewards through free receptors, tone, bonds, relaxation, drug
        reward = rules.reward(self.tone, self.occupancy, self.set_point)
        self.last_reward = reward
        contacts = np.bincount(net.row[met_edges], minlength=n)
        rejections = np.zeros(n)
        rejections[rejected] = 1.0
        absent_bond = np.zeros(n)
        if self.closed_edges.size:
            absent_bond += np.bincount(net.row[self.closed_edges], self.bond[self.closed_edges], minlength=n)
        if any_isolated:
            absent_bond[isolated] = row_sums(self.bond, net.indptr)[isolated]
        self.tone = rules.new_tone(self.tone, self.set_point, contacts, rejections, absent_bond)
        touched, times = np.unique(met_edges, return_counts=True)
        self.bond[touched] = rules.grow_bond(self.bond[touched], reward[net.row[touched]], times)
        self.bond *= rules.bond_keep
        if self.treated_index.size and rules.drug.active:
            occ = self.occupancy[self.treated_index]
            self.drug_state, occ = self.model.kinetics.advance(self.drug_state, occ)
            self.occupancy[self.treated_index] = occ
        met = contacts > 0
        self.reward_memory[met] = rules.remember_reward(self.reward_memory[met], reward[met], contacts[met])
        self.observe()
        n_accepted = int(accepted.sum())
        return {"seekers": len(seekers), "approaches": len(approach), "accepted": n_accepted,
                "reward_sum": float(np.dot(reward, contacts)), "rewarded": 2 * n_accepted}

    def observe(self) -> None:
        """Opioid signal, distress, felt connection and positive affect of everyone."""
        rules = self.rules
        self.signal = rules.opioid_signal(self.tone, self.occupancy, self.set_point)
        self.distress = rules.distress(self.signal)
        indptr = self.net.indptr
        ties = close_ties(row_sums(self.bond, indptr), row_sums(self.bond * self.bond, indptr))
        self.felt_connection = rules.felt_connection(ties, self.reward_memory)
        self.positive_affect = rules.positive_affect(self.positive_affect, self.signal)

    def arrays(self) -> dict:
        """Per-person state as arrays (same keys as the per-agent engine)."""
        indptr = self.net.indptr
        return {
            "tone": self.tone, "set_point": self.set_point, "occupancy": self.occupancy,
            "distress": self.distress, "felt_connection": self.felt_connection,
            "positive_affect": self.positive_affect, "seeking": self.seeking, "treated": self.treated,
            "bond_sum": row_sums(self.bond, indptr),
            "strong_bonds": row_sums((self.bond >= STRONG_BOND).astype(np.float64), indptr),
            "has_tie": row_sums((self.bond >= TIE_BOND).astype(np.float64), indptr) > 0,
        }

    # --------------------------------------------------------------- events
    def dose(self, indices, mg: float) -> None:
        """Put ``mg`` into the depot of each listed (treated) person."""
        pos = np.searchsorted(self.treated_index, np.asarray(indices, dtype=np.int64))
        self.drug_state[pos, 0] += mg

    def close_tie(self, i: int, j: int) -> None:
        """Make i and j unreachable to each other for good (a partner leaves)."""
        e = self.net.edge(i, j)
        pair = np.array([e, self.net.reverse[e]])
        self.tie_open[pair] = False
        self.closed_edges = np.union1d(self.closed_edges, pair)

    def isolate(self, indices, until_hours: float) -> None:
        """Cut the listed people off from everyone until ``until_hours``."""
        self.isolated_until[np.asarray(indices, dtype=np.int64)] = until_hours


def _array_attribute(name: str, doc: str) -> property:
    def get(self):
        return getattr(self.model.engine, name)[self.index].item()

    def set(self, value):
        getattr(self.model.engine, name)[self.index] = value

    return property(get, set, doc=doc)


class PersonView(mesa.Agent):
    """A person of the array engine, as a Mesa agent whose attributes are views into the arrays."""

    tone = _array_attribute("tone", "endogenous opioid tone (tone units)")
    set_point = _array_attribute("set_point", "tone set point (tone units)")
    occupancy = _array_attribute("occupancy", "fraction of mu receptors held by the drug")
    signal = _array_attribute("signal", "opioid signal relative to the set point")
    distress = _array_attribute("distress", "separation distress in [0, 1]")
    felt_connection = _array_attribute("felt_connection", "felt connection in [0, 1]")
    positive_affect = _array_attribute("positive_affect", "positive affect in [0, 1]")
    reward_memory = _array_attribute("reward_memory", "running mean reward per contact")
    seeking = _array_attribute("seeking", "sought contact in the last step")
    treated = _array_attribute("treated", "receives the drug")

    def __init__(self, model: BondingModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def bonds(self) -> dict[int, float]:
        """Partner index -> bond in [0, 1] (a copy; use ``set_bond`` to change one)."""
        net, bond = self.model.network, self.model.engine.bond
        lo, hi = net.indptr[self.index], net.indptr[self.index + 1]
        return dict(zip(net.indices[lo:hi].tolist(), bond[lo:hi].tolist(), strict=True))

    def set_bond(self, partner: int, value: float) -> None:
        """Set this person's bond to a neighbour."""
        self.model.engine.bond[self.model.network.edge(self.index, partner)] = value
