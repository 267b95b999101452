"""The model contract (bondsim.contract), the one argument resolver, and replacing a built-in mechanism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bondsim import contract
from bondsim.mechanism import MechanismError, model_spec, resolve
from bondsim.mechanisms import DEFAULT
from bondsim.model import BondingModel, check_model
from bondsim.params import ParameterError, Params, load

ROOT = Path(__file__).resolve().parents[1]
BUILTIN = ROOT / "src" / "bondsim" / "mechanisms"


def bondsim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "bondsim.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def copy_builtin(name: str, folder: Path, new: str, change: tuple[str, str] | None = None) -> None:
    """A user's copy of a built-in mechanism module (its relative imports made absolute), maybe changed."""
    text = (
        (BUILTIN / f"{name}.py")
        .read_text()
        .replace("from ..", "from bondsim.")
        .replace("from .", "from bondsim.mechanisms.")
    )
    if change:
        assert change[0] in text
        text = text.replace(*change)
    (folder / f"{new}.py").write_text(text)


# ------------------------------------------------------------------ the contract
def test_every_need_is_provided_by_the_default_model_as_declared():
    spec = model_spec(DEFAULT)
    for need in contract.NEEDS:
        v = spec.variables[need.name]
        assert need.provider in DEFAULT and (v.per, v.dtype in need.dtypes) == (need.per, True), need
    assert set(contract.USERS) == {n.user for n in contract.NEEDS}
    contract.check(spec, users=tuple(contract.USERS))  # the trials' needs too


def test_the_timeseries_sums_what_the_contract_names():
    from bondsim import metrics

    assert metrics.SUMMED == contract.names("metrics")


@pytest.mark.parametrize(
    ("left_out", "variable"),
    [
        ("bondsim.mechanisms.seeking", "attempts"),
        ("bondsim.mechanisms.bonds", "bond"),
        ("bondsim.mechanisms.ratings", "felt_connection"),
        ("bondsim.mechanisms.tone", "tone"),
    ],
)
def test_a_list_without_a_provider_is_refused_naming_the_variable_and_the_builtin(left_out, variable):
    with pytest.raises(MechanismError) as caught:
        model_spec(tuple(m for m in DEFAULT if m != left_out))
    message = str(caught.value)
    assert f"'{variable}'" in message and left_out in message and "\n" not in message


def test_a_need_of_the_wrong_shape_is_refused(tmp_path, monkeypatch):
    per_edge = 'dtype="int16", per="edge", scratch=True'
    copy_builtin("partner_choice", tmp_path, "flat_choice", (per_edge, 'dtype="int16", scratch=True'))
    monkeypatch.syspath_prepend(str(tmp_path))
    params = load(overrides={"replace": {"bondsim.mechanisms.partner_choice": "flat_choice"}})
    with pytest.raises(MechanismError, match=r"variable 'met' of flat_choice is declared per person .* per edge"):
        check_model(params)


