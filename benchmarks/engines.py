"""Speed and memory of the two engines: agent-steps per second and peak memory per person.

Each measurement runs in its own Python process, so that its peak resident memory
(``ru_maxrss``) is its own: building the network and the model is included. The
agent-steps per second count only the steps (wall-clock time, and CPU time of the
process, which is less sensitive to other work on the machine).

Usage::

    python benchmarks/engines.py          # the full table (about 3 minutes on 2 cores)
    python benchmarks/engines.py --quick  # smaller sizes, a few seconds

Targets (docs/performance.md): array >= 20x agents at N = 10^4; array >= 5 million
agent-steps/s at N = 10^5 (small-world network, mean degree 8); 10^6 people x 100
steps in under 2 GB peak memory, network included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

# (engine, people, steps, create Mesa agents)
FULL = [
    ("agents", 1_000, 60, True),
    ("array", 1_000, 1_000, True),
    ("agents", 10_000, 8, True),
    ("array", 10_000, 400, True),
    ("array", 100_000, 50, False),
    ("array", 100_000, 100, False),
    ("array", 100_000, 200, False),
    ("array", 100_000, 100, True),
    ("array", 1_000_000, 100, False),
]
QUICK = [
    ("agents", 1_000, 10, True),
    ("array", 1_000, 200, True),
    ("agents", 5_000, 4, True),
    ("array", 5_000, 100, True),
    ("array", 30_000, 50, False),
]


def peak_mb() -> float:
    """Peak resident memory of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def measure(engine: str, n: int, steps: int, agents: bool) -> dict:
    """Build one model and run it; called in a fresh process."""
    from bondsim.model import BondingModel

    base = peak_mb()
    started = time.perf_counter()
    model = BondingModel(seed=1, n_agents=n, engine=engine, create_agents=agents)
    built = time.perf_counter() - started
    model.step()  # warm up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = peak_mb()
    return {
        "engine": engine,
        "n": n,
        "steps": steps,
        "agents": agents,
        "build_s": built,
        "rate": n * steps / wall,
        "cpu_rate": n * steps / cpu,
        "peak_mb": peak,
        "bytes_per_person": (peak - base) * 2**20 / n,
        "mesa_agents": len(model.agents),
    }


def run_one(engine: str, n: int, steps: int, agents: bool) -> dict:
    """``measure`` in a subprocess, for an honest peak memory."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", engine, str(n), str(steps), str(int(agents))],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a few seconds)")
    parser.add_argument("--one", nargs=4, metavar=("ENGINE", "N", "STEPS", "AGENTS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        engine, n, steps, agents = args.one
        print(json.dumps(measure(engine, int(n), int(steps), agents == "1")))
        return 0

    plan = QUICK if args.quick else FULL
    print(
        f"bondsim engines benchmark: {os.cpu_count()} cores, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at start; default small-world network, "
        "mean degree 8, 1 h steps"
    )
    header = (
        f"{'engine':7s} {'people':>9s} {'steps':>6s} {'Mesa agents':>11s} {'build s':>8s} "
        f"{'agent-steps/s':>14s} {'(CPU time)':>11s} {'peak MB':>8s} {'bytes/person':>13s}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for engine, n, steps, agents in plan:
        r = run_one(engine, n, steps, agents)
        rows.append(r)
        print(
            f"{engine:7s} {n:9,d} {steps:6d} {'yes' if agents else 'no':>11s} {r['build_s']:8.2f} "
            f"{fmt_rate(r['rate']):>14s} {fmt_rate(r['cpu_rate']):>11s} {r['peak_mb']:8.0f} "
            f"{r['bytes_per_person']:13.0f}",
            flush=True,
        )

    def find(engine, n, steps=None, agents=None):
        for r in rows:
            if r["engine"] == engine and r["n"] == n and steps in (None, r["steps"]) and agents in (None, r["agents"]):
                return r
        return None

    print("\narray / agents, same run:")
    for n in sorted({r["n"] for r in rows if r["engine"] == "agents"}):
        a, b = find("agents", n), find("array", n)
        if a and b:
            print(f"  N = {n:>7,d}: {b['rate'] / a['rate']:6.1f}x wall, {b['cpu_rate'] / a['cpu_rate']:6.1f}x CPU")

    scaling = [r for r in rows if r["engine"] == "array" and r["n"] == 100_000 and not r["agents"]]
    if len(scaling) > 1:
        print("\nscaling with steps (array, N = 100,000): time per step should stay constant")
        for r in scaling:
            print(
                f"  {r['steps']:4d} steps: {1e3 * r['n'] / r['rate']:6.1f} ms/step wall, "
                f"{1e3 * r['n'] / r['cpu_rate']:6.1f} ms/step CPU"
            )
    sizes = [r for r in rows if r["engine"] == "array" and not r["agents"]]
    sizes = {r["n"]: r for r in sizes}
    if len(sizes) > 1:
        print("\nscaling with people (array, no Mesa agents): time and memory per person should stay constant")
        for n, r in sorted(sizes.items()):
            print(
                f"  N = {n:>9,d}: {1e9 / r['cpu_rate']:6.0f} ns CPU per agent-step, "
                f"{r['bytes_per_person']:6.0f} bytes per person at peak"
            )
    with_views, without = find("array", 100_000, 100, True), find("array", 100_000, 100, False)
    if with_views and without:
        extra = (with_views["peak_mb"] - without["peak_mb"]) * 2**20 / 100_000
        print(
            f"\nMesa agent views (PersonView) cost about {extra:.0f} bytes and "
            f"{1e6 * (with_views['build_s'] - without['build_s']) / 100_000:.0f} us each to create"
        )

    if not args.quick:
        print("\ntargets:")
        a, b = find("agents", 10_000), find("array", 10_000)
        ratio = b["rate"] / a["rate"]
        print(f"  array >= 20x agents at N = 10^4: {ratio:.1f}x -> {'met' if ratio >= 20 else 'NOT met'}")
        r = find("array", 100_000, 100, False)
        best = max(r["rate"], r["cpu_rate"])
        print(
            f"  array >= 5 M agent-steps/s at N = 10^5: {r['rate'] / 1e6:.2f} M wall, {r['cpu_rate'] / 1e6:.2f} M "
            f"CPU -> {'met' if r['rate'] >= 5e6 else 'met in CPU time only' if best >= 5e6 else 'NOT met'}"
        )
        r = find("array", 1_000_000)
        print(
            f"  10^6 people x 100 steps under 2 GB: {r['peak_mb']:.0f} MB peak -> "
            f"{'met' if r['peak_mb'] < 2048 else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
