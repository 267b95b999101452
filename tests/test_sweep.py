"""Parameter sweeps: spec checks, designs, seeds, Dask execution, resume, failures, analysis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondsim import sweep
from bondsim.errors import UserError
from bondsim.model import BondingModel
from bondsim.params import ParameterError, Params
from bondsim.sweep import analyze, summarize

BONDSIM = [sys.executable, "-m", "bondsim.cli"]

# 3 x 2 grid points x 4 replicates = 24 tiny runs (40 people, one day)
GRID = """
[sweep]
design = "grid"
replicates = 4
days = 1
seed = 42
record = "every:8"

[fixed]
n_agents = 40
drug = "naltrexone"

[vary]
rejection_rate = [0.1, 0.3, 0.6]
dose_mg = [0, 50]
"""

FAILING = """
[sweep]
design = "grid"
replicates = 2
steps = 12
seed = 7

[fixed]
n_agents = 30

[vary]
mean_degree = [4, 40]   # 40 >= n_agents: the model refuses these runs
"""

SOBOL = """
[sweep]
design = "sobol"
samples = 8
steps = 12
seed = 3

[fixed]
n_agents = 30
drug = "naltrexone"

[vary]
rejection_rate = { low = 0.0, high = 0.6 }
dose_mg = { low = 0.0, high = 100.0 }
"""


def spec_of(text: str):
    import tomllib

    return sweep.parse_spec(tomllib.loads(text))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*BONDSIM, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


# ------------------------------------------------------------------------ spec and designs
def test_grid_design_is_the_product_in_spec_order():
    spec = spec_of(GRID)
    assert spec.n_points == 6 and spec.n_runs == 24
    assert spec.varied == ("rejection_rate", "dose_mg")
    assert [tuple(p.values()) for p in spec.points] == [
        (0.1, 0.0),
        (0.1, 50.0),
        (0.3, 0.0),
        (0.3, 50.0),
        (0.6, 0.0),
        (0.6, 50.0),
    ]
    assert spec.fixed["engine"] if "engine" in spec.fixed else spec.base.engine == "array"
    assert spec.steps is None and spec.days == 1.0 and spec.record_every == 8


def test_list_design_from_lists_and_from_points_tables():
    a = spec_of(
        '[sweep]\ndesign = "list"\nsteps = 5\nseed = 1\n[vary]\nn_agents = [30, 60]\ndrug = ["none", "morphine"]'
    )
    b = spec_of(
        '[sweep]\ndesign = "list"\nsteps = 5\nseed = 1\n[[points]]\nn_agents = 30\ndrug = "none"\n'
        '[[points]]\nn_agents = 60\ndrug = "morphine"'
    )
    assert a.points == b.points == ({"n_agents": 30, "drug": "none"}, {"n_agents": 60, "drug": "morphine"})


def test_lhs_points_are_stratified_within_bounds_and_integers_stay_integers():
    spec = spec_of(
        '[sweep]\ndesign = "lhs"\nsamples = 20\nsteps = 5\nseed = 9\n[vary]\n'
        "rejection_rate = { low = 0.2, high = 0.4 }\nn_agents = { low = 30, high = 90 }"
    )
    x = np.array([p["rejection_rate"] for p in spec.points])
    assert spec.n_points == 20 and x.min() >= 0.2 and x.max() <= 0.4
    # Latin hypercube: exactly one sample in each of the 20 equal strata
    assert sorted(np.floor((x - 0.2) / 0.2 * 20).astype(int).clip(0, 19)) == list(range(20))
    assert all(isinstance(p["n_agents"], int) and 30 <= p["n_agents"] <= 90 for p in spec.points)
    assert (
        spec_of(
            '[sweep]\ndesign = "lhs"\nsamples = 20\nsteps = 5\nseed = 9\n[vary]\n'
            "rejection_rate = { low = 0.2, high = 0.4 }\nn_agents = { low = 30, high = 90 }"
        ).points
        == spec.points
    )


def test_sobol_design_has_saltelli_size():
    spec = spec_of(SOBOL)
    assert spec.n_points == 8 * (2 + 2)  # N (D + 2) without second order
    second = spec_of(SOBOL.replace("seed = 3", "seed = 3\nsecond_order = true"))
    assert second.n_points == 8 * (2 * 2 + 2)


def test_run_seeds_follow_seedsequence_spawn_and_do_not_depend_on_the_design_size():
    spawned = np.random.SeedSequence(42).spawn(30)
    for r in (0, 1, 29):
        expected = int(spawned[r].generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        assert sweep.run_seed(42, r) == expected
    plan = sweep.plan(spec_of(GRID))
    seeds = plan["seed"]
    assert seeds.is_unique and (seeds >= 0).all()
    # a run's seed follows its (design point, replicate), not its run number
    assert [sweep.seed_for(42, p, k) for p, k in zip(plan["point"], plan["replicate"], strict=True)] == list(seeds)
    more = sweep.plan(spec_of(GRID.replace("replicates = 4", "replicates = 5"))).set_index(["point", "replicate"])
    assert list(more.loc[list(zip(plan["point"], plan["replicate"], strict=True)), "seed"]) == list(seeds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sweep]\ndesign = 'gird'\n[vary]\ndose_mg = [1]", "did you mean 'grid'"),
        ("[sweep]\nrepeats = 3\n[vary]\ndose_mg = [1]", "unknown setting 'repeats' in [sweep]"),
        ("[sweep]\n[vary]\ndose_mgg = [1]", "unknown parameter 'dose_mgg' (did you mean 'dose_mg'?)"),
        ("[sweep]\n[fixed]\nn_agent = 5\n[vary]\ndose_mg = [1]", "unknown parameter 'n_agent'"),
        ("[sweep]\n[vary]\nrejection_rate = [0.1, 1.5]", "rejection_rate = 1.5 is out of range"),
        ("[sweep]\ndesign = 'lhs'\nsamples = 8\n[vary]\ndose_mg = { low = 50, high = 10 }", "low = 50 must be below"),
        ("[sweep]\ndesign = 'lhs'\nsamples = 8\n[vary]\ndose_mg = { low = 0, high = 2000 }", "out of range"),
        ("[sweep]\ndesign = 'lhs'\n[vary]\ndose_mg = { low = 0, high = 20 }", "samples is missing"),
        ("[sweep]\ndesign = 'sobol'\nsamples = 10\n[vary]\ndose_mg = { low = 0, high = 20 }", "power of 2"),
        ("[sweep]\ndesign = 'lhs'\nsamples = 8\n[vary]\ndrug = { low = 0, high = 1 }", "vary numbers"),
        ("[sweep]\nreplicates = 3", "[vary] is missing or empty"),
        ("[sweep]\ndays = 2\nsteps = 4\n[vary]\ndose_mg = [1]", "both steps and days"),
        ("[sweep]\nrecord = 'sometimes'\n[vary]\ndose_mg = [1]", "record = 'sometimes' is not allowed"),
        ("[sweep]\nreplicates = 0\n[vary]\ndose_mg = [1]", "replicates = 0 must be an integer >= 1"),
        ("[sweep]\n[fixed]\ndose_mg = 1\n[vary]\ndose_mg = [1, 2]", "both in [fixed] and in [vary]"),
        ("[sweep]\n[fixed]\nn_agents = 5\n[vary]\ndose_mg = [1]", "mean_degree = 8 must be below n_agents = 5"),
        ("[sweeps]\n[vary]\ndose_mg = [1]", "unknown table [sweeps]"),
        ("[sweep]\ndesign = 'list'\n[vary]\ndose_mg = [1, 2]\nn_agents = [30]", "same length"),
    ],
)
def test_bad_specs_are_refused_with_one_line(text, message):
    with pytest.raises(ParameterError) as info:
        spec_of(text)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_specs_from_the_cli_exit_2_and_write_nothing(tmp_path):
    bad = write(tmp_path / "bad.toml", "[sweep]\ndesign = 'lhs'\nsamples = 8\n[vary]\ndose_mg = { low = 5, high = 1 }")
    r = cli("sweep", str(bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["bondsim sweep: error: [vary] dose_mg: low = 5 must be below high = 1"]
    all_bad = write(tmp_path / "all_bad.toml", FAILING.replace("[4, 40]", "[35, 40]"))
    r = cli("sweep", str(all_bad), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and "every design point is refused" in r.stderr
    assert not (tmp_path / "out").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "all_bad.toml",
        "bad.toml",
    ]


# --------------------------------------------------------------------------- on Dask
@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The grid sweep, uninterrupted, on a LocalCluster of two worker processes."""
    out = tmp_path_factory.mktemp("sweeps") / "two_workers"
    report = sweep.run_sweep(spec_of(GRID), out, workers=2)
    assert (report.done, report.failed, report.resumed) == (24, 0, 0)
    return out, report.results()


