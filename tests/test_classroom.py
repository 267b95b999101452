"""The class as a whole (bondsim.app.classroom) and the server's sessions (reloads, expiry, memory), without a browser.

The browser tests (tests/test_app_browser.py) drive the same with two students and a teacher page.
"""

from __future__ import annotations

import math
import threading
import time

import pytest

from bondsim.app import PRESETS, Session
from bondsim.app.classroom import Classroom, classroom, mean_interval
from bondsim.app.qr import lan_addresses, qr_svg, student_url
from bondsim.app.session import Sessions
from bondsim.app.views import class_plot_svg

LESSON = "placebo vs naltrexone"


def test_mean_and_its_95_percent_interval_match_students_t():
    from scipy import stats

    values = [0.1, -0.3, 0.25, 0.0, -0.12, 0.4, -0.05]
    mean, low, high = mean_interval(values)
    sem = stats.sem(values)
    want = stats.t.interval(0.95, len(values) - 1, loc=sum(values) / len(values), scale=sem)
    assert mean == pytest.approx(sum(values) / len(values))
    assert (low, high) == pytest.approx(want, abs=0.01 * sem)  # the t table has two decimals
    assert mean_interval([]) == (None, None, None) and mean_interval([0.5]) == (0.5, None, None)
    many = mean_interval([float(i % 7) for i in range(100)])  # past the table: the normal's 1.96
    assert many[2] - many[0] == pytest.approx(1.96 * stats.sem([float(i % 7) for i in range(100)]))


def test_students_join_with_the_code_each_with_a_community_of_their_own():
    room = Classroom(code="abcd")
    assert room.code == "ABCD"
    with pytest.raises(ValueError, match="code"):
        room.join("s1", "Ann", "ABCE")
    with pytest.raises(ValueError, match="name"):
        room.join("s1", "   ", "ABCD")
    heard = []
    unsubscribe = room.subscribe(lambda: heard.append(room.version))
    ann, bob = room.join("s1", "  Ann  ", "abcd"), room.join("s2", "Bob", "ABCD")
    assert ann.name == "Ann" and {ann.community, bob.community} == {1, 2} and heard == [1, 2]
    assert room.join("s1", "Ann B", "ABCD").community == ann.community  # a new name, the same student
    unsubscribe()
    room.join("s3", "Cy", "ABCD")
    assert len(heard) == 3 and room.student("s3").community == 3 and room.student("nobody") is None


def test_a_student_who_joins_again_from_another_computer_is_counted_once():
    room = Classroom(code="ABCD")
    room.join("s1", "Ann", "ABCD")
    room.join("s2", "Bob", "ABCD")
    room.predict("s1", "rejection", -0.2)
    room.submit("s1", "rejection", -0.3, 1, ())
    again = room.join("s9", " ann ", "ABCD")  # a new tab or computer: the same name
    assert again.community == 1 and room.student("s1") is None and len(room.students) == 2
    summary = room.summary("rejection")
    assert summary.rows == (("ann", -0.3, -0.2, False),)  # her prediction and result, once
    room.submit("s1", "rejection", -0.9, 1, ())  # the old tab's run no longer counts
    room.submit("s9", "rejection", -0.1, 1, ())  # the latest run counts
    assert room.summary("rejection").rows == (("ann", -0.1, -0.2, False),)
    assert room.join("s2", "Bob", "ABCD").community == 2  # joining again on the same page changes nothing


def test_the_summary_pools_results_beside_predictions_and_leaves_changed_runs_out_of_the_mean():
    room = Classroom(code="ABCD")
    for i, name in enumerate(["Ann", "Bob", "Cy", "Dee"]):
        room.join(f"s{i}", name, "ABCD")
    room.predict("s0", LESSON, -0.2)
    room.predict("s1", LESSON, 0.1)
    room.predict("ghost", LESSON, 0.9)  # never joined: ignored
    room.submit("s0", LESSON, -0.05, 1, ())
    room.submit("s1", LESSON, -0.01, 2, ())
    room.submit("s2", LESSON, -0.03, 3, ())
    room.submit("s3", LESSON, 0.5, 4, ("Dose: 5 mg a day",))  # settings changed: shown, not counted
    room.submit("s2", LESSON, math.nan, 3, ())  # not a number: ignored
    summary = room.summary(LESSON)
    assert [row[0] for row in summary.rows] == ["Ann", "Bob", "Cy", "Dee"]
    assert summary.rows[0] == ("Ann", -0.05, -0.2, False) and summary.rows[3][3] is True
    assert summary.values == [-0.05, -0.01, -0.03]
    assert summary.mean == pytest.approx(-0.03) and summary.low < -0.03 < summary.high
    assert summary.predicted_mean == pytest.approx(-0.05) and not summary.revealed
    room.reveal(LESSON)
    assert room.summary(LESSON).revealed and not room.summary("separation").revealed
    svg = class_plot_svg(room.summary(LESSON), PRESETS[LESSON].measure)
    assert 'data-results="4"' in svg and 'data-predictions="2"' in svg and "<desc>" in svg
    assert "Mean result -0.030, 95% interval" in svg and svg.count("<circle") == 6
    room.clear(LESSON)
    assert room.summary(LESSON).rows == () and not room.summary(LESSON).revealed


