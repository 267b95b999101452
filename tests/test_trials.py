"""Virtual trials: design files, their checks, the statistics, placebo against placebo, power, the library."""

import json
import math
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bondsim.params import Params
from bondsim.stats import between_effect, paired_effect
from bondsim.trials import design as td
from bondsim.trials.analysis import mixed_effect, scores
from bondsim.trials.run import power_curve, run_trials, summarize
from bondsim.trials.simulate import TrialRecord, simulate

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = td.library()
ARRAY = Params().replace(engine="array")  # as bondsim trial runs (the engines agree: test_equivalence.py)


def small(design: td.TrialDesign, size: int = 50, warmup: float = 5.0) -> td.TrialDesign:
    """The same design in a smaller community that settles for less long (for speed)."""
    return replace(design, community=replace(design.community, size=size, warmup_days=warmup))


def placebo_crossover(n: int = 24, quick: bool = True) -> td.TrialDesign:
    """Placebo against placebo in the Inagaki 2016 layout: no true effect."""
    data = tomllib.loads((LIBRARY["inagaki2016"]).read_text())
    data["arms"] = {"placebo_a": {"drug": "placebo"}, "placebo_b": {"drug": "placebo"}}
    data["layout"]["sequences"] = [["placebo_a", "placebo_b"], ["placebo_b", "placebo_a"]]
    data["layout"]["sequence_sizes"] = [n // 2, n - n // 2]
    data["participants"]["n"] = n
    data["analysis"].update(treatment="placebo_a", control="placebo_b")
    data["outcomes"] = []
    data["study"]["role"] = "validation"
    design = td.from_dict(data, "placebo")
    return small(design) if quick else design


# ------------------------------------------------------------------ design files
@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_library_designs_round_trip(name, tmp_path):
    design = td.load(name)
    path = tmp_path / f"{name}.toml"
    path.write_text(td.dump(design))
    again = td.load(path)
    assert again == design
    assert td.dump(again) == td.dump(design)


def test_every_library_study_carries_its_source_and_results():
    for name, path in LIBRARY.items():
        design = td.load(path)
        assert design.name == name
        assert design.study.citation and design.study.design_source, name
        assert design.study.not_represented, name  # every study says what the model lacks
        assert design.outcomes, name
        for o in design.outcomes:  # a number, or a statement of what was found
            assert o.hedges_g is not None or o.note or o.statistic, (name, o.measure)
            if o.hedges_g is not None:
                assert o.conversion or o.source, (name, o.measure)


def test_library_roles_are_the_calibration_split():
    from bondsim.calibration.spec import load as load_spec

    spec = load_spec(ROOT / "experiments" / "calibration" / "default.toml")
    targets = {(spec.designs[t.design].name, t.measure) for t in spec.targets if t.statistic == "hedges_g"}
    levels = {(spec.designs[t.design].name, t.measure) for t in spec.targets if t.statistic != "hedges_g"}
    designs = {name: td.load(path) for name, path in LIBRARY.items()}
    assert {(n, o.measure) for n, d in designs.items() for o in d.outcomes if o.training} == targets
    assert {(n, o.measure) for n, d in designs.items() for o in d.outcomes if o.training_control} == levels
    assert {n for n, d in designs.items() if d.study.role == "training"} == {study for study, _ in targets}
    assert (ROOT / "experiments" / "trials" / "inagaki2016.toml").read_text() == LIBRARY["inagaki2016"].read_text()


BAD = {
    "unknown arm": (
        lambda d: d["layout"].update(sequences=[["naltrexone", "placebo"], ["placebo", "naltrexon"]]),
        "unknown arm 'naltrexon'",
    ),
    "washout longer than the study": (lambda d: d["layout"].update(study_days=14.0), "longer than layout.study_days"),
    "N larger than the community": (lambda d: d["community"].update(size=20), "larger than the community"),
    "unknown measure": (lambda d: d["measures"][0].update(kind="diary_mood"), "diary_mood' is not one of"),
    "unknown key": (lambda d: d["layout"].update(washout=10), "unknown key 'washout'"),
    "outcome of no measure": (lambda d: d["outcomes"][0].update(measure="mood"), "outcomes[0].measure"),
    "sizes against N": (lambda d: d["layout"].update(sequence_sizes=[16, 16]), "add up to 32"),
    "two drugs": (lambda d: d["arms"]["placebo"].update(drug="morphine", doses_mg=[10.0]), "one drug"),
    "infinite warm-up": (lambda d: d["community"].update(warmup_days=math.inf), "must be a finite number"),
    "absurd dose": (lambda d: d["arms"]["naltrexone"].update(doses_mg=[25.0, 25.0, 5e4, 50.0]), "between 0 and 5000"),
    "a key that does not apply": (lambda d: d["measures"][0].update(partner="stranger"), "does not apply"),
    "a drug without doses": (lambda d: d["arms"]["naltrexone"].update(doses_mg=[]), "gives no dose"),
    "a placebo with doses": (lambda d: d["arms"]["placebo"].update(doses_mg=[50.0]), "placebo has no doses"),
    "a lab task on a day without a dose": (
        lambda d: d["arms"]["naltrexone"].update(doses_mg=[25.0, 25.0, 50.0]),
        "gives no dose that day",
    ),
    "two outcomes of one measure": (lambda d: d["outcomes"].append(dict(d["outcomes"][0])), "has an outcome already"),
    "an arm twice in a sequence": (
        lambda d: d["layout"].update(sequences=[["naltrexone", "naltrexone"], ["placebo", "naltrexone"]]),
        "gives an arm twice",
    ),
    "groups of one": (
        lambda d: (d["participants"].update(n=3), d["layout"].update(sequence_sizes=[2, 1])),
        "at least 2 participants",
    ),
    "a name that leaves the folder": (lambda d: d["study"].update(name="../x"), "names the output folder"),
    "a bad model parameter": (lambda d: d.update(params={"bond_half_life_dayz": 3}), "[params]"),
}


# Through the command's entry point in this process (no interpreter start-up per case); the refusal of
# `bondsim trial` in a process of its own is checked below and in test_failures.py.
@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_design_is_refused_with_one_line_before_any_run(case, tmp_path, capsys):
    from bondsim.cli import main

    change, words = BAD[case]
    data = tomllib.loads(LIBRARY["inagaki2016"].read_text())
    change(data)
    import tomli_w

    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(data))
    out = tmp_path / "out"
    status = main(["trial", str(path), "--out", str(out), "--quiet"])
    stderr = capsys.readouterr().err
    assert status == 2, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert words in stderr, stderr
    assert not out.exists()  # refused before anything ran or was written


