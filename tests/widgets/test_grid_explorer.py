"""GridExplorer: bias slider, map brush, pins, the energy-resolved histogram."""

from __future__ import annotations

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
