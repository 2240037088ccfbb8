"""Debian's chromium driven by Playwright, shared by the real-browser tests.

``playwright install`` cannot download a browser here, so the tests launch the ``chromium`` on
the PATH (``make browser-deps`` installs it).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_page(viewport: dict, failure_png: str | None = None):
    """A new page in Debian's chromium; a failure inside the block saves ``failure_png``
    under build/screenshots/ (when given)."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport)
            try:
                yield page
            except Exception:
                if failure_png:
                    page.screenshot(path=str(SCREENSHOTS / failure_png))
                raise
        finally:
            browser.close()


def stop_server(server: subprocess.Popen, log) -> None:
    """Stop a server the test started (terminate, then kill after 15 s) and close its log."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
    log.close()
