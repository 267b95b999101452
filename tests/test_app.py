"""The classroom app without a browser: presets, runs, snapshots, views, the session, the page, the command.

The app's tests run with both engines; the presets' "what to look for" sentences are checked here
by running each preset headless and asserting the direction it states.
"""

from __future__ import annotations

import functools
import io
import itertools
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
from bondsim.app.downloads import run_title
from bondsim.app.views import MARK_COLOURS, ROLE_COLOURS, group_colour, monitors_html, palette, plots_svg
from bondsim.params import FIELDS

ENGINES = ["array", "agents"]
SVG = "{http://www.w3.org/2000/svg}"


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


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_the_community_it_describes_settled_with_its_events_after_day_0(name):
    preset = PRESETS[name]
    assert set(preset.settings) == set(CONTROLS), "a preset sets every control"
    run = preset_run(name)
    p = run.model.params
    assert p.n_agents == 200 and p.separation == "none" and p.dose_mg == 0.0  # nothing scheduled by the model
    for key, value in preset_kwargs(name).items():
        if key not in ("seed", "dose_mg") and not (key == "rejection_rate" and preset.name == "rejection"):
            assert getattr(p, key) == value, key
    assert run.model.seed == preset.settings["seed"]
    assert run.settled_days >= 42 and run.hours == 0 and run.steps == 0
    assert (run.baseline_model is not None) == bool(preset.baseline_without)
    if run.baseline_model is not None:  # the same settled community
        for key in ("tone", "reward_memory", "felt_connection"):
            np.testing.assert_array_equal(run.model.state()[key], run.baseline_model.state()[key])
    assert preset.looks and preset.measure is not None and preset.days * 24 == run.end_steps
    assert all(0 < c.day < preset.days for c in preset.checkpoints)


