"""Parameters: defaults, validation with one-line messages, TOML loading and overrides."""

from __future__ import annotations

import dataclasses

import pytest

from bondsim.errors import UserError
from bondsim.params import FIELDS, ParameterError, Params, describe, load, parse_assignments, with_overrides


def test_defaults_are_valid_and_frozen():
    p = Params()
    assert p.n_agents == 200 and p.drug == "none"
    assert p.steps_per_day == pytest.approx(24.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_agents = 10  # type: ignore[misc]


def test_every_field_has_unit_range_and_meaning():
    rows = {r["name"]: r for r in describe()}
    assert set(rows) == set(FIELDS)
    for name, f in FIELDS.items():
        m = f.metadata
        assert m["doc"], name
        assert m["choices"] or (m["low"] is not None and m["high"] is not None), name
        if not m["choices"]:
            values = f.default if isinstance(f.default, tuple) else (f.default,)
            assert all(m["low"] <= v <= m["high"] for v in values), name


def test_overrides_from_strings_are_coerced():
    p = with_overrides(
        Params(),
        {"n_agents": "50", "dose_mg": "25.5", "drug": "naltrexone", "dose_hours": "0, 24 48", "mean_degree": 4.0},
    )
    assert p.n_agents == 50 and isinstance(p.n_agents, int)
    assert p.dose_mg == 25.5
    assert p.drug == "naltrexone"
    assert p.dose_hours == (0.0, 24.0, 48.0)
    assert p.mean_degree == 4 and isinstance(p.mean_degree, int)
    assert p.replace(rejection_rate=0.5).rejection_rate == 0.5


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"n_agnets": 10}, ["unknown parameter 'n_agnets'", "did you mean 'n_agents'"]),
        ({"dose_mg": -5}, ["dose_mg = -5", "out of range", "[0, 1000]"]),
        ({"treated_fraction": 1.5}, ["treated_fraction = 1.5", "[0, 1]"]),
        ({"drug": "naltrexon"}, ["drug = 'naltrexon'", "one of none, placebo", "did you mean 'naltrexone'"]),
        ({"drug": "aspirin"}, ["drug = 'aspirin'", "one of"]),
        ({"rejection_rate": "high"}, ["rejection_rate = 'high'", "not a number"]),
        ({"n_agents": 2.5}, ["n_agents = 2.5", "an integer"]),
        ({"n_agents": True}, ["n_agents = True", "not a number"]),
        ({"step_hours": float("nan")}, ["step_hours = nan", "out of range"]),
        ({"mean_degree": 50, "n_agents": 20}, ["mean_degree = 50", "below n_agents = 20"]),
        ({"schedule": "explicit", "dose_hours": "0 24", "dose_amounts_mg": "50"}, ["dose_amounts_mg has 1"]),
    ],
)
def test_bad_values_are_refused_with_one_line_naming_them(changes, words):
    with pytest.raises(ParameterError) as info:
        with_overrides(Params(), changes)
    message = str(info.value)
    assert "\n" not in message
    for w in words:
        assert w in message
    assert isinstance(info.value, UserError)


def test_parse_assignments():
    assert parse_assignments(["drug=naltrexone", " dose_mg = 50 "]) == {"drug": "naltrexone", "dose_mg": "50"}
    with pytest.raises(ParameterError, match="not of the form name=value"):
        parse_assignments(["dose_mg"])
    with pytest.raises(ParameterError, match="unknown parameter 'dose'"):  # names are checked on loading
        load(None, parse_assignments(["dose=50"]))


def test_toml_top_level_and_params_table(tmp_path):
    top = tmp_path / "top.toml"
    top.write_text('drug = "naltrexone"\ndose_mg = 50\ndose_hours = [0, 24]\n')
    table = tmp_path / "table.toml"
    table.write_text("# a study\n[params]\nn_agents = 80\nrejection_rate = 0.4\n")
    p = load(top)
    assert (p.drug, p.dose_mg, p.dose_hours) == ("naltrexone", 50, (0.0, 24.0))
    q = load(table, {"rejection_rate": "0.1"})
    assert q.n_agents == 80
    assert q.rejection_rate == 0.1  # --set wins over the file
    assert load(None) == Params()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("n_agents = = 3\n", ["malformed TOML"]),
        ("[params]\nn_agnets = 3\n", ["unknown parameter 'n_agnets'"]),
        ("[params]\ndose_mg = -1\n", ["dose_mg = -1"]),
        ("[network]\nkind = 'random'\n", ["unknown table [network]"]),
        ('n_agents = "many"\n', ["n_agents = 'many'", "not a number"]),
    ],
)
def test_bad_toml_is_refused_with_one_line(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ParameterError) as info:
        load(path)
    assert "\n" not in str(info.value)
    for w in words:
        assert w in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(ParameterError, match="config file not found"):
        load(tmp_path / "nope.toml")
