"""The LatentExplorer in a real browser: JupyterLab + Debian's Chromium driven by Playwright.

A small notebook (written to a temporary JupyterLab root) shows a LatentExplorer over a
deterministic 10 x 10 lattice in latent space plus a probe widget that prints the kernel-side
selection. The test runs all cells, waits for the bqplot figures, drags a brush across the
scatter with the mouse, and checks that the selection round-tripped to the kernel: the status
label counts the points inside the dragged rectangle, the probe lists exactly those spectra and
their mean, the map overlay and the mean-spectrum line were redrawn. A second notebook draws
a 2400-point latent space (above ``DENSITY_MIN_POINTS``: a density HeatMap plus a subsample of
dots) and checks its rendering, brush and lasso the same way. Screenshots go to
``build/screenshots/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from chromium_session import SCREENSHOTS, chromium_page, stop_server

pytestmark = pytest.mark.browser


# The notebook's data, duplicated here on purpose: the test computes what it expects from it.
N_SIDE = 10
BIAS = np.linspace(-5.0, 5.0, 41)


def lattice_latent() -> np.ndarray:
    """Point i of the 10 x 10 lattice sits at (i % 10, i // 10) / 9 in latent space."""
    i = np.arange(N_SIDE * N_SIDE)
    return np.c_[(i % N_SIDE) / (N_SIDE - 1), (i // N_SIDE) / (N_SIDE - 1)]


def lattice_spectra() -> np.ndarray:
    """Spectrum i: a gap whose depth grows with latent x and a slope that grows with latent y."""
    Z = lattice_latent()
    depth, slope = 0.8 * Z[:, :1], 0.05 * Z[:, 1:]
    return 1.0 - depth * np.exp(-(BIAS[None, :] ** 2) / 2.0) + slope * BIAS[None, :]


NOTEBOOK_CELLS = [
    """\
import numpy as np
import ipywidgets as widgets
from stswidgets import make_grid
from stswidgets.widgets import LatentExplorer

N_SIDE = 10
BIAS = np.linspace(-5.0, 5.0, 41)
i = np.arange(N_SIDE * N_SIDE)
Z = np.c_[(i % N_SIDE) / (N_SIDE - 1), (i // N_SIDE) / (N_SIDE - 1)]
X = 1.0 - 0.8 * Z[:, :1] * np.exp(-(BIAS[None, :] ** 2) / 2.0) + 0.05 * Z[:, 1:] * BIAS[None, :]
grid = make_grid(X.reshape(N_SIDE, N_SIDE, -1), BIAS, x_nm=0.5 * np.arange(N_SIDE),
                 y_nm=0.5 * np.arange(N_SIDE), units="nS")
explorer = LatentExplorer(grid, {"lattice": Z}, color={"gap depth": 0.8 * Z[:, 0]})""",
    """\
probe = widgets.HTML("probe: none")
probe.add_class("sts-probe")

def show(change=None):
    idx = explorer.selection.indices
    mean = explorer.spectra.lines.y[0]
    probe.value = f"probe: indices={','.join(map(str, idx))}; mean0={mean[0]:.6f}"

explorer.selection.observe(show, names="indices")
display(explorer, probe)""",
    """\
from stswidgets import pipeline, to_matrix
from stswidgets.analysis.correlation import distance_correlation
from stswidgets.widgets import (
    DistanceCorrelationExplorer, DistanceDistributionExplorer, GridExplorer)

grid_explorer = GridExplorer(grid, selection=explorer.selection, bins=40)
grid_explorer.add_class("sts-grid-explorer")
correlation = DistanceCorrelationExplorer(
    {"lattice": distance_correlation(X, Z, log=True, bins=20)}, grid=grid,
    selection=explorer.selection)
correlation.add_class("sts-correlation")
grid_with_gap = grid.copy()
grid_with_gap[-1, -3:] = np.nan  # an aborted last line: drawn grey on the map
stats = pipeline.distance_statistics(
    to_matrix(grid_with_gap)[0], pipeline.config_for("test", bins=40))
distribution = DistanceDistributionExplorer(stats, grid=grid_with_gap)
distribution.add_class("sts-distribution")
display(grid_explorer, correlation, distribution)""",
]


FESE_CELLS = [
    """\
import numpy as np
import ipywidgets as widgets
from stswidgets import to_matrix
from stswidgets.datasets import fese_like
from stswidgets.widgets import LatentExplorer

ds = fese_like(seed=0, shape=(40, 40), n_bias=128)
grid = ds["didv"]
X, valid = to_matrix(grid)
centred = X - X.mean(axis=0)
Z = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T  # PCA scores
np.save("fese_latent.npy", Z)  # the test reads the latent coordinates back
truth = (2.0 * ds["vacancy"] + ds["transition"]).values[np.asarray(valid)]
explorer = LatentExplorer(
    grid, {"PCA (PC1, PC2)": Z},
    color={"truth (0 surface, 1 transition, 2 vacancy)": truth,
           "defect weight": ds["defect_weight"].values[np.asarray(valid)]})
probe = widgets.HTML("probe: none")
probe.add_class("sts-probe")
explorer.selection.observe(
    lambda change: setattr(probe, "value", "probe: indices=" + ",".join(
        map(str, explorer.selection.indices)) + "; mean0=0"), names="indices")
display(explorer, probe)""",
]


# A latent space above the density threshold: a 60 x 40 lattice, 2400 points.
GL_NX, GL_NY = 60, 40
GL_BIAS = np.linspace(-5.0, 5.0, 16)


def gl_lattice_latent() -> np.ndarray:
    """Point i sits at (i % 60 / 59, i // 60 / 39): columns along latent x, rows along y."""
    i = np.arange(GL_NX * GL_NY)
    return np.c_[(i % GL_NX) / (GL_NX - 1), (i // GL_NX) / (GL_NY - 1)]


DENSITY_CELLS = [
    """\
import numpy as np
import ipywidgets as widgets
from stswidgets import make_grid
from stswidgets.widgets import LatentExplorer

NX, NY = 60, 40
BIAS = np.linspace(-5.0, 5.0, 16)
i = np.arange(NX * NY)
Z = np.c_[(i % NX) / (NX - 1), (i // NX) / (NY - 1)]
X = 1.0 - 0.8 * Z[:, :1] * np.exp(-(BIAS[None, :] ** 2) / 2.0) + 0.05 * Z[:, 1:] * BIAS[None, :]
grid = make_grid(X.reshape(NY, NX, -1), BIAS, units="nS")
explorer = LatentExplorer(grid, {"lattice": Z}, color={"latent x": Z[:, 0]})
assert explorer.density_mode, "2400 points should be drawn as a density"
probe = widgets.HTML("probe: none")
probe.add_class("sts-probe")
explorer.selection.observe(
    lambda change: setattr(probe, "value", "probe: indices=" + ",".join(
        map(str, explorer.selection.indices)) + "; mean0=0"), names="indices")
display(explorer, probe)""",
]


# GridExplorer alone on the 10 x 10 lattice: a click on a map pixel shows its spectrum.
GRID_CLICK_CELLS = [
    NOTEBOOK_CELLS[0].split("explorer = LatentExplorer(")[0]
    + "from stswidgets.widgets import GridExplorer",
    """\
grid_explorer = GridExplorer(grid, bins=40)
probe = widgets.HTML("probe: none")
probe.add_class("sts-probe")

def show(change=None):
    current = grid_explorer.spectra_lines.y[1]
    probe.value = (f"probe: pixel={grid_explorer.pixel}; current0={current[0]:.6f};"
                   f" pinned={grid_explorer.pinned}")

grid_explorer.observe(show, names=["pixel", "pinned"])
display(grid_explorer, probe)""",
]


def _write_notebook(path: Path, cells: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token, rooted in a temporary directory."""
    if shutil.which("chromium") is None:
        pytest.skip(
            "Debian's chromium is not installed (make browser-deps / apt-get install chromium)"
        )
    pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("lab")
    _write_notebook(root / "latent.ipynb", NOTEBOOK_CELLS)
    _write_notebook(root / "fese.ipynb", FESE_CELLS)
    _write_notebook(root / "density.ipynb", DENSITY_CELLS)
    _write_notebook(root / "grid_click.ipynb", GRID_CLICK_CELLS)
    token, port = secrets.token_hex(16), _free_port()
    jupyter = Path(sys.executable).parent / "jupyter"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / ".config"), PYTHONUNBUFFERED="1")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(root / ".workspaces")
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed in the finalizer
    server = subprocess.Popen(
        [
            str(jupyter),
            "lab",
            "--allow-root",
            "--no-browser",
            f"--port={port}",
            f"--ServerApp.token={token}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=root,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError(
                        "JupyterLab did not start:\n" + (root / "server.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.5)
        yield {"url": url, "token": token, "root": root}
    finally:
        stop_server(server, log)


def _page_of(image_box, x_edges, y_edges):
    """data -> page coordinates of a figure whose HeatMap image spans the given cell edges."""

    def to_page(x, y=0.0):
        fx = (x - x_edges[0]) / (x_edges[1] - x_edges[0])
        fy = (y - y_edges[0]) / (y_edges[1] - y_edges[0])
        return image_box["x"] + fx * image_box["width"], image_box["y"] + (1 - fy) * image_box[
            "height"
        ]

    return to_page


def _wait_probe(page, pattern: str) -> str:
    """The probe widget's text once it matches the regular expression ``pattern``."""
    page.wait_for_function(
        "p => new RegExp(p).test(document.querySelector('.sts-probe').innerText)",
        arg=pattern,
        timeout=20_000,
    )
    return page.locator(".sts-probe").inner_text()


def _drag(page, start, end, steps: int = 12) -> None:
    """Press at ``start``, move to ``end`` in small steps, release (page coordinates)."""
    page.mouse.move(*start)
    page.mouse.down()
    for t in np.linspace(0.0, 1.0, steps)[1:]:
        page.mouse.move(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1]))
        page.wait_for_timeout(30)
    page.mouse.up()


def _lasso(page, path, steps: int = 6) -> None:
    """Press at ``path[0]``, trace the polygon through its vertices in small steps, release."""
    page.mouse.move(*path[0])
    page.mouse.down()
    for a, b in zip(path[:-1], path[1:], strict=True):
        for t in np.linspace(0.0, 1.0, steps)[1:]:
            page.mouse.move(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            page.wait_for_timeout(20)
    page.mouse.up()


def _probe_indices(page, count: int) -> tuple[np.ndarray, float]:
    """The kernel's selection as the probe prints it, once it lists ``count`` indices.

    The probe's update is a comm message of its own, after the status line's: wait for it.
    """
    page.wait_for_function(
        "n => { const m = /indices=([\\d,]*);/.exec("
        "document.querySelector('.sts-probe').innerText);"
        " return m && (m[1] ? m[1].split(',').length : 0) === n; }",
        arg=count,
        timeout=20_000,
    )
    probe = page.locator(".sts-probe").inner_text()
    match = re.search(r"indices=([\d,]*); mean0=([-\d.]+)", probe)
    assert match, probe
    return np.array([int(v) for v in match.group(1).split(",") if v]), float(match.group(2))


def _expect_selection(page, expected: np.ndarray, n: int) -> None:
    """Wait for the status line to report ``expected`` selected of ``n``, then check the indices.

    The status line shows the count; the probe prints the kernel's selected indices, which
    must be exactly ``expected``.
    """
    page.wait_for_function(
        "t => document.querySelector('.sts-status').innerText.includes(t)",
        arg=f"selected {expected.size} of {n}",
        timeout=20_000,
    )
    indices, _ = _probe_indices(page, expected.size)
    np.testing.assert_array_equal(indices, expected)


def _open_and_run(page, lab, name: str, n_figures: int) -> None:
    """Open ``name`` in JupyterLab, run all cells, wait for ``n_figures`` bqplot figures."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # with bqplot-gl's JupyterLab extension loaded (where installed), no brush selection
    # reaches the kernel, in any bqplot figure (test_environment.py fails while it is
    # installed and says why); keep it out of the page so these tests see the explorers alone
    page.route("**/extensions/bqplot-gl/**", lambda route: route.abort())
    page.goto(f"{lab['url']}/lab/tree/{name}?token={lab['token']}&reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="visible")
    # wait for the kernel to be idle, then run all cells from the Run menu
    page.wait_for_selector(".jp-StatusBar-TextItem:has-text('| Idle')")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    try:  # JupyterLab may still ask which kernel to use: accept the notebook's python3
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=3000)
    except PlaywrightTimeout:
        pass
    try:  # the "Jupyter news" notification would cover part of the screenshot
        page.locator(".jp-toast-button", has_text=re.compile(r"^No$")).click(timeout=1000)
    except PlaywrightTimeout:
        pass
    page.wait_for_function(f"document.querySelectorAll('.bqplot').length >= {n_figures}")
    page.wait_for_selector(".sts-probe")


@contextlib.contextmanager
def _notebook_page(lab, name: str, n_figures: int, failure_png: str, height: int = 1200):
    """A Chromium page (Playwright, Debian's chromium) with notebook ``name`` open and run.

    A failure inside the block saves a screenshot ``failure_png`` under build/screenshots/.
    """
    with chromium_page({"width": 1400, "height": height}, failure_png) as page:
        page.set_default_timeout(60_000)
        _open_and_run(page, lab, name, n_figures=n_figures)
        yield page


def _dot_centres(page, figure) -> np.ndarray:
    """Page coordinates of the scatter's dots, in data order."""
    boxes = figure.locator("path.dot").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [r.x + r.width / 2, r.y + r.height / 2]; })"
    )
    return np.asarray(boxes, dtype=float)


def test_brush_on_latent_scatter_round_trips_to_the_kernel(lab):
    Z, X = lattice_latent(), lattice_spectra()
    with _notebook_page(
        lab, "latent.ipynb", n_figures=9, failure_png="latent_explorer_failure.png"
    ) as page:
        latent_fig = page.locator(".bqplot").nth(0)
        page.wait_for_function(
            "document.querySelector('.bqplot').querySelectorAll('path.dot').length == 100"
        )
        page.wait_for_timeout(1500)  # let the figures finish their transitions
        status = page.locator(".sts-status").first
        assert "selected 0 of 100" in status.inner_text()
        overlay_before = (
            page.locator(".bqplot").nth(1).locator("image").nth(1).get_attribute("href")
        )
        page.screenshot(path=str(SCREENSHOTS / "latent_explorer_before.png"))

        # data -> page coordinates, fitted from the drawn dots (known latent coordinates)
        centres = _dot_centres(page, latent_fig)
        assert centres.shape == (100, 2)
        ax, bx = np.polyfit(Z[:, 0], centres[:, 0], 1)
        ay, by = np.polyfit(Z[:, 1], centres[:, 1], 1)
        # a rectangle whose edges fall midway between lattice points (robust to rounding)
        x_lo, x_hi, y_lo, y_hi = 2.5 / 9, 5.5 / 9, 1.5 / 9, 6.5 / 9
        start = (bx + ax * x_lo, by + ay * y_lo)
        end = (bx + ax * x_hi, by + ay * y_hi)
        expected = np.flatnonzero(
            (Z[:, 0] >= x_lo) & (Z[:, 0] <= x_hi) & (Z[:, 1] >= y_lo) & (Z[:, 1] <= y_hi)
        )
        assert expected.size == 15  # columns 3-5 x rows 2-6

        _drag(page, start, end)

        page.wait_for_function(
            "document.querySelector('.sts-status').innerText.includes('selected 15 of 100')",
            timeout=20_000,
        )
        indices, mean0 = _probe_indices(page, 15)
        np.testing.assert_array_equal(indices, expected)
        assert mean0 == pytest.approx(X[expected, 0].mean(), abs=1e-5)

        page.wait_for_timeout(1000)  # the redraws below are asynchronous
        overlay_after = page.locator(".bqplot").nth(1).locator("image").nth(1).get_attribute("href")
        assert overlay_after != overlay_before, "the map overlay was not redrawn"
        selection_path = page.locator(".bqplot").nth(2).locator("g.curve path.line").first
        d = selection_path.get_attribute("d") or ""
        assert d.count("L") >= BIAS.size - 1, "the selection's mean spectrum is not drawn"
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "latent_explorer_lattice.png")
        )
        # the linked explorers in the next cell followed the same selection
        grid_status = page.locator(".sts-grid-explorer .sts-status").inner_text()
        assert "15 selected of 100" in grid_status, grid_status
        corr_status = page.locator(".sts-correlation .sts-status").inner_text()
        assert "selected 15 of 100" in corr_status, corr_status
        for name in ("grid-explorer", "correlation", "distribution"):
            element = page.locator(f".sts-{name}")
            element.scroll_into_view_if_needed()
            element.screenshot(path=str(SCREENSHOTS / f"{name.replace('-', '_')}.png"))

        # the other way round: brush pixels on the map, the latent points follow
        map_image = page.locator(".bqplot").nth(1).locator("image").first
        map_image.scroll_into_view_if_needed()
        box = map_image.bounding_box()
        x_edges, y_edges = (-0.25, 4.75), (-0.25, 4.75)  # nm: outer pixel edges

        def to_page(x_nm, y_nm):
            fx = (x_nm - x_edges[0]) / (x_edges[1] - x_edges[0])
            fy = (y_nm - y_edges[0]) / (y_edges[1] - y_edges[0])
            return box["x"] + fx * box["width"], box["y"] + (1 - fy) * box["height"]

        _drag(page, to_page(2.8, -0.2), to_page(4.2, 0.7))  # columns 6-8, rows 0-1
        page.wait_for_function(
            "document.querySelector('.sts-status').innerText.includes('selected 6 of 100')",
            timeout=20_000,
        )
        indices, _ = _probe_indices(page, 6)
        np.testing.assert_array_equal(indices, [6, 7, 8, 16, 17, 18])
        page.wait_for_timeout(800)
        selected_dots = latent_fig.locator("path.dot").evaluate_all(
            "els => els.filter(e => getComputedStyle(e).opacity === '1').length"
        )
        assert selected_dots == 6, selected_dots
        brush_rects = latent_fig.locator("rect.selection").evaluate_all(
            "els => els.filter(e => e.getAttribute('width') > 0 &&"
            " getComputedStyle(e).display !== 'none').length"
        )
        assert brush_rects == 0, "the stale latent brush rectangle was not cleared"
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "latent_explorer_map_brush.png")
        )

        # lasso: switch the selector, draw a closed loop around four lattice points
        page.locator(".widget-toggle-button", has_text=re.compile(r"^lasso$")).click()
        page.wait_for_timeout(500)
        latent_fig.scroll_into_view_if_needed()
        centres = _dot_centres(page, latent_fig)  # the page has scrolled: fit again
        ax, bx = np.polyfit(Z[:, 0], centres[:, 0], 1)
        ay, by = np.polyfit(Z[:, 1], centres[:, 1], 1)
        corners = [(0.39, 0.72), (0.61, 0.72), (0.61, 0.94), (0.39, 0.94), (0.39, 0.72)]
        path = [(bx + ax * x, by + ay * y) for x, y in corners]
        _lasso(page, path)
        page.wait_for_function(
            "document.querySelector('.sts-status').innerText.includes('selected 4 of 100')",
            timeout=20_000,
        )
        indices, mean0 = _probe_indices(page, 4)
        np.testing.assert_array_equal(indices, [74, 75, 84, 85])
        assert mean0 == pytest.approx(X[[74, 75, 84, 85], 0].mean(), abs=1e-5)

        # distance distribution: a click on the distribution moves the abundance map
        status = page.locator(".sts-distribution .sts-status")
        before = status.inner_text()
        figure_el = page.locator(".sts-distribution .bqplot").first
        figure_el.scroll_into_view_if_needed()
        abundance_map = page.locator(".sts-distribution .bqplot").nth(1).locator("image")
        map_before = abundance_map.first.get_attribute("href")
        box = figure_el.bounding_box()
        y_mid = box["y"] + 0.5 * box["height"]
        # bqplot's IndexSelector: a click starts following the mouse, a second click fixes it
        page.mouse.click(box["x"] + 0.6 * box["width"], y_mid)
        for f in np.linspace(0.55, 0.35, 5):
            page.mouse.move(box["x"] + f * box["width"], y_mid)
            page.wait_for_timeout(50)
        page.mouse.click(box["x"] + 0.35 * box["width"], y_mid)
        page.wait_for_function(
            "t => document.querySelector('.sts-distribution .sts-status').innerText !== t",
            arg=before,
            timeout=20_000,
        )
        after = status.inner_text()
        # the default split is the crossing of the fitted components, or none (no map) for
        # one population; the click splits where it was made
        at_before = re.search(r"map at (-?[\d.]+)", before)
        at_after = float(re.search(r"map at (-?[\d.]+)", after).group(1))
        assert at_before is None or float(at_before.group(1)) != at_after
        page.wait_for_timeout(800)
        assert abundance_map.first.get_attribute("href") != map_before


