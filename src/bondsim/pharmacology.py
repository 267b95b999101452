r"""Pharmacokinetics and receptor occupancy of the drugs, in real units.

Each drug follows the same linear chain, solved exactly over a time step with a
matrix exponential, then saturable binding at the mu receptor, in one step or two:

    depot (mg) --ka--> plasma parent (ng/mL) --ke--> out
              \--ka--> plasma metabolite (ng/mL) --km--> out      (first-pass)
    effect site:  dCe/dt = ke0 * (C_parent + potency * C_metabolite - Ce)
    receptor:     R + D <--kon*Ce, koff--> RD <--k_tight, k_loose--> RD*
                  dL/dt = kon * Ce * (1 - L - T) - koff * L - k_tight * L + k_loose * T
                  dT/dt = k_tight * L - k_loose * T,      O = L + T

``O`` is the fraction of mu receptors the drug occupies, what PET measures; ``T`` the part held
in the tight state (0 for a drug that binds in one step, k_tight = 0). At equilibrium
``O = Ce / (Ce + K_app)`` with ``K_app = Kd / (1 + k_tight / k_loose)`` and ``Kd = koff / kon``
(Emax, Hill n = 1); fast binding gives the onset, slow loosening makes blockade outlast plasma
levels (Lee et al. 1988; Rabiner et al. 2011). Doses superpose because the chain is linear in
the dose. Every constant and its source is listed in docs/pharmacology.md; the drugs themselves
are data (:mod:`bondsim.drugs`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np
import pandas as pd
from scipy.linalg import expm

from .drugs import DrugProfile, profile
from .extras import has
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
    effect-site concentration at its midpoint. Computed once per drug and step length (the runs of
    a sweep share them).
    """
    return dict(_kinetic_constants(drug, dt_hours))


_RULE_CONSTANTS = (
    "drug_matrix", "drug_substeps", "drug_substep_hours", "drug_kon", "drug_koff", "drug_k_tight", "drug_k_loose",
)  # fmt: skip
"""The constants of :func:`kinetic_constants` that :func:`advance_drug_state` takes, in its order."""


@cache
def _kinetic_constants(drug: DrugProfile, dt_hours: float) -> dict[str, object]:
    substeps = max(1, math.ceil(dt_hours / MAX_SUBSTEP_HOURS - 1e-9))
    h = dt_hours / substeps
    matrix = expm(_linear_matrix(drug, *_scales(drug)) * h) if drug.active else np.eye(4)
    koff = _rate(drug.dissociation_half_life_h)
    two_step = drug.tightening_half_life_h > 0.0
    return {
        "drug_active": drug.active,
        "drug_matrix": tuple(float(v) for v in matrix.ravel()),
        "drug_substeps": substeps,
        "drug_substep_hours": h,
        "drug_kon": koff / drug.kd_ng_ml,
        "drug_koff": koff,
        "drug_k_tight": _rate(drug.tightening_half_life_h) if two_step else 0.0,
        "drug_k_loose": _rate(drug.loosening_half_life_h) if two_step else 0.0,
        "drug_efficacy": drug.efficacy,
    }


