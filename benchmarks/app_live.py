"""How live the classroom app is, measured in a real browser (Playwright + Debian's chromium).

Serves ``bondsim app`` on a free localhost port and reports:

- page load: from ``goto`` to the plots drawn (seconds, each of a few fresh pages);
- step: from a click on Step to the plots showing the new step (seconds, median and range);
- play: steps shown per second while playing at 20 simulated hours a second, over a few seconds
  (in the weeks-of-naltrexone lesson, before its first checkpoint, where play pauses);

with 200 people (the default, with the network view) and with 1,000; then

- a class: ``--pages`` pages at once (default 10 and 30), each playing the weeks-long lesson at
  5 hours a second and pressing Play again at its checkpoints; steps shown per second on each page
  (min, median) and the server's processor use. The pages receive and apply every update but do not
  lay out or paint the pictures (hidden), since in class each student's browser runs on their own
  computer, not beside the server.

Targets (issues 14 and 23): step < 0.3 s, play >= 5 steps/s at 200 and >= 2 at 1,000, page load
< 3 s, each page of a class >= 5 steps/s. Nothing is asserted; the numbers are printed (and written
as JSON with ``--json PATH``).

Usage: ``python benchmarks/app_live.py [--quick] [--engine agents] [--pages 10 30]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000
PLAY_LESSON = "weeks of naltrexone"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(engine: str = "array") -> tuple[subprocess.Popen, str]:
    """Start ``bondsim app`` on a free port; returns the process and its URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bondsim.cli", "app", "--port", str(port), "--engine", engine],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("bondsim app did not answer within 90 s")


def steps_shown(page) -> int:
    """The step the plots show now."""
    return int(page.locator("svg.bondsim-plots").get_attribute("data-steps"))


def wait_steps(page, at_least: int, timeout_ms: int = TIMEOUT_MS) -> None:
    page.wait_for_function(
        "k => { const s = document.querySelector('svg.bondsim-plots');"
        " return s && Number(s.getAttribute('data-steps')) >= k; }",
        arg=at_least,
        timeout=timeout_ms,
    )


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    started = time.perf_counter()
    page.goto(url)
    page.locator("svg.bondsim-plots").wait_for(timeout=TIMEOUT_MS)
    page.locator("svg.bondsim-network").wait_for(timeout=TIMEOUT_MS)
    return page, time.perf_counter() - started


def set_group_size(page, people: int) -> None:
    """Move the group-size slider with the keyboard (End = 1,000), then Reset."""
    slider = page.get_by_role("slider").nth(3)  # dose, share, rejection, group size
    slider.focus()
    for _ in range(200):
        label = page.get_by_text("Group size:").first.inner_text()
        shown = int(label.split(":")[1].split()[0])
        if shown == people:
            break
        slider.press("ArrowRight" if shown < people else "ArrowLeft")
    run_before = page.locator("svg.bondsim-plots").get_attribute("data-run")
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function(
        "r => { const s = document.querySelector('svg.bondsim-plots'); return s && s.getAttribute('data-run') !== r; }",
        arg=run_before,
        timeout=TIMEOUT_MS,
    )


