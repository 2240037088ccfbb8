"""The stated test for two populations of pair distances (Delta BIC on the number of spectra,
a dip of the measured histogram, a minority) and the minority fraction it implies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm, skewnorm

from stswidgets import pipeline
from stswidgets.analysis.distances import (
    compare_one_two,
    fit_two_gaussians,
    fitted_minority_fraction,
    histogram_dip,
    population_test,
)


def _binned(cdf, edges, n):
    return n * np.diff(cdf(edges))


def test_delta_bic_of_a_normal_sample_prefers_one_component():
    rng = np.random.default_rng(0)
    sample = rng.normal(0.3, 0.5, size=200_000)
    counts, edges = np.histogram(sample, bins=80)
    fit = fit_two_gaussians(counts.astype(float), edges)
    comparison = compare_one_two(counts, edges, fit, n_effective=1000)
    assert comparison.mean_one == pytest.approx(0.3, abs=0.01)
    assert comparison.width_one == pytest.approx(0.5, rel=0.02)
    # the extra 3 parameters buy almost no likelihood: Delta BIC ~ -3 ln(1000)
    assert comparison.delta_bic < 0
    assert comparison.delta_bic == pytest.approx(
        2 * 1000 * (comparison.log_likelihood_two - comparison.log_likelihood_one)
        - 3 * np.log(1000)
    )


def test_a_skewed_single_population_is_one_population_though_its_bic_favours_two():
    """A sharp onset and a long tail (the shape of distances starting at a noise floor): two
    normals fit it better (Delta BIC > 10 even on 2000 spectra, astronomically more on the
    pair count), but the histogram has no dip: one population."""
    edges = np.linspace(-1, 4, 101)
    counts = _binned(lambda x: skewnorm.cdf(x, 8, loc=0, scale=1.2), edges, 2_000_000)
    fit = fit_two_gaussians(counts, edges)
    on_spectra = compare_one_two(counts, edges, fit, n_effective=2000)
    on_pairs = compare_one_two(counts, edges, fit, n_effective=2000 * 1999 / 2)
    assert on_spectra.delta_bic > 10 and on_pairs.delta_bic > 1000 * on_spectra.delta_bic
    assert histogram_dip(counts, edges, fit) == pytest.approx(0, abs=0.02)
    test = population_test(fit, counts, edges, n_spectra=2000, offset=0.0)
    assert not test.two and "no dip" in test.reason


def test_a_clear_mixture_is_two_populations():
    edges = np.linspace(-2, 5, 141)
    counts = _binned(lambda x: 0.8 * norm.cdf(x, 0, 0.3) + 0.2 * norm.cdf(x, 2.5, 0.5), edges, 1e6)
    fit = fit_two_gaussians(counts, edges)
    test = population_test(fit, counts, edges, n_spectra=1500)
    assert test.two, test.reason
    assert test.delta_bic > 1000 and test.dip > 0.9
    assert test.fitted_minority == pytest.approx(1 - np.sqrt(0.8), abs=0.005)
    # the same shape from 20 spectra: too few to claim a second component
    few = population_test(fit, counts, edges, n_spectra=20, min_delta_bic=1e4)
    assert not few.two and "Delta BIC" in few.reason


def test_a_far_component_holding_most_pairs_is_no_minority():
    edges = np.linspace(-2, 5, 141)
    counts = _binned(lambda x: 0.2 * norm.cdf(x, 0, 0.3) + 0.8 * norm.cdf(x, 2.5, 0.5), edges, 1e6)
    test = population_test(fit_two_gaussians(counts, edges), counts, edges, n_spectra=1500)
    assert not test.two and "not a minority" in test.reason


@pytest.mark.parametrize("p", [0.0, 0.05, 0.2, 0.45])
def test_fitted_minority_fraction_inverts_the_pair_count(p):
    far = 1 - (1 - p) ** 2  # pairs holding at least one minority spectrum
    assert fitted_minority_fraction(far) == pytest.approx(p, abs=1e-12)


def _mixture_spectra(p, n_spectra=900, n_bias=64, seed=0):
    """A majority of one smooth shape (small variations, white noise) and a fraction ``p`` of
    minority spectra, each with its own strong deviation (defects of many kinds)."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(-1, 1, n_bias)
    base = 1 + 0.5 * bias**2
    X = base * rng.normal(1, 0.02, size=(n_spectra, 1)) + rng.normal(0, 0.03, (n_spectra, n_bias))
    minority = rng.random(n_spectra) < p
    centres = rng.uniform(-0.8, 0.8, size=minority.sum())
    X[minority] += 1.5 * np.exp(-((bias[None] - centres[:, None]) ** 2) / 0.01)
    return X, minority


@pytest.mark.parametrize("p", [0.05, 0.12, 0.25])
def test_the_fraction_called_minority_agrees_with_the_fitted_weight(p):
    X, minority = _mixture_spectra(p)
    stats = pipeline.distance_statistics(X, pipeline.config_for("test", bins=120, offsets=()))
    assert stats.bimodal, stats.reason
    fitted = stats.populations.fitted_minority
    assert stats.minority_fraction == pytest.approx(fitted, abs=0.03)
    assert stats.minority_fraction == pytest.approx(minority.mean(), abs=0.03)
    np.testing.assert_array_equal(stats.minority, stats.abundance > 0.5)
    assert (stats.minority == minority).mean() > 0.97
    attrs = pipeline.distance_attrs(stats)
    assert attrs["distance_populations"] == 2
    assert attrs["fitted_minority_fraction"] == pytest.approx(fitted)


def test_one_shape_with_noise_gives_no_abundance():
    X, _ = _mixture_spectra(0.0)
    stats = pipeline.distance_statistics(X, pipeline.config_for("test", bins=120, offsets=()))
    assert not stats.bimodal and stats.abundance is None and "one population" in stats.reason
    assert np.isnan(stats.minority_fraction) and stats.minority is None
    attrs = pipeline.distance_attrs(stats)
    assert attrs["distance_populations"] == 1 and "minority_fraction" not in attrs
