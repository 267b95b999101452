"""bondsim calibrate: the spec's checks, a small real ABC-SMC run, its reproducibility, trials drawn from a posterior.

The runs are real (pyabc, the array engine, Dask), on a small design of this file: a community of
40 people, 12 participants, two 2-day periods, so that a two-generation calibration of six
particles takes seconds per particle set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from bondsim.calibration import posterior as post
from bondsim.calibration.run import calibrate
from bondsim.calibration.spec import from_dict
from bondsim.calibration.spec import load as load_spec
from bondsim.errors import ParameterError
from bondsim.trials import run_design
from bondsim.trials.design import library
from bondsim.trials.design import load as load_design

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "experiments" / "calibration" / "default.toml"

DESIGN = """
[study]
name = "small"
citation = "A small design for the tests (not a study)."
role = "training"
not_represented = ["everything: a test design"]

[community]
size = 40
warmup_days = 7

[participants]
n = 12

[arms.naltrexone]
drug = "naltrexone"
doses_mg = [50.0, 50.0]

[arms.placebo]
drug = "placebo"

[layout]
kind = "crossover"
sequences = [["naltrexone", "placebo"], ["placebo", "naltrexone"]]
period_days = 2
washout_days = 2.0
baseline_days = 0.0
followup_days = 0.0

[[measures]]
name = "daily_connection"
kind = "diary_connection"

[[measures]]
name = "lab_connection"
kind = "lab_connection"
day = 2
hours_after_dose = 1.0

[analysis]
method = "paired"
treatment = "naltrexone"
control = "placebo"

[[outcomes]]
measure = "daily_connection"
training = true
hedges_g = -0.2
note = "a test target"

[[outcomes]]
measure = "lab_connection"
control_mean = 4.5
control_sd = 0.9
training_control = ["mean", "sd"]
note = "a test target"
"""

SPEC = {
    "calibration": {"name": "small", "engine": "array"},
    "abc": {"population": 6, "generations": 2, "initial_epsilon": 20.0, "seed": 5, "trials": 1, "predictive": 3},
    "parameters": {
        "opioid_rating_weight": {"prior": "uniform", "low": 0.02, "high": 0.4},
        "rating_noise": {"prior": "loguniform", "low": 0.3, "high": 1.5},
    },
    "targets": [
        {"name": "g", "source": "test", "design": "small.toml", "measure": "daily_connection",
         "statistic": "hedges_g", "value": -0.2, "scale": 0.1, "scale_source": "test"},
        {"name": "lab_mean", "source": "test", "design": "small.toml", "measure": "lab_connection",
         "statistic": "control_mean", "value": 4.5, "scale": 0.3},
        {"name": "lab_sd", "source": "test", "design": "small.toml", "measure": "lab_connection",
         "statistic": "control_sd", "value": 0.9, "scale": 0.2},
    ],
    "constraints": [
        {"name": "morphine_lowers_calls", "source": "test", "experiment": "separation_distress",
         "treatment": "morphine", "control": "saline", "direction": "lower"},
    ],
}  # fmt: skip


def write_spec(folder: Path, data: dict | None = None) -> Path:
    (folder / "small.toml").write_text(DESIGN)
    path = folder / "spec.toml"
    path.write_text(tomli_w.dumps(data or SPEC))
    return path


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The small spec calibrated in this process (one worker)."""
    folder = tmp_path_factory.mktemp("calibration")
    out = folder / "serial"
    summary = calibrate(write_spec(folder), out, workers=1)
    return folder, out, summary


