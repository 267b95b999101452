"""One browser session: its run, the latest snapshot, the play loop (a thread) and the page's Solara context.

Every change of the run and every snapshot happens under the session's lock; the page reads only
snapshots. The play loop stops when the tab closes or disconnects.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .downloads import csv_text, report_png
from .lessons import CONTROLS, PRESETS, describe
from .run import preset_run
from .views import day_text, monitors_html, plots_svg

log = logging.getLogger(__name__)

SPEEDS = (1, 2, 5, 10, 20)  # simulated hours per second while playing
DEFAULT_SPEED = 5
_thread_ids = itertools.count(1)

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
