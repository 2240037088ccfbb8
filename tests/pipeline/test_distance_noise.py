"""The noise floor and the PCA denoising of the distance statistics, against independent
computations (scipy distances of pure-noise pairs, known noise added to smooth spectra)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from stswidgets import pipeline
from stswidgets.pipeline.noise import denoise, noise_floor


def _smooth_spectra(n_spectra=400, n_bias=256, seed=0):
    """Gap-like spectra with coherence peaks of varying position and height (smooth on the
    scale of the bias step, but with sharp-ish peaks)."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(-10, 10, n_bias)
    gap = rng.uniform(1.5, 3.0, size=(n_spectra, 1))
    height = rng.uniform(0.5, 2.0, size=(n_spectra, 1))
    peaks = height * (np.exp(-((bias - gap) ** 2) / 0.5) + np.exp(-((bias + gap) ** 2) / 0.5))
    return 0.2 + 0.05 * bias**2 / (1 + 0.05 * bias**2) * 4 + peaks


@pytest.mark.parametrize("sigma", [0.01, 0.05, 0.2])
def test_sigma_is_recovered_from_white_noise_on_smooth_spectra(sigma):
    clean = _smooth_spectra()
    rng = np.random.default_rng(1)
    noisy = clean + rng.normal(0, sigma, size=clean.shape)
    floor = noise_floor(noisy)
    assert floor.sigma == pytest.approx(sigma, rel=0.05)
    assert floor.floor_distance == pytest.approx(np.sqrt(2 * clean.shape[1]) * floor.sigma)
    # the smooth spectra alone have (almost) no white noise: far below the smallest sigma
    assert noise_floor(clean).sigma < 0.1 * 0.01


def test_floor_distance_is_the_median_distance_of_pure_noise_pairs():
    rng = np.random.default_rng(2)
    sigma, n_bias = 0.07, 300
    spectrum = _smooth_spectra(1, n_bias)[0]
    same = spectrum + rng.normal(0, sigma, size=(500, n_bias))  # one spectrum, measured 500 x
    floor = noise_floor(same)
    median = np.median(pdist(same))
    assert floor.floor_distance == pytest.approx(median, rel=0.03)
    assert floor.sigma == pytest.approx(sigma, rel=0.05)
    assert floor.spread < 0.2  # the same noise everywhere


def test_noise_floor_refuses_what_it_cannot_use():
    with pytest.raises(ValueError, match="n_bias >= 5"):
        noise_floor(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="finite"):
        noise_floor(np.full((4, 8), np.nan))
    with pytest.raises(ValueError, match="denoise must be one of"):
        denoise(np.zeros((4, 8)), noise_floor(np.ones((4, 8))), "wavelet")


def test_pca_denoising_keeps_the_signal_components_and_removes_the_noise():
    """Spectra spanned by 3 shapes plus white noise: the components above the
    Marchenko-Pastur edge are those 3, and the denoised spectra are closer to the clean ones
    by about sqrt(n_bias / 3)."""
    rng = np.random.default_rng(3)
    n_spectra, n_bias, sigma = 2000, 128, 0.05
    bias = np.linspace(-1, 1, n_bias)
    shapes = np.stack([np.ones(n_bias), bias, np.exp(-(bias**2) / 0.02)])
    clean = rng.normal(0, 1, size=(n_spectra, 3)) @ shapes
    noisy = clean + rng.normal(0, sigma, size=clean.shape)
    result = denoise(noisy, noise_floor(noisy), "pca")
    assert result.n_components == 3
    # pure noise stays below the edge: its largest eigenvalue lies just under it
    noise_only = rng.normal(0, sigma, size=clean.shape)
    largest = np.linalg.eigvalsh(np.cov(noise_only, rowvar=False))[-1]
    assert largest < result.edge < 1.2 * largest
    rms_before = np.sqrt(np.mean((noisy - clean) ** 2))
    rms_after = np.sqrt(np.mean((result.X - clean) ** 2))
    assert rms_before == pytest.approx(sigma, rel=0.05)
    assert rms_after == pytest.approx(sigma * np.sqrt(3 / n_bias), rel=0.2)
    assert result.floor_distance == pytest.approx(np.sqrt(2 * 3) * sigma, rel=0.05)
    assert denoise(noisy, noise_floor(noisy), "none").X is noisy


def test_distance_statistics_record_the_noise_and_the_denoising():
    rng = np.random.default_rng(4)
    clean = _smooth_spectra(300, 96, seed=4)
    X = clean + rng.normal(0, 0.05, size=clean.shape)
    plain = pipeline.distance_statistics(X, pipeline.config_for("test", bins=60))
    assert plain.noise.sigma == pytest.approx(0.05, rel=0.05)
    assert plain.floor_distance == pytest.approx(plain.noise.floor_distance)
    # the distances of spectra that differ little start at the floor: none lies far below it
    d = pdist(X)
    assert np.quantile(d, 0.001) > 0.9 * plain.floor_distance
    attrs = pipeline.distance_attrs(plain)
    assert attrs["noise_sigma"] == plain.noise.sigma and attrs["denoise"] == "none"
    assert attrs["distance_populations"] in (1, 2) and attrs["delta_bic_sample_size"] == 300
    # denoised: the distances are those of the projected spectra, the floor drops
    config = pipeline.config_for("test", bins=60, denoise="pca")
    stats = pipeline.distance_statistics(X, config)
    projected = denoise(X, noise_floor(X), "pca").X
    assert stats.n_pairs == d.size
    assert stats.median_distance == pytest.approx(np.median(pdist(projected)), rel=0.05)
    assert stats.denoised.n_components < 20 and stats.denoised.X is None
    assert stats.floor_distance < 0.5 * plain.floor_distance
    attrs = pipeline.distance_attrs(stats)
    assert attrs["denoise"] == "pca" and attrs["denoise_components"] == stats.denoised.n_components


def test_the_demo_grids_near_pairs_are_its_noise_floor():
    """Issue 19's finding on the simulated FeSe-like grid: the distances start at
    sqrt(2 n_bias) sigma, the fit's near component sits there and the histogram has no dip:
    one population, no abundance. The finding is on the spectra as measured (normalize
    "none"): dividing by each spectrum's set-point conductance scales its noise, which spreads
    the floor."""
    config = pipeline.config_for("test", normalize="none")
    data = pipeline.load(None, config)
    stats = pipeline.distance_statistics(data.X, config)
    d = pdist(np.asarray(data.X, dtype=np.float64))
    # the floor is where the distances begin: hardly any pair closer, the median not far above
    assert np.mean(d < 0.8 * stats.floor_distance) < 1e-3
    assert 1.0 < np.median(d) / stats.floor_distance < 2.0
    test = stats.populations
    assert 1.0 < test.near_over_floor < np.sqrt(2) and test.dip < 0.1
    assert test.delta_bic > config.min_delta_bic  # the BIC alone would have said two
    assert not stats.bimodal and stats.abundance is None
    assert "is the noise floor" in stats.reason
