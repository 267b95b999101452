"""The sensitivity experiment: Sobol indices of two virtual trials' g over assumed parameters."""

import json

import numpy as np
import pandas as pd
import pytest

from bondsim.experiments import run_experiment
from bondsim.experiments.sensitivity import noise_shares

TINY = {
    "samples": 2,
    "trials": 2,
    "resamples": 50,
    "ranges": {"bond_capacity": [1.5, 6.0], "opioid_share": [0.1, 0.9]},
}


def test_common_seed_noise_drops_out_and_only_the_interaction_counts():
    rng = np.random.default_rng(1)
    mu, c = rng.normal(0, 1, 40), rng.normal(0, 0.5, 3)
    additive = mu[:, None] + c[None, :]  # the seed moves every point alike
    shared, independent = noise_shares(additive)
    assert shared == pytest.approx(0, abs=1e-12)
    # the same spread with independent seeds: var(c) / trials of the variance of the point means
    assert independent == pytest.approx(c.var(ddof=1) / 3 / additive.mean(axis=1).var(ddof=1))
    noisy = additive + rng.normal(0, 0.3, additive.shape)  # an interaction of var 0.09
    shared, _ = noise_shares(noisy)
    assert shared == pytest.approx(0.09 / 3 / noisy.mean(axis=1).var(ddof=1), rel=0.5)
    assert noise_shares(additive[:, :1]) == (None, None)  # one trial: no estimate


@pytest.mark.slow
@pytest.mark.cluster
def test_tiny_sensitivity_writes_everything_and_is_the_same_on_one_and_two_workers(tmp_path):
    one = run_experiment("sensitivity", tmp_path / "one", seed=5, workers=1, **TINY)
    two = run_experiment("sensitivity", tmp_path / "two", seed=5, workers=2, **TINY)
    for f in ("indices.csv", "points.csv", "trials.csv", "sobol.png", "report.md", "summary.json"):
        assert (tmp_path / "one" / f).stat().st_size > 0, f
    assert one["points"] == 2 * (2 + 2) and one["virtual_trials"] == (8 + 1) * 2 * 2
    assert set(one["outputs"]) == {"inagaki2016_daily_connection", "inagaki2019_close_connection"}
    assert one["outputs"]["inagaki2016_daily_connection"]["role"] == "training"
    assert one["outputs"]["inagaki2019_close_connection"]["role"] == "validation"
    # seeded: the same seed gives the same numbers, on one worker or two
    for name in ("indices.csv", "points.csv", "trials.csv"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text(), name
    assert one["outputs"] == two["outputs"]
    indices = pd.read_csv(tmp_path / "one" / "indices.csv")
    assert len(indices) == 2 * 2 and set(indices["parameter"]) == {"bond_capacity", "opioid_share"}
    assert indices[["S1", "S1_conf", "ST", "ST_conf"]].notna().all().all()
    points = pd.read_csv(tmp_path / "one" / "points.csv")
    assert points["bond_capacity"].between(1.5, 6.0).all() and points["opioid_share"].between(0.1, 0.9).all()
    trials = pd.read_csv(tmp_path / "one" / "trials.csv")
    # common random numbers: trial k has the same seed at every point
    assert (trials.groupby("trial")["seed"].nunique() == 1).all() and trials["seed"].nunique() == 2
    # a point's output is the mean of its trials
    daily = trials[trials["output"] == "inagaki2016_daily_connection"].groupby("point")["hedges_g"].mean()
    assert np.allclose(daily.to_numpy(), points["inagaki2016_daily_connection"].to_numpy(), atol=1e-5)
    o = one["outputs"]["inagaki2016_daily_connection"]
    assert o["S1_sum"] == pytest.approx(sum(v["S1"] for v in o["indices"].values()))
    assert 0 <= o["noise_share"] and o["noise_share_without_common_seeds"] >= 0
    assert json.loads((tmp_path / "one" / "summary.json").read_text())["experiment"] == "sensitivity"


@pytest.mark.parametrize(
    "design, message",
    [
        ("samples = 12", "power of 2"),
        ('outputs = ["inagaki2016:nosuch"]', "no measure 'nosuch'"),
        ('outputs = ["nosuch:daily_connection"]', "no design 'nosuch'"),
        ("[design.ranges]\nbond_capacity = [0.1, 6.0]\nmean_degree = [4, 16]", "leaves its declared range"),
        ("[design.ranges]\nnosuch = [0, 1]\nmean_degree = [4, 16]", "not a model parameter"),
        ("[design.ranges]\nbond_capacity = [6.0, 1.5]\nmean_degree = [4, 16]", "low < high"),
        ("[design.ranges]\nn_agents = [50, 100]\nmean_degree = [4, 16]", "a setting"),
    ],
)
def test_bad_design_is_refused_in_one_line_before_anything_runs(design, message, tmp_path, capsys):
    from bondsim.cli import main

    config = tmp_path / "c.toml"
    config.write_text(design if design.startswith("[") else f"[design]\n{design}\n")
    status = main(["experiment", "sensitivity", "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()
