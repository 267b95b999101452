"""Extending the model without editing bondsim: docs/extending.md run as written, and a drug and a
mechanism defined only in this file, run on both engines through ``run`` and an experiment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondsim.model import BondingModel
from bondsim.params import load

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def page_blocks(page: Path) -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(page.read_text())]


def bondsim(args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    argv = [sys.executable, "-m", "bondsim.cli", *args.split()[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def extending_page(tmp_path_factory) -> Path:
    """Every block of docs/extending.md, in page order, in a fresh folder: files written, commands run and checked."""
    folder = tmp_path_factory.mktemp("extending")
    for lang, body in page_blocks(ROOT / "docs" / "extending.md"):
        first = body.splitlines()[0]
        if first.startswith("# file: "):
            (folder / first[len("# file: ") :].strip()).write_text(body)
        elif lang == "console":
            commands = re.split(r"^\$ ", body, flags=re.M)[1:]
            for chunk in commands:
                command, *expected = chunk.rstrip("\n").split("\n")
                done = bondsim(command, folder)
                if any("error:" in line for line in expected):
                    assert done.returncode == 2, (command, done.stderr)
                    assert done.stderr.strip().splitlines() == expected, command
                else:
                    assert done.returncode == 0, (command, done.stderr[-2000:])
                    if expected:
                        assert done.stdout.strip().splitlines() == expected, command
        elif lang == "python":
            env = {**os.environ, "PYTHONPATH": str(folder)}
            done = subprocess.run([sys.executable, "-c", body], cwd=folder, env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr[-2000:]
    return folder


@pytest.mark.slow
@pytest.mark.xdist_group("extending_page")  # one run of the page (make test runs two processes)
def test_the_page_runs_as_written(extending_page):
    assert (extending_page / "nalmefene-run" / "timeseries.csv").exists()
    assert (extending_page / "chronic-agents" / "timeseries.csv").exists()


@pytest.mark.slow
@pytest.mark.xdist_group("extending_page")
def test_a_copied_mechanism_takes_the_place_of_the_builtin_with_its_own_default(extending_page):
    info = json.loads((extending_page / "gentle" / "run.json").read_text())
    assert info["params"]["mechanisms"][1] == "gentle_tone" and info["params"]["rejection_tone_drop"] == 0.1
    assert "bondsim.mechanisms.tone" not in info["params"]["mechanisms"]


@pytest.mark.slow
@pytest.mark.xdist_group("extending_page")
def test_nalmefene_keeps_receptors_blocked_a_day_later(extending_page):
    frame = pd.read_csv(extending_page / "nalmefene-array" / "timeseries.csv")
    occupancy = frame.set_index("hours")["mean_occupancy"]
    assert occupancy.loc[2.0] > 0.9 and occupancy.loc[26.0] > 0.8  # Ingman et al. 2005: 83-100% at 26 h


@pytest.mark.slow
@pytest.mark.xdist_group("extending_page")
def test_upregulation_rises_under_blockade_and_rebounds_after(extending_page):
    agents = pd.read_csv(extending_page / "chronic-agents" / "timeseries.csv")
    array = pd.read_csv(extending_page / "chronic-array" / "timeseries.csv")
    pd.testing.assert_frame_equal(agents, array, check_exact=False, rtol=1e-12, atol=1e-12)
    day = agents.set_index("hours")
    receptors, affect = day["receptor_number"], day["positive_affect"]
    first, last = 24 * 7, 24 * 35  # dosing from day 7 for 28 days
    assert receptors.loc[first] == pytest.approx(1.0)
    assert receptors.loc[first + 24 * 7] > 1.2 and receptors.loc[last] > receptors.loc[first + 24 * 7]
    assert receptors.loc[last + 24 * 21] < receptors.loc[last + 24 * 7] < receptors.loc[last]
    before = affect.loc[first - 24 : first].mean()
    after = affect.loc[last + 24 * 7 : last + 24 * 14].mean()  # the second week after the last dose
    assert after > before  # supersensitivity: a rebound above the level before the drug


# ----------------------------------------------------- defined only in this file
MECHANISM = textwrap.dedent(
    '''
    """A test-only mechanism: a per-person count of accepted contacts, and a comfort that contact brings."""
    from bondsim.mechanism import Parameter, Variable, rule

    PARAMETERS = (Parameter("comfort_gain", 0.5, "", "comfort per accepted contact", 0.0, 5.0),)
    VARIABLES = (
        Variable("contact_count", "accepted contacts so far", dtype="int"),
        Variable("comfort", "comfort, decaying each step"),
    )
    METRICS = {"mean_contact_count": ("mean accepted contacts so far", lambda s: s["contact_count"].mean())}


    @rule("update", writes=("contact_count", "comfort"))
    def count_contacts(contact_count, comfort, contacts, comfort_gain):
        """Count contacts; comfort rises with each and halves every step."""
        return contact_count + contacts, 0.5 * comfort + comfort_gain * contacts
    '''
)
DRUG = textwrap.dedent(
    """
    [drugs.testamine]
    like = "naltrexone"
    half_life_h = 2.0
    metabolite_cmax_ng_ml = 0.0
    dissociation_half_life_h = 1.0
    """
)
MECHANISMS = """mechanisms = ["bondsim.mechanisms.receptor", "bondsim.mechanisms.tone", "bondsim.mechanisms.seeking",
    "bondsim.mechanisms.partner_choice", "bondsim.mechanisms.bonds", "bondsim.mechanisms.ratings",
    "bondsim.mechanisms.separation", "test_only_mechanism"]