@pytest.mark.cluster
def test_dataset_rows_columns_and_manifest(reference):
    out, frame = reference
    # every:8 over 24 steps records steps 0, 8, 16 and 24
    assert len(frame) == 24 * 4 and sorted(frame["step"].unique()) == [0, 8, 16, 24]
    assert list(frame.columns[:8]) == [
        "run",
        "point",
        "replicate",
        "seed",
        "n_agents",
        "drug",
        "rejection_rate",
        "dose_mg",
    ]
    assert (frame.groupby("run")["seed"].nunique() == 1).all() and frame["seed"].nunique() == 24
    assert sorted(p.name for p in (out / "runs").iterdir()) == [f"run-{r:06d}.parquet" for r in range(24)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"] == {"runs": 24, "done": 24, "failed": 0}
    assert manifest["cluster"] == {"kind": "processes", "scheduler": None, "workers": 2}  # not too small for workers
    assert manifest["seeds"]["master"] == 42 and manifest["spec"]["vary"]["dose_mg"] == [0, 50]
    assert {"dask", "distributed", "pyarrow", "SALib", "mesa"} <= set(manifest["versions"])
    assert pd.read_csv(out / "failures.csv").empty
    plan = pd.read_csv(out / "plan.csv")
    assert list(plan["seed"]) == list(frame.groupby("run")["seed"].first())


@pytest.mark.cluster
def test_each_run_equals_a_direct_model_run_with_its_seed(reference):
    _, frame = reference
    run = frame[frame["run"] == 9]
    row = run.iloc[0]
    params = Params(
        engine="array", n_agents=40, drug="naltrexone", rejection_rate=row["rejection_rate"], dose_mg=row["dose_mg"]
    )
    direct = BondingModel(params, seed=int(row["seed"])).run(24)
    expected = direct[direct["step"] % 8 == 0].reset_index(drop=True)
    got = run[expected.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_dtype=False)


@pytest.mark.cluster
def test_one_worker_gives_the_same_dataset(reference, tmp_path):
    report = sweep.run_sweep(spec_of(GRID), tmp_path / "one", workers=1, max_in_flight=3)
    pd.testing.assert_frame_equal(report.results(), reference[1], check_exact=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.cluster
@pytest.mark.slow
def test_external_scheduler_and_workers_give_the_same_dataset(reference, tmp_path):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        r = cli(
            "sweep",
            str(write(tmp_path / "grid.toml", GRID)),
            "--out",
            str(tmp_path / "ext"),
            "--scheduler",
            address,
            "--quiet",
        )
        assert r.returncode == 0, r.stderr
        assert json.loads((tmp_path / "ext" / "manifest.json").read_text())["cluster"]["scheduler"] == address
        pd.testing.assert_frame_equal(sweep.results(tmp_path / "ext"), reference[1], check_exact=True)
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=30)


SLOW_GRID = GRID.replace("n_agents = 40", "n_agents = 1500").replace("days = 1", "days = 4")


@pytest.mark.cluster
@pytest.mark.slow
def test_a_worker_that_dies_mid_sweep_loses_no_runs(tmp_path):
    """Two workers without nannies on an external scheduler; one is killed while runs are in flight."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker_cmd = [dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--no-dashboard"]
    workers = [subprocess.Popen(worker_cmd, **quiet) for _ in range(2)]
    out = tmp_path / "out"
    try:
        spec_file = write(tmp_path / "slow.toml", SLOW_GRID)
        proc = subprocess.Popen(
            [*BONDSIM, "sweep", str(spec_file), "--out", str(out), "--scheduler", address, "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 180
        while len(list((out / "runs").glob("run-*.parquet"))) < 2 and proc.poll() is None:
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.05)
        done_at_kill = len(list((out / "runs").glob("run-*.parquet")))
        os.killpg(workers[0].pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, stderr
        assert done_at_kill < 24, "the worker was killed after the sweep had finished"
    finally:
        for p in [*workers, scheduler]:  # a worker without a nanny may linger on SIGTERM: stop it outright
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
    spec = spec_of(SLOW_GRID)
    got = sweep.results(out)
    assert sorted(got["run"].unique()) == list(range(24)) and pd.read_csv(out / "failures.csv").empty
    for run in (0, 23):  # spot-check runs against a direct, in-process run with the same seed
        expected = sweep.execute(spec.task(run))
        pd.testing.assert_frame_equal(
            got[got["run"] == run].reset_index(drop=True), expected, check_exact=True, check_dtype=False
        )


@pytest.mark.cluster
@pytest.mark.slow
def test_killed_sweep_resumes_to_the_uninterrupted_dataset(reference, tmp_path):
    spec_file = write(tmp_path / "grid.toml", GRID)
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [*BONDSIM, "sweep", str(spec_file), "--out", str(out), "--workers", "1", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(sweep.finished_runs(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its cluster, without warning
        proc.wait(timeout=30)
    done = sweep.finished_runs(out)
    assert 3 <= len(done) < 24, "the sweep should be killed part-way"
    for r in done:  # only complete files: every one reads
        assert len(pd.read_parquet(sweep.run_path(out, r))) == 4
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"

    r = cli("sweep", str(spec_file), "--out", str(out), "--workers", "2", "--resume")
    assert r.returncode == 0, r.stderr
    assert f"({len(done)} already done)" in r.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["done"] == 24
    pd.testing.assert_frame_equal(sweep.results(out), reference[1], check_exact=True)
    assert not list((out / "runs").glob(".*"))

    # resuming a finished sweep does nothing; a changed spec or a fresh start over it is refused
    assert sweep.run_sweep(spec_of(GRID), out, resume=True).resumed == 24
    with pytest.raises(UserError, match="spec differs"):
        sweep.run_sweep(spec_of(GRID.replace("seed = 42", "seed = 43")), out, resume=True)
    with pytest.raises(UserError, match="use --resume"):
        sweep.run_sweep(spec_of(GRID), out)


@pytest.mark.cluster
def test_failing_runs_are_recorded_and_the_others_finish(tmp_path):
    spec_file = write(tmp_path / "failing.toml", FAILING)
    r = cli("sweep", str(spec_file), "--out", str(tmp_path / "out"), "--workers", "2")
    assert r.returncode == 1
    assert "warning: 1 of 2 design points break a rule" in r.stderr
    assert "2 of 4 runs failed" in r.stderr and "failures.csv" in r.stderr
    table = sweep.failures(tmp_path / "out")
    assert list(table["run"]) == [2, 3] and list(table["mean_degree"]) == [40, 40]
    assert (table["error"] == "ParameterError: mean_degree = 40 must be below n_agents = 30").all()
    assert sorted(sweep.results(tmp_path / "out")["run"]) == [0, 1]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["counts"] == {"runs": 4, "done": 2, "failed": 2}

    info = analyze(tmp_path / "out")
    assert info["runs_analyzed"] == 2 and (tmp_path / "out" / "analysis" / "summary.csv").is_file()


def test_runs_that_raise_inside_a_worker_become_failures():
    task = spec_of(FAILING).task(2)
    run, rows, error = sweep.run_task(task)
    assert (run, rows) == (2, None) and error.startswith("ParameterError: mean_degree = 40")
    run, rows, error = sweep.run_task(spec_of(FAILING).task(0))
    assert error is None and len(rows) == 1 and rows["step"].iloc[0] == 12


# ----------------------------------------------------------------------------- analysis
@pytest.mark.cluster
def test_grid_analysis_tables_and_figures(reference, tmp_path):
    out, frame = reference
    info = analyze(out, tmp_path / "analysis")
    written = set(info["written"])
    assert {
        "summary.csv",
        "final.csv",
        "response_rejection_rate.png",
        "response_dose_mg.png",
        "heatmap_rejection_rate_dose_mg.png",
    } <= written
    for name in written:
        assert (tmp_path / "analysis" / name).stat().st_size > 0
    summary = summarize(out)
    finals = frame[frame["step"] == 24]
    tone = summary[summary["metric"] == "mean_tone"].set_index("point")
    expected = finals.groupby("point")["mean_tone"].agg(["mean", "std", "count"])
    np.testing.assert_allclose(tone["mean"], expected["mean"], rtol=1e-12)
    assert (tone["n"] == 4).all()
    # 95% t interval with 3 degrees of freedom: half-width = 3.1824 sd / 2
    np.testing.assert_allclose(tone["ci_high"] - tone["mean"], 3.182446305 * expected["std"] / 2, rtol=1e-6)


@pytest.mark.cluster
def test_sobol_indices_of_a_sobol_sweep(tmp_path):
    out = tmp_path / "sobol"
    report = sweep.run_sweep(spec_of(SOBOL), out, workers=2)
    assert report.done == 32 and report.failed == 0
    info = analyze(out)
    assert {"sobol.csv", "sobol.png"} <= set(info["written"])
    table = pd.read_csv(out / "analysis" / "sobol.csv")
    occupancy = table[table["metric"] == "mean_occupancy"].set_index("parameter")
    # occupancy by the drug depends on the dose only, not on rejections
    assert occupancy.loc["dose_mg", "ST"] > 0.9
    assert abs(occupancy.loc["rejection_rate", "ST"]) < 0.05
    assert np.isfinite(table[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    assert (table["S1_conf"] >= 0).all()


# ------------------------------------------------------------------------ growing a sweep
def _by_pair(frame: pd.DataFrame) -> pd.DataFrame:
    """The dataset without run numbers, in (point, replicate, step) order."""
    return frame.drop(columns="run").sort_values(["point", "replicate", "step"]).reset_index(drop=True)


@pytest.mark.cluster
@pytest.mark.slow
def test_extending_replicates_and_points_keeps_every_existing_run(reference, tmp_path):
    out = tmp_path / "grown"
    two = write(tmp_path / "two.toml", GRID.replace("replicates = 4", "replicates = 2"))
    assert sweep.run_sweep(sweep.load_spec(two), out, workers=1).done == 12
    before = {p.name: p.read_bytes() for p in (out / "runs").iterdir()}

    four = write(tmp_path / "four.toml", GRID)
    r = cli("sweep", str(four), "--extend", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "24 of 24 runs done (12 already done), 12 new" in r.stdout
    assert all((out / "runs" / name).read_bytes() == data for name, data in before.items())
    # the grown sweep holds exactly the runs of the sweep run at once, under other run numbers
    pd.testing.assert_frame_equal(_by_pair(sweep.results(out)), _by_pair(reference[1]), check_exact=True)

    # a new level of dose_mg adds three design points, numbered after the existing six
    more = write(tmp_path / "more.toml", GRID.replace("dose_mg = [0, 50]", "dose_mg = [0, 50, 100]"))
    r = cli("sweep", str(more), "--out", str(out), "--extend", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    plan = pd.read_csv(out / "plan.csv")
    assert list(plan["run"]) == list(range(36)) and sorted(set(plan["point"][24:])) == [6, 7, 8]
    assert (plan["dose_mg"][24:] == 100).all()
    pairs = zip(plan["point"], plan["replicate"], strict=True)
    assert list(plan["seed"]) == [sweep.seed_for(42, p, k) for p, k in pairs]
    manifest = sweep.read_manifest(out)
    assert manifest["status"] == "complete" and manifest["counts"] == {"runs": 36, "done": 36, "failed": 0}
    assert [e["added_runs"] for e in manifest["extensions"]] == [12, 12]
    assert manifest["design_points"][6] == {"rejection_rate": 0.1, "dose_mg": 100.0}
    got = sweep.results(out)
    assert got["run"].nunique() == 36 and (got.groupby("run")["seed"].first() == plan.set_index("run")["seed"]).all()
    # extending with the same spec again runs nothing
    assert sweep.run_sweep(sweep.load_spec(more), out, extend=True, workers=1).added == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("n_agents = 40", "n_agents = 50"), "parameter n_agents is 40 there and 50 in the spec"),
        (("[0.1, 0.3, 0.6]", "[0.1, 0.35, 0.6]"), "its design point 2 (rejection_rate = 0.3, dose_mg = 0.0)"),
        (("seed = 42", "seed = 43"), "its master seed is 42 and the spec's is 43"),
        (('drug = "naltrexone"', 'drug = "naltrexone"\nengine = "agents"'), "its engine is 'array'"),
        (('design = "grid"', 'design = "list"'), "its design is 'grid' and the spec's is 'list'"),
        (("days = 1", "days = 2"), "its days is 1.0 and the spec's is 2.0"),
        (("replicates = 2", "replicates = 1"), "it has 2 replicates per point and the spec 1"),
        (("dose_mg = [0, 50]", "dose_mg = [0]"), "its design point 1 (rejection_rate = 0.1, dose_mg = 50.0)"),
    ],
)
def test_extending_refuses_any_change_to_what_was_run(tmp_path, change, message):
    small = GRID.replace("replicates = 4", "replicates = 2")
    out = tmp_path / "out"
    sweep.run_sweep(spec_of(small), out, workers=1)
    changed = small.replace(*change)
    if change[0] == 'design = "grid"':  # the same points as a list design
        changed = changed.replace(
            "rejection_rate = [0.1, 0.3, 0.6]\ndose_mg = [0, 50]",
            "rejection_rate = [0.1, 0.1, 0.3, 0.3, 0.6, 0.6]\ndose_mg = [0, 50, 0, 50, 0, 50]",
        )
    with pytest.raises(UserError) as info:
        sweep.run_sweep(spec_of(changed), out, extend=True, workers=1)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(f"cannot extend {out}:")


@pytest.mark.slow
def test_extending_may_change_the_threads_which_change_no_number(tmp_path):
    small = GRID.replace("replicates = 4", "replicates = 1")
    out = tmp_path / "out"
    sweep.run_sweep(spec_of(small), out, workers=1)
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["parameters"]["threads"]  # as a sweep of a version without threads wrote it
    (out / "manifest.json").write_text(json.dumps(manifest))
    grown = small.replace("replicates = 1", "replicates = 2").replace(
        'drug = "naltrexone"', 'drug = "naltrexone"\nthreads = 2'
    )
    # in a process of its own: a process that has run threads starts its workers without forking
    r = cli("sweep", str(write(tmp_path / "grown.toml", grown)), "--extend", str(out), "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert sweep.read_manifest(out)["counts"] == {"runs": 12, "done": 12, "failed": 0}


def test_a_refused_extension_from_the_cli_is_one_line_and_changes_nothing(tmp_path):
    out = tmp_path / "out"
    sweep.run_sweep(spec_of(GRID.replace("replicates = 4", "replicates = 1")), out, workers=1)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    changed = write(tmp_path / "changed.toml", GRID.replace("n_agents = 40", "n_agents = 60"))
    r = cli("sweep", str(changed), "--extend", str(out), "--quiet")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"bondsim sweep: error: cannot extend {out}: parameter n_agents is 40 there and 60 in the spec; "
        "start a new sweep to change it"
    ]
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    r = cli("sweep", str(changed), "--extend", str(tmp_path / "none"), "--quiet")
    assert r.returncode == 2 and "holds no sweep" in r.stderr and not (tmp_path / "none").exists()


# ----------------------------------------------------------------------------- provenance
@pytest.mark.cluster
def test_manifest_records_every_parameter_the_code_and_a_data_dictionary(reference):
    from bondsim import metrics, provenance

    out, frame = reference
    manifest = sweep.read_manifest(out)
    resolved = Params(engine="array", n_agents=40, drug="naltrexone").to_dict()
    assert manifest["parameters"] == {k: v for k, v in resolved.items() if k not in ("rejection_rate", "dose_mg")}
    assert manifest["engine"] == "array" and manifest["varied"] == ["rejection_rate", "dose_mg"]
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=provenance.PACKAGE_DIR, capture_output=True, text=True
    ).stdout.strip()
    assert manifest["bondsim"] == {
        "version": provenance.version(),
        "git_commit": commit or None,
        "code_hash": provenance.code_hash(),
    }
    assert {"numpy", "pandas", "mesa", "dask", "SALib"} <= set(manifest["versions"])
    columns = pd.read_csv(out / "columns.csv", keep_default_na=False)
    assert list(columns["column"]) == list(frame.columns)
    assert columns.to_dict(orient="records") == manifest["columns"]
    by_name = columns.set_index("column")
    assert by_name.loc["mean_occupancy", "meaning"] == metrics.DESCRIPTIONS["mean_occupancy"]
    assert by_name.loc["hours", "unit"] == "h" and by_name.loc["n_agents", "unit"] == "people"
    assert by_name.loc["seed", "meaning"].startswith("the run's seed")


def _dask_cluster(env: dict | None = None) -> tuple[str, list[subprocess.Popen]]:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    procs = [subprocess.Popen(scheduler, **quiet)]
    worker = [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    procs.append(subprocess.Popen(worker, env={**os.environ, **(env or {})}, **quiet))
    return address, procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


@pytest.mark.cluster
def test_workers_running_other_code_are_refused_before_any_run(tmp_path):
    # BONDSIM_CODE_HASH_OVERRIDE is a test hook: the worker reports a code hash other than the driver's
    address, procs = _dask_cluster({"BONDSIM_CODE_HASH_OVERRIDE": "0123456789abcdef"})
    try:
        spec_file = write(tmp_path / "grid.toml", GRID)
        r = cli("sweep", str(spec_file), "--out", str(tmp_path / "out"), "--scheduler", address, "--quiet")
    finally:
        _stop(procs)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bondsim sweep: error: the Dask worker at tcp://127.0.0.1:")
    assert "(code 0123456789abcdef) but the driver runs bondsim" in lines[0]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------- failure paths
@pytest.mark.slow
def test_an_unreachable_scheduler_fails_with_one_line_and_leaves_nothing(tmp_path):
    spec_file = write(tmp_path / "grid.toml", GRID.replace("replicates = 4", "replicates = 1"))
    out = tmp_path / "out"
    r = cli("sweep", str(spec_file), "--out", str(out), "--scheduler", "tcp://127.0.0.1:1", "--quiet")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "bondsim sweep: error: cannot connect to the Dask scheduler at tcp://127.0.0.1:1: Connection refused"
    ]
    assert not out.exists()
    r = cli("sweep", str(spec_file), "--out", str(out), "--workers", "1", "--quiet")  # the corrected command
    assert r.returncode == 0, r.stderr
    assert sweep.read_manifest(out)["counts"] == {"runs": 6, "done": 6, "failed": 0}


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", pytest.param("2", marks=pytest.mark.cluster)])
def test_ctrl_c_stops_with_one_line_and_the_sweep_resumes(tmp_path, workers):
    """SIGINT to the process group, as Ctrl-C in a terminal sends it: driver and local workers."""
    slow = GRID.replace("days = 1", "days = 30").replace("replicates = 4", "replicates = 2")
    spec_file = write(tmp_path / "slow.toml", slow)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*BONDSIM, "sweep", str(spec_file), "--out", str(out), "--workers", workers, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal's foreground
    )
    deadline = time.monotonic() + 120
    while not sweep.finished_runs(out) and proc.poll() is None:
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert stderr.strip().splitlines() == ["bondsim sweep: interrupted"]
    done = sweep.finished_runs(out)
    assert 1 <= len(done) < 12, "the sweep should be interrupted part-way"
    assert not [p for p in out.rglob(".*")], "no temporary file is left"
    for r in done:
        assert len(pd.read_parquet(sweep.run_path(out, r))) == 720 // 8 + 1  # every:8 over 30 days
    manifest = sweep.read_manifest(out)
    assert manifest["status"] == "interrupted" and manifest["counts"]["done"] == len(done)

    report = sweep.run_sweep(spec_of(slow), out, resume=True, workers=1)
    assert (report.resumed, report.done, report.failed) == (len(done), 12, 0)
    spec = spec_of(slow)
    got = sweep.results(out)
    for run in (min(done), 11):  # a run from before the interruption and one from after
        pd.testing.assert_frame_equal(
            got[got["run"] == run].reset_index(drop=True),
            sweep.execute(spec.task(run)),
            check_exact=True,
            check_dtype=False,
        )


@pytest.mark.cluster
@pytest.mark.slow
def test_a_long_sweep_does_not_grow_the_driver(tmp_path):
    """1,500 tiny runs on 2 workers: the driver's memory at the end is that of its first runs (no result kept)."""
    spec_file = write(
        tmp_path / "many.toml",
        "[sweep]\nreplicates = 750\nsteps = 1\nseed = 6\n[fixed]\nn_agents = 10\nmean_degree = 4\n"
        "[vary]\nrejection_rate = [0.2, 0.4]\n",
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*BONDSIM, "sweep", str(spec_file), "--out", str(out), "--workers", "2", "--quiet"], stderr=subprocess.PIPE
    )
    early = peak = 0.0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            break
        if "VmRSS" not in fields:  # it has ended
            break
        if not early and len(sweep.finished_runs(out)) >= 100:
            early = int(fields["VmRSS"].split()[0]) / 1e3  # MB, once the workers run and files are written
        peak = int(fields["VmHWM"].split()[0]) / 1e3
        time.sleep(0.05)
    assert proc.wait(timeout=240) == 0, proc.stderr.read()
    assert len(sweep.finished_runs(out)) == 1500
    assert early and peak - early < 25, f"the driver grew from {early:.0f} MB to a peak of {peak:.0f} MB"


