"""LatentExplorer: selections driven through the selector and mark traits, checked with numpy."""

from __future__ import annotations

import bqplot as bq
import numpy as np
import pytest

from stswidgets import make_grid, to_matrix
from stswidgets.widgets import LatentExplorer, Selection, latent


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


# -- large latent spaces: density + subsample, selections still on every point ------------------
def _lattice_grid(ny: int, nx: int):
    """An ny x nx grid (8 bias points) and a latent space on the unit square, one row per pixel."""
    i = np.arange(ny * nx)
    Z = np.c_[(i % nx) / (nx - 1), (i // nx) / (ny - 1)]
    bias = np.linspace(-1.0, 1.0, 8)
    X = 1.0 + Z[:, :1] * bias[None, :] ** 2 + 0.1 * Z[:, 1:] * bias[None, :]
    return make_grid(X.reshape(ny, nx, -1), bias, units="nS"), Z, X


@pytest.fixture
def large():
    grid, Z, X = _lattice_grid(50, 48)  # 2400 spectra >= DENSITY_MIN_POINTS
    color = Z[:, 0] + Z[:, 1]
    return LatentExplorer(grid, {"lattice": Z, "swapped": Z[:, ::-1]}, color=color), Z, X, color


def test_density_mode_switches_on_at_the_threshold(monkeypatch):
    grid, Z, _ = _lattice_grid(10, 10)
    monkeypatch.setattr(latent, "DENSITY_MIN_POINTS", 101)
    small = LatentExplorer(grid, Z)
    assert not small.density_mode and small.density is None
    assert small.lasso_target is small.scatter and len(small.scatter.x) == 100
    assert small.latent_figure.marks == [small.scatter]
    monkeypatch.setattr(latent, "DENSITY_MIN_POINTS", 100)
    monkeypatch.setattr(latent, "MAX_DRAWN_POINTS", 30)
    big = LatentExplorer(grid, Z)
    assert big.density_mode and big.density in big.latent_figure.marks
    assert len(big.scatter.x) == 30 and len(big.lasso_target.x) == 100
    assert isinstance(big.lasso_target, bq.Lines) and big.lasso.marks == [big.lasso_target]


def test_density_is_the_2d_histogram_and_dots_are_a_subsample(large):
    explorer, Z, _, color = large
    assert explorer.density_mode
    counts, xe, ye = np.histogram2d(Z[:, 0], Z[:, 1], bins=latent.DENSITY_BINS)
    np.testing.assert_allclose(explorer.density.color, np.log10(1 + counts).T)
    np.testing.assert_allclose(explorer.density.x, (xe[1:] + xe[:-1]) / 2)
    assert np.asarray(explorer.density.color).sum() > 0
    drawn = explorer.drawn
    assert drawn.size == latent.MAX_DRAWN_POINTS and np.unique(drawn).size == drawn.size
    np.testing.assert_array_equal(explorer.scatter.x, Z[drawn, 0])
    np.testing.assert_array_equal(explorer.scatter.color, color[drawn])
    again = LatentExplorer(_lattice_grid(50, 48)[0], Z, color=color)
    np.testing.assert_array_equal(again.drawn, drawn)  # same random_state, same subsample
    explorer.space_dropdown.value = "swapped"
    np.testing.assert_array_equal(explorer.scatter.x, Z[drawn, 1])
    np.testing.assert_array_equal(explorer.lasso_target.x, Z[:, 1])
    np.testing.assert_allclose(explorer.density.color, np.log10(1 + counts))  # transposed


def test_density_brush_selects_every_point_in_the_rectangle(large):
    explorer, Z, X, _ = large
    explorer.brush.selected_x = np.array([0.2, 0.55])
    explorer.brush.selected_y = np.array([0.1, 0.3])
    inside = np.flatnonzero(
        (Z[:, 0] >= 0.2) & (Z[:, 0] <= 0.55) & (Z[:, 1] >= 0.1) & (Z[:, 1] <= 0.3)
    )
    assert inside.size > np.isin(inside, explorer.drawn).sum() > 0  # more than the drawn ones
    np.testing.assert_array_equal(explorer.selection.indices, inside)
    assert f"selected {inside.size} of 2400" in explorer.status.value
    np.testing.assert_allclose(explorer.spectra.lines.y[0], X[inside].mean(axis=0), rtol=1e-6)
    # the selected points are outlined, the drawn dots know which of them are selected
    np.testing.assert_array_equal(explorer.selected_points.x, Z[inside, 0])
    expected_positions = np.flatnonzero(np.isin(explorer.drawn, inside))
    np.testing.assert_array_equal(explorer.scatter.selected, expected_positions)
    np.testing.assert_array_equal(explorer.lasso_target.selected, inside)


def test_density_lasso_and_map_brush_link_both_ways(large):
    explorer, Z, _, _ = large
    idx = np.array([0, 7, 1500, 2399])
    explorer.mode_buttons.value = "lasso"
    assert explorer.latent_figure.interaction is explorer.lasso
    explorer.lasso_target.selected = idx  # what the lasso does in the browser
    np.testing.assert_array_equal(explorer.selection.indices, idx)
    np.testing.assert_array_equal(explorer.selected_points.y, Z[idx, 1])
    explorer.map.brush.selected_x = np.array([-0.5, 2.5])  # columns 0-2
    explorer.map.brush.selected_y = np.array([-0.5, 0.5])  # row 0
    np.testing.assert_array_equal(explorer.selection.indices, [0, 1, 2])
    np.testing.assert_array_equal(explorer.lasso_target.selected, [0, 1, 2])
    np.testing.assert_array_equal(explorer.selected_points.x, Z[[0, 1, 2], 0])
    # a huge selection: at most MAX_DRAWN_POINTS outlined, evenly strided
    explorer.selection.select(np.arange(2000))
    assert len(explorer.selected_points.x) <= latent.MAX_DRAWN_POINTS
    np.testing.assert_array_equal(explorer.selected_points.x, Z[:2000:2, 0])
    explorer.clear()
    assert len(explorer.selected_points.x) == 0 and explorer.lasso_target.selected is None
