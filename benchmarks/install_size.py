"""What an install of bondsim weighs: the core alone, the core with the classroom app, and everything.

Each is a fresh virtual environment (``python -m venv``) into which pip installs the wheel built
from this checkout, with the extras named; its size is what the folder holds on disk, pip and the
compiled ``.pyc`` files included, as a teacher's or a theorist's install would have them. The
targets: the core at most 450 MB, the core and the app at most 700 MB.

Usage::

    python benchmarks/install_size.py          # core, core + app, all (a few minutes; packages from PyPI)
    python benchmarks/install_size.py core     # one of them
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLS = {"core": "", "core + app": "[app]", "all": "[all]"}
TARGETS_MB = {"core": 450, "core + app": 700}
HEAVY = ("numba", "llvmlite", "distributed", "pyarrow", "statsmodels", "salib", "solara")


def folder_mb(path: Path) -> float:
    """Bytes on disk under ``path`` (as du counts them), in MB."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total / 2**20


def build_wheel(work: Path) -> Path:
    """The wheel of this checkout, built from a copy of its sources (no stale build folder gets in)."""
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "wheels"), str(source)],
        check=True,
        capture_output=True,
    )
    return next((work / "wheels").glob("bondsim-*.whl"))


def install(wheel: Path, extras: str, venv: Path) -> dict:
    """A fresh venv with the wheel and ``extras``: its size, its package count and which heavy packages it holds."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    started = time.perf_counter()
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"{wheel}{extras}"], check=True, env=env)
    seconds = time.perf_counter() - started
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], env=env, capture_output=True, text=True, check=True
    ).stdout
    names = [line.split("==")[0].lower() for line in listed.splitlines() if "==" in line]
    return {
        "mb": folder_mb(venv),
        "packages": len(names),
        "heavy": [h for h in HEAVY if h in names],
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", metavar="INSTALL", help=f"installs to measure: {', '.join(INSTALLS)}")
    args = parser.parse_args()
    chosen = args.which or list(INSTALLS)
    unknown = [name for name in chosen if name not in INSTALLS]
    if unknown:
        parser.error(f"unknown install {unknown[0]!r}: use {', '.join(repr(n) for n in INSTALLS)}")
    print(f"bondsim install size: fresh venvs with Python {sys.version.split()[0]}, pip and .pyc files included")
    print(f"{'install':12s} {'MB':>7s} {'packages':>9s} {'pip install s':>14s}  heavy packages present")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        for name in chosen:
            r = install(wheel, INSTALLS[name], Path(tmp) / name.replace(" + ", "-"))
            results[name] = r
            print(f"{name:12s} {r['mb']:7.0f} {r['packages']:9d} {r['seconds']:14.0f}  {', '.join(r['heavy']) or '-'}")
    print("\ntargets:")
    for name, limit in TARGETS_MB.items():
        if name in results:
            mb = results[name]["mb"]
            print(f"  {name} <= {limit} MB: {mb:.0f} MB -> {'met' if mb <= limit else 'NOT met'}")
    if "core" in results:
        heavy = results["core"]["heavy"]
        print(f"  the core holds none of {', '.join(HEAVY)}: {'met' if not heavy else 'NOT met: ' + ', '.join(heavy)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
