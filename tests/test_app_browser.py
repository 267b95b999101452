"""The classroom app end to end: ``bondsim app`` served, driven in headless Chromium through Playwright.

The browser is Debian's ``chromium`` package (``make test`` installs it where it may, through
``tools/ensure-browser``); Playwright's own browser download is never used. With no chromium these
tests are skipped with a line naming the command to install it, except under CI (``CI`` set),
where they fail.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from urllib.parse import urlparse

import numpy as np
import pytest

START_TIMEOUT_S = 90.0
UI_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(bondsim_argv):
    """``bondsim app`` on a free port; yields its URL and the first line it printed."""
    port = _free_port()
    proc = subprocess.Popen(
        [*bondsim_argv, "app", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        first_line = proc.stdout.readline().strip()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"bondsim app exited with {proc.returncode}: {proc.stdout.read()}"
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"bondsim app did not answer within {START_TIMEOUT_S:g} s"
            time.sleep(0.5)
        yield url, first_line
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        message = "chromium not found: install Debian's chromium with `sudo apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message + " (under CI the browser tests are never skipped)")
        pytest.skip(message + " (browser tests SKIPPED)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class Session:
    """One browser page on the app, recording page errors and every host it contacts."""

    def __init__(self, browser, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", self._record_host)
        self.page.goto(url)
        self.step_button.wait_for(timeout=UI_TIMEOUT_MS)
        self.wait_time(0)

    def _record_host(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss"):  # not data: or blob: (made in the page)
            self.hosts.add(url.hostname)

    @property
    def step_button(self):
        return self.page.get_by_role("button", name="Step", exact=True)

    def wait_time(self, step: int) -> None:
        self.page.get_by_text(f"Time: {step:.1f}", exact=True).wait_for(timeout=UI_TIMEOUT_MS)

    def image(self, index: int) -> str:
        """The ``src`` of the index-th figure (0 network, 1 mood plots, 2 occupancy)."""
        figures = self.page.locator(".vue-grid-item img")
        figures.nth(2).wait_for(timeout=UI_TIMEOUT_MS)
        return figures.nth(index).get_attribute("src")

    def close(self) -> None:
        self.page.close()


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def test_command_prints_the_url(server):
    url, first_line = server
    assert first_line == f"bondsim app: serving the classroom app at {url} (Ctrl+C to stop)"


def test_preset_step_plots_change_offline_and_sessions_are_separate(server, browser, tmp_path):
    url, _ = server
    s = Session(browser, url)
    try:
        s.page.get_by_role("button", name="placebo vs naltrexone").click()
        s.page.get_by_text("Two arms in one community").wait_for(timeout=UI_TIMEOUT_MS)
        s.wait_time(0)
        s.page.get_by_text("naltrexone", exact=True).first.wait_for(timeout=UI_TIMEOUT_MS)  # the Drug control
        before = s.image(1)
        for k in range(1, 3):
            s.step_button.click()
            s.wait_time(k)
        assert s.image(1) != before, "the plots did not change as the model stepped"
        network = s.image(0)
        s.page.get_by_role("button", name="distress", exact=True).click()
        s.page.wait_for_function(
            "src => document.querySelector('.vue-grid-item img').src !== src", arg=network, timeout=UI_TIMEOUT_MS
        )

        shot = s.page.screenshot(full_page=True)
        (tmp_path / "app.png").write_bytes(shot)
        pixels = _pixels(shot)
        assert pixels.std() > 20, "the screenshot is blank"
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200

        other = Session(browser, url)  # waits for "Time: 0.0": its own model, not the first page's
        try:
            other.step_button.click()
            other.wait_time(1)
            s.wait_time(2)
            assert other.errors == []
        finally:
            other.close()
        assert s.errors == []
        assert s.hosts <= {"127.0.0.1"}, f"the page reached beyond this machine: {sorted(s.hosts)}"
    finally:
        s.close()