@helper
def bind_two_step(loose, tight, on_rate, koff, k_tight, k_loose, h):
    """Occupancy (total, tight) after ``h`` hours of two-step binding, solved exactly.

    R + D <-> RD (on_rate = kon Ce per hour, koff) and RD <-> RD* (k_tight, k_loose), with Ce
    held constant: the loose and tight fractions (a, b) follow d(a, b)/dt = M (a, b) + (kon Ce, 0)
    with M = [[-(kon Ce + koff + k_tight), k_loose - kon Ce], [k_tight, -k_loose]]. The solution is
    the equilibrium plus exp(M h) times the distance from it; M's eigenvalues are real, as its
    discriminant is a sum of squares: (kon Ce + koff - k_tight - k_loose)^2 + 4 koff k_tight.
    exp(M h) = C I + S (M - m I), m the mean eigenvalue, C and S from the two exponentials (with a
    series where the eigenvalues nearly coincide). Needs k_loose > 0 and koff > 0.
    """
    c = on_rate
    m11 = -(c + koff + k_tight)
    m12 = k_loose - c
    det = (c + koff) * k_loose + c * k_tight  # = m11 * (-k_loose) - m12 * k_tight, > 0
    loose_eq = c * k_loose / det
    tight_eq = c * k_tight / det
    za = loose - loose_eq
    zb = tight - tight_eq
    mean = 0.5 * (m11 - k_loose)  # half the trace
    half_gap = 0.5 * (m11 + k_loose)  # half the difference of the diagonal
    q = 0.5 * (c + koff - k_tight - k_loose)
    s = math.sqrt(q * q + koff * k_tight)  # half the distance between the eigenvalues
    fast = mean - s  # the faster-decaying (more negative) eigenvalue
    e_fast = math.exp(fast * h)
    e_slow = math.exp(det / fast * h)  # the other eigenvalue, as det / fast (their product): no cancellation
    x = 2.0 * s * h
    cosh_part = 0.5 * (e_slow + e_fast)
    if x < 1e-3:  # (e_slow - e_fast) / (2 s) = e_fast h (e^x - 1) / x, by its series
        sinh_part = e_fast * h * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x / 120.0))))
    else:
        sinh_part = (e_slow - e_fast) / (2.0 * s)
    loose = loose_eq + cosh_part * za + sinh_part * (half_gap * za + m12 * zb)
    tight = tight_eq + cosh_part * zb + sinh_part * (k_tight * za - half_gap * zb)
    tight = min(max(tight, 0.0), 1.0)
    return min(max(loose + tight, tight), 1.0), tight


@helper
def advance_drug_state(
    depot, plasma, metabolite, effect, occupancy, tight, matrix, substeps, h, kon, koff, k_tight, k_loose,
    exposure, binding_rate,
):  # fmt: skip
    """One person's drug state after one step: the linear chain, then binding at the receptor.

    depot in mg, plasma parent, metabolite and effect site in ng/mL; ``occupancy`` (in [0, 1]) is
    every receptor the drug holds, ``tight`` the part of it in the tight state of two-step binding
    (0 for a drug with one step). ``matrix`` is the chain's exact transition over ``h`` hours (16
    numbers, row by row). ``exposure`` (dimensionless, 1 = the typical person) scales what of the
    absorbed dose reaches the person's circulation; ``binding_rate`` (1 = typical) scales every
    binding rate of the person alike (kon, koff, k_tight, k_loose, per hour), leaving the
    equilibrium unchanged. Binding, for C_e held at the substep midpoint, solved exactly:
    one step (k_tight = 0), dO/dt = kon Ce (1 - O) - koff O; two steps, :func:`bind_two_step`.
    Also returns the mean occupancy over the step (of the substeps' ends): what the step's contacts,
    which fall anywhere in it, meet at the receptor.
    """
    if (
        depot == 0.0 and plasma == 0.0 and metabolite == 0.0 and effect == 0.0 and occupancy == 0.0
        and tight == 0.0
    ):  # fmt: skip
        return depot, plasma, metabolite, effect, occupancy, tight, occupancy  # no drug in the body: nothing to move
    m = matrix
    on = binding_rate * kon
    off = binding_rate * koff
    tighten = binding_rate * k_tight
    loosen = binding_rate * k_loose
    total = 0.0
    for _ in range(substeps):
        start_effect = effect
        x0, x1, x2, x3 = depot, plasma, metabolite, effect
        absorbed = exposure * x0  # the depot feeds the circulation in proportion to the person's exposure
        depot = m[0] * x0 + m[1] * x1 + m[2] * x2 + m[3] * x3
        plasma = m[4] * absorbed + m[5] * x1 + m[6] * x2 + m[7] * x3
        metabolite = m[8] * absorbed + m[9] * x1 + m[10] * x2 + m[11] * x3
        effect = m[12] * absorbed + m[13] * x1 + m[14] * x2 + m[15] * x3
        ce = max(0.5 * (start_effect + effect), 0.0)
        if tighten == 0.0:  # one step
            rate = on * ce + off
            bound = on * ce / rate
            occupancy = bound + (occupancy - bound) * math.exp(-rate * h)
        else:
            occupancy, tight = bind_two_step(occupancy - tight, tight, on * ce, off, tighten, loosen, h)
        total += occupancy
    return depot, plasma, metabolite, effect, occupancy, tight, total / substeps


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


