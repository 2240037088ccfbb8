"""open_spectra / open_measurement: spectra off a grid, the channel chosen as for grids,
series of files (order, positions, geometry, bias check), and open_grid refusing spectra."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import stswidgets
from stswidgets.io import FormatError, open_grid, open_measurement, open_spectra, read_3ds

DIMS = ("spectrum", "bias")


def _reader_dataset(n=4, bias_V=None, *, x_m=None, y_m=None, seed=0, phase_deg=30.0):
    """Like a point-spectroscopy reader's Dataset: a current, its lock-in X/Y at a phase."""
    bias_V = np.linspace(0.5, -0.5, 41) if bias_V is None else bias_V
    rng = np.random.default_rng(seed)
    gap = rng.uniform(0.1, 0.2, size=(n, 1))
    current = 1e-10 * np.tanh(bias_V / gap) + 1e-13 * rng.normal(size=(n, bias_V.size))
    didv = np.gradient(current, bias_V, axis=1)
    a = np.deg2rad(phase_deg)
    noise = 1e-12 * rng.normal(size=didv.shape)
    data_vars = {
        "Current": (DIMS, current, {"units": "A", "channel": "Current (A)"}),
        "LIX": (DIMS, didv * np.cos(a) + noise, {"units": "V", "channel": "LIX (V)"}),
        "LIY": (DIMS, didv * np.sin(a) - noise, {"units": "V", "channel": "LIY (V)"}),
    }
    x_m = np.arange(n) * 2e-9 if x_m is None else np.asarray(x_m)
    y_m = np.full(n, 7e-9) if y_m is None else np.asarray(y_m)
    coords = {
        "bias": ("bias", bias_V, {"units": "V"}),
        "x": ("spectrum", x_m, {"units": "m"}),
        "y": ("spectrum", y_m, {"units": "m"}),
    }
    return xr.Dataset(data_vars, coords=coords, attrs={"Bias>Bias (V)": 0.3})


