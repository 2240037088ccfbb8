"""Distance correlation against direct numpy computations."""

import numpy as np
import pytest

from stswidgets.analysis.correlation import (
    distance_correlation,
    ideal_step_density,
    otsu_threshold,
)


def _data(seed=0, n=200, d=16):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:20] += 3.0
    Z = X[:, :2] * 2.0 + 0.1 * rng.normal(size=(n, 2))
    return X, Z


def _ranks(v):
    order = np.argsort(v)
    r = np.empty(len(v))
    r[order] = np.arange(len(v))
    return r


def test_distance_correlation_matches_numpy():
    X, Z = _data()
    result = distance_correlation(X, Z, bins=20)
    d_data = np.array([np.linalg.norm(x - X.mean(axis=0)) for x in X])
    d_latent = np.array([np.linalg.norm(z - Z.mean(axis=0)) for z in Z])
    np.testing.assert_allclose(result.data_distance, d_data)
    np.testing.assert_allclose(result.latent_distance, d_latent)
    H, ex, ey = np.histogram2d(d_data, d_latent, bins=20)
    np.testing.assert_array_equal(result.density, H)
    np.testing.assert_allclose(result.data_edges, ex)
    np.testing.assert_allclose(result.latent_edges, ey)
    assert result.density.sum() == len(X)
    # no ties in continuous data: Spearman = Pearson of the ranks
    expected = np.corrcoef(_ranks(d_data), _ranks(d_latent))[0, 1]
    assert result.spearman == pytest.approx(expected)
    assert result.pearson == pytest.approx(np.corrcoef(d_data, d_latent)[0, 1])
    np.testing.assert_allclose(result.extent, (ex[0], ex[-1], ey[0], ey[-1]))


def test_log_rescaled_distances():
    X, Z = _data(1)
    plain = distance_correlation(X, Z)
    logged = distance_correlation(X, Z, log=True, offset=0.5)
    np.testing.assert_allclose(logged.data_distance, np.log(plain.data_distance + 0.5))
    np.testing.assert_allclose(logged.latent_distance, np.log(plain.latent_distance + 0.5))
    assert logged.offset == (0.5, 0.5)
    # log is monotone: the rank correlation does not change
    assert logged.spearman == pytest.approx(plain.spearman)
    auto = distance_correlation(X, Z, log=True)
    assert auto.offset[0] == pytest.approx(0.05 * np.median(plain.data_distance))
    assert auto.offset[1] == pytest.approx(0.05 * np.median(plain.latent_distance))
    pair = distance_correlation(X, Z, log=True, offset=(1.0, 2.0))
    np.testing.assert_allclose(pair.latent_distance, np.log(plain.latent_distance + 2.0))
    with pytest.raises(ValueError, match="positive"):
        distance_correlation(X, Z, log=True, offset=-1.0)


def test_one_dimensional_score_and_bad_shapes():
    X, Z = _data(2)
    score = Z[:, 0]
    result = distance_correlation(X, score)
    np.testing.assert_allclose(result.latent_distance, np.abs(score - score.mean()))
    with pytest.raises(ValueError, match="one row per spectrum"):
        distance_correlation(X, Z[:-1])


def test_ideal_step_density_with_labels():
    X, _ = _data(3)
    labels = np.zeros(len(X), bool)
    labels[:20] = True
    result = ideal_step_density(X, labels, bins=10)
    gap = np.linalg.norm(X[labels].mean(0) - X[~labels].mean(0))
    p = labels.mean()
    np.testing.assert_allclose(result.latent_distance[labels], (1 - p) * gap)
    np.testing.assert_allclose(result.latent_distance[~labels], p * gap)
    np.testing.assert_allclose(result.data_distance, np.linalg.norm(X - X.mean(0), axis=1))


def test_ideal_step_density_threshold_gives_a_step():
    X, _ = _data(4)
    d = np.linalg.norm(X - X.mean(0), axis=1)
    threshold = np.quantile(d, 0.8)
    result = ideal_step_density(X, threshold=threshold)
    high = result.latent_distance > result.latent_distance.min()
    np.testing.assert_array_equal(high, d > threshold)


def test_otsu_threshold_splits_two_modes():
    rng = np.random.default_rng(5)
    v = np.r_[rng.normal(0, 0.5, 500), rng.normal(10, 0.5, 100)]
    t = otsu_threshold(v)
    assert 2 < t < 8
