"""Well-posed everywhere: the whole parameter box, both engines.

Every non-setting numeric parameter is drawn from its declared low..high, with a drug, a dose and a
separation event; a small model runs a few steps. Nothing may crash or turn NaN/inf, tone stays
within [0, tone_ceiling x the person's set point], every 0-1 quantity within [0, 1], a drug
occupying receptors never raises the reward of a contact (receptor.py: occupancy only lowers it),
and the numbers stay plausible: a contact is worth at most MOST_REWARD times a closest partner's at
rest, and nobody seeks more than MOST_ATTEMPTS contacts a day (model.md, the parameter ranges).
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bondsim.mechanisms.receptor import contact_reward
from bondsim.model import BondingModel
from bondsim.params import FIELDS, Params

N = 12
STEPS = 24
SKIP = {"n_agents", "mean_degree", "step_hours"}  # drawn separately (they size the run)
BOX = {
    name: p
    for name, p in FIELDS.items()
    if p.status != "setting" and p.choices is None and p.low is not None and name not in SKIP
}
MOST_REWARD = 5.0  # a contact when tone is exhausted, against a closest partner's at rest
MOST_ATTEMPTS = 150.0  # contact attempts per day (both drives at their largest)
UNIT_INTERVAL = ("distress", "occupancy", "felt_connection", "positive_affect", "close_ties", "strongest_bond")


def value(p):
    if p.integer:
        return st.integers(int(p.low), int(p.high))
    return st.floats(p.low, p.high, allow_nan=False, allow_infinity=False)


parameters = st.fixed_dictionaries(
    {
        **{name: value(p) for name, p in BOX.items()},
        "mean_degree": st.integers(2, 8),
        "step_hours": st.sampled_from([0.05, 0.5, 1.0, 4.0, 24.0]),
        "drug": st.sampled_from(["naltrexone", "naloxone", "morphine", "buprenorphine", "placebo"]),
        "dose_mg": st.floats(0.0, 1000.0),
        "separation": st.sampled_from(["none", "loss", "isolation"]),
        "separation_day": st.floats(0.0, 0.5),
    }
)


def check(model, where):
    s = model.state()
    for name, x in s.items():
        if np.issubdtype(x.dtype, np.floating):
            assert np.isfinite(x).all(), (where, name)
    ceiling = model.params.tone_ceiling * s["tone_set_point"]
    assert (s["tone"] >= 0).all() and (s["tone"] <= ceiling * (1 + 1e-9)).all(), where
    for name in UNIT_INTERVAL:
        assert ((s[name] >= 0) & (s[name] <= 1 + 1e-9)).all(), (where, name, s[name].min(), s[name].max())
    bonds = model.edge_bonds()
    assert ((bonds >= 0) & (bonds <= 1 + 1e-9)).all(), where


@pytest.mark.parametrize("engine", ["array", pytest.param("agents", marks=pytest.mark.slow)])
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(values=parameters, occupancy=st.floats(0.01, 1.0))
def test_whole_parameter_box_is_well_posed(engine, values, occupancy):
    params = Params().replace(engine=engine, n_agents=N, **values)
    model = BondingModel(params, seed=1, create_agents=engine == "agents")
    check(model, "start")
    for k in range(STEPS):
        model.step()
        check(model, f"step {k}")
    free = model.evaluate(contact_reward, bond=1.0, occupancy=0.0)
    blocked = model.evaluate(contact_reward, bond=1.0, occupancy=occupancy)
    assert np.isfinite(free).all() and (free >= 0).all()
    assert (blocked <= free + 1e-12).all()
    assert free.max() <= MOST_REWARD, free.max()
    assert model.state()["seeking_rate"].max() <= MOST_ATTEMPTS
