"""The array engine against the agents engine (the oracle): the same rules, the same numbers.

Both engines execute the same rule functions and are handed the same random draws, so with the
same seed they must give the same run, step by step, for every mechanism and drug. A statistical
comparison (Welch and Kolmogorov-Smirnov tests over 30 seeds, Holm-corrected at a family-wise 1%)
is kept as a second line, for differences that exact comparison of a few runs could miss. Tests
of the tests change one rule in one engine and show that both checks then fail.
"""

from __future__ import annotations

from functools import cache

import mesa
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bondsim.kernel import PersonView
from bondsim.model import BondingModel

SEEDS = range(1000, 1030)  # 30 seeds per engine; each engine gets the same seeds
STEPS = 48  # 2 days of 1 h steps
BASE = {"n_agents": 40, "mean_degree": 6, "step_hours": 1.0}
CASES = {
    "placebo": {"drug": "placebo", "treated_fraction": 0.5},
    "naltrexone": {"drug": "naltrexone", "dose_mg": 50.0, "schedule": "daily"},
    "morphine": {"drug": "morphine", "dose_mg": 10.0, "schedule": "daily"},
    "buprenorphine": {"drug": "buprenorphine", "dose_mg": 16.0, "schedule": "daily", "treated_fraction": 0.5},
    "high_rejection": {"rejection_rate": 0.6},
    "isolation": {"separation": "isolation", "separation_day": 0.5, "separation_fraction": 0.3, "isolation_days": 1.0},
    "loss": {"separation": "loss", "separation_day": 0.5, "separation_fraction": 0.3},
}
OUTCOMES = ("mean_tone", "felt_connection", "distress", "mean_bond", "seeking_rate", "reward_per_contact")
FAMILY_ALPHA = 0.01


def altered(model: BondingModel) -> BondingModel:
    """The deliberate error of the tests of the tests: half the opioid release per contact, in this engine only."""
    model.engine.constants = {**model.engine.constants, "contact_release": 0.5 * model.constants["contact_release"]}
    if model.params.engine == "agents":
        model.engine.namespace["C_contact_release"] *= 0.5
    return model


def run(engine: str, case: str, seed: int, weaker_release: bool = False, steps: int = STEPS) -> pd.DataFrame:
    model = BondingModel(seed=seed, engine=engine, create_agents=engine == "agents", **BASE, **CASES[case])
    return (altered(model) if weaker_release else model).run(steps)


# ------------------------------------------------------------------------ exact
@pytest.mark.parametrize("case", CASES)
def test_same_seed_same_run_in_both_engines(case):
    for seed in (1, 2, 3):
        agents, array = run("agents", case, seed, steps=72), run("array", case, seed, steps=72)
        pd.testing.assert_frame_equal(agents, array, check_exact=False, rtol=1e-12, atol=1e-12)


def test_same_seed_same_people_and_ties_at_the_end():
    models = [BondingModel(seed=5, engine=e, **BASE, **CASES["loss"]) for e in ("agents", "array")]
    for m in models:
        m.run(60)
    a, b = (m.state() for m in models)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(models[0].edge_bonds(), models[1].edge_bonds(), rtol=1e-12)
    np.testing.assert_array_equal(models[0].open_edges(), models[1].open_edges())
    contacts = [m.last_contacts for m in models]
    for field in ("seeker", "partner", "accepted"):
        np.testing.assert_array_equal(getattr(contacts[0], field), getattr(contacts[1], field))


def test_exact_check_fails_when_one_engine_has_a_changed_rule():
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(run("agents", "placebo", 1), run("array", "placebo", 1, weaker_release=True))
    with pytest.raises(AssertionError):
        pd.testing.assert_frame_equal(run("agents", "placebo", 1, weaker_release=True), run("array", "placebo", 1))


# ------------------------------------------------------------------- statistical
def outcomes(frame: pd.DataFrame) -> dict[str, float]:
    """Main outcomes of one run: final tone, connection, distress and bond; seeking and reward over the run."""
    last = frame.iloc[-1]
    return {
        "mean_tone": float(last["mean_tone"]),
        "felt_connection": float(last["felt_connection"]),
        "distress": float(last["distress"]),
        "mean_bond": float(last["mean_bond"]),
        "seeking_rate": float(frame["seeking_rate"].iloc[1:].mean()),
        "reward_per_contact": float(np.nanmean(frame["reward_per_contact"].iloc[1:])),
    }


@cache
def sample(engine: str, case: str, weaker_release: bool = False, offset: int = 0) -> dict[str, np.ndarray]:
    """Outcomes of all seeds, one array per outcome (cached: each sample is simulated once per session)."""
    runs = [outcomes(run(engine, case, seed + offset, weaker_release)) for seed in SEEDS]
    return {k: np.array([r[k] for r in runs]) for k in OUTCOMES}