# ------------------------------------------------------------------- time courses and screening
@pytest.mark.cluster
@pytest.mark.slow
def test_time_course_and_window_means_use_every_recorded_step(reference, tmp_path):
    out, frame = reference
    data = sweep.SweepData.load(out)
    course = sweep.time_course(data, ["mean_tone"])
    assert len(course) == 6 * 4 and sorted(course["day"].unique()) == pytest.approx([0, 1 / 3, 2 / 3, 1])
    row = course[(course["point"] == 3) & (course["step"] == 16)].iloc[0]
    x = frame[(frame["point"] == 3) & (frame["step"] == 16)]["mean_tone"]
    assert row["n"] == 4 and row["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert row["ci_high"] - row["mean"] == pytest.approx(3.182446305 * x.std() / 2, rel=1e-6)

    # days 0.3 to 1 hold steps 8, 16 and 24 (one step is an hour)
    means = sweep.window_means(data, 0.3, 1.0)
    assert len(means) == 24 and (means["steps_in_window"] == 3).all()
    inside = frame[frame["step"] >= 8].groupby("run")["distress"].mean()
    np.testing.assert_allclose(means.set_index("run")["distress"], inside, rtol=1e-12)
    summary = sweep.summarize(data, ["distress"], window=(0.3, 1.0)).set_index("point")
    np.testing.assert_allclose(summary["mean"], means.groupby("point")["distress"].mean(), rtol=1e-12)

    r = cli("analyze", str(out), "--out", str(tmp_path / "w"), "--window", "0.3", "1", "--metrics", "distress")
    assert r.returncode == 0, r.stderr
    assert "means over days 0.3-1" in r.stdout
    assert {"window.csv", "timecourse.csv", "timecourse.png", "summary.csv"} <= set(os.listdir(tmp_path / "w"))
    for window, message in (
        (("2", "3"), "no recorded step falls in days [2, 3]"),
        (("1", "0.5"), "START_DAY < END_DAY"),
    ):
        r = cli("analyze", str(out), "--out", str(tmp_path / "bad"), "--window", *window)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "bad").exists()


