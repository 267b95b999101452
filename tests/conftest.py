"""Shared fixtures: how to call the installed ``bondsim`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BONDSIM = [sys.executable, "-m", "bondsim.cli"]


def run_bondsim(*args: str, cwd: str | Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``bondsim ARGS...`` in a subprocess and capture its text output."""
    return subprocess.run([*BONDSIM, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture
def bondsim():
    """The function that runs the ``bondsim`` command as a subprocess."""
    return run_bondsim


@pytest.fixture(scope="session")
def bondsim_argv() -> list[str]:
    """The command line that starts ``bondsim`` (for Popen and the like)."""
    return list(BONDSIM)
