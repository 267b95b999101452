"""Interventions: ``[[events]]`` and ``model.schedule`` set parameters, dose, isolate and reunite mid-run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bondsim import events as interventions
from bondsim.events import EventError
from bondsim.model import BondingModel, ModelError
from bondsim.params import ParameterError

ENGINES = ("agents", "array")
SMALL = dict(n_agents=40, mean_degree=6, warmup_days=0.0)


def events(*tables):
    return interventions.parse(list(tables))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_parameter_change_leaves_the_run_identical_until_it_acts(engine):
    plain = BondingModel(seed=7, engine=engine, **SMALL).run(48)
    model = BondingModel(seed=7, engine=engine, **SMALL)
    interventions.schedule(model, events({"day": 1, "hour": 6, "set": {"rejection_rate": 0.6}}))
    changed = model.run(48)
    # step 30 is the first whose contacts ran under the new rate (hour 30-31)
    pd.testing.assert_frame_equal(changed.iloc[:31], plain.iloc[:31], check_exact=True)
    assert not changed["acceptance_rate"].iloc[31:].equals(plain["acceptance_rate"].iloc[31:])
    assert model.params.rejection_rate == 0.6
    assert changed["acceptance_rate"].iloc[31:].mean() < plain["acceptance_rate"].iloc[31:].mean()


def test_both_engines_give_the_same_run_with_interventions():
    frames = []
    for engine in ENGINES:
        model = BondingModel(seed=3, engine=engine, drug="naltrexone", treated_fraction=0.5, dose_mg=0.0, **SMALL)
        interventions.schedule(
            model,
            events(
                {"day": 0, "hour": 5, "set": {"rejection_rate": 0.5}},
                {"day": 0, "hour": 8, "dose_mg": 50},
                {"day": 0, "hour": 10, "isolate_days": 1, "who": "untreated", "fraction": 0.3},
                {"day": 0, "hour": 20, "reunite": True, "who": "isolated"},
            ),
        )
        frames.append(model.run(30))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)


def test_set_parameters_now_equals_a_scheduled_set():
    now = BondingModel(seed=2, **SMALL)
    now.run(10)
    now.set_parameters(rejection_rate=0.7)
    now.run(10)
    later = BondingModel(seed=2, **SMALL)
    later.schedule(10.0, "set", {"rejection_rate": 0.7})
    later.run(20)
    pd.testing.assert_frame_equal(now.timeseries(), later.timeseries(), check_exact=True)


def test_a_dose_event_goes_to_the_treated_and_occupies_their_receptors():
    model = BondingModel(seed=4, drug="naltrexone", treated_fraction=0.5, dose_mg=0.0, **SMALL)
    interventions.schedule(model, events({"day": 0, "hour": 2, "dose_mg": 50}))
    model.run(6)
    occupancy = model.engine.get("occupancy")
    untreated = np.setdiff1d(np.arange(model.n), model.treated_index)
    assert occupancy[model.treated_index].min() > 0.5
    assert occupancy[untreated].max() == 0.0


def test_isolation_cuts_people_off_and_reunite_ends_it_early():
    model = BondingModel(seed=5, **SMALL)
    interventions.schedule(
        model,
        events(
            {"day": 0, "hour": 1, "isolate_days": 5, "people": [0, 1, 2]},
            {"day": 0, "hour": 3, "reunite": True, "people": [1]},
        ),
    )
    model.run(2)
    assert list(model.isolated_index) == [0, 1, 2]
    net = model.network
    closed = model.engine.get("closed_ties")
    assert all(closed[i] == net.indptr[i + 1] - net.indptr[i] for i in (0, 1, 2))
    model.run(2)
    assert list(model.isolated_index) == [0, 2]
    open_ties = model.open_edges()
    assert open_ties[net.indptr[1] : net.indptr[2]].sum() == sum(
        1 for j in net.indices[net.indptr[1] : net.indptr[2]] if j not in (0, 2)
    )
    model.run(24 * 5)  # the isolation ends on its own
    assert model.isolated_index.size == 0
    assert model.open_edges().all()


def test_a_fraction_of_a_group_is_drawn_when_the_event_acts():
    model = BondingModel(seed=6, **SMALL)
    interventions.schedule(model, events({"day": 0, "hour": 1, "isolate_days": 1, "fraction": 0.25}))
    model.run(2)
    assert model.isolated_index.size == 10
    assert list(model.separated_index) == list(model.isolated_index)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"day": 1, "set": {"n_agents": 5}}, "n_agents cannot change mid-run"),
        ({"day": 1, "set": {"dose_mg": 5}}, "give a dose with an event"),
        ({"day": 1, "set": {"rejection_rte": 0.5}}, "unknown parameter 'rejection_rte'"),
        ({"day": 1, "set": {"rejection_rate": 5}}, "rejection_rate"),
        ({"day": 1, "dose": 5}, "unknown key 'dose'"),
        ({"day": 1}, "needs exactly one action"),
        ({"day": 1, "dose_mg": 5, "reunite": True}, "not dose_mg and reunite"),
        ({"hour": 3, "dose_mg": 5}, "needs 'day'"),
        ({"day": 1, "hour": 24, "dose_mg": 5}, "must be below 24"),
        ({"day": 1, "reunite": True, "who": "friends"}, "who = 'friends' is not a group"),
        ({"day": 1, "dose_mg": 5, "who": "untreated"}, "a dose goes to treated people only"),
        ({"day": 1, "isolate_days": 1, "fraction": 0}, "chooses nobody"),
        ({"day": 1, "set": {"rejection_rate": 0.5}, "who": "treated"}, "applies to everyone"),
    ],
)
def test_a_bad_event_is_refused_with_one_line(table, message):
    with pytest.raises(EventError, match=message) as info:
        interventions.parse([table], "run.toml")
    assert "\n" not in str(info.value) and str(info.value).startswith("run.toml[0]")


def test_a_parameter_cannot_change_by_assignment_nor_when_it_builds_the_model():
    model = BondingModel(seed=1, **SMALL)
    with pytest.raises(ModelError, match=r"model\.set_parameters"):
        model.rejection_rate = 0.6
    with pytest.raises(ModelError, match="cannot change mid-run"):
        model.set_parameters(mean_degree=4)
    with pytest.raises(ParameterError, match="unknown parameter"):
        model.set_parameters(rejection_rte=0.6)
    with pytest.raises(ModelError, match="cannot change mid-run"):
        model.schedule(5.0, "set", {"n_agents": 3}) or model.run(6)
    assert model.params.rejection_rate == BondingModel(seed=1, **SMALL).params.rejection_rate


def test_events_that_cannot_act_on_the_model_are_refused_when_scheduled():
    model = BondingModel(seed=1, **SMALL)
    with pytest.raises(EventError, match="a dose needs a drug"):
        interventions.schedule(model, events({"day": 1, "dose_mg": 50}))
    with pytest.raises(EventError, match="person 99 does not exist"):
        interventions.schedule(model, events({"day": 1, "isolate_days": 1, "people": [99]}))


# ------------------------------------------------------------------- the command
@pytest.mark.slow
def test_bondsim_run_carries_out_the_events_of_its_config(bondsim, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        "n_agents = 40\nwarmup_days = 0\ndrug = 'naltrexone'\ntreated_fraction = 0.5\ndose_mg = 0\n"
        "[[events]]\nday = 0\nhour = 6\nset = { rejection_rate = 0.6 }\n"
        "[[events]]\nday = 0\nhour = 8\ndose_mg = 50\n"
    )
    out = tmp_path / "out"
    done = bondsim("run", "--config", config, "--steps", "12", "--seed", "3", "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    info = json.loads((out / "run.json").read_text())
    assert [e.get("set", e.get("dose_mg")) for e in info["events"]] == [{"rejection_rate": 0.6}, 50.0]
    frame = pd.read_csv(out / "timeseries.csv")
    assert frame["mean_occupancy"].iloc[8] == 0.0 and frame["mean_occupancy"].iloc[10] > 0.2


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("n_agents = 40\n[[bogus]]\nx = 1\n", "unknown table [[bogus]]"),
        ("n_agents = 40\n[bogus]\nx = 1\n", "unknown table [bogus]"),
        ("[params]\nn_agents = 40\n[params.extra]\nx = 1\n", "unexpected table [params.extra]"),
        ("[[events]]\nday = 1\nset = { n_agents = 5 }\n", "n_agents cannot change mid-run"),
        ("[[events]]\nday = 1\ndose = 5\n", "unknown key 'dose'"),
        ("[outputs]\nmetricz = ['distress']\n", "metricz"),
    ],
)
def test_bondsim_run_refuses_an_unknown_table_or_key_with_one_line(bondsim, tmp_path, text, message):
    config = tmp_path / "run.toml"
    config.write_text(text)
    done = bondsim("run", "--config", config, "--steps", "2", "--out", tmp_path / "out", "--quiet")
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------- sweeps
SWEEP = """
[sweep]
design = "list"
days = 1
seed = 5
record = "all"

