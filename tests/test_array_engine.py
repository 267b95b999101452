"""The array engine's own concerns: bond summaries, ties that close and reopen, large networks, the compiled kernel."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bondsim.codegen import array_kernel, array_source
from bondsim.mechanisms.bonds import STRONG_BOND, TIE_BOND
from bondsim.mechanisms.partner_choice import power
from bondsim.model import BondingModel

SMALL = {"engine": "array", "n_agents": 120, "mean_degree": 6}


def row_sums(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    return np.add.reduceat(np.append(values, 0.0), indptr[:-1]) * (np.diff(indptr) > 0)


@pytest.mark.parametrize("engine", ["agents", "array"])
def test_bond_summaries_equal_a_recount(engine):
    model = BondingModel(seed=2, engine=engine, n_agents=120, mean_degree=6, drug="naltrexone", dose_mg=50.0)
    for _ in range(4):
        model.run(12)
        s, bond, indptr = model.state(), model.edge_bonds(), model.network.indptr
        np.testing.assert_allclose(s["bond_sum"], row_sums(bond, indptr), rtol=1e-10, atol=1e-12)
        close = np.minimum(row_sums(bond * bond, indptr) / model.params.bond_capacity, 1.0)
        np.testing.assert_allclose(s["close_ties"], close, rtol=1e-10)
        np.testing.assert_allclose(s["strongest_bond"], np.maximum.reduceat(bond, indptr[:-1]), rtol=1e-12)
        np.testing.assert_array_equal(s["strong_bonds"], row_sums((bond >= STRONG_BOND).astype(float), indptr))
        has_tie = np.maximum.reduceat(bond, indptr[:-1]) >= TIE_BOND
        np.testing.assert_array_equal(s["has_tie"], has_tie)


THREADED_RUN = """
import sys
import numpy as np
from bondsim.model import BondingModel

model = BondingModel(threads=int(sys.argv[2]), **{KWARGS})
model.run(72).to_parquet(sys.argv[1] + ".parquet")
np.savez(sys.argv[1] + ".npz", edge_bonds=model.edge_bonds(), **model.state())
"""


@pytest.mark.slow
def test_threads_give_the_very_same_run(tmp_path):
    """Decide, choose and update on two threads (each person writes only their own state): the same bits.

    The threaded run is made in a process of its own: a process that has used OpenMP threads
    starts its workers without forking, which would slow every later test here that starts workers.
    """
    kwargs = dict(seed=5, engine="array", n_agents=3000, drug="naltrexone", dose_mg=50.0, separation="loss",
                  separation_day=1.0)  # fmt: skip
    script = tmp_path / "threaded.py"
    script.write_text(THREADED_RUN.replace("{KWARGS}", repr(kwargs)))
    runs = []
    for threads in (1, 2):
        out = str(tmp_path / f"threads{threads}")
        done = subprocess.run([sys.executable, str(script), out, str(threads)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        runs.append((pd.read_parquet(out + ".parquet"), np.load(out + ".npz")))
    assert "numba.prange" in array_source(BondingModel(**kwargs).spec, parallel=True)
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0], check_exact=True)
    assert sorted(runs[0][1].files) == sorted(runs[1][1].files)
    for name in runs[0][1].files:
        np.testing.assert_array_equal(runs[0][1][name], runs[1][1][name], err_msg=name)


def test_the_kernels_inputs_cannot_be_swapped_behind_their_back():
    """The kernels are given the arrays and constants once: replacing one is refused, not silently ignored."""
    model = BondingModel(seed=1, **SMALL)
    with pytest.raises(TypeError):
        model.constants["contact_release"] = 0.05
    with pytest.raises(TypeError):
        model.engine.constants["contact_release"] = 0.05
    with pytest.raises(TypeError):
        model.engine.arrays["tone"] = np.zeros(model.n)
    model.engine.put("tone", [0], 2.0)  # changing values is how events and experiments act
    assert model.state()["tone"][0] == 2.0


def test_a_replaced_reporter_is_used():
    model = BondingModel(seed=1, **SMALL)
    model.datacollector.model_reporters["distress"] = lambda m: -1.0
    assert model.run(2)["distress"].tolist()[1:] == [-1.0, -1.0]


def test_mesa_agents_do_not_change_the_dynamics():
    with_agents = BondingModel(seed=8, create_agents=True, **SMALL, drug="naltrexone", dose_mg=50.0).run(24)
    without = BondingModel(seed=8, create_agents=False, **SMALL, drug="naltrexone", dose_mg=50.0)
    assert len(without.agents) == 0
    pd.testing.assert_frame_equal(with_agents, without.run(24), check_exact=True)


@pytest.mark.parametrize("engine", ["agents", "array"])
def test_lost_partners_are_never_met_again(engine):
    model = BondingModel(seed=5, **{**SMALL, "engine": engine})
    model.run(5)
    person = 0
    partner = model.separate(person)
    e = model.network.edge(person, partner)
    pair = [e, model.network.reverse[e]]
    before = model.edge_bonds()[pair]
    model.run(48)
    keep = model.constants["bond_keep"] ** 48
    np.testing.assert_allclose(model.edge_bonds()[pair], before * keep, rtol=1e-12)
    assert partner not in model.bonds_of(person) and not model.open_edges()[pair].any()


@pytest.mark.parametrize("engine", ["agents", "array"])
def test_isolated_people_meet_no_one_until_the_isolation_ends(engine):
    model = BondingModel(seed=6, **{**SMALL, "engine": engine}, appetitive_seeking=1.0)
    net = model.network
    who = np.arange(30)
    model.isolate(who, hours=24)
    lo, hi = net.indptr[0], net.indptr[30]
    before = model.edge_bonds()[lo:hi]
    model.run(20)
    keep = model.constants["bond_keep"]
    np.testing.assert_allclose(model.edge_bonds()[lo:hi], before * keep**20, rtol=1e-12)
    s = model.state()
    assert np.all(s["tone"][who] < s["tone_set_point"][who])  # grieving the absent partners
    assert not model.open_edges()[lo:hi].any()
    model.run(16)
    assert model.open_edges()[lo:hi].all()
    assert np.any(model.edge_bonds()[lo:hi] > before * keep**36 * (1 + 1e-9))  # contact resumes


@pytest.mark.parametrize("exponent", [0.0, 0.5, 1.0, 2.0, 3.0, 2.5, 8.0])
def test_power_equals_numpy_power(exponent):
    x = np.random.default_rng(0).random(50)
    np.testing.assert_allclose([power(v, exponent) for v in x], x**exponent, rtol=1e-13)


def test_kernel_is_generated_from_the_rules_and_cached_on_disk():
    model = BondingModel(seed=1, **SMALL)
    source = array_source(model.spec)
    for m in model.spec.mechanisms:
        for r in m.rules:
            assert f"import {r.name} as" in source  # every rule is called, none is transcribed
    module, _ = array_kernel(model.spec)
    assert module.__file__.endswith(".py") and "kernel_" in module.__file__
    assert module.update_and_observe._cache.cache_path  # numba's on-disk cache is on


def test_network_above_networkx_limit_runs():
    model = BondingModel(seed=1, engine="array", create_agents=False, n_agents=25_000)
    frame = model.run(3)
    assert model.network.n == 25_000 and len(frame) == 4
    assert np.isfinite(frame.drop(columns=["acceptance_rate", "reward_per_contact"]).to_numpy()).all()
    assert 2.0 < frame["seeking_rate"].iloc[-1] < 12.0  # attempts per person per day