# every person typical, so that occupancy depends on the dose alone and not on each point's seed
MORRIS = SOBOL.replace('design = "sobol"\nsamples = 8', 'design = "morris"\nsamples = 6\nlevels = 4').replace(
    'drug = "naltrexone"', 'drug = "naltrexone"\npk_variability = 0.0\nblockade_variability = 0.0'
)


@pytest.mark.slow
def test_morris_design_and_its_elementary_effects(tmp_path):
    spec = spec_of(MORRIS)
    assert spec.n_points == 6 * (2 + 1) and spec.levels == 4
    for p, q in zip(spec.points[::3], spec.points[1::3], strict=True):  # a trajectory moves one parameter a step
        assert sum(p[n] != q[n] for n in spec.varied) == 1
    with pytest.raises(ParameterError, match="levels = 3 must be even"):
        spec_of(MORRIS.replace("levels = 4", "levels = 3"))
    with pytest.raises(ParameterError, match="levels applies to morris designs"):
        spec_of(SOBOL.replace("seed = 3", "seed = 3\nlevels = 4"))

    out = tmp_path / "morris"
    assert sweep.run_sweep(spec, out, workers=1).done == 18
    table = sweep.morris_indices(out).set_index(["metric", "parameter"])
    occupancy = table.loc["mean_occupancy"]
    # occupancy by the drug depends on the dose only, not on rejections
    assert occupancy.loc["dose_mg", "mu_star"] > 0.1 and occupancy.loc["rejection_rate", "mu_star"] < 1e-9
    assert (table["mu_star"] >= table["mu"].abs() - 1e-12).all() and (table["sigma"] >= 0).all()
    info = sweep.analyze(out)
    assert {"morris.csv", "morris.png"} <= set(info["written"])


