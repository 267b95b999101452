"""Shared fixtures: how to call the installed ``bondsim`` command; one kernel compilation for parallel runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

BONDSIM = [sys.executable, "-m", "bondsim.cli"]

# Under pytest-xdist (make test), the controller compiles the array engine's kernels once, in a process
# of its own, while the workers start; each worker waits for it before its first test. The workers and
# every process they start share one kernel cache (BONDSIM_CACHE_DIR, else ~/.cache/bondsim), so no
# two of them compile the same kernel at the same time. The file named here appears when it is done.
KERNELS_READY = "BONDSIM_TEST_KERNELS_READY"
KERNELS_WAIT_S = 300.0
COMPILE_KERNELS = """
import sys
from pathlib import Path

try:
    from bondsim.model import BondingModel

    BondingModel(seed=1, engine="array", n_agents=20, mean_degree=4, drug="naltrexone").run(2)
finally:
    Path(sys.argv[1]).write_text("done")  # whatever happened: a test that needs a kernel compiles it then
# the loops on several threads (threads > 1) after the workers are told: fewer tests need them
BondingModel(seed=1, engine="array", n_agents=20, mean_degree=4, threads=2).run(2)
"""


_COMPILER = pytest.StashKey[tuple[subprocess.Popen, Path]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """In the controller of a parallel run, start compiling the kernels before the workers start."""
    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("dsession"):
        return  # a worker, or a run in one process (which compiles each kernel once anyway)
    folder = Path(tempfile.mkdtemp(prefix="bondsim-kernels-"))
    os.environ[KERNELS_READY] = str(folder / "ready")  # the workers, started after this hook, inherit it
    compiler = subprocess.Popen(
        [sys.executable, "-c", COMPILE_KERNELS, str(folder / "ready")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    config.stash[_COMPILER] = (compiler, folder)


def pytest_sessionfinish(session: pytest.Session) -> None:
    compiler, folder = session.config.stash.get(_COMPILER, (None, None))
    if compiler is not None:
        if compiler.poll() is None:  # a short run: numba writes each cache file whole, so stopping is safe
            compiler.terminate()
        compiler.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels() -> None:
    """In a worker of a parallel run, wait (once) until the controller's compilation of the kernels is done."""
    ready = os.environ.get(KERNELS_READY)
    if not ready:
        return
    deadline = time.monotonic() + KERNELS_WAIT_S
    while not os.path.exists(ready) and time.monotonic() < deadline:
        time.sleep(0.1)


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
