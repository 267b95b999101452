"""The classroom app: a Mesa SolaraViz page for teaching the brain opioid theory of attachment.

Serve it with ``bondsim app`` (a browser page on localhost) or show it in Jupyter
with ``from bondsim.app import Page; Page()``. Every browser session builds its own
model, so one class's clicks never leak into another's page.

The figures are drawn with matplotlib only, so the page works with no internet
access (Solara's own scripts come from the ``solara-assets`` package).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from .errors import UserError
from .model import BondingModel
from .params import load

APP_DRUGS = ("placebo", "naltrexone", "morphine")
TRACKED = ("tone", "felt_connection", "distress", "seeking", "occupancy")
SEEKING_WINDOW_HOURS = 6.0  # the seeking curve is a trailing mean over this many hours
COLOUR_MODES = ("tone", "distress")

# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Preset:
    """A teaching moment: the settings of the controls, fixed extras and what to look for."""

    name: str
    settings: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)
    text: str = ""


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
                "Half the group takes a placebo pill, which does nothing pharmacologically. Change a control, "
                "press Reset, then play. Bonds (the links) thicken where people meet often."
            ),
        ),
        Preset(
            "placebo vs naltrexone",
            {**DEFAULTS, "drug": "naltrexone", "dose_mg": 50.0},
            text=(
                "Two arms in one community: half take 50 mg naltrexone a day, the other half are the placebo arm. "
                "Naltrexone blocks mu-opioid receptors, so contact rewards less. Look for lower felt connection "
                "and more seeking in the naltrexone arm (Inagaki et al. 2016; 2019)."
            ),
        ),
        Preset(
            "separation",
            {**DEFAULTS, "treated_fraction": 0.0},
            extras={"separation": "loss", "separation_day": 2.0, "separation_fraction": 0.3},
            text=(
                "On day 2, three people in ten lose their closest partner for good. Watch their tone fall and "
                "their distress rise compared with the others: separation distress (Panksepp 1978)."
            ),
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
                "From day 1 everyone is alone for 2 days. Half get 10 mg morphine a day. Morphine keeps the opioid "
                "signal up, so the morphine arm shows little distress while the others grieve, until each dose wears "
                "off (Panksepp 1978)."
            ),
        ),
        Preset(
            "rejection",
            {**DEFAULTS, "rejection_rate": 0.7},
            text=(
                "Seven approaches in ten are turned down. Each rejection lowers tone; watch tone sink towards the "
                "set point, distress appear and bonds grow more slowly (Eisenberger et al. 2003; Hsu et al. 2013)."
            ),
        ),
    )
}

CONTROLS: dict[str, dict[str, Any]] = {
    "drug": {"type": "Select", "label": "Drug", "values": list(APP_DRUGS)},
    "dose_mg": {"type": "SliderFloat", "label": "Dose (mg once a day)", "min": 0.0, "max": 100.0, "step": 5.0},
    "treated_fraction": {
        "type": "SliderFloat",
        "label": "Share of people on the drug",
        "min": 0.0,
        "max": 1.0,
        "step": 0.05,
    },
    "rejection_rate": {"type": "SliderFloat", "label": "Rejection rate", "min": 0.0, "max": 0.9, "step": 0.05},
    "n_agents": {"type": "SliderInt", "label": "Group size (people)", "min": 20, "max": 500, "step": 10},
    "network": {"type": "Select", "label": "Network kind", "values": ["small_world", "random", "scale_free"]},
    "seed": {"type": "SliderInt", "label": "Seed (another random community)", "min": 0, "max": 99, "step": 1},
}

HELP = (
    "<p><b>What you see.</b> Each dot is a person on a social network. Its colour is the person's opioid tone "
    "(or distress: switch it in the sidebar); a thicker, darker link is a stronger bond. Outlined dots take the "
    "drug. The plots follow felt connection, opioid tone, distress and contact seeking, one line per group, "
    "and the share of mu-opioid receptors held by the drug.</p>"
    "<p><b>Controls.</b> <i>Drug</i> and <i>dose</i> set the pill taken once a day by the share of people on the "
    "drug (naltrexone blocks mu-opioid receptors; morphine activates them). <i>Rejection rate</i> is the chance "
    "that an approached person says no. <i>Group size</i>, <i>network kind</i> and <i>seed</i> choose the "
    "community. After changing a control, press <b>Reset</b>. <b>Step</b> advances one hour; <b>&#9654;</b> "
    "plays; <i>Play interval</i> sets the speed.</p>"
    "<p><b>The idea.</b> Contact releases endogenous opioids; the reward a contact brings grows bonds. When the "
    "opioid signal falls below a person's set point they feel distress and seek company (Panksepp 1978; "
    "Løseth, Ellingsen and Leknes 2014).</p>"
)

# -------------------------------------------------------------------- model


class ClassroomModel(BondingModel):
    """The bonding model with the app's controls as keyword arguments and a per-person history.

    Args:
        drug: placebo, naltrexone or morphine, given once a day to the treated share.
        dose_mg: dose per day (mg).
        treated_fraction: share of people on the drug.
        rejection_rate: chance that an approached partner rejects.
        n_agents: group size (people).
        network: network kind.
        seed: master seed.
        scenario: accepted for Mesa's reset button and ignored (the seed is the model's).
        **extras: any other parameter of :class:`bondsim.params.Params`.
    """

    def __init__(
        self,
        *,
        drug: str = "placebo",
        dose_mg: float = 50.0,
        treated_fraction: float = 0.5,
        rejection_rate: float = 0.2,
        n_agents: int = 200,
        network: str = "small_world",
        seed: int = 1,
        scenario: Any = None,
        **extras: Any,
    ) -> None:
        settings = {
            "drug": drug,
            "dose_mg": float(dose_mg),
            "treated_fraction": float(treated_fraction),
            "rejection_rate": float(rejection_rate),
            "n_agents": int(n_agents),
            "network": network,
        }
        extras.setdefault("engine", "array")
        super().__init__(load(overrides={**settings, **extras}), seed=int(seed))
        self.history: dict[str, list[np.ndarray]] = {k: [] for k in TRACKED}
        self._layout: np.ndarray | None = None
        self._snapshot()

    def step(self) -> None:
        """One step of the bonding model, then a snapshot of everyone for the plots."""
        super().step()
        self._snapshot()

    def _snapshot(self) -> None:
        state = self.state()
        for key in TRACKED:
            self.history[key].append(np.asarray(state[key], dtype=np.float32).copy())

    def days(self) -> np.ndarray:
        """Simulated time of each snapshot (days)."""
        return np.arange(len(self.history["tone"])) * self.params.step_hours / 24.0

    def layout(self) -> np.ndarray:
        """Positions of the people for drawing, (n, 2); computed once per model so the picture stays still."""
        if self._layout is None:
            graph = self.network.to_networkx()
            pos = nx.spring_layout(graph, seed=self.seed % 2**32, iterations=60)
            self._layout = np.array([pos[i] for i in range(self.n)])
        return self._layout

    def groups(self) -> dict[str, np.ndarray]:
        """The groups to compare, label -> boolean mask over people.

        People who lost a partner against the others once a separation has happened; otherwise
        the drug arm against the placebo arm when an active drug is given to some but not all;
        otherwise everyone.
        """
        everyone = np.ones(self.n, dtype=bool)
        separated = getattr(self, "separated_index", None)
        if separated is not None and self.params.separation == "loss" and 0 < len(separated) < self.n:
            mask = np.zeros(self.n, dtype=bool)
            mask[separated] = True
            return {"lost a partner": mask, "others": ~mask}
        treated = np.asarray(self.state()["treated"], dtype=bool)
        if self.drug.active and 0 < treated.sum() < self.n:
            return {f"{self.params.drug} arm": treated, "placebo arm": ~treated}
        return {"everyone": everyone}

    def group_series(self, key: str) -> dict[str, np.ndarray]:
        """Mean of a tracked quantity in each group at each snapshot."""
        values = np.vstack(self.history[key])
        return {label: values[:, mask].mean(axis=1) for label, mask in self.groups().items()}


def preset_kwargs(name: str) -> dict[str, Any]:
    """Keyword arguments of :class:`ClassroomModel` for a preset."""
    preset = PRESETS[name]
    return {**preset.settings, **preset.extras}


def model_params(name: str) -> dict[str, Any]:
    """SolaraViz ``model_params`` for a preset: the controls at the preset's values, plus its fixed extras."""
    preset = PRESETS[name]
    controls = {key: {**spec, "value": preset.settings[key]} for key, spec in CONTROLS.items()}
    return {**controls, **preset.extras}


