"""Tests of the blockwise pairwise-distance statistics against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning

from stswidgets.analysis.distances import (
    TwoGaussianFit,
    distance_histogram,
    fit_two_gaussians,
    occupied_range,
    per_spectrum_histograms,
)

OFFSETS = [0.1, 0.5, 1.0, 2.0, 4.0, 8.0]


def two_population_spectra(n=300, n_bias=64, minority=0.15, seed=0):
    """Noisy spectra of two kinds (majority and minority), shape (n, n_bias), float64."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(-1, 1, n_bias)
    majority_shape = 1 + 0.5 * bias**2
    minority_shape = 1 + 0.5 * bias**2 - 0.8 * np.exp(-((bias - 0.2) ** 2) / 0.02)
    is_minority = rng.random(n) < minority
    X = np.where(is_minority[:, None], minority_shape, majority_shape)
    X = X * rng.normal(1, 0.05, size=(n, 1)) + rng.normal(0, 0.05, size=(n, n_bias))
    return X, is_minority


@pytest.fixture(scope="module")
def spectra():
    X, is_minority = two_population_spectra()
    return X, is_minority, pdist(X)


def test_counts_identical_to_pdist_histogram_auto_range(spectra):
    X, _, d = spectra
    counts, edges = distance_histogram(X, bins=200)
    assert counts.dtype == np.int64 and counts.shape == (200,) and edges.shape == (201,)
    assert counts.sum() == len(d) == 300 * 299 // 2
    assert edges[0] == 0.0 and edges[-1] >= d.max()
    reference, reference_edges = np.histogram(d, bins=200, range=(edges[0], edges[-1]))
    np.testing.assert_array_equal(counts, reference)
    np.testing.assert_array_equal(edges, reference_edges)


def test_counts_identical_to_pdist_histogram_given_range(spectra):
    X, _, d = spectra
    lo, hi = np.quantile(d, [0.2, 0.9])
    counts, edges = distance_histogram(X, bins=57, range=(lo, hi))
    reference, reference_edges = np.histogram(d, bins=57, range=(lo, hi))
    np.testing.assert_array_equal(counts, reference)
    np.testing.assert_array_equal(edges, reference_edges)
    assert counts.sum() < len(d)  # pairs outside the range are left out, as numpy does


def test_upper_edge_is_closed_like_numpy():
    X = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])  # distances 5, 5, 10
    counts, _ = distance_histogram(X, bins=4, range=(0.0, 10.0))
    np.testing.assert_array_equal(counts, [0, 0, 2, 1])
    counts32, _ = distance_histogram(X.astype(np.float32), bins=4, range=(0.0, 10.0))
    np.testing.assert_array_equal(counts32, [0, 0, 2, 1])


@pytest.mark.parametrize("offset", OFFSETS)
def test_log_rescaled_counts_identical_to_reference(spectra, offset):
    X, _, d = spectra
    counts, edges = distance_histogram(X, bins=120, offset=offset)
    assert edges[0] == pytest.approx(np.log(offset))
    reference, _ = np.histogram(np.log(d + offset), bins=120, range=(edges[0], edges[-1]))
    np.testing.assert_array_equal(counts, reference)


def test_offset_list_equals_separate_calls(spectra):
    X, _, _ = spectra
    together = distance_histogram(X, bins=80, offset=[None, *OFFSETS])
    assert len(together) == len(OFFSETS) + 1
    for (counts, edges), offset in zip(together, [None, *OFFSETS], strict=True):
        alone_counts, alone_edges = distance_histogram(X, bins=80, offset=offset)
        np.testing.assert_array_equal(counts, alone_counts)
        np.testing.assert_array_equal(edges, alone_edges)


def test_range_per_offset(spectra):
    X, _, d = spectra
    ranges = [(-1.0, 3.0), (0.0, 2.5)]
    results = distance_histogram(X, bins=30, offset=[0.5, 2.0], range=ranges)
    for (counts, _), offset, pair in zip(results, [0.5, 2.0], ranges, strict=True):
        reference, _ = np.histogram(np.log(d + offset), bins=30, range=pair)
        np.testing.assert_array_equal(counts, reference)


def test_float32_close_to_float64_reference(spectra):
    X, _, d = spectra
    counts, edges = distance_histogram(X.astype(np.float32), bins=200)
    assert counts.sum() == len(d)
    reference, _ = np.histogram(pdist(X.astype(np.float32)), bins=200, range=(edges[0], edges[-1]))
    assert np.abs(counts - reference).max() <= 1e-4 * len(d)


