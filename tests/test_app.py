"""The classroom app without a browser: presets, runs, snapshots, views, the session, the page, the command.

The app's tests run with both engines; the presets' "what to look for" sentences are checked here
by running each preset headless and asserting the direction it states.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from bondsim import app
from bondsim.app import CONTROLS, PRESETS, Run, Session, preset_kwargs, preset_run
from bondsim.app.downloads import csv_text, report_png
from bondsim.app.views import monitors_html, plots_svg
from bondsim.params import FIELDS

ENGINES = ["array", "agents"]


def _means(run: Run, key: str) -> dict[str, np.ndarray]:
    return run.frame().series[key]


# ------------------------------------------------------------------ presets and controls


def test_controls_stay_inside_the_parameter_ranges():
    for name, control in CONTROLS.items():
        if name == "seed":
            assert control.low >= 0
            continue
        meta = FIELDS[name].metadata
        if control.kind == "select":
            values = set(app.NETWORKS.values()) if name == "network" else set(control.values)
            assert values <= set(meta["choices"])
        else:
            assert meta["low"] <= control.low < control.high <= meta["high"]


def test_labels_are_plain_words_with_units():
    labels = [c.label(v) for c, v in zip(CONTROLS.values(), app.DEFAULTS.values(), strict=True)]
    assert "Dose: 50 mg a day" in labels and "Group size: 200 people" in labels
    assert "Approaches turned down: 20%" in labels and "People taking the pill: 50%" in labels
    text = " ".join(labels) + " ".join(p.text for p in PRESETS.values()) + app.INFO
    for jargon in ("small_world", "PAGE 0", "Use Threads", "Render Interval", "Time:"):
        assert jargon not in text


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_the_model_it_describes(name, engine):
    preset = PRESETS[name]
    assert set(preset.settings) == set(CONTROLS), "a preset sets every control"
    run = preset_run(name, engine=engine)
    p = run.model.params
    assert p.engine == engine and p.n_agents == 200
    for key, value in preset_kwargs(name).items():
        if key != "seed":
            assert getattr(p, key) == value, key
    assert run.model.seed == preset.settings["seed"]
    assert (run.baseline_model is not None) == bool(preset.baseline)
    assert preset.text


def test_reset_rebuilds_the_current_preset_with_the_changed_controls():
    session = Session()
    session.load("separation")
    session.load("separation", {**PRESETS["separation"].settings, "rejection_rate": 0.5, "n_agents": 120})
    p = session.run.model.params
    assert (p.separation, p.separation_day, p.rejection_rate, p.n_agents) == ("loss", 2.0, 0.5, 120)
    assert session.preset == "separation" and session.frame.n == 120
    session.load("placebo vs naltrexone", {**PRESETS["placebo vs naltrexone"].settings, "dose_mg": 25.0})
    assert session.run.model.params.drug == "naltrexone" and session.run.model.params.dose_mg == 25.0
    assert session.pending({**session.run.settings, "dose_mg": 30.0}) == [
        "Dose: 30 mg a day (the run uses 25 mg a day)"
    ]
    assert session.pending(session.run.settings) == []


def test_same_seed_same_run_other_seed_other_run():
    a, b = preset_run("rejection"), preset_run("rejection")
    c = preset_run("rejection", {**PRESETS["rejection"].settings, "seed": 2})
    for run in (a, b, c):
        run.step(20)
    np.testing.assert_array_equal(a.history("tone_ratio"), b.history("tone_ratio"))
    assert not np.array_equal(a.history("tone_ratio"), c.history("tone_ratio"))


# ------------------------------------------------------------------ runs and snapshots


@pytest.mark.parametrize("engine", ENGINES)
def test_history_and_snapshot_agree_and_time_is_in_days(engine):
    run = Run({"n_agents": 60, "seed": 3}, engine=engine)
    run.step(5)
    frame = run.frame()
    assert run.history("tone_ratio").shape == (6, 60)
    np.testing.assert_allclose(frame.days, np.arange(6) / 24.0)
    assert frame.steps == 5 and frame.day == pytest.approx(5 / 24)
    for by_group in frame.series.values():
        assert all(len(v) == 6 for v in by_group.values())
    state = run.model.state()
    np.testing.assert_allclose(frame.people["tone_ratio"], state["tone"] / state["tone_set_point"])


def test_a_snapshot_never_changes_after_it_is_taken():
    run = preset_run("placebo vs naltrexone")
    run.step(3)
    frame = run.frame()
    copies = {k: v.copy() for k, v in frame.people.items()}
    lengths = {k: {g: len(v) for g, v in by.items()} for k, by in frame.series.items()}
    run.step(5)
    for k, v in frame.people.items():
        np.testing.assert_array_equal(v, copies[k])
    assert {k: {g: len(v) for g, v in by.items()} for k, by in frame.series.items()} == lengths


def test_drawing_while_another_thread_steps_is_always_consistent():
    """The crash of issue 14 (x and y of different lengths while playing) cannot happen."""
    session = Session()
    stop = threading.Event()
    errors: list[BaseException] = []

    def play():
        while not stop.is_set():
            session.step(1)

    thread = threading.Thread(target=play)
    thread.start()
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            frame = session.frame
            try:
                plots_svg(frame)
                session.run.painter.svg(frame)
                for by_group in frame.series.values():
                    assert all(len(v) == len(frame.days) for v in by_group.values())
            except BaseException as exc:
                errors.append(exc)
                break
    finally:
        stop.set()
        thread.join()
    assert errors == [] and session.error is None and session.frame.steps > 20


@pytest.mark.parametrize("engine", ENGINES)
def test_groups_follow_the_lesson(engine):
    assert list(preset_run("free play", engine=engine).groups()) == ["placebo pill", "no pill"]
    full = Run({"drug": "naltrexone", "treated_fraction": 1.0}, engine=engine)
    assert list(full.groups()) == ["everyone"]
    run = preset_run("placebo vs naltrexone", engine=engine)
    groups = run.groups()
    assert list(groups) == ["naltrexone arm", "placebo arm"] and groups["naltrexone arm"].sum() == 100
    run = preset_run("separation", engine=engine)
    run.step(47)
    assert list(run.groups()) == ["everyone"]
    run.step(2)  # the loss happens on day 2 (hour 48)
    groups = run.groups()
    assert list(groups) == ["lost a partner", "others"]
    assert groups["lost a partner"].sum() >= 60  # 30 % of 200 leave; their partners lose someone too
    frame = run.frame()
    assert frame.people["bereaved"].sum() == groups["lost a partner"].sum()
    assert all(len(v) == 50 for v in frame.series["distress"].values())  # the new groups' lines from day 0


# ------------------------------------------------------------------ what to look for (each preset's sentences)


@pytest.mark.parametrize("engine", ENGINES)
def test_free_play_bonds_grow_and_pill_changes_nothing(engine):
    run = preset_run("free play", engine=engine)
    run.step(96)
    bonds = _means(run, "strong_bonds")
    felt, distress = _means(run, "felt_connection"), _means(run, "distress")
    assert min(v[-1] for v in bonds.values()) > max(v[0] for v in bonds.values()) + 0.5
    assert abs(felt["placebo pill"][24:].mean() - felt["no pill"][24:].mean()) < 0.05
    assert abs(distress["placebo pill"][24:].mean() - distress["no pill"][24:].mean()) < 0.05


@pytest.mark.parametrize("engine", ENGINES)
def test_naltrexone_blocks_receptors_distress_rises_then_fades_seeking_rises_then_falls(engine):
    run = preset_run("placebo vs naltrexone", engine=engine)
    run.step(96)
    occupancy = _means(run, "occupancy")
    assert occupancy["naltrexone arm"][6:].min() > 0.9 and occupancy["placebo arm"].max() == 0.0
    distress, seeking = _means(run, "distress"), _means(run, "seeking")
    nal, pla = "naltrexone arm", "placebo arm"
    # distress jumps at first, then fades over about three days as people adapt
    first, last = slice(1, 13), slice(72, None)
    assert distress[nal][first].max() > 0.5 and distress[nal][first].mean() > distress[pla][first].mean() + 0.4
    assert distress[nal][last].mean() < 0.1 and distress[nal][last].mean() < 0.25 * distress[nal][first].mean()
    # seeking first rises (relief), then falls below the placebo arm's (contact rewards less)
    early = slice(4, 13)  # the plotted curve is a 6-hour mean: from hour 4
    assert seeking[nal][early].mean() > seeking[pla][early].mean() + 1.0
    assert seeking[nal][last].mean() < seeking[pla][last].mean() - 1.0
    # reward per contact falls: less connected
    felt = _means(run, "felt_connection")
    assert felt[nal][24:].mean() < felt[pla][24:].mean() - 0.03  # a margin that holds in communities 1-11
    state = run.model.state()  # the reason, in the model's state: each contact rewards less
    treated = run.treated
    assert state["reward_memory"][treated].mean() < state["reward_memory"][~treated].mean() - 0.1


@pytest.mark.parametrize("engine", ENGINES)
def test_separation_tone_stays_low_protest_then_despair(engine):
    run = preset_run("separation", engine=engine)
    run.step(96)
    tone, distress, seeking = _means(run, "tone_ratio"), _means(run, "distress"), _means(run, "seeking")
    lost, others = "lost a partner", "others"
    after, jump, end = slice(54, None), slice(49, 61), slice(84, None)  # the loss is at hour 48
    assert tone[lost][after].mean() < tone[others][after].mean() - 0.2
    assert tone[lost][end].mean() < tone[others][end].mean() - 0.2  # it stays low
    protest = slice(52, 63)  # the plotted seeking is a 6-hour mean
    assert seeking[lost][protest].mean() > seeking[others][protest].mean() + 0.2
    assert seeking[lost][end].mean() < seeking[others][end].mean() - 0.4  # despair
    assert distress[lost][jump].mean() > distress[others][jump].mean() + 0.15
    base = run.frame().baseline["distress"]
    assert distress[lost][jump].mean() > base[jump].mean() + 0.15
    assert distress[lost][end].mean() < 0.5 * distress[lost][jump].mean()  # it fades


@pytest.mark.parametrize("engine", ENGINES)
def test_morphine_soothes_the_isolated_for_hours_then_distress_returns_higher(engine):
    run = preset_run("morphine and distress", engine=engine)
    run.step(72)
    distress = _means(run, "distress")
    mor, pla = distress["morphine arm"], distress["placebo arm"]
    # everyone is alone from hour 24 to hour 72; the doses are at hours 0, 24 and 48
    assert pla[25:31].mean() > 0.5 and pla[66:73].mean() < 0.5 * pla[25:31].mean()  # jumps, then fades
    for dose in (24, 48):
        after_dose, wearing_off = slice(dose + 1, dose + 9), slice(dose + 16, dose + 25)
        assert mor[after_dose].mean() < 0.3 * pla[after_dose].mean()  # almost none for hours after a dose
        assert mor[wearing_off].mean() > pla[wearing_off].mean() + 0.15  # back, higher than placebo


@pytest.mark.parametrize("engine", ENGINES)
def test_morphine_withdrawal_between_doses_and_for_two_days_after_stopping(engine):
    run = preset_run("morphine withdrawal", engine=engine)
    run.step(144)
    distress, seeking = _means(run, "distress"), _means(run, "seeking")
    mor, pla = distress["morphine arm"], distress["placebo arm"]
    for dose in (24, 48, 72):  # as the previous dose wears off, distress; the next dose takes it away
        assert mor[dose - 6 : dose + 1].mean() > pla[dose - 6 : dose + 1].mean() + 0.2
        assert mor[dose + 2 : dose + 9].mean() < pla[dose + 2 : dose + 9].mean() + 0.03
    stopped, two_days_later = slice(96, 109), slice(138, 145)  # the last dose was at hour 72
    assert mor[stopped].mean() > pla[stopped].mean() + 0.2
    assert mor[two_days_later].mean() < 0.25 * mor[stopped].mean()  # it fades
    assert seeking["morphine arm"][stopped].mean() > seeking["placebo arm"][stopped].mean() + 0.4


@pytest.mark.parametrize("engine", ENGINES)
def test_rejection_lowers_tone_connection_and_bonds_distress_only_at_first(engine):
    run = preset_run("rejection", engine=engine)
    run.step(96)
    frame = run.frame()
    series, base = frame.series, frame.baseline
    later, first = slice(24, None), slice(1, 9)
    assert series["tone_ratio"]["everyone"][later].mean() < base["tone_ratio"][later].mean() - 0.1
    assert series["felt_connection"]["everyone"][later].mean() < base["felt_connection"][later].mean() - 0.03
    assert series["strong_bonds"]["everyone"][-1] < base["strong_bonds"][-1] - 0.3
    assert series["distress"]["everyone"][first].mean() > base["distress"][first].mean() + 0.02
    assert abs(series["distress"]["everyone"][later].mean() - base["distress"][later].mean()) < 0.02


# ------------------------------------------------------------------ views


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


@pytest.mark.parametrize("engine", ENGINES)
def test_network_view_draws_every_person_and_every_open_tie(engine):
    run = preset_run("separation", engine=engine)
    run.step(49)
    frame = run.frame()
    open_ties = int(run.model.open_edges()[run.forward].sum())
    assert len(frame.edges) == open_ties == run.model.network.n_edges // 2 - int((~run.model.open_edges()).sum()) // 2
    svg = run.painter.svg(frame)
    root = _svg(svg)
    assert root.get("data-steps") == "49"
    dots = "".join(p.get("d") for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("stroke-linecap"))
    assert dots.count("h0") == frame.n
    links = "".join(
        p.get("d")
        for p in root.iter("{http://www.w3.org/2000/svg}path")
        if p.get("stroke") == "#000" and "L" in p.get("d")
    )
    assert links.count("L") == open_ties
    assert "lost a partner" in svg and "#8e44ad" in svg  # the bereaved are marked
    assert run.painter.svg(frame, "distress") != svg
    with pytest.raises(ValueError, match="colour mode"):
        run.painter.svg(frame, "bonds")


def test_plots_have_fixed_axes_one_line_per_group_and_the_comparison_dashed():
    run = preset_run("rejection")
    run.step(10)
    root = _svg(plots_svg(run.frame()))
    lines = list(root.iter("{http://www.w3.org/2000/svg}polyline"))
    assert len(lines) == 6 * 2  # six panels: everyone and the usual-rejection run
    assert sum(1 for line in lines if line.get("stroke-dasharray")) == 6
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "usual rejection (20%)" in texts and "opioid tone" in texts and "time axis: days" in texts
    assert plots_svg(run.frame()) == plots_svg(run.frame())
    run.step(1)
    assert _svg(plots_svg(run.frame())).get("data-steps") == "11"


def test_monitors_csv_and_report_figure():
    run = preset_run("placebo vs naltrexone")
    run.step(12)
    frame = run.frame()
    html = monitors_html(frame)
    assert "day 0, hour 12" in html and "naltrexone arm" in html and "placebo arm" in html
    rows = csv_text(frame).strip().splitlines()
    assert rows[0].startswith("day,hour,group,people,felt_connection")
    assert len(rows) == 1 + 13 * 2
    png = report_png(frame, "distress", title="test")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_layout_is_cached_per_community_and_inside_the_unit_square():
    a, b = Run({"n_agents": 80, "seed": 2}), Run({"n_agents": 80, "seed": 2})
    assert a.layout is b.layout and a.layout.shape == (80, 2)
    assert a.layout.min() >= 0 and a.layout.max() <= 1 and np.isfinite(a.layout).all()


# ------------------------------------------------------------------ the session: play loop and errors


class _FakeContext:
    def __init__(self):
        from solara.server.kernel_context import PageStatus

        self.closed_event = threading.Event()
        self.page_status = {"page": PageStatus.CONNECTED}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_play_loop_advances_and_stops_when_the_page_goes():
    from solara.server.kernel_context import PageStatus

    context = _FakeContext()
    session = Session(context=context)
    session.DISCONNECT_GRACE_S = 0.2
    session.set_speed(50)
    session.play()
    thread = session._thread
    time.sleep(0.5)
    assert session.playing and session.frame.steps > 5
    session.play()  # pressing Play again starts no second loop
    assert session._thread is thread
    context.page_status["page"] = PageStatus.CLOSED  # the tab closed
    time.sleep(0.6)
    assert not session.playing and not thread.is_alive() and session._thread is None
    steps = session.frame.steps
    time.sleep(0.3)
    assert session.frame.steps == steps


def test_pause_then_play_at_once_always_leaves_a_loop_running():
    session = Session()
    session.set_speed(100)
    for _ in range(50):
        session.play()
        session.pause()
        session.play()
        assert session.playing
    time.sleep(0.3)
    steps = session.frame.steps
    time.sleep(0.3)
    assert session.frame.steps > steps and session._thread.is_alive()
    session.close()


def test_an_error_pauses_with_a_friendly_message():
    session = Session()

    def broken(steps=1):
        raise RuntimeError("boom")

    session.run.step = broken
    session.step()
    assert session.error == app.FRIENDLY_ERROR and "boom" not in session.error and not session.playing
    session.load(session.preset)  # restart this lesson
    assert session.error is None
    session.step()
    assert session.frame.steps == 1


# ------------------------------------------------------------------ the page (rendered without a browser)


@pytest.fixture
def page():
    import solara
    from solara.server import kernel, kernel_context

    context = kernel_context.VirtualKernelContext(id="test-app", kernel=kernel.Kernel(), session_id="test-session")
    with context:
        _, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
        yield rc
        rc.close()


def _text(rc) -> str:
    import ipyvuetify as v
    import solara

    html = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets]
    return " ".join(html + [str(w.children) for w in rc.find(v.Html).widgets])


@pytest.mark.filterwarnings("ignore:There is no current event loop:DeprecationWarning")  # inside Solara
def test_page_steps_plays_switches_presets_and_resets(page):
    import ipyvuetify as v

    def click(name):
        page.find(v.Btn, children=[name]).widget.click()

    assert "day 0, hour 0" in _text(page)
    click("Step")
    assert "day 0, hour 1" in _text(page)
    click("placebo vs naltrexone")
    assert "day 0, hour 0" in _text(page) and "naltrexone arm" in _text(page)
    assert page.find(v.Select, label="Pill taken once a day").widget.v_model == "naltrexone"
    # a changed control says it needs a reset, and Reset applies it to this lesson
    page.find(v.Slider, label="Dose: 50 mg a day").widget.v_model = 25.0
    assert "Press Reset to apply" in _text(page)
    click("Reset")
    assert "Press Reset to apply" not in _text(page)
    page.find(v.Slider, label="Dose: 25 mg a day").assert_single()
    assert "naltrexone arm" in _text(page)
    click("Restart this lesson")
    page.find(v.Slider, label="Dose: 50 mg a day").assert_single()
    click("▶ Play")
    time.sleep(1.0)
    click("❚❚ Pause")
    time.sleep(0.3)
    page.find(v.Btn, children=["▶ Play"]).assert_single()
    assert "day 0, hour 0" not in _text(page)
    for jargon in ("small_world", "Time:", "Render Interval", "Use Threads"):
        assert jargon not in _text(page)


@pytest.mark.filterwarnings("ignore:There is no current event loop:DeprecationWarning")
def test_a_failure_while_drawing_the_page_shows_a_message_not_a_traceback(page, monkeypatch):
    import ipyvuetify as v

    def broken(key, value):
        raise RuntimeError("boom")

    monkeypatch.setattr("bondsim.app.session.describe", broken)  # the sidebar's "press Reset" notice fails to draw
    page.find(v.Slider, label="Dose: 50 mg a day").widget.v_model = 25.0
    assert app.FRIENDLY_ERROR in str([w.children for w in page.find(v.Html).widgets])
    assert "Traceback" not in _text(page) and "boom" not in _text(page)
    monkeypatch.undo()
    page.find(v.Btn, children=["Restart this lesson"]).widget.click()
    page.find(v.Btn, children=["Step"]).assert_single()


def test_the_printable_worksheet_is_up_to_date_with_the_docs():
    from pathlib import Path

    tool = Path(__file__).resolve().parent.parent / "tools" / "worksheet_html.py"
    out = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_the_lessons_table_of_the_docs_names_every_lesson_and_a_test_that_exists():
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "classroom.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([^|]+?) \|.*\| `(test_\w+)` \|$", docs, flags=re.MULTILINE)
    assert [lesson for lesson, _ in rows] == list(PRESETS)
    for _, test in rows:
        assert callable(globals().get(test)), test


def test_importing_the_app_does_not_start_solara():
    code = "import sys, bondsim.app, bondsim.cli; bondsim.cli.build_parser(); print('solara' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False"


# ------------------------------------------------------------------ the command's errors


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_bad_port_is_one_line_and_status_2(port, capsys):
    from bondsim.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["app", "--port", port])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--port" in err


def test_busy_port_is_one_line_and_status_2(bondsim):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = bondsim("app", "--port", str(port))
    assert out.returncode == 2
    assert out.stderr.strip() == f"bondsim app: error: cannot serve on 127.0.0.1:{port}: Address already in use"
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_a_config_gives_every_lesson_its_mechanisms_and_drugs(tmp_path, monkeypatch):
    (tmp_path / "app_mechanism.py").write_text(
        "from bondsim.mechanism import Variable, rule\n"
        "VARIABLES = (Variable('met_so_far', 'contacts so far', dtype='int'),)\n\n\n"
        "@rule('update', writes=('met_so_far',))\ndef count(met_so_far, contacts):\n    return met_so_far + contacts\n"
    )
    from bondsim.mechanisms import DEFAULT

    mechanisms = ", ".join(f'"{m}"' for m in (*DEFAULT, "app_mechanism"))
    (tmp_path / "class.toml").write_text(
        f"mechanisms = [{mechanisms}]\n[drugs.classamine]\nlike = 'naltrexone'\nhalf_life_h = 2.0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(app.CONFIG_ENV, str(tmp_path / "class.toml"))
    app.base_params.cache_clear()
    try:
        assert "classamine" in app.app_drugs()
        for engine in ("agents", "array"):
            run = app.preset_run("free play", engine=engine)
            run.step(24)
            assert run.model.state()["met_so_far"].sum() > 0
    finally:
        app.base_params.cache_clear()


def test_a_bad_app_config_is_one_line_before_serving(bondsim, tmp_path):
    (tmp_path / "bad.toml").write_text("[params]\nrejection_rat = 0.3\n")
    import socket

    with socket.socket() as sock:  # a free port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = bondsim("app", "--config", "bad.toml", "--port", str(port), cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "bondsim app: error: unknown parameter 'rejection_rat' (did you mean 'rejection_rate'?)"
    ]
