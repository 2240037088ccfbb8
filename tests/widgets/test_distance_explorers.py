"""DistanceCorrelationExplorer and DistanceDistributionExplorer: they show the given results
(checked against direct numpy), compute nothing heavy, and their handlers index into them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from stswidgets import pipeline, to_matrix
from stswidgets.analysis.correlation import default_bins, distance_correlation
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


def _correlations(small_grid, latents, log=True, bins=10):
    X, _ = to_matrix(small_grid)
    return {name: distance_correlation(X, Z, log=log, bins=bins) for name, Z in latents.items()}


def test_default_bins_is_sqrt_n_within_10_to_100():
    assert [default_bins(n) for n in (0, 50, 2500, 2601, 40000)] == [10, 10, 50, 51, 100]
    rng = np.random.default_rng(0)
    X, Z = rng.normal(size=(900, 4)), rng.normal(size=(900, 2))
    assert distance_correlation(X, Z).density.shape == (30, 30)


def test_correlation_brush_selects_by_both_distances(small_grid, latents):
    X, valid = to_matrix(small_grid)
    X = X.astype(np.float64)
    correlations = _correlations(small_grid, latents, log=False)
    explorer = DistanceCorrelationExplorer(correlations, grid=small_grid)
    assert explorer.results["random"] is correlations["random"]  # shown, not recomputed
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
    assert "data-space distance d " in explorer.density_figure.axes[0].label


def test_correlation_dropdown_switches_latent_space(small_grid, latents):
    explorer = DistanceCorrelationExplorer(_correlations(small_grid, latents), grid=small_grid)
    explorer.dropdown.value = "first two"
    r = explorer.results["first two"]
    np.testing.assert_allclose(explorer.density.color, np.log10(1 + r.density.T))
    np.testing.assert_allclose(explorer.density.x, 0.5 * (r.data_edges[1:] + r.data_edges[:-1]))
    assert "first two" in explorer.y_axis.label and "log(d + offset)" in explorer.y_axis.label
    assert f"Spearman {r.spearman:.3f}" in explorer.status.value


def test_correlation_on_a_valid_mask_and_bad_inputs(small_grid, latents):
    X, valid = to_matrix(small_grid)
    single = distance_correlation(X, latents["random"], log=True, bins=10)
    explorer = DistanceCorrelationExplorer(single, valid=valid)
    assert list(explorer.results) == ["latent"]
    np.testing.assert_allclose(explorer.map.x_nm, small_grid["x"].values)  # the mask's nm
    with pytest.raises(TypeError, match="DistanceCorrelation"):
        DistanceCorrelationExplorer({"Z": latents["random"]}, valid=valid)
    with pytest.raises(ValueError, match="28 spectra"):
        DistanceCorrelationExplorer(single, valid=np.ones((4, 4), dtype=bool))
    other = distance_correlation(X[:20], latents["random"][:20], bins=10, log=True)
    with pytest.raises(ValueError, match="different numbers"):
        DistanceCorrelationExplorer({"a": single, "b": other}, valid=valid)


def test_correlation_linked_to_latent_explorer(small_grid, latents):
    latent = LatentExplorer(small_grid, latents)
    explorer = DistanceCorrelationExplorer(
        _correlations(small_grid, latents), grid=small_grid, selection=latent.selection
    )
    latent.scatter.selected = np.array([2, 3, 9])
    np.testing.assert_allclose(explorer.points.y, explorer.result.latent_distance[[2, 3, 9]])


def _statistics(X, **settings):
    return pipeline.distance_statistics(X, pipeline.config_for("test", **settings))


def test_distribution_explorer_shows_the_analysis_and_splits_where_clicked(small_grid):
    X, valid = to_matrix(small_grid)
    stats = _statistics(X, bins=30, offsets=(0.05, 0.5), fit_offset=0.1)
    explorer = DistanceDistributionExplorer(stats, grid=small_grid)
    d = pdist(X.astype(np.float64))
    # the slider holds the analysis's offsets and opens at the fitted one
    assert explorer.offsets == sorted(stats.offsets) and len(explorer.offsets) == 3
    assert explorer.offset == stats.offset and explorer.at_fit
    assert "(fit)" in explorer.slider.label
    counts, edges = stats.rescaled[stats.offset]
    np.testing.assert_allclose(explorer.lines.x, 0.5 * (edges[1:] + edges[:-1]))
    np.testing.assert_allclose(explorer.lines.y[1], stats.fit.density(explorer.lines.x))
    np.testing.assert_allclose(
        explorer.lines.y[3], stats.fit.component_densities(explorer.lines.x)[1]
    )
    if stats.abundance is not None:  # the split and the map are the analysis's
        assert explorer.threshold == stats.threshold
        np.testing.assert_array_equal(explorer.abundance, stats.abundance)
    else:
        assert np.isnan(explorer.threshold) and np.isnan(explorer.abundance).all()
        assert stats.reason in explorer.status.value
    # another offset: numpy's density histogram of log(d + offset), no fit drawn
    explorer.slider.value = 2
    offset = explorer.offsets[2]
    _, edges = stats.rescaled[offset]
    assert edges[0] > np.log(offset)  # bins start where distances occur, not at d = 0
    density, _ = np.histogram(np.log(d + offset), bins=edges, density=True)
    np.testing.assert_allclose(explorer.lines.y[0], density, rtol=1e-6, atol=1e-9)
    assert np.isnan(explorer.lines.y[1:]).all()
    assert f"offset {offset:.3g} (histogram only)" in explorer.status.value
    # a click at this offset splits at the same distance d in the fitted scale
    d_at = float(np.median(d))
    explorer.picker.selected = np.array([np.log(d_at + offset)])
    at = np.log(d_at + stats.offset)
    assert explorer.threshold == pytest.approx(at)
    assert explorer.marker.x[0] == pytest.approx(np.log(d_at + offset))
    # abundance of spectrum i: fraction of its distances beyond `at` in the per-spectrum
    # histograms (the bin holding `at` counted by the part of its width above it)
    h_edges = stats.h_edges
    k = int(np.searchsorted(h_edges, at, side="right")) - 1
    D = np.log(squareform(d) + stats.offset)
    np.fill_diagonal(D, np.nan)
    beyond = (D >= h_edges[k + 1]).sum(axis=1)
    in_bin = ((D >= h_edges[k]) & (D < h_edges[k + 1])).sum(axis=1)
    share = (h_edges[k + 1] - at) / (h_edges[k + 1] - h_edges[k])
    expected = (beyond + share * in_bin) / (X.shape[0] - 1)
    np.testing.assert_allclose(explorer.abundance, expected, rtol=1e-6)
    np.testing.assert_allclose(explorer.map.heatmap.color[np.asarray(valid)], expected)
    assert f"map at {at:.2f} (d = {d_at:.3g})" in explorer.status.value
    # back at the fitted offset the line marks the same distance
    explorer.slider.value = explorer.offsets.index(stats.offset)
    assert explorer.marker.x[0] == pytest.approx(at)


def test_distribution_explorer_draws_no_map_for_one_population():
    rng = np.random.default_rng(0)
    X = 1 + rng.normal(0, 0.05, size=(400, 32))
    valid = np.ones((20, 20), dtype=bool)
    stats = _statistics(X, bins=40)
    explorer = DistanceDistributionExplorer(stats, valid=valid)
    assert not stats.bimodal and "one population" in stats.reason
    assert np.isnan(explorer.threshold) and np.isnan(explorer.abundance).all()
    assert "no minority map" in explorer.map.figure.title and not explorer.marker.visible
    assert stats.reason in explorer.status.value


def test_distribution_explorer_shows_the_numbers_of_the_simulated_analysis():
    """Notebook 03's case: the picture's offset, verdict, floor and map are the analysis's.

    The simulated grid's distances as measured (no normalisation) start at the noise floor and
    show no dip: one population, no map. Split by hand at the components' crossing, the map is
    the analysis's own."""
    from sklearn.metrics import roc_auc_score

    from stswidgets.analysis.distances import crossing

    config = pipeline.config_for("test", normalize="none")
    data = pipeline.load(None, config)
    stats = pipeline.distance_statistics(data.X, config)
    explorer = DistanceDistributionExplorer(stats, grid=data.grid)
    assert not stats.bimodal and "no dip" in stats.reason and explorer.offset == stats.offset
    assert explorer.offset == pytest.approx(config.fit_offset * stats.median_distance)
    assert np.isnan(explorer.threshold) and stats.reason in explorer.status.value
    assert f"two-Gaussian fit at offset {stats.offset:.3g}" in explorer.status.value
    assert explorer.floor_marker.x[0] == pytest.approx(
        np.log(stats.noise.floor_distance + stats.offset)
    )
    # the offsets are the config's fractions of the analysis's median distance
    ratios = np.array(explorer.offsets) / stats.median_distance
    np.testing.assert_allclose(ratios, sorted({*config.offsets, config.fit_offset}), rtol=1e-9)
    # a split asked for in the config: the map is the analysis's abundance there
    forced = config.replace(abundance_threshold=crossing(stats.fit))
    stats = pipeline.distance_statistics(data.X, forced)
    explorer = DistanceDistributionExplorer(stats, grid=data.grid)
    assert explorer.threshold == stats.threshold
    assert f"map at {stats.threshold:.2f}" in explorer.status.value
    np.testing.assert_array_equal(explorer.abundance, stats.abundance)
    vacancy = np.asarray(data.truth["vacancy"]).ravel()[np.asarray(data.valid).ravel()]
    assert roc_auc_score(vacancy, explorer.abundance) >= 0.9


def test_distribution_explorer_refuses_what_is_not_distance_statistics(small_grid):
    X, _ = to_matrix(small_grid)
    with pytest.raises(TypeError, match="DistanceStatistics"):
        DistanceDistributionExplorer(X)


def test_distribution_explorer_marks_the_noise_floor_at_every_offset():
    rng = np.random.default_rng(1)
    X = 1 + rng.normal(0, 0.05, size=(300, 40))
    stats = _statistics(X, bins=40, offsets=(0.05, 0.5))
    explorer = DistanceDistributionExplorer(stats, valid=np.ones((15, 20), dtype=bool))
    floor = np.sqrt(2 * 40) * stats.noise.sigma
    assert stats.floor_distance == pytest.approx(floor)
    assert stats.noise.sigma == pytest.approx(0.05, rel=0.05)
    assert explorer.floor_marker.visible and "noise floor" in explorer.status.value
    for k, offset in enumerate(explorer.offsets):
        explorer.slider.value = k
        assert explorer.floor_marker.x[0] == pytest.approx(np.log(floor + offset))
    # pure noise: the distances gather at the floor (median within a few %)
    assert np.median(pdist(X)) == pytest.approx(floor, rel=0.03)
