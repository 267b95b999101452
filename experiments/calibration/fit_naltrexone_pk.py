"""Fit naltrexone's receptor constants to human PET occupancy, all targets together.

Fitted (in log units): the central potency of 6-beta-naltrexol relative to naltrexone, K_d and the
receptor dissociation half-life of the typical person. Plasma constants stay at their published
values and the plasma-to-brain half-life at 15 min (a free fit drives it to zero).

Targets (bondsim.calibration.occupancy.NALTREXONE_TARGETS, docs/pharmacology.md):
- Rabiner et al. 2011: each volunteer's occupancy within 8 h of 2, 5 (three), 15 and 50 mg (two),
  against the model's mean occupancy over 1-8 h; sigma 0.08, the SD of the three 5 mg volunteers;
- prescribing information: 70-80% blocked 48 h after 50 mg (sigma 0.025: the range is 2 sigma);
- Lee et al. 1988 (PET at 1, 48, 72, 120, 168 h): blockade half-time 72-108 h (sigma 9 h), and the
  decline between the 72 h and 168 h scans that this half-time implies (derived);
- a prior on the metabolite potency: 0.01 (Ko et al. 2006; Li, McMahon & France), one SD a factor 3.

Then the between-person spread of the binding rate (BLOCKADE_VARIABILITY) is set so that the model
population's blockade half-times spread as Lee's five volunteers' did (72-108 h), with the exposure
spread (PK_VARIABILITY, McCaul et al. 2000) in place.

Each evaluation of the objective is logged. Run: python experiments/calibration/fit_naltrexone_pk.py
(a few seconds). The fitted constants go into bondsim.drugs.NALTREXONE by hand, rounded to three
significant digits; tests/test_pharmacology.py checks that a fresh fit still lands on them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, brentq, least_squares

from bondsim.calibration.occupancy import NALTREXONE_TARGETS, naltrexone_fit_table, naltrexone_residuals
from bondsim.drugs import NALTREXONE, DrugProfile
from bondsim.pharmacology import PK_VARIABILITY, expected_range, population_half_times

LEE_HALF_TIMES_H = (72.0, 108.0)  # the range across Lee et al. 1988's five volunteers

NAMES = ("metabolite_potency", "kd_ng_ml", "dissociation_half_life_h")


def candidate(x: np.ndarray) -> DrugProfile:
    """Naltrexone with the constants exp(x) (potency, K_d in ng/mL, dissociation half-life in h)."""
    return dataclasses.replace(NALTREXONE, **dict(zip(NAMES, np.exp(x).tolist(), strict=True)))


def fit(start: DrugProfile = NALTREXONE, log=print) -> tuple[DrugProfile, OptimizeResult]:
    """Least squares over the log constants from ``start``; ``log`` gets one line per evaluation."""
    calls = [0]

    def residuals(x: np.ndarray) -> np.ndarray:
        r = naltrexone_residuals(candidate(x))
        calls[0] += 1
        if log:
            values = " ".join(f"{n}={v:.4g}" for n, v in zip(NAMES, np.exp(x), strict=True))
            log(f"eval {calls[0]:3d}  {values}  objective={float(r @ r):.4f}")
        return r

    x0 = np.log([getattr(start, n) for n in NAMES])
    result = least_squares(residuals, x0, diff_step=1e-3, x_scale=1.0)
    return candidate(result.x), result


def half_time_spread(drug: DrugProfile, blockade_variability: float) -> float:
    """SD of the log blockade half-time over a model population (2000 people, seed 1)."""
    return float(np.log(population_half_times(drug, blockade_variability=blockade_variability)).std())


def fit_blockade_variability(drug: DrugProfile, log=print) -> float:
    """The binding-rate spread that gives Lee's spread of half-times: ln(108 / 72) / expected_range(5)."""
    lo, hi = LEE_HALF_TIMES_H
    target = math.log(hi / lo) / expected_range(5)

    def gap(sigma: float) -> float:
        spread = half_time_spread(drug, sigma)
        if log:
            log(f"blockade_variability={sigma:.4f}: SD of log half-time {spread:.4f} (target {target:.4f})")
        return spread - target

    return brentq(gap, 0.01, 0.6, xtol=1e-3)


def main() -> None:
    best, result = fit()
    print(
        f"\n{result.message} after {result.nfev} evaluations; objective (sum of squared weighted residuals) "
        f"{2 * result.cost:.4f}"
    )
    print("fitted: " + " ".join(f"{n}={getattr(best, n):.3g}" for n in NAMES))
    table = naltrexone_fit_table(best)
    with pd.option_context("display.width", 200, "display.max_colwidth", 60, "display.float_format", "{:.4g}".format):
        print(table.drop(columns=["source"]).to_string(index=False))
    shipped = naltrexone_fit_table(NALTREXONE)
    print(
        f"shipped constants (bondsim.drugs): objective {float((shipped['weighted'] ** 2).sum()):.4f}, "
        f"{int(shipped['within'].sum())} of {len(NALTREXONE_TARGETS)} targets within range"
    )
    assert all(math.isfinite(v) for v in table["model"])
    print(f"\nbetween-person spread, with pk_variability={PK_VARIABILITY} (McCaul et al. 2000):")
    sigma = fit_blockade_variability(best)
    print(f"fitted: blockade_variability={sigma:.3g}")


if __name__ == "__main__":
    main()
