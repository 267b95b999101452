"""Outputs of one's own: metrics, means by group, per-person data, user functions, schedules, stop conditions.

In-process runs check the numbers on both engines; ``bondsim run`` and ``bondsim sweep`` run as
subprocesses (with a user module on PYTHONPATH), the sweep once in process and once on 2 Dask workers;
the refusals of bad outputs go through the command's entry point in this process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from contextlib import redirect_stderr
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondsim import outputs, recording, sweep
from bondsim.errors import ParameterError, UserError
from bondsim.model import BondingModel
from bondsim.params import Params

BONDSIM = [sys.executable, "-m", "bondsim.cli"]

# the shipped example of user outputs, so that the example and the tests cannot drift apart
USER_MODULE = (Path(__file__).resolve().parents[1] / "experiments" / "sweeps" / "my_outputs.py").read_text()

SWEEP = """
[sweep]
design = "grid"
replicates = 2
steps = 12
seed = 21
record = "every:4"

[fixed]
n_agents = 40
treated_fraction = 0.5
drug = "naltrexone"

[vary]
dose_mg = [0, 50]

[outputs]
metrics = ["distress", "felt_connection by treated", "distress by strong_bonds", "my_outputs:bond_spread",
           "my_outputs:tone_range", "my_outputs:open_ties"]
people = ["tone", "occupancy"]
people_at = [0, 6]
stop = "distress > 0.2"
"""


def params(engine: str) -> Params:
    return Params(engine=engine, n_agents=60, treated_fraction=0.5, drug="naltrexone", dose_mg=50)


def table(text: str) -> outputs.Outputs:
    return outputs.parse_outputs(tomllib.loads(text)["outputs"])


@pytest.fixture
def user_module(tmp_path, monkeypatch) -> Path:
    (tmp_path / "my_outputs.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def env_with(folder: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(folder)}


# ------------------------------------------------------------------------- numbers, both engines
def test_each_kind_of_output_is_identical_on_both_engines(user_module):
    chosen = table(
        """[outputs]
metrics = ["distress", "mean_bond", "felt_connection by treated", "tone by separated", "distress by has_tie",
           "reward_per_contact by strong_bonds", "my_outputs:bond_spread", "my_outputs:tone_range",
           "my_outputs:open_ties"]
