"""Calibrate opioid_rating_weight and the rating noise of the virtual Inagaki 2016 trial, on training targets only.

Training targets (docs/calibration.md), and nothing else is read:
- the between-person SD of lab ratings of messages from close others under placebo, 0.87 on the
  1-7 scale (Inagaki, Hazlett & Andreescu 2019), which fixes the total rating noise;
- the pooled effect of naltrexone on daily felt connection, Hedges' g = -0.20 (Løseth,
  Trøstheim & Leknes 2024), which fixes opioid_rating_weight, through the daily diary of the
  virtual Inagaki et al. 2016 trial (experiments/trials/inagaki2016.toml).
The split of the rating noise into a person's bias and occasion noise is set by an assumed
test-retest correlation of 0.7. The lab effect, positive affect and every other outcome are
validation: this script never computes them.

The split of the trial library (experiments/trials/) was chosen before any validation study was
run: the outcomes in TRAINING_TARGETS below are training, every other outcome is validation, and
the design files say the same (``[study] role`` and ``[[outcomes]] training``; tests/test_trials.py
checks that they agree). The virtual meta-analysis (bondsim experiment meta_analysis) labels each
study and outcome by it.

Method: a grid of weights, each run on the same virtual trials (common random numbers, seed
2016); the objective (g - target)^2 is logged per grid point; the weight is where the pooled g
crosses the target (linear interpolation between the grid points around it).

Run: python experiments/calibration/fit_rating_model.py [trials per value, default 200]
"""

import sys
from dataclasses import replace

import numpy as np

from bondsim.batch import seed_for
from bondsim.experiments.common import default_workers, parallel_map
from bondsim.params import Params
from bondsim.stats import pooled
from bondsim.trials.analysis import analyse, arm_periods
from bondsim.trials.design import load
from bondsim.trials.simulate import simulate

TRAINING_TARGETS = {"inagaki2016": ("daily_connection",)}  # library outcomes this fit reads; all others: validation
DESIGN = load("inagaki2016")

WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.4)
RETEST = 0.7
TARGET_SD, TARGET_G = 0.87, -0.20
TRAINING = TRAINING_TARGETS["inagaki2016"][0]


def noise(total: float) -> dict[str, float]:
    """A person's bias and occasion noise whose squares add up to ``total``^2, split by the retest correlation."""
    return {
        "rating_person_sd": float(np.sqrt(RETEST) * total),
        "rating_occasion_sd": float(np.sqrt(1 - RETEST) * total),
    }


def placebo_lab(record) -> np.ndarray:
    """The model's lab value (0-1) of each participant in the period they took placebo."""
    period = arm_periods(DESIGN, record.sequence, "placebo")
    lab = record.values["lab_connection"][:, 0, :]  # (periods, participants): one lab visit per period
    return lab[period, np.arange(period.size)]


def daily_g(records, seeds, noise_sd: dict[str, float]) -> float:
    """Pooled Hedges g of naltrexone on daily felt connection (the one training effect)."""
    design = replace(
        DESIGN, ratings=replace(DESIGN.ratings, **{k.removeprefix("rating_"): v for k, v in noise_sd.items()})
    )
    rows = [
        next(r for r in analyse(design, rec, s)[0] if r["measure"] == TRAINING)
        for rec, s in zip(records, seeds, strict=True)
    ]
    return pooled([r["hedges_g"] for r in rows], [r["variance"] for r in rows])["estimate"]


def main(n_trials: int) -> None:
    seeds = [seed_for(2016, r, bits=32) for r in range(n_trials)]
    rows = []
    for weight in WEIGHTS:
        params = Params().replace(engine="array", opioid_rating_weight=weight)
        records = parallel_map(simulate, [(DESIGN, params, s) for s in seeds], default_workers(), True, f"w {weight}")
        # total noise so that the placebo lab SD matches its target: SD^2 = model variance + noise^2
        model_var = np.mean([np.var(placebo_lab(r) * 6, ddof=1) for r in records])
        total = float(np.sqrt(max(TARGET_SD**2 - model_var, 0.01)))
        g = daily_g(records, seeds, noise(total))
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
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
