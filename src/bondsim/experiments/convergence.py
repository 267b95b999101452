"""Step-size convergence: the virtual outcomes must not depend on ``step_hours`` (beyond Monte Carlo error).

Five outcomes, each from paired runs (same seed) of a small community:

- ``felt_connection_gap``: naltrexone 50 mg - placebo in felt connection of the treated, mean over 4 days of dosing;
- ``bond_gap``: placebo - naltrexone in the treated people's sum of bonds after 3 weeks of daily dosing;
- ``loss_distress``: distress of the people who lost their strongest partner, mean over the first day after;
- ``first_day_distress_gap`` and ``first_day_seeking_gap``: naltrexone - placebo in the treated people's
  distress and contact seeking (attempts/day) over the first day of dosing, the fast outcomes.

``python -m bondsim.experiments.convergence`` prints the table shown in docs/model.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model import BondingModel
from ..params import Params
from .chronic import mean_ci
from .common import run_until

STEPS = (0.25, 0.5, 1.0, 2.0)
SIZES: dict[str, Any] = {"community": 60, "treated": 20, "warmup_days": 7, "dosing_days": 4, "bond_days": 21}


def dosed(step_hours: float, drug: str, seed: int, days: int, sizes: dict[str, Any]) -> tuple[float, ...]:
    """The treated people's felt connection, bonds, and first-day distress and seeking under daily 50 mg.

    Returns the mean felt connection over ``days`` of dosing, the mean sum of bonds at the end, and
    the mean distress and contact seeking (attempts/day) over the first day of dosing.
    """
    s = sizes
    p = Params().replace(
        engine="array", step_hours=step_hours, n_agents=s["community"], drug=drug, dose_mg=0.0, warmup_days=0.0
    )
    model = BondingModel(p.replace(treated_fraction=s["treated"] / s["community"]), seed=seed, create_agents=False)
    who = model.treated_index
    start = 24.0 * s["warmup_days"]
    model.schedule_doses([(start + 24.0 * k + 8.0, 50.0) for k in range(days)])
    run_until(model, start)
    felt, distress, seeking = [], [], []
    while model.hours < start + 24.0 * days - 1e-9:
        model.step()
        felt.append(model.engine.view("felt_connection")[who].mean())
        if model.hours <= start + 24.0 + 1e-9:
            distress.append(model.engine.view("distress")[who].mean())
            seeking.append(model.engine.view("seeking_rate")[who].mean())
    bonds = float(model.engine.view("bond_sum")[who].mean())
    return float(np.mean(felt)), bonds, float(np.mean(distress)), float(np.mean(seeking))


def loss_distress(step_hours: float, seed: int, sizes: dict[str, Any]) -> float:
    """Mean distress over the first day after a third of the people lose their strongest partner."""
    p = Params().replace(engine="array", step_hours=step_hours, n_agents=sizes["community"], warmup_days=0.0)
    model = BondingModel(p, seed=seed, create_agents=False)
    run_until(model, 24.0 * sizes["warmup_days"])
    lost = np.arange(0, model.n, 3)
    for i in lost:
        model.separate(int(i))
    start, values = model.hours, []
    while model.hours < start + 24.0 - 1e-9:
        model.step()
        values.append(model.engine.view("distress")[lost].mean())
    return float(np.mean(values))


def outcomes(step_hours: float, seeds, sizes: dict[str, Any] = SIZES) -> dict[str, dict[str, float]]:
    """Every outcome at one step length: mean and 95% CI over the seeds."""
    felt, bonds, loss, distress, seeking = [], [], [], [], []
    for seed in seeds:
        f_n, _, d_n, s_n = dosed(step_hours, "naltrexone", seed, sizes["dosing_days"], sizes)
        f_p, _, d_p, s_p = dosed(step_hours, "placebo", seed, sizes["dosing_days"], sizes)
        felt.append(f_n - f_p)
        distress.append(d_n - d_p)
        seeking.append(s_n - s_p)
        if sizes.get("bond_days"):
            _, b_n, _, _ = dosed(step_hours, "naltrexone", seed, sizes["bond_days"], sizes)
            _, b_p, _, _ = dosed(step_hours, "placebo", seed, sizes["bond_days"], sizes)
            bonds.append(b_p - b_n)
        loss.append(loss_distress(step_hours, seed, sizes))
    out = {
        "felt_connection_gap": mean_ci(felt),
        "first_day_distress_gap": mean_ci(distress),
        "first_day_seeking_gap": mean_ci(seeking),
        "loss_distress": mean_ci(loss),
    }
    if bonds:
        out["bond_gap"] = mean_ci(bonds)
    return out


def table(replicates: int = 8) -> str:
    """The convergence table (markdown) at every step length of ``STEPS``."""
    seeds = range(100, 100 + replicates)
    rows = {h: outcomes(h, seeds) for h in STEPS}
    names = list(rows[STEPS[0]])
    lines = ["| step_hours | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for h, r in rows.items():
        cells = [f"{r[k]['mean']:+.4f} ({r[k]['ci_low']:+.4f} .. {r[k]['ci_high']:+.4f})" for k in names]
        lines.append(f"| {h:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
