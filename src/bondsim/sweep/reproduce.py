"""One run of a sweep again: what ``bondsim run --from-sweep DIR --run ID`` does.

A sweep folder holds all a run needs: the spec (``manifest.json``), the run's point, replicate,
arm and seed (``plan.csv``, read as 64-bit integers so that no seed passes through a float), the
point's values (the manifest's ``design_points``) and the hashes of the user's modules. The run is
rebuilt from these as the sweep built it (:meth:`bondsim.sweep.spec.SweepSpec.task_for`) and run
the same way (:func:`bondsim.sweep.execute.execute_run`), so its rows equal those of the sweep's
``runs/run-NNNNNN.parquet`` bit for bit when the code is the same; a user module that has changed
since the sweep is refused in one line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import provenance
from ..errors import UserError
from . import store
from .execute import RunResult, execute_run
from .spec import RunTask, SweepSpec, parse_spec


@dataclass(frozen=True)
class SweepRun:
    """A run of a sweep, rebuilt from its folder.

    Attributes:
        out: the sweep folder.
        spec: the sweep's spec, as the manifest records it.
        task: everything the run needs (parameters, seed, length, outputs).
        manifest: the sweep's manifest.
    """

    out: Path
    spec: SweepSpec
    task: RunTask
    manifest: dict[str, Any]

    @property
    def recorded(self) -> Path:
        """The sweep's file of this run's rows (it may be missing: a failed or unfinished run)."""
        return store.run_path(self.out, self.task.run)


def sweep_run(out: str | Path, run: int) -> SweepRun:
    """Rebuild run ``run`` of the sweep in ``out``.

    Raises:
        UserError: ``out`` is not a sweep folder, has no run ``run``, or a user module the sweep
            used has changed since (one line each).
    """
    out = Path(out)
    manifest = store.read_manifest(out)
    if manifest.get("command") != "sweep" or "spec" not in manifest:
        raise UserError(f"{out}/manifest.json is not the manifest of a sweep")
    plan = store.read_plan(out)
    rows = plan.index[plan["run"].to_numpy(dtype=np.int64) == run]
    if len(rows) == 0:
        last = int(plan["run"].max()) if len(plan) else -1
        raise UserError(f"the sweep in {out} has no run {run}: its runs are numbered 0 to {last}")
    i = rows[0]
    # column by column, never a row (a row of ints and floats is a float Series: 63-bit seeds would round)
    point = int(plan["point"].to_numpy(dtype=np.int64)[i])
    replicate = int(plan["replicate"].to_numpy(dtype=np.int64)[i])
    seed = int(plan["seed"].to_numpy(dtype=np.int64)[i])
    arm = str(plan["arm"].to_numpy()[i]) if "arm" in plan.columns else None
    spec = parse_spec(manifest["spec"], seed=int(manifest["seeds"]["master"]))
    recorded = manifest.get("modules") or {}
    if recorded:
        store.check_modules(recorded, store.spec_modules(spec), out, "rerun a run of")
    points = manifest["design_points"]
    task = spec.task_for(run, point, replicate, arm, seed, points[point])
    return SweepRun(out, spec, task, manifest)


def rerun(out: str | Path, run: int) -> tuple[SweepRun, RunResult]:
    """Run run ``run`` of the sweep in ``out`` again: the rebuilt run and its rows (and per-person rows)."""
    found = sweep_run(out, run)
    return found, execute_run(found.task)


def identical(found: SweepRun, rows: pd.DataFrame) -> bool | None:
    """Whether ``rows`` equal the sweep's recorded rows of the run exactly (None: the sweep has none)."""
    if not found.recorded.is_file():
        return None
    stored = pd.read_parquet(found.recorded)
    fresh = pd.read_parquet(io.BytesIO(store.parquet_bytes(rows)))
    return list(stored.columns) == list(fresh.columns) and stored.equals(fresh)


def same_code(found: SweepRun) -> bool:
    """Whether this bondsim is the one that ran the sweep (version and code hash)."""
    made = found.manifest.get("bondsim") or {}
    mine = provenance.describe()
    return made.get("version") == mine["version"] and made.get("code_hash") == mine["code_hash"]


__all__ = ["SweepRun", "identical", "rerun", "same_code", "sweep_run"]
