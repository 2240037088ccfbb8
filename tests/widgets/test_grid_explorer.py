"""GridExplorer: bias slider, map click and brush, pins, the energy-resolved histogram."""

from __future__ import annotations

import time

import numpy as np
import pytest

from stswidgets import to_matrix
from stswidgets.widgets import GridExplorer, LatentExplorer


def test_bias_slider_shows_the_map_at_the_nearest_bias(small_grid):
    explorer = GridExplorer(small_grid, bins=20)
    bias = small_grid["bias"].values
    explorer.slider.value = 4.1
    j = int(np.argmin(np.abs(bias - 4.1)))
    assert explorer.bias_index == j
    measured = np.isfinite(small_grid.values).all(axis=-1)
    np.testing.assert_array_equal(
        explorer.map.heatmap.color[measured], small_grid.values[:, :, j][measured]
    )
    assert np.isfinite(explorer.map.heatmap.color).all()  # the canvas cannot draw NaN
    np.testing.assert_array_equal(explorer.map.overlay.color[~measured], -1.0)  # grey
    assert explorer.bias_line.x[0] == pytest.approx(bias[j])
    assert f"{bias[j]:.2f} mV" in explorer.map.figure.title


def test_opens_at_the_given_bias_or_near_zero(small_grid):
    bias = small_grid["bias"].values  # 24 points from -10 to 10 mV: none at 0 mV
    j = int(np.argmin(np.abs(bias + 6.3)))
    explorer = GridExplorer(small_grid, bins=20, bias=-6.3)
    assert explorer.bias == pytest.approx(bias[j]) and explorer.slider.value == pytest.approx(
        bias[j]
    )
    measured = np.isfinite(small_grid.values).all(axis=-1)
    np.testing.assert_array_equal(
        explorer.map.heatmap.color[measured], small_grid.values[:, :, j][measured]
    )
    assert f"{bias[j]:.2f} mV" in explorer.map.figure.title
    near_zero = int(np.argmin(np.abs(bias)))
    assert GridExplorer(small_grid, bins=20).bias == pytest.approx(bias[near_zero])
    with pytest.raises(ValueError, match="finite"):
        GridExplorer(small_grid, bins=20, bias=float("nan"))


def test_histogram_counts_every_spectrum_at_every_bias(small_grid):
    explorer = GridExplorer(small_grid, bins=20)
    X, _ = to_matrix(small_grid)
    H, edges = explorer.histogram, explorer.value_edges
    assert H.shape == (X.shape[1], 20)
    # independent check at one bias: numpy's histogram of that column, as a fraction
    j = 7
    counts, _ = np.histogram(X[:, j], bins=edges)
    np.testing.assert_allclose(H[j], counts / X.shape[0])


def test_map_brush_selects_pixels_picks_the_centre_and_draws_the_mean(small_grid):
    explorer = GridExplorer(small_grid, bins=20)
    X, valid = to_matrix(small_grid)
    valid = np.asarray(valid)
    explorer.map.brush.selected_x = np.array([0.9, 2.1])  # columns 2, 3, 4 (x = 1, 1.5, 2 nm)
    explorer.map.brush.selected_y = np.array([0.4, 1.6])  # rows 1, 2, 3
    mask = np.zeros(valid.shape, dtype=bool)
    mask[1:4, 2:5] = True
    idx = np.flatnonzero(mask[valid])
    np.testing.assert_array_equal(explorer.selection.indices, idx)
    np.testing.assert_allclose(explorer.spectra_lines.y[0], X[idx].mean(axis=0), rtol=1e-6)
    assert explorer.pixel == (2, 3)
    np.testing.assert_allclose(explorer.spectra_lines.y[1], small_grid.values[2, 3], rtol=1e-6)
    assert "9 selected" in explorer.info.value


def test_pins_are_drawn_and_cleared(small_grid):
    explorer = GridExplorer(small_grid, bins=20)
    explorer.pin((1, 1))
    explorer.pin((4, 2))
    explorer.pin((4, 2))  # pinned once only
    assert explorer.pinned == [(1, 1), (4, 2)]
    np.testing.assert_allclose(explorer.spectra_lines.y[2], small_grid.values[1, 1], rtol=1e-6)
    np.testing.assert_allclose(explorer.spectra_lines.y[3], small_grid.values[4, 2], rtol=1e-6)
    np.testing.assert_allclose(explorer.map.pins.x, small_grid["x"].values[[1, 2]])
    explorer.clear_pins_button.click()
    assert explorer.pinned == [] and np.isnan(explorer.spectra_lines.y[2:]).all()
    with pytest.raises(ValueError, match="outside"):
        explorer.pin((10, 0))


def test_linked_with_a_latent_explorer(small_grid):
    X, _ = to_matrix(small_grid)
    latent = LatentExplorer(small_grid, np.c_[np.arange(X.shape[0]), np.zeros(X.shape[0])])
    grid_explorer = GridExplorer(small_grid, selection=latent.selection, bins=20)
    latent.scatter.selected = np.array([0, 10, 11])
    np.testing.assert_allclose(
        grid_explorer.spectra_lines.y[0], X[[0, 10, 11]].mean(axis=0), rtol=1e-6
    )
    grid_explorer.map.brush.selected_x = np.array([-1.0, 0.1])  # column 0
    grid_explorer.map.brush.selected_y = np.array([-1.0, 0.1])  # row 0: (0, 0) is not measured
    assert latent.scatter.selected is None and "selected 0 of" in latent.status.value


