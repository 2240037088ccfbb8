"""Tests of stswidgets.analysis.spectral_weight against independent computations."""

from __future__ import annotations

import numpy as np
import pytest

from stswidgets.analysis import spectral_weight as sw


def _scores(rng, n_surface=970, n_transition=0, n_vacancy=30, vacancy_at=12.0):
    parts = [
        rng.normal(0.0, 1.0, n_surface),
        rng.uniform(4.0, vacancy_at - 3.0, n_transition),
        rng.normal(vacancy_at, 1.0, n_vacancy),
    ]
    truth = np.repeat([0, 1, 2], [n_surface, n_transition, n_vacancy])
    return np.concatenate(parts), truth


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_score_bands_finds_a_few_percent_of_vacancies_on_either_side(sign):
    rng = np.random.default_rng(1)
    score, truth = _scores(rng, n_surface=960, n_transition=0, n_vacancy=40)
    bands, (surface_edge, vacancy_edge) = sw.score_classes(sign * score)
    np.testing.assert_array_equal(bands == 2, truth == 2)
    # the surface band is the bulk of the Gaussian: about 99.7 % within 3 sigma
    assert 0.98 < (bands[truth == 0] == 0).mean() <= 1.0
    # orientation of the returned edges follows the sign convention
    assert (vacancy_edge - surface_edge) * sign > 0
    # the edges reproduce the bands when passed back in
    again, used = sw.score_classes(sign * score, thresholds=(surface_edge, vacancy_edge))
    np.testing.assert_array_equal(again, bands)
    assert used == (surface_edge, vacancy_edge)


def test_score_bands_with_a_continuous_transition():
    rng = np.random.default_rng(2)
    score, truth = _scores(rng, n_surface=900, n_transition=60, n_vacancy=40, vacancy_at=15.0)
    bands, (surface_edge, vacancy_edge) = sw.score_classes(score)
    # the surface cut is mean + 3 robust sigma of the surface Gaussian N(0, 1)
    assert surface_edge == pytest.approx(3.0, abs=0.4)
    assert 4.0 < vacancy_edge < 14.0
    assert (bands[truth == 2] == 2).mean() >= 0.95
    assert (bands[truth == 0] == 0).mean() >= 0.98
    assert (bands[truth == 1] == 1).mean() >= 0.5


def test_score_bands_manual_thresholds_and_bad_input():
    score = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    bands, used = sw.score_classes(score, thresholds=(1.0, 3.0))
    np.testing.assert_array_equal(bands, [0, 0, 1, 1, 2])
    bands, _ = sw.score_classes(score, thresholds=(3.0, 1.0))  # vacancies have low scores
    np.testing.assert_array_equal(bands, [2, 1, 1, 0, 0])
    all_surface, _ = sw.score_classes(np.zeros(10))
    np.testing.assert_array_equal(all_surface, 0)
    with pytest.raises(ValueError, match="non-finite"):
        sw.score_classes(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="1D"):
        sw.score_classes(np.zeros((3, 2)))


def test_band_spectra_matches_per_band_numpy():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 7))
    bands = np.repeat([0, 2], 25)
    mean, std = sw.class_spectra(X, bands)
    assert mean.shape == std.shape == (3, 7)
    np.testing.assert_allclose(mean[0], X[:25].mean(axis=0))
    np.testing.assert_allclose(std[2], np.std(X[25:], axis=0))
    assert np.isnan(mean[1]).all()  # empty transition band
    with pytest.raises(ValueError, match="classes"):
        sw.class_spectra(X, bands[:-1])
    # classes of classify_kinds: one row per class, unmeasured (-1) left out
    classes = np.repeat([0, 4, -1, 1, 1], 10)
    mean, _ = sw.class_spectra(X, classes, n_classes=6)
    assert mean.shape == (6, 7)
    np.testing.assert_allclose(mean[4], X[10:20].mean(axis=0))
    np.testing.assert_allclose(mean[1], X[30:].mean(axis=0))
    assert np.isnan(mean[[2, 3, 5]]).all()
    assert sw.class_spectra(X, classes)[0].shape == (5, 7)