def test_contact_seeking_is_counted_per_day():
    data = tomllib.loads(LIBRARY["inagaki2016"].read_text())
    data["measures"].append({"name": "reaching_out", "kind": "seeking"})
    design = small(td.from_dict(data, "seeking"))
    record = simulate(design, ARRAY, 4)
    counted = scores(record, design, 4).by_measure["reaching_out"]
    days = design.layout.period_days
    assert np.allclose(counted * days, np.round(counted * days))  # means of whole counts over the days
    expected = record.values["reaching_out"].mean(axis=1).T
    assert abs(counted.mean() - expected.mean()) < 4 * math.sqrt(expected.mean() / counted.size)  # Poisson mean


@pytest.mark.slow
def test_a_design_without_a_published_n_is_listed_but_does_not_run(tmp_path, bondsim):
    design = td.load("tarr2017")
    assert not design.runnable
    r = bondsim("trial", "tarr2017", "--out", str(tmp_path / "t"))
    assert r.returncode == 2 and "number of participants is not known" in r.stderr
    listing = bondsim("trial", "--list")
    assert listing.returncode == 0
    assert all(name in listing.stdout for name in LIBRARY)


def test_more_participants_keep_the_sequence_shares_and_grow_the_community():
    design = td.load("inagaki2016")
    bigger = design.with_participants(160)
    assert sum(bigger.sizes) == 160 and bigger.sizes == (83, 77)
    assert bigger.community.size == math.ceil(160 * 160 / 31)
    assert td.load("tchalova2020").sizes == (80, 79)  # per-arm n not published: an even split


# ------------------------------------------------------------------ statistics
def test_paired_and_between_effects_agree_with_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(5, 1, 30)
    y = x - 0.4 + rng.normal(0, 0.8, 30)
    e = paired_effect(y, x)
    ref = sps.ttest_rel(y, x)
    assert e.t == pytest.approx(ref.statistic) and e.p == pytest.approx(ref.pvalue)
    a, b = rng.normal(4.5, 1, 25), rng.normal(5, 1.2, 31)
    e = between_effect(a, b)
    ref = sps.ttest_ind(a, b)
    assert e.t == pytest.approx(ref.statistic) and e.p == pytest.approx(ref.pvalue)


