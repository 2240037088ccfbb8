"""Createc .specgrid reader: the real file (facts measured on its bytes) and synthetic cases."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from createc_files import (
    CREATEC_REAL,
    VENDORS,
    iv_spectra,
    ramp,
    specgrid_bytes,
    write_companion,
    write_specgrid,
)
from nanonis_files import GRID_30, LINE_32, REAL_DIR, real_file

from stswidgets.io import FormatError, open_grid, save_grid
from stswidgets.io.createc import looks_like, read_specgrid
from stswidgets.io.formats import detect_format, read_file

OTHER_VENDORS = (
    "rhk_dIdV_9K_ABC6_grid.sm4",
    "omicron_Ta2NiSe5_cits20_IV_fwd_up.ibw",
    "nanosurf_tarzan_specmap15.nid",
)


@pytest.fixture
def real():
    return real_file(f"vendors/{CREATEC_REAL}")


def _raw(path):
    """Header-independent view of the real file: 1024 + 521 x 3 table, 25 x 521 x 3 spectra."""
    data = np.fromfile(path, dtype="<f4")
    table = data[256 : 256 + 521 * 3].reshape(521, 3)
    return table, data[256 + 521 * 3 :].reshape(25, 521, 3)


# --- the real file ------------------------------------------------------------------------


def test_real_file_shape_bias_channels_and_header(real):
    ds = read_specgrid(real)
    table, spectra = _raw(real)
    assert ds["Current"].dims == ("y", "x", "bias")
    assert ds["Current"].shape == (5, 5, 501)
    assert [name for name, var in ds.data_vars.items() if var.ndim == 3] == ["Current"]
    assert ds["Current"].attrs["units"] == "ADC"
    assert ds.attrs["empty_channels"] == "Lock-in X; Lock-in X(2f)"
    assert ds.attrs["n_settling_points"] == 20
    assert ds["bias"].attrs["units"] == "mV"
    assert ds["bias"].values[0] == pytest.approx(20 - 40 / 501, abs=1e-4)
    assert ds["bias"].values[-1] == pytest.approx(-20.0)
    np.testing.assert_array_equal(ds["bias"].values, table[20:, 0])
    assert int(ds["valid"].sum()) == 25
    assert ds.attrs["version"] == 4400 and ds.attrs["vertpoints"] == 521
    assert ds.attrs["specgridchan"] == 3 and ds.attrs["specgridchannelselectval"] == 7
    assert ds.attrs["setpoint_bias_mV"] == 20.0
    assert ds.attrs["setpoint_current_A"] == pytest.approx(2e-9)
    assert ds.attrs["vendor"] == "Createc" and ds.attrs["format"] == "Createc specgrid"
    # point 7 is x=2 of row 1 (x fastest); channel 0 after the 20-sample hold
    np.testing.assert_array_equal(ds["Current"].values[1, 2], spectra[7, 20:, 0])
    assert not spectra[:, :, 1:].any()  # the left-out slots really are all zeros
    assert ds.attrs["positions"] == "pixel index (no .specgrid.dat beside the file)"
    assert ds["x"].attrs["units"] == "pixel"
    np.testing.assert_array_equal(ds["x"].values, np.arange(5))
    assert np.isnan(ds.attrs["scan_width_nm"])


def test_real_file_dataset_saves_as_netcdf(real, tmp_path):
    ds = read_specgrid(real)
    ds.to_netcdf(tmp_path / "createc.nc")
    with xr.open_dataset(tmp_path / "createc.nc") as back:
        np.testing.assert_array_equal(back["Current"].values, ds["Current"].values)
        assert back.attrs["empty_channels"] == ds.attrs["empty_channels"]


def test_looks_like_only_createc(real):
    assert looks_like(real.read_bytes()[:4096])
    others = [VENDORS / name for name in OTHER_VENDORS] + [REAL_DIR / GRID_30, REAL_DIR / LINE_32]
    for path in others:
        assert not looks_like(path.read_bytes()[:4096]), path.name
    assert not looks_like(b"")
    assert not looks_like(b'Grid dim="5 x 5"\r\n' + bytes(2000))


def test_formats_registry_reads_it(real):
    assert detect_format(real).name == "Createc specgrid"
    assert read_file(real)["Current"].shape == (5, 5, 501)


def test_open_grid_is_the_derivative_of_the_current(real, tmp_path):
    grid = open_grid(read_specgrid(real))
    table, spectra = _raw(real)
    bias = table[20:, 0].astype(float)[::-1]  # ascending
    current = spectra[:, 20:, 0].astype(float)[:, ::-1].reshape(5, 5, 501)
    expected = np.gradient(current, bias / 1e3, axis=-1)
    assert grid.shape == (5, 5, 501)
    assert grid["bias"].values[0] == pytest.approx(-20.0)
    assert grid["bias"].values[-1] == pytest.approx(19.92, abs=1e-3)
    assert np.all(np.diff(grid["bias"].values) > 0)
    assert grid.attrs["channel"] == "d(Current)/dV" and grid.attrs["units"] == "ADC/V"
    np.testing.assert_allclose(grid.values, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_array_equal(grid["x"].values, np.arange(5))  # pixel index as 1 nm/pixel
    assert np.isnan(grid.attrs["scan_width_nm"])
    reread = open_grid(save_grid(grid, tmp_path / "createc.nc"))
    np.testing.assert_array_equal(reread.values, grid.values)


def test_open_grid_reads_the_path(real):
    assert open_grid(real).shape == (5, 5, 501)


# --- synthetic files ----------------------------------------------------------------------


def test_settling_hold_dropped_and_values_in_place(tmp_path):
    bias = ramp(5, 10.0, -10.0, 40)
    spectra = iv_spectra(6, bias)
    ds = read_specgrid(write_specgrid(tmp_path / "a.specgrid", spectra, bias, 3, 2))
    assert ds.attrs["n_settling_points"] == 5
    np.testing.assert_allclose(ds["bias"].values, bias[5:])
    np.testing.assert_allclose(ds["Current"].values.reshape(6, 40), spectra[:, 5:, 0], rtol=1e-6)
    assert ds.attrs["empty_channels"] == "Lock-in X; Lock-in X(2f)"
    assert ds["valid"].values.all()


def test_reversed_sweep_without_hold(tmp_path):
    bias = np.linspace(-10.0, 10.0, 41)
    spectra = iv_spectra(4, bias)
    ds = read_specgrid(write_specgrid(tmp_path / "r.specgrid", spectra, bias, 2, 2))
    assert ds.attrs["n_settling_points"] == 0
    np.testing.assert_allclose(ds["bias"].values, bias)
    grid = open_grid(ds)
    np.testing.assert_allclose(grid["bias"].values, bias.astype(np.float32), rtol=1e-6)
    expected = np.gradient(spectra[:, :, 0].reshape(2, 2, 41), bias / 1e3, axis=-1)
    np.testing.assert_allclose(grid.values, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())


def test_sweep_there_and_back_gives_a_bwd_channel(tmp_path):
    there = np.linspace(5.0, -5.0, 21)[1:]  # Vertman: the ramp starts a step after the hold
    for back in (there[::-1], there[::-1][1:]):  # turning point recorded twice / once
        bias = np.concatenate([np.full(3, 5.0), there, back])
        spectra = iv_spectra(4, bias, n_channels=1)
        ds = read_specgrid(write_specgrid(tmp_path / "fb.specgrid", spectra, bias, 2, 2))
        assert list(ds.data_vars) == ["Current", "Current [bwd]", "valid"]
        np.testing.assert_allclose(ds["bias"].values, there)
        start = 3 + there.size
        returned = spectra[:, start - (back.size < there.size) :, 0][:, ::-1]
        np.testing.assert_allclose(ds["Current [bwd]"].values.reshape(4, 20), returned, rtol=1e-6)
        assert ds.attrs["n_settling_points"] == 3


def test_lockin_slots_with_data_are_kept_and_named(tmp_path):
    bias = ramp(2, 5.0, -5.0, 20)
    spectra = iv_spectra(4, bias, n_channels=3)
    spectra[:, :, 1] = 7.0  # a lock-in X that recorded something
    ds = read_specgrid(write_specgrid(tmp_path / "l.specgrid", spectra, bias, 2, 2))
    assert [n for n, v in ds.data_vars.items() if v.ndim == 3] == ["Current", "Lock-in X"]
    assert ds["Lock-in X"].attrs["channel"] == "Lock-in X"
    assert ds.attrs["empty_channels"] == "Lock-in X(2f)"
    # a mask that does not name every channel: generic names
    ds = read_specgrid(write_specgrid(tmp_path / "m.specgrid", spectra, bias, 2, 2, mask=1))
    assert "Channel 1" in ds and ds.attrs["empty_channels"] == "Channel 2"


def test_aborted_grid_fewer_spectra_written(tmp_path):
    bias = ramp(3, 5.0, -5.0, 20)
    spectra = iv_spectra(7, bias)  # 7 of a 3 x 3 grid
    path = write_specgrid(tmp_path / "ab.specgrid", spectra, bias, 3, 3)
    with pytest.warns(UserWarning, match=r"ab\.specgrid: aborted grid, 2 of 9 spectra"):
        ds = read_specgrid(path)
    expected = np.ones((3, 3), dtype=bool)
    expected[2, 1:] = False
    np.testing.assert_array_equal(ds["valid"].values, expected)
    assert np.isnan(ds["Current"].values[2, 1:]).all()
    np.testing.assert_allclose(ds["Current"].values[2, 0], spectra[6, 3:, 0], rtol=1e-6)
    with pytest.raises(FormatError, match="ab.specgrid: aborted grid"):
        read_specgrid(path, strict=True)


def test_spectra_zero_after_a_point_are_invalid(tmp_path):
    bias = ramp(3, 5.0, -5.0, 20)
    spectra = iv_spectra(4, bias)
    spectra[1, 15:] = 0.0  # stopped after 15 samples
    spectra[3] = 0.0  # never measured, but written
    path = write_specgrid(tmp_path / "z.specgrid", spectra, bias, 2, 2)
    with pytest.warns(UserWarning, match="2 of 4 spectra incomplete"):
        ds = read_specgrid(path)
    np.testing.assert_array_equal(ds["valid"].values, [[True, False], [True, False]])
    current = ds["Current"].values
    np.testing.assert_allclose(current[0, 1, :12], spectra[1, 3:15, 0], rtol=1e-6)
    assert np.isnan(current[0, 1, 12:]).all() and np.isnan(current[1, 1]).all()
    assert ds.attrs["empty_channels"] == "Lock-in X; Lock-in X(2f)"


def test_truncated_payload_names_the_file(tmp_path):
    bias = ramp(3, 5.0, -5.0, 20)
    spectra = iv_spectra(4, bias)
    data = specgrid_bytes(spectra, bias, 2, 2)
    path = tmp_path / "cut.specgrid"
    one_spectrum = bias.size * 3 * 4
    for size in (len(data) - 3 * one_spectrum - 10, 1024 + 50, 600):
        path.write_bytes(data[:size])
        with pytest.raises(FormatError, match=r"cut\.specgrid"):
            read_specgrid(path)


def test_file_cut_inside_a_spectrum_keeps_the_whole_ones(tmp_path):
    """Cut 10 bytes into the last spectrum's samples: three spectra whole, the fourth up to
    its last whole sample (3 channels x 4 bytes per sample), then NaN."""
    bias = ramp(3, 5.0, -5.0, 20)
    spectra = iv_spectra(4, bias)
    data = specgrid_bytes(spectra, bias, 2, 2)
    path = tmp_path / "cut.specgrid"
    path.write_bytes(data[: len(data) - 12 * 15 - 10])  # 15 samples and 10 bytes missing
    with pytest.warns(UserWarning, match=r"cut\.specgrid: .*1 of 4 .*ends inside spectrum 4"):
        ds = read_specgrid(path)
    np.testing.assert_array_equal(ds["valid"].values, [[True, True], [True, False]])
    current = ds["Current"].values
    np.testing.assert_allclose(current[:1].reshape(2, -1), spectra[:2, 3:, 0], rtol=1e-6)
    kept = bias.size - 16 - 3  # whole samples of spectrum 4 after the 3-sample hold
    np.testing.assert_allclose(current[1, 1, :kept], spectra[3, 3 : 3 + kept, 0], rtol=1e-6)
    assert np.isnan(current[1, 1, kept:]).all()
    with pytest.raises(FormatError, match=r"cut\.specgrid: aborted grid"):
        read_specgrid(path, strict=True)


def test_constant_or_nan_bias_is_no_sweep(tmp_path):
    bias = np.full(10, 3.0)
    path = write_specgrid(tmp_path / "t.specgrid", iv_spectra(1, bias), bias, 1, 1)
    with pytest.raises(FormatError, match="t.specgrid: every sample"):
        read_specgrid(path)
    bias = np.linspace(1.0, -1.0, 10)
    bias[4] = np.nan
    path = write_specgrid(tmp_path / "t.specgrid", iv_spectra(1, bias), bias, 1, 1)
    with pytest.raises(FormatError, match="t.specgrid: the sweep table"):
        read_specgrid(path)


def test_two_column_sweep_table(tmp_path):
    bias = ramp(4, 8.0, -8.0, 32)
    spectra = iv_spectra(2, bias, n_channels=1)
    path = write_specgrid(tmp_path / "v2.specgrid", spectra, bias, 2, 1, table_columns=2)
    ds = read_specgrid(path)
    assert ds.attrs["sweep_table_columns"] == 2
    np.testing.assert_allclose(ds["bias"].values, bias[4:])
    np.testing.assert_allclose(ds["Current"].values[0, 1], spectra[1, 4:, 0], rtol=1e-6)


def test_companion_dat_gives_positions_in_nm(tmp_path):
    bias = ramp(2, 5.0, -5.0, 20)
    spectra = iv_spectra(6, bias)
    path = write_specgrid(
        tmp_path / "g.specgrid", spectra, bias, 3, 2, step=(10, 10), center=(50, 50),
        image=(100, 100),
    )  # fmt: skip
    entries = {
        "Titel / Titel": "corral",
        "Sec/line:": 0.5,
        "Num.X / Num.X": 100,
        "Num.Y / Num.Y": 100,
        "Length x[A]": 100.0,  # 0.1 nm per image pixel: the grid step is 1 nm
        "Length y[A]": 100.0,
        "Rotation / Rotation": 0,
        "Scanrotoffx / OffsetX": -1000,
        "Scanrotoffy / OffsetY": 0,
        "Dacto[A]xy": 0.001,  # in nm per DAC despite its name: -(-1000) DAC x 0.001 nm = 1 nm
    }
    write_companion(path, entries)
    ds = read_specgrid(path)
    np.testing.assert_allclose(ds["x"].values, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(ds["y"].values, [-0.5, 0.5])
    assert ds["x"].attrs["units"] == "nm"
    # the frame: pixels x pitch (3 x 1 nm, 2 x 1 nm), one pitch more than the centres span
    assert ds.attrs["scan_width_nm"] == pytest.approx(3.0)
    assert ds.attrs["scan_height_nm"] == pytest.approx(2.0)
    assert ds.attrs["scan_center_x_nm"] == pytest.approx(1.0)
    assert ds.attrs["dat_Titel"] == "corral" and ds.attrs["dat_Length_x_A"] == 100.0
    assert ds.attrs["positions"] == "from g.specgrid.dat"
    ds.to_netcdf(tmp_path / "g.nc")  # the attrs are netCDF-storable

    write_companion(path, {**entries, "Rotation / Rotation": 30.0})
    ds = read_specgrid(path)
    assert ds.attrs["scan_angle_deg"] == 30.0
    np.testing.assert_allclose(ds["x"].values, [-1.0, 0.0, 1.0])  # offsets along the grid axes
    grid = open_grid(ds)
    np.testing.assert_allclose(grid["x"].values, [-1.0, 0.0, 1.0])
    assert grid.attrs["scan_angle_deg"] == 30.0


def test_older_header_and_one_table_column_per_channel(tmp_path):
    bias = ramp(3, -6.0, 6.0, 30)
    spectra = iv_spectra(6, bias, n_channels=4, seed=3)
    spectra[:, :, 3] = 1.0 + bias  # an ADC0 input with data
    path = write_specgrid(
        tmp_path / "old.specgrid", spectra, bias, 3, 2, mask=0b1001, table_columns=4,
        grid_fields=False,
    )  # fmt: skip
    ds = read_specgrid(path)  # a mask that does not name 4 channels: generic names
    assert [n for n, v in ds.data_vars.items() if v.ndim == 3] == ["Current", "Channel 3"]
    path = write_specgrid(
        tmp_path / "old.specgrid", spectra, bias, 3, 2, mask=0b1111, table_columns=4,
        grid_fields=False,
    )  # fmt: skip
    ds = read_specgrid(path)
    assert ds.attrs["sweep_table_columns"] == 4
    assert ds["Current"].shape == (2, 3, 30)
    assert [n for n, v in ds.data_vars.items() if v.ndim == 3] == ["Current", "ADC0"]
    assert ds.attrs["empty_channels"] == "Lock-in X; Lock-in X(2f)"
    np.testing.assert_allclose(ds["ADC0"].values[1, 2], 1.0 + bias[3:], rtol=1e-6)


def test_companion_without_size_keeps_pixel_indices(tmp_path):
    bias = ramp(2, 5.0, -5.0, 20)
    path = write_specgrid(tmp_path / "n.specgrid", iv_spectra(4, bias), bias, 2, 2)
    write_companion(path, {"Titel / Titel": "no size", "Rotation / Rotation": 10})
    ds = read_specgrid(path)
    assert ds["x"].attrs["units"] == "pixel" and ds.attrs["dat_Titel"] == "no size"
    assert ds.attrs["positions"].startswith("pixel index (n.specgrid.dat gives no Length")
    assert np.isnan(ds.attrs["scan_width_nm"])


def test_damaged_grid_size_is_refused_before_allocating_it(tmp_path):
    """specgridnx with bit 22 flipped (2^22 + 2 columns): a FormatError, not a 2 GB array."""
    bias = ramp(3, 5.0, -5.0, 20)
    data = bytearray(specgrid_bytes(iv_spectra(4, bias), bias, 2, 2))
    data[92 + 2] ^= 1 << 6  # specgridnx, int32 slot 23, third byte
    path = tmp_path / "flip.specgrid"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"flip\.specgrid: the header declares a 4194306 x 2"):
        read_specgrid(path)
