"""Population-level observables: one row of the tidy per-step table."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np

from . import contract
from .extras import has

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

OUTCOMES = tuple(c for c in COLUMNS if c not in ("step", "hours"))  # the model outcomes of a step

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

# the per-person variables summed for a row, in the order _population_sums takes them (bondsim.contract)
SUMMED = contract.names("metrics")
NEEDS = SUMMED  # the per-person variables a row is computed from

# The columns that are means over people: over everyone for the timeseries, over a group for
# grouped outputs (bondsim.outputs).
PER_PERSON = (
    "mean_tone",
    "felt_connection",
    "positive_affect",
    "distress",
    "seeking_rate",
    "strong_bonds",
    "isolated_fraction",
    "mean_bond",
    "reward_per_contact",
    "mean_occupancy",
)


def _population_sums(
    everyone, mask, tone, felt_connection, positive_affect, distress, seeking_rate, strong_bonds, has_tie,
    bond_sum, reward, contacts, occupancy, treated, degree,
):  # fmt: skip
    """Sums over the people ``mask`` selects (everyone if ``everyone``), in one pass.

    Returns: people, then the sums of tone, felt connection, positive affect, distress, seeking
    rate, strong bonds, people with a tie, bond_sum, ties (degree), reward x contacts, contacts,
    occupancy among the treated, and treated people.
    """
    people = total_tone = felt = affect = total_distress = seeking = strong = tied = bonds = ties = 0.0
    rewarded = contacted = occupied = treated_people = 0.0
    for i in range(tone.size):
        if everyone or mask[i]:
            people += 1.0
            total_tone += tone[i]
            felt += felt_connection[i]
            affect += positive_affect[i]
            total_distress += distress[i]
            seeking += seeking_rate[i]
            strong += strong_bonds[i]
            tied += 1.0 if has_tie[i] else 0.0
            bonds += bond_sum[i]
            ties += degree[i]
            rewarded += reward[i] * contacts[i]
            contacted += contacts[i]
            if treated[i]:
                occupied += occupancy[i]
                treated_people += 1.0
    return (
        people, total_tone, felt, affect, total_distress, seeking, strong, tied, bonds, ties,
        rewarded, contacted, occupied, treated_people,
    )  # fmt: skip


def _population_sums_numpy(
    everyone, mask, tone, felt_connection, positive_affect, distress, seeking_rate, strong_bonds, has_tie,
    bond_sum, reward, contacts, occupancy, treated, degree,
):  # fmt: skip
    """:func:`_population_sums` in NumPy, for where numba is absent: the very same numbers.

    Each sum is a cumulative sum's last entry, which adds people one by one in order, as the
    loop does (``np.sum`` adds pairwise, and its last bits differ).
    """
    select = slice(None) if everyone else np.asarray(mask, dtype=bool)

    def added(values) -> float:  # people one by one, in order
        return float(np.cumsum(values, dtype=np.float64)[-1]) if values.size else 0.0

    def total(values) -> float:
        return added(np.asarray(values)[select])

    treated = np.asarray(treated, dtype=bool)[select]
    return (
        float(np.asarray(tone)[select].size), total(tone), total(felt_connection), total(positive_affect),
        total(distress), total(seeking_rate), total(strong_bonds), total(np.asarray(has_tie, dtype=np.float64)),
        total(bond_sum), total(degree), total(np.asarray(reward) * np.asarray(contacts)), total(contacts),
        added(np.asarray(occupancy)[select][treated]), float(np.count_nonzero(treated)),
    )  # fmt: skip


@cache
def population_sums():
    """The one-pass sums of a row: compiled by numba where the ``array`` extra is installed, else in NumPy."""
    if has("array"):
        import numba

        return numba.njit(cache=True, nogil=True)(_population_sums)
    return _population_sums_numpy


_EVERYONE = np.zeros(0, dtype=np.bool_)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def means(state: Mapping[str, np.ndarray], mask: np.ndarray | None, degree: np.ndarray) -> dict[str, float]:
    """The per-person columns (``PER_PERSON``) over the people ``mask`` selects (everyone if None).

    ``state`` holds the variables of ``NEEDS`` for everyone; ``degree`` is each person's number of ties.
    """
    everyone = mask is None
    sums = population_sums()(everyone, _EVERYONE if everyone else mask, *(state[name] for name in SUMMED), degree)
    people, tone, felt, affect, distress, seeking, strong, tied, bonds, ties, rewarded, contacted, occupied, treated = (
        sums
    )
    return {
        "mean_tone": _ratio(tone, people),
        "felt_connection": _ratio(felt, people),
        "positive_affect": _ratio(affect, people),
        "distress": _ratio(distress, people),
        "seeking_rate": _ratio(seeking, people),
        "strong_bonds": _ratio(strong, people),
        "isolated_fraction": 1.0 - _ratio(tied, people),
        "mean_bond": _ratio(bonds, ties),
        "reward_per_contact": _ratio(rewarded, contacted),
        "mean_occupancy": occupied / treated if treated else 0.0,
    }


def summarize(
    state: Mapping[str, np.ndarray], contacts, step: int, hours: float, degree: np.ndarray
) -> dict[str, float]:
    """One row of the timeseries from per-person arrays, the step's approaches (``Contacts``) and the degrees."""
    row = {"step": step, "hours": hours, **means(state, None, degree)}
    row["acceptance_rate"] = _ratio(float(np.count_nonzero(contacts.accepted)), float(len(contacts)))
    return {column: row[column] for column in COLUMNS}