def test_between_effect_matches_borenstein_worked_example():
    # Borenstein et al. 2009, section 4.2: means 103 and 100, SDs 5.5 and 4.5, n 50 each:
    # d = 0.5970, Var(d) = 0.0418, J = 0.9923, g = 0.5924, Var(g) = 0.0411
    def exact(mean, sd, n):
        z = np.random.default_rng(0).standard_normal(n)
        return mean + sd * (z - z.mean()) / z.std(ddof=1)

    e = between_effect(exact(103, 5.5, 50), exact(100, 4.5, 50))
    assert e.hedges_g == pytest.approx(0.5924, abs=5e-4)
    assert e.variance == pytest.approx(0.0411, abs=5e-4)


def test_mixed_model_estimate_is_the_classic_crossover_estimate_on_balanced_data():
    rng = np.random.default_rng(5)
    design = td.load("inagaki2016")
    n = 30
    sequence = np.repeat([0, 1], n // 2)
    person = rng.normal(0, 1, n)
    period_effect, drug = 0.3, -0.5
    values = np.empty((n, 2))
    for i in range(n):
        for p in range(2):
            on_drug = design.layout.sequences[sequence[i]][p] == "naltrexone"
            values[i, p] = 4 + person[i] + period_effect * p + drug * on_drug + rng.normal(0, 0.5)
    record = TrialRecord(np.arange(n), sequence, {}, np.zeros((0, 2)), np.zeros((1, n)))
    e = mixed_effect(design, record, values)
    d = values[:, 0] - values[:, 1]
    classic = (d[sequence == 0].mean() - d[sequence == 1].mean()) / 2  # naltrexone minus placebo
    import statsmodels.formula.api as smf

    frame = pd.DataFrame(
        [(i, p, sequence[i], int(design.layout.sequences[sequence[i]][p] == "naltrexone"), values[i, p])
         for i in range(n) for p in range(2)],
        columns=["person", "period", "sequence", "treated", "score"],
    )  # fmt: skip
    fit = smf.mixedlm("score ~ treated + C(period) + C(sequence)", frame, groups=frame["person"]).fit(reml=True)
    assert fit.params["treated"] == pytest.approx(classic, abs=1e-6)
    on_drug = frame["treated"] == 1
    assert e.mean_difference == pytest.approx(frame["score"][on_drug].mean() - frame["score"][~on_drug].mean())
    assert e.hedges_g < 0 and e.p < 0.05


# ------------------------------------------------------------------ virtual trials
@pytest.mark.cluster
@pytest.mark.slow
def test_placebo_against_placebo_gives_no_effect_at_the_nominal_false_positive_rate():
    design = placebo_crossover()
    run = run_trials(design, 120, 11, workers=2)
    daily = run.trials[run.trials["measure"] == "daily_connection"]
    g = daily["hedges_g"].to_numpy()
    assert abs(g.mean()) < 3 * g.std(ddof=1) / math.sqrt(g.size)  # g near 0, within 3 standard errors
    for m in ("daily_connection", "lab_connection", "positive_affect"):
        p = run.trials[run.trials["measure"] == m]["p"].to_numpy()
        from statsmodels.stats.proportion import proportion_confint

        low, high = proportion_confint(int((p < 0.05).sum()), p.size, alpha=0.05, method="wilson")
        assert low <= 0.05 <= high, (m, (p < 0.05).mean())


@pytest.mark.slow
def test_placebo_crossovers_show_no_period_effect_beyond_chance():
    # a stationary baseline: without a drug, the second period is no different from the first (after the
    # design's 42-day warm-up; a community that settled for a few days only still drifts)
    design = placebo_crossover(n=31, quick=False)
    p_values = []
    for seed in range(40):
        felt = scores(simulate(design, ARRAY, seed), design, seed).by_measure["daily_connection"]  # rated
        p_values.append(sps.ttest_1samp(felt[:, 0] - felt[:, 1], 0.0).pvalue)
    # 40 trials at alpha 0.05: 2 expected; more than 6 has probability < 2% without a period effect
    assert sum(p < 0.05 for p in p_values) <= 6


@pytest.mark.cluster
@pytest.mark.slow
def test_placebo_between_groups_is_nominal_too():
    data = tomllib.loads(LIBRARY["inagaki2019"].read_text())
    data["arms"]["naltrexone"] = {"drug": "placebo"}
    data["outcomes"] = []
    design = small(td.from_dict(data, "placebo groups"), size=100)
    run = run_trials(design, 120, 12, workers=2)
    p = run.trials["p"].to_numpy()
    assert 0.01 <= (p < 0.05).mean() <= 0.11  # 5% nominal; binomial 95% range for 240 tests ~ [2.6%, 8.4%]
    assert abs(run.trials["hedges_g"].mean()) < 0.06


@pytest.mark.slow
def test_naltrexone_lowers_connection_and_leaves_a_residual_blockade():
    design = small(td.load("inagaki2016"), size=60, warmup=10.0)
    run = run_trials(design, 8, 3, workers=1)
    s = summarize(run)
    assert s["daily_connection"]["hedges_g"] < -0.1 and s["lab_connection"]["hedges_g"] < -0.1
    assert run.occupancy.max() > 0.9  # science.md 5.2
    pct = s["residual_occupancy_percentiles"]
    assert 0.02 < pct["50"] < 0.3 and pct["5"] > 0  # only those who took naltrexone first are counted


def test_a_trial_is_reproducible_and_counterbalanced():
    design = small(td.load("inagaki2016"))
    a, b = simulate(design, ARRAY, 9), simulate(design, ARRAY, 9)
    assert (a.sequence == 0).sum() == 16 and a.sequence.size == 31
    for name in a.values:
        np.testing.assert_array_equal(a.values[name], b.values[name])
    np.testing.assert_array_equal(a.residual, b.residual)
    assert np.isnan(a.residual[0, a.sequence == 1]).all()  # placebo first: nothing to carry over


@pytest.mark.cluster
@pytest.mark.slow
def test_power_rises_with_the_sample_size():
    design = small(td.load("inagaki2016"), size=60, warmup=10.0)
    curve = power_curve(design, [6, 20, 60], 40, 5, workers=2)
    daily = curve[curve["measure"] == "daily_connection"]["power"].to_numpy()
    assert list(daily) == sorted(daily) and daily[-1] > daily[0] + 0.3


@pytest.mark.cluster
@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_trials():
    from distributed import LocalCluster

    design = small(td.load("inagaki2019"), size=90)
    serial = run_trials(design, 4, 21, workers=1).trials
    processes = run_trials(design, 4, 21, workers=2).trials
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_trials(design, 4, 21, scheduler=cluster.scheduler_address).trials
    pd.testing.assert_frame_equal(serial, processes, check_exact=True)
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)


