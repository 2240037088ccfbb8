"""The energy-resolved histogram against a per-column numpy.histogram."""

import numpy as np
import pytest

from stswidgets.analysis.density import (
    CLIP_PERCENT,
    clipped_fraction,
    energy_resolved_histogram,
)


def test_energy_resolved_histogram_matches_numpy_histogram_per_bias():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 7)) * np.arange(1, 8)
    X[3, 2] = np.nan
    bias = np.linspace(-3, 3, 7)
    H, edges = energy_resolved_histogram(X, bias, bins=20, value_range=(-5.0, 5.0))
    assert H.shape == (7, 20) and edges.shape == (21,)
    np.testing.assert_allclose(edges, np.linspace(-5, 5, 21))
    for j in range(7):
        column = X[:, j][np.isfinite(X[:, j])]
        counts, _ = np.histogram(column, bins=20, range=(-5.0, 5.0))
        np.testing.assert_allclose(H[j], counts / 500)
    # narrow columns are fully counted, wide ones lose their tails
    assert H[0].sum() == pytest.approx(1.0)
    assert H[6].sum() < 0.6


def test_default_range_spans_the_bulk_at_every_bias():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2000, 200))
    X[:, 1] += 6.0  # a "coherence peak": one energy far above the others
    H, edges = energy_resolved_histogram(X, np.arange(200.0), bins=10)
    assert edges[0] == pytest.approx(np.percentile(X, 0.25, axis=0, method="lower").min())
    assert edges[-1] == pytest.approx(np.percentile(X, 99.75, axis=0, method="higher").max())
    # at most CLIP_PERCENT % of the spectra are lost at any bias, the peak energy included;
    # a range pooled over all values (0.1-99.9 %) loses a fifth of the peak column
    assert np.all(H.sum(axis=1) >= 1 - CLIP_PERCENT / 100 - 1e-12)
    lost = clipped_fraction(X, edges)
    np.testing.assert_allclose(lost, 1 - H.sum(axis=1), atol=1e-12)
    pooled = np.percentile(X, [0.1, 99.9])
    assert clipped_fraction(X, pooled)[1] > 0.1  # 20 % here


def test_bad_input_raises():
    with pytest.raises(ValueError, match="bias_mV has shape"):
        energy_resolved_histogram(np.zeros((3, 4)), np.arange(3.0))
    with pytest.raises(ValueError, match="value_range"):
        energy_resolved_histogram(np.zeros((3, 4)), np.arange(4.0), value_range=(1, 0))
    with pytest.raises(ValueError, match="no finite"):
        energy_resolved_histogram(np.full((3, 4), np.nan), np.arange(4.0))