def measure_step(page, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        k = steps_shown(page)
        started = time.perf_counter()
        page.get_by_role("button", name="Step", exact=True).click()
        wait_steps(page, k + 1)
        times.append(time.perf_counter() - started)
    return times


def choose_lesson(page, lesson: str) -> None:
    """Click a lesson and wait for its run."""
    run_before = page.locator("svg.bondsim-plots").get_attribute("data-run")
    page.get_by_role("button", name=lesson, exact=True).click()
    page.wait_for_function(
        "r => { const s = document.querySelector('svg.bondsim-plots'); return s && s.getAttribute('data-run') !== r; }",
        arg=run_before,
        timeout=TIMEOUT_MS,
    )


def measure_play(page, seconds: float) -> float:
    """Steps shown per second while playing at 20 hours a second (before the lesson's first checkpoint)."""
    page.get_by_role("button", name="20", exact=True).click()  # the fastest speed short of fast forward
    page.get_by_role("button", name="▶ Play").click()
    first = steps_shown(page)
    wait_steps(page, first + 2)
    k0, t0 = steps_shown(page), time.perf_counter()
    time.sleep(seconds)
    k1, t1 = steps_shown(page), time.perf_counter()
    page.get_by_role("button", name="❚❚ Pause").click()
    return (k1 - k0) / (t1 - t0)


# each page's pictures are hidden (no layout, no paint), and it presses Play again at each checkpoint
_HIDE_PICTURES = (
    "document.addEventListener('DOMContentLoaded', () => { const s = document.createElement('style');"
    " s.textContent = '.bondsim-views, .bondsim-monitors-box { display: none !important; }';"
    " document.head.appendChild(s); });"
)
_PLAY_AGAIN = (
    "setInterval(() => { if (!window.bondsimPlaying) { return; }"
    " const b = [...document.querySelectorAll('button')].find(b => b.textContent.includes('Play'));"
    " if (b && !b.disabled) { b.click(); } }, 300);"
)
_CLICK = (
    "name => { const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === name);"
    " if (b) { b.click(); } return Boolean(b); }"
)


def measure_class(browser, url: str, server_pid: int, pages: int, seconds: float) -> dict:
    """``pages`` pages playing the weeks-long lesson at 5 hours a second at once: steps/s each, server cores."""
    import psutil

    context = browser.new_context(viewport={"width": 800, "height": 600})
    context.add_init_script(_HIDE_PICTURES)
    context.add_init_script(_PLAY_AGAIN)
    opened = []
    try:
        for _ in range(pages):
            page = context.new_page()
            page.evaluate("url => { window.location.href = url; }", url)
            opened.append(page)
        for page in opened:
            page.locator("svg.bondsim-plots").wait_for(timeout=TIMEOUT_MS, state="attached")
            page.wait_for_function(_CLICK, arg=PLAY_LESSON, timeout=TIMEOUT_MS)
            page.wait_for_function(
                "t => document.body.innerText.includes(t)", arg=f"{PLAY_LESSON} (35 days)", timeout=TIMEOUT_MS
            )
            page.wait_for_function(_CLICK, arg="5", timeout=TIMEOUT_MS)
        for page in opened:
            page.wait_for_function(_CLICK, arg="▶ Play", timeout=TIMEOUT_MS)
            page.evaluate("() => { window.bondsimPlaying = true; }")
        time.sleep(1.0)  # then measure before the lesson's first checkpoint (day 3: 72 steps at 5 a second)
        server = psutil.Process(server_pid)
        start = [(steps_shown(p), time.perf_counter()) for p in opened]
        cpu0, wall0 = sum(server.cpu_times()[:2]), time.perf_counter()
        time.sleep(seconds)
        cores = (sum(server.cpu_times()[:2]) - cpu0) / (time.perf_counter() - wall0)
        rates = [(steps_shown(p) - k) / (time.perf_counter() - t) for p, (k, t) in zip(opened, start, strict=True)]
    finally:
        context.close()
    return {"steps_per_s": rates, "server_cores": cores}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--engine", choices=("array", "agents"), default="array")
    parser.add_argument("--pages", type=int, nargs="*", default=[10, 30], help="pages of a class playing at once")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if chromium is None:
        print("app_live: chromium not found (sudo apt-get install -y chromium); skipped")
        return 0
    from playwright.sync_api import sync_playwright

    repeats, seconds = (4, 2.0) if args.quick else (10, 2.5)  # 10 steps and 2.5 s at 20/s: before day 3
    proc, url = serve(args.engine)
    results: dict = {"engine": args.engine, "cpus": os.cpu_count()}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            loads = []
            for _ in range(3):
                page, seconds_to_load = open_page(browser, url)
                loads.append(seconds_to_load)
                page.close()
            page, _ = open_page(browser, url)
            # the longest lesson: its first checkpoint (day 3, where play pauses) comes after the measurements
            choose_lesson(page, PLAY_LESSON)
            results["page_load_s"] = loads
            for people in (200, 1000):
                if people != 200:
                    set_group_size(page, people)
                steps = measure_step(page, repeats)
                rate = measure_play(page, seconds)
                results[str(people)] = {"step_s": steps, "play_steps_per_s": rate}
            page.close()
            for pages in args.pages:
                results[f"class of {pages}"] = measure_class(browser, url, proc.pid, pages, 6.0 if args.quick else 10.0)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"engine {args.engine}, {results['cpus']} CPUs")
    print(f"page load: {', '.join(f'{x:.2f}' for x in results['page_load_s'])} s (target < 3)")
    for people in ("200", "1000"):
        r = results[people]
        med = statistics.median(r["step_s"])
        print(
            f"{people:>5} people: STEP to plots median {med:.3f} s (range {min(r['step_s']):.3f}-"
            f"{max(r['step_s']):.3f}; target < 0.3), play {r['play_steps_per_s']:.1f} steps/s "
            f"(target >= {5 if people == '200' else 2})"
        )
    for pages in args.pages:
        r = results[f"class of {pages}"]
        rates = r["steps_per_s"]
        print(
            f"a class of {pages} pages at 5 steps/s each: min {min(rates):.2f}, median {statistics.median(rates):.2f} "
            f"steps/s (target >= 5), server {r['server_cores']:.2f} cores (Chromium and its pages on the same machine)"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
