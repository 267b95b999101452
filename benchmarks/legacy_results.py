"""The default model's results before and after the mechanisms rewrite: equal within Monte Carlo error.

Runs the frozen 0.1.0 array engine (``benchmarks/legacy``) and today's model on the same parameter
sets, 40 seeds each, and prints per outcome the two means, their difference, the difference's
standard error and Welch's p-value, with a Holm correction over the table. The random numbers are
drawn in a different order now, so runs differ one by one; their distributions should not.
Isolation is left out on purpose: it now closes the ties in both directions, so the partners of an
isolated person miss them too (a change of the model, docs/model.md).

Usage: ``python benchmarks/legacy_results.py`` (about a minute).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from legacy.model import BondingModel as LegacyModel

from bondsim.model import BondingModel

SEEDS = range(40)
DAYS = 14
BASE = {"n_agents": 150, "engine": "array"}
NEW = {"warmup_days": 0.0}  # the frozen 0.1.0 model starts from the initial bonds: the new one too, here
CASES = {
    "no drug": {},
    "naltrexone 50 mg daily, half treated": {"drug": "naltrexone", "dose_mg": 50.0, "treated_fraction": 0.5},
    "morphine 10 mg daily": {"drug": "morphine", "dose_mg": 10.0},
    "loss of a partner, day 7": {"separation": "loss", "separation_fraction": 0.2},
}
OUTCOMES = (
    "mean_tone",
    "felt_connection",
    "distress",
    "mean_bond",
    "strong_bonds",
    "seeking_rate",
    "reward_per_contact",
)


def outcomes(model_class, case: dict, seed: int) -> dict[str, float]:
    frame = model_class(seed=seed, create_agents=False, **BASE, **case).run(24 * DAYS)
    late = frame.iloc[-24:]  # the last day
    return {k: float(np.nanmean(late[k])) for k in OUTCOMES}


def compare() -> list[dict]:
    """One row per (case, outcome): means before and after, difference, its SE and Welch's p."""
    rows = []
    for name, case in CASES.items():
        old = [outcomes(LegacyModel, case, s) for s in SEEDS]
        new = [outcomes(BondingModel, {**case, **NEW}, 1000 + s) for s in SEEDS]
        for k in OUTCOMES:
            a, b = np.array([r[k] for r in old]), np.array([r[k] for r in new])
            se = float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))
            p = float(stats.ttest_ind(a, b, equal_var=False).pvalue) if se > 0 else 1.0
            rows.append({"case": name, "outcome": k, "before": a.mean(), "after": b.mean(), "se": se, "p": p})
    ranked = sorted(range(len(rows)), key=lambda i: rows[i]["p"])
    for rank, i in enumerate(ranked):  # Holm: adjusted p-values, monotone
        rows[i]["p_holm"] = min(1.0, max(rows[j]["p"] * (len(rows) - r) for r, j in enumerate(ranked[: rank + 1])))
    return rows


if __name__ == "__main__":
    rows = compare()
    print(f"{'case':38s} {'outcome':20s} {'0.1.0':>9s} {'now':>9s} {'diff':>9s} {'SE':>8s} {'Holm p':>7s}")
    for r in rows:
        print(
            f"{r['case']:38s} {r['outcome']:20s} {r['before']:9.4f} {r['after']:9.4f} "
            f"{r['after'] - r['before']:9.4f} {r['se']:8.4f} {r['p_holm']:7.3f}"
        )
    worst = min(r["p_holm"] for r in rows)
    print(f"smallest Holm-adjusted p over {len(rows)} comparisons: {worst:.3f} (within Monte Carlo error if > 0.01)")