@pytest.mark.slow
def test_both_engines_give_the_same_lesson_with_its_change_of_rejection():
    runs = [preset_run("rejection", {**PRESETS["rejection"].settings, "n_agents": 40}, engine=e) for e in ENGINES]
    for run in runs:
        run.step(36)  # past the change on day 1
    a, b = (run.frame() for run in runs)
    for key in ("tone_ratio", "distress", "seeking"):
        np.testing.assert_allclose(a.series[key]["everyone"], b.series[key]["everyone"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.baseline[key], b.baseline[key], rtol=1e-12, atol=1e-12)
    assert a.series["tone_ratio"]["everyone"][-1] < a.baseline["tone_ratio"][-1]


def test_reset_rebuilds_the_current_preset_with_the_changed_controls():
    session = Session()
    session.load("separation")
    session.load("separation", {**PRESETS["separation"].settings, "rejection_rate": 0.5, "n_agents": 120})
    p = session.run.model.params
    assert (p.separation_fraction, p.rejection_rate, p.n_agents) == (0.3, 0.5, 120) and session.run.has_loss
    assert session.preset == "separation" and session.frame.n == 120
    session.load("placebo vs naltrexone", {**PRESETS["placebo vs naltrexone"].settings, "dose_mg": 25.0})
    assert session.run.model.params.drug == "naltrexone" and session.run.settings["dose_mg"] == 25.0
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


def test_history_and_snapshot_agree_and_time_is_in_days():
    run = Run({"n_agents": 60, "seed": 3})
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


def test_groups_follow_the_lesson():
    assert list(preset_run("free play").groups()) == ["placebo pill", "no pill"]
    full = Run({"drug": "naltrexone", "treated_fraction": 1.0, "n_agents": 60})
    assert list(full.groups()) == ["everyone"]
    run = preset_run("placebo vs naltrexone")
    groups = run.groups()
    assert list(groups) == ["naltrexone arm", "placebo arm"] and groups["naltrexone arm"].sum() == 100
    run = preset_run("separation")
    run.step(24)
    assert list(run.groups()) == ["everyone"]
    run.step(1)  # the loss happens on day 1 (hour 24)
    groups = run.groups()
    assert list(groups) == ["lost a partner", "others"]
    assert groups["lost a partner"].sum() >= 60  # 30 % of 200 leave; their partners lose someone too
    frame = run.frame()
    assert frame.people["bereaved"].sum() == groups["lost a partner"].sum()
    assert all(len(v) == 26 for v in frame.series["distress"].values())  # the new groups' lines from day 0
    assert len(frame.baseline["distress"]) == 26  # and the comparison run's, for the same people


def test_a_lesson_stops_at_its_end_and_marks_its_events():
    run = preset_run("morphine and distress")
    assert [(m.kind, m.day) for m in run.marks] == [("alone", 1.0), ("together", 3.0), ("dose", 1.0), ("dose", 2.0)]
    run.step(10**6)
    assert run.ended and run.steps == 96 and run.frame().x_max == 4.0
    run.step(5)
    assert run.steps == 96
    weeks = preset_run("weeks of naltrexone")
    assert [m.day for m in weeks.marks if m.kind == "dose"] == [float(d) for d in range(1, 22)]


# ------------------------------------------------------------------ what to look for: a test per sentence
#
# Each lesson runs once, to its end, on its default community (array engine), and each sentence of
# its "what to look for" is checked on the numbers its plots show (frame.series: group means, the
# seeking curve as plotted, a 6-hour mean). Thresholds are in the lesson's own terms ("higher than",
# "below", "at least half"), so that they read the model rather than today's numbers.

H = 24  # steps a day (one-hour steps)


@functools.cache
def _finished(name: str):
    run = preset_run(name)
    run.step(10**6)
    assert run.ended
    return run.frame()


def _series(name: str, key: str) -> dict[str, np.ndarray]:
    return _finished(name).series[key]


def _day(a: float, b: float | None = None) -> slice:
    """Steps from day a to day b (inclusive of a, exclusive of b; b None: to the end)."""
    return slice(round(a * H), None if b is None else round(b * H))


def test_every_sentence_has_its_own_test():
    for name, preset in PRESETS.items():
        for key, _ in preset.looks:
            test = f"test_{name}_{key}".replace(" ", "_")
            assert callable(globals().get(test)), f"no {test} for {name!r}: {preset.look(key)!r}"


def test_every_lesson_starts_settled_and_flat_until_its_first_event():
    for name, preset in PRESETS.items():
        first = min(e.day for e in preset.events)
        frame = _finished(name)
        for key in ("felt_connection", "strong_bonds", "tone_ratio", "distress"):
            for values in frame.series[key].values():
                before = values[: round(first * H) + 1]
                lo, hi = frame.y_range(key)
                assert np.ptp(before) < 0.08 * (hi - lo), (name, key, np.ptp(before))


def test_free_play_settled():
    felt, bonds = _series("free play", "felt_connection"), _series("free play", "strong_bonds")
    for group in felt:
        assert abs(felt[group][_day(3)].mean() - felt[group][_day(0, 1)].mean()) < 0.01
        assert abs(bonds[group][_day(3)].mean() - bonds[group][_day(0, 1)].mean()) < 0.1
    assert min(v[0] for v in bonds.values()) > 1.0  # settled: bonds have formed before day 0


def test_free_play_chance():
    bonds = _series("free play", "strong_bonds")
    gap = bonds["placebo pill"][_day(0, 1)].mean() - bonds["no pill"][_day(0, 1)].mean()
    assert 0.02 < abs(gap) < 0.5  # a little, before any pill


def test_free_play_nothing():
    for key, most in (("felt_connection", 0.01), ("strong_bonds", 0.1), ("distress", 0.02)):
        by = _series("free play", key)
        gap = by["placebo pill"] - by["no pill"]
        assert abs(gap[_day(1.5)].mean() - gap[_day(0, 1)].mean()) < most, key


def test_placebo_vs_naltrexone_occupancy():
    occ = _series("placebo vs naltrexone", "occupancy")
    nal, pla = occ["naltrexone arm"], occ["placebo arm"]
    assert nal[: H + 1].max() == 0.0 and pla.max() == 0.0  # nothing before the first dose (day 1)
    assert nal[H + 2] >= 0.85  # about nine in ten, two hours after the first dose
    assert nal[_day(1.1)].min() >= 0.75  # and it stays high


def test_placebo_vs_naltrexone_distress():
    d = _series("placebo vs naltrexone", "distress")
    nal, pla = d["naltrexone arm"], d["placebo arm"]
    jumps = [nal[dose + 1 : dose + 7].mean() for dose in (H, 2 * H, 3 * H)]
    assert jumps[0] > pla[H + 1 : H + 7].mean() + 0.2  # it jumps at once
    assert jumps[0] > jumps[1] > jumps[2]  # each later dose, a smaller jump
    assert nal[_day(4)].mean() < 0.1 * jumps[0]  # gone by day 4


def test_placebo_vs_naltrexone_seeking():
    s = _series("placebo vs naltrexone", "seeking")
    nal, pla = s["naltrexone arm"], s["placebo arm"]
    assert (nal - pla)[H + 1 : H + 10].max() > 0.5  # first rises
    assert (nal - pla)[_day(2)].max() < 0  # from day 2 below the placebo arm's
    assert nal[_day(4)].mean() < pla[_day(4)].mean() - 1.0


def test_placebo_vs_naltrexone_connection():
    felt = _series("placebo vs naltrexone", "felt_connection")
    gap = felt["placebo arm"] - felt["naltrexone arm"]
    assert gap[-1] > 0  # less connected
    assert gap[_day(4)].mean() > gap[_day(2, 3)].mean() > gap[_day(0, 1)].mean() + 0.005  # more so each day


def test_separation_tone():
    tone = _series("separation", "tone_ratio")
    lost, others = tone["lost a partner"], tone["others"]
    assert lost[H + 2] < others[H + 2] - 0.3  # at once
    assert lost[_day(4)].mean() < others[_day(4)].mean() - 0.3  # and it stays low


def test_separation_distress():
    frame = _finished("separation")
    d, base = frame.series["distress"], frame.baseline["distress"]
    lost, others = d["lost a partner"], d["others"]
    jump = _day(1.05, 1.5)
    assert lost[jump].mean() > others[jump].mean() + 0.15
    assert lost[jump].mean() > base[jump].mean() + 0.15  # the same people, no loss (dashed)
    assert lost[_day(4.5)].mean() < lost[jump].mean()  # eases...
    assert lost[_day(4.5)].mean() > 0.5 * lost[jump].mean()  # ...only a little


def test_separation_protest():
    frame = _finished("separation")
    s = frame.series["seeking"]
    lost, others = s["lost a partner"], s["others"]
    protest = (lost - others)[H + 1 : H + 12].max()
    lo, hi = frame.y_range("seeking")
    assert protest > 0.3 and protest / (hi - lo) > 0.06  # more, and visible: 6% of the panel's height
    assert (lost - others)[_day(2)].max() < 0  # from day 2 less (despair)
    assert (others - lost)[_day(3)].mean() / (hi - lo) > 0.06


def test_morphine_and_distress_alone():
    d = _series("morphine and distress", "distress")["placebo arm"]
    assert d[H + 1 : H + 7].mean() > d[: H + 1].mean() + 0.3  # jumps
    assert d[_day(2.75, 3)].mean() < d[H + 1 : H + 7].mean() - 0.1  # eases slowly
    assert d[_day(2.75, 3)].mean() > 0.5 * d[H + 1 : H + 7].mean()


def test_morphine_and_distress_soothed():
    d = _series("morphine and distress", "distress")
    mor, pla = d["morphine arm"], d["placebo arm"]
    for dose in (H, 2 * H):
        after = slice(dose + 1, dose + 9)
        assert mor[after].mean() < pla[after].mean() - 0.03, dose  # lower, for hours after each dose


def test_morphine_and_distress_wears_off():
    d = _series("morphine and distress", "distress")
    mor, pla = d["morphine arm"], d["placebo arm"]
    for dose in (H, 2 * H):
        wearing_off = slice(dose + 18, dose + 24)
        assert mor[wearing_off].mean() > pla[wearing_off].mean() + 0.05, dose


def test_morphine_and_distress_reunion():
    d = _series("morphine and distress", "distress")
    mor, pla = d["morphine arm"], d["placebo arm"]
    later = _day(3.25)
    assert pla[later].mean() < 0.05
    assert mor[later].mean() > pla[later].mean() + 0.03


def test_morphine_withdrawal_between_doses():
    d = _series("morphine withdrawal", "distress")
    mor, pla = d["morphine arm"], d["placebo arm"]
    for dose in (2 * H, 3 * H, 4 * H):  # as the previous dose wears off, distress; the next takes it away
        assert mor[dose - 6 : dose + 1].mean() > pla[dose - 6 : dose + 1].mean() + 0.08, dose
        assert mor[dose + 3 : dose + 9].mean() < pla[dose + 3 : dose + 9].mean() + 0.05, dose


def test_morphine_withdrawal_withdrawal():
    d = _series("morphine withdrawal", "distress")
    mor, pla = d["morphine arm"], d["placebo arm"]
    after = _day(5.5)
    assert mor[after].mean() > pla[after].mean() + 0.1
    assert mor[_day(7.5)].mean() > 0.5 * mor[_day(5.5, 6)].mean()  # fades only slowly


def test_morphine_withdrawal_seeking():
    s = _series("morphine withdrawal", "seeking")
    assert s["morphine arm"][_day(5.5)].mean() > s["placebo arm"][_day(5.5)].mean() + 0.15


def test_rejection_tone():
    frame = _finished("rejection")
    tone, base = frame.series["tone_ratio"]["everyone"], frame.baseline["tone_ratio"]
    assert tone[_day(2)].mean() < base[_day(2)].mean() - 0.15


def test_rejection_distress():
    frame = _finished("rejection")
    d, base = frame.series["distress"]["everyone"], frame.baseline["distress"]
    assert d[_day(1.1, 1.5)].mean() > base[_day(1.1, 1.5)].mean() + 0.04  # within hours
    assert d[_day(3)].mean() > base[_day(3)].mean() + 0.02  # and stays above


def test_rejection_seeking():
    frame = _finished("rejection")
    s, base = frame.series["seeking"]["everyone"], frame.baseline["seeking"]
    assert s[_day(3)].mean() > base[_day(3)].mean() + 0.3


def test_rejection_bonds():
    frame = _finished("rejection")
    felt, base = frame.series["felt_connection"]["everyone"], frame.baseline["felt_connection"]
    assert felt[_day(5)].mean() < base[_day(5)].mean() - 0.003  # slowly: less than a hundredth in five days
    assert felt[_day(5)].mean() < felt[_day(2, 3)].mean() < felt[_day(0, 1)].mean()  # a little lower each day


def test_weeks_of_naltrexone_receptors():
    r = _series("weeks of naltrexone", "receptors")["naltrexone arm"]
    assert r[15 * H] > 1.5 * r[0]


def test_weeks_of_naltrexone_distress():
    d = _series("weeks of naltrexone", "distress")
    nal, pla = d["naltrexone arm"], d["placebo arm"]
    assert nal[H + 1 : H + 7].mean() > pla[H + 1 : H + 7].mean() + 0.2
    assert nal[_day(7, 21)].mean() < pla[_day(7, 21)].mean() + 0.02  # faded, while the blockade goes on
    assert _series("weeks of naltrexone", "occupancy")["naltrexone arm"][_day(7, 21)].min() > 0.75


def test_weeks_of_naltrexone_seeking():
    s = _series("weeks of naltrexone", "seeking")
    assert s["naltrexone arm"][_day(7, 21)].max() < s["placebo arm"][_day(7, 21)].min() - 1.0


def test_weeks_of_naltrexone_after():
    frame = _finished("weeks of naltrexone")
    occ, rec = frame.series["occupancy"]["naltrexone arm"], frame.series["receptors"]["naltrexone arm"]
    seek, felt = frame.series["seeking"], frame.series["felt_connection"]
    assert 0.2 < occ[28 * H] < 0.75 and occ[-1] < 0.25  # fades over about two weeks
    assert rec[-1] < 1.1 * rec[0]  # about the number of day 0 again
    placebo = frame.series["receptors"]["placebo arm"]
    assert rec[-1] - placebo[-1] < 0.2 * (rec[21 * H] - placebo[21 * H])  # back towards the placebo arm's
    gap = seek["placebo arm"] - seek["naltrexone arm"]
    assert gap[_day(34)].mean() < 0.25 * gap[_day(14, 21)].mean()  # seeking comes back
    felt_gap = felt["placebo arm"] - felt["naltrexone arm"]
    assert felt_gap[_day(34)].mean() < 0.5 * felt_gap[_day(14, 21)].mean()
    assert (seek["naltrexone arm"] - seek["placebo arm"])[_day(21)].max() < 0.5  # little overshoots


def test_the_class_measure_of_every_lesson_is_reached_and_in_its_prediction_range():
    for name, preset in PRESETS.items():
        run = preset_run(name)
        run.step(10**6)
        value = run.measure(preset.measure)
        assert value is not None and preset.measure.low <= value <= preset.measure.high, (name, value)


# ------------------------------------------------------------------ views


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_network_view_draws_every_person_and_every_open_tie():
    run = preset_run("separation")
    run.step(49)
    frame = run.frame()
    open_ties = int(run.model.open_edges()[run.forward].sum())
    assert len(frame.edges) == open_ties == run.model.network.n_edges // 2 - int((~run.model.open_edges()).sum()) // 2
    svg = run.painter.svg(frame)
    root = _svg(svg)
    assert root.get("data-steps") == "49"
    dots = [p for p in root.iter("{http://www.w3.org/2000/svg}path") if p.get("stroke-linecap")]
    assert dots[0].get("d").count("h0") == frame.n  # the outline under every dot
    assert "".join(p.get("d") for p in dots[1:]).count("h0") == frame.n
    links = "".join(
        p.get("d")
        for p in root.iter("{http://www.w3.org/2000/svg}path")
        if p.get("stroke") == "#000" and "L" in p.get("d")
    )
    assert links.count("L") == open_ties
    assert "lost a partner" in svg and ROLE_COLOURS["lost"] in svg  # the bereaved are marked, in their line's colour
    assert root.find("{http://www.w3.org/2000/svg}desc").text.startswith("The network of 200 people at day 2, hour 1")
    assert run.painter.svg(frame, "distress") != svg
    with pytest.raises(ValueError, match="colour mode"):
        run.painter.svg(frame, "bonds")


def test_plots_keep_the_lesson_span_one_line_per_group_the_comparison_dashed_and_the_events_marked():
    run = preset_run("rejection")
    run.step(30)
    frame = run.frame()
    root = _svg(plots_svg(frame))
    drawn = [*root.iter(f"{SVG}polyline"), *root.iter(f"{SVG}use")]  # a line in <defs> is drawn by its <use>
    lines = [line for line in drawn if line.get("stroke") not in (None, "white")]
    assert len(lines) == 6 * 2  # six panels: everyone and the usual-rejection run (not the halos)
    dashed = [line for line in lines if line.get("stroke-dasharray")]
    assert len(dashed) == 6 and {line.get("stroke") for line in lines} == {ROLE_COLOURS["everyone"]}
    texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "usual rejection (20%)" in texts and "opioid tone" in texts and "days since day 0" in texts
    assert "day 1: 70% turned down" in texts
    assert len([e for e in root.iter(f"{SVG}line") if e.get("class") == "bondsim-event"]) == 6
    assert frame.x_max == 6.0  # the lesson's span from the start: no rescaling as it plays
    assert root.find(f"{SVG}desc").text.startswith("Plots over days 0 to 6 of the lesson rejection, now day 1, hour 6")
    assert "opioid tone (1 = own set point): everyone 1.0" in root.find(f"{SVG}desc").text
    assert plots_svg(frame) == plots_svg(run.frame())
    run.step(1)
    assert _svg(plots_svg(run.frame())).get("data-steps") == "31"
    doses = _svg(plots_svg(preset_run("placebo vs naltrexone").frame()))
    triangles = [p for p in doses.iter(f"{SVG}path") if p.get("class") == "bondsim-dose"]
    assert len(triangles) == 6 and triangles[0].get("d").count("z") == 4  # doses on days 1-4, in each panel


def test_the_plots_drawn_step_by_step_from_a_runs_line_cache_equal_the_plots_drawn_afresh():
    """A page draws each step with its run's formatted lines; the picture is the one drawn from nothing.

    The weeks-long lesson thins its lines (a stride of several steps); a lesson whose groups appear
    mid-run (separation: who lost a partner) redraws its lines.
    """
    plays = {
        "weeks of naltrexone": (1, 1, 5, 3, 60, 1, 2),
        "separation": (1, 30, 40, 1, 20),
        "morphine withdrawal": (100, 1),
    }
    for lesson, steps in plays.items():
        run = preset_run(lesson)
        for big in (False, True):
            assert plots_svg(run.frame(), big, run.line_text) == plots_svg(run.frame(), big)
        for k in steps:
            run.step(k)
            frame = run.frame()
            for big in (False, True):
                assert plots_svg(frame, big, run.line_text) == plots_svg(frame, big), (lesson, run.steps, big)
    points = [line.get("points") for line in _svg(plots_svg(frame)).iter(f"{SVG}polyline")]
    assert max(p.count(" ") + 1 for p in points) <= 400


def test_monitors_say_what_the_plots_say_in_the_same_units():
    run = preset_run("placebo vs naltrexone")
    run.step(27)
    frame = run.frame()
    html = monitors_html(frame)
    assert "day 1, hour 3" in html and "naltrexone arm" in html and "placebo arm" in html
    occupancy = frame.series["occupancy"]["naltrexone arm"][-1]
    assert f">{occupancy:.0%}<" in html and "receptors held by the drug (%)" in html
    assert "close bond: a bond of at least 0.5" in html and "close bonds (per person)" in html
    plots = plots_svg(frame)
    assert ">100%</text>" in plots and ">50%</text>" in plots  # the occupancy axis is in % too


def test_colours_have_one_meaning_each_and_stay_apart_in_colour_blind_vision():
    """Every pair of meaningful colours keeps a distance under simulated deuteranopia and protanopia.

    Machado, Oliveira and Fernandes (2009) matrices at full severity, applied in linear RGB; the
    distance is CIE76 in CIELAB.
    """
    deutan = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]])
    protan = np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    )

    def lab(colour: str, matrix) -> np.ndarray:
        rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        if matrix is not None:
            linear = np.clip(matrix @ linear, 0, 1)
        xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.072175],
                        [0.0193339, 0.119192, 0.9503041]]) @ linear / np.array([0.95047, 1.0, 1.08883])  # fmt: skip
        f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    colours = dict(ROLE_COLOURS)
    assert len(set(colours.values())) == len(colours)  # one colour per meaning
    for name, matrix in (("normal", None), ("deuteranopia", deutan), ("protanopia", protan)):
        for (a, ca), (b, cb) in itertools.combinations(colours.items(), 2):
            distance = np.linalg.norm(lab(ca, matrix) - lab(cb, matrix))
            assert distance >= 15, (name, a, b, round(distance, 1))
    # the people's colours run one way in lightness, so that any colour vision reads their order
    for mode in ("tone", "distress"):
        lightness = [lab(c, None)[0] for c in palette(mode)]
        steps = np.diff(lightness)
        assert (steps > 0).all() or (steps < 0).all(), mode
    # rings have their line's colour
    assert (
        group_colour("naltrexone arm") == MARK_COLOURS["treated"]
        and group_colour("lost a partner") == (MARK_COLOURS["bereaved"])
    )
    assert group_colour("placebo pill") == ROLE_COLOURS["pill"] != group_colour("no pill")


