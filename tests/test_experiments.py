"""Named experiments on reduced sizes: science.md section 5 directions, summary schema, CLI."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bondsim.experiments import REGISTRY, run_experiment
from bondsim.mechanisms.receptor import contact_reward
from bondsim.model import BondingModel
from bondsim.params import Params
from bondsim.stats import paired_effect, pooled

ROOT = Path(__file__).resolve().parents[1]
MEASURES = ("daily_connection", "lab_connection", "positive_affect")


def run_small(tmp_path_factory, name, **design):
    out = tmp_path_factory.mktemp(name) / "out"
    summary = run_experiment(name, out, seed=7, workers=1, **design)
    return out, summary


@pytest.fixture(scope="module")
def inagaki(tmp_path_factory):
    return run_small(tmp_path_factory, "inagaki2016", trials=4, community=70, warmup_days=10)


@pytest.fixture(scope="module")
def separation(tmp_path_factory):
    return run_small(
        tmp_path_factory,
        "separation_distress",
        groups=3,
        group_size=30,
        warmup_days=7,
        morphine_mg=[2.5, 10.0, 40.0],
        naloxone_mg=[0.1, 0.4, 1.6],
    )


@pytest.fixture(scope="module")
def grooming(tmp_path_factory):
    return run_small(tmp_path_factory, "grooming", groups=4, warmup_days=7)


@pytest.fixture(scope="module")
def maintenance(tmp_path_factory):
    return run_small(tmp_path_factory, "maintenance", replicates=1, community=80, treated=20, weeks=4, warmup_days=7)


@pytest.fixture(scope="module")
def chronic_naltrexone(tmp_path_factory):
    return run_small(
        tmp_path_factory,
        "chronic_naltrexone",
        replicates=2,
        community=60,
        treated=20,
        warmup_days=10,
        baseline_days=2,
        dosing_days=42,
        followup_days=14,
        sample_hours=12.0,
    )


@pytest.fixture(scope="module")
def morphine_withdrawal(tmp_path_factory):
    return run_small(
        tmp_path_factory,
        "morphine_withdrawal",
        replicates=2,
        community=60,
        treated=20,
        warmup_days=10,
        baseline_days=2,
        dosing_days=21,
        followup_days=21,
        sample_hours=12.0,
    )


@pytest.fixture(scope="module")
def state_dependence(tmp_path_factory):
    return run_small(tmp_path_factory, "state_dependence", replicates=3, community=60, treated=20, warmup_days=10)


@pytest.fixture(scope="module")
def bereavement(tmp_path_factory):
    return run_small(
        tmp_path_factory,
        "bereavement",
        replicates=2,
        community=40,
        bereaved=10,
        warmup_days=10,
        baseline_days=3,
        followup_days=28,
        grief_half_lives=[3.0],
        bond_half_lives=[120.0],
    )


# ------------------------------------------------------------------ statistics
def test_paired_effect_known_values():
    x = np.array([4.0, 5.0, 6.0, 5.5, 4.5])
    y = x + np.array([0.5, 0.7, 0.3, 0.6, 0.4])  # control higher by 0.5 on average
    e = paired_effect(x, y)
    s_av = np.sqrt(0.5 * (x.std(ddof=1) ** 2 + y.std(ddof=1) ** 2))
    j = 1 - 3 / (4 * 4 - 1)
    assert e.hedges_g == pytest.approx(j * -0.5 / s_av, rel=1e-12)
    assert e.ci_low < e.hedges_g < e.ci_high
    assert e.p < 0.01 and e.t < 0  # every difference is negative


def test_pooled_effect_is_inverse_variance_mean():
    res = pooled([-0.2, -0.4], [0.01, 0.04])
    assert res["estimate"] == pytest.approx((-0.2 / 0.01 - 0.4 / 0.04) / (1 / 0.01 + 1 / 0.04))
    assert res["ci_low"] < res["estimate"] < res["ci_high"]


# ------------------------------------------------------------- inagaki2016
@pytest.mark.slow
def test_inagaki_naltrexone_lowers_every_measure(inagaki):
    _, s = inagaki
    for m in MEASURES:
        assert s[m]["hedges_g"] < 0, m
        assert s[m]["mean_naltrexone"] < s[m]["mean_placebo"], m


@pytest.mark.slow
def test_inagaki_occupancy_and_carryover(inagaki):
    _, s = inagaki
    assert s["peak_occupancy"] >= 0.90  # science.md 5.2: >= 90% after 50 mg
    assert 0.02 < s["residual_occupancy_end_of_washout"] < 0.30  # 5.3: reported and not zero


@pytest.mark.slow
def test_inagaki_outputs_and_schema(inagaki):
    out, _ = inagaki
    summary = json.loads((out / "summary.json").read_text())
    for m in MEASURES:
        assert {"hedges_g", "ci_low", "ci_high", "fraction_significant"} <= set(summary[m])
        assert summary[m]["ci_low"] <= summary[m]["hedges_g"] <= summary[m]["ci_high"]
        assert 0.0 <= summary[m]["fraction_significant"] <= 1.0
    assert summary["residual_occupancy_end_of_washout"] > 0
    assert {"params", "seed", "versions", "elapsed_seconds", "design"} <= set(summary)
    assert summary["params"]["engine"] == "array"
    for f in ("trials.csv", "occupancy.csv", "paired.png", "g_distribution.png", "occupancy.png", "report.md"):
        assert (out / f).stat().st_size > 0, f


# -------------------------------------------------- animal paradigms (section 3)
@pytest.mark.slow
def test_separation_distress_directions(separation):
    _, s = separation
    c = s["conditions"]
    # Calls come from both drives (a M + g D), so the drug shows in them through distress only: assert the order
    # on distress and on the expected call rate, which the counts sample with Poisson noise (paired SE ~0.01/h
    # with 12 groups, against a naloxone effect of ~0.02/h: docs/experiments.md).
    for key in ("internal_distress", "call_rate"):
        assert c["morphine"][key] < c["saline"][key] < c["naloxone"][key], key
    assert c["saline"]["internal_distress"] > 0.05  # isolation lowers tone and raises distress (5.5)
    for drug in ("morphine", "naloxone"):  # the counts agree with the rates within 3 paired standard errors
        paired = s["calls_vs_saline"][drug]
        assert abs(paired["mean"] - (c[drug]["call_rate"] - c["saline"]["call_rate"])) < 3 * paired["sem"], drug
    rows = {(r["drug"], r["dose_mg"]): r for r in s["dose_response"]}
    for key in ("distress", "call_rate"):
        morphine = [rows["morphine", mg][key] for mg in (2.5, 10.0, 40.0)]
        naloxone = [rows["naloxone", mg][key] for mg in (0.1, 0.4, 1.6)]
        assert morphine == sorted(morphine, reverse=True), key  # dose-dependent relief
        assert naloxone == sorted(naloxone), key  # dose-dependent rise


@pytest.mark.slow
def test_grooming_directions_and_tone_rise(grooming):
    out, s = grooming
    c = s["conditions"]
    # expected solicitations (the Poisson rate); the counts differ by their sampling noise
    assert c["naloxone"]["solicitation_rate"] > c["saline"]["solicitation_rate"] > c["morphine"]["solicitation_rate"]
    assert 17 <= s["tone_rise_after_grooming_percent"] <= 186  # contact raises tone (Keverne 1989)
    assert (out / "solicitation.png").exists()


def test_antagonist_less_reward_per_contact():
    model = BondingModel(seed=1, n_agents=10, mean_degree=4, drug="naltrexone")
    at_rest = dict(tone=model.state()["tone_set_point"], receptors=1.0, bond=1.0)
    free = model.evaluate(contact_reward, **at_rest, occupancy=0.0)[0]
    blocked = model.evaluate(contact_reward, **at_rest, occupancy=0.95)[0]
    stranger = model.evaluate(contact_reward, **{**at_rest, "bond": 0.0}, occupancy=0.0)[0]
    assert free == pytest.approx(1.0) and blocked == pytest.approx(0.05 * free)
    assert 0.0 < stranger < 0.5 * free  # a close partner rewards more than a stranger


@pytest.mark.slow
def test_maintenance_bonds_weaken_and_support_helps(maintenance):
    out, s = maintenance
    usual = s["scenarios"]["usual"]
    assert usual["treated"]["bond_sum"] < usual["untreated"]["bond_sum"]
    assert usual["felt_connection_gap"] > 0
    assert s["treated_bond_gain_from_support"]["more_ties"] > 0
    assert (out / "weekly.csv").exists() and (out / "bonds_over_weeks.png").exists()


# ------------------------------------------------ model 2: adaptation (science.md section 6)
@pytest.mark.slow
def test_chronic_naltrexone_transient_distress_upregulation_rebound(chronic_naltrexone):
    out, s = chronic_naltrexone
    distress, affect = s["distress"], s["positive_affect"]
    assert distress["peak"] > 0.1 and distress["peak_day"] <= 1  # blockade is felt at first (0.18 here) ...
    assert distress["first_week"]["ci_low"] > 0.03  # 0.046 here
    # ... and fades on the reference's time scale (reference_adaptation_days = 1), not lastingly (Krupitsky 2016)
    assert distress["days_to_half_of_peak"] is not None and distress["days_to_half_of_peak"] <= 7
    # ... neither pinned high nor abolished: half of distress reads tone against its own set point (model 3)
    assert abs(distress["last_four_weeks_of_dosing"]["mean"]) < 0.15 * distress["peak"]
    assert affect["first_week"]["ci_high"] < 0  # positive affect dips at first ...
    assert abs(affect["last_four_weeks_of_dosing"]["mean"]) < 0.25 * abs(affect["first_week"]["mean"])  # not lasting
    assert s["receptors"]["end_of_dosing"]["ci_low"] > 0.3  # up-regulation (Lesscher 2003: +80%)
    assert s["reward_per_contact"]["last_four_weeks_of_dosing"]["ci_high"] < 0  # blockade: less reward
    # supersensitivity after stopping, small: the blockade's slow tail (model 3) covers most of it
    assert s["reward_per_contact"]["peak_after_stopping"] > 0
    assert affect["first_two_weeks_after_stopping"]["ci_low"] > 0  # rebound above placebo
    assert s["seeking_rate"]["last_four_weeks_of_dosing"]["ci_high"] < 0  # comfortable: less reward, less seeking
    for f in ("course.png", "daily.csv", "difference_by_community.csv", "report.md", "summary.json"):
        assert (out / f).stat().st_size > 0, f


@pytest.mark.slow
def test_morphine_tolerance_and_withdrawal(morphine_withdrawal):
    _, s = morphine_withdrawal
    signal = s["signal"]
    assert signal["first_day"]["ci_low"] > 0  # the agonist raises the signal ...
    assert signal["last_week_of_dosing"]["mean"] < 0.8 * signal["first_day"]["mean"]  # ... less and less: tolerance
    assert s["receptors"]["end_of_dosing"]["ci_high"] < 0  # down-regulation
    assert signal["first_week_after_stopping"]["ci_high"] < 0  # below placebo once stopped
    assert s["distress"]["first_three_days_after_stopping"]["ci_low"] > 0.1  # withdrawal distress
    assert s["seeking_rate"]["first_three_days_after_stopping"]["ci_low"] > 0  # more contact seeking
    assert s["seeking_rate"]["last_week_of_dosing"]["ci_high"] < 0  # less seeking while on the drug


@pytest.mark.slow
def test_state_dependence_both_signs_with_defaults(state_dependence):
    out, s = state_dependence
    comfortable, isolated = s["comfortable"], s["isolated"]
    assert comfortable["seeking_rate_difference"]["ci_high"] < 0  # comfortable: less seeking (Tchalova 2020)
    assert isolated["seeking_rate_difference"]["ci_low"] > 0  # isolated: more seeking (Martel et al. 1995)
    assert s["both_signs"]
    assert comfortable["reward_memory_difference"]["ci_high"] < 0  # comfortable: less reward expected
    assert isolated["distress_difference"]["ci_low"] > 0  # isolated: the blockade adds distress
    # acutely, before the lower reward is learned, the antagonist raises seeking in both states (5.4)
    assert comfortable["seeking_rate_difference_by_day"][0]["ci_low"] > 0
    assert (out / "seeking_by_state.png").exists()


@pytest.mark.slow
def test_bereavement_protest_then_grief(bereavement):
    out, s = bereavement
    p = Params()
    adapt_hours = 24.0 * p.reference_adaptation_days
    d = s["default"]
    # protest: distress and relief seeking peak within the first day and fade on the reference's time scale
    for key in ("distress", "relief_seeking"):
        assert d[key]["peak"] > 0 and d[key]["peak_hour"] <= 24, key
        assert d[key]["hours_to_half"] is not None and d[key]["hours_to_half"] <= 2 * adapt_hours, key
    assert d["distress"]["peak"] > 0.1 and d["distress"]["first_day"]["ci_low"] > 0
    # the hedonic half adapts within days; the tone half stays while grief lasts (model 3: about half the peak)
    assert d["distress"]["days_2_to_7"]["mean"] < 0.7 * d["distress"]["peak"]
    # tone stays low while grief lasts, long after distress has adapted
    assert d["tone_deficit"]["first_week"]["ci_low"] > 0.2 and d["tone_deficit"]["weeks_2_to_4"]["ci_low"] > 0.05
    # the tone's recovery follows the grief half-life, not the bond half-life
    half = {(r["grief_half_life_days"], r["bond_half_life_days"]): r["tone_deficit_days_to_half"] for r in s["sweep"]}
    short, usual, long_bond = half[3.0, p.bond_half_life_days], half[14.0, p.bond_half_life_days], half[14.0, 120.0]
    assert 1.0 < short / 3.0 < 2.5 and 1.0 < usual / 14.0 < 2.5  # deficit halves after ~1.5-2 grief half-lives
    assert abs(np.log(long_bond / usual)) < 0.25 * np.log(usual / short)  # x2 bond moves it far less than x4.7 grief
    # then despair: once distress has adapted, grief damps appetitive seeking below its usual level
    assert d["seeking_rate"]["days_2_to_7"]["ci_high"] < 0
    assert (out / "course.png").stat().st_size > 0


# ------------------------------------------------------------ definitions, CLI
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_config_matches_builtin_design(name):
    config = tomllib.loads((ROOT / "experiments" / name / "config.toml").read_text())
    assert config["design"] == REGISTRY[name].design
    assert config["params"] == REGISTRY[name].params
    assert (ROOT / "experiments" / name / "README.md").exists()


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "bondsim.cli", "experiment", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_cli_list():
    res = cli("--list")
    assert res.returncode == 0
    for name in REGISTRY:
        assert name in res.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("nosuch",),
        ("inagaki2016", "--trials", "0"),
        ("grooming", "--trials", "x"),
        ("grooming", "--config", "missing.toml"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, tmp_path, capsys):
    """Through the command's entry point in this process (no interpreter start-up per case)."""
    from bondsim.cli import main

    try:
        status = main(["experiment", *args, "--out", str(tmp_path / "out")])
    except SystemExit as exc:  # argparse refuses before the command runs
        status = exc.code
    stderr = capsys.readouterr().err
    assert status == 2
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_runs_experiment_from_config(tmp_path):
    cfg = tmp_path / "small.toml"
    cfg.write_text("[design]\ngroups = 2\ngroup_size = 12\ninjected = 4\nwarmup_days = 3\n")
    out = tmp_path / "grooming"
    res = cli("grooming", "--config", str(cfg), "--out", str(out), "--seed", "3", "--quiet")
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["conditions"]) == {"saline", "morphine", "naloxone"}
    assert summary["seed"] == 3 and summary["design"]["groups"] == 2


@pytest.mark.parametrize(
    ("name", "design", "needed"),
    [
        ("morphine_withdrawal", "followup_days = 8", "followup_days >= 21"),
        ("chronic_naltrexone", "dosing_days = 14", "dosing_days >= 28"),
    ],
)
def test_a_design_shorter_than_its_summary_windows_is_refused_before_any_run(name, design, needed, tmp_path, capsys):
    """A window the run does not cover would be summarised as NaN: refused with one line, exit 2, nothing written."""
    from bondsim.cli import main

    config = tmp_path / "short.toml"
    config.write_text(f"[design]\n{design}\n")
    status = main(["experiment", name, "--config", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and needed in err, err
    assert not (tmp_path / "out").exists()
