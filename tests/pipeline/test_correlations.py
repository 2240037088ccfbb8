"""pipeline.distance_correlations / pca_distance_correlation against direct computations."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from stswidgets import pipeline, preprocess
from stswidgets.analysis.correlation import default_bins


def spectra(n=300, n_bias=40, seed=0):
    rng = np.random.default_rng(seed)
    bias = np.linspace(-1, 1, n_bias)
    X = 1 + 0.05 * rng.standard_normal((n, n_bias)) + rng.uniform(0.5, 1.5, (n, 1)) * bias**2
    minority = np.zeros(n, dtype=bool)
    minority[:15] = True
    X[minority] += np.exp(-(bias**2) / 0.02)  # an in-gap peak
    return X, minority


def test_default_bins_is_sqrt_n_within_10_to_100():
    assert default_bins(1600) == 40
    assert default_bins(50) == 10
    assert default_bins(10**6) == 100
    assert default_bins(2500) == 50


def test_distances_density_and_offsets_match_a_direct_computation():
    X, minority = spectra()
    Z = X[:, :3] * 2.0
    config = pipeline.config_for("test", correlation_bins=17, correlation_offset=0.1)
    result = pipeline.distance_correlations(X, Z, config, labels=minority, name="first 3")
    d_data = np.linalg.norm(X - X.mean(axis=0), axis=1)
    d_latent = np.linalg.norm(Z - Z.mean(axis=0), axis=1)
    np.testing.assert_allclose(result.linear.data_distance, d_data)
    np.testing.assert_allclose(result.linear.latent_distance, d_latent)
    assert result.bins == 17 and result.linear.density.shape == (17, 17)
    assert result.linear.density.sum() == len(X)
    offsets = (0.1 * np.median(d_data), 0.1 * np.median(d_latent))
    np.testing.assert_allclose(result.rescaled.offset, offsets)
    np.testing.assert_allclose(result.rescaled.data_distance, np.log(d_data + offsets[0]))
    expected = spearmanr(d_data, d_latent).statistic
    assert result.linear.spearman == pytest.approx(expected)
    assert np.array_equal(result.minority, minority)


def test_default_bins_follow_the_number_of_spectra():
    X, _ = spectra(n=400)
    result = pipeline.distance_correlations(X, X[:, :2], pipeline.config_for("test"))
    assert result.bins == 20
    assert "Otsu" in result.minority_source


def test_pca_latent_space_is_notebook_02s_on_the_spectra_as_given():
    X, minority = spectra()
    config = pipeline.config_for("test", normalize="zscore", n_components=3)
    normalised = preprocess.normalize(X, "zscore")  # as pipeline.load would hand it over
    result = pipeline.pca_distance_correlation(normalised, config, labels=minority)
    centred = normalised - normalised.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[:3].T
    # distances from the mean do not depend on the signs of the axes
    d_latent = np.linalg.norm(scores, axis=1)
    np.testing.assert_allclose(result.linear.latent_distance, d_latent, rtol=1e-8)
    np.testing.assert_allclose(result.linear.data_distance, np.linalg.norm(centred, axis=1))
    assert result.Z.shape == (len(X), 3)
    assert result.name == "PCA (3 components)"
    # the ideal step: two latent values, the minority's higher
    values = np.unique(np.round(result.ideal.latent_distance, 12))
    assert values.size == 2
    assert result.ideal.latent_distance[minority].min() == pytest.approx(values[1])


def test_a_latent_space_computed_before_is_reused_and_checked():
    X, minority = spectra()
    config = pipeline.config_for("test")
    space = pipeline.linear_latent_space(X, config)
    reused = pipeline.pca_distance_correlation(X, config, labels=minority, space=space)
    fresh = pipeline.pca_distance_correlation(X, config, labels=minority)
    np.testing.assert_allclose(reused.linear.latent_distance, fresh.linear.latent_distance)
    with pytest.raises(ValueError, match="computed for"):
        pipeline.pca_distance_correlation(X[:-1], config, space=space)