def _timeline(doses: Iterable[tuple[float, float]], hours: Sequence[float], dt_hours: float):
    """The walk through time shared by :func:`simulate` and :func:`simulate_people`.

    Yields ``("dose", mg)``, ``("record", hour)`` and ``("step", None)`` in order, from time 0 in
    steps of ``dt_hours`` until the last wanted hour; doses due at a time come before its record.
    """
    events = sorted(doses)
    wanted = sorted({float(h) for h in hours})
    t, i, k = 0.0, 0, 0
    end = wanted[-1] if wanted else 0.0
    while k < len(wanted):
        while i < len(events) and events[i][0] <= t + 1e-9:
            yield "dose", float(events[i][1])
            i += 1
        while k < len(wanted) and wanted[k] <= t + 1e-9:
            yield "record", wanted[k]
            k += 1
        if t > end:
            break
        yield "step", None
        t = round(t + dt_hours, 9)


def simulate(
    drug: str | DrugProfile,
    doses: Iterable[tuple[float, float]],
    hours: Sequence[float],
    dt_hours: float = 0.05,
    *,
    exposure: float = 1.0,
    binding_rate: float = 1.0,
) -> pd.DataFrame:
    """Concentrations and occupancy of one person at the given hours after time 0.

    ``doses`` are (hour, mg) events; ``exposure`` and ``binding_rate`` are the person's own
    multipliers (1 = the typical person, see :func:`draw_person_kinetics`). Returns columns hours,
    plasma_ng_ml, metabolite_ng_ml, effect_ng_ml, occupancy (every receptor the drug holds) and
    tight_occupancy (those in the tight state of two-step binding, 0 for a one-step drug). Uses the
    model's own per-person rule.
    """
    c = kinetic_constants(profile(drug) if isinstance(drug, str) else drug, dt_hours)
    args = tuple(c[name] for name in _RULE_CONSTANTS)
    state = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    rows = []
    for kind, value in _timeline(doses, hours, dt_hours):
        if kind == "dose":
            state = (state[0] + value, *state[1:])
        elif kind == "record":
            rows.append((value, *state[1:]))
        elif c["drug_active"]:
            state = advance_drug_state(*state, *args, exposure, binding_rate)[:6]
    columns = ["hours", "plasma_ng_ml", "metabolite_ng_ml", "effect_ng_ml", "occupancy", "tight_occupancy"]
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------- people differ
# Between-person spread of the kinetics, as SDs of natural logs (0 = everyone typical). Each is read
# from a published range across the subjects of one study, taken as the expected range of that many
# draws from a normal distribution (expected_range below); docs/pharmacology.md has the sources.
PK_VARIABILITY = 0.36
"""SD of log exposure between people, from 6-beta-naltrexol levels in a 4-fold range across 23
subjects on one dose (McCaul et al. 2000), ln 4 / expected_range(23) = 0.36."""
BLOCKADE_VARIABILITY = 0.184
"""SD of log binding rate between people (every rate of binding alike), set so that the model population's
blockade half-times after 50 mg naltrexone spread as those of Lee et al. 1988 (72-108 h across 5 volunteers):
an SD of log half-time of ln(108 / 72) / expected_range(5) = 0.174 (experiments/calibration/fit_naltrexone_pk.py)."""


def expected_range(n: int) -> float:
    """Expected range (largest minus smallest) of ``n`` standard normal draws, in SDs.

    The integral of 1 - Phi(x)^n - (1 - Phi(x))^n over x (Tippett 1925; the d2 constant of
    quality control: 2.33 for n = 5, 3.86 for n = 23).
    """
    from scipy.integrate import quad
    from scipy.stats import norm

    value, _ = quad(lambda x: 1.0 - norm.cdf(x) ** n - norm.sf(x) ** n, -np.inf, np.inf)
    return float(value)


