"""Virtual trials: the whole library's meta-analysis and a power curve, against their time targets.

Targets (issue: virtual trials): ``bondsim experiment meta_analysis`` at its default replications
in under 10 minutes on two cores; a power curve of 4 sizes x 200 replications of Inagaki 2016 in
under 5 minutes. As a baseline measured in the same run, 10 trials of Inagaki 2016 run serially
in this process give the one-core cost of a trial; the ratio says how much of two cores the
runs use. Usage: ``python benchmarks/trials.py [--quick]`` (``--quick``: 20 replications, to try
the script; the targets are for the defaults).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bondsim.batch import default_workers
from bondsim.experiments import run_experiment
from bondsim.trials import design as td
from bondsim.trials import run_design
from bondsim.trials.run import run_trials


def main() -> int:
    reps = 20 if "--quick" in sys.argv else 200
    workers = default_workers()
    print(f"workers: {workers}; replications per study and per size: {reps}")

    t0 = time.perf_counter()
    run_trials(td.load("inagaki2016"), 10, 1, workers=1)
    serial = (time.perf_counter() - t0) / 10
    print(f"baseline: one Inagaki 2016 trial, serial in this process: {serial:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        meta = run_experiment("meta_analysis", Path(tmp) / "meta", trials=reps, workers=workers)
        meta_s = time.perf_counter() - t0
        trials = reps * len({o["study"] for o in meta["outcomes"]})
        print(
            f"meta_analysis: {trials} virtual trials of {len(meta['outcomes'])} outcomes in {meta_s:.0f} s "
            f"(target < 600 s at 200 replications: {'met' if meta_s < 600 else 'MISSED'}); "
            f"{trials / meta_s:.1f} trials/s"
        )

        t0 = time.perf_counter()
        run_design("inagaki2016", Path(tmp) / "power", replications=reps, power=[20, 40, 80, 160], workers=workers)
        power_s = time.perf_counter() - t0
        # the power run also runs the design itself (31 participants) once: 5 x reps trials in all
        equivalent = 5 * reps * serial
        print(
            f"power curve, 4 sizes x {reps} (+ the design's own {reps}): {power_s:.0f} s "
            f"(target < 300 s at 200: {'met' if power_s < 300 else 'MISSED'}); "
            f"serial estimate at 31 participants {equivalent:.0f} s, ratio {equivalent / power_s:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
