"""One classroom run: a settled community, the lesson's events, a comparison run if any, their history and snapshots."""

from __future__ import annotations

import itertools
import math
import threading
from typing import Any

import numpy as np

from ..model import BondingModel
from ..params import Params, load
from .config import LESSON_START, base_params
from .layout import spring_layout
from .lessons import DEFAULTS, PRESETS, USUAL_REJECTION, Event, Measure, Preset
from .views import QUANTITIES, Frame, LineText, Mark, NetworkPainter

SEEKING_WINDOW_HOURS = 6.0  # the seeking curve is a trailing mean over this many hours
TRACKED = tuple(QUANTITIES)
_run_ids = itertools.count(1)


# One warm-up at a time in the server: pages that open the same community together (a class
# arriving) wait for the first one's warm-up and start from the cache, instead of each warming it up
_SETTLING = threading.Lock()


def settled_model(params: Params, seed: int, create_agents: bool) -> tuple[BondingModel, float]:
    """A model of ``params`` whose community has settled, and the hour of its day 0 (its time zero).

    The one place the app settles a community: the model's own warm-up before time zero
    (``warmup_days``: at least 42 days, then until felt connection and bonds are stationary) on the
    array engine's loops where numba is installed, whatever the lesson's engine, and kept in
    bondsim's cache of settled states (:mod:`bondsim.states`): a community is settled once, and a
    lesson's second arm, a reload or the next student with the same community start at once with
    the very same bits. Nothing is scheduled before day 0 (the lesson's events are scheduled after
    this returns). A config with ``warmup_days = 0`` starts from the initial bonds.
    """
    with _SETTLING:
        model = BondingModel(params, seed=seed, create_agents=create_agents, cache=True)
    return model, model.hours


def set_rejection(model: BondingModel, rate: float) -> None:
    """From now on, approaches are turned down with probability ``rate`` (both engines alike).

    :meth:`bondsim.model.BondingModel.set_parameters`: the constants are derived again and given to
    the engine. ``tests/test_app.py`` checks that both engines still give the same run.
    """
    model.set_parameters(rejection_rate=float(rate))


