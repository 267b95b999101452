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
Every constant and its source is listed in docs/pharmacology.md; the drugs themselves are
data (:mod:`bondsim.drugs`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np
import pandas as pd
from scipy.linalg import expm

from .drugs import DrugProfile, profile
from .mechanism import helper

LN2 = math.log(2.0)
MAX_SUBSTEP_HOURS = 0.25


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


def kinetic_constants(drug: DrugProfile, dt_hours: float) -> dict[str, object]:
    """Constants of :func:`advance_drug_state` for a drug and a step of ``dt_hours``.

    The linear chain is solved exactly over substeps of at most 15 min (a matrix exponential,
    flattened row by row into ``drug_matrix``); binding is integrated over each substep with the
    effect-site concentration at its midpoint.
    """
    substeps = max(1, math.ceil(dt_hours / MAX_SUBSTEP_HOURS - 1e-9))
    h = dt_hours / substeps
    matrix = expm(_linear_matrix(drug, *_scales(drug)) * h) if drug.active else np.eye(4)
    koff = _rate(drug.dissociation_half_life_h)
    return {
        "drug_active": drug.active,
        "drug_matrix": tuple(float(v) for v in matrix.ravel()),
        "drug_substeps": substeps,
        "drug_substep_hours": h,
        "drug_kon": koff / drug.kd_ng_ml,
        "drug_koff": koff,
        "drug_efficacy": drug.efficacy,
    }


@helper
def advance_drug_state(depot, plasma, metabolite, effect, occupancy, matrix, substeps, h, kon, koff):
    """One person's drug state after one step: the linear chain, then binding at the receptor.

    depot in mg, plasma parent, metabolite and effect site in ng/mL, occupancy in [0, 1];
    ``matrix`` is the chain's exact transition over ``h`` hours (16 numbers, row by row).
    Binding: dO/dt = kon Ce (1 - O) - koff O, solved exactly for Ce held at the substep midpoint.
    """
    m = matrix
    for _ in range(substeps):
        start_effect = effect
        x0, x1, x2, x3 = depot, plasma, metabolite, effect
        depot = m[0] * x0 + m[1] * x1 + m[2] * x2 + m[3] * x3
        plasma = m[4] * x0 + m[5] * x1 + m[6] * x2 + m[7] * x3
        metabolite = m[8] * x0 + m[9] * x1 + m[10] * x2 + m[11] * x3
        effect = m[12] * x0 + m[13] * x1 + m[14] * x2 + m[15] * x3
        ce = max(0.5 * (start_effect + effect), 0.0)
        rate = kon * ce + koff
        bound = kon * ce / rate
        occupancy = bound + (occupancy - bound) * math.exp(-rate * h)
    return depot, plasma, metabolite, effect, occupancy


@helper
def receptor_activation(endogenous, occupancy, efficacy):
    """Fraction of mu receptors activated, with the drug competing at the receptor.

    ``endogenous`` is the endogenous opioid level in units of its dissociation constant; the drug
    enters by its binding ratio x = O / (1 - O) (Gaddum's competitive binding), and an occupied
    receptor is activated with the drug's ``efficacy`` (0 antagonist, 1 full agonist):
    activation = (E + efficacy * x) / (1 + E + x).
    """
    x = occupancy / max(1.0 - occupancy, 1e-12)
    return (endogenous + efficacy * x) / (1.0 + endogenous + x)


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
    drug: str | DrugProfile, doses: Iterable[tuple[float, float]], hours: Sequence[float], dt_hours: float = 0.05
) -> pd.DataFrame:
    """Concentrations and occupancy of one person at the given hours after time 0.

    ``doses`` are (hour, mg) events. Returns columns hours, plasma_ng_ml,
    metabolite_ng_ml, effect_ng_ml, occupancy. Uses the model's own per-person rule.
    """
    c = kinetic_constants(profile(drug) if isinstance(drug, str) else drug, dt_hours)
    events = sorted(doses)
    wanted = np.asarray(sorted(set(float(h) for h in hours)))
    state = (0.0, 0.0, 0.0, 0.0, 0.0)
    rows = []
    t, i, k = 0.0, 0, 0
    end = float(wanted.max()) if wanted.size else 0.0
    while k < wanted.size:
        while i < len(events) and events[i][0] <= t + 1e-9:
            state = (state[0] + events[i][1], *state[1:])
            i += 1
        while k < wanted.size and wanted[k] <= t + 1e-9:
            rows.append((wanted[k], state[1], state[2], state[3], state[4]))
            k += 1
        if t > end:
            break
        if c["drug_active"]:
            state = advance_drug_state(
                *state, c["drug_matrix"], c["drug_substeps"], c["drug_substep_hours"], c["drug_kon"], c["drug_koff"]
            )
        t = round(t + dt_hours, 9)
    return pd.DataFrame(rows, columns=["hours", "plasma_ng_ml", "metabolite_ng_ml", "effect_ng_ml", "occupancy"])
