"""Run every benchmark script in this folder (except this one), one after the other.

Usage: ``python benchmarks/run_all.py`` (or ``make bench``). Exits non-zero if any script failed.

The scripts: ``engines.py`` (speed and memory of the two engines), ``sweeps.py`` (sweeps on Dask),
``trials.py`` (the virtual meta-analysis and a power curve against their time targets),
``calibration.py`` (the shipped calibration's wall time and its scaling from 1 to 2 Dask workers),
``install_size.py`` (the size of a fresh install: the core, the core with the app, everything) and
``app_live.py`` (the classroom app in a real browser: page load, Step to plots, play rate at 200 and
1,000 people; it says it skipped if Debian's chromium is missing).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    here = Path(__file__).resolve().parent
    scripts = sorted(p for p in here.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        status = subprocess.call([sys.executable, str(script)], cwd=here.parent)
        print(
            f"=== {script.name}: {'ok' if status == 0 else f'FAILED ({status})'} "
            f"in {time.perf_counter() - started:.0f} s ===",
            flush=True,
        )
        if status != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