def test_the_cli_names_the_missing_provider_in_one_line(tmp_path):
    listed = ",".join(m for m in DEFAULT if m != "bondsim.mechanisms.seeking")
    done = bondsim(["run", "--set", f"mechanisms={listed}", "--days", "1", "--out", "r"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "bondsim run: error: the model has no variable 'attempts' (contact attempts in the step: one approach each), "
        "which the engines need: add bondsim.mechanisms.seeking, which provides it, or a mechanism of your own that "
        "declares it"
    ]
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ one resolver
def test_resolve_says_what_every_kind_of_name_refers_to():
    spec = model_spec(DEFAULT)
    constants = BondingModel(Params(n_agents=20, mean_degree=4), seed=1).constants
    got = {name: resolve(name, spec, constants) for name in ("dt", "hours", "draw_seek", "draw_partner", "edge_bond")}
    assert (got["dt"].kind, got["hours"].kind) == ("clock", "clock")
    assert (got["draw_seek"].kind, got["draw_seek"].stage) == ("draw", "decide")
    assert (got["draw_partner"].stage, got["draw_partner"].key) == ("approach", "partner")
    assert (got["edge_bond"].kind, got["edge_bond"].key) == ("edge", "bond")
    assert resolve("tone", spec, constants).kind == "variable"
    assert resolve("bond_keep", spec, constants).kind == "constant"
    with pytest.raises(MechanismError, match="a tie variable: a rule reads the person's row of it as 'edge_bond'"):
        resolve("bond", spec, constants)
    with pytest.raises(MechanismError, match=r"no variable, constant or parameter \(did you mean 'tone'\?\)"):
        resolve("tonne", spec, constants)
    with pytest.raises(MechanismError, match="no tie variable"):
        resolve("edge_tone", spec, constants)


def test_a_variable_a_replacement_left_out_is_named_with_the_builtin_that_declares_it(tmp_path, monkeypatch):
    copy_builtin(
        "seeking", tmp_path, "eager", ('    Variable(\n        "despair",', '    Variable(\n        "eagerness",')
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MechanismError) as caught:
        check_model(load(overrides={"replace": {"bondsim.mechanisms.seeking": "eager"}}))
    assert "'despair'" in str(caught.value)
    assert "(bondsim.mechanisms.seeking declares it: add it to the mechanism list)" in str(caught.value)


def test_the_array_kernels_are_described_not_parsed():
    from bondsim.codegen import array_kernels

    source = array_kernels(model_spec(DEFAULT))
    update = source.kernels["update_and_observe"]
    assert update.leading == ("n", "indptr", "fault", "fault_value")
    kinds = {a.kind for a in update.arguments}
    assert {"variable", "edge", "constant", "clock", "draw"} >= kinds >= {"variable", "edge", "constant"}
    head = next(line for line in source.text.splitlines() if line.startswith("def update_and_observe("))
    assert head.count(",") + 1 == len(update.leading) + len(update.arguments)


# ------------------------------------------------------------------ replacing a built-in mechanism
@pytest.mark.slow
@pytest.mark.parametrize("engine", ["agents", "array"])
def test_a_copied_builtin_takes_its_place_and_gives_the_very_same_run(tmp_path, monkeypatch, engine):
    copy_builtin("tone", tmp_path, "my_tone")
    monkeypatch.syspath_prepend(str(tmp_path))
    overrides = {"n_agents": 40, "mean_degree": 4, "engine": engine, "drug": "naltrexone", "dose_mg": 50.0}
    mine = load(overrides={"replace": {"bondsim.mechanisms.tone": "my_tone"}, **overrides})
    assert mine.mechanisms[1] == "my_tone" and mine.parameter("set_point").source
    a = BondingModel(mine, seed=4).run(30)
    b = BondingModel(load(overrides=overrides), seed=4).run(30)
    assert a.equals(b)


def test_a_replacing_module_s_own_default_is_used_unless_set(tmp_path, monkeypatch):
    copy_builtin("tone", tmp_path, "warm_tone", ('Parameter("set_point", 1.0,', 'Parameter("set_point", 1.5,'))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "warm.toml").write_text('replace = { "bondsim.mechanisms.tone" = "warm_tone" }\n')
    assert load(tmp_path / "warm.toml").set_point == 1.5
    assert load(tmp_path / "warm.toml", {"set_point": 1.0}).set_point == 1.0
    with pytest.raises(ParameterError, match="set_point"):
        load(tmp_path / "warm.toml", {"set_point": 11})


def test_replace_refuses_what_is_not_in_the_list_and_a_copy_beside_its_original(tmp_path, monkeypatch):
    copy_builtin("tone", tmp_path, "my_tone")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ParameterError, match=r"replace: 'bondsim.mechanisms.tonne' is not in the mechanism list \(did"):
        load(overrides={"replace": {"bondsim.mechanisms.tonne": "my_tone"}})
    with pytest.raises(ParameterError, match=r"which bondsim\.mechanisms\.tone declares too"):
        load(overrides={"mechanisms": [*DEFAULT, "my_tone"]})


@pytest.mark.slow
def test_replace_in_a_config_through_the_command(tmp_path):
    copy_builtin("tone", tmp_path, "my_tone")
    (tmp_path / "mine.toml").write_text('replace = { "bondsim.mechanisms.tone" = "my_tone" }\n')
    args = ["--set", "n_agents=30", "--days", "1", "--seed", "2", "--quiet"]
    assert bondsim(["run", "--config", "mine.toml", "--out", "a", *args], tmp_path).returncode == 0
    assert bondsim(["run", "--out", "b", *args], tmp_path).returncode == 0
    assert (tmp_path / "a" / "timeseries.csv").read_text() == (tmp_path / "b" / "timeseries.csv").read_text()
    (tmp_path / "bad.toml").write_text('replace = ["my_tone"]\n')
    done = bondsim(["run", "--config", "bad.toml", "--out", "c"], tmp_path)
    assert done.returncode == 2 and "replace = ['my_tone'] must be a table" in done.stderr
