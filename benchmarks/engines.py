"""Speed and memory of the two engines, each against its baseline measured in the same run.

- array engine: agent-steps per second at N = 10^5 (small world, mean degree 8, every step
  recorded) against the frozen 0.1.0 array engine (``benchmarks/legacy``); and at N = 10^6 with
  the peak memory per person; each on one thread and on two (``threads = 2``);
- agents engine (Mesa agents) at N = 10^4 against a minimal plain-Mesa model of the same rules
  (``benchmarks/_plain_mesa.py``);
- the array engine's first-call compilation (an empty kernel cache) and its cached start-up, and
  the time from starting ``bondsim run`` (200 people, 14 days) to the end of its first step.

Each measurement runs in its own process, so that its peak resident memory is its own. Rates are
given in wall-clock and in CPU time; the CPU-time figures are less sensitive to other work on
the machine, and the ratios compare two measurements taken minutes apart on the same machine.

Usage::

    python benchmarks/engines.py          # the full table (a few minutes on 2 cores)
    python benchmarks/engines.py --quick  # smaller sizes, under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def peak_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def measure(kind: str, n: int, steps: int) -> dict:
    """Build one model and run it in this (fresh) process.

    Kinds: array, array2 (2 threads), legacy, agents, plain; ``unchecked`` after array or agents: the
    same engine without the check of the values rules return (what the check costs).
    """
    sys.path.insert(0, str(HERE))
    if kind.endswith("-unchecked"):
        import bondsim.codegen

        bondsim.codegen.CHECK_VALUES = False
        kind = kind.removesuffix("-unchecked")
    from _plain_mesa import PlainBondingModel
    from legacy.model import BondingModel as LegacyModel

    from bondsim.model import BondingModel

    base = peak_mb()  # after the imports: what is left is the model's own
    started = time.perf_counter()
    if kind == "plain":
        model = PlainBondingModel(n, seed=1)
    elif kind == "legacy":
        model = LegacyModel(seed=1, n_agents=n, engine="array", create_agents=False)
    elif kind == "array2":
        model = BondingModel(seed=1, n_agents=n, engine="array", create_agents=False, threads=2, warmup_days=0)
    else:
        model = BondingModel(seed=1, n_agents=n, engine=kind, create_agents=kind == "agents", warmup_days=0)
    model.step()  # warm up (and compile, if the kernel is not cached yet)
    built = time.perf_counter() - started
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = peak_mb()
    return {
        "kind": kind,
        "n": n,
        "checked": bondsim_checked(),
        "steps": steps,
        "build_s": built,
        "rate": n * steps / wall,
        "cpu_rate": n * steps / cpu,
        "peak_mb": peak,
        "bytes_per_person": (peak - base) * 2**20 / n,
    }


def bondsim_checked() -> bool:
    import bondsim.codegen

    return bondsim.codegen.CHECK_VALUES


def first_step(n: int, days: float) -> dict:
    """What ``bondsim run`` does up to the end of its first step, timed from the process's start."""
    from bondsim.model import BondingModel, steps_for
    from bondsim.params import load

    params = load(overrides={"n_agents": n})
    model = BondingModel(params, seed=1)
    steps_for(params, days=days)
    model.step()
    return {"first_step_done": time.time()}


def compile_times() -> dict:
    """Building an array model and its first step with an empty kernel cache, then with a warm one."""
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "BONDSIM_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, __file__, "--one", "array", "200", "0"], env=env, check=True, capture_output=True
            )
            out[label] = time.perf_counter() - started
    started = time.time()
    done = subprocess.run([sys.executable, __file__, "--first-step"], capture_output=True, text=True, check=True)
    out["run_first_step"] = json.loads(done.stdout.strip().splitlines()[-1])["first_step_done"] - started
    return out


