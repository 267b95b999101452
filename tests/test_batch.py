"""The shared runner and seed rule of sweeps and experiments (bondsim.batch)."""

from __future__ import annotations

import numpy as np
import pytest

from bondsim.batch import Lost, Runner, run_many, seed_for
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
