"""Sweeps that compare arms with common random numbers, categorical factors, one run of a sweep again,
seeds that stay integers, and the diagnostics of sensitivity indices."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondsim import sweep
from bondsim.batch import seed_for
from bondsim.errors import UserError
from bondsim.model import BondingModel
from bondsim.params import ParameterError, Params, with_overrides

BONDSIM = [sys.executable, "-m", "bondsim.cli"]

# 2 points x 4 replicates x 2 arms = 16 tiny runs; the drug starts on day 1 of 2
COMPARE = """
[sweep]
design = "grid"
replicates = 4
days = 2
seed = 11
record = "every:6"

[fixed]
n_agents = 30
dosing_start_day = 1

[vary]
rejection_rate = [0.1, 0.4]

[compare]
placebo = { drug = "placebo" }
naltrexone = { drug = "naltrexone", dose_mg = 50 }
"""

# a Sobol design over a number and a categorical factor, each point run in two arms
SOBOL_COMPARE = """
[sweep]
design = "sobol"
samples = 16
days = 1
seed = 5
record = "every:8"

[fixed]
n_agents = 30

[vary]
rejection_rate = { low = 0.0, high = 0.6 }
network = { choices = ["small_world", "random"] }

[compare]
placebo = { drug = "placebo" }
naltrexone = { drug = "naltrexone", dose_mg = 50 }
"""


def spec_of(text: str) -> sweep.SweepSpec:
    return sweep.parse_spec(tomllib.loads(text))


def cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*BONDSIM, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "sweep"
    assert sweep.run_sweep(spec_of(COMPARE), out, workers=1).done == 16
    return out


# ------------------------------------------------------------------------------ the spec
def test_every_arm_of_a_point_and_replicate_has_its_seed():
    spec = spec_of(COMPARE)
    assert spec.arm_names == ("placebo", "naltrexone") and spec.n_runs == 2 * 4 * 2
    plan = sweep.plan(spec)
    assert list(plan.columns) == ["run", "point", "replicate", "arm", "seed", "rejection_rate"]
    assert plan["seed"].dtype == np.int64
    for (point, rep), pair in plan.groupby(["point", "replicate"]):
        assert list(pair["arm"]) == ["placebo", "naltrexone"]
        assert set(pair["seed"]) == {seed_for(11, point, rep)}  # the seed of a sweep without arms
    # the arms' changes come after the fixed values and before the point's
    task = spec.task(1)
    assert task.arm == "naltrexone" and task.params().drug == "naltrexone" and task.params().dose_mg == 50
    assert spec.task(0).params().drug == "placebo" and spec.task(0).params().dosing_start_day == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('[compare]\nplacebo = { drug = "placebo" }', r"\[compare\] must name two or more arms"),
        ('[compare]\na = { drug = "placebo" }\nb = { dose = 3 }', r"\[compare\] b: unknown parameter 'dose'"),
        ('[compare]\na = { drug = "placebo" }\nb = { drug = "aspirin" }', r"\[compare\] b: "),
        ('[compare]\na = { rejection_rate = 0.2 }\nb = { drug = "placebo" }', r"both in \[vary\] and in \[compare\] a"),
        ('[compare]\na = { drug = "placebo" }\n"2b" = { drug = "placebo" }', "arm '2b': name arms with letters"),
        ('[compare]\na = "placebo"\nb = { drug = "placebo" }', r"\[compare\] a must be a table of parameter changes"),
    ],
)
def test_bad_arms_are_refused_with_one_line(change, message):
    text = COMPARE.split("[compare]")[0] + change + "\n"
    with pytest.raises(ParameterError, match=message) as info:
        spec_of(text)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------------- the runs, paired
@pytest.mark.slow
def test_paired_runs_share_their_seed_and_are_identical_until_the_arms_differ(compared):
    data = sweep.results(compared)
    assert data["seed"].dtype == np.int64 and list(data.columns[:5]) == ["run", "point", "replicate", "arm", "seed"]
    assert set(data["arm"]) == {"placebo", "naltrexone"}
    assert (data.groupby(["point", "replicate"])["seed"].nunique() == 1).all()

    # a run of an arm is the model run with the arm's parameters and the pair's seed
    row = data[(data["point"] == 1) & (data["replicate"] == 2) & (data["arm"] == "naltrexone")]
    params = with_overrides(
        Params(engine="array"),
        {"n_agents": 30, "dosing_start_day": 1, "drug": "naltrexone", "dose_mg": 50, "rejection_rate": 0.4},
    )
    model = BondingModel(params, seed=int(row["seed"].to_numpy()[0]))
    model.run(48)
    direct = model.datacollector.get_model_vars_dataframe().set_index("step")
    last = row[row["step"] == 48].iloc[0]
    assert float(last["distress"]) == float(direct.loc[48, "distress"])

    # before the first dose the two arms of a pair are the same run, bit for bit
    split = sweep.divergence(compared)
    assert len(split) == 1 and split["identical_pairs"].iloc[0] == 0
    assert split["last_same_hours"].iloc[0] >= 24 > split["first_hours"].iloc[0] - 6 - 1e-9
    course = sweep.contrast_course(compared, ["distress", "felt_connection"])
    assert (course.loc[course["hours"] < 24, "mean"] == 0).all()
    assert (course.loc[course["hours"] < 24, "sd"] == 0).all()
    assert course.loc[(course["hours"] == 48) & (course["metric"] == "distress"), "mean"].abs().min() > 0


@pytest.mark.slow
def test_contrast_tables_are_the_paired_differences_with_t_intervals(compared):
    from scipy import stats

    table = sweep.contrasts(compared, ["distress"])
    finals = sweep.final_values(compared)
    for point in (0, 1):
        part = finals[finals["point"] == point].set_index(["replicate", "arm"])["distress"].unstack("arm")
        diff = (part["naltrexone"] - part["placebo"]).to_numpy()
        row = table[table["point"] == point].iloc[0]
        assert row["contrast"] == "naltrexone - placebo" and row["n"] == 4
        assert row["mean"] == pytest.approx(diff.mean(), abs=1e-14)
        half = stats.t.ppf(0.975, 3) * diff.std(ddof=1) / 2
        assert row["ci_high"] - row["mean"] == pytest.approx(half, rel=1e-9)
        independent = part["naltrexone"].var(ddof=1) + part["placebo"].var(ddof=1)
        assert row["variance_ratio"] == pytest.approx(independent / diff.var(ddof=1), rel=1e-9)


@pytest.mark.slow
def test_analyze_writes_contrasts_and_says_what_pairing_saved(compared):
    r = cli("analyze", str(compared))
    assert r.returncode == 0, r.stderr
    analysis = compared / "analysis"
    for name in ("contrast.csv", "contrast_course.csv", "contrast_naltrexone.png", "summary.csv"):
        assert (analysis / name).is_file(), name
    assert "pairing by seed divides the variance of the difference" in r.stderr
    assert "identical up to hour 24" in r.stderr
    info = json.loads((analysis / "analysis.json").read_text())
    assert info["arms"] == ["placebo", "naltrexone"] and "naltrexone - placebo" in info["pairing"]
    summary = pd.read_csv(analysis / "summary.csv")
    assert set(summary["arm"]) == {"placebo", "naltrexone"}


@pytest.mark.slow
def test_a_compare_sweep_grows_by_extend_with_every_arm(compared, tmp_path):
    import shutil

    out = tmp_path / "grown"
    shutil.copytree(compared, out)
    shutil.rmtree(out / "analysis", ignore_errors=True)
    bigger = spec_of(COMPARE.replace("replicates = 4", "replicates = 5"))
    report = sweep.run_sweep(bigger, out, workers=1, extend=True)
    assert report.added == 4 and report.done == 20
    plan = sweep.read_plan(out)
    new = plan[plan["replicate"] == 4]
    assert list(new["arm"]) == ["placebo", "naltrexone"] * 2 and list(new["run"]) == [16, 17, 18, 19]
    old = sweep.results(compared)
    grown = sweep.results(out)
    pd.testing.assert_frame_equal(grown[grown["run"] < 16].reset_index(drop=True), old, check_exact=True)


# ----------------------------------------------------------------- categorical factors
def test_categorical_factors_in_lhs_take_each_level_equally_often():
    text = COMPARE.split("[vary]")[0].replace('design = "grid"', 'design = "lhs"\nsamples = 12') + (
        "[vary]\nrejection_rate = { low = 0.0, high = 0.6 }\n"
        'network = { choices = ["small_world", "random", "scale_free"] }\n'
    )
    spec = spec_of(text)
    networks = [p["network"] for p in spec.points]
    assert sorted(set(networks)) == ["random", "scale_free", "small_world"]
    assert {n: networks.count(n) for n in set(networks)} == {"random": 4, "scale_free": 4, "small_world": 4}
    assert spec.bounds["network"] == (0.0, 3.0)
    assert sweep.plan(spec)["network"].isin(["random", "scale_free", "small_world"]).all()


def test_categorical_levels_follow_the_salib_sample_as_ema_workbench_does():
    from bondsim.sweep import designs

    spec = spec_of(SOBOL_COMPARE)
    x = designs.sobol_matrix(spec.varied, spec.bounds, 16, False, spec.seed)
    assert len(spec.points) == len(x) == 16 * 4
    expected = [["small_world", "random"][min(int(np.floor(u)), 1)] for u in x[:, 1]]
    assert [p["network"] for p in spec.points] == expected
    assert designs.level(2.0, ["a", "b"]) == "b" and designs.level(0.999, ["a", "b"]) == "a"


def test_mechanism_lists_and_drugs_as_categorical_factors_in_a_morris_design():
    base = list(Params().mechanisms)
    without = [m for m in base if not m.endswith("separation")]
    text = f"""