people = ["tone", "treated"]
people_at = "every:5"
record = "every:3"
"""
    )
    got = {}
    for engine in ("agents", "array"):
        outputs.check_outputs(chosen, params(engine))
        got[engine] = recording.record(BondingModel(params(engine), seed=7), 10, chosen)
    a, b = got["agents"], got["array"]
    pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
    pd.testing.assert_frame_equal(a.people, b.people, check_exact=True)
    assert list(a.frame["step"]) == [0, 3, 6, 9, 10]  # every 3 steps, and the last
    assert sorted(a.people["step"].unique()) == [0, 5, 10] and len(a.people) == 3 * 60
    assert {"bond_spread", "tone_range.low", "tone_range.high"} <= set(a.frame.columns)
    assert "open_ties.open" in a.people.columns and "open_ties" not in a.frame.columns
    assert a.frame["tone[separated]"].isna().all()  # nobody separated: an empty group is NaN


def test_group_means_and_per_person_rows_match_the_model_state():
    chosen = table('[outputs]\nmetrics = ["felt_connection", "felt_connection by treated"]\npeople = ["tone"]')
    model = BondingModel(params("array"), seed=3)
    rec = recording.record(model, 8, chosen)
    state = model.state()
    last = rec.frame.iloc[-1]
    treated = state["treated"]
    assert last["felt_connection[treated]"] == pytest.approx(state["felt_connection"][treated].mean(), abs=1e-15)
    assert last["felt_connection[untreated]"] == pytest.approx(state["felt_connection"][~treated].mean(), abs=1e-15)
    share = treated.mean()
    mixed = share * last["felt_connection[treated]"] + (1 - share) * last["felt_connection[untreated]"]
    assert mixed == pytest.approx(last["felt_connection"], abs=1e-12)
    people = rec.people  # default people_at: the end
    assert list(people["step"].unique()) == [8]
    np.testing.assert_array_equal(people["tone"].to_numpy(), state["tone"])


def test_default_outputs_keep_the_model_timeseries():
    plain = outputs.Outputs()
    assert plain.plain
    a = recording.record(BondingModel(params("array"), seed=5), 6, plain).frame
    b = BondingModel(params("array"), seed=5).run(6)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize(
    ("schedule", "steps"),
    [
        ("all", list(range(13))),
        ("every:5", [0, 5, 10, 12]),
        ("hours:[0, 2.5, 7]", [0, 3, 7, 12]),  # the first step at or after each hour, and the last
        ("end", [12]),
        ("final", [12]),
    ],
)
def test_recording_schedules(schedule, steps):
    chosen = outputs.Outputs(metrics=("distress",), record=outputs.parse_schedule(schedule, "record"))
    frame = recording.record(BondingModel(params("array"), seed=1), 12, chosen).frame
    assert list(frame["step"]) == steps


def test_a_stop_condition_ends_the_run_at_the_first_step_it_holds():
    full = BondingModel(params("array"), seed=2).run(24)
    first = int(full.loc[full["distress"] > 0.1, "step"].iloc[0])
    chosen = outputs.Outputs(metrics=("distress",), record=outputs.END, stop=outputs.parse_stop("distress > 0.1"))
    model = BondingModel(params("array"), seed=2)
    rec = recording.record(model, 24, chosen)
    assert rec.stopped_at == first and model.steps_done == first
    assert list(rec.frame["step"]) == [first] and bool(rec.frame["stopped"].iloc[-1])
    assert rec.frame["distress"].iloc[-1] == full.loc[first, "distress"]
    never = outputs.Outputs(stop=outputs.parse_stop("distress > 2 or mean_tone < -1"))
    rec = recording.record(BondingModel(params("array"), seed=2), 5, never)
    assert rec.stopped_at is None and not rec.frame["stopped"].any() and len(rec.frame) == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("distress >> 1", "is not of the form 'metric op number'"),
        ("distress > 1 and tone < 2 or x > 1", "mixes 'and' and 'or'"),
        ("__import__('os') > 1", "is not of the form"),
        ("", "must be a condition"),
    ],
)
def test_stop_conditions_are_parsed_not_evaluated(text, message):
    with pytest.raises(ParameterError, match=message):
        outputs.parse_stop(text)


# ----------------------------------------------------------------------------- bondsim run
@pytest.mark.slow
def test_bondsim_run_with_an_outputs_table(tmp_path):
    (tmp_path / "my_outputs.py").write_text(USER_MODULE)
    (tmp_path / "run.toml").write_text(
        textwrap.dedent(
            """
            n_agents = 50
            treated_fraction = 0.5
            drug = "naltrexone"

            [outputs]
            metrics = ["distress", "felt_connection by treated", "my_outputs:bond_spread", "my_outputs:open_ties"]
            people = ["tone"]
            people_at = "hours:[0, 12]"
            record = "every:6"
            """
        )
    )
    argv = [*BONDSIM, "run", "--config", "run.toml", "--days", "1", "--seed", "4", "--out", "r", "--quiet"]
    done = subprocess.run(argv, cwd=tmp_path, env=env_with(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "r" / "timeseries.csv")
    assert list(frame.columns) == [
        "step",
        "hours",
        "distress",
        "felt_connection[treated]",
        "felt_connection[untreated]",
        "bond_spread",
    ]
    assert list(frame["step"]) == [0, 6, 12, 18, 24]
    people = pd.read_parquet(tmp_path / "r" / "people.parquet")
    assert list(people.columns) == ["step", "person", "tone", "open_ties.open"]
    assert sorted(people["step"].unique()) == [0, 12, 24] and len(people) == 150  # and the last step
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["outputs"]["record"] == "every:6" and info["stopped_at_step"] is None
    assert [c["column"] for c in info["columns"]] == list(frame.columns)
    # the flags replace the table's entries: a stop condition that holds early
    argv += ["--overwrite", "--stop", "distress > 0.001", "--record", "end"]
    done = subprocess.run(argv, cwd=tmp_path, env=env_with(tmp_path), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "r" / "timeseries.csv")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert len(frame) == 1 and frame["stopped"].iloc[0] and info["stopped_at_step"] == frame["step"].iloc[0] < 24


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--output", "distres"], "unknown output 'distres'"),
        (["--output", "distress by colour"], "unknown group variable 'colour'"),
        (["--output", "acceptance_rate by treated"], "'acceptance_rate' cannot be taken by group"),
        (["--output", "no_such_module:f"], "cannot import module 'no_such_module'"),
        (["--output", "my_outputs:nothing"], "module 'my_outputs' has no function 'nothing'"),
        (["--people", "mood"], "unknown per-person variable 'mood'"),
        (["--record", "every:0"], "record = 'every:0' is not allowed"),
        (["--record", "hours:[x]"], "record = 'hours:[x]' is not allowed"),
        (["--people-at", "sometimes"], "people_at = 'sometimes' is not allowed"),
        (["--stop", "distress => 1"], "is not of the form 'metric op number'"),
        (["--stop", "mood > 1"], "'mood' is no output column"),
        (["--stop", "distress[treated] > 1"], "add 'METRIC by GROUP' to metrics"),
    ],
)
def test_bad_outputs_of_bondsim_run_exit_2_with_one_line_and_write_nothing(
    user_module, flags, message, monkeypatch, capsys
):
    """Through the command's entry point in this process (no interpreter start-up per case)."""
    from bondsim.cli import main

    monkeypatch.chdir(user_module)
    status = main(["run", "--steps", "2", "--out", "r", "--quiet", *flags])
    stderr = capsys.readouterr().err
    assert status == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not (user_module / "r").exists()


