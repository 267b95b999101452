"""The array engine against the per-agent engine (the oracle).

Exact where the engines must agree exactly (the population at t = 0, the Mesa
face, the recorded columns); statistical for the dynamics, since the engines use
the random stream differently: for each parameter set, the main outcomes of 30
seeded runs per engine are compared with Welch's t test and the two-sample
Kolmogorov-Smirnov test, with a Holm correction over all tests at a family-wise
level of 1%. A test of the test changes one rule in one engine and shows that the
same check then fails.
"""

from __future__ import annotations

from functools import cache

import mesa
import numpy as np
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
    "high_rejection": {"rejection_rate": 0.6},
    "isolation": {"separation": "isolation", "separation_day": 0.5, "separation_fraction": 0.3, "isolation_days": 1.0},
    "loss": {"separation": "loss", "separation_day": 0.5, "separation_fraction": 0.3},
}
OUTCOMES = ("mean_tone", "felt_connection", "distress", "mean_bond", "seeking_rate", "reward_per_contact")
FAMILY_ALPHA = 0.01


def outcomes(engine: str, case: str, seed: int, weaker_release: bool = False) -> dict[str, float]:
    """Main outcomes of one run: final tone, connection, distress and bond; seeking and reward over the run."""
    model = BondingModel(seed=seed, engine=engine, create_agents=engine == "agents", **BASE, **CASES[case])
    if weaker_release:  # the deliberate error of the test of the test: half the opioid release per contact
        model.rules.release *= 0.5
    frame = model.run(STEPS)
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
def sample(engine: str, case: str, weaker_release: bool = False) -> dict[str, np.ndarray]:
    """Outcomes of all seeds, one array per outcome (cached: each sample is simulated once per session)."""
    runs = [outcomes(engine, case, seed, weaker_release) for seed in SEEDS]
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


# ------------------------------------------------------------------- statistical
def test_outcome_distributions_agree_for_every_parameter_set():
    p = {}
    for case in CASES:
        for name, value in p_values(sample("agents", case), sample("array", case)).items():
            p[f"{case}: {name}"] = value
    assert len(p) == N_TESTS
    assert holm_rejections(p, FAMILY_ALPHA) == [], sorted(p.items(), key=lambda kv: kv[1])[:5]


def test_outcomes_respond_to_the_parameters_in_both_engines():
    # the sets differ from each other in the same direction in both engines (the comparison has power)
    for engine in ("agents", "array"):
        placebo, naltrexone = sample(engine, "placebo"), sample(engine, "naltrexone")
        morphine, rejection = sample(engine, "morphine"), sample(engine, "high_rejection")
        assert naltrexone["reward_per_contact"].mean() < 0.5 * placebo["reward_per_contact"].mean()
        assert naltrexone["distress"].mean() > placebo["distress"].mean() + 0.5
        assert morphine["reward_per_contact"].mean() < 0.9 * placebo["reward_per_contact"].mean()
        assert morphine["distress"].mean() <= placebo["distress"].mean()
        assert rejection["mean_tone"].mean() < placebo["mean_tone"].mean()


def test_the_check_fails_when_one_engine_has_a_changed_rule():
    # same check, one parameter set: the correct array engine passes, one with half the release fails
    def rejected(array_sample):
        p = p_values(sample("agents", "placebo"), array_sample)
        return holm_rejections(p, FAMILY_ALPHA * len(p) / N_TESTS)  # same per-test threshold as above

    assert rejected(sample("array", "placebo")) == []
    failing = rejected(sample("array", "placebo", weaker_release=True))
    assert "mean_tone welch" in failing and "mean_tone ks" in failing


def test_holm_procedure():
    assert holm_rejections({"a": 0.001, "b": 0.03, "c": 0.5}, 0.05) == ["a"]
    assert holm_rejections({"a": 0.001, "b": 0.03, "c": 0.04}, 0.05) == ["a"]
    assert holm_rejections({"a": 0.01, "b": 0.02, "c": 0.03}, 0.09) == ["a", "b", "c"]


# ------------------------------------------------------------------------ exact
@pytest.mark.parametrize("case", ["placebo", "naltrexone", "loss"])
def test_same_seed_same_initial_population_in_both_engines(case):
    agents = BondingModel(seed=7, engine="agents", **BASE, **CASES[case])
    array = BondingModel(seed=7, engine="array", **BASE, **CASES[case])
    np.testing.assert_array_equal(agents.network.indices, array.network.indices)
    np.testing.assert_array_equal(agents.treated_index, array.treated_index)
    a, b = agents.state(), array.state()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-15, err_msg=key)
    # bond by bond, exactly
    views = {view.index: view for view in array.agents}
    for person in agents.people:
        assert person.bonds == views[person.index].bonds
    first_a, first_b = agents.timeseries().iloc[0], array.timeseries().iloc[0]
    for column in first_a.index:
        assert first_a[column] == pytest.approx(first_b[column], rel=1e-12, nan_ok=True), column


def test_recorded_columns_are_the_same_in_both_engines():
    frames = [BondingModel(seed=3, engine=e, **BASE).run(3) for e in ("agents", "array")]
    assert list(frames[0].columns) == list(frames[1].columns)
    assert frames[0].shape == frames[1].shape == (4, len(frames[0].columns))


def test_person_views_read_and_write_the_arrays():
    model = BondingModel(seed=4, engine="array", **BASE, drug="naltrexone", dose_mg=50.0)
    model.run(5)
    engine = model.engine
    people = list(model.agents)
    assert len(people) == model.n and all(isinstance(p, PersonView) and isinstance(p, mesa.Agent) for p in people)
    person = people[17]
    for name in (
        "tone",
        "set_point",
        "occupancy",
        "signal",
        "distress",
        "felt_connection",
        "positive_affect",
        "reward_memory",
        "seeking",
        "treated",
    ):
        assert getattr(person, name) == getattr(engine, name)[person.index], name
    person.tone = 2.5
    assert engine.tone[person.index] == 2.5
    partner = int(model.network.neighbours(person.index)[0])
    person.set_bond(partner, 0.75)
    assert person.bonds[partner] == 0.75 == engine.bond[model.network.edge(person.index, partner)]
    assert engine.bond_sum[person.index] == pytest.approx(sum(person.bonds.values()), rel=1e-12)
    assert engine.bond_max[person.index] == max(person.bonds.values())
    # the DataCollector reads the same arrays through the model
    model.step()
    assert model.timeseries()["mean_tone"].iloc[-1] == pytest.approx(engine.tone.mean(), rel=1e-12)
