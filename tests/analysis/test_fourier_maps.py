"""Tests of stswidgets.analysis.fourier against independent computations: numpy's FFT, the
positions of plane waves and Friedel rings known in closed form, exact grid symmetries."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from stswidgets._defect_signatures import _apply_friedel
from stswidgets.analysis import fourier_maps, q_cut, radial_average, ring_wavevector
from stswidgets.datasets import random_grid
from stswidgets.grid import GridError, make_grid


def _grid(values, step_x=0.1, step_y=0.1, bias=None):
    """A grid of ``values`` ``(ny, nx, n_bias)`` on an even raster (steps in nm)."""
    ny, nx, nb = values.shape
    bias = np.linspace(-1.0, 1.0, nb) if bias is None else np.asarray(bias, float)
    return make_grid(values, bias, np.arange(nx) * step_x, np.arange(ny) * step_y)


def _wave_map(ny, nx, step_x, step_y, wavelength, angle_deg=0.0):
    x, y = np.meshgrid(np.arange(nx) * step_x, np.arange(ny) * step_y)
    u = x * np.cos(np.deg2rad(angle_deg)) + y * np.sin(np.deg2rad(angle_deg))
    return np.cos(2 * np.pi * u / wavelength)


def _two_largest(power2d):
    order = np.argsort(power2d.values.ravel())[::-1][:2]
    rows, cols = np.unravel_index(order, power2d.shape)
    return power2d.qx.values[cols], power2d.qy.values[rows]


@pytest.mark.parametrize("window", ["hann", "none", ("tukey", 0.3)])
@pytest.mark.parametrize("pad", [None, (150, 101)])
def test_plane_wave_peaks_at_two_pi_over_lambda(window, pad):
    ny, nx, step_x, step_y = 64, 80, 0.1, 0.12
    wavelengths = [0.8, 1.3, 2.1]
    values = np.stack([_wave_map(ny, nx, step_x, step_y, w) + 2.0 for w in wavelengths], axis=-1)
    fmaps = fourier_maps(_grid(values, step_x, step_y), window=window, pad=pad)
    assert fmaps.dims == ("bias", "qy", "qx")
    assert fmaps.attrs["q_convention"] == "q = 2 pi / lambda"
    size = (ny, nx) if pad is None else pad
    assert fmaps.qx.size == size[1] and fmaps.qy.size == size[0]
    step_qx = 2 * np.pi / (size[1] * step_x)  # independent: the DFT's q step
    np.testing.assert_allclose(np.diff(fmaps.qx), step_qx, rtol=1e-9)
    assert fmaps.qx.values[size[1] // 2] == 0 and fmaps.qy.values[size[0] // 2] == 0
    for i, wavelength in enumerate(wavelengths):
        qx, qy = _two_largest(fmaps.isel(bias=i))
        np.testing.assert_allclose(
            np.sort(qx), [-2 * np.pi / wavelength, 2 * np.pi / wavelength], atol=step_qx
        )
        np.testing.assert_allclose(qy, 0.0, atol=1e-12)


def test_wave_along_y_and_a_cut_along_its_direction():
    step = 0.1
    values = np.stack([_wave_map(96, 96, step, step, 1.1, angle_deg=30.0)] * 2, axis=-1)
    fmaps = fourier_maps(_grid(values, step, step))
    q_true = 2 * np.pi / 1.1
    qx, qy = _two_largest(fmaps.isel(bias=0))
    np.testing.assert_allclose(
        np.hypot(qx, qy), q_true, atol=fmaps.qx.values[1] - fmaps.qx.values[0]
    )
    cut = q_cut(fmaps, 30.0)
    assert cut.dims == ("bias", "q_along") and cut.attrs["angle_deg"] == 30.0
    peak = abs(float(cut.q_along[int(cut.isel(bias=0).argmax("q_along"))]))
    assert abs(peak - q_true) <= cut.q_along.values[1] - cut.q_along.values[0]
    across = q_cut(fmaps, 120.0)  # perpendicular: no wave there
    assert float(across.isel(bias=0).max()) < 0.01 * float(cut.isel(bias=0).max())


def test_power_matches_numpy_fft_and_parseval_unwindowed():
    rng = np.random.default_rng(4)
    values = rng.normal(1.0, 0.3, size=(30, 44, 3))
    grid = _grid(values)
    fmaps = fourier_maps(grid, window="none", subtract_mean=False)
    n = 30 * 44
    expected = np.abs(np.fft.fftshift(np.fft.fft2(values[:, :, 1]))) ** 2 / n
    np.testing.assert_allclose(fmaps.isel(bias=1).values, expected, rtol=1e-10)
    # Parseval: the mean over q of the power is the mean square of the map, padded or not
    for pad in (None, (61, 100)):
        fm = fourier_maps(grid, window="none", subtract_mean=False, pad=pad)
        np.testing.assert_allclose(
            fm.mean(("qy", "qx")).values, (values**2).mean(axis=(0, 1)), rtol=1e-10
        )
    complex_maps = fourier_maps(grid, window="none", subtract_mean=False, output="complex")
    np.testing.assert_allclose(np.abs(complex_maps.values) ** 2, fmaps.values, rtol=1e-10)


def test_padding_only_samples_the_same_transform_on_a_finer_q_grid():
    rng = np.random.default_rng(5)
    grid = _grid(rng.normal(size=(24, 36, 2)))
    coarse = fourier_maps(grid)
    fine = fourier_maps(grid, pad=(48, 72))
    np.testing.assert_allclose(fine.values[:, ::2, ::2], coarse.values, rtol=1e-9, atol=1e-12)


def test_padding_adds_no_edge_step_after_mean_or_plane_subtraction():
    x, y = np.meshgrid(np.arange(40) * 0.1, np.arange(32) * 0.1)
    offset_and_slope = np.stack([np.full_like(x, 3.0), 2.0 + 0.5 * x - 0.8 * y], axis=-1)
    grid = _grid(offset_and_slope)
    mean_only = fourier_maps(grid, pad=128)
    assert float(mean_only.isel(bias=0).max()) < 1e-20  # a constant map: nothing left
    plane = fourier_maps(grid, pad=128, subtract_mean="plane")
    assert float(plane.max()) < 1e-20
    # the same maps without mean subtraction or window: the padded border is a step
    stepped = fourier_maps(grid, pad=128, subtract_mean=False, window="none")
    assert float(stepped.isel(bias=0).sel(qx=0).max()) > 1.0


def test_invalid_pixels_are_filled_with_the_map_mean_and_counted():
    rng = np.random.default_rng(6)
    values = rng.normal(5.0, 1.0, size=(20, 24, 2))
    values[:2, :3, 0] = np.nan  # 6 pixels at the first bias
    values[-1, -2:, 1] = np.nan  # 2 at the second
    fmaps = fourier_maps(_grid(values), window="none", subtract_mean=False)
    assert fmaps.filled_pixels.values.tolist() == [6, 2]
    assert np.isfinite(fmaps.values).all()
    filled = values[:, :, 0].copy()
    filled[np.isnan(filled)] = np.nanmean(filled)
    expected = np.abs(np.fft.fftshift(np.fft.fft2(filled))) ** 2 / filled.size
    np.testing.assert_allclose(fmaps.isel(bias=0).values, expected, rtol=1e-10)
    values[:, :, 1] = np.nan  # a map never measured: NaN power, with either background choice
    for subtract_mean in (True, False, "plane"):
        fmaps = fourier_maps(_grid(values), subtract_mean=subtract_mean)
        assert np.isnan(fmaps.isel(bias=1)).all() and np.isfinite(fmaps.isel(bias=0)).all()
        assert fmaps.filled_pixels.values.tolist() == [6, 20 * 24]


def _asymmetric_map(n=64, step=0.1):
    """Three Gaussian wave packets of different directions and strengths: no symmetry."""
    x, y = np.meshgrid(np.arange(n) * step, np.arange(n) * step)
    centre = n * step / 2
    envelope = np.exp(-((x - centre) ** 2 + (y - centre) ** 2) / (2 * 1.2**2))
    waves = [(1.0, 0.9, 17.0), (0.6, 1.4, 71.0), (0.3, 0.7, 128.0)]
    return envelope * sum(a * _wave_map(n, n, step, step, w, d) for a, w, d in waves)


def test_fourfold_and_mirror_symmetrisation_is_exact_on_a_square_grid_and_keeps_the_power():
    values = np.stack([_asymmetric_map()] * 2, axis=-1)
    grid = _grid(values)
    plain = fourier_maps(grid).isel(bias=0).values
    sym = fourier_maps(grid, symmetrize=("mirror", 4)).isel(bias=0).values
    inner = sym[1:, 1:]  # q = 0 at index 32; row and column 0 (the -Nyquist q) have no partner
    np.testing.assert_allclose(inner, inner[::-1, :], rtol=1e-9, atol=1e-12)  # qy -> -qy
    np.testing.assert_allclose(inner, inner[:, ::-1], rtol=1e-9, atol=1e-12)  # qx -> -qx
    np.testing.assert_allclose(inner, inner.T, rtol=1e-9, atol=1e-12)  # 90 deg with the mirrors
    assert not np.allclose(plain[1:, 1:], plain[1:, 1:].T, rtol=0.1)  # it was asymmetric
    np.testing.assert_allclose(sym.sum(), plain.sum(), rtol=0.01)


def test_mirror_about_a_diagonal_and_sixfold_rotation():
    grid = _grid(np.stack([_asymmetric_map(96)] * 2, axis=-1))
    plain = fourier_maps(grid, pad=288).isel(bias=0)  # padding: peaks over ~3 q steps
    diagonal = fourier_maps(grid, symmetrize="mirror", axes=45.0).isel(bias=0).values
    np.testing.assert_allclose(diagonal, diagonal.T, rtol=1e-9, atol=1e-12)  # (qx, qy) -> (qy, qx)
    six = fourier_maps(grid, pad=288, symmetrize=6).isel(bias=0)
    np.testing.assert_allclose(float(six.sum()), float(plain.sum()), rtol=0.02)
    # the strongest packet (0.9 nm along 17 deg) reappears every 60 deg with one height
    q = 2 * np.pi / 0.9
    angles = np.deg2rad(17.0 + 60.0 * np.arange(6))
    heights = [float(six.interp(qx=q * np.cos(a), qy=q * np.sin(a))) for a in angles]
    assert max(heights) < 1.1 * min(heights)
    # rotating keeps each annulus: the radial averages agree where the power is
    before, after = (radial_average(m.expand_dims("bias")).isel(bias=0) for m in (plain, six))
    strong = before > 0.05 * float(before.max())
    np.testing.assert_allclose(after.values[strong], before.values[strong], rtol=0.1)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("wavelength", [0.6, 0.9, 1.5])
def test_friedel_ring_of_a_direct_grid_at_two_pi_over_lambda(seed, wavelength):
    """Friedel oscillations cos(2 k_F rho + phase) around five defects of random phases, made by
    the simulator's own factor (each pixel oscillates about its nearest defect), with noise."""
    rng = np.random.default_rng(seed)
    ny, nx, step = 128, 128, 0.12
    centres = rng.uniform(0, nx * step, size=(5, 2))
    x, y = np.meshgrid(np.arange(nx) * step, np.arange(ny) * step)
    pixels = np.stack([x.ravel(), y.ravel()], axis=-1)
    distances = np.linalg.norm(pixels[:, None, :] - centres[None], axis=-1)
    nearest, rho = distances.argmin(axis=1), distances.min(axis=1)
    spectra = np.ones((ny * nx, 4), dtype=np.float32)
    k = np.full(4, np.pi / wavelength)  # cos(2 k rho) has the period `wavelength`
    phases = rng.uniform(0, 2 * np.pi, len(centres))[nearest]
    _apply_friedel(spectra, k, rho, phases, 0.1 * np.exp(-rho / 2.5))
    spectra += rng.normal(0, 0.01, spectra.shape).astype(np.float32)
    radial = radial_average(fourier_maps(_grid(spectra.reshape(ny, nx, 4), step, step)))
    ring = float(ring_wavevector(radial.mean("bias"), q_min=2.0))
    assert abs(ring / (2 * np.pi / wavelength) - 1) < 0.08


