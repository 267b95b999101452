"""Pharmacokinetics and receptor occupancy against the published targets (science.md section 2)."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pytest

from bondsim import drugs
from bondsim import pharmacology as ph
from bondsim.calibration import occupancy
from bondsim.drugs import BUILTIN as PROFILES
from bondsim.drugs import NALOXONE, NALTREXONE, DrugProfile
from bondsim.model import BondingModel
from bondsim.pharmacology import (
    advance_drug_state,
    bind_two_step,
    dose_times,
    kinetic_constants,
    receptor_activation,
    simulate,
)

ROOT = Path(__file__).resolve().parents[1]

LN2 = math.log(2.0)


def single_dose(drug: str, mg: float, hours) -> dict[str, np.ndarray]:
    frame = simulate(drug, [(0.0, mg)], hours)
    return {c: frame[c].to_numpy() for c in frame.columns}


def terminal_half_life(hours: np.ndarray, conc: np.ndarray) -> float:
    """Half-life (h) from the least-squares slope of log concentration."""
    slope = np.polyfit(hours, np.log(conc), 1)[0]
    return -LN2 / slope


@pytest.fixture(scope="module")
def naltrexone_50():
    hours = np.round(np.arange(0.0, 336.0 + 1e-9, 0.5), 2)
    return single_dose("naltrexone", 50.0, hours)


# --------------------------------------------------------------- invariants
@pytest.mark.parametrize("drug", ["naltrexone", "naloxone", "morphine"])
def test_occupancy_stays_in_unit_interval_even_for_huge_repeated_doses(drug):
    doses = dose_times("daily", 1000.0, days=7)
    frame = simulate(drug, doses, np.arange(0.0, 24.0 * 10, 1.0))
    occ = frame["occupancy"].to_numpy()
    assert np.all(np.isfinite(occ))
    assert occ.min() >= 0.0
    assert occ.max() <= 1.0
    assert (frame[["plasma_ng_ml", "metabolite_ng_ml", "effect_ng_ml"]].to_numpy() >= -1e-12).all()


@pytest.mark.parametrize("drug", ["naltrexone", "naloxone", "morphine"])
def test_more_dose_gives_more_occupancy(drug):
    hours = [0.5, 1.0, 2.0, 4.0, 8.0, 24.0, 48.0]
    previous = np.zeros(len(hours))
    for mg in (1.0, 5.0, 25.0, 100.0):
        occ = single_dose(drug, mg, hours)["occupancy"]
        assert np.all(occ > previous), (drug, mg)
        previous = occ


def test_plasma_levels_are_linear_in_dose_and_doses_superpose():
    hours = np.arange(0.0, 96.0, 2.0)
    one = simulate("naltrexone", [(0.0, 25.0)], hours)
    double = simulate("naltrexone", [(0.0, 50.0)], hours)
    later = simulate("naltrexone", [(24.0, 25.0)], hours)
    both = simulate("naltrexone", [(0.0, 25.0), (24.0, 25.0)], hours)
    for col in ("plasma_ng_ml", "metabolite_ng_ml", "effect_ng_ml"):
        np.testing.assert_allclose(double[col], 2.0 * one[col], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(both[col], one[col] + later[col], rtol=1e-9, atol=1e-12)
    # binding saturates: occupancy is not additive
    assert (both["occupancy"] <= one["occupancy"] + later["occupancy"] + 1e-12).all()


def test_placebo_and_none_do_nothing():
    for drug in ("placebo", "none"):
        frame = simulate(drug, [(0.0, 50.0)], [0.0, 1.0, 24.0])
        assert (frame[["plasma_ng_ml", "occupancy"]].to_numpy() == 0.0).all()


@pytest.mark.parametrize("drug", ["naltrexone", "morphine"])
def test_the_drug_rule_compiled_and_plain_agree_bit_for_bit(drug):
    """The per-person drug rule gives the very same bits run as Python and compiled by numba (one and two steps)."""
    import numba

    from bondsim.mechanism import compilable

    compilable()  # what the array engine does before it compiles: the helpers become known to numba
    c = kinetic_constants(PROFILES[drug], 1.0)
    args = (*(c[name] for name in ph._RULE_CONSTANTS), 1.7, 0.6)
    compiled = numba.njit(lambda *a: advance_drug_state(*a))
    plain = fast = (50.0, 3.0, 40.0, 1.0, 0.5, 0.2 if drug == "naltrexone" else 0.0)
    for _ in range(30):
        plain_out = advance_drug_state(*plain, *args)  # the state, then the step's mean occupancy
        fast_out = compiled(*fast, *args)
        assert tuple(map(float.hex, fast_out)) == tuple(map(float.hex, plain_out))
        plain, fast = plain_out[:6], fast_out[:6]


def test_step_length_barely_changes_the_curve():
    fine = simulate("naltrexone", [(0.0, 50.0)], [2.0, 24.0, 48.0, 96.0], dt_hours=0.05)
    coarse = simulate("naltrexone", [(0.0, 50.0)], [2.0, 24.0, 48.0, 96.0], dt_hours=1.0)
    np.testing.assert_allclose(coarse["occupancy"], fine["occupancy"], atol=0.01)


@pytest.mark.parametrize(("drug", "mg", "early"), [("naltrexone", 50.0, 0.005), ("naloxone", 2.0, 0.015),
                                                   ("buprenorphine", 16.0, 0.005)])  # fmt: skip
def test_occupancy_does_not_depend_on_the_step_length(drug, mg, early):
    # Every step is cut into sub-steps of at most 15 min, so a 2 h step and a 15 min step integrate the same
    # sub-steps: equal to 1e-12. Against 3 min steps (binding holds C_e at each sub-step's midpoint): within
    # ``early`` over the first 8 h (0.015 for intravenous naloxone, whose brain level moves within minutes) and
    # 0.001 from a day on.
    hours = [2.0, 4.0, 8.0, 24.0, 48.0, 96.0, 168.0]
    quarter = simulate(drug, [(0.0, mg)], hours, dt_hours=0.25)["occupancy"].to_numpy()
    two = simulate(drug, [(0.0, mg)], hours, dt_hours=2.0)["occupancy"].to_numpy()
    fine = simulate(drug, [(0.0, mg)], hours, dt_hours=0.05)["occupancy"].to_numpy()
    np.testing.assert_allclose(two, quarter, rtol=0, atol=1e-12)
    np.testing.assert_allclose(quarter[:3], fine[:3], rtol=0, atol=early)
    np.testing.assert_allclose(quarter[3:], fine[3:], rtol=0, atol=0.001)


@pytest.mark.parametrize("step_hours", [0.25, 2.0])
def test_the_models_occupancy_does_not_depend_on_its_step_hours(step_hours):
    # the model run with 15 min or 2 h steps gives each treated person the occupancy of the PK rule (tolerance 1e-9)
    model = BondingModel(
        seed=3, n_agents=20, mean_degree=4, drug="naltrexone", dose_mg=50.0, schedule="once", step_hours=step_hours
    )
    model.run(round(48 / step_hours))
    s = model.state()
    i = int(np.flatnonzero(s["treated"])[0])
    own = simulate(
        "naltrexone", [(0.0, 50.0)], [48.0], dt_hours=0.25, exposure=s["drug_exposure"][i],
        binding_rate=s["drug_binding_rate"][i],
    )  # fmt: skip
    assert s["occupancy"][i] == pytest.approx(own["occupancy"].iloc[0], abs=1e-9)
    assert s["tight_occupancy"][i] == pytest.approx(own["tight_occupancy"].iloc[0], abs=1e-9)


# ------------------------------------------------------------- two-step binding, solved exactly
def _two_step_by_solve_ivp(loose, tight, on_rate, koff, k_tight, k_loose, h):
    from scipy.integrate import solve_ivp

    def rates(_t, y):
        free = 1.0 - y[0] - y[1]
        return [on_rate * free - koff * y[0] - k_tight * y[0] + k_loose * y[1], k_tight * y[0] - k_loose * y[1]]

    sol = solve_ivp(rates, (0.0, h), [loose, tight], method="LSODA", rtol=1e-12, atol=1e-14)
    return sol.y[0, -1] + sol.y[1, -1], sol.y[1, -1]


@pytest.mark.parametrize(
    ("loose", "tight", "on_rate", "koff", "k_tight", "k_loose", "h"),
    [
        (0.0, 0.0, 30.0, 6.93, 0.117, 0.0083, 0.25),  # naltrexone's rates near its peak C_e
        (0.3, 0.6, 0.0, 6.93, 0.117, 0.0083, 2.0),  # and once the drug is gone
        (0.1, 0.2, 0.5, 0.4, 0.3, 0.2, 3.0),  # rates alike
        (0.6, 0.1, 2.0, 1e-3, 1e-3, 3.0, 1.0),  # slow dissociation, fast loosening
        (0.2, 0.2, 1.0, 1e-9, 1e-9, 1.0 - 1e-9, 0.25),  # eigenvalues all but equal (discriminant ~ 0)
    ],
)
def test_the_exact_two_step_solution_matches_a_fine_numerical_integration(
    loose, tight, on_rate, koff, k_tight, k_loose, h
):
    total, tight_now = bind_two_step(loose, tight, on_rate, koff, k_tight, k_loose, h)
    total_ref, tight_ref = _two_step_by_solve_ivp(loose, tight, on_rate, koff, k_tight, k_loose, h)
    assert total == pytest.approx(total_ref, abs=1e-9)
    assert tight_now == pytest.approx(tight_ref, abs=1e-9)


def test_a_whole_naltrexone_curve_matches_a_fine_numerical_integration():
    # the chain and two-step binding as one ODE system with C_e varying continuously (solve_ivp), against the
    # model's rule on 3 min steps: within 0.003 at every hour (the rule holds C_e at each step's midpoint)
    from scipy.integrate import solve_ivp

    drug = NALTREXONE
    a = ph._linear_matrix(drug, *ph._scales(drug))
    c = kinetic_constants(drug, 1.0)
    kon, koff, kt, kl = c["drug_kon"], c["drug_koff"], c["drug_k_tight"], c["drug_k_loose"]

    def rates(_t, y):
        chain = a @ y[:4]
        ce, loose, tight = max(y[3], 0.0), y[4], y[5]
        free = 1.0 - loose - tight
        return [*chain, kon * ce * free - koff * loose - kt * loose + kl * tight, kt * loose - kl * tight]

    hours = [0.5, 1.0, 2.0, 8.0, 24.0, 48.0, 120.0, 168.0]
    sol = solve_ivp(rates, (0.0, 168.0), [50.0, 0, 0, 0, 0, 0], method="LSODA", t_eval=hours, rtol=1e-10, atol=1e-12)
    model = simulate(drug, [(0.0, 50.0)], hours)
    np.testing.assert_allclose(model["occupancy"], sol.y[4] + sol.y[5], rtol=0, atol=0.003)
    np.testing.assert_allclose(model["tight_occupancy"], sol.y[5], rtol=0, atol=0.003)
    np.testing.assert_allclose(model["effect_ng_ml"], sol.y[3], rtol=1e-6, atol=1e-9)


# ----------------------------------------------- one-step drugs: the very same numbers as before
OLD_NALOXONE = DrugProfile(
    name="naloxone", action="antagonist", absorption_half_life_h=0.1, half_life_h=1.1, reference_dose_mg=0.4,
    cmax_ng_ml=2.0, effect_half_life_h=0.1, kd_ng_ml=1.0, dissociation_half_life_h=0.5,
)  # fmt: skip
NALMEFENE = {  # docs/extending.md
    "action": "antagonist", "absorption_half_life_h": 0.4, "half_life_h": 13.4, "reference_dose_mg": 18,
    "cmax_ng_ml": 16.5, "effect_half_life_h": 0.25, "kd_ng_ml": 0.5, "dissociation_half_life_h": 1.0,
}  # fmt: skip
ONE_STEP_CASES = {
    "naloxone_old": (OLD_NALOXONE, [(0.0, 0.4), (3.0, 2.0)]),
    "morphine": (PROFILES["morphine"], [(0.0, 10.0), (6.0, 10.0)]),
    "buprenorphine": (PROFILES["buprenorphine"], [(0.0, 16.0), (24.0, 8.0)]),
    "nalmefene": (drugs.from_table("nalmefene", NALMEFENE), [(0.0, 20.0)]),
}
RECORDED_HOURS = (0.5, 2.0, 26.0, 50.0)
RECORDED_ONE_STEP = {  # float.hex of occupancy from the one-step code before two-step binding existed
    "naloxone_old": {
        (0.05, 1.0, 1.0): (
            "0x1.be1e97ee7cb8ep-2",
            "0x1.0901c7265015bp-1",
            "0x1.ef0f083242c71p-17",
            "0x1.18cc1970f6300p-38",
        ),
        (2.0, 1.3, 0.8): (
            "0x1.d67ddcff96de1p-2",
            "0x1.d67ddcff96de1p-2",
            "0x1.35ffc4e55f40bp-16",
            "0x1.5fa65a9709497p-38",
        ),
        "people at 50 h": ("0x1.bb4ea9706bf84p-40", "0x1.1a95adefe5722p-38", "0x1.3d395e65d1b64p-36"),
    },
    "morphine": {
        (0.05, 1.0, 1.0): (
            "0x1.f3fa0844ef682p-5",
            "0x1.4c26624822e8dp-2",
            "0x1.a0e53c7de7806p-5",
            "0x1.7844123c6e692p-13",
        ),
        (2.0, 1.3, 0.8): (
            "0x1.1909a784f0d6fp-2",
            "0x1.1909a784f0d6fp-2",
            "0x1.51ecb0b5c7e12p-5",
            "0x1.2dae7a1f21befp-13",
        ),
        "people at 50 h": ("0x1.783cabe949595p-14", "0x1.7b6ce62cdf75ep-13", "0x1.838d8a371dd95p-12"),
    },
    "buprenorphine": {
        (0.05, 1.0, 1.0): (
            "0x1.e2732d0f23840p-6",
            "0x1.b049f1fe19e68p-2",
            "0x1.35b86100f45fap-1",
            "0x1.d100170a8e3a7p-2",
        ),
        (2.0, 1.3, 0.8): (
            "0x1.aaa0c689b2239p-2",
            "0x1.aaa0c689b2239p-2",
            "0x1.1d4cebe732fbap-1",
            "0x1.95920a73bd411p-2",
        ),
        "people at 50 h": ("0x1.2a2f446c46028p-2", "0x1.d107b01edd425p-2", "0x1.413de4db5a5d0p-1"),
    },
    "nalmefene": {
        (0.05, 1.0, 1.0): (
            "0x1.84bbaeae6e7c4p-1",
            "0x1.f1e3b16956230p-1",
            "0x1.d633ae91b8cf0p-1",
            "0x1.8893561082cf9p-1",
        ),
        (2.0, 1.3, 0.8): (
            "0x1.ee4a12564a70ep-1",
            "0x1.ee4a12564a70ep-1",
            "0x1.cce199ae0a7f1p-1",
            "0x1.72df963c99a03p-1",
        ),
        "people at 50 h": ("0x1.3e959bf7a81a9p-1", "0x1.88a57fd264616p-1", "0x1.bc64ffc23533ep-1"),
    },
}


@pytest.mark.parametrize("name", sorted(ONE_STEP_CASES))
def test_one_step_drugs_give_the_very_same_bits_as_before_two_step_binding(name):
    """Occupancy of drugs without a second step, recorded from the code before it existed (float.hex)."""
    drug, doses = ONE_STEP_CASES[name]
    recorded = RECORDED_ONE_STEP[name]
    for dt, g, f in ((0.05, 1.0, 1.0), (2.0, 1.3, 0.8)):
        frame = simulate(drug, doses, list(RECORDED_HOURS), dt, exposure=f, binding_rate=g)
        assert tuple(map(float.hex, frame["occupancy"])) == recorded[(dt, g, f)], (name, dt)
        assert (frame["tight_occupancy"] == 0.0).all()
    occ = ph.simulate_people(drug, doses, [50.0], np.array([0.5, 1.0, 2.0]), np.array([1.5, 1.0, 0.6]), 0.25)
    assert tuple(map(float.hex, occ[0])) == recorded["people at 50 h"]


# ------------------------------------------------------ naltrexone targets
def test_naltrexone_blocks_at_least_90_percent_at_one_hour(naltrexone_50):
    # Lee et al. 1988 scanned 1 h after 50 mg (receptors saturated); Trøstheim et al. 2023: > 90% over a ~60 min
    # session; Rabiner et al. 2011: 92-98% within hours. The typical person, on 3 min steps; 15 min steps (the
    # model's sub-steps) give 0.004 less, still above 0.90.
    h, occ = naltrexone_50["hours"], naltrexone_50["occupancy"]
    assert occ[h == 1.0][0] >= 0.90
    assert occ[h == 2.0][0] >= 0.90
    assert occ[h == 3.0][0] >= 0.90
    assert simulate("naltrexone", [(0.0, 50.0)], [1.0], dt_hours=0.25)["occupancy"].iloc[0] >= 0.90
    assert occ.max() <= 1.0
    # fast binding: two-thirds of the receptors are held half an hour after the dose (model 2: 17%)
    assert simulate("naltrexone", [(0.0, 50.0)], [0.5])["occupancy"].iloc[0] > 0.6


def test_naltrexone_blocks_75_to_80_percent_at_48_hours(naltrexone_50):
    # prescribing information: 70-80% still blocked 48 h after 50 mg; a referee's band from Lee 1988: 75-95%.
    # Tolerance: none; the fit keeps 0.001 inside the bands, so that its rounded constants stay inside.
    h, occ = naltrexone_50["hours"], naltrexone_50["occupancy"]
    assert 0.75 <= occ[h == 48.0][0] <= 0.80


def test_naltrexone_blocks_15_to_45_percent_at_168_hours(naltrexone_50):
    # a referee's band from Lee et al. 1988's last scan
    h, occ = naltrexone_50["hours"], naltrexone_50["occupancy"]
    assert 0.15 <= occ[h == 168.0][0] <= 0.45


def test_naltrexone_blockade_half_time_is_72_to_108_hours(naltrexone_50):
    # Lee et al. 1988, PET at 1, 48, 72, 120, 168 h: blockade half-time 72-108 h, here the exponential fit of
    # occupancy at the scans over which it declined (48-168 h)
    h, occ = naltrexone_50["hours"], naltrexone_50["occupancy"]
    scans = np.array([occ[h == t][0] for t in ph.LEE_SCAN_HOURS])
    assert 72.0 <= ph.decline_half_time(ph.LEE_SCAN_HOURS, scans) <= 108.0
    # the decline is close to exponential: each scan within 0.03 of the fitted line
    slope, intercept = np.polyfit(ph.LEE_SCAN_HOURS, np.log(scans), 1)
    np.testing.assert_allclose(scans, np.exp(intercept + slope * np.array(ph.LEE_SCAN_HOURS)), atol=0.03)


def test_decline_half_time_of_an_exponential_is_its_half_life():
    hours = np.array(ph.LEE_SCAN_HOURS)
    curves = np.exp(-LN2 * hours[:, None] / np.array([72.0, 90.0, 108.0]))
    np.testing.assert_allclose(ph.decline_half_time(hours, curves), [72.0, 90.0, 108.0], rtol=1e-12)
    assert ph.decline_half_time(hours, curves[:, 1]) == pytest.approx(90.0, rel=1e-12)


def test_the_tight_state_holds_the_tail(naltrexone_50):
    # two-step binding: at 1 h the drug sits mostly in the fast, loose state; from two days on the tight state
    # holds nearly all of the blockade, which is why it outlasts plasma levels
    frame = simulate("naltrexone", [(0.0, 50.0)], [1.0, 48.0, 168.0])
    tight, total = frame["tight_occupancy"].to_numpy(), frame["occupancy"].to_numpy()
    assert tight[0] < 0.2 * total[0]
    assert (tight[1:] > 0.9 * total[1:]).all()
    assert (tight <= total).all()


def test_naltrexone_plasma_half_lives_from_the_terminal_slope(naltrexone_50):
    # Meyer et al. 1984 and prescribing information: ~4 h (naltrexone), ~13 h (6-beta-naltrexol)
    h = naltrexone_50["hours"]
    parent = (h >= 12.0) & (h <= 48.0)
    metabolite = (h >= 24.0) & (h <= 96.0)
    assert terminal_half_life(h[parent], naltrexone_50["plasma_ng_ml"][parent]) == pytest.approx(4.0, abs=0.4)
    assert terminal_half_life(h[metabolite], naltrexone_50["metabolite_ng_ml"][metabolite]) == pytest.approx(
        13.0, abs=1.0
    )


def test_naltrexone_peaks_near_one_hour():
    # Cmax ~13 ng/mL (naltrexone) and ~108 ng/mL (6-beta-naltrexol) at about 1 h after 50 mg
    hours = np.round(np.arange(0.0, 6.0, 0.05), 2)
    d = single_dose("naltrexone", 50.0, hours)
    i, j = int(np.argmax(d["plasma_ng_ml"])), int(np.argmax(d["metabolite_ng_ml"]))
    assert d["plasma_ng_ml"][i] == pytest.approx(13.0, rel=0.05)
    assert 0.5 <= hours[i] <= 1.5
    assert d["metabolite_ng_ml"][j] == pytest.approx(108.0, rel=0.05)
    assert 0.5 <= hours[j] <= 2.0


def test_plasma_falls_long_before_the_blockade(naltrexone_50):
    # hysteresis: at 48 h plasma naltrexone is below 0.1% of its peak, occupancy still >= 70%
    h = naltrexone_50["hours"]
    plasma = naltrexone_50["plasma_ng_ml"]
    assert plasma[h == 48.0][0] < 1e-3 * plasma.max()
    assert naltrexone_50["occupancy"][h == 48.0][0] >= 0.70


def test_low_doses_are_ordered_as_in_rabiner_2011():
    # Rabiner et al. 2011, occupancy within 8 h: 2 mg 27%, 5 mg 43-58%, 15 mg 61%, 50 mg 92-98%
    hours = np.arange(0.0, 8.01, 0.25)
    peaks = [single_dose("naltrexone", mg, hours)["occupancy"].max() for mg in (2.0, 5.0, 15.0, 50.0)]
    assert peaks == sorted(peaks)
    assert peaks[0] > 0.1
    assert peaks[-1] >= 0.90


def test_crossover_leaves_residual_blockade_after_a_10_day_washout():
    # Inagaki et al. 2016: 25, 25, 50, 50 mg on days 1-4, then a 10-day washout. With a 72-108 h
    # blockade half-time some blockade must remain (roughly 10-20% by extrapolation, science.md).
    doses = [(0.0, 25.0), (24.0, 25.0), (48.0, 50.0), (72.0, 50.0)]
    end_of_washout = 96.0 + 240.0
    occ = simulate("naltrexone", doses, [96.0, end_of_washout])["occupancy"].to_numpy()
    assert occ[0] >= 0.90
    assert 0.10 <= occ[1] <= 0.20


# ------------------------------------------------------- other drugs
def test_morphine_half_life_is_2_to_3_hours():
    # Stuart-Harris et al. 2000: 2.2 +- 1.0 h
    hours = np.arange(4.0, 16.01, 0.5)
    plasma = single_dose("morphine", 10.0, hours)["plasma_ng_ml"]
    assert 2.0 <= terminal_half_life(hours, plasma) <= 3.0
    assert PROFILES["morphine"].action == "agonist"


def test_naloxone_is_short_acting():
    hours = [0.5, 1.0, 2.0, 12.0, 24.0]
    occ = single_dose("naloxone", 0.4, hours)["occupancy"]
    assert occ[:3].max() > 0.3
    assert occ[3] < 0.01 and occ[4] < 1e-4
    naltrexone = single_dose("naltrexone", 50.0, [24.0])["occupancy"][0]
    assert naltrexone > 100 * occ[4]
    assert PROFILES["naloxone"].tightening_half_life_h == 0.0  # one binding step: the data ask for no second


def test_naloxone_is_given_intravenously():
    # the occupancy data are after intravenous doses: the plasma peak comes within 5 min (a near-instant depot)
    hours = np.round(np.arange(0.0, 1.0, 1 / 60), 9)
    plasma = simulate("naloxone", [(0.0, 0.4)], hours, dt_hours=1 / 60)["plasma_ng_ml"].to_numpy()
    assert hours[int(np.argmax(plasma))] <= 5 / 60
    assert plasma.max() == pytest.approx(PROFILES["naloxone"].cmax_ng_ml, rel=0.05)


@pytest.fixture(scope="module")
def naloxone_table():
    return occupancy.naloxone_fit_table()


def test_naloxone_fit_meets_the_intravenous_occupancy_data(naloxone_table):
    # Trøstheim et al. 2022, Table 1: 10 values 45-65 min after 0.0005-1 mg/kg (70 kg). Tolerance: 2 sigma, with
    # sigma = 0.20 the spread between two studies at the same dose; the largest miss is Villemagne's 100% at
    # 0.01 mg/kg (Mayberg & Frost: 65% at that dose)
    assert occupancy.NALOXONE_SD == pytest.approx(0.204, abs=1e-3)
    rows = naloxone_table[naloxone_table["target"].str.startswith("occupancy")]
    assert len(rows) == len(occupancy.NALOXONE_PET) == 10
    assert rows["within"].all(), rows
    assert (rows["residual"].abs() <= 0.25).all()
    # Kim et al. 1997: receptor clearance half-time 2.0 +- 1.6 h after 2 mg; one-step binding with a 1.1 h plasma
    # half-life gives longer (saturation), within 2 SD
    half = naloxone_table.set_index("target").loc["receptor clearance half-time after 2 mg"]
    assert 2.0 < half["model"] <= 2.0 + 2 * 1.6
    # the dose that blocks half the receptors at 45-65 min lies between the data's 0.001 and 0.005 mg/kg
    at = dict(zip([mg for _, mg, _ in occupancy.NALOXONE_PET], rows["model"], strict=True))
    assert at[0.001] < 0.5 < at[0.005]


def test_a_fresh_naloxone_fit_lands_on_the_shipped_constant():
    script = _script("fit_naloxone_pk")
    best, result = script.fit(dataclasses.replace(NALOXONE, kd_ng_ml=5.0), log=None)
    assert result.success
    assert best.kd_ng_ml == pytest.approx(NALOXONE.kd_ng_ml, rel=0.01)


# --------------------------------------------------------------- drugs as data
def test_a_drug_table_may_bind_in_two_steps(tmp_path, bondsim):
    # [drugs.NAME] may set tightening_half_life_h and loosening_half_life_h (h; both 0, the default: one step)
    one = drugs.from_table("nalmefene", NALMEFENE)
    two = drugs.from_table("tightfene", {**NALMEFENE, "tightening_half_life_h": 2.0, "loosening_half_life_h": 50.0})
    assert (one.tightening_half_life_h, one.loosening_half_life_h) == (0.0, 0.0)
    assert (two.tightening_half_life_h, two.loosening_half_life_h) == (2.0, 50.0)
    held = [simulate(d, [(0.0, 20.0)], [96.0])["occupancy"].iloc[0] for d in (one, two)]
    assert held[1] > held[0] + 0.1  # the tight state holds the blockade longer
    mine = drugs.from_table("mine", {"like": "naltrexone", "loosening_half_life_h": 40.0})
    assert mine.tightening_half_life_h == NALTREXONE.tightening_half_life_h and mine.loosening_half_life_h == 40.0
    none = drugs.from_table("onestep", {"like": "naltrexone", "tightening_half_life_h": 0, "loosening_half_life_h": 0})
    assert simulate(none, [(0.0, 50.0)], [48.0])["tight_occupancy"].iloc[0] == 0.0
    for bad, says in (
        ({"tightening_half_life_h": 2.0}, "set both (two-step binding) or neither"),
        ({"loosening_half_life_h": 2.0}, "set both (two-step binding) or neither"),
        ({"tightening_half_life_h": -1.0, "loosening_half_life_h": 2.0}, "must be >= 0"),
        ({"dissociation_half_life_h": 0.0}, "must be > 0"),
    ):
        with pytest.raises(drugs.DrugError, match=re.escape(says)):
            drugs.from_table("bad", {**NALMEFENE, **bad})
    config = tmp_path / "tight.toml"
    lines = [f"{k} = {v!r}".replace("'", '"') for k, v in NALMEFENE.items()]
    config.write_text(
        "[drugs.tightfene]\n" + "\n".join(lines) + "\ntightening_half_life_h = 2.0\nloosening_half_life_h = 50.0\n"
    )
    done = bondsim("pk", "tightfene", "--config", str(config), "--dose", "20", "--hours", "1", "96")
    assert done.returncode == 0, done.stderr
    out = done.stdout.strip().splitlines()
    assert out[0] == "hours,plasma_ng_ml,occupancy,metabolite_ng_ml,effect_ng_ml"  # the same columns as ever
    assert float(out[2].split(",")[2]) == pytest.approx(held[1], rel=1e-3)


# --------------------------------------------------- receptor competition
def test_receptor_activation_competition():
    e = 0.25  # endogenous opioid at 20% occupancy
    assert receptor_activation(e, 0.0, 0.0) == pytest.approx(e / (1 + e))
    occupancies = [0.0, 0.5, 0.9, 0.99]
    blocked = np.array([receptor_activation(e, o, 0.0) for o in occupancies])
    assert np.all(np.diff(blocked) < 0)
    assert blocked[-1] < 0.01
    agonist = np.array([receptor_activation(e, o, 1.0) for o in occupancies])
    assert np.all(np.diff(agonist) > 0)
    assert np.all((agonist >= 0) & (agonist <= 1))
    # a partial agonist at full occupancy settles at its efficacy, between antagonist and full agonist
    partial = np.array([receptor_activation(e, o, 0.3) for o in occupancies])
    assert partial[-1] == pytest.approx(0.3, abs=0.01)
    assert np.all(blocked <= partial + 1e-12) and np.all(partial <= agonist + 1e-12)
    # more endogenous opioid partly overcomes a competitive antagonist
    assert receptor_activation(4 * e, 0.9, 0.0) > receptor_activation(e, 0.9, 0.0)


def test_buprenorphine_occupancy_under_daily_dosing_matches_pet():
    # Greenwald et al. 2003 (maintenance, PET 4 h after the dose): 41% at 2 mg, 80% at 16 mg, 84% at 32 mg;
    # Greenwald et al. 2007 (16 mg/day, after the last dose): 70, 46, 33 and 18% at 4, 28, 52 and 76 h.
    def occupancy(mg, after):
        doses = dose_times("daily", mg, days=14)
        return simulate("buprenorphine", doses, [13 * 24 + a for a in after], dt_hours=0.25)["occupancy"].to_numpy()

    assert occupancy(16.0, [4.0, 28.0, 52.0, 76.0]) == pytest.approx([0.75, 0.46, 0.33, 0.18], abs=0.12)
    assert occupancy(32.0, [4.0])[0] == pytest.approx(0.84, abs=0.07)
    assert 0.2 <= occupancy(2.0, [4.0])[0] < occupancy(16.0, [4.0])[0]  # 27% against 41%: see pharmacology.md
    assert PROFILES["buprenorphine"].action == "partial agonist"


def test_dose_times_schedules():
    assert dose_times("once", 50.0, start_hours=6.0) == [(6.0, 50.0)]
    assert dose_times("daily", 25.0, days=3) == [(0.0, 25.0), (24.0, 25.0), (48.0, 25.0)]
    assert len(dose_times("daily", 25.0, horizon_hours=100.0)) == 5
    assert dose_times("explicit", 50.0, hours=[24.0, 0.0], amounts_mg=[50.0, 25.0]) == [(0.0, 25.0), (24.0, 50.0)]
    assert dose_times("explicit", 10.0, hours=[0.0, 12.0]) == [(0.0, 10.0), (12.0, 10.0)]


# ---------------------------------------------- the calibration, all targets together
@pytest.fixture(scope="module")
def fit_table():
    return occupancy.naltrexone_fit_table()


def test_fitted_profile_hits_every_rabiner_point(fit_table):
    # Rabiner et al. 2011: one volunteer per PET value, scanned within 8 h of 2, 5, 15 or 50 mg. Tolerance:
    # 2 PET SDs (0.16; the SD of the three 5 mg volunteers is 0.08). The worst is 15 mg: 0.75 against 0.61.
    rows = fit_table[fit_table["target"].str.startswith("occupancy 1-8 h")]
    assert len(rows) == len(occupancy.RABINER_PET) == 7
    assert (rows["residual"].abs() <= 2 * occupancy.PET_SD).all(), rows[["target", "published", "model"]]
    assert rows["within"].all()


def test_rabiner_volunteers_against_the_model_populations_spread():
    # each volunteer is one person: their occupancy should fall within the spread of the model's population (2000
    # people), here its 2.5th-97.5th percentiles (with 7 volunteers, one outside a 90% interval is likely by chance).
    # The 15 mg volunteer (61%) lies at the population's 4th percentile. The 98% volunteer at 50 mg lies above every
    # virtual person: with one fast binding step of Hill coefficient 1 and Rabiner's lower doses, 50 mg tops out
    # near 95% within 8 h (a known miss, docs/pharmacology.md; this test says so if a change removes it).
    d = ph.draw_person_kinetics(np.random.default_rng(7), 2000)
    hours = np.arange(1.0, 8.0 + 1e-9, 0.25)
    for mg, measured in occupancy.RABINER_PET:
        occ = ph.simulate_people("naltrexone", [(0.0, mg)], hours, d["drug_exposure"], d["drug_binding_rate"])
        low, high = np.percentile(occ.mean(axis=0), [2.5, 97.5])
        if measured == 0.98:
            assert occ.mean(axis=0).max() < measured
        else:
            assert low <= measured <= high, (mg, measured, low, high)


def test_fitted_profile_meets_lee_1988_the_prescribing_information_and_the_bands(fit_table):
    by = fit_table.set_index("target")
    model = by["model"]
    assert model["occupancy 1 h after 50 mg, population mean"] >= 0.90  # Lee 1988; Trøstheim et al. 2023
    assert 0.75 <= model["occupancy 48 h after 50 mg"] <= 0.80  # prescribing information and the referee's band
    assert 72.0 <= model["blockade half-time after 50 mg"] <= 108.0  # Lee et al. 1988
    assert 0.15 <= model["occupancy 168 h after 50 mg, band"] <= 0.45  # the referee's band
    # every target within its published range or band, and no weighted residual of 2 or more
    assert fit_table["within"].all(), fit_table[["target", "model", "within"]]
    assert (fit_table["weighted"].abs() < 2.0).all()
    # the residual table says which numbers were read and which derived
    assert set(fit_table["basis"].str.split(":").str[0].str.split(";").str[0]) <= {"read", "derived", "read in monkeys"}
    assert fit_table["basis"].str.startswith("derived").sum() == 2


def test_the_population_meets_the_acceptance_numbers_and_the_checks():
    # typical person and a population of 1000 (seed 0): 1 h >= 0.90; the population's 48 h mean is lower than the
    # typical person's (0.74), its half-time the same; Weerts et al. 2008 (50 mg/day: 94.9 +- 4.9%) within 1 SD;
    # the residual blockade after Inagaki et al. 2016's washout about 15% (science.md: roughly 10-20%)
    checks = occupancy.naltrexone_validation()
    typical, population = checks["typical"], checks["population"]
    assert typical["1 h"] >= 0.90 and population["1 h"] >= 0.90
    assert 0.75 <= typical["48 h"] <= 0.80 and 0.70 <= population["48 h"] < typical["48 h"]
    assert 0.15 <= typical["168 h"] <= 0.45 and 0.15 <= population["168 h"] <= 0.45
    assert 72.0 <= typical["half-time (h)"] <= 108.0 and 72.0 <= population["half-time (h)"] <= 108.0
    mean, sd = occupancy.WEERTS_2008
    assert abs(population["Weerts 2008, 50 mg/day"] - mean) <= sd
    assert 0.10 <= typical["washout residual, 336 h"] <= 0.20
    assert 0.10 <= population["washout residual, 336 h"] <= 0.20


def test_metabolite_potency_is_within_a_factor_of_its_sourced_value():
    # 6-beta-naltrexol: half the parent's affinity (Ko et al. 2006), little brain entry; in vivo 71-100 times
    # less potent in monkeys (Li, McMahon & France; Ko et al. 2006): 0.01. The fit lands within a factor 2 of it.
    assert occupancy.METABOLITE_POTENCY_SOURCE == 0.01
    ratio = NALTREXONE.metabolite_potency / occupancy.METABOLITE_POTENCY_SOURCE
    assert 1 / 2 <= ratio <= 2
    # and it matters: 48 h after 50 mg the metabolite drives the receptor more than the parent does, enough on
    # its own to hold more than a third of the receptors at the equilibrium of both binding steps
    row = simulate("naltrexone", [(0.0, 50.0)], [48.0]).iloc[0]
    drive = NALTREXONE.metabolite_potency * row["metabolite_ng_ml"]
    assert drive > 5 * row["plasma_ng_ml"]
    apparent_kd = NALTREXONE.kd_ng_ml / (1 + NALTREXONE.loosening_half_life_h / NALTREXONE.tightening_half_life_h)
    assert drive / (drive + apparent_kd) > 0.35


def _script(name: str):
    path = ROOT / "experiments" / "calibration" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_fresh_fit_lands_on_the_shipped_constants():
    """The calibration script, rerun from other starting values, finds the constants bondsim ships."""
    script = _script("fit_naltrexone_pk")
    start = dataclasses.replace(
        NALTREXONE, metabolite_potency=0.005, kd_ng_ml=3.0, tightening_half_life_h=10.0, loosening_half_life_h=60.0
    )
    best, result = script.fit(start, log=None)
    assert result.success
    for name in script.NAMES:  # shipped: the fit rounded to three significant digits
        assert getattr(best, name) == pytest.approx(getattr(NALTREXONE, name), rel=0.005), name
    assert script.fit_blockade_variability(NALTREXONE, log=None) == pytest.approx(ph.BLOCKADE_VARIABILITY, abs=0.005)


def test_the_documented_constants_are_the_shipped_ones():
    """docs/pharmacology.md's tables quote bondsim.drugs and bondsim.pharmacology, rounded as shown."""
    text = (ROOT / "docs" / "pharmacology.md").read_text(encoding="utf-8")
    shown = {
        "plasma-to-brain half-life (ln 2 / ke0)": NALTREXONE.effect_half_life_h,
        "metabolite potency π": NALTREXONE.metabolite_potency,
        "K_d of the first step (effect site)": NALTREXONE.kd_ng_ml,
        "dissociation half-life of the first step (ln 2 / koff)": NALTREXONE.dissociation_half_life_h,
        "tightening half-life (ln 2 / k_tight)": NALTREXONE.tightening_half_life_h,
        "loosening half-life (ln 2 / k_loose)": NALTREXONE.loosening_half_life_h,
        "between-person spread of exposure (`pk_variability`)": ph.PK_VARIABILITY,
        "between-person spread of binding rate (`blockade_variability`)": ph.BLOCKADE_VARIABILITY,
        "naloxone K_d": NALOXONE.kd_ng_ml,
    }
    for label, value in shown.items():
        m = re.search(re.escape(f"| {label} | ") + r"([0-9.eE+-]+)", text)
        assert m, f"docs/pharmacology.md has no row '{label}'"
        assert float(m.group(1)) == pytest.approx(value, rel=0.005), label


