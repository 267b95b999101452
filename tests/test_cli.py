"""The ``bondsim`` command, run as a subprocess: outputs, the pk table and refusal of bad input."""

from __future__ import annotations

import io
import json
import subprocess

import pandas as pd
import pytest

from bondsim.cli import main
from bondsim.metrics import COLUMNS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_run_writes_timeseries_and_provenance(bondsim, tmp_path):
    out = tmp_path / "out"
    args = [
        "run",
        "--set",
        "n_agents=60",
        "--set",
        "drug=naltrexone",
        "--set",
        "dose_mg=50",
        "--days",
        "2",
        "--seed",
        "5",
        "--out",
        out,
    ]
    result = bondsim(*args, "--plot")
    assert result.returncode == 0, result.stderr
    assert "60 people, 48 steps" in result.stdout and "seed 5" in result.stdout
    frame = pd.read_csv(out / "timeseries.csv")
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 49 and frame["hours"].iloc[-1] == 48.0
    info = json.loads((out / "run.json").read_text())
    assert info["seed"] == 5 and info["steps"] == 48
    assert info["params"]["n_agents"] == 60 and info["params"]["drug"] == "naltrexone"
    assert {"python", "bondsim", "mesa", "numpy"} <= set(info["versions"])
    assert info["elapsed_seconds"] >= 0.0
    assert (out / "timeseries.png").read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary directory left behind

    again = bondsim(*args[:-1], tmp_path / "again", "--quiet")
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert (tmp_path / "again" / "timeseries.csv").read_text() == (out / "timeseries.csv").read_text()


def test_run_reads_a_toml_config_and_set_overrides_it(tmp_path):
    config = tmp_path / "study.toml"
    config.write_text('[params]\nn_agents = 40\nmean_degree = 4\ndrug = "placebo"\n')
    status = main(
        [
            "run",
            "--config",
            str(config),
            "--set",
            "n_agents=30",
            "--steps",
            "3",
            "--seed",
            "1",
            "--engine",
            "array",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    assert status == 0
    params = json.loads((tmp_path / "out" / "run.json").read_text())["params"]
    assert (params["n_agents"], params["mean_degree"], params["drug"], params["engine"]) == (30, 4, "placebo", "array")
    assert len(pd.read_csv(tmp_path / "out" / "timeseries.csv")) == 4


def test_pk_prints_the_naltrexone_table_meeting_the_targets(bondsim, tmp_path):
    figure = tmp_path / "pk.png"
    result = bondsim(
        "pk", "naltrexone", "--dose", "50", "--hours", "1", "2", "48", "72", "120", "168", "--plot", figure
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hours,plasma_ng_ml,occupancy")
    table = pd.read_csv(io.StringIO(result.stdout)).set_index("hours")
    assert list(table.index) == [1, 2, 48, 72, 120, 168]
    occ = table["occupancy"]
    assert occ[2] >= 0.90  # Rabiner et al. 2011
    assert 0.70 <= occ[48] <= 0.80  # prescribing information
    assert occ[72] > 0.5 > occ[120]  # blockade half-time 72-108 h (Lee et al. 1988)
    assert table["plasma_ng_ml"][1] == pytest.approx(13.0, rel=0.05)
    assert table["plasma_ng_ml"][48] < 0.01 * table["plasma_ng_ml"][1]
    assert occ[2:].is_monotonic_decreasing
    assert figure.read_bytes()[:8] == PNG_MAGIC


def test_params_lists_every_parameter(capsys):
    assert main(["params", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| name | default | unit | allowed | meaning |")
    assert "| `rejection_rate` | 0.2 | probability | [0, 1] |" in out


# The bad inputs named by the issue, each checked in its own process.
BAD_INPUTS = {
    "unknown parameter": (["run", "--set", "n_agnets=10"], "unknown parameter 'n_agnets'"),
    "negative dose": (["run", "--set", "drug=naltrexone", "--set", "dose_mg=-5"], "dose_mg"),
    "fraction above 1": (["run", "--set", "treated_fraction=1.5"], "treated_fraction"),
    "malformed toml": (["run", "--config", "bad.toml"], "malformed TOML"),
    "missing config": (["run", "--config", "missing.toml"], "config file not found"),
    "zero steps": (["run", "--steps", "0"], "--steps"),
    "unknown drug": (["run", "--set", "drug=aspirin"], "drug = 'aspirin'"),
    "non-numeric value": (["run", "--set", "rejection_rate=high"], "not a number"),
}

# More bad inputs, through the same entry point in this process (no interpreter start-up per case).
MORE_BAD_INPUTS = {
    "negative pk dose": (["pk", "naltrexone", "--dose", "-5"], "--dose"),
    "zero pk dose": (["pk", "naltrexone", "--dose", "0"], "--dose"),
    "unknown pk drug": (["pk", "aspirin", "--dose", "50"], "unknown drug 'aspirin'"),
    "non-numeric pk dose": (["pk", "naltrexone", "--dose", "lots"], "not a number"),
    "negative days": (["run", "--days", "-1"], "--days"),
    "steps and days": (["run", "--steps", "3", "--days", "1"], "not allowed with"),
    "bad seed": (["run", "--seed", "-3"], "--seed"),
    "set without value": (["run", "--set", "dose_mg"], "name=value"),
    "misspelt choice": (["run", "--set", "network=smallworld"], "did you mean 'small_world'"),
    "mean degree too large": (["run", "--set", "n_agents=5"], "mean_degree = 8 must be below n_agents = 5"),
    "nested toml table": (["run", "--config", "nested.toml"], "unexpected table [extra]"),
    "threads on the agents engine": (["run", "--threads", "2"], "threads = 2 needs engine = 'array'"),
    "zero threads": (["run", "--engine", "array", "--threads", "0"], "--threads"),
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory, bondsim_argv):
    """Run every bad input of the issue at once (in parallel), each in its own empty directory."""
    procs = {}
    for name, (args, _) in BAD_INPUTS.items():
        work = tmp_path_factory.mktemp(name.replace(" ", "_"))
        (work / "bad.toml").write_text("[params]\nn_agents = = 3\n")
        cmd = [*bondsim_argv, *args, "--out", "out"]
        procs[name] = (work, subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = {}
    for name, (work, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[name] = (work, proc.returncode, stdout, stderr)
    return results


def check_refusal(status: int, stderr: str, expected: str) -> None:
    assert status == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("bondsim")
    assert expected in lines[0]


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_refused_with_one_line_and_no_output(refused, name):
    work, status, _stdout, stderr = refused[name]
    check_refusal(status, stderr, BAD_INPUTS[name][1])
    assert sorted(p.name for p in work.iterdir()) == ["bad.toml"]  # no output directory, nothing half-written


@pytest.mark.parametrize("name", list(MORE_BAD_INPUTS))
def test_more_bad_input_is_refused(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nested.toml").write_text("n_agents = 50\n[extra]\nkind = 1\n")
    args, expected = MORE_BAD_INPUTS[name]
    if args[0] == "run":
        args = [*args, "--out", "out"]
    try:
        status = main(args)
    except SystemExit as exc:  # argparse refuses before the command runs
        status = exc.code
    check_refusal(status, capsys.readouterr().err, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested.toml"]
