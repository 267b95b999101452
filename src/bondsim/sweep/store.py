"""The result store of a sweep: one folder, written so that a killed sweep leaves only whole files.

::

    OUT/
      manifest.json    the spec, every resolved parameter, design points, seeds, provenance,
                       data dictionary, status and counts
      columns.csv      the data dictionary: column, unit, meaning
      plan.csv         one row per run: run, point, replicate, (arm,) seed, varied values
      modules/NAME.py  a copy of each of the user's own modules the runs use (mechanisms, helpers,
                       output functions), whose hashes the manifest records
      runs/run-NNNNNN.parquet   the dataset, one file per finished run
      people/run-NNNNNN.parquet per-person rows of a run, when [outputs] asks for them
      people_columns.csv        their data dictionary
      failures/run-NNNNNN.json  one file per failed run; failures.csv gathers them

``plan.csv`` and the manifest's ``design_points`` are the record of what the sweep asks for: a
run's number, point and seed never change once planned, also when the sweep grows
(:func:`check`, mode ``extend``). Seeds are 63-bit integers: int64 columns in ``plan.csv`` and the
Parquet files (:func:`read_plan` reads them as such), JSON integers in the manifest.

A sweep cannot mix two models: the manifest records the hash of every user module the runs
import (:func:`bondsim.provenance.user_modules`), and ``--resume`` and ``--extend`` refuse, naming
the module, when one has changed since.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import provenance
from ..errors import UserError
from ..io import _default, _finite, now, versions, write_json
from ..metrics import COLUMNS, DESCRIPTIONS
from ..metrics import UNITS as METRIC_UNITS
from ..outputs import Outputs, describe, describe_people
from ..params import FIELDS, Params, with_overrides
from .spec import ID_COLUMNS, MODEL_KEYS, NOT_COLUMNS, SweepSpec, id_columns, level_label

RUN_FILE = re.compile(r"^run-(\d+)\.parquet$")
FAIL_FILE = re.compile(r"^run-(\d+)\.json$")
MANIFEST_FORMAT = 2
SEED_RULE = (
    "run of design point p, replicate k: seed_for(master, p, k) = "
    "SeedSequence(master, spawn_key=(p, k)).generate_state(1, uint64)[0] >> 1; listed per run in plan.csv"
)
ARM_SEED_RULE = "; every arm of [compare] runs with the seed of its (p, k): common random numbers"
EXTRA_VERSIONS = ("dask", "distributed", "pyarrow", "SALib", "tqdm")

ID_MEANINGS = {
    "run": ("", "run number (stable: a run keeps it when the sweep grows)"),
    "point": ("", "design point number (stable; the point's values are in manifest.json design_points)"),
    "replicate": ("", "replicate number within the design point"),
    "seed": ("", "the run's seed: seed_for(master, point, replicate)"),
    "arm": ("", "the arm of [compare] (the first is the reference); the arms of a (point, replicate) share its seed"),
}


# ------------------------------------------------------------------------- paths and readers
def run_path(out: str | Path, run: int) -> Path:
    """Path of run ``run``'s Parquet file."""
    return Path(out) / "runs" / f"run-{run:06d}.parquet"


def people_path(out: str | Path, run: int) -> Path:
    """Path of run ``run``'s per-person Parquet file."""
    return Path(out) / "people" / f"run-{run:06d}.parquet"