def test_a_calibration_writes_consistent_outputs(small_run):
    _, out, _ = small_run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["posterior.csv", "generations.csv", "pairplot.png", "targets.csv", "summary.json", "report.md"]
    )
    posterior = pd.read_csv(out / "posterior.csv")
    assert list(posterior.columns) == [
        "opioid_rating_weight", "rating_noise", "rating_person_sd", "rating_occasion_sd", "weight"
    ]  # fmt: skip
    assert len(posterior) == 6 and np.isclose(posterior["weight"].sum(), 1.0)
    assert (
        posterior["opioid_rating_weight"].between(0.02, 0.4).all() and posterior["rating_noise"].between(0.3, 1.5).all()
    )
    # the rating noise is split by the retest correlation 0.7: the squares add up to the total
    np.testing.assert_allclose(posterior["rating_person_sd"] ** 2 + posterior["rating_occasion_sd"] ** 2,
                               posterior["rating_noise"] ** 2, rtol=1e-6)  # fmt: skip
    generations = pd.read_csv(out / "generations.csv")
    assert list(generations["generation"]) == [0, 1]
    assert (generations["particles"] == 6).all()
    np.testing.assert_allclose(generations["acceptance_rate"], 6 / generations["evaluations"])
    assert (generations["simulations"] >= generations["evaluations"]).all()
    assert generations["epsilon"].iloc[1] < generations["epsilon"].iloc[0] == 20.0
    assert (generations["ess"] <= 6 + 1e-9).all() and (generations["ess"] >= 1).all()
    targets = pd.read_csv(out / "targets.csv")
    assert list(targets["target"]) == ["g", "lab_mean", "lab_sd"]
    assert list(targets["published"]) == [-0.2, 4.5, 0.9]
    assert (targets["predictive_low"] <= targets["predictive_mean"]).all()
    assert (targets["predictive_mean"] <= targets["predictive_high"]).all()
    saved = json.loads((out / "summary.json").read_text())
    assert saved["seed"] == 5 and saved["diagnostics"]["particles"] == 6
    assert saved["spec"]["abc"]["population"] == 6 and saved["versions"]["pyabc"].startswith("0.")
    assert [t["name"] for t in saved["training_targets"]] == ["g", "lab_mean", "lab_sd"]
    report = (out / "report.md").read_text()
    for name in ("g", "lab_mean", "lab_sd", "morphine_lowers_calls", "opioid_rating_weight", "rating_noise"):
        assert f"| {name} |" in report
    assert "![posterior pair plot](pairplot.png)" in report


def test_the_report_lists_the_validation_outcomes_it_did_not_read(small_run):
    _, out, summary = small_run
    unread = {row["design"]: row for row in summary["validation_not_read"]}
    assert set(library()) <= set(unread)  # every library study, none read by this spec
    assert "close_connection (g = -0.32)" in unread["inagaki2019"]["outcomes"]
    assert "lab_connection (significant)" in unread["inagaki2016"]["outcomes"]
    assert "small" not in unread  # the only two outcomes of the spec's own design were read
    report = (out / "report.md").read_text()
    assert "## Validation outcomes not read" in report and "| inagaki2019 | validation |" in report


@pytest.mark.slow
def test_the_same_seed_gives_the_same_posterior_serially_and_on_two_workers(small_run):
    folder, serial, _ = small_run
    summary = calibrate(folder / "spec.toml", folder / "dask", workers=2)
    assert summary["runner"]["kind"] == "dask" and summary["runner"]["workers"] == 2
    for name in ("posterior.csv", "generations.csv", "targets.csv"):
        assert (folder / "dask" / name).read_text() == (serial / name).read_text(), name


def test_a_validation_target_is_refused(tmp_path):
    write_spec(tmp_path)
    for design, measure, statistic in (
        ("inagaki2019", "close_connection", "hedges_g"),  # a validation study's drug effect
        ("inagaki2016", "lab_connection", "hedges_g"),  # a training study's validation outcome
        ("inagaki2016", "daily_connection", "control_mean"),  # a level its design does not mark
    ):
        data = json.loads(json.dumps(SPEC))
        data["targets"][0].update(design=design, measure=measure, statistic=statistic)
        with pytest.raises(ParameterError, match="is a validation outcome") as caught:
            from_dict(data, "spec.toml", tmp_path)
        assert "a calibration reads training targets only" in str(caught.value)