@pytest.mark.slow
def test_trial_command_writes_everything_with_power(tmp_path, bondsim):
    design = small(td.load("inagaki2016"), size=60, warmup=5.0)
    path = tmp_path / "mini.toml"
    path.write_text(td.dump(design))
    out = tmp_path / "out"
    r = bondsim(
        "trial", str(path), "--trials", "3", "--power", "8", "16", "--workers", "1", "--out", str(out), "--quiet"
    )
    assert r.returncode == 0, r.stderr
    for f in ("trials.parquet", "summary.json", "report.md", "design.toml", "power.csv", "power.png",
              "g_distribution.png", "participants.png", "occupancy.png"):  # fmt: skip
        assert (out / f).stat().st_size > 0, f
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"] == "inagaki2016" and summary["replications"] == 3
    assert set(summary["measures"]) == {"daily_connection", "lab_connection", "positive_affect"}
    assert len(pd.read_parquet(out / "trials.parquet")) == 9
    assert td.load(out / "design.toml") == design
    assert sorted(pd.read_csv(out / "power.csv")["participants"].unique()) == [8, 16]
    again = bondsim("trial", str(path), "--out", str(out), "--quiet")
    assert again.returncode == 2 and "--overwrite" in again.stderr


@pytest.mark.slow
def test_the_inagaki2016_experiment_is_the_library_design(tmp_path):
    from bondsim.experiments import run_experiment
    from bondsim.trials import run_design

    exp = run_experiment("inagaki2016", tmp_path / "exp", seed=4, trials=2, workers=1, community=60, warmup_days=5.0)
    design = small(td.load("inagaki2016"), size=60, warmup=5.0)
    trial = run_design(design, tmp_path / "trial", replications=2, seed=4, workers=1)
    for m in ("daily_connection", "lab_connection", "positive_affect"):
        assert exp[m]["hedges_g"] == trial["measures"][m]["hedges_g"]