# ---------------------------------------------------------------- people differ
def test_spreads_follow_from_the_published_ranges():
    assert ph.expected_range(5) == pytest.approx(2.326, abs=1e-3)  # the d2 constant of quality control
    assert ph.expected_range(23) == pytest.approx(3.858, abs=1e-3)
    # McCaul et al. 2000: 4-fold range of 6-beta-naltrexol across 23 people
    assert ph.PK_VARIABILITY == pytest.approx(math.log(4.0) / ph.expected_range(23), abs=0.005)
    # Lee et al. 1988: half-times 72-108 h across 5 people; the population's spread of half-times matches
    half_times = ph.population_half_times()
    assert np.log(half_times).std() == pytest.approx(math.log(108 / 72) / ph.expected_range(5), abs=0.01)
    assert 72.0 <= np.median(half_times) <= 108.0


def test_residual_blockade_after_the_washout_is_a_spread_over_people():
    # Inagaki et al. 2016: 25, 25, 50, 50 mg, then 10 days of washout (science.md: report it, not zero)
    residual = ph.residual_blockade(people=1000, seed=3)
    p5, p50, p95 = np.percentile(residual, [5, 50, 95])
    assert 0.01 < p5 < p50 < p95 < 0.35
    assert p95 / p5 > 2.0  # people differ
    assert 0.10 <= p50 <= 0.20  # science.md: roughly 10-20% (derived from the PET half-time)
    np.testing.assert_array_equal(residual, ph.residual_blockade(people=1000, seed=3))  # one seed, one result
    assert not np.array_equal(residual, ph.residual_blockade(people=1000, seed=4))