def test_float32_precise_for_near_identical_spectra_with_large_offset():
    # a large common background and small differences: without centring on the mean,
    # float32 |a|^2 + |b|^2 - 2 a.b would cancel catastrophically
    rng = np.random.default_rng(3)
    X = 1000.0 + rng.normal(0, 0.01, size=(200, 128))
    d = pdist(X)
    counts, edges = distance_histogram(X.astype(np.float32), bins=100)
    reference, _ = np.histogram(pdist(X.astype(np.float32)), bins=100, range=(edges[0], edges[-1]))
    assert np.abs(counts - reference).sum() <= 0.01 * len(d)


def test_per_spectrum_histograms_against_direct_computation(spectra):
    X, _, d = spectra
    H, edges, counts = per_spectrum_histograms(X, bins=90, offset=1.0, return_counts=True)
    assert H.shape == (300, 90)
    np.testing.assert_array_equal(H.sum(axis=1), np.full(300, 299))
    np.testing.assert_array_equal(H.sum(axis=0), 2 * counts)
    reference_counts, _ = np.histogram(np.log(d + 1.0), bins=90, range=(edges[0], edges[-1]))
    np.testing.assert_array_equal(counts, reference_counts)
    square = squareform(d)
    for i in [0, 17, 150, 299]:
        others = np.delete(square[i], i)
        expected, _ = np.histogram(np.log(others + 1.0), bins=90, range=(edges[0], edges[-1]))
        np.testing.assert_array_equal(H[i], expected)