# ------------------------------------------------------------------ figures

GROUP_COLOURS = ("#c0392b", "#2471a3", "#7d3c98", "#1e8449")


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(values) == 0:
        return values
    cs = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (cs[idx] - cs[lo]) / (idx - lo)


def network_figure(model: ClassroomModel, colour_by: str = "tone") -> Figure:
    """The social network: people coloured by tone or distress, links drawn by bond strength."""
    if colour_by not in COLOUR_MODES:
        raise ValueError(f"colour_by = {colour_by!r}: use one of {', '.join(COLOUR_MODES)}")
    pos = model.layout()
    net, bond = model.network, model.edge_bonds()
    state = model.state()
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_axes((0.02, 0.02, 0.78, 0.9))
    forward = (net.row < net.indices) & model.open_edges()
    edges = np.flatnonzero(forward)
    strength = 0.5 * (bond[edges] + bond[net.reverse[edges]])
    order = np.argsort(strength)
    edges, strength = edges[order], strength[order]
    segments = np.stack([pos[net.row[edges]], pos[net.indices[edges]]], axis=1)
    colours = np.zeros((len(edges), 4))
    colours[:, 3] = 0.08 + 0.8 * np.clip(strength, 0.0, 1.0)
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.3 + 3.5 * strength, zorder=1))
    if colour_by == "tone":
        values = state["tone"] / state["tone_set_point"]
        cmap, vmin, vmax, label = "RdYlBu", 0.0, 2.0, "opioid tone / set point"
    else:
        values = state["distress"]
        cmap, vmin, vmax, label = "Reds", 0.0, 1.0, "distress"
    treated = np.asarray(state["treated"], dtype=bool)
    edge_colours = np.where(treated[:, None], np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([[0.5, 0.5, 0.5, 0.6]]))
    dots = ax.scatter(
        pos[:, 0],
        pos[:, 1],
        c=values,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        s=36,
        edgecolors=edge_colours,
        linewidths=np.where(treated, 1.4, 0.4),
        zorder=2,
    )
    fig.colorbar(dots, cax=fig.add_axes((0.84, 0.15, 0.03, 0.65)), label=label)
    ax.set_title(f"{model.n} people, day {model.hours / 24:.1f}", fontsize=10)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def mood_figure(model: ClassroomModel) -> Figure:
    """Felt connection, opioid tone, distress and seeking over time, one line per group."""
    days = model.days()
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    axes = fig.subplots(2, 2, sharex=True)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.1, top=0.94, wspace=0.22, hspace=0.25)
    window = max(1, round(SEEKING_WINDOW_HOURS / model.params.step_hours))
    panels = (
        ("felt_connection", "felt connection", (0, 1)),
        ("tone", "opioid tone", None),
        ("distress", "distress", (0, 1)),
        ("seeking", f"seeking contact ({SEEKING_WINDOW_HOURS:g}-h mean)", (0, 1)),
    )
    for ax, (key, title, ylim) in zip(axes.flat, panels, strict=True):
        for colour, (label, series) in zip(GROUP_COLOURS, model.group_series(key).items(), strict=False):
            if key == "seeking":
                series = _trailing_mean(series, window)
            ax.plot(days, series, color=colour, label=label, lw=1.6)
        if ylim:
            ax.set_ylim(*ylim)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("day")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    return fig