def test_exports_name_the_lesson_its_changed_settings_the_engine_and_the_seed():
    session = Session()
    session.load("placebo vs naltrexone", {**PRESETS["placebo vs naltrexone"].settings, "treated_fraction": 1.0})
    session.step(12)
    text = session.csv()
    head = [line for line in text.splitlines() if line.startswith("#")]
    assert "# lesson: placebo vs naltrexone" in head
    assert "# changed from the lesson: People taking the pill: 100%" in head
    assert "# engine: array" in head and "# seed (community number): 1" in head
    assert any(line.startswith("# day 0 is the end of a warm-up of 42 days") for line in head)
    import pandas as pd

    table = pd.read_csv(io.StringIO(text), comment="#")
    assert list(table["group"].unique()) == ["everyone"] and len(table) == 13
    frame = session.frame
    title = run_title("placebo vs naltrexone", session.run.settings, "array", frame)
    assert "changed: People taking the pill: 100%" in title and "naltrexone 50 mg a day, everyone" in title
    assert "placebo vs naltrexone (" in title and "community 1, array engine" in title
    png = session.png("distress")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    free = run_title("free play", PRESETS["free play"].settings, "array", preset_run("free play").frame())
    assert "a placebo pill, 50% of 200 people" in free and "changed" not in free


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
    session.set_speed(20)  # well short of free play's checkpoint (day 1) in the time watched
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
    assert page.find(v.Btn, children=["▶ Play"]).widget.disabled  # playing: Play again does nothing
    click("❚❚ Pause")
    time.sleep(0.3)
    assert not page.find(v.Btn, children=["▶ Play"]).widget.disabled
    assert page.find(v.Btn, children=["❚❚ Pause"]).widget.disabled
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
    rows = re.findall(r"^\| ([^|]+?) \|.*\| ((?:`test_\w+`(?:, )?)+) \|$", docs, flags=re.MULTILINE)
    assert [lesson for lesson, _ in rows] == list(PRESETS)
    for lesson, tests in rows:
        named = re.findall(r"`(test_\w+)`", tests)
        assert named == [f"test_{lesson}_{key}".replace(" ", "_") for key, _ in PRESETS[lesson].looks], lesson
        for test in named:
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
