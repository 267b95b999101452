"""The array engine's own invariants: the bond summaries it keeps up to date, its helpers, its events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bondsim.kernel import power, row_edges, row_max, row_sums
from bondsim.model import BondingModel
from bondsim.rules import STRONG_BOND

SMALL = {"n_agents": 300, "mean_degree": 6, "engine": "array"}


def assert_summaries_match_bonds(model: BondingModel) -> None:
    """Per-person sums, sums of squares, largest bond and strong-bond counts equal a fresh recount."""
    engine, indptr = model.engine, model.network.indptr
    bond = engine.bond
    np.testing.assert_allclose(engine.bond_sum, row_sums(bond, indptr), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(engine.bond_square_sum, row_sums(bond * bond, indptr), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(engine.bond_max, row_max(bond, indptr))
    np.testing.assert_array_equal(engine.strong_count, row_sums((bond >= STRONG_BOND).astype(float), indptr))


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"initial_bond": 0.5, "bond_half_life_days": 2.0},  # many bonds cross the strong threshold both ways
        {"separation": "loss", "separation_day": 1.0, "separation_fraction": 0.2},
        {"separation": "isolation", "separation_day": 1.0, "separation_fraction": 0.2, "isolation_days": 1.0},
    ],
)
def test_kept_bond_summaries_equal_a_recount(extra):
    model = BondingModel(seed=21, create_agents=False, **SMALL, **extra)
    assert_summaries_match_bonds(model)
    strong = []
    for _ in range(4):
        model.run(18)
        assert_summaries_match_bonds(model)
        strong.append(model.engine.strong_count.sum())
    assert max(strong) > 0


def test_set_bond_and_refresh_keep_summaries_in_step():
    model = BondingModel(seed=2, **SMALL)
    model.run(10)
    view = next(iter(model.agents))
    for partner in model.network.neighbours(view.index)[:2]:
        view.set_bond(int(partner), 0.9)
    assert_summaries_match_bonds(model)
    model.engine.bond[:] = 0.6  # a direct write, then refresh
    model.engine.refresh()
    assert_summaries_match_bonds(model)
    model.run(5)
    assert_summaries_match_bonds(model)


def test_mesa_agents_do_not_change_the_dynamics():
    with_agents = BondingModel(seed=8, create_agents=True, **SMALL, drug="naltrexone", dose_mg=50.0).run(24)
    without = BondingModel(seed=8, create_agents=False, **SMALL, drug="naltrexone", dose_mg=50.0)
    assert len(without.agents) == 0
    pd.testing.assert_frame_equal(with_agents, without.run(24), check_exact=True)


def test_lost_partners_are_never_met_again():
    model = BondingModel(seed=5, create_agents=False, **SMALL)
    model.run(5)
    engine = model.engine
    person = 0
    partner = model.separate(person)
    e = model.network.edge(person, partner)
    before = engine.bond[[e, model.network.reverse[e]]].copy()
    model.run(48)
    keep = model.rules.bond_keep**48
    np.testing.assert_allclose(engine.bond[[e, model.network.reverse[e]]], before * keep, rtol=1e-12)


def test_isolated_people_meet_no_one_until_the_isolation_ends():
    model = BondingModel(seed=6, create_agents=False, **SMALL, base_contact_rate=1.0)
    engine, net = model.engine, model.network
    who = np.arange(30)
    model.isolate(who, hours=24)
    lo, hi = net.indptr[0], net.indptr[30]
    before = engine.bond[lo:hi].copy()
    model.run(20)
    np.testing.assert_allclose(engine.bond[lo:hi], before * model.rules.bond_keep**20, rtol=1e-12)
    assert np.all(model.state()["tone"][who] < engine.set_point[who])  # grieving the absent partners
    model.run(16)
    assert np.any(engine.bond[lo:hi] > before * model.rules.bond_keep**36 * (1 + 1e-9))  # contact resumes


def test_row_helpers():
    indptr = np.array([0, 2, 2, 5])  # the middle row is empty
    values = np.array([1.0, 2.0, 0.5, 4.0, 3.0])
    np.testing.assert_array_equal(row_sums(values, indptr), [3.0, 0.0, 7.5])
    np.testing.assert_array_equal(row_max(values, indptr), [2.0, 0.0, 4.0])
    edges, start = row_edges(indptr, np.array([2, 1, 0]))
    assert edges.tolist() == [2, 3, 4, 0, 1] and start.tolist() == [0, 3, 3, 5]


@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0, 2.0, 3.0, 2.5, 8.0])
def test_power_equals_numpy_power(exponent):
    x = np.random.default_rng(0).random(1000)
    np.testing.assert_allclose(power(x, exponent), x**exponent, rtol=1e-13)


def test_network_above_networkx_limit_runs():
    model = BondingModel(seed=1, engine="array", create_agents=False, n_agents=25_000)
    frame = model.run(3)
    assert model.network.n == 25_000 and len(frame) == 4
    assert np.isfinite(frame.drop(columns=["acceptance_rate", "reward_per_contact"]).to_numpy()).all()
    assert 0.05 < frame["seeking_rate"].iloc[-1] < 0.3