def _quantities(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The tracked per-person quantities from a model state."""
    return {
        "felt_connection": state["felt_connection"],
        "tone_ratio": state["tone"] / state["tone_set_point"],
        "distress": state["distress"],
        "seeking": state["seeking_rate"],
        "occupancy": state["occupancy"],
        "strong_bonds": state["strong_bonds"],
        "receptors": state["receptors"],
    }


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) == 0:
        return values
    cs = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (cs[idx] - cs[lo]) / (idx - lo)


class _History:
    """Per-person values of the tracked quantities at each recorded step (grown by doubling)."""

    def __init__(self, n: int) -> None:
        self.values = {k: np.empty((32, n), dtype=np.float32) for k in TRACKED}
        self.t = 0

    def add(self, values: dict[str, np.ndarray]) -> None:
        if self.t == len(self.values["distress"]):
            self.values = {k: np.concatenate([v, np.empty_like(v)]) for k, v in self.values.items()}
        for key in TRACKED:
            self.values[key][self.t] = values[key]
        self.t += 1

    def means(self, key: str, mask: np.ndarray) -> list[float]:
        return self.values[key][: self.t][:, mask].mean(axis=1).tolist()


class Run:
    """One classroom run: a settled community, the lesson's events, a comparison run if any, and their history.

    Only the model's public interface is used (and :func:`set_rejection` for the rejection lesson).
    All methods are called under the owning session's lock; :meth:`frame` returns an immutable
    snapshot for the page. Time is counted from the lesson's day 0, the end of the warm-up.

    Args:
        settings: a value for each control (missing ones take the defaults).
        extras: other parameters (how many lose a partner, how long an isolation lasts).
        events: what happens in the lesson, and when.
        baseline_without: event kinds the comparison run leaves out (empty: no comparison run).
        baseline_label: its name on the plots.
        days: the lesson's length (days): the run stops there.
        engine: ``array`` or ``agents``.
        lesson: the lesson's name (for the snapshot and the downloads).
        panels, ranges: what the plots show (see :class:`bondsim.app.lessons.Preset`).
    """

    def __init__(
        self,
        settings: dict[str, Any],
        extras: dict[str, Any] | None = None,
        *,
        events: tuple[Event, ...] = (),
        baseline_without: tuple[str, ...] = (),
        baseline_label: str = "",
        days: float = 4.0,
        engine: str = "array",
        lesson: str = "",
        panels: tuple[str, ...] | None = None,
        ranges: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        self.id = next(_run_ids)
        self.settings = {**DEFAULTS, **settings}
        self.extras = dict(extras or {})
        self.events = tuple(events)
        self.engine = engine
        self.days = float(days)
        self.lesson = lesson
        self.panels = tuple(panels or PRESETS["free play"].panels)
        self.ranges = dict(ranges or {})
        params = self._params()
        self.model, self.start_hours = settled_model(params, int(self.settings["seed"]), engine == "agents")
        self.settled_days = self.model.warmed_up_days
        self.steps0 = self.model.steps_done
        self._schedule(self.model, self.events)
        self.baseline_label = baseline_label
        self.baseline_model = None
        if baseline_without:
            self.baseline_model, _ = settled_model(params, int(self.settings["seed"]), engine == "agents")
            self._schedule(self.baseline_model, tuple(e for e in self.events if e.kind not in baseline_without))
        net = self.model.network
        self.forward = np.flatnonzero(net.row < net.indices)
        self.pairs = np.stack([net.row[self.forward], net.indices[self.forward]], axis=1)
        self.layout = spring_layout(net, seed=int(self.settings["seed"]))
        self.painter = NetworkPainter(self.layout, self.pairs)
        self.line_text = LineText()  # the plots' lines formatted so far
        self.degree = np.diff(net.indptr)
        self.treated = np.zeros(net.n, dtype=bool)
        self.treated[np.asarray(self.model.treated_index, dtype=np.int64)] = True
        self.bereaved = np.zeros(net.n, dtype=bool)
        self.has_loss = any(e.kind == "loss" for e in self.events)
        self._history = _History(net.n)
        self._base_history = _History(net.n) if self.baseline_model is not None else None
        self._means: dict[str, dict[str, list[float]]] = {}
        self._base_means: dict[str, list[float]] = {}
        self._groups_key: tuple = ()
        self.marks = self._marks()
        self._record()

    # -------------------------------------------------------------- the community and the lesson's events
    def _params(self) -> Params:
        """The community's parameters: the controls, with nothing scheduled by the model itself."""
        values = {k: v for k, v in self.settings.items() if k != "seed"}
        values["dose_mg"] = 0.0  # the doses are the lesson's events, scheduled after the warm-up
        values["treated_fraction"] = float(values["treated_fraction"])
        values["rejection_rate"] = float(values["rejection_rate"])
        values["n_agents"] = int(values["n_agents"])
        if any(e.kind == "rejection" for e in self.events):
            values["rejection_rate"] = USUAL_REJECTION  # the community settles with the usual rate
        overrides = {**values, **self.extras, "separation": "none", "engine": self.engine}
        return load(overrides=overrides, base=base_params() or LESSON_START)

    def _dose_days(self, event: Event) -> list[float]:
        count = event.count or max(0, math.ceil(self.days - event.day - 1e-9))
        return [event.day + k for k in range(count) if event.day + k < self.days - 1e-9]

    def _schedule(self, model: BondingModel, events: tuple[Event, ...]) -> None:
        """The lesson's events, in the model's clock (day 0 is the end of the warm-up)."""
        t0 = self.start_hours
        for event in events:
            hour = t0 + 24.0 * event.day
            if event.kind == "doses":
                mg = float(self.settings["dose_mg"])
                if model.drug.active and mg > 0 and len(model.treated_index):
                    model.schedule_doses([(t0 + 24.0 * d, mg) for d in self._dose_days(event)])
            elif event.kind in ("loss", "isolation"):
                model.schedule(hour, event.kind, None)
            elif event.kind == "rejection":
                rate = float(self.settings["rejection_rate"])
                model.schedule(hour, "rejection", lambda m, rate=rate: set_rejection(m, rate))
            else:
                raise ValueError(f"unknown lesson event {event.kind!r}")

    def _marks(self) -> tuple[Mark, ...]:
        """What the plots mark on their time axis: doses, a loss, an isolation and its end, a change of rejection."""
        marks: list[Mark] = []
        pill = self.treated.any()
        for event in self.events:
            if event.kind == "doses" and pill:
                label = "pill" if not self.model.drug.active else f"{self.settings['dose_mg']:g} mg"
                marks += [Mark(d, "dose", label) for d in self._dose_days(event)]
            elif event.kind == "loss":
                marks.append(Mark(event.day, "loss", "loss"))
            elif event.kind == "isolation":
                marks.append(Mark(event.day, "alone", "alone"))
                end = event.day + float(self.model.params.isolation_days)
                if end < self.days:
                    marks.append(Mark(end, "together", "together again"))
            elif event.kind == "rejection":
                marks.append(Mark(event.day, "rejection", f"{float(self.settings['rejection_rate']):.0%} turned down"))
        return tuple(marks)

    # -------------------------------------------------------------- stepping
    @property
    def hours(self) -> float:
        """Hours since the lesson's day 0."""
        return self.model.hours - self.start_hours

    @property
    def steps(self) -> int:
        """Steps since the lesson's day 0."""
        return self.model.steps_done - self.steps0

    @property
    def end_steps(self) -> int:
        """Steps in the whole lesson."""
        return round(24.0 * self.days / self.model.params.step_hours)

    @property
    def ended(self) -> bool:
        """Whether the lesson has reached its end."""
        return self.steps >= self.end_steps

    def step(self, steps: int = 1) -> None:
        """Advance the run (and its comparison run) and record the new state; never past the lesson's end."""
        for _ in range(min(steps, self.end_steps - self.steps)):
            self.model.step()
            if self.baseline_model is not None:
                self.baseline_model.step()
            self._record()

    def _record(self) -> None:
        model = self.model
        values = _quantities(model.state())
        self._history.add(values)
        base_values = None
        if self.baseline_model is not None:
            base_values = _quantities(self.baseline_model.state())
            self._base_history.add(base_values)
        self._open = model.open_edges()
        closed = np.bincount(model.network.row[~self._open], minlength=model.n)
        self.isolated = (closed == self.degree) & (self.degree > 0)
        if self.has_loss:
            self.bereaved |= (closed > 0) & ~self.isolated
        groups = self.groups()
        key = tuple((label, int(mask.sum()), int(np.flatnonzero(mask)[:1].sum())) for label, mask in groups.items())
        focal = next(iter(groups.values()))
        if key != self._groups_key:  # new groups (a loss happened): the means from the start
            self._groups_key = key
            self._means = {k: {label: self._history.means(k, mask) for label, mask in groups.items()} for k in TRACKED}
            if self._base_history is not None:
                self._base_means = {k: self._base_history.means(k, focal) for k in TRACKED}
        else:
            for k in TRACKED:
                for label, mask in groups.items():
                    self._means[k][label].append(float(values[k][mask].mean()))
                if base_values is not None:
                    self._base_means[k].append(float(base_values[k][focal].mean()))

    def groups(self) -> dict[str, np.ndarray]:
        """The groups to compare, label -> boolean mask over people (the first is the lesson's focus).

        Those who lost a partner against the others once a loss has happened; otherwise those who
        take the pill against those who do not, when some but not all do; otherwise everyone.
        """
        n = self.model.n
        if 0 < self.bereaved.sum() < n:
            return {"lost a partner": self.bereaved.copy(), "others": ~self.bereaved}
        if 0 < self.treated.sum() < n:
            drug = self.model.drug
            if drug.active:
                return {f"{drug.name} arm": self.treated.copy(), "placebo arm": ~self.treated}
            return {"placebo pill": self.treated.copy(), "no pill": ~self.treated}
        return {"everyone": np.ones(n, dtype=bool)}

    def history(self, key: str) -> np.ndarray:
        """Per-person history of a tracked quantity, (steps + 1, n) (a copy)."""
        return self._history.values[key][: self._history.t].copy()

    # -------------------------------------------------------------- the class's measure
    def measure(self, measure: Measure) -> float | None:
        """The lesson's result: ``measure.first`` minus ``measure.second`` at ``measure.day`` (None if not reached)."""
        t = round(24.0 * measure.day / self.model.params.step_hours)
        if t >= self._history.t:
            return None
        drug = self.model.drug.name
        first, second = measure.first.format(drug=drug), measure.second.format(drug=drug)
        means = self._means.get(measure.key, {})
        if first not in means:
            return None
        if second == "comparison":
            if not self._base_means:
                return None
            other = self._base_means[measure.key][t]
        elif second in means:
            other = means[second][t]
        else:
            return None
        return float(means[first][t] - other)

    # -------------------------------------------------------------- snapshot
    def frame(self) -> Frame:
        """An immutable snapshot of the run now, for the page."""
        model = self.model
        state = model.state()
        bonds = model.edge_bonds()
        net = model.network
        fwd = self.forward
        open_fwd = self._open[fwd]
        strength = (0.5 * (bonds[fwd] + bonds[net.reverse[fwd]]))[open_fwd]
        window = max(1, round(SEEKING_WINDOW_HOURS / model.params.step_hours))
        series = {k: {label: np.asarray(v) for label, v in by.items()} for k, by in self._means.items()}
        series["seeking"] = {label: _trailing_mean(v, window) for label, v in series["seeking"].items()}
        baseline = {}
        if self._base_means:
            baseline = {k: np.asarray(v) for k, v in self._base_means.items()}
            baseline["seeking"] = _trailing_mean(baseline["seeking"], window)
        return Frame(
            run_id=self.id,
            steps=self.steps,
            hours=float(self.hours),
            step_hours=float(model.params.step_hours),
            people={
                "tone_ratio": np.asarray(state["tone"] / state["tone_set_point"], dtype=np.float64),
                "distress": np.array(state["distress"], dtype=np.float64),
                "treated": self.treated.copy(),
                "bereaved": self.bereaved.copy(),
                "isolated": self.isolated.copy(),
            },
            edges=self.pairs[open_fwd],
            edge_ids=np.flatnonzero(open_fwd),
            strength=strength,
            layout=self.layout,
            days=np.arange(self._history.t) * model.params.step_hours / 24.0,
            series=series,
            baseline=baseline,
            baseline_label=self.baseline_label,
            groups={label: int(mask.sum()) for label, mask in self.groups().items()},
            x_max=self.days,
            drug=model.params.drug,
            drug_active=bool(model.drug.active),
            panels=self.panels,
            ranges=self.ranges,
            marks=self.marks,
            lesson=self.lesson,
            ended=self.ended,
        )


def preset_run(name: str, settings: dict[str, Any] | None = None, engine: str = "array") -> Run:
    """A run of a preset, with the controls' settings (default: the preset's own)."""
    preset: Preset = PRESETS[name]
    return Run(
        {**preset.settings, **(settings or {})},
        preset.extras,
        events=preset.events,
        baseline_without=preset.baseline_without,
        baseline_label=preset.baseline_label,
        days=preset.days,
        engine=engine,
        lesson=name,
        panels=preset.panels,
        ranges=preset.ranges,
    )
