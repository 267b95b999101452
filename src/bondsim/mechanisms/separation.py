"""Separation events: a partner lost for good, or a time cut off from everyone.

A ``loss`` closes, for each chosen person, the tie to their strongest reachable partner in both
directions, for good. An ``isolation`` closes every tie of each chosen person until it ends.
While a tie is closed nobody can meet over it, and the bond to the absent partner drains tone
(:mod:`bondsim.mechanisms.tone`).
"""

from __future__ import annotations

import numpy as np

from ..mechanism import Parameter

PARAMETERS = (
    Parameter("separation", "none", "", "separation event", choices=("none", "loss", "isolation"), status="setting"),
    Parameter("separation_day", 7.0, "days", "time of the separation event", 0.0, 10_000.0, status="setting"),
    Parameter("separation_fraction", 0.1, "fraction", "fraction of people separated", 0.0, 1.0,
              source="at least one person", status="setting"),
    Parameter("isolation_days", 2.0, "days", "how long an isolation lasts", 0.0, 10_000.0, status="setting"),
)  # fmt: skip


def _chosen(model) -> np.ndarray:
    k = max(1, round(model.params.separation_fraction * model.n))
    chosen = np.sort(model.rng.choice(model.n, size=k, replace=False))
    model.separated_index = chosen
    return chosen


def lose_partners(model, payload) -> None:
    """A ``loss`` event: each of ``separation_fraction`` of the people loses their strongest partner."""
    for i in _chosen(model):
        model.separate(int(i))


def isolate_people(model, payload) -> None:
    """An ``isolation`` event: ``separation_fraction`` of the people are cut off for ``isolation_days``."""
    model.isolate(_chosen(model), 24.0 * model.params.isolation_days)


EVENTS = {"loss": lose_partners, "isolation": isolate_people}


def schedule(model) -> None:
    """Schedule the separation event the parameters ask for."""
    p = model.params
    if p.separation != "none" and p.separation_fraction > 0:
        model.schedule(24.0 * p.separation_day, p.separation, None)