def _click(explorer, x_nm, y_nm):
    """The message bqplot's Image view sends on a click, with the clicked data coordinates."""
    content = {"event": "element_click", "data": {"click_x": x_nm, "click_y": y_nm}}
    explorer.map.picker._handle_custom_msgs(None, content)


def test_click_on_a_pixel_shows_its_spectrum_and_pin_keeps_it(small_grid):
    explorer = GridExplorer(small_grid, bins=20)
    assert explorer.mode == "pick" and explorer.map.figure.interaction is None
    _click(explorer, 1.1, 2.4)  # nearest pixel centre: x = 1.0 nm (ix 2), y = 2.5 nm (iy 5)
    assert explorer.pixel == (5, 2)
    np.testing.assert_allclose(explorer.spectra_lines.y[1], small_grid.values[5, 2], rtol=1e-6)
    assert list(explorer.map.current.x) == [1.0] and list(explorer.map.current.y) == [2.5]
    assert "current pixel (iy, ix) = (5, 2)" in explorer.info.value
    explorer.pin_button.click()
    _click(explorer, 1.4, 0.6)  # ix 3, iy 1
    assert explorer.pixel == (1, 3) and explorer.pinned == [(5, 2)]
    np.testing.assert_allclose(explorer.spectra_lines.y[1], small_grid.values[1, 3], rtol=1e-6)
    np.testing.assert_allclose(explorer.spectra_lines.y[2], small_grid.values[5, 2], rtol=1e-6)
    assert explorer.selection.indices.size == 0  # a click picks, it does not select
    _click(explorer, 0.1, -0.1)  # pixel (0, 0) was not measured: nothing changes
    assert explorer.pixel == (1, 3) and "not measured" in explorer.info.value
    _click(explorer, 3.0, 1.0)  # right of the map (x edges -0.25 .. 2.25 nm)
    assert explorer.pixel == (1, 3)


def test_mode_buttons_swap_click_picking_and_the_brush(small_grid):
    explorer = GridExplorer(small_grid, bins=20)
    explorer.mode_buttons.value = "brush"
    assert explorer.mode == "brush" and explorer.map.figure.interaction is explorer.map.brush
    assert "brush to select" in explorer.map.figure.title
    explorer.mode_buttons.value = "pick"
    assert explorer.map.figure.interaction is None
    assert "click a pixel" in explorer.map.figure.title
    assert GridExplorer(small_grid, bins=20, mode="brush").map.mode == "brush"
    with pytest.raises(ValueError, match="mode"):
        GridExplorer(small_grid, bins=20, mode="lasso")
    # the other explorers' maps keep their brush and cannot pick
    X, _ = to_matrix(small_grid)
    latent = LatentExplorer(small_grid, np.c_[np.arange(X.shape[0]), np.zeros(X.shape[0])])
    assert latent.map.picker is None and latent.map.figure.interaction is latent.map.brush
    with pytest.raises(ValueError, match="pickable"):
        latent.map.set_mode("pick")


def test_a_click_updates_the_spectra_within_100_ms_on_a_100x100_grid():
    from stswidgets import make_grid

    rng = np.random.default_rng(0)
    bias = np.linspace(-15.0, 15.0, 512)
    values = (1.0 + 0.1 * rng.normal(size=(100, 100, 512))).astype(np.float32)
    grid = make_grid(values, bias, x_nm=0.1 * np.arange(100), y_nm=0.1 * np.arange(100))
    explorer = GridExplorer(grid, bins=50)
    times = []
    for k in range(20):
        iy, ix = (7 * k) % 100, (13 * k + 5) % 100
        t0 = time.perf_counter()
        _click(explorer, 0.1 * ix + 0.02, 0.1 * iy - 0.03)
        times.append(time.perf_counter() - t0)
        assert explorer.pixel == (iy, ix)
        np.testing.assert_allclose(explorer.spectra_lines.y[1], values[iy, ix], rtol=1e-6)
    assert np.median(times) < 0.1, f"median click update {1e3 * np.median(times):.1f} ms"


def test_a_line_grid_is_drawn_and_brushed():
    """A single-line grid (ny = 1): bqplot's HeatMap squeezes a length-1 axis away, so the line
    is drawn as two identical half-pixel rows; selection still works on the real pixels."""
    from stswidgets import make_grid

    rng = np.random.default_rng(3)
    x_nm = np.arange(8) * 0.5
    line = make_grid(rng.normal(size=(1, 8, 12)), np.linspace(-5, 5, 12), x_nm=x_nm, y_nm=[2.0])
    explorer = GridExplorer(line, bins=10, mode="brush")
    colour = np.asarray(explorer.map.heatmap.color)
    assert colour.shape == (2, 8)
    j = explorer.bias_index
    np.testing.assert_array_equal(colour[0], line.values[0, :, j])
    np.testing.assert_array_equal(colour[1], line.values[0, :, j])
    np.testing.assert_allclose(explorer.map.heatmap.y, [2.0 - 0.125, 2.0 + 0.125])
    explorer.map.brush.selected_x = [0.9, 2.1]  # pixel centres 1.0, 1.5, 2.0
    explorer.map.brush.selected_y = [1.5, 2.5]
    np.testing.assert_array_equal(explorer.selection.indices, [2, 3, 4])
    assert np.asarray(explorer.map.overlay.color).shape == (2, 8)
    np.testing.assert_array_equal(np.asarray(explorer.map.overlay.color)[1, 2:5], 1.0)
    LatentExplorer(line, rng.normal(size=(8, 2)))  # builds on a line too
