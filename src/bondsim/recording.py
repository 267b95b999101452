"""Recording a run: what an :class:`~bondsim.outputs.Outputs` spec asks for, step by step.

:func:`record` runs a model and keeps the timeseries columns at their schedule, means by group,
the values of user functions, per-person snapshots, and where a stop condition ended the run.
The spec itself (what to record, parsed and checked) is :mod:`bondsim.outputs`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import metrics as builtin
from .errors import UserError
from .outputs import INT_GROUPS, Outputs, group_labels, import_function


@dataclass
class Recording:
    """What a run recorded: the timeseries rows, the per-person rows (or None), the step a stop ended it at."""

    columns: dict[str, np.ndarray]  # the timeseries rows, column by column
    people: pd.DataFrame | None = None
    stopped_at: int | None = None

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The timeseries rows as a data frame (made once)."""
        return pd.DataFrame(self.columns)


@dataclass
class _Recorder:
    model: Any
    outputs: Outputs
    n_steps: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    people: list[pd.DataFrame] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    stopped_at: int | None = None

    def __post_init__(self) -> None:
        model, outputs = self.model, self.outputs
        step_hours = model.params.step_hours
        self.record_steps = outputs.record.chosen(self.n_steps, step_hours)
        self.people_steps = outputs.people_at.chosen(self.n_steps, step_hours)
        self.functions = {name.partition(":")[2]: import_function(name) for name in outputs.functions}
        self.variables = {k: v for k, v in model.spec.variables.items() if v.per == "person"}
        needs = set()
        for metric, group in outputs.grouped:
            needs.update(builtin.NEEDS if metric in builtin.PER_PERSON else (metric,))
            if group != "separated":
                needs.add(group)
        self.needs = sorted(needs)
        self.degree = np.diff(model.network.indptr)
        self.columns = None if outputs.metrics is None else ["step", "hours", *outputs.metrics]

    def observe(self) -> bool:
        """Record what the schedules ask for at the model's current step; True if the run should stop."""
        model, outputs = self.model, self.outputs
        step = model.steps_done
        values = {name: fn(model) for name, fn in self.functions.items()} if step == 0 else {}
        for name, value in values.items():
            self.kinds[name] = _kind(name, value)
        record = self.record_steps is None or step in self.record_steps or step == self.n_steps
        row = self.row(values, record) if record or outputs.stop is not None else None
        stopped = outputs.stop is not None and step > 0 and outputs.stop.holds(row)
        end = step == self.n_steps or stopped
        if stopped:
            self.stopped_at = step
        if outputs.stop is not None:
            row["stopped"] = stopped
        if record or stopped:
            self.rows.append({k: v for k, v in row.items() if not k.startswith("_")})
        if outputs.per_person and (end or self.people_steps is None or step in self.people_steps):
            self.snapshot(values)
        return stopped

    def row(self, values: dict[str, Any], record: bool) -> dict[str, Any]:
        current = self.model.current
        row = dict(current) if self.columns is None else {c: current[c] for c in self.columns}
        if self.needs:
            views = _views(self.model, self.needs)
            for group in dict.fromkeys(g for _, g in self.outputs.grouped):
                masks = self.masks(group, views)
                for metric, g in self.outputs.grouped:
                    if g != group:
                        continue
                    for label, mask in masks:
                        row[f"{metric}[{label}]"] = self.grouped(metric, views, mask)
        for name, fn in self.functions.items():
            if self.kinds[name] in ("frame", "series"):
                continue
            value = values[name] if name in values else fn(self.model)
            if self.kinds[name] == "number":
                row[name] = _number(name, value)
            else:
                if not isinstance(value, Mapping):
                    raise UserError(f"output {name}: returned a {type(value).__name__} after a dict at step 0")
                row.update({f"{name}.{k}": _number(name, v) for k, v in value.items()})
        for name in self.outputs.stop.names if self.outputs.stop is not None else ():
            if name not in row:
                row[f"_{name}"] = current[name]
        return row

    def masks(self, group: str, views: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
        labels = group_labels(group, self.variables)
        if group == "separated":
            inside = np.zeros(self.model.n, dtype=bool)
            inside[self.model.separated_index] = True
            return [(labels[0], inside), (labels[1], ~inside)]
        values = views[group]
        if self.variables[group].dtype == "bool":
            inside = values.astype(bool)
            return [(labels[0], inside), (labels[1], ~inside)]
        return [(labels[k], values == k) for k in range(INT_GROUPS)] + [(labels[-1], values >= INT_GROUPS)]

    def grouped(self, metric: str, views: Mapping[str, np.ndarray], mask: np.ndarray) -> float:
        if not mask.any():
            return float("nan")
        if metric in builtin.PER_PERSON:
            return builtin.means(views, mask, self.degree)[metric]  # the timeseries' formula, over a group
        return float(np.mean(views[metric][mask]))

    def snapshot(self, values: dict[str, Any]) -> None:
        model = self.model
        frame = pd.DataFrame({"step": model.steps_done, "person": np.arange(model.n, dtype=np.int64)})
        if self.outputs.people:
            state = _views(model, list(self.outputs.people))
            for name in self.outputs.people:
                frame[name] = np.array(state[name])
        for name, fn in self.functions.items():
            if self.kinds[name] not in ("frame", "series"):
                continue
            value = values[name] if name in values else fn(model)
            value = value.to_frame(name="value") if isinstance(value, pd.Series) else value
            if not isinstance(value, pd.DataFrame) or len(value) != model.n:
                raise UserError(f"output {name}: a data frame must have one row per person ({model.n})")
            value = value.drop(columns="person", errors="ignore").reset_index(drop=True)
            for column in value.columns:
                frame[f"{name}.{column}"] = value[column].to_numpy()
        if len(frame.columns) > 2:
            self.people.append(frame)

    def result(self) -> Recording:
        frame = pd.DataFrame(self.rows)
        frame["step"] = frame["step"].astype(np.int64)
        people = pd.concat(self.people, ignore_index=True) if self.people else None
        return Recording({name: column.to_numpy() for name, column in frame.items()}, people, self.stopped_at)


def _views(model: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Per-person variables without copies where the engine allows (one name: ``view``, several: ``views``)."""
    return {names[0]: model.engine.view(names[0])} if len(names) == 1 else model.engine.views(names)


def _kind(name: str, value: Any) -> str:
    if isinstance(value, pd.DataFrame):
        return "frame"
    if isinstance(value, pd.Series):
        return "series"
    if isinstance(value, Mapping):
        return "dict"
    _number(name, value)
    return "number"


def _number(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UserError(
            f"output {name}: returned {type(value).__name__}; return a number, a dict of numbers or a data frame"
        )
    return float(value)


def record(model: Any, n_steps: int, outputs: Outputs | None = None, progress: bool = False) -> Recording:
    """Run ``model`` for ``n_steps`` steps (fewer if ``outputs.stop`` holds) and return what ``outputs`` asks for.

    With the default columns (``outputs.plain``) the model's own timeseries is kept, thinned to the
    schedule: nothing more is computed than in a plain run.
    """
    outputs = outputs or Outputs()
    if outputs.plain:
        chosen = outputs.record.chosen(n_steps, model.params.step_hours)
        model.advance(n_steps, progress=progress, keep=chosen)
        columns = model.timeseries_columns()
        if chosen is not None:  # the first row is the model's start
            step = columns["step"]
            rows = np.isin(step, list(chosen)) | (step == step[-1])
            columns = {name: values[rows] for name, values in columns.items()}
        return Recording(columns)
    from tqdm.auto import tqdm

    recorder = _Recorder(model, outputs, n_steps)
    if not recorder.observe():
        for _ in tqdm(range(n_steps), disable=not progress, unit="step", desc="bondsim", mininterval=0.5):
            model.step()
            if recorder.observe():
                break
    return recorder.result()


__all__ = ["Recording", "record"]
