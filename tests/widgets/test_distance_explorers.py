"""DistanceCorrelationExplorer and DistanceDistributionExplorer against direct numpy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from stswidgets import to_matrix
from stswidgets.widgets import (
    DistanceCorrelationExplorer,
    DistanceDistributionExplorer,
    LatentExplorer,
)


@pytest.fixture
def latents(small_grid):
    X, _ = to_matrix(small_grid)
    rng = np.random.default_rng(1)
    return {"random": rng.normal(size=(X.shape[0], 2)), "first two": X[:, :2].astype(float)}


def test_correlation_brush_selects_by_both_distances(small_grid, latents):
    X, valid = to_matrix(small_grid)
    X = X.astype(np.float64)
    explorer = DistanceCorrelationExplorer(grid=small_grid, latents=latents, bins=10, log=False)
    d_data = np.linalg.norm(X - X.mean(axis=0), axis=1)
    Z = latents["random"]
    d_latent = np.linalg.norm(Z - Z.mean(axis=0), axis=1)
    np.testing.assert_allclose(explorer.result.data_distance, d_data, rtol=1e-5)
    lo, hi = np.median(d_data), d_data.max() + 1
    explorer.brush.selected_x = np.array([lo, hi])
    explorer.brush.selected_y = np.array([0.0, np.median(d_latent)])
    expected = np.flatnonzero((d_data >= lo) & (d_data <= hi) & (d_latent <= np.median(d_latent)))
    np.testing.assert_array_equal(explorer.selection.indices, expected)
    np.testing.assert_array_equal(
        explorer.map.overlay.color[np.asarray(valid)] == 1, np.isin(np.arange(X.shape[0]), expected)
    )
    np.testing.assert_allclose(explorer.points.x, d_data[expected], rtol=1e-5)
    assert f"selected {expected.size} of 28" in explorer.status.value


def test_correlation_dropdown_switches_latent_space(small_grid, latents):
    explorer = DistanceCorrelationExplorer(grid=small_grid, latents=latents, bins=10)
    explorer.dropdown.value = "first two"
    r = explorer.results["first two"]
    np.testing.assert_allclose(explorer.density.color, np.log10(1 + r.density.T))
    assert "first two" in explorer.y_axis.label and "first two" in explorer.status.value


def test_correlation_linked_to_latent_explorer(small_grid, latents):
    latent = LatentExplorer(small_grid, latents)
    explorer = DistanceCorrelationExplorer(
        grid=small_grid, latents=latents, selection=latent.selection, bins=10
    )
    latent.scatter.selected = np.array([2, 3, 9])
    np.testing.assert_allclose(explorer.points.y, explorer.result.latent_distance[[2, 3, 9]])


def test_distribution_explorer_histograms_fit_and_abundance(small_grid):
    X, valid = to_matrix(small_grid)
    offsets = [0.05, 0.5]
    explorer = DistanceDistributionExplorer(grid=small_grid, offsets=offsets, bins=30)
    d = pdist(X.astype(np.float64))
    # the drawn distribution at the second offset is numpy's density histogram of log(d + 0.5)
    explorer.slider.value = 1
    _, edges, _ = explorer.histograms[1]
    assert explorer.histograms[1][2].sum() == d.size  # every pair counted
    assert edges[0] > np.log(0.5)  # bins start where distances occur, not at d = 0
    density, _ = np.histogram(np.log(d + 0.5), bins=edges, density=True)
    np.testing.assert_allclose(explorer.lines.y[0], density, rtol=1e-6, atol=1e-9)
    fit = explorer.fits[1]
    np.testing.assert_allclose(explorer.lines.y[1], fit.density(explorer.lines.x))
    # default split: the crossing of the two components, or no map for one population
    result = explorer.results[1]
    assert result.fit is fit
    if result.bimodal:
        near, far = fit.component_densities(np.array([explorer.threshold]))[:, 0]
        assert near == pytest.approx(far, rel=1e-6)
    else:
        assert np.isnan(explorer.threshold) and np.isnan(explorer.abundance).all()
        assert result.reason in explorer.status.value
    np.testing.assert_allclose(explorer.lines.y[3], fit.component_densities(explorer.lines.x)[1])
    # a click splits the distances there
    at = float(np.log(np.median(d) + 0.5))
    explorer.picker.selected = np.array([at])
    assert explorer.threshold == pytest.approx(at)
    # abundance of spectrum i: fraction of its distances beyond `at` (the bin holding `at`
    # counted by the part of its width above it)
    k = int(np.searchsorted(edges, at, side="right")) - 1
    from scipy.spatial.distance import squareform

    D = np.log(squareform(d) + 0.5)
    np.fill_diagonal(D, np.nan)
    beyond = (D >= edges[k + 1]).sum(axis=1)
    in_bin = ((D >= edges[k]) & (D < edges[k + 1])).sum(axis=1)
    share = (edges[k + 1] - at) / (edges[k + 1] - edges[k])
    expected = (beyond + share * in_bin) / (X.shape[0] - 1)
    np.testing.assert_allclose(explorer.abundance, expected, rtol=1e-6)
    np.testing.assert_allclose(explorer.map.heatmap.color[np.asarray(valid)], expected)
    assert explorer.marker.x[0] == pytest.approx(at)
    assert f"map at {at:.2f}" in explorer.status.value


def test_distribution_explorer_draws_no_map_for_one_population():
    rng = np.random.default_rng(0)
    X = 1 + rng.normal(0, 0.05, size=(400, 32))
    valid = np.ones((20, 20), dtype=bool)
    explorer = DistanceDistributionExplorer(X, valid=valid, bins=40)
    assert not explorer.result.bimodal and "one population" in explorer.result.reason
    assert np.isnan(explorer.threshold) and np.isnan(explorer.abundance).all()
    assert "no minority map" in explorer.map.figure.title
    assert explorer.result.reason in explorer.status.value


def test_distribution_explorer_maps_the_simulated_vacancies():
    from sklearn.metrics import roc_auc_score

    from stswidgets import datasets

    data = datasets.fese_like(seed=0, shape=(40, 40), n_bias=128)
    explorer = DistanceDistributionExplorer(grid=data["didv"], bins=100)
    explorer.slider.value = 2  # 0.1 x the median distance, as notebook 03 fits
    assert explorer.result.bimodal
    vacancy = np.asarray(data["vacancy"]).ravel()
    assert roc_auc_score(vacancy, explorer.abundance) >= 0.9


def test_distribution_default_offsets_follow_the_median_pair_distance(small_grid):
    X, _ = to_matrix(small_grid)
    explorer = DistanceDistributionExplorer(grid=small_grid, bins=30)
    median = np.median(pdist(X.astype(np.float64)))
    ratios = np.array(explorer.offsets) / median
    np.testing.assert_allclose(ratios, [0.01, 0.03, 0.1, 0.3, 1.0], rtol=0.03)
    explorer.slider.value = 4  # the slider only switches precomputed histograms
    assert explorer.offset_index == 4 and f"offset {explorer.offsets[4]:.3g}" in (
        explorer.status.value
    )
