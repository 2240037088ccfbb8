"""``stswidgets app --demo`` in a real browser: Voila served by the command, Debian's Chromium.

The test starts the command as a user would (a subprocess, a free port, the hidden ``test``
profile: a 24 x 24 x 64 simulated grid and a few seconds of training), opens the page, runs
all steps with the button, waits for the three progress bars, then drags a brush across the
latent space and checks that the status line counts exactly the dots inside the rectangle and
that the linked map was redrawn. The results.nc button must offer a download. It saves a
screenshot ``build/screenshots/app.png`` (copy it over the README's ``docs/app.png`` to refresh
that; a test run never rewrites a tracked file) and kills the server at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from chromium_session import ROOT, chromium_page, stop_server
from test_browser import _drag, _free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

N_SPECTRA = 24 * 24  # the test profile's simulated grid


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("voila")
    root = tmp_path_factory.mktemp("app")
    port = _free_port()
    log = open(root / "app.log", "w")  # noqa: SIM115 - closed in the finalizer
    command = [sys.executable, "-m", "stswidgets", "app", "--demo", "--profile", "test"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--no-browser"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env=dict(os.environ, PYTHONUNBUFFERED="1", JUPYTER_CONFIG_DIR=str(root / ".config")),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url + "voila/api/shutdown", timeout=2)
            except urllib.error.HTTPError:
                break  # the server answers (the route needs a kernel id)
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(
                        "stswidgets app did not start:\n" + (root / "app.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.5)
            else:
                break
        yield url
    finally:
        stop_server(server, log)


def _status(page) -> str:
    return page.locator(".sts-app-status").inner_text()


def _wait_status(page, pattern: str, timeout: float = 120_000) -> str:
    page.wait_for_function(
        "p => { const e = document.querySelector('.sts-app-status');"
        " return e !== null && new RegExp(p).test(e.innerText); }",
        arg=pattern,
        timeout=timeout,
    )
    return _status(page)


def test_app_runs_the_steps_and_links_the_brush_to_map_and_status(app_url):
    with chromium_page({"width": 1400, "height": 1500}, "app_failure.png") as page:
        page.set_default_timeout(90_000)
        page.goto(app_url)
        # the demo grid opens by itself: its size is on the status line
        status = _wait_status(page, rf"{N_SPECTRA} complete spectra")
        assert "24 x 24 pixels, 64 bias points" in status
        assert page.locator(".jp-InputArea").count() == 0  # no code shown

        page.locator("button", has_text="run all steps").click()
        status = _wait_status(page, r"^classes: ")
        counts = [int(n) for n in re.findall(r"(\d+) (?:surface|transition|vacancy)", status)]
        assert sum(counts) == N_SPECTRA, status
        bars = page.locator(".sts-app .widget-hprogress .progress-bar").evaluate_all(
            "els => els.map(e => parseFloat(e.style.width))"
        )
        assert bars == [100.0, 100.0, 100.0], bars
        assert "done in" in page.locator(".sts-app").inner_text()

        latent = page.locator(".sts-app-latent .bqplot").first
        page.wait_for_function(
            "n => document.querySelector('.sts-app-latent .bqplot')"
            ".querySelectorAll('path.dot').length == n",
            arg=N_SPECTRA,
        )
        page.wait_for_timeout(1500)  # transitions
        map_image = page.locator(".sts-app-latent .bqplot").nth(1).locator("image")
        overlay_before = map_image.nth(1).get_attribute("href")
        centres = np.asarray(
            latent.locator("path.dot").evaluate_all(
                "els => els.map(e => { const r = e.getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })"
            )
        )
        # a rectangle over the whole width, its top edge in the widest vertical gap between
        # dots in the middle 80 % of the rows (robust to a pixel of rounding)
        ys = np.sort(centres[:, 1])
        lo, hi = int(0.1 * len(ys)), int(0.9 * len(ys))
        k = lo + int(np.argmax(np.diff(ys[lo:hi])))
        cut = 0.5 * (ys[k] + ys[k + 1])
        assert ys[k + 1] - ys[k] > 2.0, "no clear gap between the dots to brush along"
        expected = int((centres[:, 1] > cut).sum())
        x_lo, x_hi = centres[:, 0].min() - 4, centres[:, 0].max() + 4
        _drag(page, (x_lo, cut), (x_hi, centres[:, 1].max() + 4))

        status = _wait_status(page, rf"^selected {expected} of {N_SPECTRA} spectra; their mean")
        assert re.search(r"mean score [\d.]+ \(", status), status
        page.wait_for_timeout(800)  # the overlay redraws asynchronously
        assert map_image.nth(1).get_attribute("href") != overlay_before

        page.mouse.move(5, 5)
        page.wait_for_timeout(500)  # the README's screenshot shows the selection
        (ROOT / "docs").mkdir(exist_ok=True)
        shots = ROOT / "build" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "app.png"), full_page=False)

        page.locator("button", has_text="results.nc").click()
        link = page.locator(".sts-app-downloads a[download='results.nc']")
        link.wait_for()
        assert link.get_attribute("href").startswith("data:application/x-netcdf;base64,")
        _wait_status(page, r"results\.nc written to .*score.*site_class")
