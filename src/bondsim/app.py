"""The classroom app: a Solara page for teaching the brain opioid theory of attachment.

Serve it with ``bondsim app`` (a browser page on localhost) or show it in Jupyter with
``from bondsim.app import Page; Page()``. Every browser session has its own run, so one
student's clicks never reach another's page.

How it stays live, consistent and light (docs/classroom.md):

- the live views are SVG drawn by the browser from a few paths per frame
  (:mod:`bondsim.app_views`), not PNG images drawn by matplotlib on the server;
- the model steps, and a frozen snapshot of it (:class:`bondsim.app_views.Frame`) is taken,
  under one lock per session; the page only ever reads snapshots, so a figure can never mix
  two steps;
- each session's play loop is a thread that stops when the tab closes or disconnects;
- the page uses only the model's public interface (``state``, ``edge_bonds``, ``open_edges``,
  ``network``, ``params``, ``hours``, ``steps_done``, ``treated_index``, ``drug``, ``step``), so it
  runs with either engine.

Everything is served from this machine: Solara's scripts come from ``solara-assets``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import logging
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import drugs
from .app_views import COLOUR_MODES, PANELS, Frame, NetworkPainter, csv_text, day_text, monitors_html, plots_svg
from .errors import UserError
from .model import BondingModel
from .params import Params, load

log = logging.getLogger(__name__)

CONFIG_ENV = "BONDSIM_APP_CONFIG"  # a config file whose mechanisms, drugs and parameters every lesson starts from


@functools.cache
def base_params() -> Params | None:
    """The parameters of ``bondsim app --config FILE`` (None without a config)."""
    path = os.environ.get(CONFIG_ENV)
    return load(path) if path else None


def app_drugs() -> tuple[str, ...]:
    """The drugs a class can choose: the registry's, and the config's own, placebo first."""
    custom = base_params().drugs if base_params() is not None else ()
    return tuple(name for name in drugs.names(custom) if name != "none")


APP_DRUGS = app_drugs()
NETWORKS = {"small world": "small_world", "random": "random", "a few hubs": "scale_free"}
SPEEDS = (1, 2, 5, 10, 20)  # simulated hours per second while playing
DEFAULT_SPEED = 5
SEEKING_WINDOW_HOURS = 6.0  # the seeking curve is a trailing mean over this many hours
ENGINE_ENV = "BONDSIM_APP_ENGINE"

# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Preset:
    """A teaching moment: the controls' settings, fixed extras, what to look for, what to compare with.

    Attributes:
        name: the button's label.
        settings: a value for every control.
        extras: other parameters the lesson fixes (a separation, an isolation).
        text: what to look for (each sentence's direction is checked by a test).
        baseline: parameters changed in a comparison run of the same community, drawn dashed
            (empty: no comparison run).
        baseline_label: the comparison run's name on the plots.
        days: length of the lesson's time axis (days).
    """

    name: str
    settings: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    baseline: dict[str, Any] = field(default_factory=dict)
    baseline_label: str = ""
    days: float = 4.0


DEFAULTS: dict[str, Any] = {
    "drug": "placebo",
    "dose_mg": 50.0,
    "treated_fraction": 0.5,
    "rejection_rate": 0.2,
    "n_agents": 200,
    "network": "small_world",
    "seed": 1,
}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "free play",
            dict(DEFAULTS),
            text=(
                "Half the group takes a placebo pill (black rings), which does nothing pharmacologically. Links "
                "thicken where people meet often, and close bonds grow. The pill and no-pill lines stay together: "
                "nothing differs between pill and no pill."
            ),
        ),
        Preset(
            "placebo vs naltrexone",
            {**DEFAULTS, "drug": "naltrexone", "dose_mg": 50.0},
            text=(
                "Half take 50 mg naltrexone a day, the others are the placebo arm. Within hours naltrexone holds "
                "nearly all mu-opioid receptors, so each contact rewards less. Distress jumps at first, then fades "
                "over about three days as people get used to the lower opioid signal. Seeking company first rises "
                "(relief from distress), then falls below the placebo arm's once people have learned that contact "
                "rewards less. The naltrexone arm feels less connected (Inagaki et al. 2016)."
            ),
        ),
        Preset(
            "separation",
            {**DEFAULTS, "treated_fraction": 0.0},
            extras={"separation": "loss", "separation_day": 2.0, "separation_fraction": 0.3},
            text=(
                "On day 2, three people in ten lose their closest partner for good, and so those partners lose someone "
                "too (purple rings). Their tone falls and stays low. Their distress jumps above the others' and "
                "they seek company more (protest); then the distress fades over the next two days as they get used "
                "to the loss, and they seek company less than the others (despair) (Panksepp 1978; Bowlby 1969). "
                "Dashed: the same community with no loss."
            ),
            baseline={"separation": "none"},
            baseline_label="no one leaves",
        ),
        Preset(
            "morphine and distress",
            {**DEFAULTS, "drug": "morphine", "dose_mg": 10.0},
            extras={
                "separation": "isolation",
                "separation_day": 1.0,
                "separation_fraction": 1.0,
                "isolation_days": 2.0,
            },
            text=(
                "From day 1 to day 3 everyone is alone. Half get 10 mg morphine a day. Alone, the placebo arm's "
                "distress jumps, then slowly fades as they get used to being alone. For hours after each dose the "
                "morphine arm feels almost no distress (Panksepp et al. 1980); as the dose wears off its distress "
                "comes back, higher than the placebo arm's: morphine kept them from getting used to being alone."
            ),
        ),
        Preset(
            "morphine withdrawal",
            {**DEFAULTS, "drug": "morphine", "dose_mg": 10.0},
            extras={"dosing_days": 4},
            text=(
                "Half take 10 mg morphine a day for four days (the last dose on day 3), then stop. Each dose lifts "
                "the opioid signal, and the brain gets used to more: as each dose wears off the morphine arm feels "
                "distress the placebo arm does not, and the next dose takes it away. After the last dose the "
                "withdrawal distress has no next dose to end it: it lasts about two days, fading as people get "
                "used to less, and drives them to seek company more."
            ),
            days=6.0,
        ),
        Preset(
            "rejection",
            {**DEFAULTS, "rejection_rate": 0.7, "treated_fraction": 0.0},
            text=(
                "Seven approaches in ten are turned down. Each rejection lowers tone: tone sits lower, people feel "
                "less connected and fewer close bonds grow than in the same community with the usual 20% rejection "
                "(dashed) (Eisenberger et al. 2003; Hsu et al. 2013). Distress is higher only in the first hours: "
                "people get used to the lower tone."
            ),
            baseline={"rejection_rate": 0.2},
            baseline_label="usual rejection (20%)",
        ),
    )
}


@dataclass(frozen=True)
class Control:
    """A control in the sidebar: its label shows its value, with units."""

    key: str
    kind: str  # "select", "float" or "int"
    label: Callable[[Any], str]
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    values: tuple[str, ...] = ()


CONTROLS: dict[str, Control] = {
    c.key: c
    for c in (
        Control("drug", "select", lambda v: "Pill taken once a day", values=APP_DRUGS),
        Control("dose_mg", "float", lambda v: f"Dose: {v:g} mg a day", 0.0, 100.0, 5.0),
        Control("treated_fraction", "float", lambda v: f"People taking the pill: {v:.0%}", 0.0, 1.0, 0.05),
        Control("rejection_rate", "float", lambda v: f"Approaches turned down: {v:.0%}", 0.0, 0.9, 0.05),
        Control("n_agents", "int", lambda v: f"Group size: {v} people", 20, 1000, 10),
        Control("network", "select", lambda v: "Who knows whom", values=tuple(NETWORKS)),
        Control("seed", "int", lambda v: f"Community number: {v}", 0, 99, 1),
    )
}


def describe(key: str, value: Any) -> str:
    """A setting in plain words (for the 'press Reset' notice)."""
    control = CONTROLS[key]
    if key == "network":
        return {v: k for k, v in NETWORKS.items()}.get(value, str(value))
    if control.kind == "select":
        return str(value)
    return control.label(value).split(": ", 1)[1]


def preset_kwargs(name: str) -> dict[str, Any]:
    """Settings and extras of a preset, as one dictionary."""
    preset = PRESETS[name]
    return {**preset.settings, **preset.extras}


def app_engine() -> str:
    """The engine the app runs (``BONDSIM_APP_ENGINE``, default array)."""
    engine = os.environ.get(ENGINE_ENV, "array") or "array"
    if engine not in ("array", "agents"):
        raise UserError(f"{ENGINE_ENV} = {engine!r}: use array or agents")
    return engine


# -------------------------------------------------------------------- layout

_LAYOUTS: dict[tuple, np.ndarray] = {}


def spring_layout(network, seed: int, iterations: int = 60) -> np.ndarray:
    """Positions in [0, 1]^2 by Fruchterman-Reingold force-directed placement (cached per network and seed).

    A dense NumPy version (float32): about a tenth of a second for 200 people, under a second for 1,000.
    """
    key = (network.n, hash(network.indptr.tobytes()), hash(network.indices.tobytes()), seed, iterations)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    n = network.n
    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2)).astype(np.float32)
    k2 = np.float32(1.0 / n)
    k = np.float32(math.sqrt(1.0 / n))
    temperature = 0.1
    cooling = temperature / (iterations + 1)
    src, dst = network.row, network.indices
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        dist2 = np.einsum("ijk,ijk->ij", delta, delta)
        np.maximum(dist2, np.float32(1e-6), out=dist2)
        disp = np.einsum("ijk,ij->ik", delta, k2 / dist2)
        pull = pos[src] - pos[dst]
        length = np.sqrt((pull * pull).sum(axis=1))[:, None]
        np.add.at(disp, src, -pull * length / k)
        size = np.sqrt((disp * disp).sum(axis=1))[:, None]
        np.maximum(size, np.float32(1e-9), out=size)
        pos += disp / size * np.minimum(size, np.float32(temperature))
        temperature -= cooling
    pos -= pos.min(axis=0)
    pos /= max(float(pos.max()), 1e-9)
    if len(_LAYOUTS) > 32:
        _LAYOUTS.pop(next(iter(_LAYOUTS)))
    _LAYOUTS[key] = pos.astype(np.float64)
    return _LAYOUTS[key]


# -------------------------------------------------------------------- one run

TRACKED = tuple(PANELS)  # felt_connection, tone_ratio, distress, seeking, occupancy, strong_bonds
_run_ids = itertools.count(1)
_thread_ids = itertools.count(1)


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
        params = load(overrides={**values, **extras, "engine": self.engine}, base=base_params())
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


# ------------------------------------------------------------------ one browser session

FRIENDLY_ERROR = (
    "Something went wrong and the simulation was paused. Press “Restart this lesson” to start again; "
    "if it happens again, reload the page."
)


def _connected(context) -> bool:
    """Whether the browser page of a Solara kernel context is still there (True outside a server)."""
    if context is None:
        return True
    if context.closed_event.is_set():
        return False
    status = getattr(context, "page_status", None)
    if not status:  # rendered without a browser (tests, Jupyter)
        return True
    from solara.server.kernel_context import PageStatus

    return PageStatus.CONNECTED in status.values()


class Session:
    """A browser session's state: the preset, the run, its latest snapshot, the play loop.

    Every change of the run (step, reset, preset) and every snapshot happens under ``lock``;
    the page reads only ``frame``, an immutable snapshot swapped in whole (with the ``painter``
    of its run). After each change, ``draw`` (set by the page) puts the latest snapshot into the
    page's view widgets directly, with no re-render of the page, and ``notify`` (set by the page)
    updates the buttons when playing, the lesson or an error changes. Both are called after the
    lock is released.

    Args:
        engine: the model's engine.
        context: the Solara kernel context of the page (None outside a server), to set the
            page's state from the play thread and to see when the tab has gone.
    """

    DISCONNECT_GRACE_S = 2.0

    def __init__(self, engine: str = "array", context: Any = None) -> None:
        self.engine = engine
        self.context = context
        self.lock = threading.RLock()
        self.preset = "free play"
        self.run = preset_run(self.preset, engine=engine)
        self.frame = self.run.frame()
        self.painter = self.run.painter
        self.view = ("tone", False)  # colour mode, projector
        self.draw: Callable[[], None] = lambda: None
        self.playing = False
        self.speed = DEFAULT_SPEED
        self.error: str | None = None
        self.notify: Callable[[], None] = lambda: None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.steps_played = 0

    # ------------------------------------------------------------ actions
    def _guard(self, action: Callable[[], None]) -> None:
        try:
            with self.lock:
                action()
                self.frame = self.run.frame()
                self.painter = self.run.painter
            self.draw()
        except Exception:
            log.exception("bondsim app: an action failed")
            with self.lock:
                self.playing = False
                self.error = FRIENDLY_ERROR
        try:
            self.notify()
        except Exception:
            log.exception("bondsim app: updating the page failed")

    def views(self) -> dict[str, str]:
        """The latest snapshot drawn: HTML of the monitors, SVG of the network and of the plots."""
        with self.lock:
            frame, painter = self.frame, self.painter
            mode, big = self.view
        return {
            "monitors": monitors_html(frame, big),
            "network": painter.svg(frame, mode, big),
            "plots": plots_svg(frame, big),
        }

    def step(self, steps: int = 1) -> None:
        """Advance the run by ``steps`` steps."""
        self._guard(lambda: self.run.step(steps))

    def load(self, preset: str, settings: dict[str, Any] | None = None) -> None:
        """Start ``preset`` again with these control settings (default: the preset's); pauses."""
        if preset not in PRESETS:
            raise ValueError(f"unknown lesson {preset!r}")

        def action() -> None:
            self.playing = False
            self.error = None
            self.preset = preset
            self.run = preset_run(preset, settings, engine=self.engine)

        self._guard(action)

    def set_speed(self, speed: float) -> None:
        """Simulated hours per second while playing."""
        self.speed = max(0.1, float(speed))

    def play(self) -> None:
        """Start the play loop (a thread of this session), unless it is running."""
        with self.lock:
            if self.error is not None:
                return
            self.playing = True
            if self._thread is None:  # set to None by the loop itself, under the lock, as it ends
                self._stop.clear()
                name = f"bondsim-play-{next(_thread_ids)}"  # unique: Solara keys its contexts by thread name
                self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
                self._thread.start()
        self.notify()

    def pause(self) -> None:
        """Stop playing (the loop ends after its current step)."""
        with self.lock:
            self.playing = False
        self.notify()

    def close(self) -> None:
        """Stop the play loop for good (the page is gone)."""
        with self.lock:
            self.playing = False
        self._stop.set()

    # ------------------------------------------------------------ play loop
    def _loop(self) -> None:
        try:
            self._play()
            self._forget_thread()
        except Exception:  # never leave a dead loop behind a Pause button
            log.exception("bondsim app: the play loop failed")
            with self.lock:
                self.playing = False
                self.error = FRIENDLY_ERROR
                self._thread = None
            try:
                self.notify()
            except Exception:
                log.exception("bondsim app: updating the page failed")

    def _forget_thread(self) -> None:
        """Drop this ended thread's slot in Solara's table of current contexts (it would stay there, empty)."""
        if self.context is None:
            return
        try:
            from solara.server import kernel_context

            with self.context.lock:
                key = kernel_context.get_current_thread_key()
                if kernel_context.current_context.get(key) is None:
                    kernel_context.current_context.pop(key, None)
        except Exception:
            log.debug("bondsim app: could not tidy the play thread's context slot", exc_info=True)

    def _keep_playing(self, page_there: bool = True) -> bool:
        """Whether to go on; if not, the loop is marked as ended (under the lock, so play() can start another)."""
        with self.lock:
            if self.playing and page_there and not self._stop.is_set():
                return True
            if not page_there:
                self.playing = False
            self._thread = None
            return False

    def _play(self) -> None:
        gone_since: float | None = None
        while True:
            started = time.monotonic()
            page_there = True
            if not _connected(self.context):
                gone_since = gone_since or started
                closed = self.context is not None and self.context.closed_event.is_set()
                page_there = not closed and started - gone_since <= self.DISCONNECT_GRACE_S
            else:
                gone_since = None
            if not self._keep_playing(page_there):
                return
            self._guard(lambda: self.run.step(1))
            self.steps_played += 1
            with self.lock:
                interval = 1.0 / self.speed
            self._stop.wait(max(0.005, interval - (time.monotonic() - started)))

    # ------------------------------------------------------------ downloads
    def csv(self) -> str:
        """The run's data as CSV."""
        with self.lock:
            frame = self.frame
        return csv_text(frame)

    def png(self, mode: str = "tone") -> bytes:
        """The current figures as one PNG."""
        from .app_views import report_png

        with self.lock:
            frame, preset = self.frame, self.preset
        return report_png(frame, mode, title=f"bondsim classroom: {preset}, {day_text(frame.hours)}")

    def pending(self, controls: dict[str, Any]) -> list[str]:
        """Controls whose value differs from the run's, in plain words."""
        with self.lock:
            current = dict(self.run.settings)
        return [
            f"{CONTROLS[k].label(current[k]).split(':')[0]}: {describe(k, controls[k])} "
            f"(the run uses {describe(k, current[k])})"
            for k in CONTROLS
            if k in controls and controls[k] != current.get(k)
        ]


# ------------------------------------------------------------------ the Info view

INFO = """
<h2>What is it?</h2>
<p>A community of people on a social network whose brain opioids drive, and are driven by, social
contact: the <b>brain opioid theory of social attachment</b> (Panksepp 1978; Løseth, Ellingsen and Leknes
2014). Each dot is a person, each link a tie between two people who know each other. You can give some
people a pill (a placebo, naltrexone or morphine) and watch what happens to their bonds and feelings.</p>

<h2>How it works</h2>
<p>One step is one hour. Every hour:</p>
<ol>
<li><b>Two reasons to seek company.</b> People look for company at a rate that has two parts: the reward
they have learned to expect of contact (<i>wanting</i>), and their distress (<i>relief</i>). The "seeking
company" plot counts their attempts per day.</li>
<li><b>They turn to those they are close to.</b> A seeker picks a neighbour, preferring stronger bonds.</li>
<li><b>Yes or no.</b> The neighbour accepts or turns them down (the rejection rate). Accepted contact releases
opioids in both, more with a close partner than with a near-stranger; the <i>reward</i> is that release
acting through the receptors a drug leaves free. Bonds grow with the reward, but each person's bonds share
a limited capacity. A rejection lowers tone.</li>
<li><b>Distress is a shortfall from what you are used to.</b> The opioid signal is compared with the level
the person has got used to, and that level slowly follows the signal (about a day). So a lasting change is
felt at first and then fades, and a level the brain got used to under a drug is missed when the drug is
gone (withdrawal).</li>
<li><b>Receptors adapt too.</b> Over days, blocked receptors become more numerous and receptors kept busy
by an opioid drug become fewer (tolerance).</li>
<li><b>Everything fades.</b> Tone relaxes to its set point, bonds fade slowly, the pill's drug is absorbed
and cleared, and it holds a share of the mu-opioid receptors (occupancy).</li>
<li><b>Loss hurts.</b> Losing a partner, or being alone, lowers tone (grief, which fades over weeks):
separation distress. As the distress fades, the grief left behind damps the wish for company (despair).</li>
</ol>
<p><b>Naltrexone</b> blocks mu-opioid receptors, so contact rewards less. <b>Morphine</b> activates them, so
the opioid signal stays up even alone, for as long as a dose lasts. The <b>placebo</b> does nothing
pharmacologically.</p>
<details><summary><b>The equations</b> (click to open)</summary>
<pre style="white-space:pre-wrap">
signal        s = N A(T, O) / A0(S)           T tone, S set point, O drug occupancy, N receptor number
distress      D = min(max(r - s, 0), 1)        r = the signal the person is used to
used to       r moves toward s, time constant 1 day (an opponent process)
receptors     N moves toward 1 / (activation per receptor), within [1/(1+k), 1+k], time constant 3 days
seeking       attempts in an hour ~ Poisson(a M / (1 + E) + g D)   M expected reward, D distress, E despair
despair       E moves toward grief G, time constant 1 day
partner       chosen with weight f + b^gamma       b = bond to that neighbour
release       a contact closes c (w + (1 - w) b) of the gap between tone and its ceiling
reward        R = N (1 - O) [A(T after release) - A(T)] / R0      (1 = a closest partner, undrugged)
value         V = 1 - s_o + s_o R;   expected reward M moves a share mu of the way to V per contact
bond growth   b <- 1 - (1 - b)(1 - eta V (1 - B/K))^k     B = sum of bonds, K = capacity, k contacts
tone          rejection: T <- T (1 - delta);   dT/dt = (S - T) / tau - lambda G T     G = grief
grief         starts at the bond to the partner lost, halves every 14 days
bond decay    a bond halves in 60 days without contact
felt connection  F = (1 - w) sum(b^2)/K + w min(M, 1)
</pre>
<p>Every rule, parameter and source is in the project's <code>docs/model.md</code>; the drugs' kinetics in
<code>docs/pharmacology.md</code>.</p></details>

<h2>How to use it</h2>
<p>Pick a <b>lesson</b> in the sidebar, read what to look for, then press <b>Play</b> (or <b>Step</b> for one
hour). The numbers above the plots are the group means now. Change a setting, then press <b>Reset</b>: the
same lesson starts again with your settings. <b>Restart this lesson</b> brings back the lesson's own
settings. Colour the people by tone or distress; <b>Projector</b> makes the text large.</p>

<h2>Things to notice</h2>
<ul>
<li>Links thicken between people who meet often: bonds follow reward.</li>
<li>On naltrexone, distress jumps at first and then fades as people get used to it; seeking company first
rises (relief), then falls below the placebo arm's once people learn that contact rewards less. They feel
<i>less</i> connected.</li>
<li>After a loss, tone falls and stays low in those who lost someone; their distress jumps and they seek
company more (protest), then their distress fades and they seek company less (despair).</li>
<li>Alone, the morphine arm is calm for hours after each dose; as the dose wears off, its distress comes back
higher than the placebo arm's.</li>
<li>Stopping morphine after a few days brings withdrawal distress, which fades over about two days.</li>
</ul>

<h2>Things to try</h2>
<ul>
<li>Give naltrexone to everyone (100%): which line disappears, and why?</li>
<li>Set the dose to 0 mg: does the naltrexone arm still differ?</li>
<li>In <b>placebo vs naltrexone</b>, give a small dose (5 or 10 mg): is the first jump in distress smaller?
Does seeking still fall later?</li>
<li>In <b>morphine withdrawal</b>, raise the dose: is the withdrawal after stopping stronger?</li>
<li>Raise the rejection rate step by step: at what rate do close bonds stop growing?</li>
<li>Try a network with a few hubs: who has the strongest bonds?</li>
</ul>

<h2>Extending the model</h2>
<p>The rules are small Python functions, one module per mechanism (<code>src/bondsim/mechanisms/</code>); a
new drug is a new set of constants (<code>src/bondsim/pharmacology.py</code>, or a <code>[drugs.NAME]</code>
table in a config); a new lesson is a new entry in
<code>PRESETS</code> in <code>src/bondsim/app.py</code>. The same model runs parameter sweeps
(<code>bondsim sweep</code>) and virtual experiments (<code>bondsim experiment</code>).</p>

<h2>Related models</h2>
<p>Mesa's example models (virus on a network, Boltzmann wealth); the NetLogo Models Library's social
and network models; models of attachment and separation in the ethology literature.</p>

<h2>Credits and references</h2>
<p>bondsim developers, MIT licence. Built with Mesa and Solara.</p>
<ul>
<li>Panksepp J (1978) and Panksepp J, Herman B, Conner R, Bishop P, Scott JP (1978). The biology of social
attachments: opiates alleviate separation distress. <i>Biological Psychiatry</i> 13: 607-618.</li>
<li>Panksepp J, Meeker R, Bean NJ (1980). The neurochemical control of crying. <i>Pharmacology Biochemistry
and Behavior</i> 12: 437-443.</li>
<li>Solomon RL, Corbit JD (1974). An opponent-process theory of motivation. <i>Psychological Review</i>
81: 119-145.</li>
<li>Keverne EB, Martensz ND, Tuite B (1989). Beta-endorphin concentrations in cerebrospinal fluid of monkeys
are influenced by grooming relationships. <i>Psychoneuroendocrinology</i> 14: 155-161.</li>
<li>Eisenberger NI, Lieberman MD, Williams KD (2003). Does rejection hurt? <i>Science</i> 302: 290-292.</li>
<li>Hsu DT et al. (2013). Response of the mu-opioid system to social rejection and acceptance.
<i>Molecular Psychiatry</i> 18: 1211-1217.</li>
<li>Bowlby J (1969). <i>Attachment and Loss, Vol. 1: Attachment</i>. London: Hogarth Press.</li>
<li>Løseth GE, Ellingsen D-M, Leknes S (2014). State-dependent mu-opioid modulation of social motivation.
<i>Frontiers in Behavioral Neuroscience</i> 8: 430.</li>
<li>Inagaki TK, Ray LA, Irwin MR, Way BM, Eisenberger NI (2016). Opioids and social bonding: naltrexone
reduces feelings of social connection. <i>Social Cognitive and Affective Neuroscience</i> 11: 728-735.</li>
<li>Løseth GE, Trøstheim M, Leknes S (2024). Meta-analysis of mu-opioid manipulations of social
behaviour and feelings.</li>
</ul>
"""

_PROJECTOR_CSS = """
.bondsim-big, .bondsim-big .v-label, .bondsim-big .v-btn__content, .bondsim-big p,
.bondsim-big .v-select__selection, .bondsim-big .v-tab { font-size: 19px !important; }
.bondsim-big .v-card__title { font-size: 22px !important; }
"""
_CSS = """
.bondsim-pending { color: #b35900; font-weight: bold; }
.bondsim-error { background: #fdecea; color: #611a15; padding: 12px; border-radius: 4px; }
.bondsim-views { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.bondsim-views > div:first-child { flex: 2 1 280px; max-width: 600px; }
.bondsim-views > div:last-child { flex: 3 1 400px; max-width: 900px; }
"""

# ------------------------------------------------------------------ the page
# Solara is imported inside the functions below, so that importing this module (for the
# figures or the command line) stays light.


def _page():
    import solara
    import solara.lab

    @solara.component
    def Views(session: Session, ui: Any, colour_by: Any, big: bool):
        """The monitors, the network and the plots: widgets that the session fills with each snapshot.

        They are created once; each new snapshot replaces their content directly, so a step costs
        three small messages to the browser and no re-render of the page.
        """
        ui.value  # noqa: B018 (redraw the error notice when it changes)
        boxes = solara.use_memo(
            lambda: {
                key: solara.widgets.HTML(tag="div", unsafe_innerHTML="", attributes={"class": f"bondsim-{key}-box"})
                for key in ("monitors", "network", "plots")
            },
            [],
        )
        draw_lock = solara.use_memo(threading.Lock, [])

        def draw() -> None:
            with draw_lock:
                views = session.views()
                for key, html_text in views.items():
                    if boxes[key].unsafe_innerHTML != html_text:
                        boxes[key].unsafe_innerHTML = html_text

        def attach():
            session.view = (colour_by.value, big)
            session.draw = _in_context(session, draw)
            draw()

        solara.use_effect(attach, [colour_by.value, big])
        with solara.Column(gap="6px"):
            if session.error:
                with solara.Div(classes=["bondsim-error"]):
                    solara.Text(session.error)
                    solara.Button(
                        "Restart this lesson",
                        on_click=lambda: session.load(session.preset),
                        color="error",
                        style={"margin-left": "12px"},
                    )
            solara.Div(children=[boxes["monitors"]])
            solara.Div(classes=["bondsim-views"], children=[boxes["network"], boxes["plots"]])

    @solara.component
    def Sidebar(session: Session, ui: Any, controls: Any, colour_by: Any, projector: Any):
        """Lessons, the run's buttons, the settings, display options and downloads."""
        ui.value  # noqa: B018 (redraw when playing, the lesson or the run changes)
        preset = session.preset
        playing = session.playing
        values = controls.value

        def choose(name: str) -> None:
            session.load(name)  # the run first, so the controls never show a lesson the run is not
            controls.set(dict(PRESETS[name].settings))

        def set_control(key: str, value: Any) -> None:
            controls.set({**controls.value, key: value})

        pending = session.pending(values)
        with solara.Card("Lessons"):
            with solara.Row(style={"flex-wrap": "wrap", "gap": "4px"}):
                for name in PRESETS:
                    solara.Button(
                        name,
                        on_click=lambda name=name: choose(name),
                        small=True,
                        outlined=name != preset,
                        color="primary",
                    )
            solara.HTML(
                tag="p",
                unsafe_innerHTML=f"<b>{preset}.</b> What to look for: {PRESETS[preset].text}",
                style="margin-top: 10px",
            )
        with solara.Card("Run"):
            with solara.Row(style={"flex-wrap": "wrap", "gap": "4px"}):
                solara.Button(
                    "❚❚ Pause" if playing else "▶ Play",
                    on_click=session.pause if playing else session.play,
                    color="primary",
                    disabled=session.error is not None,
                )
                solara.Button("Step", on_click=lambda: session.step(1), disabled=playing)
                solara.Button(
                    "Reset",
                    on_click=lambda: session.load(preset, values),
                    color="warning" if pending else None,
                )
                solara.Button("Restart this lesson", on_click=lambda: choose(preset), text=True)
            solara.Text("Step: one hour. Reset: this lesson again, with the settings below.")
            solara.ToggleButtonsSingle(
                value=str(int(session.speed)),
                values=[str(s) for s in SPEEDS],
                on_value=lambda v: session.set_speed(float(v)),
            )
            solara.Text("Play speed: simulated hours per second")
        with solara.Card("Settings"):
            for key, control in CONTROLS.items():
                value = values[key]
                if key == "network":
                    shown = {v: k for k, v in NETWORKS.items()}[value]
                    solara.Select(
                        control.label(value),
                        values=list(NETWORKS),
                        value=shown,
                        on_value=lambda v: set_control("network", NETWORKS[v]),
                    )
                elif control.kind == "select":
                    solara.Select(
                        control.label(value),
                        values=list(control.values),
                        value=value,
                        on_value=lambda v, key=key: set_control(key, v),
                    )
                elif control.kind == "int":
                    solara.SliderInt(
                        control.label(value),
                        value=int(value),
                        min=int(control.low),
                        max=int(control.high),
                        step=int(control.step),
                        on_value=lambda v, key=key: set_control(key, int(v)),
                    )
                else:
                    solara.SliderFloat(
                        control.label(value),
                        value=float(value),
                        min=control.low,
                        max=control.high,
                        step=control.step,
                        on_value=lambda v, key=key: set_control(key, round(float(v), 4)),
                    )
            if pending:
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML="Changed, not yet in the run: "
                    + "; ".join(pending)
                    + ". <b>Press Reset to apply.</b>",
                    classes=["bondsim-pending"],
                )
            else:
                solara.Text("The run uses these settings. Change one, then press Reset.")
        with solara.Card("Show"):
            solara.Text("Colour people by")
            solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_MODES))
            solara.Switch(label="Projector (large text)", value=projector)
        with solara.Card("For your lab report"):
            with solara.Row(style={"flex-wrap": "wrap", "gap": "4px"}):
                solara.FileDownload(session.csv, filename="bondsim-run.csv", label="Data (CSV)", mime_type="text/csv")
                solara.FileDownload(
                    lambda: session.png(colour_by.value),
                    filename="bondsim-figures.png",
                    label="Figures (PNG)",
                    mime_type="image/png",
                )

    @solara.component
    def Guard(session: Session, children: list | None = None):
        """Shows its children, or, if drawing them failed, a short message and a restart button (never a traceback)."""
        import reacton

        exception, clear = reacton.use_exception()
        if exception is None:
            solara.Column(children=children or [], gap="6px")
            return
        log.error("bondsim app: drawing the page failed", exc_info=exception)

        def restart() -> None:
            session.load(session.preset)
            clear()

        with solara.Div(classes=["bondsim-error"]):
            solara.Text(FRIENDLY_ERROR)
            solara.Button("Restart this lesson", on_click=restart, color="error", style={"margin-left": "12px"})

    @solara.component
    def Page():
        """The classroom page: lessons, controls and downloads in the sidebar; readouts, network and plots."""
        context = solara.use_memo(_current_context, [])
        session = solara.use_memo(lambda: Session(engine=app_engine(), context=context), [])
        ui = solara.use_reactive(())
        controls = solara.use_reactive(dict(PRESETS["free play"].settings))
        colour_by = solara.use_reactive("tone")
        projector = solara.use_reactive(False)

        session.notify = _in_context(
            session, lambda: ui.set((session.playing, session.preset, session.error, session.run.id))
        )
        solara.use_effect(lambda: session.close, [])
        big = projector.value
        solara.Title("bondsim classroom")
        solara.Style(_CSS + (_PROJECTOR_CSS if big else ""))
        with solara.Sidebar(), solara.Div(classes=["bondsim-big"] if big else []):
            Guard(session, children=[Sidebar(session, ui, controls, colour_by, projector)])
        with solara.Div(classes=["bondsim-big"] if big else []):
            with solara.lab.Tabs():
                with solara.lab.Tab("Simulation"):
                    Guard(session, children=[Views(session, ui, colour_by, big)])
                with solara.lab.Tab("Info"):
                    solara.HTML(tag="div", unsafe_innerHTML=INFO, style="max-width: 900px; padding: 8px")

    return Page


