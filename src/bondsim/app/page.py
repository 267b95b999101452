"""The classroom page: Solara components for the lessons, the run's buttons, the settings, the views and the Info tab.

Importing this module imports Solara; :mod:`bondsim.app` imports it only when ``Page`` is first
used, so the figures and the command line stay light. ``bondsim app`` serves this module.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import reacton
import solara
import solara.lab

from .assets import static_text
from .config import app_engine
from .lessons import CONTROLS, INFO, NETWORKS, PRESETS
from .session import FRIENDLY_ERROR, SPEEDS, Session, current_context, in_context
from .views import COLOUR_MODES

log = logging.getLogger(__name__)

APP_CSS = static_text("app.css")
PROJECTOR_CSS = static_text("projector.css")  # the Projector switch: large text


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
        session.draw = in_context(session, draw)
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
    context = solara.use_memo(current_context, [])
    session = solara.use_memo(lambda: Session(engine=app_engine(), context=context), [])
    ui = solara.use_reactive(())
    controls = solara.use_reactive(dict(PRESETS["free play"].settings))
    colour_by = solara.use_reactive("tone")
    projector = solara.use_reactive(False)

    session.notify = in_context(
        session, lambda: ui.set((session.playing, session.preset, session.error, session.run.id))
    )
    solara.use_effect(lambda: session.close, [])
    big = projector.value
    solara.Title("bondsim classroom")
    solara.Style(APP_CSS + (PROJECTOR_CSS if big else ""))
    with solara.Sidebar(), solara.Div(classes=["bondsim-big"] if big else []):
        Guard(session, children=[Sidebar(session, ui, controls, colour_by, projector)])
    with solara.Div(classes=["bondsim-big"] if big else []):
        with solara.lab.Tabs():
            with solara.lab.Tab("Simulation"):
                Guard(session, children=[Views(session, ui, colour_by, big)])
            with solara.lab.Tab("Info"):
                solara.HTML(tag="div", unsafe_innerHTML=INFO, style="max-width: 900px; padding: 8px")