def _tail_threshold(values: np.ndarray) -> tuple[float, float]:
    """``(sign, threshold)``: the widest gap between the 1 % and 20 % most extreme values.

    ``sign * values > sign * threshold`` selects the tail on the side farther from the median;
    the threshold sits in the middle of the gap, so a pixel of rounding cannot move a point
    across it.
    """
    median = np.median(values)
    sign = -1.0 if median - values.min() > values.max() - median else 1.0
    ordered = np.sort(sign * values)[::-1]  # most extreme first
    n = len(ordered)
    ks = np.arange(max(1, n // 100), n // 5)
    k = ks[np.argmax(ordered[ks - 1] - ordered[ks])]
    return sign, sign * 0.5 * (ordered[k - 1] + ordered[k])


def test_latent_explorer_on_a_simulated_fese_grid(lab):
    """Brush the vacancy spectra in the PCA latent space of a simulated FeSe grid.

    Saves ``build/screenshots/latent_explorer.png``, the README's screenshot.
    """
    with _notebook_page(
        lab, "fese.ipynb", n_figures=3, failure_png="latent_explorer_failure.png"
    ) as page:
        latent_fig = page.locator(".bqplot").nth(0)
        Z = np.load(lab["root"] / "fese_latent.npy")
        page.wait_for_function(
            "n => document.querySelector('.bqplot').querySelectorAll('path.dot').length == n",
            arg=len(Z),
        )
        page.wait_for_timeout(1500)
        centres = _dot_centres(page, latent_fig)
        ax, bx = np.polyfit(Z[:, 0], centres[:, 0], 1)
        ay, by = np.polyfit(Z[:, 1], centres[:, 1], 1)
        # the far tail of PC2 (the rarest spectra): a rectangle over every PC1 value, cut in
        # the widest gap of the PC2 tail
        sign, threshold = _tail_threshold(Z[:, 1])
        expected = np.flatnonzero(sign * Z[:, 1] > sign * threshold)
        pad_x, pad_y = 3.0 / abs(ax), 3.0 / abs(ay)  # 3 px beyond the outermost points
        x_lo, x_hi = Z[:, 0].min() - pad_x, Z[:, 0].max() + pad_x
        y_lo, y_hi = sorted(
            [threshold, Z[:, 1].min() - pad_y if sign < 0 else Z[:, 1].max() + pad_y]
        )
        assert abs(ay) * np.min(np.abs(Z[:, 1] - threshold)) > 1.0  # a clear gap (px)
        assert expected.size > 0
        _drag(page, (bx + ax * x_lo, by + ay * y_lo), (bx + ax * x_hi, by + ay * y_hi))
        _expect_selection(page, expected, len(Z))
        page.mouse.move(5, 5)  # no hover toolbar in the screenshot
        page.wait_for_timeout(1000)
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "latent_explorer.png")
        )