def occupancy_figure(model: ClassroomModel) -> Figure:
    """Mean mu-receptor occupancy by the drug among the people who take it, over time."""
    days = model.days()
    fig = Figure(figsize=(6.4, 3.0), dpi=100)
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.16, top=0.9)
    treated = np.asarray(model.state()["treated"], dtype=bool)
    occupancy = np.vstack(model.history["occupancy"])
    if treated.any() and model.drug.active:
        ax.plot(
            days,
            occupancy[:, treated].mean(axis=1),
            color=GROUP_COLOURS[0],
            lw=1.8,
            label=f"{model.params.drug} arm, mean",
        )
        ax.fill_between(
            days,
            occupancy[:, treated].min(axis=1),
            occupancy[:, treated].max(axis=1),
            color=GROUP_COLOURS[0],
            alpha=0.15,
            label="range",
        )
        ax.legend(fontsize=8, loc="upper right")
    else:
        ax.plot(days, np.zeros_like(days), color="grey", lw=1.2)
        ax.text(
            0.5,
            0.5,
            f"no active drug ({model.params.drug}): no receptor is occupied",
            transform=ax.transAxes,
            ha="center",
            fontsize=9,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("day")
    ax.set_ylabel("occupancy")
    ax.set_title("mu-opioid receptors held by the drug", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------ the page
# Solara and Mesa's visualisation are imported inside the functions below, so that
# importing this module (for the figures or the command line) stays light.


def _components(colour_by) -> list[tuple[Callable, int]]:
    """The views of the page; ``colour_by`` is the session's reactive colour mode of the network."""
    import solara
    from mesa.visualization.utils import update_counter

    @solara.component
    def NetworkView(model: ClassroomModel):
        update_counter.get()
        solara.FigureMatplotlib(
            network_figure(model, colour_by.value),
            format="png",
            dependencies=[update_counter.value, id(model), colour_by.value],
        )

    @solara.component
    def MoodView(model: ClassroomModel):
        update_counter.get()
        solara.FigureMatplotlib(mood_figure(model), format="png", dependencies=[update_counter.value, id(model)])

    @solara.component
    def OccupancyView(model: ClassroomModel):
        update_counter.get()
        solara.FigureMatplotlib(occupancy_figure(model), format="png", dependencies=[update_counter.value, id(model)])

    @solara.component
    def GuideView(model: ClassroomModel):
        solara.HTML(tag="div", unsafe_innerHTML=HELP, style="padding: 0 8px; font-size: 14px")

    return [(NetworkView, 0), (MoodView, 0), (OccupancyView, 0), (GuideView, 0)]


def _page():
    import solara
    from mesa.visualization import SolaraViz

    @solara.component
    def Page():
        """The classroom page: presets in the sidebar, Mesa's controls, the views."""
        preset, set_preset = solara.use_state("free play")
        version, set_version = solara.use_state(0)
        first = solara.use_memo(lambda: ClassroomModel(**preset_kwargs("free play")), [])
        model = solara.use_reactive(first)
        colour_by = solara.use_reactive("tone")
        components = solara.use_memo(lambda: _components(colour_by), [])

        def choose(name: str) -> None:
            model.value = ClassroomModel(**preset_kwargs(name))
            set_preset(name)
            set_version(lambda v: v + 1)  # rebuild Mesa's controls so that they show the preset's values

        with solara.Sidebar(), solara.Card("Lessons: one click sets the scene"):
            with solara.Row(style={"flex-wrap": "wrap"}):
                for name in PRESETS:
                    solara.Button(
                        name,
                        on_click=lambda name=name: choose(name),
                        small=True,
                        outlined=name != preset,
                        color="primary",
                    )
            solara.HTML(tag="p", unsafe_innerHTML=f"<b>{preset}.</b> {PRESETS[preset].text}", style="margin-top: 12px")
            solara.Text("Colour people by:")
            solara.ToggleButtonsSingle(value=colour_by, values=list(COLOUR_MODES))
        SolaraViz(
            model,
            components=components,
            model_params=model_params(preset),
            play_interval=150,
            name="bondsim classroom: opioids and social bonds",
        ).key(f"viz-{version}")

    return Page


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
    for module in ("solara", "solara_assets", "ipyvuetify", "altair"):  # altair: mesa.visualization imports it
        if importlib.util.find_spec(module) is None:
            raise UserError(f"the app needs the package {module}: reinstall bondsim (pip install -e .)")
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"bondsim app: serving the classroom app at http://{shown}:{args.port} (Ctrl+C to stop)", flush=True)
    # no telemetry and no version check: the app must not call out (classrooms are often offline);
    # Solara warns about cookies on every page load over plain http, which is what localhost uses
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), "ignore:Cookies with samesite"]))
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "PYTHONWARNINGS": warnings}
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
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
