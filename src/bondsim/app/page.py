"""The classroom's pages: the students' page (``/``) and the teacher's (``/teacher?key=...``), Solara components.

The students' page: the class (join, predict, the class's results once revealed), the lessons, the
run's buttons, the settings, the views and the Info tab. The teacher's page: the address and QR
code students open, the class's predictions and results of a lesson as a dot plot with their mean
and 95% interval, and the button that reveals them to the class.

Importing this module imports Solara; :mod:`bondsim.app` imports it only when ``Page`` is first
used, so the figures and the command line stay light. ``bondsim app`` serves this module
(``routes``).
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any
from urllib.parse import parse_qs

import reacton
import solara
import solara.lab

from .assets import static_text
from .classroom import classroom
from .config import app_engine
from .lessons import CONTROLS, INFO, NETWORKS, PRESETS
from .session import FRIENDLY_ERROR, SESSIONS, SPEEDS, Session, current_context, in_context
from .views import COLOUR_MODES, class_plot_svg, day_text

WORKSHEET = static_text("worksheet.html")  # the printable student worksheet (docs/classroom-worksheet.html)

log = logging.getLogger(__name__)

APP_CSS = static_text("app.css")
PROJECTOR_CSS = static_text("projector.css")  # the Projector switch: large text


def in_page(context: Any, function) -> Any:
    """``function`` run inside a page's Solara context from any thread (nothing once the page has closed)."""

    def run() -> None:
        if context is None:
            function()
            return
        with context.lock:
            if context.closed_event.is_set():
                return
            with context:
                function()

    return run


def use_class_version() -> int:
    """The class's version, re-rendering the calling component whenever the class changes."""
    room = classroom()
    version = solara.use_reactive(room.version)
    context = solara.use_memo(current_context, [])

    def subscribe():
        unsubscribe = room.subscribe(in_page(context, lambda: version.set(room.version)))
        return unsubscribe

    solara.use_effect(subscribe, [])
    return version.value


@solara.component
def Notice(session: Session, ui: Any):
    """What the lesson asks now: a checkpoint's question, or, at the end, the run's result."""
    ui.value  # noqa: B018 (redraw at a checkpoint and at the end)
    frame = session.frame
    preset = PRESETS[session.preset]
    if session.checkpoint is not None:
        with solara.Div(classes=["bondsim-checkpoint"]):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"<b>Checkpoint, {day_text(frame.hours)}.</b> {session.checkpoint.question} "
                "Write your answer on the worksheet, then press Play to go on.",
            )
    elif session.run.ended:
        measure = preset.measure
        text = f"<b>End of the lesson ({preset.days:g} days).</b> "
        value = session.result()
        if measure is not None and value is not None:
            text += f"Your result: {measure.what}: <b>{value:+.3f}</b>"
            if session.prediction is not None:
                text += f" (you predicted {session.prediction:+.3f})"
            text += ". " + ("Sent to your class." if session.student_name else "Join a class to pool results.")
        text += " Restart it, or choose another lesson."
        with solara.Div(classes=["bondsim-checkpoint"]):
            solara.HTML(tag="div", unsafe_innerHTML=text)


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
        Notice(session, ui)
        solara.Div(children=[boxes["monitors"]])
        solara.Div(classes=["bondsim-views"], children=[boxes["network"], boxes["plots"]])


@solara.component
def ClassCard(session: Session, ui: Any, controls: Any, code_given: str):
    """Join the class; predict the lesson's measure before running it; see the class's results once revealed."""
    ui.value  # noqa: B018
    name = solara.use_reactive(session.student_name or "")
    code = solara.use_reactive(code_given)
    message = solara.use_reactive("")
    preset = PRESETS[session.preset]
    measure = preset.measure
    guess = solara.use_reactive(0.0)

    def join() -> None:
        try:
            session.join(name.value, code.value)
            controls.set(dict(session.run.settings))
            message.set("")
        except ValueError as exc:
            message.set(str(exc))

    def predict() -> None:
        try:
            session.predict(guess.value)
            message.set("")
        except ValueError as exc:
            message.set(str(exc))

    with solara.Card("Class"):
        if session.student_name is None:
            solara.Text("Join your class: your runs go to your teacher's page.")
            solara.InputText("Your name", value=name)
            solara.InputText("Class code (on the projector)", value=code)
            solara.Button("Join", on_click=join, color="primary", small=True)
        else:
            solara.HTML(
                tag="div",
                unsafe_innerHTML=f"You are <b>{html.escape(session.student_name)}</b> in class "
                f"<b>{classroom().code}</b>; your community is number <b>{session.community}</b>.",
            )
        if measure is not None:
            solara.HTML(tag="div", unsafe_innerHTML=f"<b>Predict:</b> {measure.question}", style="margin-top:8px")
            if session.prediction is None and session.run.steps == 0:
                solara.SliderFloat(
                    f"My prediction: {guess.value:+.2f}",
                    value=guess,
                    min=measure.low,
                    max=measure.high,
                    step=measure.step,
                )
                solara.Button("Record my prediction", on_click=predict, small=True, color="primary")
            elif session.prediction is not None:
                then = "The run has ended: compare." if session.run.ended else "Now press Play."
                alone = "" if session.student_name else " (join your class to send it to your teacher)"
                solara.Text(f"Your prediction: {session.prediction:+.2f}{alone}. {then}")
            else:
                solara.Text("Predictions are made before the run starts: restart the lesson to make one.")
        if message.value:
            solara.HTML(tag="div", unsafe_innerHTML=message.value, classes=["bondsim-pending"])


