"""What the settled start costs: the warm-up before time zero against the run after it, and a cached start.

For each case a model is built twice in this process, with the default warm-up (42 days, then
until settled) and with ``warmup_days = 0``; the difference is the warm-up's cost. It is set
beside a 7-day run of the same model (what ``bondsim run`` does by default) and beside starting
from the cache of settled states (``BondingModel(..., cache=...)``, :mod:`bondsim.states`). The
kernels are compiled before anything is timed. Times are CPU seconds of this process (less
sensitive to other work on the machine) and wall seconds.

Cases: 200 and 1,000 people on the array engine, 200 people on the agents engine (whose
warm-up runs on the array loops when numba is installed), and 10,000 people on the array engine
(full run only).

Targets: the warm-up of 1,000 people on the array engine under 5 s of CPU; a cached start of
1,000 people under 0.5 s.

Usage: ``python benchmarks/warmup.py [--quick]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from bondsim.model import BondingModel


def timed(fn) -> tuple[float, float, object]:
    """(CPU s, wall s, result) of ``fn()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def case(n: int, engine: str, cache: str) -> dict[str, float]:
    """Build with and without the warm-up, from the cache, and run 7 days: the times and the warm-up's length."""
    kwargs = {"n_agents": n, "engine": engine, "create_agents": engine == "agents"}
    cold_cpu, cold_wall, _ = timed(lambda: BondingModel(seed=1, warmup_days=0.0, **kwargs))
    warm_cpu, warm_wall, model = timed(lambda: BondingModel(seed=1, cache=cache, **kwargs))
    cached_cpu, cached_wall, again = timed(lambda: BondingModel(seed=1, cache=cache, **kwargs))
    for name in model.spec.variables:  # the cached start is the same community
        np.testing.assert_array_equal(model.engine.get(name), again.engine.get(name))
    run_cpu, run_wall, _ = timed(lambda: model.run(24 * 7, keep=()))
    return {
        "days": model.warmed_up_days,
        "warmup_cpu": warm_cpu - cold_cpu,
        "warmup_wall": warm_wall - cold_wall,
        "cached_cpu": cached_cpu,
        "cached_wall": cached_wall,
        "run_cpu": run_cpu,
        "run_wall": run_wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small cases only")
    args = parser.parse_args()
    for engine in ("array", "agents"):  # compile (or load) the kernels before timing
        BondingModel(seed=0, n_agents=20, mean_degree=4, engine=engine, warmup_days=0.0).run(2)
    cases = [(200, "array"), (200, "agents"), (1000, "array")] + ([] if args.quick else [(10_000, "array")])
    results = {}
    print(f"{'case':<22} {'warm-up':>9} {'its cost':>18} {'7-day run':>18} {'cached start':>18}")
    with tempfile.TemporaryDirectory(prefix="bondsim-warmup-") as cache:
        for n, engine in cases:
            r = case(n, engine, cache)
            results[n, engine] = r
            print(
                f"{f'{n} people, {engine}':<22} {r['days']:>6.0f} d "
                f"{r['warmup_cpu']:>7.2f} s ({r['warmup_wall']:.2f} wall) "
                f"{r['run_cpu']:>7.2f} s ({r['run_wall']:.2f} wall) "
                f"{r['cached_cpu']:>7.3f} s ({r['cached_wall']:.3f} wall)"
            )
    target = results[1000, "array"]
    checks = {
        "warm-up of 1,000 people (array) < 5 s CPU": target["warmup_cpu"] < 5.0,
        "cached start of 1,000 people < 0.5 s CPU": target["cached_cpu"] < 0.5,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
