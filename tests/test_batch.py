"""The shared runner and seed rule of sweeps and experiments (bondsim.batch)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from bondsim.batch import RETRIES, Lost, Runner, run_many, seed_for, start_method
from bondsim.experiments.common import Context


def test_seed_for_is_the_spawned_child_of_the_master_seed():
    children = np.random.SeedSequence(2016).spawn(5)
    for i, child in enumerate(children):
        assert seed_for(2016, i) == int(child.generate_state(1, dtype=np.uint64)[0]) >> 1
        assert seed_for(2016, i, bits=32) == int(child.generate_state(1, dtype=np.uint32)[0])
    # nested keys are grandchildren: key (3, 1) is the second child of the fourth child
    grandchild = np.random.SeedSequence(7).spawn(4)[3].spawn(2)[1]
    assert seed_for(7, 3, 1) == int(grandchild.generate_state(1, dtype=np.uint64)[0]) >> 1
    seeds = {seed_for(7, p, k) for p in range(20) for k in range(20)}
    assert len(seeds) == 400 and all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match="bits"):
        seed_for(1, 2, bits=65)


def test_experiment_trial_seeds_are_unchanged_by_the_shared_rule():
    """Experiments keep the 32-bit seeds of SeedSequence(master).spawn(n): their numbers do not move."""
    ctx = Context(experiment=None, design={}, params=None, seed=2016, out=None)
    old = [int(s.generate_state(1, dtype=np.uint32)[0]) for s in np.random.SeedSequence(2016).spawn(6)]
    assert ctx.child_seeds(6) == old


@pytest.mark.cluster
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_results_are_in_task_order_whatever_the_workers(backend):
    tasks = [(11, i, k) for i in range(7) for k in range(2)]
    serial = run_many(seed_for, tasks, workers=1)
    assert serial == [seed_for(11, i, k) for _, i, k in tasks]
    assert run_many(seed_for, tasks, workers=2, backend=backend) == serial


def test_errors_raise_or_come_back_as_lost():
    tasks = [(1, 0), (1, -1), (1, 2)]  # a negative key is refused by SeedSequence
    with pytest.raises(ValueError):
        run_many(seed_for, tasks)
    with Runner(1) as runner:
        got = runner.map(seed_for, tasks, errors="return")
    assert got[0] == seed_for(1, 0) and got[2] == seed_for(1, 2)
    assert isinstance(got[1], Lost) and got[1].error.startswith("ValueError")


def _die(marker: str, value: int, times: int) -> int:
    """Ends its worker process abruptly (as the kernel's OOM killer would) the first ``times`` times it gets value 3."""
    path = Path(marker)
    died = int(path.read_text()) if path.exists() else 0
    if value == 3 and died < times:
        path.write_text(str(died + 1))
        os._exit(1)
    return value


@pytest.mark.cluster
@pytest.mark.slow
@pytest.mark.parametrize("method", ["default", "forkserver"])
def test_a_dead_worker_is_replaced_and_its_tasks_sent_again(tmp_path, method, monkeypatch):
    if method != "default":
        monkeypatch.setattr("bondsim.batch.start_method", lambda: method)
    tasks = [(str(tmp_path / "died"), i, 1) for i in range(8)]
    with Runner(2) as runner:
        assert runner.map(_die, tasks, batch=1) == list(range(8))
    assert (tmp_path / "died").read_text() == "1"
    always = [(str(tmp_path / "always"), i, 99) for i in range(8)]  # a task that always kills its worker
    with Runner(2) as runner:
        got = runner.map(_die, always, batch=1, errors="return")
    assert [v for i, v in enumerate(got) if i != 3] == [0, 1, 2, 4, 5, 6, 7]
    assert isinstance(got[3], Lost) and "died" in got[3].error
    assert int((tmp_path / "always").read_text()) in (RETRIES, RETRIES + 1)  # and once among others


def test_workers_are_forked_from_a_single_threaded_process():
    import threading

    if threading.active_count() == 1:
        assert start_method() == "fork"
    else:  # a thread could hold a lock at the fork: workers come from a fork server
        assert start_method() == "forkserver"


SWEEP_AFTER_THREADS = """
import sys
from bondsim import BondingModel
from bondsim.batch import start_method
from bondsim.sweep.execute import run_sweep

if __name__ == "__main__":
    BondingModel(seed=1, engine="array", n_agents=200, threads=2).run(2)
    print(start_method())
    report = run_sweep(sys.argv[1], sys.argv[2], workers=2)
    print(report.done, report.failed)
"""


@pytest.mark.cluster
def test_a_process_that_ran_threads_starts_its_workers_without_forking(tmp_path):
    """GNU OpenMP kills a child forked from a process that used it: such a process starts workers afresh."""
    import subprocess
    import sys

    script = tmp_path / "after_threads.py"
    script.write_text(SWEEP_AFTER_THREADS)
    spec = tmp_path / "spec.toml"
    spec.write_text('[sweep]\nreplicates = 2\nsteps = 3\nseed = 1\n[fixed]\nn_agents = 300\nthreads = 2\n'
                    "[vary]\nrejection_rate = [0.1, 0.3]\n")  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(script), str(spec), str(tmp_path / "out")], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["forkserver", "4", "0"]
