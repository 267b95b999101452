"""A class on one laptop: many app sessions playing at once in one server process, driven without browsers.

Each session is the app's own :class:`bondsim.app.session.Session` with its play loop (a thread),
as ``bondsim app`` runs it for each page, and draws every snapshot as the page would (the monitors'
HTML and the network's and plots' SVG, ``Session.views``); only the websocket to a browser is
missing. The driver acts as the students: it presses Play again at each checkpoint and restarts a
lesson that has ended. Reported:

- capacity: one session stepping and drawing as fast as it can, alone, the baseline: steps per
  second of wall time and per second of processor time (the second holds on a busy machine);
- load: ``--sessions`` sessions of ``--people`` people at ``--speed`` steps/s each, for
  ``--seconds``: each session's steps per second while playing (min, median; the time it stood at a
  checkpoint or its end until the driver pressed Play again left out) and over the whole time, the
  process's processor use (cores),
  the processor time per step and so the cores the offered load needs, and the machine's load
  average (other jobs included);
- memory: the process's RSS after imports, after one warm-up session (compiled kernels, layout
  cache), at the peak, after the sessions close, and after the server forgets them
  (``Sessions.expire``, which the app does ``BONDSIM_APP_SESSION_TTL_S`` after a page has gone).

Nothing is asserted (the machine may be shared: compare the capacity line between runs). Linux only
(RSS from /proc). Usage::

    python benchmarks/class_sessions.py [--sessions 30] [--people 200] [--speed 5] [--seconds 60]
        [--engine array] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import threading
import time


def rss_mb() -> float:
    """This process's resident memory (MB)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS"))