def test_the_shipped_spec_reads_exactly_the_outcomes_the_library_marks_as_training():
    spec = load_spec(SHIPPED)
    read = {(spec.designs[t.design].name, t.measure, t.statistic) for t in spec.targets}
    marked = set()
    for name, path in library().items():
        for o in load_design(path).outcomes:
            marked |= {(name, o.measure, "hedges_g")} if o.training else set()
            marked |= {(name, o.measure, f"control_{level}") for level in o.training_control}
    assert read == marked
    assert {"opioid_rating_weight", "opioid_share", "stranger_weight", "appetitive_seeking", "relief_seeking",
            "rating_noise"} <= set(spec.names)  # fmt: skip
    daily = next(t for t in spec.targets if t.statistic == "hedges_g")
    assert (daily.value, daily.design, daily.measure) == (-0.20, "inagaki2016", "daily_connection")
    levels = {(t.measure, t.statistic): t.value for t in spec.targets if t.design == "inagaki2019"}
    assert levels == {
        ("close_connection", "control_mean"): 4.67,
        ("close_connection", "control_sd"): 0.87,
        ("stranger_connection", "control_mean"): 1.97,
        ("stranger_connection", "control_sd"): 0.72,
    }
    assert {c.experiment for c in spec.constraints} == {"separation_distress", "grooming", "state_dependence"}


def test_the_shipped_posterior_comes_from_the_shipped_spec():
    posterior = post.load("default")
    spec = load_spec(SHIPPED)
    assert posterior.parameters == spec.names
    summary = json.loads((post.POSTERIORS / "default.json").read_text())
    assert summary["spec"] == tomllib.loads(SHIPPED.read_text())  # the spec that is shipped made it
    assert summary["diagnostics"]["particles"] == posterior.size == spec.abc.population
    for p in spec.priors:
        assert posterior.particles[p.name].between(p.low, p.high).all(), p.name
    assert np.isclose(posterior.weights.sum(), 1.0)