def test_ring_wavevector_is_the_half_maximum_midpoint_of_a_lopsided_peak():
    q = np.linspace(0.0, 10.0, 201)
    q0 = 6.0
    lopsided = np.where(q > q0, 1 / np.sqrt(np.maximum(q**2 - q0**2, 0.0) + 0.5), 0.0) + 0.05
    profile = xr.DataArray(np.stack([lopsided, np.exp(-((q - 3.0) ** 2))]), dims=("bias", "q"))
    profile = profile.assign_coords(q=q, bias=[0.0, 1.0])
    found = ring_wavevector(profile, q_min=1.0)
    assert found.dims == ("bias",) and found.attrs["units"] == "1/nm"
    # independent: the half-maximum crossings of the lopsided peak, found on a fine grid
    fine = np.linspace(0.0, 10.0, 200001)
    tall = np.interp(fine, q, lopsided)
    half = 0.5 * (tall.max() + np.median(lopsided[q >= 1.0]))
    above = fine[tall > half]
    np.testing.assert_allclose(float(found[0]), 0.5 * (above.min() + above.max()), atol=0.02)
    np.testing.assert_allclose(float(found[1]), 3.0, atol=0.02)  # a symmetric peak: its centre


def _stacked_ring(radial, fermi_energy_mV, q_min=2.5, width=7):
    """Ring wavevector at E = 0: each bias's profile, flattened (its log over its median, minus
    a running median along q), is rescaled by the simulated dispersion q(E) = q0 (1 + E / 2 E_F)
    and averaged over bias; its ring by :func:`ring_wavevector`."""
    from scipy import ndimage

    power, q, bias = radial.values, radial.q.values, radial.bias.values
    log_p = np.log(power / np.nanmedian(power, axis=1, keepdims=True))
    flat = log_p - ndimage.median_filter(log_p, size=(1, width), mode="nearest")
    scale = 1 + bias / (2 * fermi_energy_mV)
    stack = np.array(
        [
            np.interp(q * s, q, row, left=np.nan, right=np.nan)
            for s, row in zip(scale, flat, strict=True)
        ]
    )
    usable = np.isfinite(stack).mean(axis=0) >= 0.5
    profile = np.nanmean(stack, axis=0)
    stacked = xr.DataArray(np.where(usable, profile, np.nan), dims="q", coords={"q": q})
    return float(ring_wavevector(stacked, q_min=q_min))