def _axes_fit(figure) -> tuple[float, float, float, float]:
    """``(ax, bx, ay, by)``: page x = ``bx + ax * data x``, page y = ``by + ay * data y``.

    Fitted to the tick marks of the figure's two axes (their labels are the data values), so
    it needs no drawn points: a WebGL scatter has no DOM element per point.
    """
    ticks = figure.locator("g.axis g.tick").evaluate_all(
        "els => els.map(e => { const r = e.querySelector('line').getBoundingClientRect();"
        " return [e.textContent, r.x + r.width / 2, r.y + r.height / 2]; })"
    )
    xs, ys = [], []
    for text, px, py in ticks:
        text = text.strip().replace("\u2212", "-")
        if not text:
            continue
        (xs if abs(py - ticks[0][2]) < 1.0 else ys).append((float(text), px, py))
    if len(ys) > len(xs):  # the first tick belonged to the vertical axis
        xs, ys = ys, xs
    xs, ys = np.array(xs), np.array(ys)
    assert len(xs) >= 3 and len(ys) >= 3, ticks
    ax, bx = np.polyfit(xs[:, 0], xs[:, 1], 1)
    ay, by = np.polyfit(ys[:, 0], ys[:, 2], 1)
    return ax, bx, ay, by


def _rgb(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def test_density_latent_space_renders_and_selects_in_chromium(lab):
    """2400 latent points, above ``DENSITY_MIN_POINTS``: a density plus a subsample of dots.

    Checks that the figure shows the grey density image and at most ``MAX_DRAWN_POINTS`` dots
    coloured with viridis (dark purple at low latent x, yellow at high), that a mouse brush
    selects exactly the lattice points in its rectangle (all of them, not only the drawn ones)
    and outlines them, and that the lasso selects exactly the points inside its loop.
    """
    from stswidgets.widgets.latent import DENSITY_MIN_POINTS, MAX_DRAWN_POINTS

    Z = gl_lattice_latent()
    n = len(Z)
    assert n >= DENSITY_MIN_POINTS
    with _notebook_page(
        lab, "density.ipynb", n_figures=3, failure_png="latent_explorer_density_failure.png"
    ) as page:
        latent_fig = page.locator(".bqplot").nth(0)
        page.wait_for_function(
            "n => document.querySelector('.bqplot').querySelectorAll('path.dot').length == n",
            arg=MAX_DRAWN_POINTS,
        )
        assert latent_fig.locator("image").count() == 1  # the density HeatMap
        page.wait_for_timeout(1500)
        assert f"selected 0 of {n}" in page.locator(".sts-status").first.inner_text()
        ax, bx, ay, by = _axes_fit(latent_fig)

        def px(x, y):  # data -> page
            return bx + ax * x, by + ay * y

        # the tick fit agrees with the drawn dots (whose data coordinates are on the lattice)
        centres = _dot_centres(page, latent_fig)
        col = np.round((centres[:, 0] - bx) / ax * (GL_NX - 1))
        assert np.abs(bx + ax * col / (GL_NX - 1) - centres[:, 0]).max() < 1.5

        def region_rgb(image, origin, x_lo, x_hi, y_lo, y_hi):
            (c0, r0), (c1, r1) = px(x_lo, y_lo), px(x_hi, y_hi)
            c0, c1 = sorted((c0 - origin[0], c1 - origin[0]))
            r0, r1 = sorted((r0 - origin[1], r1 - origin[1]))
            return image[int(r0) : int(r1), int(c0) : int(c1)].reshape(-1, 3).mean(axis=0)

        box = latent_fig.bounding_box()
        origin = (box["x"], box["y"])
        before = _rgb(latent_fig.screenshot())
        left = region_rgb(before, origin, 0.02, 0.15, 0.1, 0.9)
        right = region_rgb(before, origin, 0.85, 0.98, 0.1, 0.9)
        # viridis: #440154 (low) is blue > green, #fde725 (high) is green > blue; the grey
        # density and the white background are equal in all channels
        assert left[2] - left[1] > 10, f"no dark-purple points at low latent x: {left}"
        assert right[1] - right[2] > 10, f"no yellow points at high latent x: {right}"

        # brush: edges midway between lattice columns/rows (robust to rounding)
        x_lo, x_hi = 9.5 / (GL_NX - 1), 29.5 / (GL_NX - 1)  # columns 10-29
        y_lo, y_hi = 4.5 / (GL_NY - 1), 24.5 / (GL_NY - 1)  # rows 5-24
        expected = np.flatnonzero(
            (Z[:, 0] >= x_lo) & (Z[:, 0] <= x_hi) & (Z[:, 1] >= y_lo) & (Z[:, 1] <= y_hi)
        )
        assert expected.size == 400
        _drag(page, px(x_lo, y_lo), px(x_hi, y_hi))
        _expect_selection(page, expected, n)
        page.mouse.move(5, 5)
        page.wait_for_timeout(1000)
        # every selected point is outlined: 400 dots more than the subsample
        dots = latent_fig.locator("path.dot").count()
        assert dots == MAX_DRAWN_POINTS + expected.size, dots
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "latent_explorer_density.png")
        )

        # lasso: a closed loop around columns 40-45 x rows 30-34 (30 points)
        page.locator(".widget-toggle-button", has_text=re.compile(r"^lasso$")).click()
        page.wait_for_timeout(500)
        ax, bx, ay, by = _axes_fit(latent_fig)
        xa, xb = 39.5 / (GL_NX - 1), 45.5 / (GL_NX - 1)
        ya, yb = 29.5 / (GL_NY - 1), 34.5 / (GL_NY - 1)
        corners = [(xa, ya), (xb, ya), (xb, yb), (xa, yb), (xa, ya)]
        path = [px(x, y) for x, y in corners]
        _lasso(page, path)
        expected = np.flatnonzero(
            (Z[:, 0] >= xa) & (Z[:, 0] <= xb) & (Z[:, 1] >= ya) & (Z[:, 1] <= yb)
        )
        assert expected.size == 30
        _expect_selection(page, expected, n)


