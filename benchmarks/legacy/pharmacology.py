r"""Pharmacokinetics and receptor occupancy of the drugs, in real units.

Each drug follows the same linear chain, solved exactly over a time step with a
matrix exponential, then a saturable binding step at the mu receptor:

    depot (mg) --ka--> plasma parent (ng/mL) --ke--> out
              \--ka--> plasma metabolite (ng/mL) --km--> out      (first-pass)
    effect site:  dCe/dt = ke0 * (C_parent + potency * C_metabolite - Ce)
    receptor:     dO/dt  = kon * Ce * (1 - O) - koff * O

``O`` is the fraction of mu receptors the drug occupies, what PET measures. At
equilibrium ``O = Ce / (Ce + Kd)`` with ``Kd = koff / kon`` (Emax, Hill n = 1);
slow dissociation makes blockade outlast plasma levels (Lee et al. 1988;
Rabiner et al. 2011). Doses superpose because the chain is linear in the dose.
Every constant and its source is listed in docs/pharmacology.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy.linalg import expm

LN2 = math.log(2.0)
MAX_SUBSTEP_HOURS = 0.25


@dataclass(frozen=True)
class DrugProfile:
    """Pharmacological constants of one drug (times in hours, concentrations in ng/mL)."""

    name: str
    action: str  # "antagonist", "agonist" or "none"
    absorption_half_life_h: float = 1.0
    half_life_h: float = 1.0
    metabolite_half_life_h: float = 1.0
    reference_dose_mg: float = 1.0
    cmax_ng_ml: float = 0.0  # peak plasma parent after the reference dose
    metabolite_cmax_ng_ml: float = 0.0  # peak plasma metabolite after the reference dose
    metabolite_potency: float = 0.0  # receptor potency of the metabolite relative to the parent
    effect_half_life_h: float = 0.1  # plasma -> effect-site equilibration (ln2 / ke0)
    kd_ng_ml: float = 1.0  # effect-site concentration at 50% occupancy at equilibrium
    dissociation_half_life_h: float = 0.1  # ln2 / koff
    efficacy: float = 0.0  # receptor activation per occupied receptor, relative to the endogenous opioid

    @property
    def active(self) -> bool:
        """Whether the drug has any pharmacological action (placebo and none have not)."""
        return self.action != "none"


# Calibrated constants; see docs/pharmacology.md and experiments/calibration/fit_naltrexone_pk.py.
NALTREXONE = DrugProfile(
    name="naltrexone",
    action="antagonist",
    absorption_half_life_h=0.28,  # gives t_max ~1 h (Meyer et al. 1984)
    half_life_h=4.0,
    metabolite_half_life_h=13.0,  # prescribing information; Meyer 1984
    reference_dose_mg=50.0,
    cmax_ng_ml=13.0,
    metabolite_cmax_ng_ml=108.0,
    effect_half_life_h=0.25,  # lipophilic, enters the brain within minutes (assumption)
    # fitted to Lee 1988, Rabiner 2011 and the prescribing information's occupancy:
    metabolite_potency=1.4e-4,
    kd_ng_ml=0.0646,
    dissociation_half_life_h=68.9,
)
NALOXONE = DrugProfile(
    name="naloxone",
    action="antagonist",
    absorption_half_life_h=0.1,  # injection
    half_life_h=1.1,
    reference_dose_mg=0.4,
    cmax_ng_ml=2.0,  # ~200 L volume
    effect_half_life_h=0.1,
    kd_ng_ml=1.0,
    dissociation_half_life_h=0.5,
)
MORPHINE = DrugProfile(
    name="morphine",
    action="agonist",
    absorption_half_life_h=0.25,  # subcutaneous/intramuscular injection
    half_life_h=2.2,  # Stuart-Harris et al. 2000
    reference_dose_mg=10.0,
    cmax_ng_ml=30.0,  # 10 mg into ~276 L, less distribution
    effect_half_life_h=2.8,
    kd_ng_ml=20.0,
    dissociation_half_life_h=0.1,
    efficacy=1.0,
)
PLACEBO = DrugProfile(name="placebo", action="none")
NONE = DrugProfile(name="none", action="none")

PROFILES: dict[str, DrugProfile] = {p.name: p for p in (NALTREXONE, NALOXONE, MORPHINE, PLACEBO, NONE)}


def profile(name: str) -> DrugProfile:
    """The profile of a drug by name."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown drug '{name}': use one of {', '.join(PROFILES)}") from None


def _rate(half_life_h: float) -> float:
    return LN2 / half_life_h


def _linear_matrix(p: DrugProfile, parent_scale: float, metabolite_scale: float) -> np.ndarray:
    """Rate matrix of the linear chain [depot, parent, metabolite, effect] (per hour)."""
    ka, ke, km, ke0 = (
        _rate(p.absorption_half_life_h),
        _rate(p.half_life_h),
        _rate(p.metabolite_half_life_h),
        _rate(p.effect_half_life_h),
    )
    return np.array(
        [
            [-ka, 0.0, 0.0, 0.0],
            [ka * parent_scale, -ke, 0.0, 0.0],
            [ka * metabolite_scale, 0.0, -km, 0.0],
            [0.0, ke0, ke0 * p.metabolite_potency, -ke0],
        ]
    )


@cache
def _scales(p: DrugProfile) -> tuple[float, float]:
    """ng/mL per absorbed mg that reproduce the published peak concentrations."""
    if not p.active:
        return 0.0, 0.0
    grid = np.arange(0.0, 48.0, 0.01)
    step = expm(_linear_matrix(p, 1.0, 1.0) * 0.01)
    x = np.array([p.reference_dose_mg, 0.0, 0.0, 0.0])
    peaks = np.zeros(4)
    for _ in grid:
        x = step @ x
        peaks = np.maximum(peaks, x)
    parent = p.cmax_ng_ml / peaks[1] if peaks[1] > 0 else 0.0
    metabolite = p.metabolite_cmax_ng_ml / peaks[2] if peaks[2] > 0 else 0.0
    return float(parent), float(metabolite)


