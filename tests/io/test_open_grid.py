"""open_grid: channel choice, bias in mV ascending, derivative of Current, .npz/.nc files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from nanonis_files import header_lines, pixel_block, raw_3ds, synthetic_dataset

import stswidgets
from stswidgets.io import ChannelError, FormatError, open_grid, read_3ds, save_grid


def test_real_grid_default_is_the_in_phase_lockin(grid_30x30):
    ds = read_3ds(grid_30x30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the in-phase signal agrees well: no warning
        grid = open_grid(grid_30x30)
    assert grid.dims == ("y", "x", "bias") and grid.shape == (30, 30, 200)
    phase = grid.attrs["lockin_phase_deg"]
    assert grid.attrs["channel"] == (
        f"LockinX (V) cos({phase:g} deg) + LockinY (V) sin({phase:g} deg)"
    )
    assert grid.attrs["units"] == "V" and grid.attrs["source"] == str(grid_30x30)
    assert grid["bias"].values[0] == pytest.approx(-220.0)
    assert grid["bias"].values[-1] == pytest.approx(220.0)
    assert np.all(np.diff(grid["bias"].values) > 0)
    a = np.deg2rad(phase)
    expected = ds["LockinX"].values * np.cos(a) + ds["LockinY"].values * np.sin(a)
    np.testing.assert_allclose(grid.values, expected, rtol=1e-5, atol=1e-6)
    # the 8 spectra where LockinX sits at +10 V are kept
    assert grid.attrs["n_saturated_spectra"] == 8
    assert np.isfinite(grid.values).all()


def test_real_line_is_sorted_ascending(line_32x1):
    ds = read_3ds(line_32x1)
    grid = open_grid(line_32x1)
    phase = grid.attrs["lockin_phase_deg"]  # forward, the external lock-in's X/Y pair
    assert grid.attrs["channel"] == (
        f"7280DSP Lockin-X (%) cos({phase:g} deg) + 7280DSP Lockin-Y (%) sin({phase:g} deg)"
    )
    assert grid.shape == (1, 32, 401)
    assert grid["bias"].values[0] == pytest.approx(-4.0)
    assert grid["bias"].values[-1] == pytest.approx(2.0)
    a = np.deg2rad(phase)
    expected = ds["7280DSP Lockin-X"].values * np.cos(a) + ds["7280DSP Lockin-Y"].values * np.sin(a)
    np.testing.assert_allclose(grid.values, expected[..., ::-1], rtol=1e-5, atol=1e-5)


def test_channel_by_name_or_prefix(grid_30x30):
    assert open_grid(grid_30x30, channel="lockiny").attrs["channel"] == "LockinY (V)"
    assert open_grid(grid_30x30, channel="LockinY (V)").attrs["channel"] == "LockinY (V)"
    current = open_grid(grid_30x30, channel="Current")
    assert current.attrs["units"] == "A" and current.attrs["channel"] == "Current (A)"
    with pytest.raises(ChannelError, match=r"ambiguous.*'LockinX'.*'LockinY'"):
        open_grid(grid_30x30, channel="Lock")
    with pytest.raises(ChannelError, match=r"no channel 'dIdV'.*'Current', 'LockinX'"):
        open_grid(grid_30x30, channel="dIdV")


SWEEPS = ["LI Demod 1 X [00001]", "LI Demod 1 X [AVG]", "LI Demod 1 X [bwd]"]


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        (["LIY 1 omega [bwd]", "LIY 1 omega", "LIX 1 omega [bwd]", "LIX 1 omega"], "LIX 1 omega"),
        (["Bias", "LI Demod 1 Y", "LI Demod 1 X [bwd]"], "LI Demod 1 X [bwd]"),
        (SWEEPS, "LI Demod 1 X [AVG]"),
        (["Bias", "7280DSP Lockin-Y", "7280DSP Lockin-X"], "7280DSP Lockin-X"),
        (["LockinY", "LockinX"], "LockinX"),
        (["LIR 1 omega", "LIY 1 omega"], "LIR 1 omega"),
    ],
)
def test_default_channel_without_current(channels, expected):
    """Without a current, a forward X/Y pair at its principal axis, else the best-ranked output
    (the X component before the direction: forward Y loses to X [bwd]; R and Y are no pair)."""
    ds = synthetic_dataset(channels=tuple(f"{name} (A)" for name in channels))
    grid = open_grid(ds)
    quadrature = expected.replace("X", "Y")
    phase = grid.attrs["lockin_phase_deg"]
    if quadrature != expected and quadrature in channels:
        assert grid.attrs["channel"] == (
            f"{expected} (A) cos({phase:g} deg) + {quadrature} (A) sin({phase:g} deg)"
        )
    else:
        assert grid.attrs["channel"] == f"{expected} (A)" and np.isnan(phase)
    assert np.isnan(grid.attrs["channel_agreement"])  # no current to compare with


def test_derivative_of_current_without_lockin():
    bias_V = np.array([-0.02, -0.01, -0.004, 0.0, 0.003, 0.01, 0.02])  # uneven, on purpose
    ds = synthetic_dataset(bias_V=bias_V, channels=("Current (A)", "Current [bwd] (A)"))
    current = ds["Current"].values.astype(float)
    grid = open_grid(ds)
    assert grid.attrs["units"] == "A/V" and grid.name == "didv"
    assert grid.attrs["channel"] == "d(Current (A))/dV"
    expected = np.gradient(current, bias_V, axis=-1)
    np.testing.assert_allclose(grid.values, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grid["bias"].values, bias_V * 1e3)


def test_mls_grid_opens_with_its_segment_bias(tmp_path):
    key = "Segment Start (V), Segment End (V), Settling (s), Integration (s), Steps (xn)"
    header = header_lines(2, 1, 5, ["LIX 1 omega (A)"], extra=[("Filetype", "MLS")])
    header.append((key, "4E-3,0E+0,0,0,3;0E+0,-1E-3,0,0,3"))  # 4, 2, 0 then -0.5, -1 mV
    spectra = [np.broadcast_to(np.arange(5.0), (1, 2, 5))]
    path = raw_3ds(tmp_path / "mls.3ds", header, pixel_block(1, 2, (4e-3, -1e-3), spectra))
    grid = open_grid(path)
    np.testing.assert_allclose(grid["bias"].values, [-1.0, -0.5, 0.0, 2.0, 4.0], atol=1e-9)
    np.testing.assert_array_equal(grid.values[0, 0], [4.0, 3.0, 2.0, 1.0, 0.0])


def test_z_sweep_is_refused(tmp_path):
    header = header_lines(2, 1, 4, ["Current (A)"], signal="Z (m)")
    pixels = pixel_block(1, 2, (0.0, 1e-10), [np.ones((1, 2, 4))])
    path = raw_3ds(tmp_path / "z.3ds", header, pixels)
    assert read_3ds(path)["Current"].dims == ("y", "x", "Z")
    with pytest.raises(FormatError, match=r"z\.3ds sweeps Z.*needs a bias sweep"):
        open_grid(path)


def _grid():
    ds = synthetic_dataset(ny=3, nx=4)
    return open_grid(ds, channel="LIX")


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_saved_grid_round_trip(tmp_path, suffix):
    grid = _grid()
    path = save_grid(grid, tmp_path / f"grid{suffix}")
    again = open_grid(path)
    np.testing.assert_array_equal(again.values, grid.values)
    for dim in ("y", "x", "bias"):
        np.testing.assert_allclose(again[dim].values, grid[dim].values)
    assert again.attrs["units"] == "A" and again.attrs["channel"] == "LIX 1 omega (A)"
    assert again.attrs["source"] == str(path)
    with pytest.raises(FileExistsError):
        save_grid(grid, path)


def test_npz_layout_written_by_hand(tmp_path):
    rng = np.random.default_rng(1)
    didv = rng.normal(size=(2, 3, 4))
    path = tmp_path / "hand.npz"
    np.savez(
        path,
        didv=didv,
        bias_mV=np.array([3.0, 1.0, -1.0, -3.0]),
        x_nm=np.array([0.0, 0.5, 1.0]),
        y_nm=np.array([10.0, 11.0]),
        attrs=np.array(json.dumps({"units": "nS", "channel": "dI/dV"})),
    )
    grid = open_grid(path)
    np.testing.assert_allclose(grid["bias"].values, [-3.0, -1.0, 1.0, 3.0])
    np.testing.assert_allclose(grid.values, didv[..., ::-1].astype(np.float32))
    np.testing.assert_allclose(grid["y"].values, [10.0, 11.0])
    assert grid.attrs["units"] == "nS"


def test_netcdf_dataset_and_dataarray(tmp_path):
    grid = _grid()
    grid.to_dataset(name="didv").to_netcdf(tmp_path / "ds.nc")
    np.testing.assert_array_equal(open_grid(tmp_path / "ds.nc").values, grid.values)
    grid.rename(None).to_netcdf(tmp_path / "unnamed.nc")
    np.testing.assert_array_equal(open_grid(tmp_path / "unnamed.nc").values, grid.values)


def test_public_names_and_errors(tmp_path):
    assert stswidgets.open_grid is open_grid and stswidgets.FormatError is FormatError
    assert issubclass(ChannelError, ValueError)
    (tmp_path / "grid.txt").write_text("1 2 3")
    with pytest.raises(
        FormatError, match=r"grid\.txt.*unknown content.*Supported: Nanonis.*Createc specgrid"
    ):
        open_grid(tmp_path / "grid.txt")
    with pytest.raises(FileNotFoundError, match="missing.3ds"):
        open_grid(tmp_path / "missing.3ds")