[fixed]
n_agents = 30
warmup_days = 0

[vary]
rejection_rate = [0.1, 0.2]
"""


def test_a_sweep_runs_its_events_in_every_run(tmp_path):
    import tomllib

    from bondsim import sweep
    from bondsim.sweep.execute import execute_run

    plain = sweep.parse_spec(tomllib.loads(SWEEP))
    spec = sweep.parse_spec(tomllib.loads(SWEEP + "\n[[events]]\nday = 0\nhour = 12\nset = { rejection_rate = 0.9 }\n"))
    assert spec.events and spec.raw["events"][0]["hour"] == 12  # recorded in the manifest with the spec
    for run in range(spec.n_runs):
        before, after = execute_run(plain.task(run)).rows, execute_run(spec.task(run)).rows
        pd.testing.assert_frame_equal(before.iloc[:13], after.iloc[:13], check_exact=True)
        assert after["acceptance_rate"].iloc[13:].mean() < before["acceptance_rate"].iloc[13:].mean()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[[events]]\nday = 0\nset = { n_agents = 5 }\n", "n_agents cannot change mid-run"),
        ("[[events]]\nday = 0\nwhen = 3\nreunite = true\n", "unknown key 'when'"),
        ("[[bogus]]\nx = 1\n", "unknown table [bogus]"),
    ],
)
def test_a_sweep_spec_with_a_bad_event_or_table_is_refused_with_one_line(bondsim, tmp_path, extra, message):
    spec = tmp_path / "spec.toml"
    spec.write_text(SWEEP + "\n" + extra)
    done = bondsim("sweep", spec, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