def run_one(kind: str, n: int, steps: int) -> dict:
    """``measure`` in a subprocess, for an honest peak memory."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(n), str(steps)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (under a minute)")
    parser.add_argument("--one", nargs=3, metavar=("KIND", "N", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--first-step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, n, steps = args.one
        print(json.dumps(measure(kind, int(n), int(steps))))
        return 0
    if args.first_step:
        print(json.dumps(first_step(200, 14.0)))
        return 0

    quick = args.quick
    plan = [
        ("array", 100_000, 20 if quick else 100),
        ("array-unchecked", 100_000, 20 if quick else 100),
        ("array2", 100_000, 20 if quick else 100),
        ("legacy", 100_000, 20 if quick else 100),
        ("array", 300_000 if quick else 1_000_000, 10 if quick else 30),
        ("array2", 300_000 if quick else 1_000_000, 10 if quick else 30),
        ("agents", 10_000, 3 if quick else 10),
        ("agents-unchecked", 10_000, 3 if quick else 10),
        ("plain", 10_000, 3 if quick else 10),
    ]
    print(
        f"bondsim engines benchmark: {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at start; small-world network, mean degree 8, 1 h steps"
    )
    header = (
        f"{'engine':28s} {'people':>9s} {'steps':>6s} {'build s':>8s} {'agent-steps/s':>14s} "
        f"{'(CPU time)':>11s} {'peak MB':>8s} {'bytes/person':>13s}"
    )
    print(header)
    print("-" * len(header))
    names = {
        "array": "array (numba)",
        "array-unchecked": "array, values not checked",
        "agents-unchecked": "agents, values not checked",
        "array2": "array (numba), 2 threads",
        "legacy": "array of 0.1.0 (baseline)",
        "agents": "agents (Mesa agents)",
        "plain": "plain Mesa model (baseline)",
    }
    rows = {}
    for kind, n, steps in plan:
        r = run_one(kind, n, steps)
        rows[kind, n] = r
        print(
            f"{names[kind]:28s} {n:9,d} {steps:6d} {r['build_s']:8.2f} {fmt_rate(r['rate']):>14s} "
            f"{fmt_rate(r['cpu_rate']):>11s} {r['peak_mb']:8.0f} {r['bytes_per_person']:13.0f}",
            flush=True,
        )
    times = compile_times()
    print(
        f"\narray engine start-up, 200 people: {times['cold']:.1f} s with an empty kernel cache (compiling), "
        f"{times['warm']:.1f} s cached (whole process)"
    )
    print(f"bondsim run, 200 people for 14 days: first step done {times['run_first_step']:.1f} s after starting")
    for engine, n in (("array", 100_000), ("agents", 10_000)):
        checked, unchecked = rows[engine, n], rows[f"{engine}-unchecked", n]
        print(
            f"checking every value the rules return ({engine} engine, N = {n:,d}): "
            f"{checked['cpu_rate'] / unchecked['cpu_rate']:.3f}x the unchecked rate (CPU time)"
        )

    new, old, two = rows["array", 100_000], rows["legacy", 100_000], rows["array2", 100_000]
    big = next(r for (k, n), r in rows.items() if k == "array" and n > 100_000)
    big_two = next(r for (k, n), r in rows.items() if k == "array2" and n > 100_000)
    agents, plain = rows["agents", 10_000], rows["plain", 10_000]
    print("\ntargets (one thread: CPU-time rates, wall-clock in brackets; two threads: wall-clock):")
    checks = [
        (
            ">= 20 M agent-steps/s at N = 10^5",
            max(new["cpu_rate"], two["rate"]) >= 20e6,
            f"{fmt_rate(new['cpu_rate'])} ({fmt_rate(new['rate'])}); 2 threads {fmt_rate(two['rate'])}",
        ),
        (
            ">= 3x the 0.1.0 array engine at N = 10^5",
            max(new["cpu_rate"] / old["cpu_rate"], two["rate"] / old["rate"]) >= 3,
            f"{new['cpu_rate'] / old['cpu_rate']:.1f}x ({new['rate'] / old['rate']:.1f}x); "
            f"2 threads {two['rate'] / old['rate']:.1f}x",
        ),
        (
            f">= 15 M agent-steps/s at N = {big['n']:,d}",
            max(big["cpu_rate"], big_two["rate"]) >= 15e6,
            f"{fmt_rate(big['cpu_rate'])} ({fmt_rate(big['rate'])}); 2 threads {fmt_rate(big_two['rate'])}",
        ),
        (
            f"<= 600 bytes per person at N = {big['n']:,d}",
            big["bytes_per_person"] <= 600,
            f"{big['bytes_per_person']:.0f}",
        ),
        (
            ">= 0.2 M agent-steps/s, agents engine at N = 10^4",
            agents["cpu_rate"] >= 0.2e6,
            f"{fmt_rate(agents['cpu_rate'])} ({fmt_rate(agents['rate'])}); plain Mesa model "
            f"{fmt_rate(plain['cpu_rate'])}, ratio {agents['cpu_rate'] / plain['cpu_rate']:.2f}",
        ),
        (
            "cached bondsim run starts its first step within 2 s",
            times["run_first_step"] <= 2.0,
            f"{times['run_first_step']:.1f} s",
        ),
    ]
    for label, ok, value in checks:
        print(f"  {label}: {value} -> {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
