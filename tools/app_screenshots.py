"""Take the classroom app's screenshots shown in docs/classroom.md, from the app as it is now.

    .venv/bin/python tools/app_screenshots.py

Starts ``bondsim app`` on a free localhost port (offline), opens it in headless Chromium at
1280x720 through Playwright (Debian's chromium: ``make browser``), plays each lesson to the
moment its caption names, pauses and saves the page to docs/img/.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = (  # lesson, steps of 1 h to play, button to press before the picture (or None), file
    ("placebo vs naltrexone", 36, None, "app-placebo-vs-naltrexone.png"),
    ("morphine and distress", 31, "distress", "app-morphine-and-distress.png"),
)
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
                page.goto(url)
                page.locator("svg.bondsim-plots").wait_for(timeout=60_000)
                page.get_by_role("button", name=lesson, exact=True).click()
                page.wait_for_function("() => document.querySelector('svg.bondsim-plots')", timeout=60_000)
                time.sleep(1.0)
                page.get_by_role("button", name="▶ Play").click()
                deadline = time.monotonic() + 300
                while steps(page) < hours and time.monotonic() < deadline:
                    time.sleep(0.2)
                page.get_by_role("button", name="❚❚ Pause").click()
                if button:
                    page.get_by_role("button", name=button, exact=True).click()
                page.get_by_role("button", name=lesson, exact=True).scroll_into_view_if_needed()
                time.sleep(2.0)
                page.screenshot(path=str(ROOT / "docs" / "img" / name))
                print(f"{name}: {lesson}, {steps(page)} steps")
                page.context.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