def test_no_variability_reproduces_the_typical_person():
    residual = ph.residual_blockade(people=50, seed=3, pk_variability=0.0, blockade_variability=0.0)
    typical = simulate("naltrexone", ph.INAGAKI_DOSES, [336.0])["occupancy"].iloc[0]
    np.testing.assert_allclose(residual, typical, rtol=1e-12)
    table = ph.population("naltrexone", [(0.0, 50.0)], [2.0, 48.0], people=20, pk_variability=0, blockade_variability=0)
    for column in ("occupancy_p5", "occupancy_p50", "occupancy_p95"):
        np.testing.assert_allclose(table[column], table["occupancy_mean"], rtol=1e-12)


def test_exposure_is_a_dose_multiplier():
    # a person with twice the exposure has the plasma curve of twice the dose (the chain is linear)
    hours = [1.0, 4.0, 24.0]
    double = simulate("naltrexone", [(0.0, 25.0)], hours, exposure=2.0)
    dose = simulate("naltrexone", [(0.0, 50.0)], hours)
    for column in ("plasma_ng_ml", "metabolite_ng_ml", "effect_ng_ml", "occupancy"):
        np.testing.assert_allclose(double[column], dose[column], rtol=1e-12)
    # a slower binding rate makes the blockade last longer
    slow = simulate("naltrexone", [(0.0, 50.0)], [168.0], binding_rate=0.7)["occupancy"].iloc[0]
    assert slow > simulate("naltrexone", [(0.0, 50.0)], [168.0])["occupancy"].iloc[0]


