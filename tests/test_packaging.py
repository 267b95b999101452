"""Packaging: the wheel installs into an empty virtual environment and runs; one version everywhere."""

from __future__ import annotations

import json
import os
import re
import shutil
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


HEAVY = ("numba", "llvmlite", "dask", "distributed", "pyarrow", "statsmodels", "SALib", "solara", "ipyvuetify", "pyabc")


def clean_env() -> dict[str, str]:
    """This environment without the variables that would point a fresh venv at this checkout."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def build_wheel(tmp_path: Path, env: dict[str, str]) -> Path:
    """The wheel of this checkout, built from a copy of its sources (no stale build/ folder gets in)."""
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), str(source)],
        check=True,
        env=env,
        capture_output=True,
    )
    (wheel,) = wheels.glob("bondsim-*.whl")
    return wheel


@pytest.mark.packaging
@pytest.mark.timeout(1200)
def test_the_core_installs_alone_runs_the_model_and_names_the_extras(tmp_path):
    """``pip install bondsim`` in an empty venv: the core only; the agents engine gives this checkout's numbers."""
    env = clean_env()
    wheel = build_wheel(tmp_path, env)
    assert wheel.name.startswith(f"bondsim-{project_version()}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bondsim/py.typed" in names and "bondsim/cli.py" in names
    assert "bondsim/trials/library/inagaki2016.toml" in names  # the trial library travels with the package
    assert "bondsim/calibration/posteriors/default.csv" in names  # and the calibration's posterior, with its summary
    assert "bondsim/calibration/posteriors/default.json" in names
    assert "bondsim/app/static/app.css" in names  # and the classroom app's style sheets and Info page
    assert "bondsim/app/static/projector.css" in names and "bondsim/app/static/info.html" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/"))]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python, bondsim_cmd = venv / "bin" / "python", venv / "bin" / "bondsim"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list"], env=env, capture_output=True, text=True).stdout.lower()
    assert not [name for name in HEAVY if f"\n{name.lower()} " in listed], listed

    work = tmp_path / "work"  # away from the source tree, so only the installed package can be imported
    work.mkdir()

    def run(*args: str, cmd: Path = bondsim_cmd) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(cmd), *args], cwd=work, env={**env, "MPLBACKEND": "Agg"}, capture_output=True, text=True, timeout=300
        )

    one_day = ["run", "--days", "1", "--set", "n_agents=50", "--set", "drug=naltrexone", "--set", "dose_mg=50"]
    done = run(*one_day, "--seed", "3", "--out", "X")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "50 people, 24 steps" in done.stdout
    info = json.loads((work / "X" / "run.json").read_text())
    assert info["versions"]["bondsim"] == project_version() and info["params"]["n_agents"] == 50
    assert len((work / "X" / "timeseries.csv").read_text().splitlines()) == 26  # header, steps 0..24
    here = subprocess.run(  # the same run with this checkout and every extra: the same numbers
        [sys.executable, "-m", "bondsim.cli", *one_day, "--seed", "3", "--out", str(tmp_path / "here"), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert here.returncode == 0, here.stderr[-2000:]
    assert (work / "X" / "timeseries.csv").read_text() == (tmp_path / "here" / "timeseries.csv").read_text()
    for args in (
        ["params"],
        ["pk", "naltrexone", "--dose", "50", "--hours", "1", "48", "--people", "200"],
        ["trial", "--list"],
    ):
        done = run(*args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
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
    for args, extra in (
        (["sweep", "spec.toml"], "sweep"),
        (["trial", "inagaki2019"], "trials"),
        (["app"], "app"),
        (["calibrate", "spec.toml", "--out", "o"], "calibrate"),
    ):
        done = run(*args)
        assert done.returncode == 2 and done.stderr.strip().endswith(f'pip install "bondsim[{extra}]"'), done.stderr
    done = run(*one_day, "--engine", "array", "--out", "Y")
    assert done.returncode == 2 and done.stderr.strip().endswith('pip install "bondsim[array]"'), done.stderr

    # the array extra brings numba, and the array engine gives the agents engine's numbers
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", f"{wheel}[array]"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    done = run(*one_day, "--engine", "array", "--seed", "3", "--out", "Y")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (work / "Y" / "timeseries.csv").read_text() == (work / "X" / "timeseries.csv").read_text()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.packaging
@pytest.mark.timeout(1200)
def test_the_app_extra_installs_from_the_wheel_and_serves_the_class_offline(tmp_path):
    """As docs/classroom.md tells a teacher: ``pip install "bondsim[app]"`` in a fresh venv (what pipx does),
    then ``bondsim app`` (this computer only) and ``bondsim app --class`` (address, QR code, class code);
    the page and its bundled scripts come from the installed wheel, so no CDN is needed."""
    import time
    import urllib.request

    env = clean_env()
    wheel = build_wheel(tmp_path, env)
    names = zipfile.ZipFile(wheel).namelist()
    assert "bondsim/app/static/worksheet.html" in names and "bondsim/app/static/answer-key.html" in names
    bundled = "bondsim/app/assets/@widgetti/solara-vuetify-app@10.1.1/dist/solara-vuetify-app8.min.js"
    assert bundled in names, "the app's page scripts are missing from the wheel: the app would not load offline"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python, bondsim_cmd = venv / "bin" / "python", venv / "bin" / "bondsim"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-compile", f"{wheel}[app]"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list"], env=env, capture_output=True, text=True).stdout.lower()
    assert "\nsegno " in listed and "\nsolara " in listed and "\nnumba " in listed  # the app, with the array engine
    assert "\ndask " not in listed and "\nstatsmodels " not in listed  # and nothing else heavy

    work = tmp_path / "work"
    work.mkdir()
    for extra_args, host in (([], "127.0.0.1"), (["--class"], "0.0.0.0")):
        port = _free_port()
        proc = subprocess.Popen(
            [str(bondsim_cmd), "app", "--port", str(port), *extra_args],  # the array engine, from the app extra
            cwd=work,
            env={**env, "BONDSIM_APP_CLASS_CODE": "WXYZ"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            lines = []
            while not lines or "teacher's page" not in lines[-1]:
                line = proc.stdout.readline()
                assert line, "".join(lines)
                lines.append(line)
            text = "".join(lines)
            assert f"serving the classroom app at http://{host}:{port}" in text
            if extra_args:
                assert f":{port}/?class=WXYZ (class code WXYZ)" in text and "█" in text  # the QR code
            else:
                assert "students open" not in text
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                        assert response.status == 200
                        break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, text
                    time.sleep(0.5)
            asset = f"http://127.0.0.1:{port}/_solara/cdn/{bundled.split('assets/', 1)[1]}"
            with urllib.request.urlopen(asset, timeout=10) as response:
                assert response.status == 200 and len(response.read()) > 100_000
        finally:
            proc.terminate()
            proc.wait(timeout=30)