def draw_person_kinetics(
    rng: np.random.Generator,
    n: int,
    pk_variability: float = PK_VARIABILITY,
    blockade_variability: float = BLOCKADE_VARIABILITY,
) -> dict[str, np.ndarray]:
    """Each person's exposure and binding-rate multipliers (dimensionless, median 1), log-normal.

    ``exposure`` scales what of a dose reaches the person's plasma (first-pass metabolism and
    volume differ between people); ``binding_rate`` scales how fast the drug binds to and leaves
    the person's receptors, hence how long the blockade lasts. Always draws 2 n normals, whatever
    the spreads, so that changing a spread keeps every later random number of a run the same.
    """
    z = rng.standard_normal((2, n))
    return {
        "drug_exposure": np.exp(pk_variability * z[0]),
        "drug_binding_rate": np.exp(blockade_variability * z[1]),
    }


def _advance_everyone(state, exposure, binding_rate, matrix, substeps, h, kon, koff, k_tight, k_loose):
    """Every person's drug state (rows of ``state``, 6 columns) after one step, by the model's own per-person rule."""
    for i in range(state.shape[0]):
        d, p, m, e, o, t, _ = advance_drug_state(
            state[i, 0], state[i, 1], state[i, 2], state[i, 3], state[i, 4], state[i, 5],
            matrix, substeps, h, kon, koff, k_tight, k_loose, exposure[i], binding_rate[i],
        )  # fmt: skip
        state[i, 0], state[i, 1], state[i, 2], state[i, 3], state[i, 4], state[i, 5] = d, p, m, e, o, t


@cache
def _advance_function():
    """:func:`_advance_everyone`, compiled by numba where the ``array`` extra is installed (the same numbers)."""
    if not has("array"):
        return _advance_everyone
    import numba

    from .mechanism import compilable

    compilable()
    return numba.njit(_advance_everyone)


def simulate_people(
    drug: str | DrugProfile,
    doses: Iterable[tuple[float, float]],
    hours: Sequence[float],
    exposure: np.ndarray,
    binding_rate: np.ndarray,
    dt_hours: float = 0.05,
) -> np.ndarray:
    """Occupancy (fraction) of each person (columns) at each of the sorted distinct ``hours`` (rows).

    Everyone takes the same ``doses`` (hour, mg); ``exposure`` and ``binding_rate`` hold each
    person's multipliers. The per-person rule is the model's own, compiled by numba.
    """
    c = kinetic_constants(profile(drug) if isinstance(drug, str) else drug, dt_hours)
    exposure = np.ascontiguousarray(exposure, dtype=np.float64)
    binding_rate = np.ascontiguousarray(np.broadcast_to(binding_rate, exposure.shape), dtype=np.float64)
    matrix = np.asarray(c["drug_matrix"], dtype=np.float64) if has("array") else c["drug_matrix"]
    constants = tuple(c[name] for name in _RULE_CONSTANTS[1:])
    state = np.zeros((exposure.size, 6))
    rows = []
    for kind, value in _timeline(doses, hours, dt_hours):
        if kind == "dose":
            state[:, 0] += value
        elif kind == "record":
            rows.append(state[:, 4].copy())
        elif c["drug_active"]:
            _advance_function()(state, exposure, binding_rate, matrix, *constants)
    return np.array(rows).reshape(len(rows), exposure.size)


PERCENTILES = (5, 25, 50, 75, 95)
"""The percentiles of occupancy over people that :func:`population` reports."""


def population(
    drug: str | DrugProfile,
    doses: Iterable[tuple[float, float]],
    hours: Sequence[float],
    *,
    people: int = 1000,
    seed: int = 0,
    pk_variability: float = PK_VARIABILITY,
    blockade_variability: float = BLOCKADE_VARIABILITY,
    dt_hours: float = 0.05,
) -> pd.DataFrame:
    """Occupancy over a virtual population of ``people`` drawn from ``seed``: one row per hour.

    Columns: hours, occupancy_mean and occupancy_pN for each N of :data:`PERCENTILES` (fractions).
    """
    d = draw_person_kinetics(np.random.default_rng(seed), people, pk_variability, blockade_variability)
    occ = simulate_people(drug, doses, hours, d["drug_exposure"], d["drug_binding_rate"], dt_hours)
    table = {"hours": sorted({float(h) for h in hours}), "occupancy_mean": occ.mean(axis=1)}
    for q, values in zip(PERCENTILES, np.percentile(occ, PERCENTILES, axis=1), strict=True):
        table[f"occupancy_p{q}"] = values
    return pd.DataFrame(table)