@pytest.mark.parametrize("seed", [21, 28])  # tuning seeds with a visible Friedel amplitude
def test_friedel_ring_of_random_grid_at_its_true_wavevector(seed):
    ds = random_grid(seed, n_bias=160)
    fmaps = fourier_maps(ds["didv"], subtract_mean="plane")
    radial = radial_average(fmaps, angle_range=(-75, 75))  # off the qx = 0 line of drift streaks
    ring = _stacked_ring(radial, ds.attrs["friedel_fermi_energy_mV"])
    assert abs(ring / (2 * np.pi / ds.attrs["friedel_wavelength_nm"]) - 1) < 0.08


def test_radial_average_against_a_direct_loop_and_its_sector():
    qy, qx = np.linspace(-6, 5.5, 24), np.linspace(-4, 4, 33)
    qxx, qyy = np.meshgrid(qx, qy)
    power = np.stack([qxx**2 + qyy**2, np.ones_like(qxx)])
    fmaps = xr.DataArray(
        power, dims=("bias", "qy", "qx"), coords={"bias": [0.0, 1.0], "qy": qy, "qx": qx}
    )
    radial = radial_average(fmaps, n_q=8, q_max=4.0)
    assert radial.dims == ("bias", "q")
    edges = np.linspace(0, 4.0, 9)
    q = np.hypot(qxx, qyy)
    for j in range(8):
        inside = (q >= edges[j]) & ((q < edges[j + 1]) | ((j == 7) & (q <= 4.0)))
        assert radial.n_pixels.values[j] == inside.sum()
        np.testing.assert_allclose(radial.values[0, j], (q[inside] ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(radial.values[1], 1.0)
    sector = radial_average(fmaps, n_q=8, q_max=4.0, angle_range=(0, 90))
    angle = np.degrees(np.arctan2(qyy, qxx))
    in_sector = (angle >= 0) & (angle <= 90) & (q <= 4.0) & (q > 0)
    assert sector.n_pixels.sum() == in_sector.sum() + (q == 0).sum()


@pytest.mark.parametrize(
    ("values", "kwargs", "error", "words"),
    [
        (np.ones((1, 20, 3)), {}, GridError, "line grid"),
        (np.ones((10, 12, 3)), {"window": "kaiser"}, ValueError, "window"),
        (np.ones((10, 12, 3)), {"window": 3}, ValueError, "window"),
        (np.ones((10, 12, 3)), {"symmetrize": 5}, ValueError, "n-fold"),
        (np.ones((10, 12, 3)), {"axes": "x"}, ValueError, "add 'mirror'"),
        (np.ones((10, 12, 3)), {"symmetrize": 4, "output": "complex"}, ValueError, "phases"),
        (np.ones((10, 12, 3)), {"symmetrize": "mirror", "axes": [0, 37]}, ValueError, "finite"),
        (np.ones((10, 12, 3)), {"pad": 8}, ValueError, "at least"),
        (np.ones((10, 12, 3)), {"bias": slice(5, 6)}, ValueError, "selects no bias"),
    ],
)
def test_refusals_say_what_is_wrong(values, kwargs, error, words):
    with pytest.raises(error, match=words):
        fourier_maps(_grid(values), **kwargs)


def test_irregular_raster_and_collections_are_refused():
    grid = _grid(np.ones((10, 12, 3)))
    uneven = grid.assign_coords(x=np.r_[np.arange(11) * 0.1, 1.5])
    with pytest.raises(GridError, match="not evenly spaced"):
        fourier_maps(uneven)
    spectra = xr.DataArray(np.ones((5, 3)), dims=("spectrum", "bias"), coords={"bias": [0.0, 1, 2]})
    with pytest.raises(GridError, match="collection of spectra"):
        fourier_maps(spectra)


def test_maps_transformed_in_blocks_equal_one_block(monkeypatch):
    from stswidgets.analysis import fourier

    rng = np.random.default_rng(8)
    values = rng.normal(size=(20, 24, 7))
    values[3, 4, 2] = np.nan
    grid = _grid(values)
    whole = fourier_maps(grid, subtract_mean="plane", pad=32)
    monkeypatch.setattr(fourier, "_BLOCK_VALUES", 2 * 32 * 32)  # two maps per block
    blocks = fourier_maps(grid, subtract_mean="plane", pad=32)
    np.testing.assert_allclose(blocks.values, whole.values, rtol=1e-12, atol=1e-15)
    assert blocks.filled_pixels.values.tolist() == [0, 0, 1, 0, 0, 0, 0]


def test_a_real_nanonis_grid_against_numpy_and_its_line_grid_refused():
    """The measured 30 x 30 lock-in grid (skipped where the real-data folder is absent)."""
    import os
    from pathlib import Path

    from scipy.signal import windows

    from stswidgets import open_grid

    real = Path(
        os.environ.get("STSWIDGETS_REAL_DATA")
        or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
    )
    if not (real / "nanonis_grid_lockin_30x30.3ds").is_file():
        pytest.skip(f"real files not found in {real}")
    grid = open_grid(real / "nanonis_grid_lockin_30x30.3ds")
    fmaps = fourier_maps(grid, bias=[-20.0, 0.0, 20.0])
    assert fmaps.sizes["bias"] == 3 and np.isfinite(fmaps.values).all()
    step = float(grid.x[1] - grid.x[0])  # float32 coordinates: the steps agree to ~1e-6
    np.testing.assert_allclose(np.diff(fmaps.qx), 2 * np.pi / (grid.sizes["x"] * step), rtol=1e-4)
    image = grid.sel(bias=float(fmaps.bias[1])).transpose("y", "x").values.astype(float)
    window = np.outer(windows.hann(image.shape[0]), windows.hann(image.shape[1]))
    expected = np.abs(np.fft.fftshift(np.fft.fft2((image - image.mean()) * window))) ** 2
    np.testing.assert_allclose(fmaps.isel(bias=1).values, expected / image.size, rtol=1e-8)
    line = open_grid(real / "nanonis_line_pb_sc_32x1.3ds")
    with pytest.raises(GridError, match="line grid"):
        fourier_maps(line)
