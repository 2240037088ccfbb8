"""Preprocessing against independent numpy computations."""

import numpy as np
import pytest

from stswidgets import GridError, make_grid, preprocess


def _grid(seed=0, ny=4, nx=5, n_bias=41, nan_pixels=((1, 2),)):
    rng = np.random.default_rng(seed)
    bias = np.linspace(-10.0, 10.0, n_bias)
    values = rng.normal(size=(ny, nx, n_bias)) + np.sin(bias / 3.0)
    for y, x in nan_pixels:
        values[y, x, 3] = np.nan
    return make_grid(values, bias, units="nS", channel="didv", source="test")


def test_normalize_methods_match_numpy():
    X = np.random.default_rng(1).normal(size=(6, 30)) + 3.0
    z = preprocess.normalize(X, "zscore")
    np.testing.assert_allclose(z, (X - X.mean(1)[:, None]) / X.std(1)[:, None])
    np.testing.assert_allclose(z.mean(1), 0, atol=1e-12)
    area = X / np.abs(X).mean(1)[:, None]
    np.testing.assert_allclose(preprocess.normalize(X, "area"), area)
    np.testing.assert_allclose(preprocess.normalize(X, "integral"), area)  # the alias
    np.testing.assert_allclose(preprocess.normalize(X, "max"), X / np.abs(X).max(1)[:, None])
    rms = X / np.sqrt((X**2).mean(1))[:, None]
    np.testing.assert_allclose(preprocess.normalize(X, "rms"), rms)
    # outside: the outer 10 % of the 30 bias points, 3 on each side
    ends = np.abs(np.c_[X[:, :3], X[:, -3:]]).mean(1)[:, None]
    np.testing.assert_allclose(preprocess.normalize(X, "outside"), X / ends)
    # every method but none removes a setpoint factor
    factor = np.arange(1.0, 7.0)[:, None]
    for method in preprocess.NORMALIZATIONS[:-1]:
        np.testing.assert_allclose(
            preprocess.normalize(X * factor, method), preprocess.normalize(X, method)
        )
    none = preprocess.normalize(X, "none")
    np.testing.assert_array_equal(none, X)
    assert none is not X
    assert preprocess.normalize(X.astype(np.float32)).dtype == np.float32


def test_normalize_rejects_unknown_methods_zero_rows_and_bad_shapes():
    X = np.ones((3, 4))
    with pytest.raises(ValueError, match="unknown normalisation method 'l2'"):
        preprocess.normalize(X, "l2")
    with pytest.raises(ValueError, match="zero norm.*rows \\[0, 1, 2\\]"):
        preprocess.normalize(X, "zscore")  # constant spectra
    X[1] = 0.0
    with pytest.raises(ValueError, match="1 spectra have zero norm"):
        preprocess.normalize(X, "max")
    with pytest.raises(ValueError, match="shape"):
        preprocess.normalize(np.ones(4))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"X holds NaN in 1 of its 3 spectra \(first at row 2\)"):
        preprocess.normalize(X, "area")
    kept = preprocess.normalize(np.ones((3, 4)), "zscore", zero_norm="keep")
    np.testing.assert_array_equal(kept, 0.0)


def test_smooth_is_a_gaussian_in_mV_and_keeps_nan_pixels():
    grid = _grid()
    step = 0.5  # mV
    smoothed = preprocess.smooth(grid, sigma_mV=1.0)
    # independent: explicit convolution with a normalised Gaussian of sigma = 2 steps,
    # reflect-padded as scipy's default
    radius = 8
    k = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (k * step / 1.0) ** 2)
    kernel /= kernel.sum()
    spectrum = grid.values[0, 0]
    padded = np.concatenate([spectrum[radius - 1 :: -1], spectrum, spectrum[: -radius - 1 : -1]])
    expected = np.convolve(padded, kernel, mode="valid")
    np.testing.assert_allclose(smoothed.values[0, 0], expected, atol=1e-10)
    assert np.isnan(smoothed.values[1, 2]).all()
    assert np.isfinite(smoothed.values[0]).all()
    assert smoothed.attrs == grid.attrs and smoothed.dims == grid.dims
    np.testing.assert_array_equal(preprocess.smooth(grid, 0).values, grid.values)
    with pytest.raises(ValueError, match="sigma_mV"):
        preprocess.smooth(grid, -1)


def test_smooth_refuses_uneven_bias():
    bias = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    grid = make_grid(np.zeros((1, 1, 5)), bias)
    with pytest.raises(GridError, match="unevenly spaced"):
        preprocess.smooth(grid, 1.0)


def test_derivative_matches_finite_differences_on_uneven_bias():
    bias = np.array([-2.0, -1.0, -0.5, 0.0, 1.0, 3.0])
    values = np.stack([bias**2, 3 * bias + 1]).reshape(1, 2, -1)
    grid = make_grid(values, bias, units="nS", name="didv")
    d = preprocess.derivative(grid)
    # quadratic: central differences on uneven steps are exact inside
    np.testing.assert_allclose(d.values[0, 0, 1:-1], 2 * bias[1:-1])
    np.testing.assert_allclose(d.values[0, 1], 3.0)
    # one-sided at the ends: first-order differences
    assert d.values[0, 0, 0] == pytest.approx((1.0 - 4.0) / 1.0)
    assert d.attrs["units"] == "nS/mV"
    assert d.name == "didv_derivative"
    assert grid.attrs["units"] == "nS"


def test_bias_window_selects_by_label_and_refuses_empty_windows():
    grid = _grid()
    window = preprocess.bias_window(grid, -2.0, 3.0)
    bias = grid["bias"].values
    expected = bias[(bias >= -2.0) & (bias <= 3.0)]
    np.testing.assert_array_equal(window["bias"].values, expected)
    np.testing.assert_array_equal(window.values, grid.values[..., (bias >= -2) & (bias <= 3)])
    with pytest.raises(ValueError, match="holds 0 bias point"):
        preprocess.bias_window(grid, 20.0, 30.0)
    with pytest.raises(ValueError, match="lo <= hi"):
        preprocess.bias_window(grid, 3.0, -2.0)


def test_invalid_mask_marks_incomplete_spectra():
    grid = _grid(nan_pixels=((1, 2), (3, 0)))
    mask = preprocess.invalid_mask(grid)
    expected = np.zeros((4, 5), dtype=bool)
    expected[1, 2] = expected[3, 0] = True
    np.testing.assert_array_equal(mask.values, expected)
    assert mask.dims == ("y", "x")
    np.testing.assert_array_equal(mask["x"].values, grid["x"].values)
