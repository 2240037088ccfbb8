"""LineCutExplorer in a real browser (JupyterLab + Debian's Chromium driven by Playwright).

A notebook shows the explorer over a deterministic line cut of 20 spectra (0.5 nm apart) with
one value per spectrum, and a probe printing what the kernel-side marks hold. The test moves
the cursor over the waterfall with the mouse and checks that the spectrum panel's line holds
the spectrum at that distance, then brushes a range and checks the selected spectra and their
mean. Screenshot: ``build/screenshots/linecut_explorer.png``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from chromium_session import SCREENSHOTS
from test_browser import (
    _drag,
    _notebook_page,
    _page_of,
    _wait_probe,
    _write_notebook,
    lab,  # noqa: F401 - the JupyterLab server fixture
)

pytestmark = pytest.mark.browser

DISTANCE = 0.5 * np.arange(20)
BIAS = np.linspace(-10.0, 10.0, 31)


def line_spectra() -> np.ndarray:
    """Spectrum i: a peak at 0 mV whose height peaks at 4 nm, plus an offset of 0.01 i."""
    peak = np.outer(np.exp(-((DISTANCE - 4.0) ** 2) / 4.0), np.exp(-(BIAS**2) / 8.0))
    return 1.0 + peak + 0.01 * np.arange(DISTANCE.size)[:, None]


CELLS = [
    """\
import numpy as np
import xarray as xr
import ipywidgets as widgets
from stswidgets.spectra import make_spectra
from stswidgets.widgets import LineCutExplorer

DISTANCE = 0.5 * np.arange(20)
BIAS = np.linspace(-10.0, 10.0, 31)
peak = np.outer(np.exp(-((DISTANCE - 4.0) ** 2) / 4.0), np.exp(-(BIAS**2) / 8.0))
values = 1.0 + peak + 0.01 * np.arange(DISTANCE.size)[:, None]
spectra = make_spectra(values, BIAS, DISTANCE, 0 * DISTANCE, geometry="line", units="nS")
score = xr.DataArray(np.abs(DISTANCE - 4.0), dims="spectrum",
                     attrs={"long_name": "score", "units": "1"})
explorer = LineCutExplorer(spectra, values=score)
explorer.add_class("sts-linecut")
probe = widgets.HTML("probe: none")
probe.add_class("sts-probe")

def show(change=None):
    current, mean = explorer.spectrum_lines.y[0], explorer.spectrum_lines.y[1]
    idx = explorer.selection.indices
    probe.value = (f"probe: position={explorer.position}; current15={current[15]:.6f};"
                   f" indices={','.join(map(str, idx))}; mean15={mean[15]:.6f}")

explorer.observe(show, names="position")
explorer.selection.observe(show, names="indices")
show()
display(explorer, probe)""",
]


def test_cursor_and_range_on_the_waterfall_show_their_spectra(lab):  # noqa: F811
    X = line_spectra()
    _write_notebook(lab["root"] / "linecut.ipynb", CELLS)
    with _notebook_page(
        lab, "linecut.ipynb", n_figures=3, failure_png="linecut_explorer_failure.png"
    ) as page:
        page.wait_for_timeout(1500)  # let the figures finish their transitions
        _wait_probe(page, "position=0;")
        waterfall = page.locator(".sts-linecut .bqplot").first
        spectrum_path = page.locator(".sts-linecut .bqplot").nth(1).locator("path.line").first
        d_before = spectrum_path.get_attribute("d")
        edges = (-0.25, 9.75), (-10.0 - 1 / 3, 10.0 + 1 / 3)  # cells: distance (nm), bias (mV)
        to_page = _page_of(waterfall.locator("image").first.bounding_box(), *edges)

        # cursor mode: a click starts the cursor, moving the mouse carries it along
        page.mouse.click(*to_page(1.0))
        for distance in np.linspace(1.2, 6.0, 8):
            page.mouse.move(*to_page(distance))
            page.wait_for_timeout(60)
        page.mouse.click(*to_page(6.0))  # fixes the cursor at 6 nm: spectrum 12
        probe = _wait_probe(page, "position=12;")
        current15 = float(re.search(r"current15=([-\d.]+)", probe).group(1))
        assert current15 == pytest.approx(X[12, 15], abs=1e-5)
        page.wait_for_timeout(800)  # the line redraws asynchronously
        assert spectrum_path.get_attribute("d") != d_before, "the spectrum was not redrawn"
        title = page.locator(".sts-linecut .bqplot").nth(1).locator(".mainheading").text_content()
        assert "6.00 nm" in title, title

        # range mode: brush 2.2 .. 4.3 nm -> spectra at 2.5, 3.0, 3.5, 4.0 nm
        page.locator(".widget-toggle-button", has_text=re.compile(r"^range$")).click()
        page.wait_for_timeout(500)
        to_page = _page_of(waterfall.locator("image").first.bounding_box(), *edges)
        _drag(page, to_page(2.2, 5.0), to_page(4.3, 5.0))
        probe = _wait_probe(page, r"indices=5,6,7,8;")
        mean15 = float(re.search(r"mean15=([-\d.]+)", probe).group(1))
        assert mean15 == pytest.approx(X[5:9, 15].mean(), abs=1e-5)
        status = page.locator(".sts-linecut .sts-status").inner_text()
        assert "selected 4 of 20 spectra (2.50 to 4.00 nm)" in status, status
        page.mouse.move(5, 5)
        page.wait_for_timeout(800)
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "linecut_explorer.png")
        )