def test_steady_state_blockade_of_the_population_matches_weerts_2008():
    # Weerts et al. 2008: 50 mg/day, mu blockade 94.9 +- 4.9%. Most of the population is above 90%.
    table = ph.population("naltrexone", dose_times("daily", 50.0, days=7), [6 * 24 + 3.0], people=1000)
    assert table["occupancy_mean"].iloc[0] >= 0.90
    assert table["occupancy_p5"].iloc[0] >= 0.85


@pytest.mark.parametrize("engine", ["agents", "array"])
def test_the_model_gives_each_person_their_own_kinetics(engine):
    kwargs = dict(engine=engine, n_agents=40, mean_degree=4, drug="naltrexone", dose_mg=50.0, schedule="once")
    model = BondingModel(seed=5, **kwargs)
    model.run(48)
    s = model.state()
    treated = s["treated"]
    assert s["occupancy"][treated].std() > 0.01  # people differ
    exposure, binding = s["drug_exposure"], s["drug_binding_rate"]
    assert np.log(exposure).std() == pytest.approx(ph.PK_VARIABILITY, rel=0.35)
    # each person's occupancy is the PK rule run with their own multipliers
    for i in np.flatnonzero(treated)[:3]:
        own = simulate("naltrexone", [(0.0, 50.0)], [48.0], dt_hours=1.0, exposure=exposure[i], binding_rate=binding[i])
        assert s["occupancy"][i] == pytest.approx(own["occupancy"].iloc[0], rel=1e-9)
    again = BondingModel(seed=5, **kwargs)
    again.run(48)
    np.testing.assert_array_equal(again.state()["occupancy"], s["occupancy"])  # one seed, one result
    flat = BondingModel(seed=5, pk_variability=0.0, blockade_variability=0.0, **kwargs)
    flat.run(48)
    occ = flat.state()["occupancy"][treated]
    np.testing.assert_allclose(occ, occ[0], rtol=1e-12)  # no variability: everyone is the typical person


