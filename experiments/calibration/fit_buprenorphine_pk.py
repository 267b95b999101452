"""Fit buprenorphine's effective half-life, peak plasma level and K_d to human PET occupancy.

Targets (mu occupancy = 1 - availability, under daily sublingual dosing for two weeks):
Greenwald et al. 2003: 41%, 80% and 84% four hours after 2, 16 and 32 mg; Greenwald et al. 2007:
after the last 16 mg dose, 70%, 46%, 33% and 18% at 4, 28, 52 and 76 h (75% used at 4 h, between
the two studies). The absorption, brain-entry and dissociation constants are held at their values
in bondsim.drugs. Run: ``python experiments/calibration/fit_buprenorphine_pk.py`` (about a minute).
"""

import dataclasses

import numpy as np
from scipy.optimize import minimize

from bondsim.drugs import BUPRENORPHINE
from bondsim.pharmacology import dose_times, simulate

TARGETS = {  # (mg per day, hours after the last dose) -> occupancy measured by PET
    (16.0, 4.0): 0.75,
    (16.0, 28.0): 0.46,
    (16.0, 52.0): 0.33,
    (16.0, 76.0): 0.18,
    (2.0, 4.0): 0.41,
    (32.0, 4.0): 0.84,
}


def occupancy(drug, mg: float, after: float) -> float:
    """Occupancy ``after`` hours after the last of 14 daily doses of ``mg``."""
    frame = simulate(drug, dose_times("daily", mg, days=14), [13 * 24 + after], dt_hours=0.25)
    return float(frame["occupancy"].iloc[0])


def profile(x: np.ndarray):
    half_life, cmax, kd = np.exp(x)
    return dataclasses.replace(BUPRENORPHINE, half_life_h=half_life, cmax_ng_ml=cmax, kd_ng_ml=kd)


def objective(x: np.ndarray) -> float:
    drug = profile(x)
    return sum((occupancy(drug, mg, after) - target) ** 2 for (mg, after), target in TARGETS.items())


if __name__ == "__main__":
    start = np.log([16.0, 4.0, 1.0])
    fit = minimize(objective, start, method="Nelder-Mead", options={"maxiter": 200, "xatol": 1e-3, "fatol": 1e-6})
    best = profile(fit.x)
    print(f"half_life_h={best.half_life_h:.3g} cmax_ng_ml={best.cmax_ng_ml:.3g} kd_ng_ml={best.kd_ng_ml:.3g}")
    for (mg, after), target in TARGETS.items():
        print(f"  {mg:g} mg, {after:g} h after the last dose: model {occupancy(best, mg, after):.2f}, PET {target:.2f}")
