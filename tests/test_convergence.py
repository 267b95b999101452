"""Step-size convergence (issue "Model 2", item 1): the virtual outcomes agree at step_hours 0.25-2."""

import math

import pytest

from bondsim.experiments.convergence import STEPS, outcomes
from bondsim.stats import Z95

# each step length runs the experiment for five seeds, once for the whole file (in one process under make test)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("convergence")]

SIZES = {"community": 40, "treated": 14, "warmup_days": 5, "dosing_days": 4, "bond_days": 14}
SEEDS = range(200, 205)


@pytest.fixture(scope="module")
def by_step():
    return {h: outcomes(h, SEEDS, SIZES) for h in STEPS}


def se(r):
    return (r["ci_high"] - r["mean"]) / Z95


@pytest.mark.parametrize("name", ["felt_connection_gap", "bond_gap", "loss_distress"])
def test_outcomes_agree_across_step_sizes(by_step, name):
    """Each step length agrees with the finest (0.25 h) within 4 combined standard errors of the seeds."""
    ref = by_step[STEPS[0]][name]
    assert ref["ci_low"] * ref["ci_high"] > 0, f"{name} is not resolved from zero: {ref}"
    for h in STEPS[1:]:
        r = by_step[h][name]
        tolerance = 4.0 * math.hypot(se(r), se(ref))
        assert abs(r["mean"] - ref["mean"]) <= tolerance, (name, h, r["mean"], ref["mean"], tolerance)


@pytest.mark.parametrize("name", ["first_day_distress_gap", "first_day_seeking_gap"])
def test_fast_outcomes_agree_within_ten_percent(by_step, name):
    """The first day of a blockade is resolved less well by long steps: within 10% of 0.25 h up to 2 h."""
    ref = by_step[STEPS[0]][name]["mean"]
    for h in STEPS[1:]:
        assert by_step[h][name]["mean"] == pytest.approx(ref, rel=0.10), (name, h)
