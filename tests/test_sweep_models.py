"""Sweeps that cannot mix two models: the user's modules hashed, copied and checked on --extend,
--resume and on every worker before any run; workers that end with their driver, SIGKILL included.

Real Dask schedulers and workers on localhost, real worker processes: no mocks.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bondsim.provenance import module_hash

BONDSIM = [sys.executable, "-m", "bondsim.cli"]

HELPER = """import numpy as np


def spread(values):
    return float(np.std(values))
"""

OUTPUT = """from helper_mod import spread


def bond_spread(model):
    return spread(model.edge_bonds())
"""

SPEC = """
[sweep]
design = "grid"
replicates = 2
steps = 6
seed = 4

[fixed]
n_agents = 20

[vary]
rejection_rate = [0.1, 0.3]

[outputs]
metrics = ["distress", "my_mod:bond_spread"]
"""


def cli(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([*BONDSIM, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a spec whose output function imports a helper module of the user's."""
    (tmp_path / "helper_mod.py").write_text(HELPER)
    (tmp_path / "my_mod.py").write_text(OUTPUT)
    (tmp_path / "s.toml").write_text(SPEC)
    return tmp_path


# ------------------------------------------------------------------- hashes and copies
@pytest.mark.slow
def test_the_manifest_hashes_and_keeps_every_user_module(project):
    r = cli("sweep", "s.toml", "--out", "out", "--workers", "1", "--quiet", cwd=project)
    assert r.returncode == 0, r.stderr
    modules = json.loads((project / "out" / "manifest.json").read_text())["modules"]
    assert set(modules) == {"my_mod", "helper_mod"}  # the helper found through the output function's import
    assert modules["my_mod"]["role"] == "output" and modules["helper_mod"]["role"] == "helper"
    for name, info in modules.items():
        assert info["hash"] == module_hash(project / f"{name}.py")
        assert (project / "out" / info["copy"]).read_text() == (project / f"{name}.py").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["--resume", "--extend"])
def test_extend_and_resume_refuse_a_changed_module_in_one_line(project, verb):
    r = cli("sweep", "s.toml", "--out", "out", "--workers", "1", "--quiet", cwd=project)
    assert r.returncode == 0, r.stderr
    before = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    (project / "helper_mod.py").write_text(HELPER + "# an edit\n")
    if verb == "--extend":
        (project / "s.toml").write_text(SPEC.replace("replicates = 2", "replicates = 3"))
    r = cli("sweep", "s.toml", verb, "--out", "out", "--quiet", cwd=project)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "module helper_mod has changed since the sweep started" in lines[0]
    assert "out/modules/helper_mod.py" in lines[0]
    after = {p: p.read_bytes() for p in (project / "out").rglob("*") if p.is_file()}
    assert after == before  # nothing touched

    # the kept copy restores it
    (project / "helper_mod.py").write_bytes((project / "out" / "modules" / "helper_mod.py").read_bytes())
    r = cli("sweep", "s.toml", verb, "--out", "out", "--quiet", cwd=project)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------- Dask workers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster(worker_cwd: Path) -> tuple[str, list[subprocess.Popen]]:
    """A Dask scheduler and one worker started in ``worker_cwd``, without PYTHONPATH."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True, "env": env}
    procs = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    worker = [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    procs.append(subprocess.Popen(worker, cwd=worker_cwd, **quiet))
    return address, procs


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("worker_has", ["nothing", "another copy"])
def test_dask_workers_without_the_drivers_modules_are_refused_before_any_run(project, tmp_path_factory, worker_has):
    elsewhere = tmp_path_factory.mktemp("worker")
    if worker_has == "another copy":
        (elsewhere / "helper_mod.py").write_text(HELPER + "# the worker's own edit\n")
        (elsewhere / "my_mod.py").write_text(OUTPUT)
    address, procs = _cluster(elsewhere)
    try:
        r = cli("sweep", "s.toml", "--out", "out", "--scheduler", address, "--quiet", cwd=project)
    finally:
        _stop(procs)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bondsim sweep: error: the Dask worker at tcp://127.0.0.1:")
    if worker_has == "nothing":
        assert "cannot import module" in lines[0] and "PYTHONPATH" in lines[0]
    else:
        assert "has another helper_mod than the driver" in lines[0]
    assert not (project / "out").exists()


# ----------------------------------------------------------------- the driver's death
SLOW = """
[sweep]
design = "grid"
replicates = 6
days = 20
seed = 1

[fixed]
n_agents = 1500

[vary]
rejection_rate = [0.1, 0.3]
"""

DRIVER = """
import sys
from bondsim import sweep

sweep.run_sweep(sys.argv[1], sys.argv[2], workers=2, backend=sys.argv[3])
"""


def _workers_of(driver: psutil.Process, timeout: float = 120) -> list[psutil.Process]:
    """The driver's worker processes, once they are up and a run has been given out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = driver.children(recursive=True)
        python = [c for c in children if "python" in (c.name() or "").lower()]
        if len(python) >= 2:
            time.sleep(3)  # the workers are running tasks
            return driver.children(recursive=True)
        time.sleep(0.2)
    raise AssertionError("the driver started no workers")


def _gone(procs: list[psutil.Process], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for p in procs:
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_a_killed_driver_takes_its_workers_with_it(tmp_path, backend):
    spec = tmp_path / "slow.toml"
    spec.write_text(SLOW)
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(spec), str(tmp_path / "out"), backend],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        workers = _workers_of(psutil.Process(driver.pid))
        assert workers
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
        assert _gone(workers), [p.pid for p in workers if p.is_running()]
    finally:
        if driver.poll() is None:
            driver.kill()
        for p in psutil.Process().children(recursive=True):  # whatever the test itself started
            if p.pid != os.getpid():
                try:
                    p.kill()
                except psutil.NoSuchProcess:
                    pass