# ----------------------------------------------------------------------------------- sweeps
@pytest.mark.cluster
@pytest.mark.slow
def test_sweep_outputs_serial_equal_two_dask_workers_and_are_documented(tmp_path):
    (tmp_path / "my_outputs.py").write_text(USER_MODULE)
    (tmp_path / "spec.toml").write_text(SWEEP)
    env = env_with(tmp_path)
    for out, workers in (("serial", "1"), ("dask", "2")):
        argv = [*BONDSIM, "sweep", "spec.toml", "--out", out, "--workers", workers, "--quiet"]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    serial, dask = sweep.results(tmp_path / "serial"), sweep.results(tmp_path / "dask")
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)
    pd.testing.assert_frame_equal(sweep.people(tmp_path / "serial"), sweep.people(tmp_path / "dask"), check_exact=True)
    people = sweep.people(tmp_path / "serial")
    assert list(people.columns) == ["run", "step", "person", "tone", "occupancy", "open_ties.open"]
    assert len(list((tmp_path / "serial" / "people").glob("run-*.parquet"))) == 4
    # the dosed runs stop as soon as distress passes 0.2, the undosed ones last 12 steps
    last = sweep.final_values(tmp_path / "serial")
    assert (last.loc[last["dose_mg"] == 50, "stopped"]).all() and (last.loc[last["dose_mg"] == 50, "step"] < 12).all()
    assert (~last.loc[last["dose_mg"] == 0, "stopped"]).all() and (last.loc[last["dose_mg"] == 0, "step"] == 12).all()
    # each run equals an in-process run of its task
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(tmp_path))
        spec = sweep.load_spec(tmp_path / "spec.toml")
        expected = sweep.execute_run(spec.task(3))
    pd.testing.assert_frame_equal(
        serial[serial["run"] == 3].reset_index(drop=True), expected.rows, check_exact=True, check_dtype=False
    )
    manifest = sweep.read_manifest(tmp_path / "serial")
    assert manifest["outputs"]["stop"] == "distress > 0.2" and manifest["outputs"]["people_at"] == "steps:[0, 6]"
    columns = pd.read_csv(tmp_path / "serial" / "columns.csv")
    assert {"distress[strong_bonds>=3]", "felt_connection[untreated]", "bond_spread", "stopped"} <= set(
        columns["column"]
    )
    assert (tmp_path / "serial" / "people_columns.csv").is_file()
    # grouped metrics and function numbers are outcomes of the analysis like any other
    info = sweep.analyze(tmp_path / "serial", tmp_path / "analysis")
    summary = pd.read_csv(tmp_path / "analysis" / "summary.csv")
    assert {"felt_connection[treated]", "tone_range.high", "bond_spread"} <= set(summary["metric"])
    assert "stopped" not in set(summary["metric"]) and info["runs_analyzed"] == 4


@pytest.mark.parametrize(
    ("outputs_table", "message"),
    [
        ('metrics = ["distress by nobody"]', "unknown group variable 'nobody'"),
        ('metrics = ["not_a_module_here:f"]', "cannot import module"),
        ('stop = "distress >"', "is not of the form"),
        ('record = "end"', "unknown key 'record' in [outputs]"),
        ('people = ["bond"]', "unknown per-person variable 'bond'"),
    ],
)
def test_bad_outputs_of_a_sweep_are_refused_before_any_run(tmp_path, outputs_table, message):
    assert message in refusal_of_sweep(tmp_path, outputs_table)