def test_click_on_grid_explorer_map_shows_that_pixels_spectrum(lab):
    """A plain click on a map pixel (pick mode) makes it the current spectrum; pin keeps it.

    Pixels (iy, ix) of the 10 x 10 lattice sit at (0.5 ix, 0.5 iy) nm; spectrum of pixel
    (iy, ix) is lattice spectrum ``10 iy + ix``. Then "brush" mode: a drag still selects.
    Saves ``build/screenshots/grid_explorer_click.png``.
    """
    X = lattice_spectra()
    with _notebook_page(
        lab,
        "grid_click.ipynb",
        n_figures=2,
        failure_png="grid_explorer_click_failure.png",
        height=1000,
    ) as page:
        page.wait_for_timeout(1500)  # let the figures finish their transitions
        map_fig = page.locator(".bqplot").first
        box = map_fig.locator("image").first.bounding_box()  # the HeatMap: pixel edges
        x_edges, y_edges = (-0.25, 4.75), (-0.25, 4.75)  # nm

        def to_page(iy, ix):
            fx = (0.5 * ix - x_edges[0]) / (x_edges[1] - x_edges[0])
            fy = (0.5 * iy - y_edges[0]) / (y_edges[1] - y_edges[0])
            return box["x"] + fx * box["width"], box["y"] + (1 - fy) * box["height"]

        def wait_probe(text):
            page.wait_for_function(
                "t => document.querySelector('.sts-probe').innerText.includes(t)",
                arg=text,
                timeout=20_000,
            )
            return page.locator(".sts-probe").inner_text()

        page.mouse.click(*to_page(3, 7))
        probe = wait_probe("pixel=(3, 7)")
        current0 = float(re.search(r"current0=([-\d.]+)", probe).group(1))
        assert current0 == pytest.approx(X[37, 0], abs=1e-5)
        page.locator(".sts-grid-explorer button, .widget-button", has_text="pin").first.click()
        wait_probe("pinned=[(3, 7)]")
        page.mouse.click(*to_page(8, 2))
        probe = wait_probe("pixel=(8, 2)")
        assert "pinned=[(3, 7)]" in probe
        current0 = float(re.search(r"current0=([-\d.]+)", probe).group(1))
        assert current0 == pytest.approx(X[82, 0], abs=1e-5)
        status = page.locator(".sts-status").first.inner_text()
        assert "current pixel (iy, ix) = (8, 2)" in status, status
        page.wait_for_timeout(800)  # the spectrum lines redraw asynchronously
        page.mouse.move(5, 5)
        page.locator(".jp-OutputArea-output").first.screenshot(
            path=str(SCREENSHOTS / "grid_explorer_click.png")
        )

        # brush mode: a drag over columns 1-2, rows 5-6 selects those 4 pixels
        page.locator(".widget-toggle-button", has_text=re.compile(r"^brush$")).click()
        page.wait_for_timeout(500)
        box = map_fig.locator("image").first.bounding_box()  # the page may have scrolled
        _drag(page, to_page(4.6, 0.6), to_page(6.4, 2.4))
        page.wait_for_function(
            "document.querySelector('.sts-status').innerText.includes('4 selected')",
            timeout=20_000,
        )
