"""The array engine: the same rules as :mod:`bondsim.agents`, over everyone at once.

State lives in NumPy arrays, one entry per person, and the bonds in an array
aligned with the network's CSR edges (``bond[e]`` is ``row[e]``'s bond to
``indices[e]``). Each phase is a handful of array operations, with no Python loop
over people. All random draws come from the model's Generator.

Work per step is kept proportional to what happens in the step wherever the
rules allow (see docs/performance.md):

- partner choice looks only at the edges of this step's seekers;
- rewards, bond growth and the reward memory are computed only for people who
  met someone, and the contact, rejection and grief terms of the tone update only
  for people who had any;
- each person's bond sum, sum of squares and strongest bond (which felt
  connection and the metrics need) are kept up to date from the few bonds that
  grew, instead of summing all bonds again. Decay multiplies every bond by the
  same factor, so it multiplies these summaries by that factor too.

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


def row_max(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Largest of ``values`` in each CSR row (0 for an empty row; values are >= 0)."""
    out = np.zeros(len(indptr) - 1)
    filled = np.flatnonzero(np.diff(indptr) > 0)
    if filled.size:
        out[filled] = np.maximum.reduceat(values, indptr[filled])
    return out


def row_edges(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges of the given rows, concatenated, and where each row's edges start in that list.

    Returns ``(edges, start)`` with ``start`` of length ``len(rows) + 1``: the edges
    of ``rows[k]`` are ``edges[start[k]:start[k + 1]]``.
    """
    lo = indptr[rows]
    degree = indptr[rows + 1] - lo
    start = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(degree, out=start[1:])
    edges = np.arange(start[-1], dtype=np.int64) + np.repeat(lo - start[:-1], degree)
    return edges, start


def power(x: np.ndarray, exponent: float) -> np.ndarray:
    """``x ** exponent``, by repeated multiplication when the exponent is a small whole number (much faster)."""
    if float(exponent).is_integer() and 1 <= exponent <= 8:
        out = x.copy()
        for _ in range(int(exponent) - 1):
            out *= x
        return out
    return x**exponent


class ArrayEngine:
    """Runs the model on arrays.

    Attributes:
        bond: bond of each directed edge, in [0, 1]; change it with :meth:`set_bond`
            (or call :meth:`refresh` after writing into it directly).
        bond_sum, bond_square_sum, bond_max: per person, the sum, sum of squares and
            largest of that person's bonds (kept in step with ``bond``).
    """

    name = "array"

    def __init__(
        self, model: BondingModel, set_points: np.ndarray, bonds: np.ndarray, create_agents: bool = True
    ) -> None:
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
        self.isolation_ends = -1.0  # hours; nobody is isolated from then on
        self.refresh()
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

    def refresh(self) -> None:
        """Recompute every person's bond summaries from ``bond`` (after writing into it directly)."""
        indptr = self.net.indptr
        self.bond_sum = row_sums(self.bond, indptr)
        self.bond_square_sum = row_sums(self.bond * self.bond, indptr)
        self.bond_max = row_max(self.bond, indptr)
        self.strong = self.bond >= STRONG_BOND
        self.strong_count = row_sums(self.strong.astype(np.float64), indptr)

    def set_bond(self, i: int, j: int, value: float) -> None:
        """Set i's bond to neighbour j, keeping i's bond summaries in step."""
        net = self.net
        e = net.edge(i, j)
        self.bond[e] = value
        lo, hi = net.indptr[i], net.indptr[i + 1]
        mine = self.bond[lo:hi]
        self.bond_sum[i] = mine.sum()
        self.bond_square_sum[i] = np.dot(mine, mine)
        self.bond_max[i] = mine.max()
        self.strong[e] = value >= STRONG_BOND
        self.strong_count[i] = np.count_nonzero(self.strong[lo:hi])

    # ---------------------------------------------------------------- step
    def step(self) -> dict[str, float]:
        """One synchronous step of everyone; returns this step's contact counts."""
        rules, rng, net, params = self.rules, self.model.rng, self.net, self.model.params
        n = net.n
        # phase 1: distress raises the chance of seeking contact
        self.seeking = rng.random(n) < rules.seek_probability(self.distress)
        seekers = np.flatnonzero(self.seeking)

        # phase 2: a seeker picks an available neighbour with weight floor + bond^selectivity,
        # by inverting the cumulative weights of its own edges (all seekers' edges in one list)
        isolated = self.isolated_now() if self.model.hours < self.isolation_ends else None
        edges, start = row_edges(net.indptr, seekers)
        weight = params.bond_floor + power(self.bond[edges], params.partner_selectivity)
        if self.closed_edges.size:
            weight *= self.tie_open[edges]
        if isolated is not None:
            weight *= ~isolated[net.indices[edges]] & ~isolated[net.row[edges]]
        cum = np.zeros(len(weight) + 1)
        np.cumsum(weight, out=cum[1:])
        lo, hi = start[:-1], start[1:]
        first, total = cum[lo], cum[hi] - cum[lo]
        has_partner = total > 0
        draw = rng.random(len(seekers))
        pick = np.searchsorted(cum, first + draw * total, side="right") - 1
        pick = np.clip(pick, lo, np.maximum(hi - 1, lo))[has_partner]
        approach = edges[pick]
        who = seekers[has_partner]
        accepted = rng.random(len(approach)) < rules.accept_probability
        ask, answer = approach[accepted], net.reverse[approach[accepted]]  # both sides of each contact
        rejected = who[~accepted]

        # phase 3: rewards through free receptors, tone, bonds, relaxation, drug
        contacts = np.bincount(net.row[ask], minlength=n) + np.bincount(net.row[answer], minlength=n)
        met = np.flatnonzero(contacts)
        reward = np.zeros(n)  # only people who met someone feel a reward
        reward[met] = rules.reward(self.tone[met], self.occupancy[met], self.set_point[met])
        rejections = np.zeros(n)
        rejections[rejected] = 1.0
        absent_bond = np.zeros(n)
        if self.closed_edges.size:
            absent_bond += np.bincount(net.row[self.closed_edges], self.bond[self.closed_edges], minlength=n)
        if isolated is not None:
            absent_bond[isolated] = self.bond_sum[isolated]
        # everyone relaxes toward the set point; people with contacts, rejections or absent partners
        # get the full rule (the same formula: with no events it reduces to the relaxation)
        hit = np.flatnonzero((contacts > 0) | (rejections > 0) | (absent_bond > 0))
        hit_tone = rules.new_tone(self.tone[hit], self.set_point[hit], contacts[hit], rejections[hit], absent_bond[hit])
        self.tone = rules.new_tone(self.tone, self.set_point, 0, 0, 0.0)
        self.tone[hit] = hit_tone
        # an edge met twice (both approached each other) grows twice, as in the per-agent engine
        self._grow_bonds(ask, reward, owners_distinct=True)
        self._grow_bonds(answer, reward, owners_distinct=False)
        self._decay_bonds()
        if self.treated_index.size and rules.drug.active:
            occ = self.occupancy[self.treated_index]
            self.drug_state, occ = self.model.kinetics.advance(self.drug_state, occ)
            self.occupancy[self.treated_index] = occ
        self.reward_memory[met] = rules.remember_reward(self.reward_memory[met], reward[met], contacts[met])
        self.observe()
        n_accepted = len(ask)
        return {
            "seekers": len(seekers),
            "approaches": len(approach),
            "accepted": n_accepted,
            "reward_sum": float((reward[met] * contacts[met]).sum()),
            "rewarded": 2 * n_accepted,
        }

    def _grow_bonds(self, edges: np.ndarray, reward: np.ndarray, owners_distinct: bool) -> None:
        """Grow each listed bond (edges distinct) by one contact felt with its owner's reward, and its owner's sums."""
        owner = self.net.row[edges]
        old = self.bond[edges]
        new = self.rules.grow_bond(old, reward[owner])
        self.bond[edges] = new
        if owners_distinct:
            self.bond_sum[owner] += new - old
            self.bond_square_sum[owner] += new * new - old * old
            np.maximum(self.bond_max[owner], new, out=new)
            self.bond_max[owner] = new
        else:
            np.add.at(self.bond_sum, owner, new - old)
            np.add.at(self.bond_square_sum, owner, new * new - old * old)
            np.maximum.at(self.bond_max, owner, new)  # bonds only grow here

    def _decay_bonds(self) -> None:
        """Fade every bond by the same factor, and with it each person's sums and strongest bond."""
        keep = self.rules.bond_keep
        self.bond *= keep
        self.bond_sum *= keep
        self.bond_square_sum *= keep * keep
        self.bond_max *= keep
        self._count_strong()

    def _count_strong(self) -> None:
        """Update each person's number of strong bonds from the edges that crossed the threshold.

        One pass over the bonds to compare, but the per-person counting touches only the crossings.
        """
        strong = self.bond >= STRONG_BOND
        crossed = np.flatnonzero(strong != self.strong)
        np.add.at(self.strong_count, self.net.row[crossed], np.where(strong[crossed], 1.0, -1.0))
        self.strong = strong

    def observe(self) -> None:
        """Opioid signal, distress, felt connection and positive affect of everyone."""
        rules = self.rules
        self.signal = rules.opioid_signal(self.tone, self.occupancy, self.set_point)
        self.distress = rules.distress(self.signal)
        self.close_ties = close_ties(self.bond_sum, self.bond_square_sum)
        self.felt_connection = rules.felt_connection(self.close_ties, self.reward_memory)
        self.positive_affect = rules.positive_affect(self.positive_affect, self.signal)

    def arrays(self) -> dict:
        """Per-person state as arrays (same keys as the per-agent engine)."""
        return {
            "tone": self.tone,
            "set_point": self.set_point,
            "occupancy": self.occupancy,
            "distress": self.distress,
            "felt_connection": self.felt_connection,
            "positive_affect": self.positive_affect,
            "seeking": self.seeking,
            "treated": self.treated,
            "bond_sum": self.bond_sum.copy(),
            "strong_bonds": self.strong_count.copy(),
            "has_tie": self.bond_max >= TIE_BOND,
            "close_ties": self.close_ties,
        }

    def edge_bonds(self) -> np.ndarray:
        """Bonds on the network's CSR edges (a copy)."""
        return self.bond.copy()

    def open_edges(self) -> np.ndarray:
        """Whether each directed edge can carry contact now: not closed by a loss, neither end isolated."""
        isolated = self.isolated_now()
        return self.tie_open & ~isolated[self.net.row] & ~isolated[self.net.indices]

    def bonds_of(self, person: int) -> dict[int, float]:
        """Bonds of a person to neighbours who have not left."""
        lo, hi = self.net.indptr[person], self.net.indptr[person + 1]
        open_ = self.tie_open[lo:hi]
        return dict(zip(self.net.indices[lo:hi][open_].tolist(), self.bond[lo:hi][open_].tolist(), strict=True))

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
        self.isolation_ends = max(self.isolation_ends, float(until_hours))


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
        self.model.engine.set_bond(self.index, partner, value)
