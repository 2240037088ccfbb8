"""gap_map against independent computations: curve_fit, analytic peaks, grids of known gap."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import curve_fit

from stswidgets._defect_signatures import dynes_dos
from stswidgets.analysis import gap_map
from stswidgets.datasets import random_grid
from stswidgets.grid import make_grid


def _dynes_spectrum(bias, delta, gamma, a0=1.0, a1=0.0, a2=0.0, delta2=None, weight=0.0):
    """Background times a (two-gap) Dynes DOS from the simulator's own implementation."""
    e = bias / np.abs(bias).max()
    dos = (1 - weight) * dynes_dos(bias, delta, gamma)
    if weight:
        dos = dos + weight * dynes_dos(bias, delta2, gamma)
    return (a0 + a1 * e + a2 * e**2) * dos


def _gap_field_grid(ny=24, nx=26, n_bias=301, noise=0.01, seed=0):
    """A grid whose Dynes gap varies smoothly in space (1.2 ... 1.8 mV); returns grid and truth."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:ny, 0:nx]
    gap = 1.5 + 0.3 * np.sin(x / 5.0) * np.cos(y / 7.0)
    bias = np.linspace(-6, 6, n_bias)
    spectra = np.stack(
        [_dynes_spectrum(bias, d, 0.08 * d, a1=0.1, a2=0.2) for d in gap.ravel()]
    ).reshape(ny, nx, n_bias)
    spectra += noise * rng.standard_normal(spectra.shape)
    grid = make_grid(spectra.astype(np.float32), bias, np.arange(nx) * 0.2, np.arange(ny) * 0.2)
    return grid, gap


def test_vectorised_fit_agrees_with_curve_fit():
    rng = np.random.default_rng(3)
    bias = np.linspace(-5, 5, 257)
    truths = [(1.0, 0.05), (1.3, 0.12), (1.6, 0.2), (0.9, 0.03), (1.4, 0.08), (1.8, 0.15)]
    X = np.stack(
        [
            _dynes_spectrum(bias, d, g, a0=1 + 0.1 * k, a1=0.15, a2=0.1)
            + 0.01 * rng.standard_normal(len(bias))
            for k, (d, g) in enumerate(truths)
        ]
    )
    fitted = gap_map(X, bias_mV=bias, method="fit")
    assert fitted["gap"].dims == ("spectrum",)
    peaks_gap = gap_map(X, bias_mV=bias, method="peaks")["gap"].values
    scale = np.abs(bias).max()
    for k in range(len(X)):  # curve_fit on the same window as gap_map's fit: 3 peaks gaps
        inside = np.abs(bias) <= 3.0 * peaks_gap[k]

        def model(b, delta, gamma, a0, a1, a2):
            return (a0 + a1 * b / scale + a2 * (b / scale) ** 2) * dynes_dos(b, delta, gamma)

        start = [peaks_gap[k], 0.1 * peaks_gap[k], 1.0, 0.0, 0.0]
        reference, _ = curve_fit(model, bias[inside], X[k, inside], p0=start)
        assert fitted["gap"].values[k] == pytest.approx(reference[0], rel=2e-3)
        assert fitted["gamma"].values[k] == pytest.approx(reference[1], rel=3e-2, abs=3e-3)
        assert fitted["gap"].values[k] == pytest.approx(truths[k][0], rel=2e-2)
    assert np.all(fitted["fit_quality"].values > 0.95)


def test_peaks_find_analytic_peak_positions():
    bias = np.linspace(-4, 4, 321)  # step 0.025 mV
    centres = [(-1.2137, 1.1821), (-0.9012, 0.9533), (-1.5555, 1.4444)]
    X = np.stack(
        [
            1.0
            + 0.05 * bias
            + 0.8 * np.exp(-0.5 * ((bias - neg) / 0.08) ** 2)
            + 0.6 * np.exp(-0.5 * ((bias - pos) / 0.08) ** 2)
            for neg, pos in centres
        ]
    )
    result = gap_map(X, bias_mV=bias, method="peaks", smoothing_mV=0.1)
    neg, pos = np.array(centres).T
    # parabolic vertices: within a tenth of a bias step (the slope of the background moves the
    # maximum of the sum by less than 1e-3 mV here)
    np.testing.assert_allclose(result["peak_energy_neg"], neg, atol=0.1 * 0.025)
    np.testing.assert_allclose(result["peak_energy_pos"], pos, atol=0.1 * 0.025)
    np.testing.assert_allclose(result["gap"], (pos - neg) / 2, atol=0.1 * 0.025)
    assert result["peak_height_neg"].values[0] == pytest.approx(1.8 - 0.05 * 1.2137, abs=0.01)
    zero = 1.0 + 0.8 * np.exp(-0.5 * (neg / 0.08) ** 2) + 0.6 * np.exp(-0.5 * (pos / 0.08) ** 2)
    np.testing.assert_allclose(result["zero_bias_conductance"], zero, atol=1e-3)
    for name, variable in result.data_vars.items():
        assert "units" in variable.attrs and "long_name" in variable.attrs, name


@pytest.mark.parametrize("method", ["peaks", "fit"])
def test_gap_follows_a_known_spatially_varying_gap(method):
    grid, truth = _gap_field_grid()
    result = gap_map(grid, method=method)
    assert result["gap"].dims == ("y", "x")
    np.testing.assert_array_equal(result["x"], grid["x"])
    gap = result["gap"].values
    correlation = np.corrcoef(gap.ravel(), truth.ravel())[0, 1]
    error = np.median(np.abs(gap - truth))
    assert correlation >= 0.98
    # the fit returns Delta; the peaks sit outside Delta by the Dynes broadening (here 8 %)
    assert error <= (0.02 if method == "fit" else 0.12)
    if method == "peaks":
        assert np.median(gap - truth) > 0  # peaks outside Delta, never inside


def test_fit_follows_random_grid_gap_away_from_defects():
    ds = random_grid(5, shape=(40, 40), n_bias=256, gap_variation=0.1)
    result = gap_map(ds, method="fit")
    far = (ds["kind"].values == 0) & ds["valid"].values
    gap, truth = result["gap"].values[far], ds["local_gap_mV"].values[far]
    assert np.corrcoef(gap, truth)[0, 1] >= 0.97
    assert np.median(np.abs(gap - truth)) <= 0.1


def test_two_gaps_are_recovered():
    rng = np.random.default_rng(5)
    bias = np.linspace(-8, 8, 401)
    truths = [(2.5, 1.4, 0.3), (2.2, 1.2, 0.35), (3.0, 1.8, 0.25)]
    X = np.stack(
        [
            _dynes_spectrum(bias, d1, 0.1, delta2=d2, weight=w, a2=0.1)
            + 0.005 * rng.standard_normal(len(bias))
            for d1, d2, w in truths
        ]
    )
    result = gap_map(X, bias_mV=bias, method="fit", n_gaps=2)
    d1, d2, w = np.array(truths).T
    np.testing.assert_allclose(result["gap"], d1, rtol=0.03)
    np.testing.assert_allclose(result["gap_2"], d2, rtol=0.08)
    np.testing.assert_allclose(result["gap_2_weight"], w, atol=0.06)
    assert np.all(result["gap_2"].values <= result["gap"].values)


@pytest.mark.parametrize("method", ["peaks", "fit"])
def test_incomplete_spectra_stay_nan(method):
    grid, _ = _gap_field_grid(ny=10, nx=12, n_bias=201)
    values = grid.values.copy()
    values[2, 3] = np.nan  # never measured
    values[5, 7, 40] = np.nan  # one sample missing
    grid = grid.copy(data=values)
    result = gap_map(grid, method=method)
    for name, variable in result.data_vars.items():
        assert np.isnan(variable.values[2, 3]) and np.isnan(variable.values[5, 7]), name
    finite = np.isfinite(result["gap"].values)
    assert finite.sum() == 10 * 12 - 2


def test_collection_and_matrix_give_the_grid_values():
    grid, _ = _gap_field_grid(ny=6, nx=5, n_bias=201)
    on_grid = gap_map(grid, method="fit")
    stacked = grid.stack(spectrum=("y", "x")).transpose("spectrum", "bias")
    collection = xr.DataArray(
        stacked.values, dims=("spectrum", "bias"), coords={"bias": grid["bias"].values}
    )
    on_collection = gap_map(collection, method="fit")
    assert on_collection["gap"].dims == ("spectrum",)
    np.testing.assert_allclose(on_collection["gap"], on_grid["gap"].values.ravel(), rtol=1e-6)
    matrix = gap_map(stacked.values[:, ::-1], bias_mV=grid["bias"].values[::-1], method="peaks")
    np.testing.assert_allclose(
        matrix["gap"], gap_map(grid, method="peaks")["gap"].values.ravel(), rtol=1e-9
    )


def test_thermal_broadening_recovers_delta():
    bias = np.linspace(-4, 4, 321)
    kt = 0.08617 * 4.0  # 4 K
    fine = np.linspace(-6, 6, 4801)
    offset = bias[:, None] - fine[None, :]
    kernel = 1 / (4 * kt * np.cosh(offset / (2 * kt)) ** 2)
    kernel /= kernel.sum(axis=1, keepdims=True)
    X = np.stack([kernel @ dynes_dos(fine, d, 0.03) for d in (1.0, 1.3)])
    hot = gap_map(X, bias_mV=bias, method="fit", temperature_K=4.0)
    np.testing.assert_allclose(hot["gap"], [1.0, 1.3], rtol=0.02)
    assert hot.attrs["temperature_K"] == 4.0


def test_bad_arguments_name_the_problem():
    grid, _ = _gap_field_grid(ny=4, nx=4, n_bias=101)
    with pytest.raises(ValueError, match="method"):
        gap_map(grid, method="bcs")
    with pytest.raises(ValueError, match="n_gaps"):
        gap_map(grid, method="peaks", n_gaps=2)
    with pytest.raises(ValueError, match="bias_mV"):
        gap_map(grid.values.reshape(16, -1))
    with pytest.raises(ValueError, match="bias"):
        gap_map(grid.isel(bias=0))


def test_gap_variation_field_and_default():
    plain = random_grid(2, shape=(30, 30), n_bias=96)
    varied = random_grid(2, shape=(30, 30), n_bias=96, gap_variation=0.1)
    for name in ("kind", "transition", "defect_weight"):
        np.testing.assert_array_equal(plain[name], varied[name])
    ratio = (varied["local_gap_mV"] / plain["local_gap_mV"]).values
    assert ratio.std() == pytest.approx(0.1, rel=0.25)
    assert abs(ratio.mean() - 1) < 0.1
    # smooth: neighbouring pixels (0.15-0.35 nm apart, correlation 3 nm) differ far less than 0.1
    assert np.median(np.abs(np.diff(ratio, axis=1))) < 0.02
    assert "gap_variation" not in plain.attrs and varied.attrs["gap_variation"] == 0.1


def test_anisotropic_fit_recovers_a_v_shaped_gap():
    from stswidgets._defect_signatures import superconductor_dos

    rng = np.random.default_rng(8)
    bias = np.linspace(-6, 6, 241)
    truths = [(1.5, 0.85), (1.8, 0.7), (1.2, 0.9)]
    X = np.stack(
        [
            (1 + 0.1 * bias / 6) * superconductor_dos(bias, d, 0.05, anisotropy=a)
            + 0.005 * rng.standard_normal(len(bias))
            for d, a in truths
        ]
    )
    isotropic = gap_map(X, bias_mV=bias, method="fit")
    result = gap_map(X, bias_mV=bias, method="fit", anisotropic=True)
    d, a = np.array(truths).T
    np.testing.assert_allclose(result["gap"], d, rtol=0.03)
    np.testing.assert_allclose(result["gap_anisotropy"], a, atol=0.05)
    # the isotropic model cannot describe the V shape: further off
    assert np.all(np.abs(isotropic["gap"].values - d) > np.abs(result["gap"].values - d))
