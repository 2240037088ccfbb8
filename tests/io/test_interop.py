"""Grids from HyperSpy signals and other readers' DataArrays, and back to HyperSpy."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import xarray as xr

import stswidgets
from stswidgets import make_grid
from stswidgets.io import FormatError, open_grid, to_hyperspy

hs = pytest.importorskip("hyperspy.api", reason="HyperSpy is optional (the test extra has it)")


def _cube(ny=3, nx=4, n=6, seed=0):
    return np.random.default_rng(seed).normal(size=(ny, nx, n)).astype(np.float32)


def _signal(data, bias, bias_units="V", length_units="µm"):
    ny, nx, n = data.shape
    axes = [
        {"name": "y", "size": ny, "offset": 1.0, "scale": 0.002, "units": length_units},
        {"name": "x", "size": nx, "offset": -0.5, "scale": 0.001, "units": length_units},
        {
            "name": "bias",
            "size": n,
            "offset": bias[0],
            "scale": bias[1] - bias[0],
            "units": bias_units,
        },
    ]
    return hs.signals.Signal1D(data, axes=axes)


def test_hyperspy_signal_opens_with_calibrated_axes():
    data = _cube()
    signal = _signal(data, [0.2, 0.1], bias_units="V")  # a sweep from +0.2 V down
    signal.metadata.Signal.quantity = "dI/dV (nS)"
    grid = open_grid(signal)
    assert grid.dims == ("y", "x", "bias") and grid.shape == (3, 4, 6)
    np.testing.assert_allclose(grid["bias"].values, [-300, -200, -100, 0, 100, 200], atol=1e-9)
    np.testing.assert_allclose(grid.values, data[..., ::-1])
    np.testing.assert_allclose(grid["y"].values, 1000.0 + 2.0 * np.arange(3))  # µm -> nm
    np.testing.assert_allclose(grid["x"].values, -500.0 + 1.0 * np.arange(4))
    assert grid.attrs["units"] == "nS" and grid.attrs["channel"] == "dI/dV"


def test_hyperspy_current_signal_gives_its_derivative():
    bias_mV = np.linspace(-10, 10, 21)
    current = np.broadcast_to(np.tanh(bias_mV / 5), (2, 3, 21)).astype(np.float32) * 1e-9
    signal = _signal(current.copy(), [-10.0, -9.0], bias_units="mV", length_units="nm")
    signal.metadata.Signal.quantity = "Current (A)"
    grid = open_grid(signal)
    assert grid.attrs["derived"] == "numerical derivative of Current along the bias"
    np.testing.assert_allclose(
        grid.values[1, 2], np.gradient(current[1, 2], bias_mV / 1e3), rtol=1e-4
    )


def test_hyperspy_line_and_bad_units():
    line = hs.signals.Signal1D(_cube(1, 5)[0])
    line.axes_manager.signal_axes[0].units = "mV"
    line.axes_manager.navigation_axes[0].units = "nm"
    assert open_grid(line).shape == (1, 5, 6)
    assert "positions" not in open_grid(line).attrs
    uncalibrated = hs.signals.Signal1D(_cube(2, 5)[0])  # navigation units <undefined>
    uncalibrated.axes_manager.signal_axes[0].units = "V"
    assert open_grid(uncalibrated).attrs["positions"].startswith("pixel index")
    line.axes_manager.signal_axes[0].units = "s"
    with pytest.raises(FormatError, match=r"signal \(bias\) axis units 's' not understood"):
        open_grid(line)


def test_to_hyperspy_round_trip():
    bias = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])  # uneven: a non-uniform signal axis
    grid = make_grid(
        _cube(3, 4, 5),
        bias,
        x_nm=np.arange(4) * 0.25,
        y_nm=10 + np.arange(3) * 0.5,
        units="A",
        channel="LIA_Current",
        source="grid.sm4",
    )
    signal = to_hyperspy(grid)
    assert isinstance(signal, hs.signals.Signal1D) and signal.data.shape == (3, 4, 5)
    x_axis, y_axis = signal.axes_manager.navigation_axes
    assert (x_axis.name, x_axis.units, x_axis.scale) == ("x", "nm", 0.25)
    assert (y_axis.name, y_axis.offset, y_axis.scale) == ("y", 10.0, 0.5)
    np.testing.assert_allclose(signal.axes_manager.signal_axes[0].axis, bias)
    assert signal.metadata.Signal.quantity == "LIA_Current (A)"
    again = open_grid(signal)
    xr.testing.assert_allclose(again.drop_attrs(), grid.drop_attrs())
    for key in ("units", "channel", "source"):
        assert again.attrs[key] == grid.attrs[key]
    assert stswidgets.to_hyperspy is to_hyperspy


def test_to_hyperspy_without_hyperspy(monkeypatch):
    real_import = builtins.__import__

    def no_hyperspy(name, *args, **kwargs):
        if name.startswith("hyperspy"):
            raise ImportError("No module named 'hyperspy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_hyperspy)
    grid = make_grid(_cube(), np.arange(6.0))
    with pytest.raises(ImportError, match="to_hyperspy needs HyperSpy.*pip install hyperspy"):
        to_hyperspy(grid)


@pytest.mark.parametrize("bias_dim", ["bias", "V", "voltage", "energy", "Bias", "sample_bias"])
def test_dataarray_with_a_bias_like_dimension(bias_dim):
    data = _cube(3, 4, 6)
    array = xr.DataArray(
        data.transpose(2, 1, 0),  # (bias, col, row): any order
        dims=(bias_dim, "col", "row"),
        coords={
            bias_dim: (bias_dim, np.linspace(0.5, -0.5, 6), {"units": "V"}),
            "col": ("col", np.arange(4) * 2e-9, {"units": "m"}),
            "row": ("row", np.arange(3) * 1e-9, {"units": "m"}),
        },
        name="dIdV",
        attrs={"units": "a.u."},
    )
    grid = open_grid(array)
    # neither dim is named x/y: the first spatial dim in order is y ("col"), the second x
    assert grid.shape == (4, 3, 6)
    np.testing.assert_allclose(grid["bias"].values, np.linspace(-500, 500, 6))
    np.testing.assert_allclose(grid["y"].values, np.arange(4) * 2.0)
    np.testing.assert_allclose(grid.values, data.transpose(1, 0, 2)[..., ::-1])


def test_dataarray_with_named_x_y_and_a_line():
    data = _cube(3, 4, 6)
    array = xr.DataArray(
        data.transpose(1, 2, 0),
        dims=("X", "energy", "Y"),
        coords={"energy": ("energy", np.arange(6.0), {"units": "meV"}), "X": np.arange(4.0)},
    )
    with pytest.warns(UserWarning, match="no y coordinate; the pixel index"):
        grid = open_grid(array)
    assert grid.shape == (3, 4, 6)
    np.testing.assert_allclose(grid.values, data)
    np.testing.assert_allclose(grid["bias"].values, np.arange(6.0))
    line = xr.DataArray(
        data[0],
        dims=("position", "sample_bias"),
        coords={"sample_bias": ("sample_bias", np.arange(6.0), {"units": "mV"})},
    )
    with pytest.warns(UserWarning, match="no x coordinate"):
        assert open_grid(line).shape == (1, 4, 6)


def test_dataarray_errors():
    data = _cube(2, 2, 3)
    no_units = xr.DataArray(data, dims=("a", "b", "voltage"), coords={"voltage": [1.0, 2, 3]})
    with pytest.raises(FormatError, match="'voltage' needs a coordinate with a 'units' attr"):
        open_grid(no_units)
    two = xr.DataArray(data, dims=("bias", "V", "x"))
    with pytest.raises(FormatError, match=r"2 \('bias', 'V'\) bias dimension"):
        open_grid(two)
    many = xr.DataArray(
        data[None],
        dims=("t", "a", "b", "bias"),
        coords={"bias": ("bias", [1.0, 2, 3], {"units": "V"})},
    )
    with pytest.raises(FormatError, match="3 dimensions besides the bias"):
        open_grid(many)