@pytest.mark.parametrize("drug", ["naltrexone", "buprenorphine"])
def test_both_engines_give_each_person_the_very_same_kinetics(drug):
    # bit for bit, with a naltrexone dose (two-step binding) and a one-step drug, over the first days and the tail
    kwargs = dict(n_agents=30, mean_degree=4, drug=drug, dose_mg=25.0, treated_fraction=0.5, schedule="daily",
                  dosing_days=2)  # fmt: skip
    states = []
    for engine in ("agents", "array"):
        model = BondingModel(seed=9, engine=engine, **kwargs)
        model.run(30)
        first = model.state()
        model.run(60)
        states.append((first, model.state()))
    names = ("drug_exposure", "drug_binding_rate", "occupancy", "tight_occupancy", "drug_plasma", "drug_effect")
    for when in (0, 1):
        for name in names:
            np.testing.assert_array_equal(states[0][when][name], states[1][when][name], err_msg=name)
    treated = states[0][1]["treated"]
    assert (states[0][1]["occupancy"][treated] > 0).all()
    assert (states[0][1]["tight_occupancy"][treated] > 0).all() == (drug == "naltrexone")


@pytest.mark.slow
def test_bondsim_pk_prints_percentiles_for_a_population(bondsim):
    done = bondsim("pk", "naltrexone", "--dose", "25", "25", "50", "50", "--schedule", "daily",
                   "--people", "300", "--hours", "96", "336")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "hours,occupancy_mean,occupancy_p5,occupancy_p25,occupancy_p50,occupancy_p75,occupancy_p95"
    end = [float(v) for v in lines[2].split(",")]
    assert end[0] == 336 and 0.0 < end[2] < end[4] < end[6] < 0.5
    assert bondsim("pk", "naltrexone", "--dose", "25", "50").returncode == 2  # two doses need --schedule daily
