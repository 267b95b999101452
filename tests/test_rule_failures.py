"""A rule that goes wrong stops the run on both engines, at the same person, rule and step, in one line.

The array engine checks every value the rules return (a NaN or an infinity would otherwise pass
silently into the outputs); the agents engine also stops when a rule raises. numba's compile
errors name the rule, tracebacks through the generated agent code show its lines, and the
kernel cache notices a change to a user's helper module.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bondsim.mechanism import model_spec
from bondsim.mechanisms import DEFAULT
from bondsim.model import BondingModel, ModelError, RuleError
from bondsim.params import load

NOT_FINITE = textwrap.dedent(
    '''
    """A feeling that becomes infinite when a person had no contact for a while (at hour 5)."""
    from bondsim.mechanism import Variable, rule

    VARIABLES = (Variable("longing", "how much the person longs for company"),)


    @rule("observe", writes=("longing",))
    def long_for(contacts, tone, hours):
        """Longing, infinite from hour 5 for people with no contact in the step."""
        if hours >= 5.0 and contacts == 0 and tone < 1.0:
            return 1e308 * (10.0 - tone)
        return 0.0
    '''
)

RAISES = textwrap.dedent(
    '''
    """Loneliness by a division that fails at hour 5."""
    from bondsim.mechanism import Variable, rule

    VARIABLES = (Variable("loneliness", "loneliness"),)


    @rule("observe", writes=("loneliness",))
    def feel_lonely(contacts, hours):
        """Lonelier the fewer the contacts."""
        if hours >= 5.0:
            return 1.0 / (contacts * 0.0)
        return 0.0
    '''
)


def mechanism_params(tmp_path: Path, monkeypatch, name: str, source: str, **overrides):
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    # from the initial bonds (no warm-up before time zero), so that the rules go wrong at the step they name
    settings = {"mechanisms": [*DEFAULT, name], "n_agents": 40, "mean_degree": 4, "warmup_days": 0.0}
    return load(overrides={**settings, **overrides})


def bondsim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [sys.executable, "-m", "bondsim.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_a_value_that_is_not_finite_stops_both_engines_with_the_same_line(tmp_path, monkeypatch):
    params = mechanism_params(tmp_path, monkeypatch, "longing_mechanism", NOT_FINITE)
    messages = {}
    for engine in ("agents", "array"):
        model = BondingModel(params.replace(engine=engine), seed=3)
        with pytest.raises(RuleError) as caught:
            model.run(24)
        messages[engine] = str(caught.value)
        assert model.steps_done == 5  # steps 1-5 done; step 6 (hours 5-6) went wrong
        with pytest.raises(ModelError, match="stopped at hour 5 when a step failed"):
            model.step()  # a half-done step cannot be continued
    assert messages["agents"] == messages["array"]
    assert messages["array"].startswith("rule longing_mechanism.long_for wrote inf to 'longing' for person ")
    assert "at step 6 (hours 5-6)" in messages["array"] and "\n" not in messages["array"]


@pytest.mark.slow
def test_a_rule_that_raises_stops_the_agents_engine_and_the_array_engine_at_the_same_place(tmp_path, monkeypatch):
    params = mechanism_params(tmp_path, monkeypatch, "lonely_mechanism", RAISES)
    with pytest.raises(RuleError) as agents:
        BondingModel(params.replace(engine="agents"), seed=1).run(24)
    with pytest.raises(RuleError) as array:
        BondingModel(params.replace(engine="array"), seed=1).run(24)
    assert str(agents.value) == (
        "rule lonely_mechanism.feel_lonely (which writes loneliness) failed for person 0 at step 6 (hours 5-6): "
        "ZeroDivisionError: float division by zero (lonely_mechanism.py, line 12)"
    )
    assert str(array.value).startswith(  # numba divides as NumPy does: the infinity is caught instead
        "rule lonely_mechanism.feel_lonely wrote inf to 'loneliness' for person 0 at step 6 (hours 5-6)"
    )
    assert isinstance(agents.value.__cause__, ZeroDivisionError)
    shown = "".join(traceback.format_exception(agents.value.__cause__))
    assert "R_lonely_mechanism_feel_lonely(" in shown  # the generated agent code's line, from linecache
    assert "return 1.0 / (contacts * 0.0)" in shown


@pytest.mark.slow
def test_the_command_says_it_in_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "longing_mechanism.py").write_text(NOT_FINITE)
    listed = ",".join([*DEFAULT, "longing_mechanism"])
    lines = {}
    for engine in ("agents", "array"):
        done = bondsim(
            [
                "run",
                "--engine",
                engine,
                "--set",
                f"mechanisms={listed}",
                "--days",
                "1",
                "--out",
                engine,
                "--quiet",
                "--seed",
                "3",
            ],
            tmp_path,
        )
        assert done.returncode == 2 and not (tmp_path / engine).exists()
        lines[engine] = done.stderr.strip()
        assert "\n" not in lines[engine], done.stderr
    assert lines["agents"] == lines["array"] and "longing_mechanism.long_for wrote inf to 'longing'" in lines["array"]


@pytest.mark.slow
def test_a_start_rule_that_goes_wrong_is_named_at_step_zero(tmp_path, monkeypatch):
    source = NOT_FINITE.replace("if hours >= 5.0 and contacts == 0 and tone < 1.0:", "if True:")
    params = mechanism_params(tmp_path, monkeypatch, "early_mechanism", source)
    for engine in ("agents", "array"):
        with pytest.raises(RuleError, match=r"wrote inf to 'longing' for person 0 at the start \(step 0\)"):
            BondingModel(params.replace(engine=engine), seed=1)


@pytest.mark.slow
def test_a_sweep_records_such_a_run_as_failed(tmp_path):
    (tmp_path / "longing_mechanism.py").write_text(NOT_FINITE)
    (tmp_path / "spec.toml").write_text(
        "[sweep]\ndesign = 'grid'\nsteps = 12\nreplicates = 1\n[fixed]\nn_agents = 40\nmean_degree = 4\n"
        f"mechanisms = {[*DEFAULT, 'longing_mechanism']!r}\n[vary]\nrejection_rate = [0.1, 0.2]\n".replace("'", '"')
    )
    done = bondsim(["sweep", "spec.toml", "--out", "s", "--workers", "1", "--quiet"], tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    failures = pd.read_csv(tmp_path / "s" / "failures.csv")
    assert len(failures) == 2 and failures["error"].str.contains("long_for wrote inf to 'longing'").all()


def test_a_rule_numba_cannot_compile_is_named_with_its_file_and_line(tmp_path, monkeypatch):
    source = textwrap.dedent(
        '''
        import numpy as np
        from bondsim.mechanism import Variable, rule

        VARIABLES = (Variable("stuff", "stuff"),)


        @rule("observe", writes=("stuff",))
        def make_stuff(tone):
            """Makes an array: the array engine cannot."""
            values = np.zeros(3)
            return values.sum() + tone
        '''
    )
    params = mechanism_params(tmp_path, monkeypatch, "arrays_mechanism", source, engine="array")
    with pytest.raises(Exception) as caught:
        BondingModel(params, seed=1)
    assert str(caught.value).startswith(
        "the array engine cannot compile rule arrays_mechanism.make_stuff (arrays_mechanism.py, line 11): "
        "No implementation of function Function(<built-in function zeros>) found for signature: zeros("
    )
    BondingModel(params.replace(engine="agents"), seed=1).run(2)  # plain Python runs it


@pytest.mark.slow
def test_the_kernel_cache_key_covers_a_user_helper_module(tmp_path, monkeypatch):
    from bondsim.codegen import _fingerprint, array_source, compiled_functions

    (tmp_path / "curves.py").write_text(
        "from bondsim.mechanism import helper\nGAIN = 2.0\n\n\n@helper\ndef curve(x):\n    return GAIN * x\n"
    )
    (tmp_path / "curved.py").write_text(
        "import curves\nfrom bondsim.mechanism import Variable, rule\nVARIABLES = (Variable('bent', 'bent'),)\n\n\n"
        "@rule('observe', writes=('bent',))\ndef bend(tone):\n    return curves.curve(tone)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = model_spec((*DEFAULT, "curved"))
    assert "curve" in {f.__name__ for f in compiled_functions(spec)}
    before = _fingerprint(spec, array_source(spec))
    (tmp_path / "curves.py").write_text((tmp_path / "curves.py").read_text().replace("GAIN = 2.0", "GAIN = 3.0"))
    importlib.reload(sys.modules["curves"])
    importlib.reload(sys.modules["curved"])
    spec = model_spec((*DEFAULT, "curved"))
    assert _fingerprint(spec, array_source(spec)) != before
    model = BondingModel(
        load(overrides={"mechanisms": [*DEFAULT, "curved"], "engine": "array", "n_agents": 20}), seed=1
    )
    np.testing.assert_allclose(model.state()["bent"], 3.0 * model.state()["tone"])
