"""Calibrate opioid_share and the rating noise of the virtual Inagaki 2016 trial; fit on the diary, check the lab.

Targets (docs/calibration.md):
- between-person SD of lab ratings of messages from close others, 0.87 on the 1-7 scale
  (Inagaki, Hazlett & Andreescu 2019), which fixes the total rating noise;
- the daily connection effect of naltrexone, Hedges' g = -0.20 (Løseth, Trøstheim & Leknes 2024),
  which fixes opioid_share.
The split of the rating noise into a person's bias and occasion noise is set by an assumed
test-retest correlation of 0.7. The lab measure's effect is not used: it is the check.

Run: python experiments/calibration/fit_rating_model.py [trials per value, default 40]
"""

import sys

import numpy as np

from bondsim.experiments.common import default_workers, parallel_map
from bondsim.experiments.inagaki2016 import DESIGN, PARAMS, analyse_trial, ratings, run_trial
from bondsim.params import Params, with_overrides
from bondsim.stats import pooled

SHARES = (0.01, 0.02, 0.03, 0.04)
RETEST = 0.7
TARGET_SD, TARGET_G = 0.87, -0.20


def noise(total):
    return {
        "rating_person_sd": float(np.sqrt(RETEST) * total),
        "rating_occasion_sd": float(np.sqrt(1 - RETEST) * total),
    }


def evaluate(trials, seeds, design):
    vals = [ratings(t, design, s) for t, s in zip(trials, seeds, strict=True)]
    out = {}
    for m in ("lab_connection", "daily_connection", "positive_affect"):
        effects = [analyse_trial(v, t["naltrexone_first"])[m] for v, t in zip(vals, trials, strict=True)]
        out[m] = pooled([e.hedges_g for e in effects], [e.variance for e in effects])["estimate"]
    out["lab_sd"] = float(np.mean([v["lab_connection", "placebo"].std(ddof=1) for v in vals]))
    return out


def main(n_trials):
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(2016).spawn(n_trials)]
    rows = []
    for share in SHARES:
        params = with_overrides(Params(), {**PARAMS, "opioid_share": share})
        trials = parallel_map(
            run_trial, [(params, DESIGN, s) for s in seeds], default_workers(), True, f"share {share}"
        )
        # total noise so that the placebo lab SD matches the target: SD^2 = model variance + noise^2
        model_var = np.mean([np.var(t["raw"][p, "lab_connection"][0] * 6, ddof=1) for t in trials for p in (0, 1)])
        total = float(np.sqrt(max(TARGET_SD**2 - model_var, 0.01)))
        res = evaluate(trials, seeds, {**DESIGN, **noise(total)})
        rows.append((share, total, res))
        print(
            f"opioid_share {share:.2f}: noise SD {total:.3f}, lab SD {res['lab_sd']:.2f}, "
            f"lab g {res['lab_connection']:.3f}, daily g {res['daily_connection']:.3f}, "
            f"affect g {res['positive_affect']:.3f}"
        )
    shares = np.array([r[0] for r in rows])
    daily_g = np.array([r[2]["daily_connection"] for r in rows])
    best = float(np.interp(TARGET_G, daily_g[::-1], shares[::-1]))  # g falls as the share rises
    totals = np.array([r[1] for r in rows])
    print(
        f"fit: opioid_share = {best:.3f}; total rating noise {np.interp(best, shares, totals):.3f} "
        f"-> {noise(float(np.interp(best, shares, totals)))}"
    )
    print("check: run `bondsim experiment inagaki2016` with the fitted values and read lab_connection")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
