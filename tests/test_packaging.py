"""Packaging: the wheel installs into an empty virtual environment and runs; one version everywhere."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import bondsim

ROOT = Path(__file__).resolve().parents[1]


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_one_version_in_package_citation_and_changelog():
    version = project_version()
    assert bondsim.__version__ == version
    citation = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M)
    assert re.search(rf'^version: "?{re.escape(version)}"?$', citation, re.M), "CITATION.cff names another version"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M), (
        f"CHANGELOG.md has no section for {version}"
    )


@pytest.mark.packaging
@pytest.mark.timeout(900)
def test_wheel_installs_into_an_empty_venv_and_runs(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(ROOT)],
        check=True,
        env=env,
        capture_output=True,
    )
    (wheel,) = wheels.glob("bondsim-*.whl")
    assert wheel.name.startswith(f"bondsim-{project_version()}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bondsim/py.typed" in names and "bondsim/cli.py" in names
    assert "bondsim/trials/library/inagaki2016.toml" in names  # the trial library travels with the package
    assert "bondsim/app/static/app.css" in names  # and the classroom app's style sheets and Info page
    assert "bondsim/app/static/projector.css" in names and "bondsim/app/static/info.html" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/"))]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    work = tmp_path / "work"  # away from the source tree, so only the installed package can be imported
    work.mkdir()
    run = subprocess.run(
        [str(venv / "bin" / "bondsim"), "run", "--days", "1", "--set", "n_agents=50", "--seed", "3", "--out", "X"],
        cwd=work,
        env={**env, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "50 people, 24 steps" in run.stdout
    info = json.loads((work / "X" / "run.json").read_text())
    assert info["versions"]["bondsim"] == project_version() and info["params"]["n_agents"] == 50
    assert len((work / "X" / "timeseries.csv").read_text().splitlines()) == 26  # header, steps 0..24
    where = subprocess.run(
        [str(python), "-c", "import bondsim, pathlib; print(pathlib.Path(bondsim.__file__).parent)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    installed = Path(where.stdout.strip())
    assert installed.is_relative_to(venv) and (installed / "py.typed").is_file()
    listing = subprocess.run(
        [str(venv / "bin" / "bondsim"), "trial", "--list"], cwd=work, env=env, capture_output=True, text=True
    )
    assert listing.returncode == 0 and "tchalova2020" in listing.stdout, listing.stderr[-2000:]
    static = subprocess.run(  # the app reads them from the installed package
        [str(python), "-c", "import bondsim.app.assets as a; print(a.static_text('app.css').count('.bondsim-'))"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert static.returncode == 0 and int(static.stdout) > 0, static.stderr[-2000:]