LEE_SCAN_HOURS = (48.0, 72.0, 120.0, 168.0)
"""Lee et al. 1988's PET scans after 50 mg naltrexone over which blockade declined (they scanned at 1 h too,
at saturation)."""


def decline_half_time(hours: Sequence[float], occupancy: np.ndarray) -> np.ndarray | float:
    """Half-time (h) of the blockade's decline: ln 2 over minus the least-squares slope of ln occupancy on hours.

    ``occupancy`` holds one row per hour (a column per person, or one curve); the exponential
    fit over scan times such as :data:`LEE_SCAN_HOURS`, as a PET study reports a blockade half-time.
    """
    t = np.asarray(hours, dtype=float)
    y = np.log(np.asarray(occupancy, dtype=float))
    centred = (t - t.mean()).reshape((-1,) + (1,) * (y.ndim - 1))
    slope = (centred * (y - y.mean(axis=0))).sum(axis=0) / (centred**2).sum()
    out = -LN2 / slope
    return float(out) if np.ndim(out) == 0 else out


def population_half_times(
    drug: str | DrugProfile = "naltrexone",
    mg: float = 50.0,
    *,
    people: int = 2000,
    seed: int = 1,
    pk_variability: float = PK_VARIABILITY,
    blockade_variability: float = BLOCKADE_VARIABILITY,
    scans: Sequence[float] = LEE_SCAN_HOURS,
) -> np.ndarray:
    """Each person's blockade half-time (h) after one dose of ``mg``: :func:`decline_half_time` over ``scans``."""
    d = draw_person_kinetics(np.random.default_rng(seed), people, pk_variability, blockade_variability)
    occ = simulate_people(drug, [(0.0, mg)], scans, d["drug_exposure"], d["drug_binding_rate"])
    return decline_half_time(sorted(scans), occ)


def blockade_half_time(hours: np.ndarray, occupancy: np.ndarray) -> float:
    """Hours after the dose at which occupancy has fallen to half its peak (linear between samples)."""
    peak = int(np.argmax(occupancy))
    half = occupancy[peak] / 2.0
    after = np.flatnonzero(occupancy[peak:] < half)
    if after.size == 0:
        return float("inf")
    j = peak + int(after[0])
    return float(np.interp(half, [occupancy[j], occupancy[j - 1]], [hours[j], hours[j - 1]]))


INAGAKI_DOSES = ((0.0, 25.0), (24.0, 25.0), (48.0, 50.0), (72.0, 50.0))
"""The naltrexone period of Inagaki et al. 2016 as (hour, mg), 25, 25, 50 and 50 mg on days 1-4."""


def residual_blockade(
    drug: str | DrugProfile = "naltrexone",
    doses: Sequence[tuple[float, float]] = INAGAKI_DOSES,
    washout_days: float = 10.0,
    *,
    people: int = 1000,
    seed: int = 0,
    pk_variability: float = PK_VARIABILITY,
    blockade_variability: float = BLOCKADE_VARIABILITY,
) -> np.ndarray:
    """Each person's occupancy (fraction) at the end of a washout of ``washout_days`` after the dosing days.

    The washout starts at the end of the day of the last dose, as in Inagaki et al. 2016, where
    it ends 14 days (336 h) after the first dose. Percentiles: ``np.percentile(result, ...)``.
    """
    end = 24.0 * (math.floor(max(h for h, _ in doses) / 24.0) + 1 + washout_days)
    d = draw_person_kinetics(np.random.default_rng(seed), people, pk_variability, blockade_variability)
    return simulate_people(drug, doses, [end], d["drug_exposure"], d["drug_binding_rate"])[0]