def test_energy_correlation_equals_corrcoef():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 30)) @ rng.normal(size=(30, 30))
    np.testing.assert_allclose(sw.energy_correlation(X), np.corrcoef(X, rowvar=False), atol=1e-12)
    X[:, 5] = 1.0  # a constant column has no correlation
    C = sw.energy_correlation(X)
    assert np.isnan(C[5]).all() and np.isnan(C[:, 5]).all()


def test_distance_density_all_pairs_against_loops():
    rng = np.random.default_rng(5)
    surface, vacancy = rng.normal(size=(6, 4)), rng.normal(2.0, 1.0, size=(5, 4))
    bias = np.linspace(-1, 1, 4)
    result = sw.energy_resolved_distance_density(surface, vacancy, bias, bins=10)
    diffs = np.array([np.abs(v - s) for s in surface for v in vacancy])
    assert result.n_pairs == 30
    assert result.density.shape == (10, 4) and result.edges.shape == (11,)
    np.testing.assert_allclose(result.median, np.median(diffs, axis=0))
    for column in range(4):
        expected = np.histogram(diffs[:, column], bins=result.edges, density=True)[0]
        np.testing.assert_allclose(result.density[:, column], expected)
    widths = np.diff(result.edges)
    np.testing.assert_allclose((result.density * widths[:, None]).sum(axis=0), 1.0)
    signed = sw.energy_resolved_distance_density(surface, vacancy, bias, bins=10, signed=True)
    np.testing.assert_allclose(
        signed.median, np.median([v - s for s in surface for v in vacancy], axis=0)
    )


def test_distance_density_subsampling_is_seeded():
    rng = np.random.default_rng(6)
    surface, vacancy = rng.normal(size=(300, 8)), rng.normal(size=(200, 8))
    bias = np.arange(8.0)
    a = sw.energy_resolved_distance_density(surface, vacancy, bias, max_pairs=500, random_state=1)
    b = sw.energy_resolved_distance_density(surface, vacancy, bias, max_pairs=500, random_state=1)
    c = sw.energy_resolved_distance_density(surface, vacancy, bias, max_pairs=500, random_state=2)
    assert a.n_pairs == 500
    np.testing.assert_array_equal(a.density, b.density)
    assert not np.array_equal(a.density, c.density)
    with pytest.raises(ValueError, match="bias"):
        sw.energy_resolved_distance_density(surface, vacancy, bias[:-1])


def test_anticorrelated_windows_recovers_planted_windows():
    rng = np.random.default_rng(7)
    bias = np.linspace(-15.0, 15.0, 121)
    n = 800
    window_a, window_b = (-8.0, -5.0), (4.0, 7.0)
    in_a = (bias >= window_a[0]) & (bias <= window_a[1])
    in_b = (bias >= window_b[0]) & (bias <= window_b[1])
    amplitude = rng.exponential(1.0, size=(n, 1))  # weight moved from window a to window b
    X = 1.0 + 0.3 * rng.normal(size=(n, len(bias)))
    X -= amplitude * in_a
    X += amplitude * in_b
    C = sw.energy_correlation(X)
    windows = sw.anticorrelated_windows(C, bias, threshold=-0.4, min_width_mV=1.0)
    assert len(windows) >= 1
    best = windows[0]
    assert isinstance(best, sw.EnergyWindowPair)

    def overlap(found, planted):
        return min(found[1], planted[1]) - max(found[0], planted[0])

    assert overlap(best.window_a_mV, window_a) > 2.0
    assert overlap(best.window_b_mV, window_b) > 2.0
    assert best.strength > 0.4
    # an independent check of the strength: the mean of -C over the planted block
    planted = -C[np.ix_(in_a, in_b)].mean()
    assert best.strength == pytest.approx(planted, abs=0.1)
    # no anti-correlation in pure noise at this threshold
    noise = sw.energy_correlation(rng.normal(size=(n, len(bias))))
    assert sw.anticorrelated_windows(noise, bias, threshold=-0.4, min_width_mV=1.0) == []