@solara.component
def ClassResults(session: Session):
    """The class's results of the lesson, once the teacher has revealed them."""
    use_class_version()
    preset = PRESETS[session.preset]
    summary = classroom().summary(session.preset)
    if preset.measure is None or not summary.revealed:
        solara.Text("Your teacher has not shown the class's results of this lesson yet.")
        return
    solara.HTML(tag="div", unsafe_innerHTML=class_plot_svg(summary, preset.measure))
    solara.Text(  # not Markdown: Solara's Markdown loads a script (mermaid) that bondsim does not bundle
        "Each dot is one student's community. The black bar is the mean of the results, the line under it its "
        "95% interval. Why do communities differ? Which predictions were close?"
    )


@solara.component
def Sidebar(session: Session, ui: Any, controls: Any, colour_by: Any, projector: Any, code_given: str):
    """The class, the lessons, the run's buttons, the settings, display options and downloads."""
    ui.value  # noqa: B018 (redraw when playing, the lesson or the run changes)
    preset = session.preset
    playing = session.playing
    values = controls.value

    def choose(name: str) -> None:
        session.load(name)  # the run first, so the controls never show a lesson the run is not
        controls.set(dict(session.run.settings))

    def set_control(key: str, value: Any) -> None:
        controls.set({**controls.value, key: value})

    pending = session.pending(values)
    ClassCard(session, ui, controls, code_given)
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
            unsafe_innerHTML=f"<b>{preset}</b> ({PRESETS[preset].days:g} days). What to look for: "
            f"{PRESETS[preset].text}",
            style="margin-top: 10px",
        )
    with solara.Card("Run"):
        with solara.Row(style={"flex-wrap": "wrap", "gap": "4px"}):
            # two buttons, not one that toggles: on a page that lags behind the server (a class on
            # one laptop), a second click on Play must not pause, nor a second click on Pause play
            solara.Button(
                "▶ Play",
                on_click=session.play,
                color="primary",
                disabled=playing or session.error is not None or session.run.ended,
            )
            solara.Button("❚❚ Pause", on_click=session.pause, disabled=not playing)
            solara.Button("Step", on_click=lambda: session.step(1), disabled=playing or session.run.ended)
            solara.Button(
                "Reset",
                on_click=lambda: session.load(preset, values),
                color="warning" if pending else None,
            )
            solara.Button("Restart this lesson", on_click=lambda: choose(preset), text=True)
        solara.Text("Step: one hour. Reset: this lesson again, with the settings below.")
        solara.ToggleButtonsSingle(
            value=str(int(session.speed)) if int(session.speed) in SPEEDS else str(SPEEDS[2]),
            values=[str(s) for s in SPEEDS],
            on_value=lambda v: session.set_speed(float(v)),
        )
        solara.Text("Play speed: simulated hours per second (100: fast forward)")
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
            solara.FileDownload(
                WORKSHEET.encode("utf-8"),
                filename="bondsim-worksheet.html",
                label="Worksheet (to print)",
                mime_type="text/html",
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


def _query(name: str) -> str:
    try:
        search = solara.use_router().search or ""
    except Exception:  # rendered without a router (Jupyter, tests)
        search = ""
    return parse_qs(search).get(name, [""])[0]


@solara.component
def Page():
    """The students' page: the class and lessons in the sidebar; readouts, network and plots; Info."""
    context = solara.use_memo(current_context, [])
    session = solara.use_memo(lambda: SESSIONS.attach(context, app_engine()), [])
    code_given = _query("class")
    ui = solara.use_reactive(())
    controls = solara.use_reactive(dict(session.run.settings))
    colour_by = solara.use_reactive(session.view[0])
    projector = solara.use_reactive(session.view[1])
    solara.use_memo(SESSIONS.start_reaper, [])

    session.notify = in_context(
        session,
        lambda: ui.set(
            (
                session.playing,
                session.preset,
                session.error,
                session.run.id,
                session.checkpoint,
                session.sent,
                session.prediction,
                session.student_name,
                session.run.ended,
                session.run.steps > 0,  # the prediction's controls go once the run has started (Play or Step)
            )
        ),
    )
    solara.use_effect(lambda: session.close, [])
    big = projector.value
    solara.Title("bondsim classroom")
    solara.Style(APP_CSS + (PROJECTOR_CSS if big else ""))
    with solara.Sidebar(), solara.Div(classes=["bondsim-big"] if big else []):
        Guard(session, children=[Sidebar(session, ui, controls, colour_by, projector, code_given)])
    with solara.Div(classes=["bondsim-big"] if big else []):
        with solara.lab.Tabs():
            with solara.lab.Tab("Simulation"):
                Guard(session, children=[Views(session, ui, colour_by, big)])
            with solara.lab.Tab("Class results"):
                ClassResults(session)
            with solara.lab.Tab("Info"):
                solara.HTML(tag="div", unsafe_innerHTML=INFO, style="max-width: 900px; padding: 8px")


@solara.component
def Teacher():
    """The teacher's page: the address and QR code for students, the class's results, and the reveal button."""
    from .qr import qr_svg

    room = classroom()
    use_class_version()
    key = _query("key")
    lesson = solara.use_reactive("placebo vs naltrexone")
    solara.Title("bondsim classroom: teacher")
    solara.Style(APP_CSS)
    if key != room.teacher_key:
        with solara.Div(classes=["bondsim-error"]):
            solara.Text(
                "This is the teacher's page. Open it with the address (and its key) that `bondsim app` printed."
            )
        return
    preset = PRESETS[lesson.value]
    summary = room.summary(lesson.value)
    with solara.Sidebar():
        with solara.Card("Students join at"):
            address = room.address or "this computer's address (start with bondsim app --class)"
            solara.HTML(tag="div", unsafe_innerHTML=f"<b style='font-size:20px'>{html.escape(address)}</b>")
            solara.HTML(tag="div", unsafe_innerHTML=f"Class code: <b style='font-size:28px'>{room.code}</b>")
            if room.address:
                solara.HTML(tag="div", unsafe_innerHTML=qr_svg(room.address, scale=5), classes=["bondsim-qr"])
            solara.Text(f"{len(room.students)} students have joined.")
        with solara.Card("Lesson"):
            solara.Select("Results of", values=[n for n, p in PRESETS.items() if p.measure], value=lesson)
            solara.Switch(
                label="Show the results to the class",
                value=summary.revealed,
                on_value=lambda shown: room.reveal(lesson.value, shown),
            )
            solara.Button("Clear this lesson's results", on_click=lambda: room.clear(lesson.value), text=True)
        with solara.Card("For the class"):
            solara.FileDownload(
                static_text("answer-key.html").encode("utf-8"),
                filename="bondsim-worksheet-and-key.html",
                label="Worksheet and answer key",
                mime_type="text/html",
            )
    with solara.Column():
        solara.HTML(tag="h3", unsafe_innerHTML=f"{html.escape(lesson.value)}: the class's predictions and results")
        solara.Text(preset.measure.question)
        solara.HTML(tag="div", unsafe_innerHTML=class_plot_svg(summary, preset.measure, big=True))
        counted = summary.values
        if summary.mean is not None:
            text = f"{len(counted)} results with the lesson's settings: mean {summary.mean:+.3f}"
            if summary.low is not None:
                text += f", 95% interval {summary.low:+.3f} to {summary.high:+.3f}"
            solara.Text(text + ".")
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{'' if p is None else f'{p:+.3f}'}</td>"
            f"<td>{'' if r is None else f'{r:+.3f}'}{' (settings changed)' if changed else ''}</td></tr>"
            for name, r, p, changed in summary.rows
        )
        solara.HTML(
            tag="table",
            unsafe_innerHTML=f"<tr><th>student</th><th>prediction</th><th>result</th></tr>{rows}",
            classes=["bondsim-class-table"],
        )


@solara.component
def Layout(children: list | None = None):
    """Each route's page in Solara's app layout, without navigation tabs (students never see the teacher's)."""
    solara.AppLayout(children=children or [], navigation=False, title="bondsim classroom")


routes = [
    solara.Route(path="/", component=Page, label="bondsim classroom", layout=Layout),  # the root's layout: every page's
    solara.Route(path="teacher", component=Teacher, label="teacher"),
]
