"""Peak memory per person of each engine, the figures behind ``bondsim.memory``.

Each case runs in a fresh process: build a model as ``bondsim run`` does (Mesa agents included)
and step it, then report (peak RSS - RSS after imports) / people. Compare with
``bondsim.memory.BYTES_PER_PERSON``.

    python benchmarks/memory.py
"""

from __future__ import annotations

import subprocess
import sys

CASES = [("agents", 20_000, 2), ("agents", 20_000, 8), ("agents", 20_000, 32), ("array", 200_000, 2)]
CASES += [("array", 200_000, 8), ("array", 200_000, 32)]

CHILD = """
import resource, sys
from bondsim.model import BondingModel
from bondsim.params import Params

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS"))

engine, n, degree = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = rss()
BondingModel(Params(n_agents=n, mean_degree=degree, engine=engine), seed=1).run(3)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base) / n)
"""


def main() -> None:
    from bondsim.memory import BYTES_PER_PERSON

    print(f"{'engine':<8}{'people':>10}{'degree':>8}{'measured B':>12}{'model B':>10}")
    for engine, n, degree in CASES:
        out = subprocess.run([sys.executable, "-c", CHILD, engine, str(n), str(degree)], capture_output=True, text=True)
        measured = float(out.stdout.strip() or "nan")
        per_person, per_tie = BYTES_PER_PERSON[engine]
        print(f"{engine:<8}{n:>10}{degree:>8}{measured:>12.0f}{per_person + per_tie * degree:>10.0f}")


if __name__ == "__main__":
    main()
