"""Population-level observables: one row of the tidy per-step table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

COLUMNS = (
    "step",
    "hours",
    "mean_tone",
    "felt_connection",
    "positive_affect",
    "distress",
    "seeking_rate",
    "acceptance_rate",
    "reward_per_contact",
    "mean_bond",
    "strong_bonds",
    "isolated_fraction",
    "mean_occupancy",
)

DESCRIPTIONS = {
    "step": "steps done",
    "hours": "simulated time (h)",
    "mean_tone": "mean endogenous opioid tone (tone units; set point about 1)",
    "felt_connection": "mean felt connection, 0-1",
    "positive_affect": "mean positive affect, 0-1 (0.5 at the set point)",
    "distress": "mean separation distress, 0-1",
    "seeking_rate": "mean rate of contact seeking, attempts per person per day",
    "acceptance_rate": "accepted approaches / approaches in the step (NaN if none)",
    "reward_per_contact": "mean reward of an accepted contact, 1 = a closest partner, undrugged (NaN if none)",
    "mean_bond": "mean bond over all ties, 0-1",
    "strong_bonds": "mean number of strong bonds (>= 0.5) per person",
    "isolated_fraction": "fraction of people with no bond >= 0.1",
    "mean_occupancy": "mean mu-receptor occupancy by the drug among treated people (0 if none)",
}

# the unit of each column
UNITS = {
    "step": "steps",
    "hours": "h",
    "mean_tone": "tone units",
    "felt_connection": "0-1",
    "positive_affect": "0-1",
    "distress": "0-1",
    "seeking_rate": "1/day",
    "acceptance_rate": "fraction",
    "reward_per_contact": "relative to a closest partner, undrugged (1)",
    "mean_bond": "0-1",
    "strong_bonds": "bonds per person",
    "isolated_fraction": "fraction",
    "mean_occupancy": "fraction of receptors",
}

# the per-person variables a row is computed from
NEEDS = (
    "tone",
    "felt_connection",
    "positive_affect",
    "distress",
    "seeking_rate",
    "treated",
    "occupancy",
    "bond_sum",
    "strong_bonds",
    "has_tie",
    "reward",
    "contacts",
)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def _pick(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return values if mask is None else values[mask]


def _sum(values: np.ndarray) -> float:
    return float(np.add.reduce(values, dtype=np.float64))  # np.sum's and np.mean's sum, without their wrappers


def _mean(values: np.ndarray, mask: np.ndarray | None) -> float:
    picked = _pick(values, mask)
    return _sum(picked) / picked.size if picked.size else float("nan")


def _occupancy(s: dict, mask: np.ndarray | None) -> float:
    treated = s["treated"] if mask is None else s["treated"] & mask
    return _mean(s["occupancy"], treated) if treated.any() else 0.0


# The columns that are means over people: the per-person variables each reads, and the mean over the
# people a mask selects (everyone for the timeseries; a group for grouped outputs, bondsim.outputs).
PER_PERSON: dict[str, tuple[tuple[str, ...], Callable[[dict, np.ndarray | None, np.ndarray], float]]] = {
    "mean_tone": (("tone",), lambda s, m, deg: _mean(s["tone"], m)),
    "felt_connection": (("felt_connection",), lambda s, m, deg: _mean(s["felt_connection"], m)),
    "positive_affect": (("positive_affect",), lambda s, m, deg: _mean(s["positive_affect"], m)),
    "distress": (("distress",), lambda s, m, deg: _mean(s["distress"], m)),
    "seeking_rate": (("seeking_rate",), lambda s, m, deg: _mean(s["seeking_rate"], m)),
    "strong_bonds": (("strong_bonds",), lambda s, m, deg: _mean(s["strong_bonds"], m)),
    "isolated_fraction": (("has_tie",), lambda s, m, deg: 1.0 - _mean(s["has_tie"], m)),
    "mean_bond": (
        ("bond_sum",),
        lambda s, m, deg: _ratio(_sum(_pick(s["bond_sum"], m)), _sum(_pick(deg, m))),
    ),
    "reward_per_contact": (
        ("reward", "contacts"),  # a plain product and sum: NumPy's BLAS dot leaves a thread spinning
        lambda s, m, deg: _ratio(_sum(_pick(s["reward"], m) * _pick(s["contacts"], m)), _sum(_pick(s["contacts"], m))),
    ),
    "mean_occupancy": (("occupancy", "treated"), lambda s, m, deg: _occupancy(s, m)),
}


def summarize(state: dict, contacts, step: int, hours: float, degree: np.ndarray) -> dict[str, float]:
    """One row of the timeseries from per-person arrays, the step's approaches (``Contacts``) and the degrees."""
    row = {"step": step, "hours": hours}
    row.update({name: fn(state, None, degree) for name, (_, fn) in PER_PERSON.items()})
    row["acceptance_rate"] = _ratio(float(np.count_nonzero(contacts.accepted)), float(len(contacts)))
    return {column: row[column] for column in COLUMNS}