def cpu_s() -> float:
    """Processor time used by this process so far (user + system, seconds)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def new_session(engine: str, lesson: str, people: int):
    """A session of ``lesson`` with ``people`` people that draws every snapshot, as a page would have it."""
    from bondsim.app.lessons import PRESETS
    from bondsim.app.session import Session

    session = Session(engine=engine)
    session.load(lesson, {**PRESETS[lesson].settings, "n_agents": people})
    session.draw = session.views
    return session


def capacity(engine: str, lesson: str, people: int, seconds: float) -> tuple[float, float]:
    """One session stepping and drawing back to back, alone: steps per second of wall time and of processor time.

    On a busy machine the first is what this process got; the second what a free core would give.
    """
    session = new_session(engine, lesson, people)
    steps, started, cpu = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - started < seconds:
        if session.run.ended:
            session.load(lesson, dict(session.run.settings))
        session.step(1)  # draws the snapshot too (session.draw)
        steps += 1
    return steps / (time.perf_counter() - started), steps / (time.thread_time() - cpu)


class Pauses:
    """When each session stood still (at a checkpoint or its end, until the student pressed Play again).

    A session tells its page when it stops (``Session.notify``, the page's hook); the driver says when
    it plays again. Their sum inside a window is the time a session was not asked to play.
    """

    def __init__(self, sessions) -> None:
        self.since: dict[int, float] = {}
        self.spans: dict[int, list[tuple[float, float]]] = {id(s): [] for s in sessions}
        self.lock = threading.Lock()
        for session in sessions:
            session.notify = lambda session=session: self.noticed(session)

    def noticed(self, session) -> None:
        with self.lock:
            if not session.playing:
                self.since.setdefault(id(session), time.perf_counter())

    def playing_again(self, session) -> None:
        with self.lock:
            started = self.since.pop(id(session), None)
            if started is not None:
                self.spans[id(session)].append((started, time.perf_counter()))

    def within(self, session, t0: float, t1: float) -> float:
        """Seconds of [t0, t1] that ``session`` stood still."""
        with self.lock:
            spans = list(self.spans[id(session)])
            if id(session) in self.since:
                spans.append((self.since[id(session)], t1))
        return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans)


def drive(sessions, lesson: str, stop: threading.Event, pauses: Pauses) -> None:
    """The students: Play again at each checkpoint, the lesson again once it has ended."""
    while not stop.wait(0.05):
        for session in sessions:
            if session.playing:
                continue
            if session.run.ended:
                session.load(lesson, dict(session.run.settings))
            pauses.playing_again(session)
            session.play()


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and print (and return) its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--speed", type=float, default=5.0, help="simulated hours (steps) per second per session")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the sessions play")
    parser.add_argument("--engine", choices=("array", "agents"), default="array")
    parser.add_argument("--lesson", default="placebo vs naltrexone")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    memory = {"after imports": rss_mb()}
    from bondsim.app.session import Sessions, release_memory

    warm = new_session(args.engine, args.lesson, args.people)  # compiles the kernels, fills the layout cache
    warm.step(5)
    warm.views()
    del warm
    release_memory()
    memory["start (after one warm-up session)"] = start = rss_mb()
    load_before = os.getloadavg()[0]
    alone, alone_cpu = capacity(args.engine, args.lesson, args.people, 8.0)
    print(
        f"capacity: one session alone steps and draws {alone:.1f} steps/s of wall time, {alone_cpu:.1f} per "
        f"processor second ({1000 / alone_cpu:.1f} ms of processor a step); load average {load_before:.1f}"
    )

    held = Sessions(ttl_s=0.0)  # the server's table of sessions, forgetting closed ones at once
    sessions = []
    for _ in range(args.sessions):
        session = new_session(args.engine, args.lesson, args.people)
        session.set_speed(args.speed)
        sessions.append(session)
        held.by_browser.setdefault(session.key, []).append(session)
    stop = threading.Event()
    pauses = Pauses(sessions)
    driver = threading.Thread(target=drive, args=(sessions, args.lesson, stop, pauses), daemon=True)
    driver.start()
    time.sleep(3.0)  # every loop started
    before = [s.steps_played for s in sessions]
    cpu0, wall0 = cpu_s(), time.perf_counter()
    peak = rss_mb()
    while time.perf_counter() - wall0 < args.seconds:
        time.sleep(1.0)
        peak = max(peak, rss_mb())
    wall1 = time.perf_counter()
    wall = wall1 - wall0
    played = [s.steps_played - b for s, b in zip(sessions, before, strict=True)]
    cpu_used = cpu_s() - cpu0
    cores = cpu_used / wall
    rates = [k / wall for k in played]
    still = [pauses.within(s, wall0, wall1) for s in sessions]
    rates_playing = [k / (wall - t) for k, t in zip(played, still, strict=True)]
    load_during = os.getloadavg()[0]
    memory["peak while playing"] = peak
    stop.set()
    driver.join()
    for session in sessions:
        session.close()
    deadline = time.monotonic() + 10
    while any(s._thread is not None for s in sessions) and time.monotonic() < deadline:
        time.sleep(0.05)
    release_memory()
    memory["sessions closed, still held (for a reload)"] = rss_mb()
    for session in sessions:  # as their pages' contexts are closed by Solara
        session.context = _Closed()
    del sessions, session
    forgotten = held.expire()
    memory["sessions forgotten"] = rss_mb()
    idle0, wall1 = cpu_s(), time.perf_counter()
    time.sleep(3.0)
    idle = (cpu_s() - idle0) / (time.perf_counter() - wall1)

    offered = args.sessions * args.speed
    figures = {
        "engine": args.engine,
        "lesson": args.lesson,
        "people": args.people,
        "sessions": args.sessions,
        "speed asked (steps/s each)": args.speed,
        "cpu count": os.cpu_count(),
        "load average before / while playing (other jobs included)": (round(load_before, 1), round(load_during, 1)),
        "capacity alone (steps/s of wall time)": round(alone, 1),
        "capacity alone (steps per processor second)": round(alone_cpu, 1),
        "offered load / capacity alone per processor second": round(offered / alone_cpu, 2),
        "processor time per step, all sessions (ms)": round(1000 * cpu_used / max(1, sum(rates) * wall), 2),
        "cores the offered load needs at that cost": round(offered * cpu_used / max(1, sum(rates) * wall), 2),
        "steps/s per session while playing: min": round(min(rates_playing), 2),
        "steps/s per session while playing: median": round(statistics.median(rates_playing), 2),
        "steps/s per session while playing: max": round(max(rates_playing), 2),
        "sessions playing at >= 95% of the speed asked": sum(r >= 0.95 * args.speed for r in rates_playing),
        "steps/s per session over the whole time (checkpoints and restarts included): median": round(
            statistics.median(rates), 2
        ),
        "share of the time standing at checkpoints and restarts (median)": round(statistics.median(still) / wall, 3),
        "processor use while playing (cores)": round(cores, 2),
        "processor use after close (cores)": round(idle, 3),
        "sessions forgotten": forgotten,
        "memory (MB)": {k: round(v, 1) for k, v in memory.items()},
        "memory after close minus start (MB)": round(memory["sessions forgotten"] - start, 1),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return figures


class _Closed:
    """A Solara context whose page has gone (what a session holds once its tab has closed)."""

    def __init__(self) -> None:
        self.closed_event = threading.Event()
        self.closed_event.set()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    main()
