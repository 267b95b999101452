"""The published receptor occupancy that the drugs' binding constants are fitted to, and the fits' residuals.

Data, not model: editing a data point here changes no compiled kernel. The fits themselves are
``experiments/calibration/fit_naltrexone_pk.py`` and ``fit_naloxone_pk.py``; docs/pharmacology.md
prints the residual tables (:func:`naltrexone_fit_table`, :func:`naloxone_fit_table`) at every build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..drugs import DrugProfile, profile
from ..pharmacology import (
    BLOCKADE_VARIABILITY,
    INAGAKI_DOSES,
    LEE_SCAN_HOURS,
    PK_VARIABILITY,
    blockade_half_time,
    decline_half_time,
    dose_times,
    draw_person_kinetics,
    residual_blockade,
    simulate_people,
)


@dataclass(frozen=True)
class Target:
    """A published number that a drug's receptor constants are fitted to.

    ``value`` with its published range ``low``-``high``; ``sigma`` is the spread the least
    squares divides the residual by (same unit as ``value``). A ``band`` target has no best
    value: anything within ``low``-``high`` fits, and a value outside counts by its distance to
    the nearer edge (a one-sided bound has an edge at the end of the scale). ``basis`` says
    whether the number was read in the source or derived, and from what.
    """

    name: str
    source: str
    value: float
    low: float
    high: float
    sigma: float
    unit: str = "fraction"
    basis: str = "read"
    band: bool = False

    @property
    def derived(self) -> bool:
        """Whether the number was worked out rather than read."""
        return self.basis.startswith("derived")

    def residual(self, model: float, margin: float = 0.0) -> float:
        """(model - target) / sigma; for a band, the distance outside it over sigma (0 within).

        ``margin`` narrows a band by that much at each edge (the fit keeps inside it by
        :data:`FIT_MARGIN`); the published band is what the table and ``within`` use.
        """
        if not self.band:
            return (model - self.value) / self.sigma
        if model < self.low + margin:
            return (model - self.low - margin) / self.sigma
        return max(model - self.high + margin, 0.0) / self.sigma

    def within(self, model: float) -> bool:
        """In the published range (or band); for a single volunteer's value, within 2 sigma of it."""
        if self.low == self.high:
            return abs(model - self.value) <= 2 * self.sigma
        return self.low <= model <= self.high

    def published(self) -> str:
        """The published number as the residual table shows it."""
        if self.band and self.high >= 1.0 and self.unit == "fraction":
            return f">= {self.low:.3g}"
        if self.band:
            return f"{self.low:.3g} to {self.high:.3g}"
        return f"{self.value:.3g}"


