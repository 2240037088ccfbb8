"""The 1D score statistics shared by spectral_weight and kinds, against direct computations."""

import numpy as np

from stswidgets.analysis import score_statistics as ss


def test_robust_core_ignores_a_far_minority():
    rng = np.random.default_rng(0)
    majority = rng.normal(2.0, 0.5, 5000)
    values = np.concatenate([majority, rng.normal(10.0, 0.2, 300)])
    center, sigma = ss.robust_core(values)
    assert abs(center - 2.0) < 0.03
    assert abs(sigma - 0.5) < 0.03
    assert ss.robust_core(np.full(10, 3.0)) == (3.0, 0.0)


def test_far_mode_takes_the_outermost_peak_and_valley_lies_between():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0.0, 0.3, 4000), rng.normal(5.0, 0.3, 500)])
    peak, sigma = ss.far_mode(values)
    assert abs(peak - 5.0) < 0.15
    assert 0.1 < sigma < 0.6
    valley = ss.density_valley(values)
    assert valley is not None and 1.0 < valley < 4.0
    assert ss.density_valley(rng.exponential(1.0, 2000)) is None  # only falls off


def test_otsu_split_separates_two_groups_and_keeps_a_constant():
    values = np.concatenate([np.full(50, 1.0), np.full(50, 3.0)])
    assert 1.0 <= ss.otsu_split(values) < 3.0
    assert ss.otsu_split(np.full(5, 2.5)) == 2.5
