"""One classroom run: the model, a comparison run if the lesson has one, their history and snapshots."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..model import BondingModel
from ..params import load
from .config import LESSON_START, base_params
from .layout import spring_layout
from .lessons import DEFAULTS, PRESETS
from .views import PANELS, Frame, NetworkPainter

SEEKING_WINDOW_HOURS = 6.0  # the seeking curve is a trailing mean over this many hours
TRACKED = tuple(PANELS)  # felt_connection, tone_ratio, distress, seeking, occupancy, strong_bonds
_run_ids = itertools.count(1)


def _quantities(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The tracked per-person quantities from a model state."""
    return {
        "felt_connection": state["felt_connection"],
        "tone_ratio": state["tone"] / state["tone_set_point"],
        "distress": state["distress"],
        "seeking": state["seeking_rate"],
        "occupancy": state["occupancy"],
        "strong_bonds": state["strong_bonds"],
    }


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) == 0:
        return values
    cs = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (cs[idx] - cs[lo]) / (idx - lo)


class Run:
    """One classroom run: the model, a comparison run if the lesson has one, and their history.

    Only the model's public interface is used. All methods are called under the owning
    session's lock; :meth:`frame` returns an immutable snapshot for the page.

    Args:
        settings: a value for each control (missing ones take the defaults).
        extras: other parameters (a separation, an isolation).
        baseline: parameters changed in the comparison run (empty: none).
        baseline_label: its name on the plots.
        days: length of the lesson's time axis (days).
        engine: ``array`` or ``agents``.
    """

    def __init__(
        self,
        settings: dict[str, Any],
        extras: dict[str, Any] | None = None,
        *,
        baseline: dict[str, Any] | None = None,
        baseline_label: str = "",
        days: float = 4.0,
        engine: str = "array",
    ) -> None:
        self.id = next(_run_ids)
        self.settings = {**DEFAULTS, **settings}
        self.extras = dict(extras or {})
        self.engine = engine
        self.days = days
        self.model = self._build(self.settings, self.extras)
        self.baseline_label = baseline_label
        self.baseline_model = (
            self._build({**self.settings, **baseline}, {**self.extras, **baseline}) if baseline else None
        )
        net = self.model.network
        self.forward = np.flatnonzero(net.row < net.indices)
        self.pairs = np.stack([net.row[self.forward], net.indices[self.forward]], axis=1)
        self.layout = spring_layout(net, seed=int(self.settings["seed"]))
        self.painter = NetworkPainter(self.layout, self.pairs)
        self.degree = np.diff(net.indptr)
        self.treated = np.zeros(net.n, dtype=bool)
        self.treated[np.asarray(self.model.treated_index, dtype=np.int64)] = True
        self.bereaved = np.zeros(net.n, dtype=bool)
        self._history = {k: np.empty((64, net.n), dtype=np.float32) for k in TRACKED}
        self._t = 0
        self._means: dict[str, dict[str, list[float]]] = {}
        self._groups_key: tuple = ()
        self._baseline: dict[str, list[float]] = {k: [] for k in TRACKED}
        self._record()

    def _build(self, settings: dict[str, Any], extras: dict[str, Any]) -> BondingModel:
        values = {k: v for k, v in settings.items() if k != "seed"}
        values["dose_mg"] = float(values["dose_mg"])
        values["treated_fraction"] = float(values["treated_fraction"])
        values["rejection_rate"] = float(values["rejection_rate"])
        values["n_agents"] = int(values["n_agents"])
        params = load(overrides={**values, **extras, "engine": self.engine}, base=base_params() or LESSON_START)
        kwargs = {"create_agents": False} if self.engine == "array" else {}
        return BondingModel(params, seed=int(settings["seed"]), **kwargs)

    # -------------------------------------------------------------- stepping
    def step(self, steps: int = 1) -> None:
        """Advance the run (and its comparison run) and record the new state."""
        for _ in range(steps):
            self.model.step()
            if self.baseline_model is not None:
                self.baseline_model.step()
            self._record()

    @property
    def steps(self) -> int:
        """Steps done."""
        return self.model.steps_done

    def _record(self) -> None:
        model = self.model
        values = _quantities(model.state())
        if self._t == len(self._history["tone_ratio"]):
            self._history = {k: np.concatenate([v, np.empty_like(v)]) for k, v in self._history.items()}
        for key in TRACKED:
            self._history[key][self._t] = values[key]
        self._t += 1
        self._open = model.open_edges()
        closed = np.bincount(model.network.row[~self._open], minlength=model.n)
        self.isolated = (closed == self.degree) & (self.degree > 0)
        if model.params.separation == "loss":
            self.bereaved |= (closed > 0) & ~self.isolated
        groups = self.groups()
        key = tuple((label, int(mask.sum()), int(np.flatnonzero(mask)[:1].sum())) for label, mask in groups.items())
        if key != self._groups_key:  # new groups (a separation happened): the means from the start
            self._groups_key = key
            self._means = {
                k: {label: self._history[k][: self._t][:, mask].mean(axis=1).tolist() for label, mask in groups.items()}
                for k in TRACKED
            }
        else:
            for k in TRACKED:
                for label, mask in groups.items():
                    self._means[k][label].append(float(values[k][mask].mean()))
        if self.baseline_model is not None:
            base = _quantities(self.baseline_model.state())
            for k in TRACKED:
                self._baseline[k].append(float(np.mean(base[k])))

    def groups(self) -> dict[str, np.ndarray]:
        """The groups to compare, label -> boolean mask over people.

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
        return self._history[key][: self._t].copy()

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
        if self.baseline_model is not None:
            baseline = {k: np.asarray(v) for k, v in self._baseline.items()}
            baseline["seeking"] = _trailing_mean(baseline["seeking"], window)
        day = model.hours / 24.0
        x_max = self.days
        while day > x_max:
            x_max *= 2
        return Frame(
            run_id=self.id,
            steps=model.steps_done,
            hours=float(model.hours),
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
            days=np.arange(self._t) * model.params.step_hours / 24.0,
            series=series,
            baseline=baseline,
            baseline_label=self.baseline_label,
            groups={label: int(mask.sum()) for label, mask in self.groups().items()},
            x_max=x_max,
            drug=model.params.drug,
            drug_active=bool(model.drug.active),
        )


def preset_run(name: str, settings: dict[str, Any] | None = None, engine: str = "array") -> Run:
    """A run of a preset, with the controls' settings (default: the preset's own)."""
    preset = PRESETS[name]
    return Run(
        {**preset.settings, **(settings or {})},
        preset.extras,
        baseline=preset.baseline,
        baseline_label=preset.baseline_label,
        days=preset.days,
        engine=engine,
    )
