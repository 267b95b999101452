"""Sweep throughput: bondsim sweeps on Dask against Mesa's batch_run, per-run overhead, driver memory.

Standard sweep: 48 runs (4 rejection rates x 4 naltrexone doses x 3 replicates) of 1000 people
for 100 steps. bondsim runs it on a LocalCluster of 1 and 2 worker processes (array engine);
Mesa's ``batch_run`` runs the same design over the per-agent engine with 1 and 2 processes
(on fewer runs, scaled to runs per second). Then the per-run overhead of the sweep machinery
on trivial runs, and the driver's memory over a 10,000-run sweep of small models.

Run standalone: ``python benchmarks/sweeps.py [--quick]``. Targets: bondsim >= 10x batch_run's
runs/s; 2 workers >= 1.7x one worker.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import mesa
from _plain_mesa import PlainBondingModel

from bondsim import sweep

N_AGENTS, STEPS = 1000, 100
REJECTION = [0.1, 0.2, 0.3, 0.4]
DOSES = [0.0, 25.0, 50.0, 100.0]
REPLICATES = 3


def standard_spec(replicates: int = REPLICATES) -> sweep.SweepSpec:
    return sweep.parse_spec(
        {
            "sweep": {"design": "grid", "replicates": replicates, "steps": STEPS, "seed": 2024},
            "fixed": {"n_agents": N_AGENTS, "drug": "naltrexone"},
            "vary": {"rejection_rate": REJECTION, "dose_mg": DOSES},
        }
    )


class BatchRunModel(PlainBondingModel):
    """A minimal plain-Mesa model of the same rules, as ``mesa.batch_run`` calls it (``model_cls(**params, rng=seed)``).

    The plain model has no drug: ``dose_mg`` is accepted and ignored, which only makes its runs cheaper.
    """

    def __init__(self, rejection_rate: float = 0.2, dose_mg: float = 0.0, rng: int | None = None) -> None:
        super().__init__(N_AGENTS, rejection_rate=rejection_rate, rng=rng)


def rss_mb() -> float:
    """Resident memory of this process (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


class MemorySampler(threading.Thread):
    """Samples this process's resident memory every 0.2 s."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        t0 = time.perf_counter()
        while not self._halt.is_set():
            self.samples.append((time.perf_counter() - t0, rss_mb()))
            time.sleep(0.2)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def dask_sweep(spec: sweep.SweepSpec, workers: int, root: Path) -> tuple[float, float]:
    """Runs per second of a sweep on a warm LocalCluster, and the cluster's start-up time (s)."""
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    with Client(cluster) as client:
        client.run(lambda: __import__("bondsim.model") and None)  # workers import the model once
        startup = time.perf_counter() - t0
        out = root / f"dask_{workers}"
        t0 = time.perf_counter()
        report = sweep.run_sweep(spec, out, scheduler=cluster.scheduler_address)
        elapsed = time.perf_counter() - t0
    cluster.close()
    assert report.done == spec.n_runs and report.failed == 0
    shutil.rmtree(out)
    return spec.n_runs / elapsed, startup


def batch_run_rate(points: int, processes: int) -> float:
    """Runs per second of ``mesa.batch_run`` over the per-agent engine on the first design points."""
    params = {"rejection_rate": REJECTION[:2], "dose_mg": DOSES[: points // 2]}
    t0 = time.perf_counter()
    rows = mesa.batch_run(
        BatchRunModel,
        params,
        number_processes=processes,
        rng=[1],
        max_steps=STEPS,
        data_collection_period=-1,
        display_progress=False,
    )
    return len(rows) / (time.perf_counter() - t0)


def overhead_ms(runs: int, root: Path) -> tuple[float, float]:
    """Per-run cost of a trivial run in-process and through a 1-worker sweep (ms)."""
    spec = sweep.parse_spec(
        {
            "sweep": {"replicates": runs, "steps": 1, "seed": 5},
            "fixed": {"n_agents": 10, "mean_degree": 4},
            "vary": {"rejection_rate": [0.2]},
        }
    )
    sweep.execute(spec.task(0))
    t0 = time.perf_counter()
    for r in range(min(runs, 100)):
        sweep.execute(spec.task(r))
    direct = (time.perf_counter() - t0) / min(runs, 100)
    rate, _ = dask_sweep(spec, 1, root)
    return 1e3 * direct, 1e3 * (1.0 / rate - direct)


def cli_sweep_seconds(workers: int, root: Path) -> tuple[float, int]:
    """Wall time of ``bondsim sweep`` as a user runs it: 24 runs (12 points x 2 replicates), a fresh process."""
    import subprocess
    import sys

    spec = root / "cli.toml"
    spec.write_text(
        '[sweep]\ndesign = "grid"\nreplicates = 2\nsteps = 100\nseed = 1\n'
        '[fixed]\nn_agents = 1000\ndrug = "naltrexone"\n'
        "[vary]\nrejection_rate = [0.1, 0.2, 0.3, 0.4]\ndose_mg = [0.0, 25.0, 50.0]\n"
    )
    out = root / f"cli_{workers}"
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bondsim.cli", "sweep", str(spec), "--out", str(out), "--workers", str(workers)],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - t0
    shutil.rmtree(out)
    return elapsed, 24


def memory_sweep(runs: int, root: Path) -> dict[str, float]:
    """Driver memory over a sweep of ``runs`` small models on 2 workers (MB)."""
    spec = sweep.parse_spec(
        {
            "sweep": {"replicates": runs // 2, "steps": 1, "seed": 6},
            "fixed": {"n_agents": 10, "mean_degree": 4},
            "vary": {"rejection_rate": [0.2, 0.4]},
        }
    )
    out = root / "memory"
    sampler = MemorySampler()
    before = rss_mb()
    sampler.start()
    t0 = time.perf_counter()
    report = sweep.run_sweep(spec, out, workers=2)
    elapsed = time.perf_counter() - t0
    sampler.stop()
    assert report.done == spec.n_runs
    shutil.rmtree(out)
    samples = [m for _, m in sampler.samples]
    tenth = samples[max(1, len(samples) // 10)]
    return {
        "runs": spec.n_runs,
        "seconds": elapsed,
        "before": before,
        "peak": max(samples),
        "at_10pct": tenth,
        "at_end": samples[-1],
    }


def _spin(_: int) -> float:
    """A fixed amount of pure-Python work; returns its wall time (s)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(6_000_000):
        total += i * i
    return time.perf_counter() - t0


def cpu_ceiling(repeats: int = 2) -> float:
    """Throughput of two CPU-bound processes over one on this machine (best of ``repeats``).

    The ceiling any 2-worker sweep can reach here: on shared virtual machines two vCPUs
    often deliver well under 2x.
    """
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [0, 1])  # start both processes before timing
        one = min(pool.apply(_spin, (0,)) for _ in range(repeats))
        two = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            pool.map(_spin, [0, 1], chunksize=1)
            two.append(time.perf_counter() - t0)
    return 2 * one / min(two)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs everywhere (a smoke test)")
    parser.add_argument("--memory-runs", type=int, default=10_000, help="runs of the memory sweep")
    args = parser.parse_args(argv)
    batch_runs = 2 if args.quick else 4
    memory_runs = 1000 if args.quick else args.memory_runs
    spec = standard_spec(1 if args.quick else REPLICATES)
    root = Path(tempfile.mkdtemp(prefix="bondsim-bench-"))
    try:
        print(
            f"standard sweep: {spec.n_runs} runs of {N_AGENTS} people x {STEPS} steps (best of interleaved repeats)",
            flush=True,
        )
        repeats = 1 if args.quick else 2  # best of interleaved repeats: the machine is noisy
        ones, twos = [], []
        for _ in range(repeats):
            ones.append(dask_sweep(spec, 1, root))
            twos.append(dask_sweep(spec, 2, root))
        (one, start1), (two, start2) = max(ones), max(twos)
        ceiling = cpu_ceiling()
        b1 = batch_run_rate(batch_runs, 1)
        b2 = batch_run_rate(batch_runs, 2)
        rows = [
            ("bondsim sweep, 1 worker (array engine)", one, f"cluster start {start1:.1f} s"),
            ("bondsim sweep, 2 workers (array engine)", two, f"cluster start {start2:.1f} s"),
            (f"mesa.batch_run, 1 process (plain Mesa model, {batch_runs} runs)", b1, ""),
            (f"mesa.batch_run, 2 processes (plain Mesa model, {batch_runs} runs)", b2, ""),
        ]
        print(f"{'':58s} {'runs/s':>8s}")
        for name, rate, note in rows:
            print(f"{name:58s} {rate:8.2f}  {note}")
        print(f"ratio bondsim 1 worker / batch_run 1 process:   {one / b1:6.1f}x  (target >= 10x)")
        print(f"ratio bondsim 2 workers / batch_run 2 processes: {two / b2:6.1f}x  (target >= 10x)")
        print(f"ratio bondsim 2 workers / 1 worker:              {two / one:6.2f}x  (target >= 1.7x)")
        print(
            f"  for scale, two pure-Python CPU-bound processes / one on this machine, same run: {ceiling:.2f}x "
            "(shared virtual cores rarely give 2x)"
        )
        for workers in (1, 2):
            total, runs = cli_sweep_seconds(workers, root)
            print(
                f"bondsim sweep CLI, {runs} runs of 1000 people x 100 steps, --workers {workers}: "
                f"{total:.1f} s in all, of which about {total - runs / (one if workers == 1 else two):.1f} s "
                "fixed start-up (target < 2 s)"
            )
        direct, extra = overhead_ms(100 if args.quick else 400, root)
        print(
            f"per-run overhead: trivial run {direct:.1f} ms in-process, +{extra:.1f} ms through a 1-worker sweep "
            "(scheduling, transfer, Parquet write)"
        )
        mem = memory_sweep(memory_runs, root)
        print(
            f"driver memory over a {mem['runs']}-run sweep ({mem['seconds']:.0f} s, "
            f"{mem['runs'] / mem['seconds']:.0f} runs/s): before {mem['before']:.0f} MB, "
            f"at 10% {mem['at_10pct']:.0f} MB, "
            f"peak {mem['peak']:.0f} MB, at end {mem['at_end']:.0f} MB"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
