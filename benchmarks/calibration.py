"""The joint calibration: the shipped spec's wall time on two cores, and its scaling with Dask workers.

Target (docs/performance.md): ``bondsim calibrate experiments/calibration/default.toml`` within 30
minutes on two cores. Scaling: a reduced spec (the shipped one with 16 particles, two generations,
one virtual trial per target design and 8 predictive draws) on 1 worker (in this process) and on 2
Dask workers; the ratio of the two wall times is printed, and the two posteriors are checked to be
the same (they must be, whatever the worker count). Usage: ``python benchmarks/calibration.py
[--quick]`` (``--quick``: the reduced spec alone, without the shipped one's half-hour run).
"""

from __future__ import annotations

import sys
import tempfile
import time
import tomllib
from pathlib import Path

from bondsim.calibration.run import calibrate
from bondsim.calibration.spec import from_dict
from bondsim.calibration.spec import load as load_spec

SHIPPED = Path(__file__).resolve().parents[1] / "experiments" / "calibration" / "default.toml"
TARGET_SECONDS = 1800.0


def reduced():
    """The shipped spec, smaller: 16 particles, two generations, one trial per design, 8 predictive draws."""
    data = tomllib.loads(SHIPPED.read_text())
    data["abc"].update(population=16, generations=2, trials=1, predictive=8, max_simulations=0)
    return from_dict(data, str(SHIPPED), SHIPPED.parent)


def main() -> int:
    spec = reduced()
    with tempfile.TemporaryDirectory() as tmp:
        times = {}
        for workers in (1, 2):
            t0 = time.perf_counter()
            summary = calibrate(spec, Path(tmp) / f"w{workers}", workers=workers)
            times[workers] = time.perf_counter() - t0
            d = summary["diagnostics"]
            print(
                f"reduced spec, {workers} worker(s): {times[workers]:.0f} s ({d['evaluations']} evaluations, "
                f"{d['simulations']} particle simulations, {times[workers] / d['simulations']:.2f} s each)"
            )
        same = (Path(tmp) / "w1" / "posterior.csv").read_text() == (Path(tmp) / "w2" / "posterior.csv").read_text()
        print(
            f"scaling: 1 worker / 2 workers = {times[1] / times[2]:.2f} (2.0 would be perfect); "
            f"same posterior: {'yes' if same else 'NO'}"
        )
        if not same:
            return 1
        if "--quick" in sys.argv:
            return 0
        t0 = time.perf_counter()
        summary = calibrate(load_spec(SHIPPED), Path(tmp) / "shipped", workers=2)
        seconds = time.perf_counter() - t0
        d = summary["diagnostics"]
        print(
            f"shipped spec on 2 workers: {seconds:.0f} s = {seconds / 60:.1f} min (target < 30 min: "
            f"{'met' if seconds < TARGET_SECONDS else 'MISSED'}); {d['generations']} generations, "
            f"{d['evaluations']} evaluations, final epsilon {d['final_epsilon']:.2f}, ESS {d['final_ess']:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
