"""One browser session: its run, the latest snapshot, the play loop (a thread), its student and the page's context.

Every change of the run and every snapshot happens under the session's lock; the page reads only
snapshots. The play loop stops when the tab closes or disconnects, at a lesson's checkpoints and at
its end. Sessions outlive their page for a while (:class:`Sessions`): a reload finds its run again.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from .classroom import classroom
from .downloads import csv_text, report_png, run_title
from .lessons import CONTROLS, PRESETS, Checkpoint, changed_settings, describe
from .run import preset_run
from .views import monitors_html, plots_svg

log = logging.getLogger(__name__)

SPEEDS = (1, 2, 5, 10, 20, 100)  # simulated hours per second while playing (100: fast forward)
DEFAULT_SPEED = 5
FRAMES_PER_S = 20  # at most this many pictures a second: faster speeds take several steps per picture
CATCH_UP_S = 1.0  # play makes up for at most this much lost time (a step delayed by other sessions' steps)
_thread_ids = itertools.count(1)
_session_ids = itertools.count(1)

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
    """A browser session's state: the lesson, the run, its latest snapshot, the play loop, the student.

    Every change of the run (step, reset, lesson) and every snapshot happens under ``lock``;
    the page reads only ``frame``, an immutable snapshot swapped in whole (with the ``run`` it
    belongs to). After each change, ``draw`` (set by the page) puts the latest snapshot into the
    page's view widgets directly, with no re-render of the page, and ``notify`` (set by the page)
    updates the buttons when playing, the lesson, a checkpoint or an error changes. Both are
    called after the lock is released.

    Play pauses by itself at each of the lesson's checkpoints (``checkpoint`` is then its question)
    and at the lesson's end, when the run's result is sent to the class (if the student joined).

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
        self.key = f"s{next(_session_ids)}-{secrets.token_hex(4)}"  # the student's id in the class
        self.student_name: str | None = None
        self.community: int | None = None  # given by the class when the student joins
        self.prediction: float | None = None
        self.sent: float | None = None  # the result sent to the class for this run
        self.preset = "free play"
        self.run = preset_run(self.preset, self.lesson_settings(self.preset), engine=engine)
        self.frame = self.run.frame()
        self.view = ("tone", False)  # colour mode, projector
        self.draw: Callable[[], None] = lambda: None
        self.playing = False
        self.speed = PRESETS[self.preset].speed
        self.error: str | None = None
        self.checkpoint: Checkpoint | None = None
        self.notify: Callable[[], None] = lambda: None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.steps_played = 0
        self.gone_since: float | None = None  # when its page was last seen gone (Sessions expire it)

    # ------------------------------------------------------------ the lesson's settings, the student's community
    def lesson_settings(self, preset: str) -> dict[str, Any]:
        """A lesson's own settings, in this student's community once they have joined a class."""
        settings = dict(PRESETS[preset].settings)
        if self.community is not None:
            settings["seed"] = self.community
        return settings

    # ------------------------------------------------------------ actions
    def _guard(self, action: Callable[[], None]) -> None:
        try:
            with self.lock:
                action()
                self.frame = self.run.frame()
            self.draw()
        except Exception:
            log.exception("bondsim app: an action failed")
            with self.lock:
                self.playing = False
                self.error = FRIENDLY_ERROR
        self._send_result()
        try:
            self.notify()
        except Exception:
            log.exception("bondsim app: updating the page failed")

    def views(self) -> dict[str, str]:
        """The latest snapshot drawn: HTML of the monitors, SVG of the network and of the plots."""
        with self.lock:
            frame, run = self.frame, self.run  # the snapshot of this run (both change together, under the lock)
            mode, big = self.view
        return {
            "monitors": monitors_html(frame, big),
            "network": run.painter.svg(frame, mode, big),
            "plots": plots_svg(frame, big, run.line_text),
        }

    def _next_stop(self) -> int:
        """Steps to the next checkpoint or the lesson's end (from now)."""
        step_hours = self.run.model.params.step_hours
        stops = [round(24.0 * c.day / step_hours) for c in PRESETS[self.preset].checkpoints]
        ahead = [k - self.run.steps for k in stops if k > self.run.steps]
        return min([*ahead, self.run.end_steps - self.run.steps])

    def _advance(self, steps: int) -> bool:
        """Step, stopping at a checkpoint or the end; under the lock. True if it stopped there."""
        self.checkpoint = None
        steps = min(steps, self._next_stop())
        self.run.step(steps)
        for c in PRESETS[self.preset].checkpoints:
            if round(24.0 * c.day / self.run.model.params.step_hours) == self.run.steps:
                self.checkpoint = c
                return True
        return self.run.ended

    def step(self, steps: int = 1) -> None:
        """Advance the run by ``steps`` steps (at most to the next checkpoint or the lesson's end)."""
        self._guard(lambda: self._advance(steps))

    def load(self, preset: str, settings: dict[str, Any] | None = None) -> None:
        """Start ``preset`` again with these control settings (default: the lesson's own); pauses."""
        if preset not in PRESETS:
            raise ValueError(f"unknown lesson {preset!r}")

        def action() -> None:
            self.playing = False
            self.error = None
            self.checkpoint = None
            self.prediction = None
            self.sent = None
            if preset != self.preset:
                self.speed = PRESETS[preset].speed
            self.preset = preset
            self.run = preset_run(preset, settings or self.lesson_settings(preset), engine=self.engine)

        self._guard(action)

    def set_speed(self, speed: float) -> None:
        """Simulated hours per second while playing."""
        self.speed = max(0.1, float(speed))

    def play(self) -> None:
        """Start the play loop (a thread of this session), unless it is running or the lesson has ended."""
        with self.lock:
            if self.error is not None or self.run.ended:
                return
            self.playing = True
            self.checkpoint = None
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
        """Stop the play loop (the page is gone); the run stays, for a reload."""
        with self.lock:
            self.playing = False
        self._stop.set()

    # ------------------------------------------------------------ the class
    def join(self, name: str, code: str) -> None:
        """Join the class (raises ValueError with a message for the student); the lesson restarts in their community."""
        student = classroom().join(self.key, name, code)
        with self.lock:
            self.student_name = student.name
            changed = self.community != student.community
            self.community = student.community
        if changed:
            self.load(self.preset)

    def predict(self, value: float) -> None:
        """Record this student's prediction for the lesson (only before the run has started)."""
        with self.lock:
            if self.run.steps > 0:
                raise ValueError("Predict before the run starts (Play or Step): restart the lesson to predict again.")
            self.prediction = float(value)
            preset = self.preset
        if self.student_name is not None:
            classroom().predict(self.key, preset, value)
        self.notify()

    def result(self) -> float | None:
        """The lesson's measure in this run (None until the run has reached its day)."""
        with self.lock:
            measure = PRESETS[self.preset].measure
            return None if measure is None else self.run.measure(measure)

    def _send_result(self) -> None:
        """Once the run reaches the lesson's end, its result goes to the class (once per run)."""
        with self.lock:
            if self.sent is not None or not self.run.ended or self.error is not None:
                return
            measure = PRESETS[self.preset].measure
            value = None if measure is None else self.run.measure(measure)
            if value is None:
                return
            self.sent = value
            changed = tuple(
                c for c in changed_settings(self.preset, self.run.settings) if not c.startswith("Community number")
            )
            preset, community = self.preset, int(self.run.settings["seed"])
            joined = self.student_name is not None
        if joined:
            classroom().submit(self.key, preset, value, community, changed)

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

    def _tick(self, steps: int) -> None:
        if self._advance(steps):
            self.playing = False  # a checkpoint or the end: the page asks its question

    def _play(self) -> None:
        gone_since: float | None = None
        due = time.monotonic()  # when the next step is due: steps keep to the clock, not to the work between them
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
            with self.lock:
                interval = max(1.0 / self.speed, 1.0 / FRAMES_PER_S)
                steps = max(1, round(self.speed * interval))
            self._guard(lambda steps=steps: self._tick(steps))
            self.steps_played += steps
            now = time.monotonic()
            due = max(due + interval, now - CATCH_UP_S)  # a session that fell far behind does not rush to catch up
            self._stop.wait(max(0.001, due - now))

    # ------------------------------------------------------------ downloads
    def csv(self) -> str:
        """The run's data as CSV, headed by what was run."""
        with self.lock:
            frame, settings, preset = self.frame, dict(self.run.settings), self.preset
            settled, own = self.run.settled_days, self.lesson_settings(preset)
        return csv_text(frame, lesson=preset, settings=settings, engine=self.engine, settled_days=settled, own=own)

    def png(self, mode: str = "tone") -> bytes:
        """The current figures as one PNG, titled with what was run."""
        with self.lock:
            frame, settings, preset = self.frame, dict(self.run.settings), self.preset
            own = self.lesson_settings(preset)  # in a class, the student's community is the lesson's own
        return report_png(frame, mode, title=run_title(preset, settings, self.engine, frame, own))

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