"""


@pytest.fixture
def test_only(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "test_only_mechanism.py").write_text(MECHANISM)
    (tmp_path / "model.toml").write_text(MECHANISMS + DRUG + "\n[params]\ndrug = 'testamine'\ndose_mg = 50\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


# The tests of this file's mechanism run one after the other in one process under make test: the
# first compiles its kernel into the shared cache, the others load it (not two compilations at once)
TEST_ONLY_KERNEL = pytest.mark.xdist_group("test_only_kernel")


@TEST_ONLY_KERNEL
@pytest.mark.parametrize("engine", ["agents", "array"])
def test_a_test_file_mechanism_and_drug_run_through_bondsim_run(test_only, engine):
    done = bondsim(f"bondsim run --config model.toml --engine {engine} --days 2 --seed 3 --out r --quiet", test_only)
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(test_only / "r" / "timeseries.csv")
    counts = frame["mean_contact_count"].to_numpy()
    assert counts[0] == 0 and np.all(np.diff(counts) >= 0) and counts[-1] > 1
    assert frame["mean_occupancy"].max() > 0.5  # the drug acted
    params = load(test_only / "model.toml")
    assert params.comfort_gain == 0.5 and params.drug == "testamine"
    model = BondingModel(params.replace(engine=engine, n_agents=50, mean_degree=4), seed=3)
    accepted = 0
    for _ in range(24):
        model.step()
        accepted += int(model.last_contacts.accepted.sum())
    s = model.state()
    assert accepted > 0 and s["contact_count"].sum() == 2 * accepted  # each accepted contact counts for both
    assert np.all(s["comfort"] >= 0)


@pytest.mark.slow
@TEST_ONLY_KERNEL
def test_a_test_file_mechanism_and_drug_run_through_an_experiment(test_only):
    config = test_only / "experiment.toml"
    config.write_text(
        MECHANISMS + DRUG + "\n[design]\ngroups = 2\ngroup_size = 12\nisolated = 4\nwarmup_days = 2\n"
        "\n[params]\nmean_degree = 4\ndose_mg = 0.0\n"
    )
    for engine in ("agents", "array"):
        done = bondsim(
            f"bondsim experiment separation_distress --config experiment.toml --engine {engine} --out e-{engine} "
            "--quiet --workers 1",
            test_only,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert (test_only / f"e-{engine}" / "summary.json").exists()
    assert (test_only / "e-agents" / "summary.json").read_text() != ""


def test_a_mechanism_that_reads_an_unknown_name_is_refused_with_one_line(tmp_path, monkeypatch):
    (tmp_path / "broken_mechanism.py").write_text(
        "from bondsim.mechanism import rule\n\n\n@rule('update', writes=('tone',))\ndef f(tonne):\n    return tonne\n"
    )
    (tmp_path / "broken.toml").write_text(MECHANISMS.replace("test_only_mechanism", "broken_mechanism"))
    done = bondsim("bondsim run --config broken.toml --days 1 --out r", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "bondsim run: error: rule broken_mechanism.f reads 'tonne', which is no variable, constant or parameter "
        "(did you mean 'tone'?)"
    )
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
@TEST_ONLY_KERNEL
def test_a_test_file_mechanism_and_drug_run_through_a_sweep(test_only):
    spec = test_only / "spec.toml"
    spec.write_text(
        DRUG
        + '\n[sweep]\ndesign = "grid"\nreplicates = 2\ndays = 1\nseed = 5\nrecord = "every:6"\n'
        + "\n[fixed]\n"
        + MECHANISMS.replace("mechanisms = ", "mechanisms = ", 1)
        + 'n_agents = 40\nmean_degree = 4\ndrug = "testamine"\ndose_mg = 50\n'
        + "\n[vary]\ncomfort_gain = [0.5, 2.0]\n"
    )
    for engine in ("agents", "array"):
        text = spec.read_text().replace('drug = "testamine"', f'drug = "testamine"\nengine = "{engine}"')
        (test_only / f"spec-{engine}.toml").write_text(text)
        done = bondsim(f"bondsim sweep spec-{engine}.toml --out sweep-{engine} --workers 1", test_only)
        assert done.returncode == 0, done.stderr[-2000:]
    import bondsim.sweep as sweep

    frames = [sweep.results(test_only / f"sweep-{e}") for e in ("agents", "array")]
    assert len(frames[0]) == len(frames[1]) > 0
    for frame in frames:
        assert "mean_contact_count" in frame.columns and frame["mean_occupancy"].max() > 0.5
    cols = ["run", "step", "mean_contact_count", "mean_occupancy", "felt_connection"]
    pd.testing.assert_frame_equal(frames[0][cols], frames[1][cols], rtol=1e-12, atol=1e-12)
    columns = pd.read_csv(test_only / "sweep-array" / "columns.csv")
    assert "comfort_gain" in set(columns["column"])


# ----------------------------------------------------------- broken mechanisms: one line, exit 2
BROKEN = {
    "allocates": (
        "import numpy as np\nfrom bondsim.mechanism import rule\n\n\n"
        "@rule('update', writes=('tone',))\ndef f(tone):\n    return np.zeros(3).sum() + tone\n",
        "array",
        "the array engine cannot compile rule broken_allocates.f (broken_allocates.py, line 7): No implementation",
    ),
    "float32": (
        "from bondsim.mechanism import Variable\nVARIABLES = (Variable('x', 'x', dtype='float32'),)\n",
        "agents",
        "dtype 'float32' is not one of",
    ),
    "per_tie": (
        "from bondsim.mechanism import Variable\nVARIABLES = (Variable('x', 'x', per='tie'),)\n",
        "agents",
        "per = 'tie' must be 'person' or 'edge'",
    ),
    "bad_metric": ("METRICS = {'m': 3}\n", "agents", "METRICS['m'] must be (meaning, function of the state)"),
    "metric_fails": (
        "METRICS = {'m': ('a metric', lambda s: s['lonelyness'].mean())}\n",
        "agents",
        "metric 'm' failed: KeyError",
    ),
    "constants_fail": ("def constants(params):\n    return {'y': 1 / 0}\n", "agents", "constants() failed"),
    "constant_clash": (
        "def constants(params):\n    return {'grief_keep': 0.5}\n",
        "array",
        "defines 'grief_keep', which is already bondsim.mechanisms.tone",
    ),
}


# numba's failed compilation takes a few seconds
@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.slow) if c == "allocates" else c for c in BROKEN])
def test_a_broken_mechanism_is_one_line_and_exit_2(tmp_path, case):
    source, engine, expected = BROKEN[case]
    (tmp_path / f"broken_{case}.py").write_text(source)
    (tmp_path / "broken.toml").write_text(MECHANISMS.replace("test_only_mechanism", f"broken_{case}"))
    done = bondsim(f"bondsim run --config broken.toml --engine {engine} --days 1 --out r", tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr[-2000:]
    assert not (tmp_path / "r").exists()


def test_a_sweep_refuses_a_broken_mechanism_before_any_run(tmp_path):
    (tmp_path / "broken_mechanism.py").write_text(
        "from bondsim.mechanism import rule\n\n\n@rule('update', writes=('tone',))\ndef f(tonne):\n    return tonne\n"
    )
    spec = "[sweep]\ndesign = 'grid'\nsteps = 2\n[fixed]\n" + MECHANISMS.replace(
        "test_only_mechanism", "broken_mechanism"
    )
    (tmp_path / "spec.toml").write_text(spec + "[vary]\nrejection_rate = [0.1, 0.2]\n")
    done = bondsim("bondsim sweep spec.toml --out s --workers 1", tmp_path)
    assert done.returncode == 2 and "reads 'tonne'" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_integer_variables_are_kept_as_integers_on_both_engines(tmp_path, monkeypatch):
    (tmp_path / "counting.py").write_text(
        "from bondsim.mechanism import Variable, rule\n"
        "VARIABLES = (Variable('mood_count', 'a count', dtype='int32'),)\n\n\n"
        "@rule('update', writes=('mood_count',))\ndef count(mood_count, tone):\n    return mood_count + 0.6 * tone\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    params = load(overrides={"mechanisms": [*load().mechanisms, "counting"]})
    states = [BondingModel(params.replace(engine=e, n_agents=30, mean_degree=4), seed=2) for e in ("agents", "array")]
    for m in states:
        m.run(24)
    np.testing.assert_array_equal(states[0].state()["mood_count"], states[1].state()["mood_count"])


def test_a_mechanism_in_the_working_folder_is_found_by_the_bondsim_command(tmp_path):
    (tmp_path / "here_mechanism.py").write_text(MECHANISM)
    (tmp_path / "model.toml").write_text(MECHANISMS.replace("test_only_mechanism", "here_mechanism"))
    command = Path(sys.executable).parent / "bondsim"  # the installed console script, no PYTHONPATH
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(command), "run", "--config", "model.toml", "--days", "1", "--out", "r", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mean_contact_count" in pd.read_csv(tmp_path / "r" / "timeseries.csv").columns