def test_anticorrelated_windows_sorted_and_validated():
    bias = np.arange(6.0)
    C = np.eye(6)
    C[0, 2] = C[2, 0] = -0.9
    C[3, 5] = C[5, 3] = -0.6
    windows = sw.anticorrelated_windows(C, bias, threshold=-0.5)
    assert [w.strength for w in windows] == pytest.approx([0.9, 0.6])
    assert windows[0].window_a_mV == (0.0, 0.0) and windows[0].window_b_mV == (2.0, 2.0)
    with pytest.raises(ValueError, match="negative"):
        sw.anticorrelated_windows(C, bias, threshold=0.5)
    with pytest.raises(ValueError, match="shape"):
        sw.anticorrelated_windows(C, bias[:-1])


def test_score_bands_on_a_continuous_tail_without_a_vacancy_peak():
    # like the simulated grids: a defect weight falling off continuously from the surface
    rng = np.random.default_rng(8)
    weight = np.concatenate([np.zeros(850), rng.uniform(0, 1, 150) ** 2])
    score = weight + rng.normal(0, 0.01, weight.size)
    vacancy = weight > 0.6
    bands, (surface_edge, vacancy_edge) = sw.score_classes(score)
    assert surface_edge < vacancy_edge
    assert (bands[vacancy] == 2).mean() >= 0.95
    assert (bands == 2).sum() <= 3 * vacancy.sum()
    assert (bands[weight == 0] == 0).mean() >= 0.98


def test_window_iou():
    assert sw.window_iou((0.0, 2.0), (1.0, 3.0)) == pytest.approx(1 / 3)
    assert sw.window_iou((3.0, 1.0), (1.0, 3.0)) == 1.0  # order of the ends does not matter
    assert sw.window_iou((0.0, 1.0), (2.0, 3.0)) == 0.0


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_score_bands_with_a_broad_surface_and_a_saturated_vacancy_pile(sign):
    # like a briefly trained score network: a wide, skewed surface population and the
    # vacancies (with part of the transition) piled up where the output saturates
    rng = np.random.default_rng(9)
    surface = rng.gamma(4.0, 0.15, 1450) - 0.6
    transition = rng.uniform(1.0, 1.45, 100)
    vacancy = rng.uniform(1.44, 1.48, 50)
    score = np.minimum(np.concatenate([surface, transition, vacancy]), 1.48)
    truth = np.repeat([0, 1, 2], [1450, 100, 50])
    bands, _ = sw.score_classes(sign * score)
    assert (bands[truth == 2] == 2).all()
    assert (bands == 2).sum() <= 0.1 * len(score)
    assert (bands[truth == 0] == 0).mean() >= 0.95


def test_score_bands_with_a_staircase_score():
    # like the default SimilarityScore: levels a margin apart (surface ~0, a plateau of
    # transition spectra ~1 that outnumbers the vacancy pile ~1.93), a surface pile with a
    # long tail, and transition spectra spread between the levels
    rng = np.random.default_rng(10)
    surface = np.concatenate([np.abs(rng.normal(0, 0.002, 8000)), rng.exponential(0.02, 1000)])
    transition = np.concatenate([rng.normal(1.0, 0.02, 400), rng.uniform(0.05, 1.85, 100)])
    vacancy = 1.93 - np.abs(rng.normal(0, 0.005, 300))
    score = np.concatenate([surface, transition, vacancy])
    truth = np.repeat([0, 1, 2], [surface.size, transition.size, vacancy.size])
    bands, (surface_edge, vacancy_edge) = sw.score_classes(score)
    assert (bands[truth == 2] == 2).all()
    assert (truth[bands == 2] == 2).mean() >= 0.95  # the plateau is not taken for the pile
    assert surface_edge < 1.0 < vacancy_edge < vacancy.min()
    # the saturated surface pile reaches the valley before the plateau: the surface band holds
    # the whole surface, the transition band is transition spectra (not the pile's tail)
    assert 0.1 < surface_edge < 0.95
    assert (bands[truth == 0] == 0).mean() >= 0.99
    assert (truth[bands == 1] == 1).mean() >= 0.95
    # vacancies at low scores: the same bands, mirrored edges
    flipped, edges = sw.score_classes(-score)
    np.testing.assert_array_equal(flipped, bands)
    np.testing.assert_allclose(edges, (-surface_edge, -vacancy_edge))