def _in_context(session: Session, function: Callable[[], None]) -> Callable[[], None]:
    """``function`` run inside the session's Solara context, from any thread.

    It holds the context's lock, as Solara does while it handles a message from the page, so that
    the play thread and the page's own events never update the page at the same time. A closed
    page stops the session instead.
    """

    def run() -> None:
        context = session.context
        if context is None:
            function()
            return
        with context.lock:
            if context.closed_event.is_set():
                session.close()
                return
            with context:
                function()

    return run


def _current_context():
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context()
    except Exception:
        return None


def __getattr__(name: str) -> Any:
    """Build ``Page`` on first use (Solara imports happen only then)."""
    if name == "Page":
        page = _page()
        globals()["Page"] = page
        return page
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------- the command


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim app``."""
    parser.add_argument("--port", type=_port, default=8765, help="port to serve on (default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--engine", choices=("array", "agents"), default="array", help="the model's engine (default array)"
    )
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file whose mechanisms, drugs and parameters every lesson starts from"
    )


def _check_free(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UserError(f"--host {host}: unknown address") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind(address)
        except OSError as exc:
            raise UserError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def command(args: argparse.Namespace) -> int:
    """Serve the app with Solara in production mode until interrupted (replaces this process)."""
    _check_free(args.host, args.port)
    config = getattr(args, "config", None)
    if config:
        from .model import check_model

        check_model(load(config))  # a bad config is one line here, not an error page in class
        config = os.path.abspath(config)
    for module in ("solara", "solara_assets", "ipyvuetify", "altair"):  # altair: mesa.visualization imports it
        if importlib.util.find_spec(module) is None:
            raise UserError(f"the app needs the package {module}: reinstall bondsim (pip install -e .)")
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"bondsim app: serving the classroom app at http://{shown}:{args.port} (Ctrl+C to stop)", flush=True)
    # no telemetry and no version check: the app must not call out (classrooms are often offline);
    # Solara warns about cookies on every page load over plain http, which is what localhost uses
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:Cookies with samesite"]))
    # no "runs on Solara" banner over the page; a closed tab's state is freed after a few minutes
    env = {
        **os.environ,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        "PYTHONWARNINGS": warnings,
        "SOLARA_THEME_SHOW_BANNER": "False",
        "SOLARA_KERNEL_CULL_TIMEOUT": os.environ.get("SOLARA_KERNEL_CULL_TIMEOUT", "3m"),
        ENGINE_ENV: getattr(args, "engine", "array"),
        **({CONFIG_ENV: config} if config else {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "bondsim.app_server",  # solara run, with Ctrl-C as one line and exit status 130
        "bondsim.app",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]
    os.execve(sys.executable, cmd, env)  # Solara takes over this process: Ctrl+C and kill reach it directly
    return 0  # not reached