def people(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The sweep's per-person dataset (run, step, person, variables) as one DataFrame, sorted."""
    folder = Path(out) / "people"
    files = sorted(folder.glob("run-*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=list(columns or ("run", "step", "person")))
    frame = pd.concat([pd.read_parquet(p, columns=columns) for p in files], ignore_index=True)
    keys = [c for c in ("run", "step", "person") if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def failure_path(out: str | Path, run: int) -> Path:
    """Path of run ``run``'s failure record."""
    return Path(out) / "failures" / f"run-{run:06d}.json"


def parquet_bytes(data: pd.DataFrame | Mapping[str, Any]) -> bytes:
    """A frame (or its columns) as the bytes of a Parquet file, without index: workers encode, the driver saves.

    Columns given as arrays or lists, and frames of numeric, boolean and string columns, go to
    Arrow directly (a fraction of the cost of pandas' conversion, which a one-row run file would
    mostly spend on its metadata); they read back the same.
    """
    if isinstance(data, pd.DataFrame):
        plain = data.columns.is_unique and all(
            isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "biuf")
            for dtype in data.dtypes
        )
        table = (
            pa.table({name: _arrow(column.to_numpy()) for name, column in data.items()})
            if plain
            else pa.Table.from_pandas(data, preserve_index=False)
        )
    else:
        table = pa.table({name: _arrow(values) for name, values in data.items()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _arrow(values: Any) -> pa.Array:
    """One column for Arrow as pandas would write it: NaN marks a missing value, strings are large strings."""
    array = pa.array(values, from_pandas=True)
    return array.cast(pa.large_string()) if pa.types.is_string(array.type) else array


def write_bytes(data: bytes, path: Path) -> None:
    """Write a file atomically: a temporary dot-file, then a rename (removed if interrupted)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a CSV file atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def finished_runs(out: str | Path) -> set[int]:
    """Runs whose result file exists in a sweep directory."""
    folder = Path(out) / "runs"
    if not folder.is_dir():
        return set()
    return {int(m.group(1)) for p in folder.iterdir() if (m := RUN_FILE.match(p.name))}


def results(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The sweep's dataset as one DataFrame, sorted by run and step."""
    folder = Path(out) / "runs"
    files = sorted(p for p in folder.glob("run-*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=list(columns or ID_COLUMNS))
    frame = pd.concat([pd.read_parquet(p, columns=columns) for p in files], ignore_index=True)
    keys = [c for c in ("run", "step") if c in frame.columns]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True) if keys else frame


def failures(out: str | Path) -> pd.DataFrame:
    """The failures table of a sweep: run, point, replicate, seed, varied values, error."""
    path = Path(out) / "failures.csv"
    if path.is_file():
        return pd.read_csv(path)
    rows = [json.loads(p.read_text()) for p in sorted((Path(out) / "failures").glob("run-*.json"))]
    return pd.DataFrame(rows)


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The manifest of a sweep directory."""
    path = Path(out) / "manifest.json"
    if not path.is_file():
        raise UserError(f"{out} is not a sweep directory (no manifest.json)")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None


def read_plan(out: str | Path) -> pd.DataFrame:
    """``plan.csv``: one row per planned run (run, point, replicate, seed, varied values)."""
    path = Path(out) / "plan.csv"
    if not path.is_file():
        raise UserError(f"{out} has a manifest but no plan.csv: it is damaged; start a new sweep")
    exact = {"run": "int64", "point": "int64", "replicate": "int64", "seed": "int64", "arm": str}
    return pd.read_csv(path, dtype=exact)


# -------------------------------------------------------------------------- provenance
def data_dictionary(
    varied: tuple[str, ...] | list[str],
    fixed: Mapping[str, Any] = (),
    base: Params | None = None,
    outputs: Outputs | None = None,
    arms: Mapping[str, Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Column, unit and meaning of every column of the dataset, in order (the outputs' columns if given)."""
    arms = arms or {}
    rows = [{"column": c, "unit": ID_MEANINGS[c][0], "meaning": ID_MEANINGS[c][1]} for c in id_columns(tuple(arms))]
    by_arm = [n for changes in arms.values() for n in changes if n not in MODEL_KEYS]
    for name in dict.fromkeys((*fixed, *by_arm, *varied)):
        if name == "mechanisms" and name in varied:
            rows.append({"column": name, "unit": "", "meaning": "mechanism list (varied): its modules, in order"})
            continue
        if name in NOT_COLUMNS:
            continue
        declared = [base.parameter(name)] if base is not None and name in base.values() else []
        for changes in arms.values():  # a parameter of an arm's own mechanisms
            try:
                declared = declared or [with_overrides(base or Params(), changes).parameter(name)]
            except (UserError, KeyError):
                continue
        meta = (declared[0] if declared else FIELDS[name]).metadata
        how = "varied" if name in varied else "by arm" if name in by_arm else "fixed"
        rows.append({"column": name, "unit": meta["unit"], "meaning": f"parameter ({how}): {meta['doc']}"})
    if outputs is not None and not outputs.plain:
        rows += describe(outputs, base or Params(), METRIC_UNITS)
    else:
        for column in COLUMNS:
            rows.append(
                {"column": column, "unit": METRIC_UNITS.get(column, ""), "meaning": DESCRIPTIONS.get(column, "")}
            )
    return pd.DataFrame(rows, columns=["column", "unit", "meaning"])


SAME_RESULTS = ("threads",)  # settings that leave every number as it is: free to change when a sweep grows


def resolved_parameters(spec: SweepSpec) -> dict[str, Any]:
    """Every parameter that is not varied, at its resolved value (defaults, then the spec's [fixed])."""
    return {k: v for k, v in spec.base.to_dict().items() if k not in spec.varied}


def _spec_fields(spec: SweepSpec, spec_file: str | None) -> dict[str, Any]:
    """What the manifest says about the spec (replaced when the sweep grows)."""
    if "engine" in spec.varied:
        engines = sorted({str(p["engine"]) for p in spec.points})
    else:
        engines = sorted({spec.task_for(0, 0, 0, arm, 0, {}).params().engine for arm in spec.arm_names or (None,)})
    return {
        "spec_file": spec_file,
        "spec": spec.raw,
        "description": spec.raw.get("sweep", {}).get("description"),
        "design": spec.design,
        "replicates": spec.replicates,
        "steps": spec.steps,
        "days": spec.days,
        "record": spec.record,
        "outputs": spec.outputs.to_dict(),
        "samples": spec.samples,
        "second_order": spec.second_order,
        "levels": spec.levels,
        "fixed": dict(spec.fixed),
        "varied": list(spec.varied),
        "bounds": {k: list(v) for k, v in spec.bounds.items()},
        "choices": {k: list(v) for k, v in spec.choices.items()},
        "arms": list(spec.arm_names),
        "compare": {arm: dict(changes) for arm, changes in spec.arms.items()},
        "engine": engines[0] if len(engines) == 1 else engines,
        "parameters": resolved_parameters(spec),
    }


def new_manifest(spec: SweepSpec, spec_file: str | None, modules: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of a new sweep (status ``running``)."""
    columns = data_dictionary(spec.varied, spec.fixed, spec.base, spec.outputs, spec.arms)
    people_columns = describe_people(spec.outputs, spec.base) if spec.outputs.per_person else None
    return {
        "format": MANIFEST_FORMAT,
        "command": "sweep",
        **_spec_fields(spec, spec_file),
        "points": spec.n_points,
        "runs": spec.n_runs,
        "design_points": [dict(p) for p in spec.points],
        "seeds": {"master": spec.seed, "rule": SEED_RULE + (ARM_SEED_RULE if spec.arms else "")},
        "bondsim": provenance.describe(),
        "modules": dict(modules if modules is not None else spec_modules(spec)),
        "versions": versions(extra=EXTRA_VERSIONS),
        "columns": columns.to_dict(orient="records"),
        "people_columns": people_columns,
        "started": now(),
        "finished": None,
        "status": "running",
        "counts": {"runs": spec.n_runs, "done": 0, "failed": 0},
        "extensions": [],
    }


# ------------------------------------------------------------------------ the user's modules
def mechanism_lists(spec: SweepSpec) -> list[tuple[str, ...]]:
    """Every mechanism list the runs of a spec use: the fixed one, each arm's, each level of a varied one."""
    lists = {spec.base.mechanisms: None}
    for arm in spec.arm_names:
        lists[spec.task_for(0, 0, 0, arm, 0, {}).params().mechanisms] = None
    for level in spec.choices.get("mechanisms", ()):
        for arm in spec.arm_names or (None,):
            lists[spec.task_for(0, 0, 0, arm, 0, {"mechanisms": level}).params().mechanisms] = None
    return list(lists)


def spec_modules(spec: SweepSpec) -> dict[str, dict[str, str]]:
    """The user's own modules the runs of a spec import, by name: source file, hash, role and where the copy goes."""
    mechanisms = {name for names in mechanism_lists(spec) for name in names}
    outputs = [f.partition(":")[0] for f in spec.outputs.functions]
    found = provenance.user_modules(mechanism_lists(spec), outputs)
    return {
        name: {
            "file": str(path),
            "hash": provenance.module_hash(path),
            "role": "mechanism" if name in mechanisms else "output" if name in outputs else "helper",
            "copy": f"modules/{name}.py",
        }
        for name, path in found.items()
    }


def check_modules(recorded: Mapping[str, Any], current: Mapping[str, Any], out: Path, verb: str) -> None:
    """Refuse (one line) when a module the sweep in ``out`` used has changed, or is used no more."""
    for name, info in sorted(recorded.items()):
        now_ = current.get(name)
        if now_ is None:
            continue  # the spec no longer uses it: the spec check names that change
        if now_["hash"] != info["hash"]:
            raise UserError(
                f"cannot {verb} {out}: module {name} has changed since the sweep started "
                f"({now_['file']} is {now_['hash']}, the runs used {info['hash']}, kept in {out / info['copy']}); "
                f"restore it, or start a new sweep"
            )


def copy_modules(modules: Mapping[str, Any], out: Path) -> None:
    """Keep a copy of each user module's source in ``out/modules`` (atomically, once)."""
    for info in modules.values():
        target = out / info["copy"]
        if target.is_file():
            continue
        target.parent.mkdir(exist_ok=True)
        write_bytes(Path(info["file"]).read_bytes(), target)


# -------------------------------------------------------------------- opening a sweep folder
@dataclass
class Opened:
    """A sweep folder checked against a spec, before anything is written.

    Attributes:
        mode: ``new``, ``resume`` or ``extend``.
        manifest: the manifest to write.
        plan: run, point, replicate and seed of every planned run.
        points: the design points, by point number.
        done: runs with a result file.
        added_points: design points added by an extension.
        added_runs: runs added by an extension.
    """

    mode: str
    manifest: dict[str, Any]
    plan: pd.DataFrame
    points: list[dict[str, Any]]
    done: set[int] = field(default_factory=set)
    added_points: int = 0
    added_runs: int = 0


def plan_frame(rows: pd.DataFrame, points: list[Mapping[str, Any]], varied: list[str]) -> pd.DataFrame:
    """The plan with the varied values of each run's point as columns (``arm`` kept when there is one)."""
    frame = rows[["run", "point", "replicate"]].astype("int64").reset_index(drop=True)
    if "arm" in rows.columns:
        frame["arm"] = rows["arm"].astype(str).to_numpy()
    frame["seed"] = rows["seed"].astype("int64").to_numpy()
    for name in varied:
        frame[name] = [level_label(points[p][name]) for p in frame["point"]]
    return frame


def check(spec: SweepSpec, out: Path, mode: str, spec_file: str | None = None) -> Opened:
    """Check ``out`` for a new sweep, a resume or an extension with ``spec``; write nothing.

    Raises:
        UserError: one line naming what is wrong (a non-empty folder for a new sweep, a changed spec
            on resume, a change to something already run on extend).
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    if mode == "new":
        if out.exists() and any(out.iterdir()):
            raise UserError(f"{out} is not empty: use --resume to continue the sweep in it, or another --out")
        manifest = new_manifest(spec, spec_file)
        from .spec import plan as spec_plan

        points = [dict(p) for p in spec.points]
        return Opened(mode, manifest, plan_frame(spec_plan(spec), points, list(spec.varied)), points)

    verb = "resume" if mode == "resume" else "extend"
    flag = f"--{verb}"
    if not (out / "manifest.json").is_file():
        raise UserError(f"cannot {verb}: {out} holds no sweep (no manifest.json); run without {flag}")
    manifest = read_manifest(out)
    plan = read_plan(out)
    points = manifest.get("design_points") or [dict(p) for p in spec.points]
    if mode == "resume":
        if manifest.get("spec") != spec.raw or manifest.get("seeds", {}).get("master") != spec.seed:
            raise UserError(f"cannot resume: the spec differs from the one {out} was started with")
        current = spec_modules(spec)
        check_modules(manifest.get("modules") or {}, current, out, verb)
        if "modules" not in manifest:  # a sweep of an earlier bondsim: record them from now on
            manifest = {**manifest, "modules": current}
        opened = Opened(mode, manifest, plan_frame(plan, points, list(manifest["varied"])), points)
    else:
        opened = _extend(spec, out, manifest, plan, spec_file)
    opened.done = finished_runs(out) & set(opened.plan["run"])
    return opened


def _as_stored(value: Any) -> Any:
    """A value as it reads back from manifest.json (non-finite floats become null, tuples lists)."""
    return json.loads(json.dumps(_finite(value), default=_default))


def _show(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in point.items())


def _extend(spec: SweepSpec, out: Path, manifest: dict[str, Any], plan: pd.DataFrame, spec_file: str | None) -> Opened:
    """Check that ``spec`` only adds replicates or design points to the sweep in ``out``; plan the new runs."""
    where = f"cannot extend {out}:"
    if manifest.get("format", 1) < MANIFEST_FORMAT:
        raise UserError(f"{where} it was made by an older bondsim (manifest format {manifest.get('format', 1)})")
    checks = [
        ("design", manifest["design"], spec.design),
        ("master seed", manifest["seeds"]["master"], spec.seed),
        ("engine", manifest["engine"], _spec_fields(spec, None)["engine"]),
        ("varied parameters", sorted(manifest["varied"]), sorted(spec.varied)),
        ("steps", manifest["steps"], spec.steps),
        ("days", manifest["days"], spec.days),
        ("record", manifest["record"], spec.record),
        ("outputs", manifest.get("outputs", Outputs().to_dict()), spec.outputs.to_dict()),
        ("arms of [compare]", manifest.get("compare", {}), _as_stored({a: dict(c) for a, c in spec.arms.items()})),
        ("categorical factors", manifest.get("choices", {}), _as_stored({k: list(v) for k, v in spec.choices.items()})),
    ]
    for what, old, new in checks:
        if old != new:
            raise UserError(f"{where} its {what} is {old!r} and the spec's is {new!r}; start a new sweep to change it")
    current = spec_modules(spec)
    check_modules(manifest.get("modules") or {}, current, out, "extend")
    old_params, new_params = manifest["parameters"], _as_stored(resolved_parameters(spec))
    for name in sorted(set(old_params) | set(new_params)):
        old, new = old_params.get(name), new_params.get(name)
        if old != new and name not in SAME_RESULTS:
            raise UserError(
                f"{where} parameter {name} is {old!r} there and {new!r} in the spec; start a new sweep to change it"
            )
    if spec.replicates < manifest["replicates"]:
        raise UserError(
            f"{where} it has {manifest['replicates']} replicates per point and the spec {spec.replicates}: "
            f"a sweep can only grow"
        )
    old_points = [dict(p) for p in manifest["design_points"]]
    unused = [dict(p) for p in _as_stored(list(spec.points))]
    for i, point in enumerate(old_points):
        if point not in unused:
            raise UserError(
                f"{where} its design point {i} ({_show(point)}) is not in the spec: changed or removed points "
                f"are refused; start a new sweep"
            )
        unused.remove(point)
    points = old_points + unused
    arms = list(spec.arm_names) or [None]
    arm_of = plan["arm"] if "arm" in plan.columns else [None] * len(plan)
    have = {(int(p), int(r), a) for p, r, a in zip(plan["point"], plan["replicate"], arm_of, strict=True)}
    next_run = int(plan["run"].max()) + 1 if len(plan) else 0
    new_rows = []
    for p in range(len(points)):
        for k in range(spec.replicates):
            for arm in arms:
                if (p, k, arm) not in have:
                    row = {"run": next_run, "point": p, "replicate": k, "arm": arm, "seed": spec.seed_of(p, k)}
                    new_rows.append(row if arm is not None else {k: v for k, v in row.items() if k != "arm"})
                    next_run += 1
    ids = list(id_columns(tuple(spec.arm_names)))
    rows = pd.concat([plan[ids], pd.DataFrame(new_rows, columns=ids)], ignore_index=True)
    rows[["run", "point", "replicate", "seed"]] = rows[["run", "point", "replicate", "seed"]].astype("int64")
    manifest = dict(manifest)
    if "modules" not in manifest:  # a sweep of an earlier bondsim: record them from now on
        manifest["modules"] = current
    if new_rows or manifest.get("spec") != spec.raw:
        manifest.update(_spec_fields(spec, spec_file))
        manifest["design_points"] = points
        manifest["points"] = len(points)
        manifest["runs"] = len(rows)
        manifest["extensions"] = [
            *manifest.get("extensions", []),
            {"at": now(), "spec_file": spec_file, "added_points": len(unused), "added_runs": len(new_rows)},
        ]
    return Opened(
        "extend",
        manifest,
        plan_frame(rows, points, list(manifest["varied"])),
        points,
        added_points=len(unused),
        added_runs=len(new_rows),
    )


def commit(opened: Opened, out: Path) -> None:
    """Create or update the sweep folder: folders, plan.csv, columns.csv and the manifest."""
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
        (out / "failures").mkdir(exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror}") from None
    for folder in (out, out / "runs", out / "failures", out / "people"):
        for p in folder.glob(".*.tmp"):
            p.unlink()
    manifest = opened.manifest
    copy_modules(manifest.get("modules") or {}, out)
    if opened.mode != "resume":
        write_csv(opened.plan, out / "plan.csv")
        write_csv(pd.DataFrame(manifest["columns"], columns=["column", "unit", "meaning"]), out / "columns.csv")
        if manifest.get("people_columns"):
            (out / "people").mkdir(exist_ok=True)
            write_csv(pd.DataFrame(manifest["people_columns"]), out / "people_columns.csv")
        manifest["status"] = "running"
        manifest["finished"] = None
        write_json(out / "manifest.json", manifest)


def write_failure(out: Path, row: Mapping[str, Any]) -> None:
    """Record a failed run."""
    write_json(failure_path(out, int(row["run"])), dict(row))


def finish(
    out: Path, opened: Opened, status: str, elapsed: float, cluster: Mapping[str, Any] | None
) -> tuple[int, int]:
    """Write failures.csv and the final manifest; returns runs done and runs failed."""
    manifest = opened.manifest
    planned = set(int(r) for r in opened.plan["run"])
    rows = [json.loads(p.read_text()) for p in sorted((out / "failures").glob("run-*.json"))]
    rows = [r for r in rows if int(r["run"]) in planned]
    table = pd.DataFrame(rows, columns=[*id_columns(manifest.get("arms") or ()), *manifest["varied"], "error"])
    write_csv(table, out / "failures.csv")
    n_done = len(finished_runs(out) & planned)
    if status == "complete" and n_done < len(planned):
        status = "failed"
    if cluster is not None:
        manifest["cluster"] = dict(cluster)
    manifest.update(
        {
            "finished": now(),
            "status": status,
            "elapsed_seconds": round(manifest.get("elapsed_seconds", 0.0) + elapsed, 3),
            "counts": {"runs": len(planned), "done": n_done, "failed": len(rows)},
        }
    )
    write_json(out / "manifest.json", manifest)
    return n_done, len(rows)


__all__ = [
    "MANIFEST_FORMAT",
    "Opened",
    "check",
    "check_modules",
    "commit",
    "copy_modules",
    "data_dictionary",
    "failures",
    "finish",
    "finished_runs",
    "mechanism_lists",
    "parquet_bytes",
    "people",
    "people_path",
    "read_manifest",
    "read_plan",
    "results",
    "run_path",
    "spec_modules",
    "write_bytes",
]