class Kinetics:
    """Exact step of a drug's state over ``dt`` hours, for one person or many.

    The state is ``x`` with columns [depot mg, parent ng/mL, metabolite ng/mL,
    effect ng/mL] and ``occupancy`` in [0, 1].
    """

    def __init__(self, drug: DrugProfile | str, dt_hours: float) -> None:
        self.profile = profile(drug) if isinstance(drug, str) else drug
        p = self.profile
        self.substeps = max(1, math.ceil(dt_hours / MAX_SUBSTEP_HOURS - 1e-9))
        self.h = dt_hours / self.substeps
        self.matrix = expm(_linear_matrix(p, *_scales(p)) * self.h)
        self.koff = _rate(p.dissociation_half_life_h)
        self.kon = self.koff / p.kd_ng_ml
        self._rows = [tuple(float(v) for v in row) for row in self.matrix]

    def advance(self, x: np.ndarray, occupancy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance arrays ``x`` (n, 4) and ``occupancy`` (n,) by one step."""
        if not self.profile.active:
            return x, occupancy
        for _ in range(self.substeps):
            ce0 = x[:, 3]
            x = x @ self.matrix.T
            ce = np.maximum(0.5 * (ce0 + x[:, 3]), 0.0)
            k = self.kon * ce + self.koff
            eq = self.kon * ce / k
            occupancy = eq + (occupancy - eq) * np.exp(-k * self.h)
        return x, occupancy

    def advance_person(self, x: list[float], occupancy: float) -> tuple[list[float], float]:
        """Advance one person's state (a list of 4 floats and a float) by one step."""
        if not self.profile.active:
            return x, occupancy
        rows, kon, koff, h = self._rows, self.kon, self.koff, self.h
        for _ in range(self.substeps):
            ce0 = x[3]
            x = [r[0] * x[0] + r[1] * x[1] + r[2] * x[2] + r[3] * x[3] for r in rows]
            ce = max(0.5 * (ce0 + x[3]), 0.0)
            k = kon * ce + koff
            eq = kon * ce / k
            occupancy = eq + (occupancy - eq) * math.exp(-k * h)
        return x, occupancy


def binding_ratio(occupancy):
    """Occupied over free receptors, O / (1 - O): the drug's weight in competition."""
    return (
        occupancy / np.maximum(1.0 - occupancy, 1e-12)
        if isinstance(occupancy, np.ndarray)
        else occupancy / max(1.0 - occupancy, 1e-12)
    )


def receptor_activation(endogenous, antagonist_occupancy, agonist_occupancy, efficacy=1.0):
    """Fraction of mu receptors activated, with competition at the receptor.

    ``endogenous`` is the endogenous opioid level in units of its dissociation
    constant. Drugs enter by their binding ratios (Gaddum's competitive binding):
    activation = (E + efficacy * x_ag) / (1 + E + x_ant + x_ag).
    """
    x_ant = binding_ratio(antagonist_occupancy)
    x_ag = binding_ratio(agonist_occupancy)
    return (endogenous + efficacy * x_ag) / (1.0 + endogenous + x_ant + x_ag)


def dose_times(
    schedule: str,
    dose_mg: float,
    *,
    start_hours: float = 0.0,
    days: int = 0,
    horizon_hours: float = 0.0,
    hours: Sequence[float] = (),
    amounts_mg: Sequence[float] = (),
) -> list[tuple[float, float]]:
    """Dosing events (hour, mg) of a schedule: once, daily or explicit."""
    if schedule == "once":
        return [(start_hours, dose_mg)]
    if schedule == "daily":
        n_days = days if days > 0 else max(1, math.ceil((horizon_hours - start_hours) / 24.0))
        return [(start_hours + 24.0 * d, dose_mg) for d in range(n_days)]
    if schedule == "explicit":
        amounts = amounts_mg or [dose_mg] * len(hours)
        return sorted(zip(map(float, hours), map(float, amounts), strict=True))
    raise ValueError(f"unknown schedule '{schedule}': use once, daily or explicit")


def simulate(
    drug: str, doses: Iterable[tuple[float, float]], hours: Sequence[float], dt_hours: float = 0.05
) -> pd.DataFrame:
    """Concentrations and occupancy of one person at the given hours after time 0.

    ``doses`` are (hour, mg) events. Returns columns hours, plasma_ng_ml,
    metabolite_ng_ml, effect_ng_ml, occupancy.
    """
    kin = Kinetics(drug, dt_hours)
    events = sorted(doses)
    wanted = np.asarray(sorted(set(float(h) for h in hours)))
    x = np.zeros((1, 4))
    occ = np.zeros(1)
    rows = []
    t, i, k = 0.0, 0, 0
    end = float(wanted.max()) if wanted.size else 0.0
    while k < wanted.size:
        while i < len(events) and events[i][0] <= t + 1e-9:
            x[0, 0] += events[i][1]
            i += 1
        while k < wanted.size and wanted[k] <= t + 1e-9:
            rows.append((wanted[k], x[0, 1], x[0, 2], x[0, 3], occ[0]))
            k += 1
        if t > end:
            break
        x, occ = kin.advance(x, occ)
        t = round(t + dt_hours, 9)
    return pd.DataFrame(rows, columns=["hours", "plasma_ng_ml", "metabolite_ng_ml", "effect_ng_ml", "occupancy"])