def p_values(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Welch t and KS p-values of every outcome (1 where both samples are the same constant)."""
    out = {}
    for k in OUTCOMES:
        x, y = a[k], b[k]
        if np.ptp(x) == 0 and np.ptp(y) == 0:
            out[f"{k} welch"] = out[f"{k} ks"] = 1.0 if x[0] == y[0] else 0.0
            continue
        out[f"{k} welch"] = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
        out[f"{k} ks"] = float(stats.ks_2samp(x, y).pvalue)
    return out


def holm_rejections(p: dict[str, float], alpha: float) -> list[str]:
    """Names of the hypotheses rejected by Holm's step-down procedure at family-wise level ``alpha``."""
    names = sorted(p, key=p.get)
    rejected = []
    for rank, name in enumerate(names):
        if p[name] > alpha / (len(names) - rank):
            break
        rejected.append(name)
    return rejected


N_TESTS = len(CASES) * len(OUTCOMES) * 2


@pytest.mark.slow
@pytest.mark.xdist_group("equivalence_samples")  # the statistical tests share their (cached) samples
def test_outcome_distributions_agree_for_every_parameter_set():
    # different seeds for the two engines: independent samples, as the tests assume
    p = {}
    for case in CASES:
        for name, value in p_values(sample("agents", case), sample("array", case, offset=500)).items():
            p[f"{case}: {name}"] = value
    assert len(p) == N_TESTS
    assert holm_rejections(p, FAMILY_ALPHA) == [], sorted(p.items(), key=lambda kv: kv[1])[:5]


@pytest.mark.slow
@pytest.mark.xdist_group("equivalence_samples")
def test_outcomes_respond_to_the_parameters_in_both_engines():
    # the sets differ from each other in the same direction in both engines (the comparison has power)
    for engine in ("agents", "array"):
        placebo, naltrexone = sample(engine, "placebo"), sample(engine, "naltrexone")
        morphine, rejection = sample(engine, "morphine"), sample(engine, "high_rejection")
        buprenorphine = sample(engine, "buprenorphine")
        assert naltrexone["reward_per_contact"].mean() < 0.5 * placebo["reward_per_contact"].mean()
        assert naltrexone["distress"].mean() > placebo["distress"].mean() + 0.02  # two days in: mostly adapted
        assert morphine["reward_per_contact"].mean() < 0.9 * placebo["reward_per_contact"].mean()
        assert morphine["distress"].mean() > placebo["distress"].mean()  # a day after a dose: withdrawal
        assert rejection["mean_tone"].mean() < placebo["mean_tone"].mean()
        # a partial agonist: less reward per contact than placebo, less distress than an antagonist
        assert buprenorphine["reward_per_contact"].mean() < placebo["reward_per_contact"].mean()
        assert buprenorphine["distress"].mean() < naltrexone["distress"].mean()


@pytest.mark.slow
@pytest.mark.xdist_group("equivalence_samples")
def test_the_statistical_check_fails_when_one_engine_has_a_changed_rule():
    def rejected(array_sample):
        p = p_values(sample("agents", "placebo"), array_sample)
        return holm_rejections(p, FAMILY_ALPHA * len(p) / N_TESTS)  # same per-test threshold as above

    assert rejected(sample("array", "placebo", offset=500)) == []
    failing = rejected(sample("array", "placebo", weaker_release=True, offset=500))
    assert "mean_tone welch" in failing and "mean_tone ks" in failing


def test_holm_procedure():
    assert holm_rejections({"a": 0.001, "b": 0.03, "c": 0.5}, 0.05) == ["a"]
    assert holm_rejections({"a": 0.001, "b": 0.03, "c": 0.04}, 0.05) == ["a"]
    assert holm_rejections({"a": 0.01, "b": 0.02, "c": 0.03}, 0.09) == ["a", "b", "c"]


# ----------------------------------------------------------------- Mesa face
def test_person_views_read_and_write_the_arrays():
    model = BondingModel(seed=4, engine="array", **BASE, drug="naltrexone", dose_mg=50.0)
    model.run(5)
    people = list(model.agents)
    assert len(people) == model.n and all(isinstance(p, PersonView) and isinstance(p, mesa.Agent) for p in people)
    person = people[17]
    state = model.state()
    for name in state:
        assert getattr(person, name) == state[name][person.index], name
    person.tone = 2.5
    assert model.state()["tone"][person.index] == 2.5
    lo, hi = model.network.indptr[17], model.network.indptr[18]
    neighbours, bonds = model.network.indices[lo:hi].tolist(), model.edge_bonds()[lo:hi].tolist()
    assert person.bonds == dict(zip(neighbours, bonds, strict=True))
    model.step()  # the DataCollector reads the same arrays through the model
    assert model.timeseries()["mean_tone"].iloc[-1] == pytest.approx(model.state()["tone"].mean(), rel=1e-12)


def test_agents_engine_people_are_mesa_agents_with_the_state_as_attributes():
    model = BondingModel(seed=4, engine="agents", **BASE)
    model.run(3)
    state = model.state()
    for person in model.agents:
        assert isinstance(person, mesa.Agent)
        assert person.tone == state["tone"][person.index]
        assert person.bonds == model.engine.bonds_of(person.index, include_closed=True)


def test_state_returns_copies_on_both_engines():
    for engine in ("agents", "array"):
        model = BondingModel(seed=4, engine=engine, **BASE, drug="naltrexone", dose_mg=50.0)
        saved = model.state()["occupancy"]
        bonds = model.edge_bonds()
        before, bonds_before = saved.copy(), bonds.copy()
        model.run(3)
        np.testing.assert_array_equal(saved, before)
        np.testing.assert_array_equal(bonds, bonds_before)
        assert not np.array_equal(model.state()["occupancy"], before)