BAD = {  # change of the spec -> words of the one line
    "unknown key": (lambda d: d["abc"].update(populaton=5),
                    "unknown key 'populaton' in [abc] (did you mean 'population'?)"),
    "unknown table": (lambda d: d.update(prior={}), "unknown table [prior]"),
    "not a parameter": (lambda d: d["parameters"].update(opioid_shar={"prior": "uniform", "low": 0, "high": 1}),
                        "'opioid_shar' is not a parameter (did you mean 'opioid_share'?)"),
    "a setting, not a parameter": (
        lambda d: d["parameters"].update(n_agents={"prior": "uniform", "low": 10, "high": 20}),
        "is not a continuous parameter",
    ),
    "prior outside the declared range": (
        lambda d: d["parameters"]["opioid_rating_weight"].update(high=1.5),
        "the prior [0.02, 1.5] is outside the declared range [0, 1]",
    ),
    "log-uniform from 0": (lambda d: d["parameters"]["rating_noise"].update(low=0.0), "needs low > 0"),
    "validation target": (
        lambda d: d["targets"][0].update(design="inagaki2019", measure="close_connection"),
        "hedges_g of inagaki2019.close_connection is a validation outcome",
    ),
    "missing design file": (lambda d: d["targets"][0].update(design="nowhere.toml"), "design file not found"),
    "unknown measure": (lambda d: d["targets"][0].update(measure="daily"), "is not a measure of small"),
    "unknown constraint experiment": (lambda d: d["constraints"][0].update(experiment="groming"),
                                      "is not one of separation_distress, grooming, state_dependence"),
    "a value the library contradicts": (lambda d: d["targets"][1].update(value=4.0), "but small publishes 4.5"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_spec_is_one_line_and_exit_2(case, tmp_path, bondsim):
    change, words = BAD[case]
    data = json.loads(json.dumps(SPEC))
    change(data)
    path = write_spec(tmp_path, data)
    out = tmp_path / "out"
    r = bondsim("calibrate", str(path), "--out", str(out), "--quiet")
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert words in r.stderr, r.stderr
    assert not out.exists()


def test_a_missing_spec_file_is_one_line(tmp_path, bondsim):
    r = bondsim("calibrate", str(tmp_path / "none.toml"), "--out", str(tmp_path / "out"))
    assert (
        r.returncode == 2
        and r.stderr.strip() == f"bondsim calibrate: error: calibration spec not found: {tmp_path / 'none.toml'}"
    )


def test_without_pyabc_the_command_names_the_extra_in_one_line(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pyabc"] = None
        from bondsim.cli import main
        sys.exit(main(["calibrate", "spec.toml", "--out", "out"]))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=os.environ)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        "bondsim calibrate: error: bondsim calibrate needs the 'calibrate' extra (pyabc is not installed): "
        'pip install "bondsim[calibrate]"'
    ]
    assert not list(tmp_path.iterdir())


def test_a_trial_with_a_posterior_draws_parameter_sets_and_reports_both_intervals(tmp_path, bondsim):
    (tmp_path / "small.toml").write_text(DESIGN)
    particles = pd.DataFrame(
        {
            "opioid_rating_weight": [0.05, 0.2, 0.35],
            "opioid_share": [0.3, 0.5, 0.8],
            "rating_noise": [0.5, 0.7, 0.9],
            "rating_person_sd": [0.5 * 0.7**0.5, 0.7 * 0.7**0.5, 0.9 * 0.7**0.5],
            "rating_occasion_sd": [0.5 * 0.3**0.5, 0.7 * 0.3**0.5, 0.9 * 0.3**0.5],
            "weight": [0.3, 0.4, 0.3],
        }
    )
    particles.to_csv(tmp_path / "posterior.csv", index=False)
    out = tmp_path / "out"
    r = bondsim("trial", str(tmp_path / "small.toml"), "--replications", "6", "--workers", "1", "--quiet",
                "--posterior", str(tmp_path / "posterior.csv"), "--out", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    trials = pd.read_parquet(out / "trials.parquet")
    drawn = trials[trials["parameters"] == "posterior"]
    fixed = trials[trials["parameters"] == "default"]
    assert len(drawn) == len(fixed) == 6 * 2
    assert drawn.groupby("replication")["particle"].first().nunique() >= 2  # different parameter sets per trial
    assert list(drawn["seed"]) == list(fixed["seed"])  # the same trials, at the default parameters
    assert not np.allclose(drawn["hedges_g"], fixed["hedges_g"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["posterior"]["particles"] == 3 and len(summary["posterior"]["sha256"]) == 64
    assert summary["posterior"]["name"] == str(tmp_path / "posterior.csv")
    for m in ("daily_connection", "lab_connection"):
        s = summary["measures"][m]
        assert s["prediction_low"] <= s["prediction_high"]
        assert s["sampling_only"]["prediction_low"] <= s["sampling_only"]["prediction_high"]
    report = (out / "report.md").read_text()
    assert "with parameter uncertainty" in report and "sampling only (default parameters)" in report
    # the same seed draws the same particles
    again = run_design(tmp_path / "small.toml", tmp_path / "again", replications=6, workers=1,
                       posterior=post.load(tmp_path / "posterior.csv"))  # fmt: skip
    for key in ("hedges_g", "prediction_low", "prediction_high"):
        assert again["measures"]["daily_connection"][key] == summary["measures"]["daily_connection"][key]


def test_without_a_posterior_a_trial_is_what_it_was(tmp_path):
    (tmp_path / "small.toml").write_text(DESIGN)
    summary = run_design(tmp_path / "small.toml", tmp_path / "out", replications=3, workers=1)
    assert "posterior" not in summary and "sampling_only" not in summary["measures"]["daily_connection"]
    assert "parameters" not in pd.read_parquet(tmp_path / "out" / "trials.parquet").columns


def test_a_bad_posterior_is_one_line(tmp_path, bondsim):
    (tmp_path / "bad.csv").write_text("opioid_rating_weight\n0.1\n")
    r = bondsim("trial", "inagaki2019", "--posterior", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "needs a 'weight' column" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = bondsim("trial", "inagaki2019", "--posterior", "nope", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "posterior not found: nope (shipped posteriors: default" in r.stderr