def test_global_counts_match_distance_histogram(spectra):
    X, _, _ = spectra
    H, edges = per_spectrum_histograms(X, bins=64)
    counts, edges_global = distance_histogram(X, bins=64)
    np.testing.assert_array_equal(H.sum(axis=0) // 2, counts)
    np.testing.assert_array_equal(edges, edges_global)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_block_size_independence(dtype):
    X, _ = two_population_spectra(n=45, n_bias=16, seed=1)
    X = X.astype(dtype)
    results = [
        per_spectrum_histograms(X, bins=25, offset=[None, 0.5], block_size=b, return_counts=True)
        for b in (1, 7, None)
    ]
    for other in results[1:]:
        for (h0, e0, c0), (h1, e1, c1) in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(h0, h1)
            np.testing.assert_array_equal(c0, c1)
            np.testing.assert_array_equal(e0, e1)
    for b in (1, 7, None):
        counts, _ = distance_histogram(X, bins=25, block_size=b)
        np.testing.assert_array_equal(counts, results[0][0][2])


def test_deterministic(spectra):
    X, _, _ = spectra
    X32 = X.astype(np.float32)
    first = distance_histogram(X32, bins=150, offset=[None, 0.5], block_size=32)
    second = distance_histogram(X32, bins=150, offset=[None, 0.5], block_size=32)
    for (c0, e0), (c1, e1) in zip(first, second, strict=True):
        np.testing.assert_array_equal(c0, c1)
        np.testing.assert_array_equal(e0, e1)


def test_progress_bar_does_not_change_result(spectra):
    X, _, _ = spectra
    shown, _ = distance_histogram(X, bins=40, progress=True)
    hidden, _ = distance_histogram(X, bins=40, progress=False)
    np.testing.assert_array_equal(shown, hidden)


def binned_mixture(weights, means, widths, edges, n_total):
    cdf = sum(w * norm.cdf(edges, m, s) for w, m, s in zip(weights, means, widths, strict=True))
    return n_total * np.diff(cdf)


def test_fit_recovers_known_mixture_from_exact_histogram():
    edges = np.linspace(-1.0, 5.0, 121)  # coarse bins: width 0.05, a sixth of the narrow sigma
    counts = binned_mixture([0.8, 0.2], [1.0, 2.5], [0.3, 0.4], edges, 1e6)
    fit = fit_two_gaussians(counts, edges)
    assert isinstance(fit, TwoGaussianFit) and fit.converged
    np.testing.assert_allclose(fit.weights, [0.8, 0.2], atol=1e-3)
    np.testing.assert_allclose(fit.means, [1.0, 2.5], atol=1e-3)
    np.testing.assert_allclose(fit.widths, [0.3, 0.4], atol=1e-3)
    np.testing.assert_allclose(fit.expected_counts(edges), counts, atol=1e-3 * counts.max())
    centres = 0.5 * (edges[:-1] + edges[1:])
    density = fit.density(centres)
    assert np.sum(density * np.diff(edges)) == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(fit.component_densities(centres).sum(axis=0), density)


def test_fit_recovers_mixture_from_sample_sorted_by_mean():
    rng = np.random.default_rng(5)
    sample = np.concatenate([rng.normal(1.5, 0.25, 70_000), rng.normal(-0.5, 0.6, 30_000)])
    counts, edges = np.histogram(sample, bins=150)
    fit = fit_two_gaussians(counts, edges)
    np.testing.assert_allclose(fit.weights, [0.3, 0.7], atol=0.01)
    np.testing.assert_allclose(fit.means, [-0.5, 1.5], atol=0.02)
    np.testing.assert_allclose(fit.widths, [0.6, 0.25], atol=0.02)
    assert fit.n_total == 100_000


def test_fit_warns_when_not_converged():
    edges = np.linspace(-1.0, 5.0, 121)
    counts = binned_mixture([0.8, 0.2], [1.0, 2.5], [0.3, 0.4], edges, 1e5)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = fit_two_gaussians(counts, edges, max_iter=2)
    assert not fit.converged


def test_fit_rejects_bad_input():
    edges = np.linspace(0, 1, 11)
    with pytest.raises(ValueError, match="shape"):
        fit_two_gaussians(np.ones(10), edges[:-1])
    with pytest.raises(ValueError, match="non-negative"):
        fit_two_gaussians(-np.ones(10), edges)
    with pytest.raises(ValueError, match="fewer than 2 bins"):
        fit_two_gaussians(np.eye(10)[3], edges)


@pytest.mark.parametrize(
    ("X", "kwargs", "message"),
    [
        (np.ones(10), {}, "2D array"),
        (np.ones((1, 10)), {}, "at least 2"),
        (np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), {}, "NaN"),
        (np.array([[0.0, 1.0], [np.inf, 2.0]]), {}, "infinite"),
        (np.ones((3, 4)), {"bins": 0}, "bins"),
        (np.ones((3, 4)), {"bins": 2.5}, "bins"),
        (np.ones((3, 4)), {"offset": -1.0}, "offset"),
        (np.ones((3, 4)), {"offset": []}, "offset"),
        (np.ones((3, 4)), {"range": (2.0, 1.0)}, "range"),
        (np.ones((3, 4)), {"range": (0.0, np.inf)}, "not finite"),
        (np.ones((3, 4)), {"block_size": 0}, "block_size"),
    ],
)
def test_clear_errors(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        distance_histogram(X, **kwargs)
    with pytest.raises(ValueError, match=message):
        per_spectrum_histograms(X, **{"bins": 10, **kwargs})


def test_identical_spectra_all_in_first_bin():
    counts, edges = distance_histogram(np.ones((5, 3)), bins=4)
    np.testing.assert_array_equal(counts, [10, 0, 0, 0])
    assert edges[0] == 0.0 and edges[-1] > 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_occupied_range_keeps_every_pair(spectra, dtype):
    X, _, d = spectra
    X = X.astype(dtype)
    counts, edges = distance_histogram(X, bins=50)
    lo, hi = occupied_range(counts, edges)
    assert lo <= d.min() and hi >= d.max() and lo > 0
    assert hi <= edges[-1] + (edges[1] - edges[0])
    for offset in (0.1, 2.0):
        pair = occupied_range(counts, edges, offset)
        assert pair == pytest.approx((np.log(lo + offset), np.log(hi + offset)))
        rescaled, _ = distance_histogram(X, bins=50, offset=offset, range=pair)
        assert rescaled.sum() == len(d)
    with pytest.raises(ValueError, match="empty"):
        occupied_range(np.zeros(4), np.linspace(0, 1, 5))


def test_default_bins_and_median_distance_as_notebook_03_defines_them():
    from stswidgets.analysis.distances import default_bins, median_distance

    # 2 * n_pairs ** (1/3) within 30-200: 45 pairs -> 30, 4950 -> 34, 49,995,000 -> 200
    assert [default_bins(n) for n in (10, 100, 10_000)] == [30, 34, 200]
    rng = np.random.default_rng(3)
    d = rng.gamma(2.0, 1.5, size=10_001)
    counts, edges = np.histogram(d, bins=40)
    k = np.searchsorted(edges, np.median(d), side="right") - 1  # the bin holding the median
    assert median_distance(counts, edges) == pytest.approx(0.5 * (edges[k] + edges[k + 1]))
