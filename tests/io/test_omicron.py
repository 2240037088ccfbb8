"""Omicron MATRIX Igor-wave reader: the shared real CITS file and waves written by ibw_files."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
from ibw_files import IBW_REAL, ibw2, ibw5
from nanonis_files import REAL_DIR, real_file

from stswidgets.io import open_grid
from stswidgets.io.errors import FormatError
from stswidgets.io.formats import HEAD_BYTES, detect_format, read_file
from stswidgets.io.omicron import looks_like, parse_note, read_ibw

NOTE = (
    "I(V) 1-1 Forward Up Trace\rSPM Volume CITS\rSample: test\r"
    "Spectroscopy points per line = {nx}, Lines per plane = {ny}\r"
    "Channel name and data unit: I(V) [A]\r"
    "Spectroscopy points per curve = {n}, axis start = -0.5, end = 0.5, unit = V\r"
)


@pytest.fixture(scope="module")
def cits():
    path = real_file("vendors/" + IBW_REAL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 400 complete spectra: no warning
        return path, read_ibw(path)


def test_real_cits_shape_bias_channel(cits):
    _, ds = cits
    assert list(ds.data_vars) == ["X (m)", "Y (m)", "I(V)", "valid"]
    assert ds["I(V)"].dims == ("y", "x", "bias")
    assert ds["I(V)"].shape == (20, 20, 150)
    assert ds["I(V)"].attrs["units"] == "A"
    assert ds["bias"].attrs["units"] == "V"
    np.testing.assert_allclose(ds["bias"].values[[0, -1]] * 1e3, [-500.0, 500.0], atol=1e-9)
    assert int(ds["valid"].sum()) == 400


def test_real_note_and_geometry(cits):
    _, ds = cits
    assert ds.attrs["note: Spectroscopy points per line"] == 20
    assert ds.attrs["note: Lines per plane"] == 20
    assert ds.attrs["note: Width"] == "9e-008 [m]"
    assert ds.attrs["configured_grid"] == "20 x 20"
    assert ds.attrs["n_missing_positions"] == 0
    assert ds.attrs["wave_name"] == "I(V) 110-2 Forward Up Trace"
    # 20 cell-centred pixels of a 90 nm frame: 4.5 nm pitch, centres from -42.75 to 42.75 nm
    np.testing.assert_allclose(ds["x"].values, -42.75 + 4.5 * np.arange(20), atol=1e-6)
    np.testing.assert_allclose(ds["y"].values, -42.75 + 4.5 * np.arange(20), atol=1e-6)
    assert ds["x"].attrs["units"] == "nm"
    assert ds.attrs["scan_width_nm"] == pytest.approx(90.0)  # the note's Width
    assert ds.attrs["scan_height_nm"] == pytest.approx(90.0)


def test_real_values_match_igor2(cits):
    """Independent of the reader's transposes: igor2's (x, y, V) array, y and x swapped."""
    from igor2 import binarywave

    path, ds = cits
    wave = binarywave.load(str(path))["wave"]["wData"]
    np.testing.assert_allclose(ds["I(V)"].values, wave.transpose(1, 0, 2), rtol=1e-6)


def test_real_through_the_registry(cits):
    path, ds = cits
    assert looks_like(path.read_bytes()[:HEAD_BYTES])
    assert detect_format(path).module == "stswidgets.io.omicron"
    assert read_file(path)["I(V)"].shape == ds["I(V)"].shape


def test_real_open_grid_default_is_derivative_of_current(cits):
    _, ds = cits
    grid = open_grid(ds)
    assert grid.attrs["channel"] == "d(I(V))/dV"


@pytest.mark.parametrize(
    "other",
    [
        "rhk_dIdV_9K_ABC6_grid.sm4",
        "nanosurf_tarzan_specmap15.nid",
        "createc_Ag_corral_complete.specgrid",
    ],
)
def test_looks_like_rejects_other_vendors(other):
    assert not looks_like(real_file("vendors/" + other).read_bytes()[:HEAD_BYTES])


def test_looks_like_rejects_nanonis_and_text():
    assert not looks_like(b'Grid dim="30 x 30"\r\n' * 20)
    assert not looks_like(b"\x05\x00" + bytes(500))  # version 5 but no valid header sizes
    assert not looks_like(b"")
    path = REAL_DIR / "nanonis_grid_lockin_30x30.3ds"
    if path.is_file():
        assert not looks_like(path.read_bytes()[:HEAD_BYTES])


# ---- synthetic waves ---------------------------------------------------------------------


def _cube(nx=4, ny=3, n=9) -> np.ndarray:
    """Values ``(x, y, V)`` (Igor order) that tell every index apart, currents in nA."""
    i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(n), indexing="ij")
    return (1.0 + i + 10.0 * j + 0.01 * (k - n // 2) ** 3) * 1e-9


def _cits(tmp_path, values, name="cits.ibw", nx=4, ny=3, **kwargs):
    n = values.shape[-1]
    note = kwargs.pop("note", NOTE.format(nx=nx, ny=ny, n=n))
    return ibw5(
        tmp_path / name,
        values,
        offsets=(-1.5e-9, 2e-9, -0.5),
        steps=(1e-9, 1e-9, 1.0 / (n - 1)),
        note=note,
        **kwargs,
    )


def test_cits_axes_and_order(tmp_path):
    values = _cube()
    ds = read_ibw(_cits(tmp_path, values))
    assert ds["I(V)"].shape == (3, 4, 9)
    # pixel (y=j, x=i) holds values[i, j]
    np.testing.assert_allclose(ds["I(V)"].values[2, 1], values[1, 2], rtol=1e-6)
    np.testing.assert_allclose(ds["x"].values, [-1.5, -0.5, 0.5, 1.5], atol=1e-9)
    np.testing.assert_allclose(ds["y"].values, [2.0, 3.0, 4.0], atol=1e-9)
    np.testing.assert_allclose(ds["bias"].values, np.linspace(-0.5, 0.5, 9))
    assert ds["X (m)"].values[0, 3] == pytest.approx(1.5e-9)
    assert looks_like(_cits(tmp_path, values).read_bytes()[:HEAD_BYTES])


def test_big_endian_wave(tmp_path):
    values = _cube().astype(np.float32)
    path = _cits(tmp_path, values, name="mac.ibw", order=">")
    assert path.read_bytes()[:2] == b"\x00\x05"
    assert looks_like(path.read_bytes())
    ds = read_ibw(path)
    np.testing.assert_allclose(ds["I(V)"].values, values.transpose(1, 0, 2), rtol=1e-6)


def test_bias_dimension_found_by_its_unit(tmp_path):
    values = _cube()
    moved = np.moveaxis(values, 2, 0)  # (V, x, y)
    path = ibw5(
        tmp_path / "vfirst.ibw",
        moved,
        offsets=(-0.5, 0.0, 0.0),
        steps=(0.125, 1e-9, 1e-9),
        units=("V", "m", "m"),
    )
    ds = read_ibw(path)
    assert ds["I(V)"].shape == (3, 4, 9)
    np.testing.assert_allclose(ds["I(V)"].values, values.transpose(1, 0, 2), rtol=1e-6)


def test_line_and_single_curve_open_as_one_row(tmp_path):
    line = _cube()[:, 0, :]  # (x, V)
    path = ibw5(
        tmp_path / "line.ibw",
        line,
        offsets=(0.0, -0.5),
        steps=(2e-9, 0.125),
        units=("m", "V"),
        name="I(V) 3-1 Forward Up Trace",
    )
    ds = read_ibw(path)
    assert ds["I(V)"].shape == (1, 4, 9)
    np.testing.assert_allclose(ds["x"].values, [0.0, 2.0, 4.0, 6.0], atol=1e-9)
    np.testing.assert_allclose(ds["I(V)"].values[0], line, rtol=1e-6)
    curve = ibw5(tmp_path / "curve.ibw", line[0], offsets=(-0.5,), steps=(0.125,), units=("V",))
    ds = read_ibw(curve)
    assert ds["I(V)"].shape == (1, 1, 9)


def test_curves_without_units_are_columns(tmp_path):
    """A 2D wave without a voltage unit: one curve per column (Igor's layout), bias first."""
    curves = _cube()[:, :, 0].T  # (3 points, 4 curves)
    path = ibw5(tmp_path / "set.ibw", curves, offsets=(-1.0, 0.0), steps=(1.0, 1.0), units=("", ""))
    ds = read_ibw(path)
    assert ds["I(V)"].shape == (1, 4, 3)
    np.testing.assert_allclose(ds["I(V)"].values[0], curves.T, rtol=1e-6)
    np.testing.assert_allclose(ds["bias"].values, [-1.0, 0.0, 1.0])


def test_version2_curve(tmp_path):
    curve = np.linspace(-1e-9, 1e-9, 7)
    path = ibw2(tmp_path / "v2.ibw", curve, start=-0.3, step=0.1)
    assert looks_like(path.read_bytes())
    ds = read_ibw(path)
    assert ds.attrs["igor_version"] == 2
    np.testing.assert_allclose(ds["curve"].values[0, 0], curve, rtol=1e-6)
    np.testing.assert_allclose(ds["bias"].values, np.linspace(-0.3, 0.3, 7))


def test_aborted_and_empty_spectra_are_invalid(tmp_path):
    values = _cube()
    values[1, 0, 6:] = 0.0  # cut off: zeros to the end
    values[2, 2, :] = 0.0  # never measured
    values[3, 1, 4] = np.nan
    path = _cits(tmp_path, values)
    with pytest.warns(UserWarning, match="3 of 12 spectra incomplete"):
        ds = read_ibw(path)
    invalid = ~ds["valid"].values
    assert invalid[0, 1] and invalid[2, 2] and invalid[1, 3] and invalid.sum() == 3
    assert np.isnan(ds["I(V)"].values[0, 1, 6:]).all()
    np.testing.assert_allclose(ds["I(V)"].values[0, 1, :6], values[1, 0, :6], rtol=1e-6)
    with pytest.raises(FormatError, match=r"cits\.ibw.*incomplete"):
        read_ibw(path, strict=True)


def test_zero_ends_shared_by_most_curves_are_signal(tmp_path):
    values = _cube()
    values[..., -2:] = 0.0  # every curve ends below one digitiser step (a sweep ending at 0 V)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_ibw(_cits(tmp_path, values))
    assert bool(ds["valid"].all())
    assert (ds["I(V)"].values[..., -2:] == 0).all()


def test_long_zero_ends_shared_by_every_curve_are_cut(tmp_path):
    """A third of every curve zeroed (a damaged end of the payload) is no signal at zero."""
    values = _cube()
    values[..., -3:] = 0.0
    with pytest.warns(UserWarning, match=r"cits\.ibw: 12 of 12 spectra incomplete.*12 end in a "):
        ds = read_ibw(_cits(tmp_path, values))
    assert not ds["valid"].values.any()
    assert np.isnan(ds["I(V)"].values[..., -3:]).all()
    np.testing.assert_allclose(ds["I(V)"].values[..., :6], values.transpose(1, 0, 2)[..., :6])


def test_wave_of_zeros_is_no_data(tmp_path):
    with pytest.raises(FormatError, match=r"zeros\.ibw.*only zeros"):
        read_ibw(_cits(tmp_path, np.zeros((4, 3, 9)), name="zeros.ibw"))


def test_stripped_lines_of_the_configured_grid(tmp_path):
    values = _cube()  # 3 lines in the wave, the note configures 5
    path = _cits(tmp_path, values, note=NOTE.format(nx=4, ny=5, n=9))
    with pytest.warns(UserWarning, match="8 of 20 spectra incomplete"):
        ds = read_ibw(path)
    assert ds["I(V)"].shape == (5, 4, 9)
    assert ds.attrs["n_missing_positions"] == 8
    np.testing.assert_array_equal(ds["valid"].values.all(axis=1), [True] * 3 + [False] * 2)
    np.testing.assert_allclose(ds["y"].values, [2.0, 3.0, 4.0, 5.0, 6.0], atol=1e-9)


def test_retrace_with_descending_bias(tmp_path):
    values = _cube()[..., ::-1]
    path = ibw5(
        tmp_path / "retrace.ibw",
        values,
        offsets=(0.0, 0.0, 0.5),
        steps=(1e-9, 1e-9, -0.125),
        name="I(V) 1-1 Forward Up Retrace",
    )
    ds = read_ibw(path)
    assert "I(V) [bwd]" in ds
    assert ds["bias"].values[0] == pytest.approx(0.5)
    grid = open_grid(ds, channel="I(V) [bwd]")
    np.testing.assert_allclose(grid["bias"].values, np.linspace(-500, 500, 9))
    np.testing.assert_allclose(grid.values, _cube().transpose(1, 0, 2), rtol=1e-6)


def test_truncated_and_damaged_files_name_the_file(tmp_path):
    path = _cits(tmp_path, _cube())
    data = path.read_bytes()
    path.write_bytes(data[:-200])
    with pytest.raises(FormatError, match=r"cits\.ibw.*truncated"):
        read_ibw(path)
    damaged = bytearray(data)
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(FormatError, match=r"cits\.ibw.*checksum"):
        read_ibw(path)


def test_dimensions_not_holding_the_values_are_refused(tmp_path, caplog):
    """nDim damaged (checksum still right): FormatError before igor2, which would log the
    whole data buffer as an error."""
    path = _cits(tmp_path, _cube())
    damaged = bytearray(path.read_bytes())
    struct.pack_into("<i", damaged, 64 + 68, 5)  # nx 4 -> 5: 5 x 3 x 9 != 4 x 3 x 9 values
    struct.pack_into("<h", damaged, 2, 0)
    total = int(np.frombuffer(bytes(damaged[:384]), "<i2").astype(np.int64).sum())
    struct.pack_into("<h", damaged, 2, ((-total + 32768) % 65536) - 32768)
    path.write_bytes(bytes(damaged))
    with pytest.raises(FormatError, match=r"cits\.ibw: the wave's dimensions 5 x 3 x 9"):
        read_ibw(path)
    assert not [r for r in caplog.records if r.name.startswith("igor2")]


def test_parse_note_items():
    attrs = parse_note("Scan Sub-Grid X = 20, Y = 20\rWidth = 9e-008 [m]\rSample: Ta2NiSe5")
    assert attrs["note: Scan Sub-Grid X"] == 20
    assert attrs["note: Width"] == "9e-008 [m]"
    assert attrs["note: Sample"] == "Ta2NiSe5"


def test_real_dataset_writes_to_netcdf(cits, tmp_path):
    import xarray as xr

    _, ds = cits
    ds.to_netcdf(tmp_path / "cits.nc", engine="scipy")
    back = xr.load_dataset(tmp_path / "cits.nc", engine="scipy")
    np.testing.assert_array_equal(back["I(V)"].values, ds["I(V)"].values)
    assert back.attrs["note: Lines per plane"] == 20
