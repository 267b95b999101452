"""The core and its extras: where numba is absent the numbers are the same, and a missing extra is one line.

The real thing, a fresh virtual environment with the core alone, is tests/test_packaging.py; here
the NumPy paths are compared with the compiled ones bit for bit, and a missing extra is faked by
blocking its modules in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bondsim import extras, metrics, pharmacology
from bondsim.model import BondingModel


def test_the_numpy_sums_of_a_row_are_the_compiled_ones_bit_for_bit():
    model = BondingModel(seed=5, n_agents=3000, engine="array", drug="naltrexone", treated_fraction=0.5, dose_mg=50)
    model.run(30)
    state = model.engine.views(metrics.SUMMED)
    degree = model.network.degree()
    compiled = metrics.population_sums()
    assert compiled is not metrics._population_sums_numpy  # numba is installed here
    for everyone, mask in (
        (True, metrics._EVERYONE),
        (False, model.engine.get("treated")),
        (False, np.zeros(3000, bool)),
    ):
        a = compiled(everyone, mask, *(state[name] for name in metrics.SUMMED), degree)
        b = metrics._population_sums_numpy(everyone, mask, *(state[name] for name in metrics.SUMMED), degree)
        assert tuple(map(float, a)) == b


def test_the_plain_python_drug_kinetics_are_the_compiled_ones_bit_for_bit():
    c = pharmacology.kinetic_constants(pharmacology.profile("naltrexone"), 0.25)
    rng = np.random.default_rng(1)
    people = pharmacology.draw_person_kinetics(rng, 50)
    state = np.zeros((50, 6))
    state[:, 0] = 50.0
    plain = state.copy()
    args = tuple(c[name] for name in pharmacology._RULE_CONSTANTS)
    for _ in range(100):
        pharmacology._advance_function()(
            state, people["drug_exposure"], people["drug_binding_rate"], np.asarray(args[0]), *args[1:]
        )
        pharmacology._advance_everyone(plain, people["drug_exposure"], people["drug_binding_rate"], args[0], *args[1:])
    np.testing.assert_array_equal(state, plain)


def test_require_names_the_extra_and_its_install():
    extras.require("array", "the array engine")  # installed here
    with pytest.raises(extras.MissingExtra) as caught:
        extras.require("calibrate", "bondsim calibrate") if not extras.has("calibrate") else pytest.skip("pyabc here")
    assert str(caught.value).startswith("bondsim calibrate needs the 'calibrate' extra (")
    assert str(caught.value).endswith('pip install "bondsim[calibrate]"')
    assert extras.extra_of("pyarrow.parquet") == "sweep" and extras.extra_of("numpy") is None


def without(modules: list[str], args: list[str], cwd) -> subprocess.CompletedProcess:
    """``bondsim ARGS`` in a process where ``modules`` cannot be imported (as if not installed)."""
    code = textwrap.dedent(
        f"""
        import sys
        for name in {modules!r}:
            sys.modules[name] = None
        from bondsim.cli import main
        sys.exit(main({args!r}))
        """
    )
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=os.environ)


MISSING = {  # blocked modules, the command, the extra it names, and what the line says before the install
    "array engine": (["numba"], ["run", "--engine", "array", "--days", "1", "--out", "r"], "array",
                     "engine = 'array' needs the 'array' extra (numba is not installed)"),
    "sweep": (["pyarrow", "distributed"], ["sweep", "spec.toml"], "sweep",
              "bondsim sweep needs the 'sweep' extra (distributed, pyarrow are not installed)"),
    "analyze": (["pyarrow"], ["analyze", "somewhere"], "sweep",
                "bondsim analyze needs the 'sweep' extra (pyarrow is not installed)"),
    "trial": (["statsmodels"], ["trial", "inagaki2019"], "trials",
              "a virtual trial needs the 'trials' extra (statsmodels is not installed)"),
    "experiment": (["statsmodels"], ["experiment", "inagaki2016"], "trials",
                   "experiment inagaki2016 needs the 'trials' extra (statsmodels is not installed)"),
    "app": (["solara"], ["app"], "app", "bondsim app needs the 'app' extra (solara is not installed)"),
}  # fmt: skip


@pytest.mark.parametrize("case", MISSING)
def test_a_command_whose_extra_is_missing_says_so_in_one_line(tmp_path, case):
    blocked, args, extra, expected = MISSING[case]
    done = without(blocked, args, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [f'bondsim {args[0]}: error: {expected}: pip install "bondsim[{extra}]"']
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_the_agents_engine_runs_without_numba_with_the_same_numbers(tmp_path):
    args = [
        "run",
        "--days",
        "1",
        "--set",
        "n_agents=60",
        "--set",
        "drug=naltrexone",
        "--set",
        "dose_mg=50",
        "--seed",
        "9",
    ]
    plain = without(["numba"], [*args, "--out", "plain", "--quiet"], tmp_path)
    assert plain.returncode == 0, plain.stderr[-2000:]
    full = without([], [*args, "--out", "full", "--quiet"], tmp_path)
    assert full.returncode == 0, full.stderr[-2000:]
    assert (tmp_path / "plain" / "timeseries.csv").read_text() == (tmp_path / "full" / "timeseries.csv").read_text()
