"""How much memory a model needs, checked before a run starts (not a MemoryError a minute in).

The figures are measured peaks of a model built and stepped in a fresh process (Mesa 3.5,
NumPy 2, CPython 3.12, small-world network): bytes per person, plus bytes per person for each
unit of ``mean_degree`` (each tie carries a bond on both ends). ``bondsim run`` keeps a Mesa agent
per person in both engines; the figures include them. Re-measure with
``python benchmarks/memory.py`` after changing the engines.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ResourceError

# engine -> (bytes per person, bytes per person per unit of mean_degree), from benchmarks/memory.py
BYTES_PER_PERSON: dict[str, tuple[float, float]] = {
    "agents": (2300.0, 275.0),
    "array": (790.0, 36.0),
}
BASE_BYTES = 250e6  # the interpreter with Mesa, pandas, NumPy and SciPy imported
GB = 1e9


def estimate_bytes(n_agents: int, mean_degree: int, engine: str) -> int:
    """About how many bytes a model of ``n_agents`` people on ``engine`` needs at its peak."""
    per_person, per_tie = BYTES_PER_PERSON[engine]
    return int(BASE_BYTES + n_agents * (per_person + per_tie * mean_degree))


def available_bytes() -> int | None:
    """Memory available to a new process now, or None if unknown.

    The least of: ``MemAvailable`` (Linux, else psutil), the room left under this process's cgroup
    limit (containers, batch jobs), and ``BONDSIM_MEMORY_GB`` if set (to leave room for others).
    """
    found = []
    try:
        with open("/proc/meminfo") as f:
            found += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
    except OSError:
        pass
    if not found:
        try:
            import psutil

            found.append(int(psutil.virtual_memory().available))
        except ImportError:  # pragma: no cover - psutil comes with dask.distributed
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text()))
    except (OSError, ValueError):
        pass
    setting = os.environ.get("BONDSIM_MEMORY_GB", "").strip()
    if setting:
        try:
            found.append(int(float(setting) * GB))
        except ValueError:
            raise ResourceError(f"BONDSIM_MEMORY_GB = {setting!r} must be a number of GB") from None
    return max(0, min(found)) if found else None


def _gb(n: float) -> str:
    return f"{n / GB:.2g} GB" if n < 10 * GB else f"{n / GB:.0f} GB"


def check_memory(n_agents: int, mean_degree: int, engine: str, copies: int = 1, available: int | None = None) -> None:
    """Refuse a population too large for this machine, before anything runs.

    Args:
        n_agents: people in one model.
        mean_degree: mean number of network neighbours.
        engine: ``agents`` or ``array``.
        copies: models held at once (e.g. one per worker process).
        available: bytes available (default: measured now).

    Raises:
        ResourceError: one line with the estimate, what is available and what to do instead.
    """
    available = available_bytes() if available is None else available
    if available is None:
        return
    need = copies * estimate_bytes(n_agents, mean_degree, engine)
    if need <= available:
        return
    what = f"{n_agents:,} people on the {engine} engine" + (f" in {copies} processes" if copies > 1 else "")
    message = f"{what} need about {_gb(need)}; this machine has {_gb(available)} available"
    alternative = copies * estimate_bytes(n_agents, mean_degree, "array")
    if engine != "array" and alternative <= available:
        raise ResourceError(f"{message}; use --engine array (about {_gb(alternative)})")
    per_person = copies * (estimate_bytes(1, mean_degree, "array") - BASE_BYTES)
    fits = max(0, int((available - copies * BASE_BYTES) / per_person))
    fits = int(float(f"{fits:.2g}"))
    raise ResourceError(f"{message}; use fewer people (about {fits:,} fit with --engine array)")


__all__ = ["BYTES_PER_PERSON", "available_bytes", "check_memory", "estimate_bytes"]