def test_lockin_choice_is_the_grids():
    dataset = _reader_dataset()
    spectra = open_spectra(dataset)
    grid_dataset = dataset.drop_vars(["x", "y"]).rename_dims({"spectrum": "x"})
    grid_dataset = grid_dataset.expand_dims("y").transpose("y", "x", "bias")
    grid = open_grid(grid_dataset)
    assert spectra.dims == DIMS and spectra.shape == (4, 41)
    assert spectra.attrs["lockin_phase_deg"] == pytest.approx(30.0, abs=1.0)
    assert spectra.attrs["lockin_phase_deg"] == grid.attrs["lockin_phase_deg"]
    assert spectra.attrs["channel"] == grid.attrs["channel"]
    np.testing.assert_array_equal(spectra.values, grid.values[0])
    np.testing.assert_allclose(spectra["bias"].values, np.linspace(-500, 500, 41))
    # an independent computation: the in-phase signal along the ascending bias
    a = np.deg2rad(spectra.attrs["lockin_phase_deg"])
    expected = dataset["LIX"].values * np.cos(a) + dataset["LIY"].values * np.sin(a)
    np.testing.assert_allclose(spectra.values, expected[:, ::-1], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(spectra["x"].values, [0.0, 2.0, 4.0, 6.0])
    np.testing.assert_allclose(spectra["y"].values, 7.0)
    assert spectra.attrs["geometry"] == "line" and spectra.attrs["setpoint_bias_mV"] == 300.0
    np.testing.assert_allclose(spectra["distance"].values, [0.0, 2.0, 4.0, 6.0])
    assert "scan_width_nm" not in spectra.attrs and "positions" not in spectra.attrs


def test_current_alone_gives_its_derivative():
    dataset = _reader_dataset()[["Current"]]
    spectra = open_spectra(dataset)
    bias_V = np.linspace(-0.5, 0.5, 41)
    expected = np.gradient(dataset["Current"].values[:, ::-1], bias_V, axis=1)
    np.testing.assert_allclose(spectra.values, expected, rtol=1e-5)
    assert spectra.attrs["units"] == "A/V" and "numerical derivative" in spectra.attrs["derived"]


def test_direction_and_repetition_averages():
    dataset = _reader_dataset(n=4, x_m=np.zeros(4), y_m=np.zeros(4))[["Current"]]
    dataset["Current [bwd]"] = dataset["Current"] * 3
    dataset = dataset.assign_coords(repetition=("spectrum", [0, 1, 2, 3]))
    dataset.attrs["geometry"] = "repeats"
    plain = open_spectra(dataset, channel="Current")
    assert plain.attrs["geometry"] == "repeats" and plain.sizes["spectrum"] == 4
    both = open_spectra(dataset, channel="Current", average=["direction", "repetition"])
    expected = (2 * dataset["Current"].values[:, ::-1]).mean(axis=0)
    np.testing.assert_allclose(both.values[0], expected, rtol=1e-6)
    assert both.shape == (1, 41) and both.attrs["geometry"] == "points"
    with pytest.raises(ValueError, match="average='sideways'"):
        open_spectra(dataset, average="sideways")


def test_open_grid_points_to_open_spectra(tmp_path):
    path = tmp_path / "points.nc"
    _reader_dataset().to_netcdf(path)
    with pytest.raises(FormatError, match=r"points\.nc holds 4 spectra .*open_spectra"):
        open_grid(path)
    spectra = open_measurement(path)
    assert spectra.dims == DIMS and spectra.attrs["source"] == str(path)


def test_open_measurement_gives_a_grid_for_a_grid(line_32x1):
    grid = open_measurement(line_32x1)
    assert grid.dims == ("y", "x", "bias") and grid.shape == (1, 32, 401)
    with pytest.raises(FormatError, match="open_grid"):
        open_spectra(line_32x1)


def test_real_line_as_spectra_matches_the_grid(line_32x1):
    """The 32-pixel line grid read as 32 spectra: the same channel, phase and values."""
    ds = read_3ds(line_32x1)
    line = ds.isel(y=0)
    as_points = xr.Dataset(
        {
            name: (DIMS, var.transpose("x", "bias").values, var.attrs)
            for name, var in line.data_vars.items()
            if set(var.dims) == {"x", "bias"}
        },
        coords={
            "bias": line["bias"],
            "x": ("spectrum", line["x"].values, line["x"].attrs),
            "y": ("spectrum", np.zeros(32), {"units": "nm"}),
        },
        attrs=ds.attrs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = open_grid(line_32x1)
        spectra = open_spectra(as_points)
    assert spectra.attrs["channel"] == grid.attrs["channel"]
    assert spectra.attrs["lockin_phase_deg"] == grid.attrs["lockin_phase_deg"]
    np.testing.assert_array_equal(spectra.values, grid.values[0])
    assert spectra.attrs["geometry"] == "line"


def _write_series(folder, n=5, *, step_m=8.333e-9):
    folder.mkdir()
    paths = []
    for i in range(n):
        ds = _reader_dataset(1, x_m=[-982.428e-9 + i * step_m], y_m=[612.279e-9], seed=i)
        path = folder / f"Bias-Spectroscopy{45 + i:05d}.nc"
        ds.to_netcdf(path)
        paths.append(path)
    (folder / "README.md").write_text("not a spectrum")
    return paths


def test_series_in_a_folder_is_a_line_ordered_by_number(tmp_path):
    paths = _write_series(tmp_path / "series")
    spectra = open_spectra(tmp_path / "series")
    assert spectra.shape == (5, 41) and spectra.attrs["geometry"] == "line"
    assert list(spectra["file"].values) == [str(p) for p in paths]
    np.testing.assert_allclose(spectra["x"].values, -982.428 + 8.333 * np.arange(5), atol=1e-9)
    np.testing.assert_allclose(spectra["distance"].values, 8.333 * np.arange(5), atol=1e-9)
    np.testing.assert_allclose(spectra["y"].values, 612.279)
    by_list = open_spectra(list(reversed(paths)))  # ordered by number, not as given
    np.testing.assert_array_equal(by_list.values, spectra.values)
    by_glob = open_spectra(str(tmp_path / "series" / "Bias-Spectroscopy0004*.nc"))
    assert by_glob.sizes["spectrum"] == 5
    # a channel as recorded: the series' first spectrum is its first file's (the in-phase
    # signal's phase is fitted on all the spectra read together, so it may differ a little)
    first = open_spectra(paths[0], channel="LIX")
    series = open_spectra(paths, channel="LIX")
    np.testing.assert_array_equal(first.values[0], series.values[0])
    assert first.attrs["geometry"] == "points"  # one spectrum


def test_series_at_one_spot_is_repeats(tmp_path):
    _write_series(tmp_path / "spot", n=3, step_m=0.0)
    assert open_spectra(tmp_path / "spot").attrs["geometry"] == "repeats"


def test_series_file_with_another_bias_axis_is_named(tmp_path):
    paths = _write_series(tmp_path / "series", n=3)
    odd = _reader_dataset(1, bias_V=np.linspace(0.5, -0.5, 31))
    odd.to_netcdf(paths[1], mode="w")
    with pytest.raises(FormatError, match=r"Bias-Spectroscopy00046\.nc: its bias axis"):
        open_spectra(paths)


def test_series_damaged_file_is_named(tmp_path):
    paths = _write_series(tmp_path / "series", n=3)
    data = paths[2].read_bytes()
    paths[2].write_bytes(data[: len(data) // 3])
    with pytest.raises(FormatError, match=r"Bias-Spectroscopy00047\.nc"):
        open_spectra(tmp_path / "series")


def test_missing_paths():
    with pytest.raises(FileNotFoundError, match="no file matches"):
        open_spectra("/nonexistent/folder/*.dat")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_spectra(["/nonexistent/a.dat"])


def test_public_names():
    assert stswidgets.open_spectra is open_spectra
    assert stswidgets.spectra.SPECTRA_DIMS == DIMS
