"""FourierExplorer in a real browser (JupyterLab + Debian's Chromium driven by Playwright).

A notebook shows the explorer of a plane wave along 30 degrees whose wavelength shortens with
the bias, and a probe printing what the kernel-side marks hold. The test clicks a peak of the
Fourier map (the q-cut turns through it: the dispersion image then shows the wave's
wavevector at every bias), clicks the dispersion image at a bias and types a bias into the
slider's readout (the maps follow). Screenshot: ``build/screenshots/fourier_explorer.png``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from chromium_session import SCREENSHOTS
from test_browser import (
    _notebook_page,
    _page_of,
    _wait_probe,
    _write_notebook,
    lab,  # noqa: F401 - the JupyterLab server fixture
)
from test_fourier_explorer import numpy_fourier_maps, standing_wave_grid, wavelength_nm

from stswidgets.analysis import q_cut

pytestmark = pytest.mark.browser

CELLS = [
    """\
import numpy as np
import ipywidgets as widgets
from test_fourier_explorer import numpy_fourier_maps, standing_wave_grid
from stswidgets.widgets import FourierExplorer

grid = standing_wave_grid()
explorer = FourierExplorer(grid, numpy_fourier_maps(grid), angle=90.0)
explorer.add_class("sts-fourier")
probe = widgets.HTML("probe: none")
probe.add_class("sts-probe")

def show(change=None):
    peak = np.abs(explorer.q[np.nanargmax(explorer.dispersion, axis=1)])
    probe.value = (f"probe: bias={explorer.bias:.2f}; angle={explorer.angle:.1f};"
                   f" map57={explorer.map.heatmap.color[5, 7]:.6f};"
                   f" peaks={','.join(f'{q:.4f}' for q in peak)}")

explorer.observe(show, names=["bias", "angle"])
show()
display(explorer, probe)""",
]


def test_clicks_and_slider_move_the_cut_and_the_bias(lab, tmp_path):  # noqa: F811
    import shutil
    from pathlib import Path

    grid = standing_wave_grid()
    fmaps = numpy_fourier_maps(grid)
    qx, qy = fmaps.qx.values, fmaps.qy.values
    dq = qx[1] - qx[0]
    # the notebook imports the test's simulated grid (the kernel runs in the lab's root)
    shutil.copy(Path(__file__).with_name("test_fourier_explorer.py"), lab["root"])
    _write_notebook(lab["root"] / "fourier.ipynb", CELLS)
    with _notebook_page(
        lab, "fourier.ipynb", n_figures=3, failure_png="fourier_explorer_failure.png"
    ) as page:
        page.wait_for_timeout(1500)  # let the figures finish their transitions
        _wait_probe(page, "bias=0.00; angle=90.0;")
        figures = page.locator(".sts-fourier .bqplot")
        fourier_image = figures.nth(1).locator("image").first
        dispersion_image = figures.nth(2).locator("image").first
        dispersion_before = dispersion_image.get_attribute("href")

        # click the peak of the wave at bias 0 on the Fourier map: the cut turns to 30 degrees
        k = 2 * np.pi / wavelength_nm(0.0)
        to_page = _page_of(
            fourier_image.bounding_box(),
            (qx[0] - dq / 2, qx[-1] + dq / 2),
            (qy[0] - dq / 2, qy[-1] + dq / 2),
        )
        page.mouse.click(*to_page(k * np.cos(np.deg2rad(30)), k * np.sin(np.deg2rad(30))))
        probe = _wait_probe(page, r"angle=(29|30|31)\.[05];")
        angle = float(re.search(r"angle=([\d.]+)", probe).group(1))  # within a pixel of 30
        q = np.arange(-23, 24) * dq
        cut = q_cut(fmaps, angle, n_q=q.size, q_max=q[-1]).values
        expected = np.abs(q[np.nanargmax(cut, axis=1)])
        peaks = np.array(re.search(r"peaks=([\d.,]+)", probe).group(1).split(","), dtype=float)
        np.testing.assert_allclose(peaks, expected, atol=1e-4)
        assert np.abs(peaks - 2 * np.pi / wavelength_nm(grid.bias.values)).max() <= dq
        page.wait_for_timeout(800)
        assert dispersion_image.get_attribute("href") != dispersion_before

        # click the dispersion image at 4 mV: the conductance map is the grid's at 4 mV
        fourier_before = fourier_image.get_attribute("href")
        to_page = _page_of(
            dispersion_image.bounding_box(), (q[0] - dq / 2, q[-1] + dq / 2), (-9.0, 9.0)
        )
        page.mouse.click(*to_page(-3.0, 4.2))
        probe = _wait_probe(page, "bias=4.00;")
        map57 = float(re.search(r"map57=([-\d.]+)", probe).group(1))
        assert map57 == pytest.approx(float(grid.values[5, 7, 6]), abs=1e-5)
        page.wait_for_timeout(800)
        assert fourier_image.get_attribute("href") != fourier_before

        # type a bias into the slider's readout
        readout = page.locator(".sts-fourier .widget-readout").first
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("-6")
        page.keyboard.press("Enter")
        probe = _wait_probe(page, "bias=-6.00;")
        map57 = float(re.search(r"map57=([-\d.]+)", probe).group(1))
        assert map57 == pytest.approx(float(grid.values[5, 7, 1]), abs=1e-5)
        page.mouse.move(5, 5)
        page.wait_for_timeout(800)
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "fourier_explorer.png")
        )
