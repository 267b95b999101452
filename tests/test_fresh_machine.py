"""`make test` on a machine without chromium: skip loudly on a laptop, fail under CI.

Runs ``tools/ensure-browser`` (what ``make test`` runs first) and the browser tests with a
``PATH`` that lacks chromium, with installation turned off so nothing is installed here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def path_without_chromium(tmp_path_factory) -> str:
    """A PATH of one folder linking every command on the current PATH except chromium."""
    folder = tmp_path_factory.mktemp("bin")
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            link = folder / entry.name
            if entry.name.startswith("chromium") or link.exists():
                continue
            if os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(folder)


def _env(path: str, ci: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PATH=path, BONDSIM_INSTALL_BROWSER="0")
    if ci:
        env["CI"] = "true"
    return env


def test_ensure_browser_warns_and_passes_without_ci(path_without_chromium):
    done = subprocess.run(
        ["bash", str(ROOT / "tools" / "ensure-browser")],
        env=_env(path_without_chromium, ci=False),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "browser tests will be SKIPPED" in done.stderr
    assert "sudo apt-get install -y chromium" in done.stderr


def test_ensure_browser_fails_under_ci(path_without_chromium):
    done = subprocess.run(
        ["bash", str(ROOT / "tools" / "ensure-browser")],
        env=_env(path_without_chromium, ci=True),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "never skipped" in done.stderr


# The browser tests that start no app server of their own before asking for the browser: whether they
# skip or fail is the browser fixture's decision, the same for every test of the file.
NEED_ONLY_THE_BROWSER = [
    "tests/test_app_browser.py::test_a_closed_tab_stops_playing",
    "tests/test_app_browser.py::test_a_class_of_pages_keeps_playing",
]


@pytest.mark.slow
@pytest.mark.parametrize("ci", [False, True], ids=["laptop", "ci"])
def test_browser_tests_skip_on_a_laptop_and_fail_under_ci(path_without_chromium, ci):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider", *NEED_ONLY_THE_BROWSER],
        env=_env(path_without_chromium, ci=ci),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    if ci:
        assert done.returncode == 1, done.stdout[-2000:]
        assert "never skipped" in done.stdout
    else:
        assert done.returncode == 0, done.stdout[-2000:]
        assert "browser tests SKIPPED" in done.stdout
        assert "skipped" in done.stdout.splitlines()[-1]