class Sessions:
    """The server's sessions, by browser: a reloaded page finds its run again; closed ones expire.

    A browser is known by Solara's session cookie. A page that opens attaches to the most recent
    session of its browser whose own page has gone (a reload, or the tab opened again); if every
    session of the browser still has its page (another tab), it gets a new one. A session whose page
    has gone is kept ``ttl_s`` seconds, and at most ``most`` such sessions are kept in all.
    """

    def __init__(self, ttl_s: float = 20 * 60, most: int = 120) -> None:
        self.ttl_s = ttl_s
        self.most = most
        self.lock = threading.Lock()
        self.by_browser: dict[str, list[Session]] = {}

    def attach(self, context: Any, engine: str) -> Session:
        """The session for a page that opens: its browser's last detached session, or a new one."""
        browser = getattr(context, "session_id", None) or "no-browser"
        self.expire()
        with self.lock:
            for session in reversed(self.by_browser.get(browser, [])):
                if not _connected(session.context) or session.context is context:
                    session.context = context
                    session.gone_since = None
                    return session
        session = Session(engine=engine, context=context)
        with self.lock:
            self.by_browser.setdefault(browser, []).append(session)
        return session

    def count(self) -> int:
        """Sessions held."""
        with self.lock:
            return sum(len(v) for v in self.by_browser.values())

    def expire(self, now: float | None = None) -> int:
        """Forget sessions whose page has been gone for ``ttl_s`` (and the oldest beyond ``most``); how many."""
        now = time.monotonic() if now is None else now
        dropped: list[Session] = []
        with self.lock:
            gone: list[tuple[float, str, Session]] = []
            for browser, sessions in self.by_browser.items():
                for session in sessions:
                    if _connected(session.context):
                        session.gone_since = None
                        continue
                    if session.gone_since is None:
                        session.gone_since = now
                    gone.append((session.gone_since, browser, session))
            gone.sort(key=lambda g: g[0])
            extra = max(0, len(gone) - self.most)
            for i, (since, browser, session) in enumerate(gone):
                if i < extra or now - since >= self.ttl_s:
                    self.by_browser[browser].remove(session)
                    dropped.append(session)
            self.by_browser = {b: s for b, s in self.by_browser.items() if s}
        for session in dropped:
            session.close()
            session.draw = session.notify = lambda: None
            session.context = None
        if dropped:
            release_memory()
        return len(dropped)

    def start_reaper(self, every_s: float = 30.0) -> None:
        """Expire sessions every ``every_s`` seconds in a thread of its own (once per process)."""
        with self.lock:
            if getattr(self, "_reaper", None) is not None:
                return
            self._reaper = threading.Thread(target=self._reap, args=(every_s,), name="bondsim-sessions", daemon=True)
            self._reaper.start()

    def _reap(self, every_s: float) -> None:
        while True:
            time.sleep(every_s)
            try:
                self.expire()
            except Exception:
                log.exception("bondsim app: expiring sessions failed")

    def clear(self) -> None:
        """Forget every session (tests)."""
        with self.lock:
            sessions = [s for v in self.by_browser.values() for s in v]
            self.by_browser = {}
        for session in sessions:
            session.close()


SESSIONS = Sessions(
    ttl_s=float(os.environ.get("BONDSIM_APP_SESSION_TTL_S", 20 * 60)),
    most=int(os.environ.get("BONDSIM_APP_SESSIONS_KEPT", 120)),
)


def release_memory() -> None:
    """Collect garbage and hand freed memory back to the system (glibc keeps it otherwise)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to do
        pass


# ------------------------------------------------------------------ the page's Solara context


def in_context(session: Session, function: Callable[[], None]) -> Callable[[], None]:
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


def current_context():
    """The Solara kernel context of the page being rendered (None outside a server)."""
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context()
    except Exception:
        return None