@pytest.mark.cluster
@pytest.mark.slow
def test_meta_analysis_on_reduced_sizes(tmp_path):
    from bondsim.experiments import run_experiment

    s = run_experiment(
        "meta_analysis", tmp_path / "meta", seed=3, trials=3, workers=2, posterior="none",
        studies=["charles2020_yoga", "charles2020_ritual", "inagaki2019", "tarr2017"],
    )  # fmt: skip
    assert s["posterior"] is None and s["parameters"] == "default"
    studies = {o["study"] for o in s["outcomes"]}
    assert studies == {"charles2020_yoga", "charles2020_ritual", "inagaki2019"}
    assert [r["study"] for r in s["not_run"]] == ["tarr2017"]
    lit, val = s["virtual_literature"], s["virtual_literature_validation_only"]
    assert lit["tau2_median"] >= 0 and 0 <= lit["i2_median"] <= 100
    assert val == lit  # no training outcome among these studies: the two pools are the same
    assert s["observed_inside_prediction"]["of"] == 1  # inagaki2019's derived g
    for f in ("outcomes.csv", "literature.csv", "not_run.csv", "forest.png", "report.md", "trials.parquet"):
        assert (tmp_path / "meta" / f).stat().st_size > 0, f
    literature = pd.read_csv(tmp_path / "meta" / "literature.csv")
    assert len(literature) == 3


@pytest.mark.slow
def test_meta_analysis_over_the_posterior_keeps_the_sampling_only_run_beside_it(tmp_path):
    """Each virtual literature draws one particle for all its studies; the default-parameter run is unchanged."""
    from bondsim.calibration.posterior import load
    from bondsim.experiments import run_experiment

    studies = ["charles2020_yoga", "inagaki2019"]
    s = run_experiment("meta_analysis", tmp_path / "post", seed=3, trials=3, workers=1, studies=studies)
    assert s["design"]["posterior"] == "default"  # the default: the shipped posterior
    assert s["posterior"]["name"] == "default" and s["posterior"]["particles"] == load("default").size
    plain = run_experiment(
        "meta_analysis", tmp_path / "plain", seed=3, trials=3, workers=1, studies=studies, posterior="none"
    )
    for with_post, fixed in zip(s["outcomes"], plain["outcomes"], strict=True):
        # the same replications at the default parameters: sampling only is the plain run
        assert with_post["sampling_only_low"] == fixed["prediction_low"]
        assert with_post["sampling_only_median_g"] == fixed["predicted_median_g"]
    assert s["sampling_only"]["virtual_literature"] == plain["virtual_literature"]
    trials = pd.read_parquet(tmp_path / "post" / "trials.parquet")
    drawn = trials[trials["parameters"] == "posterior"]
    assert set(trials["parameters"]) == {"posterior", "default"} and len(drawn) == len(trials) / 2
    # one particle per virtual literature, shared by its studies
    assert (drawn.groupby("replication")["particle"].nunique() == 1).all()
    assert not drawn.equals(trials[trials["parameters"] == "default"])
    # the published g of inagaki2019 is checked against the interval with parameter uncertainty
    row = next(o for o in s["outcomes"] if o["study"] == "inagaki2019")
    check = next(c for c in s["checks"] if c["check"].startswith("inagaki2019 close_connection"))
    inside = row["prediction_low"] <= -0.32 <= row["prediction_high"]
    assert check["holds"] == row["observed_inside_prediction"] == inside
    assert any(c["check"].startswith("published pooled g") for c in s["checks"])
    report = (tmp_path / "post" / "report.md").read_text()
    assert "where it still fails" in report and "sampling only" in report
    literature = pd.read_csv(tmp_path / "post" / "literature.csv")
    assert sorted(literature["parameters"].unique()) == ["default", "posterior"] and len(literature) == 6


def test_meta_analysis_refuses_a_missing_posterior_in_one_line(tmp_path, capsys):
    from bondsim.cli import main

    config = tmp_path / "c.toml"
    config.write_text('[design]\nposterior = "no/such/posterior.csv"\nreplications = 2\n')
    status = main(["experiment", "meta_analysis", "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "posterior not found" in err[0]
    assert not (tmp_path / "out").exists()


def test_pooling_identical_studies_gives_their_effect_and_no_heterogeneity():
    from bondsim.experiments.meta_analysis import pool_literature

    res = pool_literature(pd.DataFrame({"hedges_g": [-0.2] * 5, "variance": [0.04, 0.02, 0.05, 0.03, 0.04]}))
    assert res["hedges_g"] == pytest.approx(-0.2) and res["tau2"] == 0 and res["i2"] == 0
    one = pool_literature(pd.DataFrame({"hedges_g": [-0.3], "variance": [0.04]}))  # one outcome: itself
    assert one["hedges_g"] == -0.3 and one["ci_low"] == pytest.approx(-0.3 - 1.959964 * 0.2)
