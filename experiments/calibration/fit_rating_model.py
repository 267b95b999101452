"""Calibrate opioid_rating_weight and the rating noise of the virtual Inagaki 2016 trial, on training targets only.

Training targets (docs/calibration.md), and nothing else is read:
- the between-person SD of lab ratings of messages from close others under placebo, 0.87 on the
  1-7 scale (Inagaki, Hazlett & Andreescu 2019), which fixes the total rating noise;
- the pooled effect of naltrexone on daily felt connection, Hedges' g = -0.20 (Løseth,
  Trøstheim & Leknes 2024), which fixes opioid_rating_weight.
The split of the rating noise into a person's bias and occasion noise is set by an assumed
test-retest correlation of 0.7. The lab effect, positive affect and every other outcome are
validation: this script never computes them.

Method: a grid of weights, each run on the same virtual trials (common random numbers, seed
2016); the objective (g - target)^2 is logged per grid point; the weight is where the pooled g
crosses the target (linear interpolation between the grid points around it).

Run: python experiments/calibration/fit_rating_model.py [trials per value, default 40]
"""

import sys

import numpy as np

from bondsim.experiments.common import default_workers, parallel_map
from bondsim.experiments.inagaki2016 import DESIGN, PARAMS, analyse_trial, ratings, run_trial
from bondsim.params import Params, with_overrides
from bondsim.stats import pooled

WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.4)
RETEST = 0.7
TARGET_SD, TARGET_G = 0.87, -0.20
TRAINING = "daily_connection"


def noise(total: float) -> dict[str, float]:
    """A person's bias and occasion noise whose squares add up to ``total``^2, split by the retest correlation."""
    return {
        "rating_person_sd": float(np.sqrt(RETEST) * total),
        "rating_occasion_sd": float(np.sqrt(1 - RETEST) * total),
    }


def placebo_lab(trial) -> np.ndarray:
    """The model's lab values of each participant under placebo (period 1 for the placebo-first, else period 2)."""
    first = trial["naltrexone_first"]
    lab = [trial["raw"][period, "lab_connection"][0] for period in (0, 1)]
    return np.where(first, lab[1], lab[0])


def daily_g(trials, seeds, design) -> float:
    """Pooled Hedges g of naltrexone on daily felt connection (the one training effect)."""
    effects = []
    for trial, seed in zip(trials, seeds, strict=True):
        effects.append(analyse_trial(ratings(trial, design, seed), trial["naltrexone_first"])[TRAINING])
    return pooled([e.hedges_g for e in effects], [e.variance for e in effects])["estimate"]


def main(n_trials: int) -> None:
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(2016).spawn(n_trials)]
    rows = []
    for weight in WEIGHTS:
        params = with_overrides(Params(), {**PARAMS, "opioid_rating_weight": weight})
        trials = parallel_map(run_trial, [(params, DESIGN, s) for s in seeds], default_workers(), True, f"w {weight}")
        # total noise so that the placebo lab SD matches its target: SD^2 = model variance + noise^2
        model_var = np.mean([np.var(placebo_lab(t) * 6, ddof=1) for t in trials])
        total = float(np.sqrt(max(TARGET_SD**2 - model_var, 0.01)))
        g = daily_g(trials, seeds, {**DESIGN, **noise(total)})
        rows.append((weight, total, g))
        print(f"opioid_rating_weight {weight:.2f}: rating noise SD {total:.3f}, daily g {g:.3f}, "
              f"objective (g - {TARGET_G})^2 = {(g - TARGET_G) ** 2:.5f}")  # fmt: skip
    weights = np.array([r[0] for r in rows])
    gs = np.array([r[2] for r in rows])
    best = float(np.interp(TARGET_G, gs[::-1], weights[::-1]))  # g falls as the weight rises
    total = float(np.interp(best, weights, [r[1] for r in rows]))
    print(f"fit: opioid_rating_weight = {best:.3f}; total rating noise {total:.3f} -> {noise(total)}")
    print("validation (not used here): run `bondsim experiment inagaki2016` and read the lab and affect effects")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