@pytest.mark.slow
def test_second_order_sobol_indices_and_wide_interval_warnings(tmp_path):
    out = tmp_path / "sobol2"
    spec = spec_of(SOBOL.replace("seed = 3", "seed = 3\nsecond_order = true"))
    assert sweep.run_sweep(spec, out, workers=1).done == 8 * 6
    first, second = sweep.sobol_indices(out, ["mean_occupancy", "distress"], second_order=True)
    assert list(second.columns) == ["metric", "parameter_a", "parameter_b", "S2", "S2_conf", "S2_wide"]
    assert len(second) == 2 and set(second["parameter_a"] + "/" + second["parameter_b"]) == {"rejection_rate/dose_mg"}
    np.testing.assert_array_equal(first["S1_wide"], 2 * first["S1_conf"] > first["S1"].abs())
    np.testing.assert_array_equal(second["S2_wide"], 2 * second["S2_conf"] > second["S2"].abs())
    without = sweep.SweepData(sweep.results(out), {**sweep.read_manifest(out), "second_order": False})
    with pytest.raises(UserError, match="second_order = true"):
        sweep.sobol_indices(without, second_order=True)

    r = cli("analyze", str(out), "--metrics", "mean_occupancy,distress")
    assert r.returncode == 0, r.stderr
    written = set(os.listdir(out / "analysis"))
    assert {"sobol.csv", "sobol_second_order.csv", "sobol.png"} <= written
    wide = int(first["S1_wide"].sum() + first["ST_wide"].sum() + second["S2_wide"].sum())
    warnings = [line for line in r.stderr.splitlines() if "warning" in line]
    if wide:
        assert warnings == [
            f"bondsim analyze: warning: {wide} of 10 Sobol indices have a 95% interval wider than the index "
            "(columns *_wide of sobol.csv): increase samples"
        ]
    else:
        assert warnings == []
