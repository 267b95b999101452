"""Fit naloxone's receptor affinity to human PET and dual-detector occupancy after intravenous doses.

Fitted (in log units): K_d of the typical person, for one-step binding. Held: the plasma half-life
at 1.1 h, the peak plasma level of 0.4 mg at 2 ng/mL (about 200 L; K_d is relative to this
assumed scale, since occupancy depends on their ratio only), a near-instant depot (an intravenous
bolus: absorption half-life 36 s) and the plasma-to-brain and dissociation half-lives at 6 min
(assumptions: the data cannot tell these fast rates from instant ones; a free fit drives the
dissociation half-life towards zero).

Targets (bondsim.calibration.occupancy.NALOXONE_TARGETS, docs/pharmacology.md), as tabulated by
Trøstheim et al. 2022 (Table 1), measured 45-65 min after the dose, mg/kg for a 70 kg person:
- Mayberg & Frost 1990: 0.001 mg/kg 19%, 0.01 65%, 0.1 97%, 1.0 98%;
- Kim et al. 1997: 0.002 mg/kg 43%, 0.03 81%;
- Villemagne et al. 1994: 0.0005 mg/kg 20%, 0.001 40%, 0.005 75%, 0.01 100%;
each against the model's mean over 45-65 min, sigma 0.20 (the spread between two studies at the
same dose); and Kim et al. 1997's receptor clearance half-time after 2 mg, 2.0 ± 1.6 h, against the
model's time from the peak to half of it.

The data do not ask for a second binding step: the blockade is, if anything, shorter than one step
with a 1.1 h plasma half-life gives. Run: python experiments/calibration/fit_naloxone_pk.py (a few
seconds). The fitted K_d goes into bondsim.drugs.NALOXONE by hand, rounded to three significant
digits; tests/test_pharmacology.py checks that a fresh fit still lands on it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeResult, least_squares

from bondsim.calibration.occupancy import naloxone_fit_table, naloxone_residuals
from bondsim.drugs import NALOXONE, DrugProfile

NAMES = ("kd_ng_ml",)


def candidate(x: np.ndarray, start: DrugProfile = NALOXONE) -> DrugProfile:
    """``start`` with the constants exp(x) (K_d in ng/mL)."""
    return dataclasses.replace(start, **dict(zip(NAMES, np.exp(x).tolist(), strict=True)))


def fit(start: DrugProfile = NALOXONE, log=print) -> tuple[DrugProfile, OptimizeResult]:
    """Least squares over the log constants from ``start``; ``log`` gets one line per evaluation."""
    calls = [0]

    def residuals(x: np.ndarray) -> np.ndarray:
        r = naloxone_residuals(candidate(x, start))
        calls[0] += 1
        if log:
            values = " ".join(f"{n}={v:.4g}" for n, v in zip(NAMES, np.exp(x), strict=True))
            log(f"eval {calls[0]:3d}  {values}  objective={float(r @ r):.4f}")
        return r

    x0 = np.log([getattr(start, n) for n in NAMES])
    result = least_squares(residuals, x0, diff_step=1e-6, xtol=1e-10, ftol=1e-10)
    return candidate(result.x, start), result


def main() -> None:
    best, result = fit()
    print(
        f"\n{result.message} after {result.nfev} evaluations; objective (sum of squared weighted residuals) "
        f"{2 * result.cost:.4f}"
    )
    print("fitted: " + " ".join(f"{n}={getattr(best, n):.3g}" for n in NAMES))
    table = naloxone_fit_table(best)
    with pd.option_context("display.width", 200, "display.max_colwidth", 45, "display.float_format", "{:.4g}".format):
        print(table.drop(columns=["basis", "range"]).to_string(index=False))


if __name__ == "__main__":
    main()
