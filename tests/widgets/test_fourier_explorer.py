"""FourierExplorer: the map and its Fourier map at a bias, the q-cut and its dispersion."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from stswidgets import make_grid
from stswidgets.widgets import FourierExplorer
from stswidgets.widgets._static import static_png
from stswidgets.widgets.fourier import LOG_DECADES

N, STEP_NM = 48, 0.25
BIAS = np.linspace(-8.0, 8.0, 9)
ANGLE_DEG = 30.0


def wavelength_nm(bias_mV):
    """The simulated dispersion: the standing wave shortens as the bias grows."""
    return 2.0 - 0.05 * np.asarray(bias_mV)


def standing_wave_grid():
    """A plane wave cos(k . r) along 30 degrees, |k| = 2 pi / wavelength(bias)."""
    x = STEP_NM * np.arange(N)
    yy, xx = np.meshgrid(x, x, indexing="ij")
    theta = np.deg2rad(ANGLE_DEG)
    along = xx * np.cos(theta) + yy * np.sin(theta)
    values = np.stack(
        [1.0 + 0.2 * np.cos(2 * np.pi / lam * along) for lam in wavelength_nm(BIAS)], axis=-1
    )
    return make_grid(values, BIAS, x_nm=x, y_nm=x, units="nS")


def numpy_fourier_maps(grid, bias=None, complex_output=False):
    """|FFT|^2 of the mean-subtracted maps with numpy alone (q = 2 pi / lambda, 1/nm)."""
    maps = grid.transpose("bias", "y", "x")
    if bias is not None:
        maps = maps.sel(bias=bias)
    m = maps.values - maps.values.mean(axis=(1, 2), keepdims=True)
    F = np.fft.fftshift(np.fft.fft2(m), axes=(1, 2))
    q = 2 * np.pi * np.fft.fftshift(np.fft.fftfreq(N, STEP_NM))
    return xr.DataArray(
        F if complex_output else np.abs(F) ** 2,
        dims=("bias", "qy", "qx"),
        coords={"bias": maps["bias"].values, "qy": q, "qx": q},
        attrs={"q_convention": "q = 2 pi / lambda"},
    )


@pytest.fixture(scope="module")
def grid():
    return standing_wave_grid()


@pytest.fixture(scope="module")
def fmaps(grid):
    return numpy_fourier_maps(grid)


def test_cut_along_the_wave_peaks_at_its_wavevector_at_every_bias(grid, fmaps):
    explorer = FourierExplorer(grid, fmaps, angle=ANGLE_DEG)
    dq = np.diff(explorer.q).mean()
    peak_q = np.abs(explorer.q[np.nanargmax(explorer.dispersion, axis=1)])
    true_q = 2 * np.pi / wavelength_nm(BIAS)
    assert np.abs(peak_q - true_q).max() <= dq  # within one q step of the grid
    assert peak_q[-1] > peak_q[0]  # the dispersion is resolved
    along = np.nanmax(explorer.dispersion, axis=1)
    explorer.angle_slider.value = ANGLE_DEG + 90  # across the wave: no peak
    across = np.nanmax(explorer.dispersion, axis=1)
    assert (along > 20 * across).all()
    assert explorer.cut_line.x[1] == pytest.approx(explorer.q[-1] * np.cos(np.deg2rad(120)))
    assert "120.0°" in explorer.dispersion_figure.title


def test_dispersion_is_the_bilinear_interpolation_of_each_map_along_the_cut(grid, fmaps):
    from scipy.interpolate import RegularGridInterpolator

    explorer = FourierExplorer(grid, fmaps, angle=37.0)
    theta = np.deg2rad(37.0)
    points = np.c_[explorer.q * np.sin(theta), explorer.q * np.cos(theta)]  # (qy, qx)
    expected = np.stack(
        [
            RegularGridInterpolator((fmaps.qy.values, fmaps.qx.values), p)(points)
            for p in fmaps.values
        ]
    )
    atol = 1e-12 * fmaps.values.max()  # round-off of the sparse product at q = 0
    np.testing.assert_allclose(explorer.dispersion, expected, rtol=1e-10, atol=atol)
    # the cut runs to the edge of the maps: the q axis stays inside at every angle
    assert explorer.q[-1] == pytest.approx(fmaps.qx.values[-1])  # the last q of an even grid
    assert np.isfinite(explorer.dispersion).all()


def test_fourier_maps_of_the_library_put_the_wave_at_its_wavevector(grid):
    from stswidgets.analysis import fourier_maps

    explorer = FourierExplorer(grid, fourier_maps(grid), angle=ANGLE_DEG)
    dq = np.diff(explorer.q).mean()
    peak_q = np.abs(explorer.q[np.nanargmax(explorer.dispersion, axis=1)])
    assert np.abs(peak_q - 2 * np.pi / wavelength_nm(BIAS)).max() <= dq


def test_bias_slider_shows_the_map_and_its_fourier_map_at_that_bias(grid, fmaps):
    explorer = FourierExplorer(grid, fmaps)
    assert explorer.bias == 0.0
    explorer.bias_slider.value = 4.3  # snapped to 4 mV
    assert explorer.bias == 4.0 and explorer.bias_index == 6
    assert explorer.bias_slider.value == 4.0  # the slider shows the snapped bias
    np.testing.assert_allclose(explorer.map.heatmap.color, grid.values[:, :, 6])
    floor = fmaps.values.max() * 10.0**-LOG_DECADES
    np.testing.assert_allclose(
        explorer.fourier_map.color, np.log10(np.maximum(fmaps.values[6], floor))
    )
    assert explorer.bias_line.y.tolist() == [4.0, 4.0]
    assert "4.00 mV" in explorer.fourier_figure.title
    assert explorer.fourier_axis.label == "log10 |FFT|²"
    explorer.log_box.value = False
    np.testing.assert_allclose(explorer.fourier_map.color, fmaps.values[6])
    assert explorer.fourier_axis.label == "|FFT|²"
    np.testing.assert_allclose(explorer.dispersion_map.color, explorer.dispersion)


def test_complex_transforms_and_a_bias_subset(grid):
    fmaps = numpy_fourier_maps(grid, bias=[-4.0, 2.0], complex_output=True)
    explorer = FourierExplorer(grid, fmaps, bias=2.0, log_scale=False)
    np.testing.assert_allclose(explorer.fourier_map.color, np.abs(fmaps.values[1]) ** 2)
    np.testing.assert_allclose(explorer.map.heatmap.color, grid.sel(bias=2.0).values)
    assert explorer.bias_slider.min == -4.0 and explorer.bias_slider.max == 2.0


def test_labelled_axes_and_a_picture_of_three_panels(grid, fmaps):
    explorer = FourierExplorer(grid, fmaps)
    labels = [
        a.label for f in (explorer.fourier_figure, explorer.dispersion_figure) for a in f.axes
    ]
    assert labels == [
        "q_x (1/nm)", "q_y (1/nm)", "log10 |FFT|²",
        "q along the cut (1/nm)", "sample bias (mV)", "log10 |FFT|²",
    ]  # fmt: skip
    png = static_png(explorer)
    assert png is not None and png[:4] == b"\x89PNG"


def test_wrong_input_is_refused_with_a_reason(grid, fmaps):
    with pytest.raises(ValueError, match="fourier_maps"):
        FourierExplorer(grid, fmaps.rename(qx="kx"))
    with pytest.raises(ValueError, match="dims"):
        FourierExplorer(grid.transpose("bias", "y", "x"), fmaps)
    uneven = fmaps.assign_coords(qx=fmaps.qx.values**3)
    with pytest.raises(ValueError, match="evenly spaced"):
        FourierExplorer(grid, uneven)
    shifted = fmaps.assign_coords(qx=fmaps.qx.values + 20.0)
    with pytest.raises(ValueError, match="through q = 0"):
        FourierExplorer(grid, shifted)


def test_clicks_turn_the_cut_and_pick_the_bias(grid, fmaps):
    explorer = FourierExplorer(grid, fmaps)
    k = 2 * np.pi / wavelength_nm(0.0)
    theta = np.deg2rad(ANGLE_DEG)
    # a click on the lower of the two peaks turns the cut through both (angle mod 180)
    click = {"data": {"click_x": -k * np.cos(theta), "click_y": -k * np.sin(theta)}}
    explorer._on_fourier_click(explorer.fourier_picker, click)
    assert explorer.angle == ANGLE_DEG and explorer.angle_slider.value == ANGLE_DEG
    turned = FourierExplorer(grid, fmaps, angle=ANGLE_DEG)
    np.testing.assert_allclose(explorer.dispersion, turned.dispersion)
    explorer._on_dispersion_click(
        explorer.dispersion_picker, {"data": {"click_x": 0.0, "click_y": -5.1}}
    )
    assert explorer.bias == -6.0  # nearest bias of the maps
    np.testing.assert_allclose(explorer.map.heatmap.color, grid.values[:, :, 1])
    explorer._on_dispersion_click(explorer.dispersion_picker, {"data": {}})  # ignored
    assert explorer.bias == -6.0


def test_static_picture_is_labelled_and_free_of_overlaps(grid, fmaps):
    from figure_checks import colourbar_axes, layout_problems

    from stswidgets.widgets._static import static_figure

    fig = static_figure(FourierExplorer(grid, fmaps, bias=4.0))
    labels = [ax.get_ylabel() for ax in colourbar_axes(fig)]
    assert labels == ["dI/dV at 4.00 mV (nS)", "log10 |FFT|²", "log10 |FFT|²"]
    assert layout_problems(fig) == []
