"""Take the classroom app's screenshots shown in docs/classroom.md, from the app as it is now.

    .venv/bin/python tools/app_screenshots.py

Starts ``bondsim app`` on a free localhost port (offline), opens it in headless Chromium at
1280x720 through Playwright (Debian's chromium: ``make browser``), steps each lesson one hour at
a time to the moment its caption names and saves the page to docs/img/.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SHOTS = (  # lesson, hours to step (1 step = 1 h), button to press before the picture (or None), file
    ("placebo vs naltrexone", 36, None, "app-placebo-vs-naltrexone.png"),
    ("morphine and distress", 32, "distress", "app-morphine-and-distress.png"),
)
UI_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve() -> tuple[subprocess.Popen, str]:
    """``bondsim app`` on a free port; returns the process and its URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "bondsim.cli", "app", "--port", str(port), "--engine", "array"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bondsim app exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("bondsim app did not answer within 120 s")


def steps(page) -> int:
    """Steps done by the page's current run."""
    return int(page.locator("svg.bondsim-plots").get_attribute("data-steps"))


def main() -> None:
    """Every screenshot of ``SHOTS``, one fresh page each."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium not found: run `make browser` (Debian's chromium)")
    proc, url = serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            for lesson, hours, button, name in SHOTS:
                page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
                errors: list[str] = []
                hosts: set[str] = set()
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.on("request", lambda request, hosts=hosts: hosts.add(urlparse(request.url).hostname or ""))
                page.goto(url)
                plots = page.locator("svg.bondsim-plots")
                plots.wait_for(timeout=UI_TIMEOUT_MS)
                run = plots.get_attribute("data-run")
                page.get_by_role("button", name=lesson, exact=True).click()
                page.wait_for_function(
                    "r => { const s = document.querySelector('svg.bondsim-plots');"
                    " return s && s.getAttribute('data-run') !== r; }",
                    arg=run,
                    timeout=UI_TIMEOUT_MS,
                )
                # Step, not Play: every click is exactly one hour, so the picture is always at `hours`
                for k in range(steps(page) + 1, hours + 1):
                    page.get_by_role("button", name="Step", exact=True).click()
                    page.wait_for_function(
                        "k => Number(document.querySelector('svg.bondsim-plots').getAttribute('data-steps')) >= k",
                        arg=k,
                        timeout=UI_TIMEOUT_MS,
                    )
                clock = f"day {hours // 24}, hour {hours % 24}"
                page.locator(".bondsim-day", has_text=clock).wait_for(timeout=UI_TIMEOUT_MS)
                if button:
                    network = page.locator("svg.bondsim-network").inner_html()
                    page.get_by_role("button", name=button, exact=True).click()
                    page.wait_for_function(
                        "h => document.querySelector('svg.bondsim-network').innerHTML !== h",
                        arg=network,
                        timeout=UI_TIMEOUT_MS,
                    )
                # the sidebar scrolls by itself: bring the lessons back; no hover or focus on a button
                page.get_by_role("button", name=lesson, exact=True).scroll_into_view_if_needed()
                page.mouse.move(1270, 710)
                page.evaluate("() => document.activeElement && document.activeElement.blur()")
                page.wait_for_timeout(1000)
                if steps(page) != hours:
                    raise SystemExit(f"{name}: the page is at step {steps(page)}, not {hours}")
                if errors or not hosts <= {"127.0.0.1"}:
                    raise SystemExit(f"{name}: page errors {errors}, hosts {sorted(hosts)}")
                page.screenshot(path=str(ROOT / "docs" / "img" / name))
                print(f"docs/img/{name}: {lesson}, {clock}")
                page.context.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
