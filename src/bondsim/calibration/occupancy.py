"""The published receptor occupancy that naltrexone's binding constants are fitted to, and the fit's residuals.

Data, not model: editing a data point here changes no compiled kernel. The fit itself is
``experiments/calibration/fit_naltrexone_pk.py``; docs/pharmacology.md prints the residual table
(:func:`naltrexone_fit_table`) at every build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..drugs import DrugProfile, profile
from ..pharmacology import blockade_half_time, simulate_people


@dataclass(frozen=True)
class Target:
    """A published number that naltrexone's receptor constants are fitted to.

    ``value`` with its published range ``low``-``high``; ``sigma`` is the spread the least
    squares divides the residual by (same unit as ``value``); ``derived`` marks a number worked
    out from a published one rather than read.
    """

    name: str
    source: str
    value: float
    low: float
    high: float
    sigma: float
    unit: str = "fraction"
    derived: bool = False


RABINER_PET = ((2.0, 0.27), (5.0, 0.43), (5.0, 0.46), (5.0, 0.58), (15.0, 0.61), (50.0, 0.92), (50.0, 0.98))
"""(mg, occupancy) of each volunteer's PET scan within 8 h of one oral dose (Rabiner et al. 2011,
as tabulated by Trøstheim et al. 2022, Table 1)."""
RABINER_WINDOW_HOURS = (1.0, 8.0)
"""The scans fell within 8 h of the dose; the model's occupancy is averaged over 1-8 h."""
PET_SD = 0.08
"""Spread of one volunteer's PET occupancy, the SD of Rabiner's three 5 mg volunteers (43, 46, 58%)."""
METABOLITE_POTENCY_SOURCE = 0.01
"""Central potency of 6-beta-naltrexol relative to naltrexone, from an apparent in vivo pA2 of 6.5
against 8.5 in monkeys, 100-fold less potent (Ko et al. 2006); 71-fold by drug discrimination (Li, McMahon & France)."""
METABOLITE_POTENCY_FACTOR = 3.0
"""Spread of that prior as a factor, one SD in log units (an assumption); 2 SD span 0.0011-0.09,
from below the monkey values to the 1/10-1/25 that mice give per plasma level (Yancey-Wrona et al. 2009)."""


def _decline(half_time_h: float) -> float:
    """Occupancy at Lee's 168 h scan over that at 72 h, for a blockade halving every ``half_time_h``."""
    return 2.0 ** (-(168.0 - 72.0) / half_time_h)


NALTREXONE_TARGETS: tuple[Target, ...] = (
    *(
        Target(f"occupancy 1-8 h after {mg:g} mg", "Rabiner et al. 2011 (one volunteer)", occ, occ, occ, PET_SD)
        for mg, occ in RABINER_PET
    ),
    Target("occupancy 48 h after 50 mg", "prescribing information", 0.75, 0.70, 0.80, 0.025),
    Target("blockade half-time after 50 mg", "Lee et al. 1988", 90.0, 72.0, 108.0, 9.0, unit="h"),
    Target(
        "occupancy at 168 h over 72 h after 50 mg",
        "Lee et al. 1988 (scans at 72 and 168 h; from the half-time range)",
        _decline(90.0),
        _decline(72.0),
        _decline(108.0),
        (_decline(108.0) - _decline(72.0)) / 4.0,
        derived=True,
    ),
    Target(
        "metabolite potency, log10 (prior)",
        "Ko et al. 2006; Li, McMahon & France (monkeys)",
        math.log10(METABOLITE_POTENCY_SOURCE),
        math.log10(METABOLITE_POTENCY_SOURCE / METABOLITE_POTENCY_FACTOR**2),
        math.log10(METABOLITE_POTENCY_SOURCE * METABOLITE_POTENCY_FACTOR**2),
        math.log10(METABOLITE_POTENCY_FACTOR),
        unit="log10",
    ),
)
"""The calibration targets of naltrexone, in the order of :func:`naltrexone_measures`."""


def naltrexone_measures(drug: DrugProfile) -> list[float]:
    """What the typical person's model gives for each of :data:`NALTREXONE_TARGETS`, in order.

    One run of the model's rule: a 50 mg dose, with each Rabiner dose as a person whose exposure
    is dose / 50 (the chain is linear in the dose), on a 15 min grid to 240 h.
    """
    hours = np.arange(0.0, 240.0 + 1e-9, 0.25)
    doses = sorted({mg for mg, _ in RABINER_PET})
    occ = simulate_people(drug, [(0.0, 50.0)], hours, np.array(doses) / 50.0, np.ones(len(doses)))
    lo, hi = RABINER_WINDOW_HOURS
    window = (hours >= lo - 1e-9) & (hours <= hi + 1e-9)
    early = dict(zip(doses, occ[window].mean(axis=0), strict=True))
    full = occ[:, doses.index(50.0)]
    at = dict(zip(hours.tolist(), full.tolist(), strict=True))
    return [
        *(float(early[mg]) for mg, _ in RABINER_PET),
        at[48.0],
        blockade_half_time(hours, full),
        at[168.0] / at[72.0],
        math.log10(drug.metabolite_potency),
    ]


def naltrexone_residuals(drug: DrugProfile) -> np.ndarray:
    """(model - target) / sigma for each of :data:`NALTREXONE_TARGETS`: what the calibration minimises."""
    model = naltrexone_measures(drug)
    return np.array([(m - t.value) / t.sigma for m, t in zip(model, NALTREXONE_TARGETS, strict=True)])


def naltrexone_fit_table(drug: DrugProfile | None = None) -> pd.DataFrame:
    """The calibration's residual table for ``drug`` (default: the shipped naltrexone).

    Columns: target, source, published, range, model, residual (model - published), weighted
    (residual / sigma) and within (whether the model lies in the published range; for a single
    volunteer's PET value, within 2 sigma of it).
    """
    drug = drug or profile("naltrexone")
    rows = []
    for t, m in zip(NALTREXONE_TARGETS, naltrexone_measures(drug), strict=True):
        lo, hi = (t.value - 2 * t.sigma, t.value + 2 * t.sigma) if t.low == t.high else (t.low, t.high)
        rows.append(
            {
                "target": t.name + (" (derived)" if t.derived else ""),
                "source": t.source,
                "published": t.value,
                "range": f"{t.low:.3g} to {t.high:.3g}" if t.low != t.high else "",
                "model": m,
                "residual": m - t.value,
                "weighted": (m - t.value) / t.sigma,
                "within": bool(lo <= m <= hi),
            }
        )
    return pd.DataFrame(rows)
