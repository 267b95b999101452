"""Population-level observables: one row of the tidy per-step table."""

from __future__ import annotations

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
    "seeking_rate": "fraction of people who sought contact in the step",
    "acceptance_rate": "accepted approaches / approaches in the step (NaN if none)",
    "reward_per_contact": "mean reward of an accepted contact, 1 = undrugged (NaN if none)",
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
    "seeking_rate": "fraction per step",
    "acceptance_rate": "fraction",
    "reward_per_contact": "relative to undrugged (1)",
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
    "seeking",
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


def summarize(state: dict, contacts, step: int, hours: float, n_edges: int) -> dict[str, float]:
    """One row of the timeseries from per-person arrays and the step's approaches (``Contacts``)."""
    treated = state["treated"]
    met = state["contacts"]
    return {
        "step": step,
        "hours": hours,
        "mean_tone": float(np.mean(state["tone"])),
        "felt_connection": float(np.mean(state["felt_connection"])),
        "positive_affect": float(np.mean(state["positive_affect"])),
        "distress": float(np.mean(state["distress"])),
        "seeking_rate": float(np.mean(state["seeking"])) if step else 0.0,
        "acceptance_rate": _ratio(float(np.count_nonzero(contacts.accepted)), float(len(contacts))),
        "reward_per_contact": _ratio(float((state["reward"] * met).sum()), float(np.sum(met))),  # no BLAS: it spins
        "mean_bond": float(np.sum(state["bond_sum"]) / max(n_edges, 1)),
        "strong_bonds": float(np.mean(state["strong_bonds"])),
        "isolated_fraction": float(1.0 - np.mean(state["has_tie"])),
        "mean_occupancy": float(np.mean(state["occupancy"][treated])) if treated.any() else 0.0,
    }


def group_means(state: dict, mask: np.ndarray) -> dict[str, float]:
    """Means of the per-person observables over the people selected by ``mask``."""
    keys = ("tone", "felt_connection", "positive_affect", "distress", "seeking", "occupancy", "bond_sum")
    if not mask.any():
        return {k: float("nan") for k in keys}
    return {k: float(np.mean(state[k][mask])) for k in keys}
