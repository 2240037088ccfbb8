"""LatentExplorer: selections driven through the selector and mark traits, checked with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from stswidgets import to_matrix
from stswidgets.widgets import LatentExplorer, Selection


@pytest.fixture
def setup(small_grid):
    X, valid = to_matrix(small_grid)
    n = X.shape[0]
    rng = np.random.default_rng(0)
    Z = {"pca": rng.normal(size=(n, 2)), "grid-order": np.c_[np.arange(n), np.arange(n) % 3]}
    color = {"label": (np.arange(n) % 2).astype(float), "score": rng.uniform(size=n)}
    explorer = LatentExplorer(small_grid, Z, color=color)
    return explorer, X.astype(np.float64), np.asarray(valid), Z, color


def test_scatter_selection_updates_map_means_and_status(setup):
    explorer, X, valid, Z, _ = setup
    idx = np.array([1, 5, 7, 20])
    explorer.scatter.selected = idx  # what a brush or lasso does in the browser
    np.testing.assert_array_equal(explorer.selection.indices, idx)
    # map highlight: exactly the selected pixels, in the valid-pixel order
    expected_mask = np.zeros(valid.shape)
    expected_mask[tuple(np.argwhere(valid)[idx].T)] = 1.0
    expected_mask[~valid] = -1.0  # unmeasured pixels are drawn grey
    np.testing.assert_array_equal(explorer.map.overlay.color, expected_mask)
    rest = np.setdiff1d(np.arange(X.shape[0]), idx)
    np.testing.assert_allclose(explorer.spectra.lines.y[0], X[idx].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(explorer.spectra.lines.y[1], X[rest].mean(axis=0), rtol=1e-6)
    assert "selected 4 of 28" in explorer.status.value


def test_large_selection_uses_the_complement_and_stays_exact(setup):
    explorer, X, _, _, _ = setup
    idx = np.arange(3, 28)  # more than half: summed through the complement
    explorer.selection.select(idx)
    np.testing.assert_allclose(explorer.spectra.lines.y[0], X[idx].mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(explorer.spectra.lines.y[1], X[:3].mean(axis=0), rtol=1e-6)
    explorer.selection.select(np.arange(28))
    assert np.isnan(explorer.spectra.lines.y[1]).all()
    np.testing.assert_allclose(explorer.spectra.lines.y[0], X.mean(axis=0), rtol=1e-6)


def test_brush_rectangle_selects_the_points_inside(setup):
    explorer, _, _, Z, _ = setup
    explorer.brush.selected_x = np.array([0.5, -0.5])  # reversed on purpose
    explorer.brush.selected_y = np.array([-1.0, 1.0])
    z = Z["pca"]
    inside = np.flatnonzero((np.abs(z[:, 0]) <= 0.5) & (np.abs(z[:, 1]) <= 1.0))
    assert inside.size > 0
    np.testing.assert_array_equal(explorer.selection.indices, inside)
    np.testing.assert_array_equal(np.sort(explorer.scatter.selected), inside)
    assert f"selected {inside.size} of 28" in explorer.status.value


def test_map_brush_highlights_points_in_latent_space(setup):
    explorer, _, valid, _, _ = setup
    explorer.map.brush.selected_x = np.array([0.4, 1.1])  # x = 0.5, 1.0 nm -> columns 1, 2
    explorer.map.brush.selected_y = np.array([-0.1, 0.6])  # y = 0, 0.5 nm -> rows 0, 1
    mask = np.zeros(valid.shape, dtype=bool)
    mask[0:2, 1:3] = True
    expected = np.flatnonzero(mask[valid])
    assert explorer.selection.source == "map"
    np.testing.assert_array_equal(np.sort(explorer.scatter.selected), expected)
    assert "selected 4 of 28" in explorer.status.value


def test_dropdowns_switch_latent_space_colour_and_selector(setup):
    explorer, _, _, Z, color = setup
    explorer.space_dropdown.value = "grid-order"
    np.testing.assert_array_equal(explorer.scatter.x, Z["grid-order"][:, 0])
    assert "grid-order" in explorer.x_axis.label
    explorer.color_dropdown.value = "score"
    np.testing.assert_array_equal(explorer.scatter.color, color["score"])
    valid = explorer.selection.valid
    np.testing.assert_allclose(explorer.map.heatmap.color[valid], color["score"])
    assert explorer.map.figure.title.startswith("score")
    explorer.mode_buttons.value = "lasso"
    assert explorer.latent_figure.interaction is explorer.lasso
    explorer.scatter.selected = np.array([2, 3])  # the lasso writes the same trait
    assert explorer.selection.indices.tolist() == [2, 3]
    explorer.clear_button.click()
    assert explorer.selection.indices.size == 0 and explorer.scatter.selected is None


def test_two_explorers_share_one_selection(small_grid):
    X, valid = to_matrix(small_grid)
    n = X.shape[0]
    sel = Selection(valid)
    a = LatentExplorer(small_grid, np.c_[np.arange(n), np.zeros(n)], selection=sel)
    b = LatentExplorer(small_grid, np.c_[np.zeros(n), np.arange(n)], selection=sel)
    a.scatter.selected = np.array([3, 4])
    assert b.scatter.selected.tolist() == [3, 4]
    assert "selected 2 of 28" in b.status.value


def test_bad_latent_shapes_are_refused(small_grid):
    with pytest.raises(ValueError, match="rows"):
        LatentExplorer(small_grid, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="shape"):
        LatentExplorer(small_grid, np.zeros(29))