def refusal_of_sweep(folder: Path, outputs_table: str) -> str:
    """The one line of ``bondsim sweep`` (exit 2, nothing written) on the test sweep with this [outputs] table.

    Through the command's entry point in this process (no interpreter start-up per case), in ``folder``.
    """
    from bondsim.cli import main

    spec = SWEEP.split("[outputs]")[0] + "[outputs]\n" + outputs_table + "\n"
    (folder / "spec.toml").write_text(spec)
    with pytest.MonkeyPatch.context() as mp, redirect_stderr(io.StringIO()) as stderr:
        mp.chdir(folder)
        mp.syspath_prepend(str(folder))  # as the command's own folder is on its path
        status = main(["sweep", "spec.toml", "--out", "out", "--workers", "1", "--quiet"])
    assert status == 2, stderr.getvalue()
    lines = stderr.getvalue().strip().splitlines()
    assert len(lines) == 1, lines
    assert not (folder / "out").exists()
    return lines[0]


@pytest.mark.parametrize(
    ("functions", "message"),
    [
        ('["clashing:seed"]', "output 'seed' has the name of an identity column"),
        ('["clashing:dose_mg"]', "output 'dose_mg' has the name of a parameter"),
        ('["clashing:n_agents"]', "output 'n_agents' has the name of a parameter"),
        ('["distress", "clashing:distress"]', "output column 'distress' is named twice"),
    ],
)
def test_outputs_named_like_a_column_of_the_rows_are_refused(tmp_path, functions, message):
    """An output may not overwrite an identity, parameter or metric column (it would replace its values)."""
    (tmp_path / "clashing.py").write_text(
        "def seed(model):\n    return 1.5\n\n\ndose_mg = n_agents = distress = seed\n"
    )
    assert message in refusal_of_sweep(tmp_path, f"metrics = {functions}")


def test_a_sweep_record_schedule_at_chosen_hours():
    text = SWEEP.split("[outputs]")[0].replace('record = "every:4"', 'record = "hours:[2, 5]"')
    spec = sweep.parse_spec(tomllib.loads(text))
    assert spec.record == "hours:[2, 5]"
    rows = sweep.execute(spec.task(0))
    assert list(rows["step"]) == [2, 5, 12]


def test_extending_a_sweep_refuses_changed_outputs_and_resume_keeps_them(tmp_path):
    base = SWEEP.split("[outputs]")[0].replace("replicates = 2", "replicates = 1")
    first = base + '[outputs]\nmetrics = ["distress by treated"]\npeople = ["tone"]\n'
    out = tmp_path / "out"
    sweep.run_sweep(sweep.parse_spec(tomllib.loads(first)), out, workers=1)
    changed = base + '[outputs]\nmetrics = ["distress by has_tie"]\npeople = ["tone"]\n'
    with pytest.raises(UserError, match="its outputs is"):
        sweep.run_sweep(sweep.parse_spec(tomllib.loads(changed)), out, workers=1, extend=True)
    grown = sweep.parse_spec(tomllib.loads(first.replace("replicates = 1", "replicates = 2")))
    report = sweep.run_sweep(grown, out, workers=1, extend=True)
    assert report.added == 2 and report.done == 4
    assert sorted(sweep.people(out)["run"].unique()) == [0, 1, 2, 3]
    assert {"distress[treated]", "distress[untreated]"} <= set(sweep.results(out).columns)


@pytest.mark.parametrize("engine", ["agents", "array"])
def test_means_by_separated_follow_the_people_who_lost_a_partner(engine):
    p = Params(engine=engine, n_agents=60, separation="loss", separation_day=0.25, separation_fraction=0.2)
    chosen = table('[outputs]\nmetrics = ["distress by separated", "mean_bond by separated"]\nrecord = "end"')
    model = BondingModel(p, seed=4)
    rec = recording.record(model, 12, chosen)
    inside = np.zeros(model.n, dtype=bool)
    inside[model.separated_index] = True
    assert 0 < inside.sum() < model.n
    state = model.state()
    last = rec.frame.iloc[-1]
    assert last["distress[separated]"] == pytest.approx(state["distress"][inside].mean(), abs=1e-15)
    assert last["distress[not_separated]"] == pytest.approx(state["distress"][~inside].mean(), abs=1e-15)
    degree = np.diff(model.network.indptr)
    expected = state["bond_sum"][inside].sum() / degree[inside].sum()
    assert last["mean_bond[separated]"] == pytest.approx(expected, abs=1e-15)