def test_a_student_names_cannot_inject_markup_into_the_teachers_plot():
    room = Classroom(code="ABCD")
    room.join("s0", "<script>alert(1)</script>", "ABCD")
    room.submit("s0", LESSON, 0.1, 1, ())
    svg = class_plot_svg(room.summary(LESSON), PRESETS[LESSON].measure)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_session_joins_predicts_before_play_and_sends_its_result_once_at_the_end():
    room = classroom()
    room.clear(LESSON)
    session = Session()
    session.load(LESSON)
    with pytest.raises(ValueError, match="code"):
        session.join("Ann", "nope")
    session.join("Ann", room.code)
    assert session.run.settings["seed"] == session.community == room.student(session.key).community
    session.predict(-0.1)
    session.step(1)
    with pytest.raises(ValueError, match="before the run starts"):
        session.predict(0.3)
    stops = 0
    while not session.run.ended:
        session.step(1000)  # each call stops at the next checkpoint or at the end
        stops += 1
    assert stops == 1 + len(PRESETS[LESSON].checkpoints)
    summary = room.summary(LESSON)
    mine = [row for row in summary.rows if row[0] == "Ann"]
    assert mine and mine[-1][1] == pytest.approx(session.result()) and mine[-1][2] == -0.1
    assert session.sent == pytest.approx(session.result())
    session.step(1)  # nothing happens after the end, and nothing is sent again
    assert room.summary(LESSON) == summary
    session.load(LESSON)  # a new run: a new prediction
    assert session.prediction is None and session.sent is None and session.run.steps == 0
    session.close()


class _Page:
    """A Solara kernel context as Sessions sees it: its browser (cookie), whether its page is there."""

    def __init__(self, browser: str) -> None:
        from solara.server.kernel_context import PageStatus

        self.session_id = browser
        self.closed_event = threading.Event()
        self.page_status = {"page": PageStatus.CONNECTED}

    def close(self) -> None:
        self.closed_event.set()


def test_a_reload_finds_its_run_another_tab_gets_its_own_and_closed_ones_expire():
    held = Sessions(ttl_s=60, most=3)
    first = _Page("browser-a")
    session = held.attach(first, "array")
    session.step(5)
    other_tab = held.attach(_Page("browser-a"), "array")  # the first tab is still open
    assert other_tab is not session
    first.close()  # a reload: the old page goes, a new one comes from the same browser
    again = held.attach(_Page("browser-a"), "array")
    assert again is session and again.frame.steps == 5
    assert held.attach(_Page("browser-b"), "array") is not session  # another browser: its own
    assert held.count() == 3
    for i in range(5):  # five pages that close (each attach also expires)
        page = _Page(f"closed-{i}")
        held.attach(page, "array")
        page.close()
    t0 = time.monotonic()
    assert held.expire(now=t0) == 1 and held.count() == 6  # at most three closed ones kept
    assert held.expire(now=t0 + 30) == 0
    assert held.expire(now=t0 + 61) == 3 and held.count() == 3
    held.clear()
    assert held.count() == 0


def test_the_class_address_and_its_qr_code():
    addresses = lan_addresses()
    assert all(not a.startswith("127.") for a in addresses)
    assert student_url("192.168.1.20", 8765, "ABCD") == "http://192.168.1.20:8765/?class=ABCD"
    assert student_url("0.0.0.0", 8765, "ABCD").endswith(":8765/?class=ABCD")
    svg = qr_svg("http://192.168.1.20:8765/?class=ABCD")
    assert svg.startswith("<svg") and "<path" in svg and "http" not in svg.split(">", 1)[1]  # drawn, not linked
