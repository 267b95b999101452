"""Trials for theorists: daily doses in one line, designs of one's own, [[events]], two trials side by side."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import bondsim.trials.design as td
from bondsim.errors import ParameterError, UserError
from bondsim.params import Params
from bondsim.trials.compare import compare, sides
from bondsim.trials.simulate import model_params, simulate

LIBRARY = td.library()


def own_design(**changes) -> dict:
    """The Inagaki 2016 design as a theorist's own file: no role, a small community that settles quickly."""
    data = tomllib.loads(LIBRARY["inagaki2016"].read_text())
    del data["study"]["role"]
    data["outcomes"] = []
    data["community"].update(size=50, warmup_days=5.0)
    data.update(changes)
    return data


def test_a_daily_dose_and_its_days_are_one_line():
    data = own_design()
    data["measures"] = [m for m in data["measures"] if m["kind"] != "lab_connection"]  # taken after day 4's dose
    data["arms"]["naltrexone"] = {"drug": "naltrexone", "doses_mg": 50, "dose_days": 3}
    design = td.from_dict(data, "mine.toml")
    assert design.arm("naltrexone").doses_mg == (50.0, 50.0, 50.0)
    data["arms"]["naltrexone"] = {"drug": "naltrexone", "doses_mg": 50}  # every day of the period
    design = td.from_dict(data, "mine.toml")
    assert design.arm("naltrexone").doses_mg == (50.0,) * design.layout.period_days
    assert td.from_dict(tomllib.loads(td.dump(design)), "again") == design


@pytest.mark.parametrize(
    ("arm", "message"),
    [
        ({"drug": "naltrexone", "doses_mg": 50, "dose_days": 30}, "more than the"),
        ({"drug": "naltrexone", "doses_mg": [50, 50], "dose_days": 2}, "goes with one dose"),
        ({"drug": "naltrexone", "doses_mg": 50, "dose_days": 0}, "dose_days = 0 must be at least 1"),
        ({"drug": "naltrexone", "doses_mg": -5}, "must be at least 0"),
    ],
)
def test_a_bad_daily_dose_is_refused_with_one_line(arm, message):
    data = own_design()
    data["arms"]["naltrexone"] = arm
    with pytest.raises(ParameterError, match=message) as info:
        td.from_dict(data, "mine.toml")
    assert "\n" not in str(info.value)


def test_a_design_of_ones_own_has_no_calibration_role():
    design = td.from_dict(own_design(), "mine.toml")
    assert design.study.role == "none"
    assert {td.load(name).study.role for name in LIBRARY} <= {"training", "validation"}


def test_a_design_applies_its_events_to_its_own_groups():
    data = own_design(events=[{"day": 1, "isolate_days": 30, "who": "others"}])
    design = td.from_dict(data, "mine.toml")
    assert design.events[0].group == "others"
    assert td.from_dict(tomllib.loads(td.dump(design)), "again") == design
    plain = simulate(replace(design, events=()), Params().replace(engine="array"), seed=5)
    isolated = simulate(design, Params().replace(engine="array"), seed=5)
    np.testing.assert_array_equal(plain.person, isolated.person)
    assert not np.array_equal(plain.values["daily_connection"], isolated.values["daily_connection"])
    # cut off from everyone else, the participants feel less connected
    assert isolated.values["daily_connection"][:, 2:].mean() < plain.values["daily_connection"][:, 2:].mean()


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([{"day": 1, "dose_mg": 50}], "dose_mg is not an action here"),
        ([{"day": 1, "reunite": True, "who": "treated"}], "who = 'treated' is not a group"),
        ([{"day": 1, "set": {"n_agents": 10}}], "n_agents cannot change mid-run"),
        ([{"day": 500, "reunite": True}], "after the trial ends"),
        ([{"day": -10, "reunite": True}], "must be between"),
    ],
)
def test_a_bad_design_event_is_refused_with_one_line(events, message):
    with pytest.raises(ParameterError, match=message) as info:
        td.from_dict(own_design(events=events), "mine.toml")
    assert "\n" not in str(info.value) and str(info.value).startswith("mine.toml")


def test_the_model_of_a_trial_settles_as_the_trial_says_not_twice():
    design = td.from_dict(own_design(), "mine.toml")
    assert model_params(design, Params()).warmup_days == 0.0  # simulate settles it (community.warmup_days)


def test_one_design_under_two_models_with_common_random_numbers(tmp_path):
    design = td.from_dict(own_design(), "mine.toml")
    variant = tmp_path / "variant.toml"
    variant.write_text("rejection_rate = 0.5\n")
    pair = sides([design], [str(variant)])
    assert [s.label for s in pair] == ["defaults", "variant"] and pair[1].params.rejection_rate == 0.5
    table, summary = compare(pair, tmp_path / "out", replications=3, seed=9, workers=1)
    assert summary["replications"] == 3 and [s["label"] for s in summary["sides"]] == ["defaults", "variant"]
    assert list(table["measure"]) == [m.name for m in design.measures]
    row = table.set_index("measure").loc["daily_connection"]
    assert row["difference_g"] == pytest.approx(row["g_b"] - row["g_a"])
    assert row["difference_low"] < row["difference_g"] < row["difference_high"]
    # paired by seed, the difference is far surer than either side's own g
    assert row["difference_high"] - row["difference_low"] < row["mc_error_a"]
    trials = pd.read_parquet(tmp_path / "out" / "trials.parquet")
    assert set(trials["side"]) == {"defaults", "variant"}
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["replications"] == 3
    # the same design twice under the same model: the difference is exactly zero
    same, _ = compare((pair[0], replace(pair[0], label="again")), tmp_path / "same", replications=2, seed=9)
    assert (same["difference_g"] == 0).all()


def test_a_comparison_that_cannot_be_made_is_refused():
    design = td.from_dict(own_design(), "mine.toml")
    with pytest.raises(UserError, match="not both"):
        sides([design, design], ["x.toml"])
    other = own_design()
    other["measures"] = [{"name": "wanting_it", "kind": "wanting", "day": 4}]
    with pytest.raises(UserError, match="no measure in common"):
        sides([design, td.from_dict(other, "other.toml")], None)


@pytest.mark.slow
def test_bondsim_trial_puts_two_designs_side_by_side(tmp_path, bondsim):
    a = tmp_path / "a.toml"
    a.write_text(td.dump(td.from_dict(own_design(), "a")))
    data = own_design()
    data["study"]["name"] = "longer"
    data["arms"]["naltrexone"] = {"drug": "naltrexone", "doses_mg": 50}
    b = tmp_path / "b.toml"
    b.write_text(td.dump(td.from_dict(data, "b")))
    done = bondsim("trial", a, b, "--replications", "2", "--workers", "1", "--out", tmp_path / "out", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "difference (B - A)" in done.stdout and "daily_connection" in done.stdout
    table = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert len(table) == 3
    bad = bondsim("trial", a, b, "--power", "8", "--out", tmp_path / "bad")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    bogus = tmp_path / "bogus.toml"
    bogus.write_text(a.read_text() + "\n[[bogus]]\nx = 1\n")
    bad = bondsim("trial", bogus, "--out", tmp_path / "bad2")
    assert bad.returncode == 2 and "unknown table [bogus]" in bad.stderr