def _table(targets: tuple[Target, ...], measures: list[float]) -> pd.DataFrame:
    """The residual table of ``targets`` against what the model gives for each."""
    rows = []
    for t, m in zip(targets, measures, strict=True):
        rows.append(
            {
                "target": t.name,
                "source": t.source,
                "basis": t.basis,
                "published": t.published(),
                "range": f"{t.low:.3g} to {t.high:.3g}" if t.low != t.high and not t.band else "",
                "model": m,
                "residual": t.residual(m) * t.sigma,
                "weighted": t.residual(m),
                "within": bool(t.within(m)),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- naltrexone
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
BAND_SD = 0.002
"""How steeply the fit penalises an occupancy outside a band, as a fraction of receptors. One sigma per
percentage point, which makes a band nearly a constraint (an assumption of the fit, not a published spread)."""
FIT_MARGIN = 0.001
"""How far inside a band's edges the fit keeps, as a fraction of receptors. The fit ends on an edge where other data
pull against the band, and the shipped constants are the fitted ones rounded to three digits,
which moves occupancy by up to about 0.0005."""
POPULATION = {"people": 1000, "seed": 0}
"""The virtual population whose mean occupancy at 1 h is compared with the group statements."""

NALTREXONE_TARGETS: tuple[Target, ...] = (
    *(
        Target(
            f"occupancy 1-8 h after {mg:g} mg",
            "Rabiner et al. 2011 (one volunteer)",
            occ,
            occ,
            occ,
            PET_SD,
            basis="read; model: the typical person's mean over 1-8 h",
        )
        for mg, occ in RABINER_PET
    ),
    Target(
        "occupancy 1 h after 50 mg, population mean",
        "Lee et al. 1988 (scan at 1 h: receptors saturated); Trøstheim et al. 2023 (> 90% over a ~60 min session)",
        0.90,
        0.90,
        1.0,
        BAND_SD,
        basis="read: a lower bound, of a group",
        band=True,
    ),
    Target(
        "occupancy 48 h after 50 mg",
        "prescribing information",
        0.75,
        0.70,
        0.80,
        0.025,
        basis="read: 70-80%, as 2 sigma either side",
    ),
    Target(
        "occupancy 48 h after 50 mg, band",
        "a referee, from Lee et al. 1988's scan at 48 h",
        0.85,
        0.75,
        0.95,
        BAND_SD,
        basis="derived: Lee's individual values were not available",
        band=True,
    ),
    Target(
        "blockade half-time after 50 mg",
        "Lee et al. 1988 (5 volunteers)",
        90.0,
        72.0,
        108.0,
        9.0,
        unit="h",
        basis="read: 72-108 h; model: exponential fit of occupancy at Lee's scans, 48-168 h",
    ),
    Target(
        "occupancy 168 h after 50 mg, band",
        "a referee, from Lee et al. 1988's scan at 168 h",
        0.30,
        0.15,
        0.45,
        BAND_SD,
        basis="derived: Lee's individual values were not available",
        band=True,
    ),
    Target(
        "metabolite potency, log10 (prior)",
        "Ko et al. 2006; Li, McMahon & France (monkeys)",
        math.log10(METABOLITE_POTENCY_SOURCE),
        math.log10(METABOLITE_POTENCY_SOURCE / METABOLITE_POTENCY_FACTOR**2),
        math.log10(METABOLITE_POTENCY_SOURCE * METABOLITE_POTENCY_FACTOR**2),
        math.log10(METABOLITE_POTENCY_FACTOR),
        unit="log10",
        basis="read in monkeys; the spread is assumed",
    ),
)
"""The calibration targets of naltrexone, in the order of :func:`naltrexone_measures`."""


def naltrexone_measures(drug: DrugProfile, blockade_variability: float = BLOCKADE_VARIABILITY) -> list[float]:
    """What the model gives for each of :data:`NALTREXONE_TARGETS`, in order.

    The typical person: one run of the model's rule, a 50 mg dose, with each Rabiner dose as a
    person whose exposure is dose / 50 (the chain is linear in the dose), on a 3 min grid to
    168 h. The mean at 1 h is over :data:`POPULATION`, with ``blockade_variability`` and
    :data:`PK_VARIABILITY` (the fit of the spread comes after the constants, so it is an argument).
    """
    hours = np.round(np.arange(0.0, max(LEE_SCAN_HOURS) + 1e-9, 0.05), 9)
    doses = sorted({mg for mg, _ in RABINER_PET})
    occ = simulate_people(drug, [(0.0, 50.0)], hours, np.array(doses) / 50.0, np.ones(len(doses)))
    lo, hi = RABINER_WINDOW_HOURS
    window = (hours >= lo - 1e-9) & (hours <= hi + 1e-9)
    early = dict(zip(doses, occ[window].mean(axis=0), strict=True))
    full = occ[:, doses.index(50.0)]
    at = dict(zip(hours.tolist(), full.tolist(), strict=True))
    people = draw_person_kinetics(
        np.random.default_rng(POPULATION["seed"]), POPULATION["people"], PK_VARIABILITY, blockade_variability
    )
    first_hour = simulate_people(drug, [(0.0, 50.0)], [1.0], people["drug_exposure"], people["drug_binding_rate"])
    return [
        *(float(early[mg]) for mg, _ in RABINER_PET),
        float(first_hour.mean()),
        at[48.0],
        at[48.0],
        decline_half_time(LEE_SCAN_HOURS, np.array([at[h] for h in LEE_SCAN_HOURS])),
        at[168.0],
        math.log10(drug.metabolite_potency),
    ]


def naltrexone_residuals(drug: DrugProfile, blockade_variability: float = BLOCKADE_VARIABILITY) -> np.ndarray:
    """Weighted residuals for each of :data:`NALTREXONE_TARGETS`: what the fit minimises.

    :meth:`Target.residual`, with the bands narrowed by :data:`FIT_MARGIN`.
    """
    model = naltrexone_measures(drug, blockade_variability)
    return np.array([t.residual(m, FIT_MARGIN) for m, t in zip(model, NALTREXONE_TARGETS, strict=True)])


def naltrexone_fit_table(drug: DrugProfile | None = None) -> pd.DataFrame:
    """The calibration's residual table for ``drug`` (default: the shipped naltrexone).

    Columns: target, source, basis (read or derived, and how the model's number is made),
    published, range, model, residual (model - published; for a band, the distance outside it),
    weighted (residual / sigma) and within (whether the model lies in the published range or
    band; for a single volunteer's PET value, within 2 sigma of it).
    """
    drug = drug or profile("naltrexone")
    return _table(NALTREXONE_TARGETS, naltrexone_measures(drug))


WEERTS_2008 = (0.949, 0.049)
"""Mean and SD of mu blockade on 50 mg/day naltrexone, from Weerts et al. 2008. A check, not a target."""


def naltrexone_validation(drug: DrugProfile | None = None, blockade_variability: float = BLOCKADE_VARIABILITY) -> dict:
    """What the model gives for the numbers the fit did not use, for the typical person and the population.

    Weerts et al. 2008 (50 mg/day; the model: 3 h after the 7th daily dose) and the residual
    blockade at the end of Inagaki et al. 2016's 10-day washout (336 h), with the 1, 48 and 168 h
    occupancies and the half-time of the population (1000 people, seed 0) beside the typical person's.
    """
    drug = drug or profile("naltrexone")
    d = draw_person_kinetics(np.random.default_rng(0), 1000, PK_VARIABILITY, blockade_variability)
    everyone = (d["drug_exposure"], d["drug_binding_rate"])
    typical = (np.ones(1), np.ones(1))
    out = {}
    for who, (f, g) in (("typical", typical), ("population", everyone)):
        single = simulate_people(drug, [(0.0, 50.0)], [1.0, *LEE_SCAN_HOURS], f, g)
        weerts = simulate_people(drug, dose_times("daily", 50.0, days=7), [6 * 24 + 3.0], f, g)[0]
        washout = residual_blockade(drug, INAGAKI_DOSES, people=1000, blockade_variability=blockade_variability)
        out[who] = {
            "1 h": float(single[0].mean()),
            "48 h": float(single[1].mean()),
            "168 h": float(single[4].mean()),
            "half-time (h)": float(np.median(decline_half_time(LEE_SCAN_HOURS, single[1:]))),
            "Weerts 2008, 50 mg/day": float(weerts.mean()),
            "washout residual, 336 h": float(
                washout.mean()
                if who == "population"
                else residual_blockade(drug, INAGAKI_DOSES, people=1, pk_variability=0, blockade_variability=0)[0]
            ),
        }
    return out


# ------------------------------------------------------------------------------- naloxone
BODY_WEIGHT_KG = 70.0
"""Body weight assumed to turn the studies' mg/kg into mg."""
NALOXONE_PET = (
    ("Mayberg & Frost 1990 (PET)", 0.001, 0.19),
    ("Mayberg & Frost 1990 (PET)", 0.01, 0.65),
    ("Mayberg & Frost 1990 (PET)", 0.1, 0.97),
    ("Mayberg & Frost 1990 (PET)", 1.0, 0.98),
    ("Kim et al. 1997 (dual detector)", 0.002, 0.43),
    ("Kim et al. 1997 (dual detector)", 0.03, 0.81),
    ("Villemagne et al. 1994 (dual detector)", 0.0005, 0.20),
    ("Villemagne et al. 1994 (dual detector)", 0.001, 0.40),
    ("Villemagne et al. 1994 (dual detector)", 0.005, 0.75),
    ("Villemagne et al. 1994 (dual detector)", 0.01, 1.00),
)
"""(study, mg/kg, occupancy) after one intravenous dose of naloxone, measured 45-65 min after it
(as tabulated by Trøstheim et al. 2022, Table 1)."""
NALOXONE_WINDOW_HOURS = (0.75, 65.0 / 60.0)
"""The measurements fell 45-65 min after the dose; the model's occupancy is averaged over it."""


def _between_study_sd() -> float:
    """SD of one study's value at a dose, pooled over the doses that two studies measured (0.001 and 0.01 mg/kg)."""
    by_dose: dict[float, list[float]] = {}
    for _, mg_kg, occ in NALOXONE_PET:
        by_dose.setdefault(mg_kg, []).append(occ)
    pairs = [np.var(v, ddof=1) for v in by_dose.values() if len(v) > 1]
    return float(math.sqrt(sum(pairs) / len(pairs)))


NALOXONE_SD = round(_between_study_sd(), 3)
"""Spread of one study's occupancy at a dose. At 0.001 mg/kg two studies gave 19% and 40%, at 0.01 mg/kg 65% and 100%;
the pooled SD is 0.20."""
NALOXONE_TARGETS: tuple[Target, ...] = (
    *(
        Target(
            f"occupancy 45-65 min after {mg_kg:g} mg/kg",
            study,
            occ,
            occ,
            occ,
            NALOXONE_SD,
            basis="read; model: mean over 45-65 min, 70 kg",
        )
        for study, mg_kg, occ in NALOXONE_PET
    ),
    Target(
        "receptor clearance half-time after 2 mg",
        "Kim et al. 1997 (8 volunteers, 2.0 ± 1.6 h)",
        2.0,
        2.0,
        2.0,
        1.6,
        unit="h",
        basis="read: mean ± SD over people; model: from the peak to half of it",
    ),
)
"""The calibration targets of naloxone, in the order of :func:`naloxone_measures`."""


def naloxone_measures(drug: DrugProfile) -> list[float]:
    """What the typical person's model gives for each of :data:`NALOXONE_TARGETS`, in order.

    Each dose as a person whose exposure is the dose in mg (of a 1 mg dose; the chain is linear),
    on a 5 min grid.
    """
    step = 1.0 / 12.0
    hours = np.round(np.arange(0.0, 24.0 + 1e-9, step), 9)
    mg = np.array([mg_kg * BODY_WEIGHT_KG for _, mg_kg, _ in NALOXONE_PET] + [2.0])
    occ = simulate_people(drug, [(0.0, 1.0)], hours, mg, np.ones(mg.size), dt_hours=step)
    lo, hi = NALOXONE_WINDOW_HOURS
    window = (hours >= lo - 1e-6) & (hours <= hi + 1e-6)
    return [*(float(v) for v in occ[window, :-1].mean(axis=0)), blockade_half_time(hours, occ[:, -1])]


def naloxone_residuals(drug: DrugProfile) -> np.ndarray:
    """Weighted residuals for each of :data:`NALOXONE_TARGETS`: what the fit minimises."""
    return np.array([t.residual(m) for m, t in zip(naloxone_measures(drug), NALOXONE_TARGETS, strict=True)])


def naloxone_fit_table(drug: DrugProfile | None = None) -> pd.DataFrame:
    """The naloxone calibration's residual table (columns as :func:`naltrexone_fit_table`)."""
    return _table(NALOXONE_TARGETS, naloxone_measures(drug or profile("naloxone")))
