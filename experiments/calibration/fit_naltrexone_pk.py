"""Fit naltrexone's two-step receptor binding to human PET occupancy, every scan time together.

Fitted (in log units): the central potency of 6-beta-naltrexol relative to naltrexone, K_d of the
fast first step, and the half-lives of the slow second step, tightening (RD -> RD*) and loosening
(RD* -> RD), of the typical person. Held: the plasma constants at their published values, the
plasma-to-brain half-life at 6 min and the dissociation half-life of the first step at 6 min
(assumptions: the occupancy data cannot tell these fast rates apart from instant ones).

Targets (bondsim.calibration.occupancy.NALTREXONE_TARGETS, docs/pharmacology.md), each residual
divided by its sigma:
- Rabiner et al. 2011: each volunteer's occupancy within 8 h of 2, 5 (three), 15 and 50 mg (two),
  against the typical person's mean occupancy over 1-8 h; sigma 0.08, the SD of the three 5 mg volunteers;
- Lee et al. 1988's scans after 50 mg: at 1 h, >= 90% (also Trøstheim et al. 2023; a one-sided bound
  on the mean of a model population, as both are group statements); at 48 h, the prescribing
  information's 70-80% (sigma 0.025) and a referee's band of 75-95%; over 48-168 h, the blockade
  half-time of 72-108 h (sigma 9 h), against the exponential fit of occupancy at Lee's scans at 48,
  72, 120 and 168 h; at 168 h, a referee's band of 15-45%. A band counts only outside it (sigma 0.01);
- a prior on the metabolite potency: 0.01 (Ko et al. 2006; Li, McMahon & France), one SD a factor 3.

Then the between-person spread of the binding rates (BLOCKADE_VARIABILITY) is set so that the model
population's blockade half-times spread as Lee's five volunteers' did (72-108 h), with the exposure
spread (PK_VARIABILITY, McCaul et al. 2000) in place. The population mean at 1 h depends on that
spread, so the two fits alternate until the spread settles.

Each evaluation of the objective is logged. Run: python experiments/calibration/fit_naltrexone_pk.py
(about a minute). The fitted constants go into bondsim.drugs.NALTREXONE by hand, rounded to three
significant digits; tests/test_pharmacology.py checks that a fresh fit still lands on them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, brentq, least_squares

from bondsim.calibration.occupancy import (
    NALTREXONE_TARGETS,
    naltrexone_fit_table,
    naltrexone_measures,
    naltrexone_residuals,
    naltrexone_validation,
)
from bondsim.drugs import NALTREXONE, DrugProfile
from bondsim.pharmacology import BLOCKADE_VARIABILITY, PK_VARIABILITY, expected_range, population_half_times

LEE_HALF_TIMES_H = (72.0, 108.0)  # the range across Lee et al. 1988's five volunteers

NAMES = ("metabolite_potency", "kd_ng_ml", "tightening_half_life_h", "loosening_half_life_h")


def candidate(x: np.ndarray, start: DrugProfile = NALTREXONE) -> DrugProfile:
    """``start`` with the constants exp(x) (potency, K_d in ng/mL, tightening and loosening half-lives in h)."""
    return dataclasses.replace(start, **dict(zip(NAMES, np.exp(x).tolist(), strict=True)))


def fit(
    start: DrugProfile = NALTREXONE, blockade_variability: float = BLOCKADE_VARIABILITY, log=print
) -> tuple[DrugProfile, OptimizeResult]:
    """Least squares over the log constants from ``start``; ``log`` gets one line per evaluation."""
    calls = [0]

    def residuals(x: np.ndarray) -> np.ndarray:
        r = naltrexone_residuals(candidate(x, start), blockade_variability)
        calls[0] += 1
        if log:
            values = " ".join(f"{n}={v:.4g}" for n, v in zip(NAMES, np.exp(x), strict=True))
            log(f"eval {calls[0]:3d}  {values}  objective={float(r @ r):.4f}")
        return r

    x0 = np.log([getattr(start, n) for n in NAMES])
    result = least_squares(residuals, x0, diff_step=1e-6, x_scale=1.0, xtol=1e-10, ftol=1e-10)
    return candidate(result.x, start), result


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

    return brentq(gap, 0.01, 0.6, xtol=1e-4)


def main() -> None:
    spread = BLOCKADE_VARIABILITY
    best = NALTREXONE
    for _ in range(5):
        best, result = fit(best, spread)
        print(
            f"\n{result.message} after {result.nfev} evaluations; objective (sum of squared weighted "
            f"residuals) {2 * result.cost:.4f}"
        )
        print(f"\nbetween-person spread, with pk_variability={PK_VARIABILITY} (McCaul et al. 2000):")
        new = fit_blockade_variability(best)
        print(f"blockade_variability={new:.4f} (the constants were fitted with {spread:.4f})")
        if abs(new - spread) < 1e-3:
            break
        spread = new
    print("\nfitted: " + " ".join(f"{n}={getattr(best, n):.3g}" for n in NAMES) + f" blockade_variability={new:.3g}")
    table = naltrexone_fit_table(best)
    with pd.option_context("display.width", 200, "display.max_colwidth", 40, "display.float_format", "{:.4g}".format):
        print(table.drop(columns=["source", "basis"]).to_string(index=False))
    shipped = naltrexone_fit_table(NALTREXONE)
    print(
        f"shipped constants (bondsim.drugs): objective {float((shipped['weighted'] ** 2).sum()):.4f}, "
        f"{int(shipped['within'].sum())} of {len(NALTREXONE_TARGETS)} targets within range"
    )
    assert all(math.isfinite(v) for v in naltrexone_measures(best, new))
    print("\nchecks, not targets (typical person | population of 1000):")
    checks = naltrexone_validation(best, new)
    for key in checks["typical"]:
        print(f"  {key}: {checks['typical'][key]:.4g} | {checks['population'][key]:.4g}")


if __name__ == "__main__":
    main()