[sweep]
design = "morris"
samples = 4
levels = 4
steps = 6
seed = 2

[fixed]
n_agents = 20

[vary]
dose_mg = {{ low = 0.0, high = 100.0 }}
drug = {{ choices = ["naltrexone", "morphine"] }}
mechanisms = {{ choices = [{json.dumps(base)}, {json.dumps(without)}] }}
"""
    spec = spec_of(text)
    assert spec.choices["drug"] == ("naltrexone", "morphine")
    assert {tuple(p["mechanisms"]) for p in spec.points} <= {tuple(base), tuple(without)}
    plan = sweep.plan(spec)
    assert set(plan["mechanisms"]) <= {", ".join(base), ", ".join(without)}
    assert spec.task(0).params().mechanisms in (tuple(base), tuple(without))


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ('network = { choices = ["ring"] }', "choices must list at least two levels"),
        ('network = { choices = ["random", "torus"] }', "\\[vary\\] network: network = 'torus' is not allowed"),
        ('network = { choices = ["random", "random"] }', "choices list a level twice"),
        ('network = { choices = ["ring", "random"], low = 1 }', "takes no other key"),
        ("network = { low = 0, high = 1 }", 'sample network from its levels with network = { choices = \\["'),
        ('mechanisms = ["bondsim.mechanisms.tone"]', "mechanisms must be \\{ choices"),
    ],
)
def test_bad_categorical_factors_are_refused_with_one_line(vary, message):
    text = SOBOL_COMPARE.split("[vary]")[0] + "[vary]\nrejection_rate = { low = 0.0, high = 0.6 }\n" + vary + "\n"
    with pytest.raises(ParameterError, match=message) as info:
        spec_of(text)
    assert "\n" not in str(info.value)


# --------------------------------------------------------- Sobol of a contrast, diagnostics
@pytest.mark.slow
def test_sobol_indices_of_a_contrast_over_time_with_diagnostics(tmp_path):
    out = tmp_path / "sobol"
    assert sweep.run_sweep(spec_of(SOBOL_COMPARE), out, workers=1).done == 16 * 4 * 2
    metrics = ["distress", "mean_occupancy"]
    first = sweep.sobol_indices(out, metrics)
    assert set(first["contrast"]) == {"naltrexone - placebo"}
    assert set(first["parameter"]) == {"rejection_rate", "network"}
    np.testing.assert_array_equal(first["S1_above_ST"], first["S1"] - first["S1_conf"] > first["ST"] + first["ST_conf"])

    sums = sweep.sobol_diagnostics(out, metrics)
    for row in sums.itertuples():
        part = first[first["metric"] == row.metric]
        assert row.sum_S1 == pytest.approx(part["S1"].sum(), abs=1e-12)
        assert row.N == 16 and row.N_to_settle >= 16 and row.N_to_settle & (row.N_to_settle - 1) == 0
        assert row.wide == int(part["S1_wide"].sum() + part["ST_wide"].sum())

    over = sweep.sobol_over_time(out, metrics)
    assert sorted(over["step"].unique()) == [8, 16, 24]  # step 0: the arms are the same run, no contrast
    final = over[over["step"] == 24].set_index(["metric", "parameter"])
    np.testing.assert_allclose(final["S1"], first.set_index(["metric", "parameter"]).loc[final.index, "S1"])

    convergence = sweep.sobol_convergence(out, metrics)
    assert sorted(convergence["N"].unique()) == [8, 16]
    at16 = convergence[convergence["N"] == 16].set_index(["metric", "parameter"])
    np.testing.assert_allclose(at16["S1"], first.set_index(["metric", "parameter"]).loc[at16.index, "S1"])

    levels = sweep.levels(out, metrics)
    assert list(levels["level"].unique()) == ["small_world", "random"]
    assert int(levels[levels["metric"] == "distress"]["n"].sum()) == 16 * 4

    r = cli("analyze", str(out), "--metrics", ",".join(metrics))
    assert r.returncode == 0, r.stderr
    written = set((out / "analysis").iterdir())
    for name in ("sobol.csv", "sobol_diagnostics.csv", "sobol_time.csv", "sobol_time_naltrexone.png", "levels.csv"):
        assert out / "analysis" / name in written, name
    assert "sum of first-order Sobol indices" in r.stderr
    for line in r.stderr.splitlines():
        if "interval wider than the index" in line:
            assert "increase samples (about N = " in line


# ----------------------------------------------------------------- one run again, seeds
@pytest.mark.slow
def test_one_run_of_a_sweep_again_is_bit_identical(compared, tmp_path):
    from bondsim.sweep.reproduce import identical, rerun

    found, result = rerun(compared, 13)
    assert found.task.arm == "naltrexone" and found.task.seed == seed_for(11, 1, 2)
    stored = pd.read_parquet(compared / "runs" / "run-000013.parquet")
    pd.testing.assert_frame_equal(result.rows, stored, check_exact=True)
    assert identical(found, result.rows) is True

    r = cli("run", "--from-sweep", str(compared), "--run", "13", "--out", str(tmp_path / "again"))
    assert r.returncode == 0, r.stderr
    assert "identical to" in r.stdout
    info = json.loads((tmp_path / "again" / "run.json").read_text())
    assert info["identical_to_sweep"] is True and info["seed"] == seed_for(11, 1, 2) and info["arm"] == "naltrexone"
    rows = pd.read_csv(tmp_path / "again" / "timeseries.csv")
    assert rows["seed"].dtype == np.int64 and (rows["seed"] == stored["seed"]).all()
    np.testing.assert_array_equal(rows["distress"].to_numpy(), stored["distress"].to_numpy())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run", "99"], "has no run 99: its runs are numbered 0 to 15"),
        (["--run", "1", "--seed", "3"], "--seed cannot go with --from-sweep"),
        (["--run", "1", "--set", "n_agents=40"], "--set cannot go with --from-sweep"),
        ([], "--from-sweep needs --run ID"),
    ],
)
@pytest.mark.slow
def test_bad_reruns_are_one_line_and_exit_2(compared, tmp_path, args, message):
    r = cli("run", "--from-sweep", str(compared), *args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_seeds_are_64_bit_integers_in_every_file(compared):
    plan = sweep.read_plan(compared)
    expected = [seed_for(11, p, k) for p, k in zip(plan["point"], plan["replicate"], strict=True)]
    assert plan["seed"].dtype == np.int64 and plan["seed"].tolist() == expected
    assert max(expected) > 2**53  # a float would round them
    assert sweep.results(compared)["seed"].dtype == np.int64
    manifest = json.loads((compared / "manifest.json").read_text())
    assert manifest["seeds"]["master"] == 11 and "every arm" in manifest["seeds"]["rule"]


# ----------------------------------------------------------------------- a wrong file
@pytest.mark.slow
def test_a_manifest_or_dataset_given_as_spec_is_named_in_one_line(compared, tmp_path):
    r = cli("sweep", str(compared / "manifest.json"), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "is the manifest (JSON) of the sweep in" in r.stderr and "malformed TOML" not in r.stderr
    r = cli("sweep", str(compared / "runs" / "run-000000.parquet"), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "a Parquet file (a dataset), not a sweep spec" in r.stderr
    r = cli("sweep", str(compared), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "is a folder, not a sweep spec" in r.stderr and "--resume" in r.stderr
    assert not (tmp_path / "x").exists()


def test_a_toml_error_is_still_reported_as_such(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep\ndesign = 'grid'\n")
    with pytest.raises(UserError) as info:
        sweep.load_spec(bad)
    assert "manifest" not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow
def test_morris_of_a_contrast_with_a_categorical_factor_at_every_recorded_time(tmp_path):
    text = SOBOL_COMPARE.replace('design = "sobol"\nsamples = 16', 'design = "morris"\nsamples = 4\nlevels = 4')
    spec = spec_of(text)
    out = tmp_path / "morris"
    assert sweep.run_sweep(spec, out, workers=1).done == 4 * 3 * 2
    table = sweep.morris_indices(out, ["distress", "mean_occupancy"])
    assert set(table["contrast"]) == {"naltrexone - placebo"} and set(table["parameter"]) == {
        "rejection_rate",
        "network",
    }
    assert (table["mu_star"] >= table["mu"].abs() - 1e-12).all()
    np.testing.assert_array_equal(table["mu_star_wide"], 2 * table["mu_star_conf"] > table["mu_star"].abs())
    over = sweep.morris_over_time(out, ["distress"])
    assert sorted(over["step"].unique()) == [8, 16, 24]
    final = over[over["step"] == 24].set_index("parameter")["mu_star"]
    np.testing.assert_allclose(
        final, table[table["metric"] == "distress"].set_index("parameter").loc[final.index, "mu_star"]
    )
    info = sweep.analyze(out)
    assert {"morris.csv", "morris_naltrexone.png", "morris_time.csv", "morris_time_naltrexone.png"} <= set(
        info["written"]
    )
