"""read_sm4 against the real RHK grid file and against SM4 files written here."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
from nanonis_files import real_file
from rhk_files import OTHER_VENDORS, REAL_DIR, RHK_GRID, SpecPage, grid_positions, write_sm4

from stswidgets.io import FormatError, absolute_positions, formats, open_grid, rhk, save_grid
from stswidgets.io.rhk import looks_like, read_sm4

N_POINTS = 6


def _raw(n_spectra: int, sign: int = 1) -> np.ndarray:
    """Spectrum s, point p holds 1000 s + p + 1 (never zero)."""
    spectra, points = np.indices((n_spectra, N_POINTS))
    return sign * (1000 * spectra + points + 1)


def _grid_file(tmp_path, nx=3, ny=2, per_position=1, n_spectra=None, name="g.sm4", **kw):
    positions = grid_positions(nx, ny, per_position, serpentine=kw.pop("serpentine", False))
    n_spectra = len(positions) if n_spectra is None else n_spectra
    pages = [
        SpecPage(label, _raw(n_spectra, sign), grid=(nx, ny), positions=positions[:n_spectra], **kw)
        for label, sign in (("LIA Current", 1), ("Current", -1))
    ]
    return write_sm4(tmp_path / name, pages)


@pytest.fixture
def real_grid():
    return real_file(RHK_GRID)


# ----------------------------------------------------------------------------- real file


def _page_spectrum(data: bytes, page: int, spectrum: int):
    """Spectrum ``spectrum`` of spectral page 6 or 7 straight from the bytes, and its position."""
    data_at = {6: 1986718, 7: 2349826}[page]  # page data offsets of the real file
    info_at = {6: 2318512, 7: 2681620}[page]
    raw = struct.unpack_from("<81i", data, data_at + 4 * 81 * spectrum)
    x, y = struct.unpack_from("<2f", data, info_at + 28 * spectrum + 4)
    return np.array(raw, dtype=float), x, y


def test_real_grid(real_grid):
    ds = read_sm4(real_grid)
    assert ds["LIA_Current"].dims == ("y", "x", "bias")
    assert ds["LIA_Current"].shape == (32, 32, 81)
    assert [name for name, var in ds.data_vars.items() if var.ndim == 3] == [
        "LIA_Current",
        "Current",
    ]
    assert ds["LIA_Current"].attrs == {"units": "A", "channel": "LIA Current"}
    bias_mV = ds["bias"].values * 1e3
    assert ds["bias"].attrs["units"] == "V"
    assert (bias_mV[0], bias_mV[-1]) == pytest.approx((300.0, -100.0))
    np.testing.assert_allclose(np.diff(bias_mV), -5.0, atol=1e-9)
    assert int(ds["valid"].sum()) == 1024
    assert ds.attrs["vendor"] == "RHK" and ds.attrs["format"] == "RHK SM4"
    assert ds.attrs["signature"] == "STiMage 005.004 1"
    assert ds.attrs["date"] == "07/02/20" and ds.attrs["grid_x_size"] == 32
    assert ds.attrs["setpoint_A"] == pytest.approx(3e-10) and ds.attrs["bias_V"] == pytest.approx(
        0.4, abs=1e-6
    )
    assert ds.attrs["sweeps_per_position"] == 1
    images = ds.attrs["image_pages"].split(";")
    assert "Topography (left)" in images and "Topography (right)" in images and len(images) == 6
    # lock-in: 5 mV at 1300 Hz, phase offset -103 deg; feedback setpoint 300 pA
    assert ds.attrs["lockin_amplitude"] == 0.005 and ds.attrs["lockin_amplitude_units"] == "V"
    assert ds.attrs["lockin_frequency_Hz"] == 1300.0
    assert ds.attrs["lockin_phase_offset_deg"] == pytest.approx(-103.0)
    assert ds.attrs["feedback_setpoint"] == pytest.approx(3e-10)
    assert ds.attrs["sweep_directions"] == "forward" and "backward_sweeps_reversed" not in ds.attrs
    assert ds.encoding["source"] == str(real_grid)


def test_real_grid_geometry(real_grid):
    """1.0 x 1.0 nm grid rotated by 10 degrees; x/y map back onto the recorded positions."""
    ds = read_sm4(real_grid)
    assert ds.attrs["rhk_angle_deg"] == 10.0
    # RHK turns counter-clockwise, the toolkit (Nanonis) clockwise
    assert ds.attrs["scan_angle_deg"] == -10.0
    assert ds.attrs["scan_width_nm"] == pytest.approx(1.0, abs=1e-6)
    assert ds.attrs["scan_height_nm"] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(np.diff(ds["x"].values), 1 / 32, rtol=1e-5)
    np.testing.assert_allclose(np.diff(ds["y"].values), 1 / 32, rtol=1e-5)
    x_abs, y_abs = absolute_positions(ds)
    np.testing.assert_allclose(x_abs, ds["X (m)"].values * 1e9, atol=1e-4)
    np.testing.assert_allclose(y_abs, ds["Y (m)"].values * 1e9, atol=1e-4)
    # the fitted centre is the middle of the recorded positions and of the images
    assert ds.attrs["scan_center_x_nm"] == pytest.approx(-12.8146, abs=3e-3)
    assert ds.attrs["scan_center_y_nm"] == pytest.approx(16.3297, abs=3e-3)


def test_real_grid_values_from_bytes(real_grid):
    """Spectra read straight from the bytes land on the pixel at their recorded position."""
    data = real_grid.read_bytes()
    ds = read_sm4(real_grid)
    z_scale = np.float32(4.656612844776963e-18)
    for spectrum in (0, 31, 32, 500, 1023):
        for page, name in ((6, "LIA_Current"), (7, "Current")):
            raw, x, y = _page_spectrum(data, page, spectrum)
            at = np.argwhere(
                (ds["X (m)"].values == np.float32(x)) & (ds["Y (m)"].values == np.float32(y))
            )
            assert len(at) == 1
            row, col = at[0]
            np.testing.assert_allclose(ds[name].values[row, col], raw * z_scale, rtol=1e-6)


def test_real_grid_through_registry(real_grid):
    assert formats.detect_format(real_grid).name == "RHK SM4"
    ds = formats.read_file(real_grid)
    assert ds["LIA_Current"].shape == (32, 32, 81)
    np.testing.assert_array_equal(ds["Current"].values, read_sm4(real_grid)["Current"].values)


def test_real_grid_open_grid(real_grid, tmp_path):
    grid = open_grid(read_sm4(real_grid), channel="LIA_Current")
    assert grid.shape == (32, 32, 81)
    bias = grid["bias"].values
    assert (bias[0], bias[-1]) == pytest.approx((-100.0, 300.0))
    assert np.all(np.diff(bias) > 0)
    assert grid.attrs["scan_angle_deg"] == -10.0
    save_grid(grid, tmp_path / "rhk.nc")
    assert open_grid(tmp_path / "rhk.nc").shape == (32, 32, 81)


def test_real_grid_open_grid_default_is_lockin(real_grid):
    assert open_grid(read_sm4(real_grid)).attrs["channel"] == "LIA Current"


# ----------------------------------------------------------------------------- detection


def test_looks_like(real_grid):
    assert looks_like(real_grid.read_bytes()[:4096])
    for name in OTHER_VENDORS:
        path = REAL_DIR / name
        if path.is_file():
            assert not looks_like(path.read_bytes()[:4096]), name
    assert not looks_like(b"") and not looks_like(b"\x00" * 100)
    assert not looks_like(b"Grid dim=" + b"\x00" * 60)
    # an SM3 signature (STiMage 004) is another format
    assert not looks_like(b"\x38\x00" + "STiMage 004.003 1".encode("utf-16-le"))


def test_looks_like_written_file(tmp_path):
    path = _grid_file(tmp_path)
    assert looks_like(path.read_bytes()[:4096])
    assert formats.detect_format(path).module == "stswidgets.io.rhk"


# ----------------------------------------------------------------------------- written files


def test_written_grid_layout(tmp_path):
    ds = read_sm4(_grid_file(tmp_path, nx=3, ny=2))
    assert ds["LIA_Current"].shape == (2, 3, N_POINTS)
    np.testing.assert_allclose(ds["bias"].values, 0.3 - 0.005 * np.arange(N_POINTS))
    # positions ascend along columns and rows: spectrum s = 3 row + col
    rows, cols = np.indices((2, 3))
    expected = (1000 * (3 * rows + cols))[..., None] + np.arange(1, N_POINTS + 1)
    np.testing.assert_allclose(ds["LIA_Current"].values, expected * 1e-12, rtol=1e-6)
    np.testing.assert_allclose(ds["Current"].values, -expected * 1e-12, rtol=1e-6)
    # unrotated: absolute positions (columns 0.1 nm apart from X = 1 nm)
    np.testing.assert_allclose(ds["x"].values, [1.0, 1.1, 1.2], atol=1e-6)
    np.testing.assert_allclose(ds["y"].values, [-2.0, -1.9], atol=1e-6)
    assert ds.attrs["scan_angle_deg"] == 0.0 and ds.attrs["scan_pattern"] == "raster"
    assert ds.attrs["scan_width_nm"] == pytest.approx(0.3, abs=1e-6)
    assert bool(ds["valid"].all()) and ds["valid"].dtype == bool


def test_written_serpentine_grid(tmp_path):
    ds = read_sm4(_grid_file(tmp_path, nx=3, ny=2, serpentine=True))
    assert ds.attrs["scan_pattern"] == "serpentine"
    # row 1 was measured right to left: spectra 5, 4, 3 sit at columns 0, 1, 2
    np.testing.assert_allclose(ds["LIA_Current"].values[1, :, 0], [5001e-12, 4001e-12, 3001e-12])


def test_written_reversed_sweep(tmp_path):
    ds = read_sm4(_grid_file(tmp_path, x_scale=0.01, x_offset=-0.02))
    np.testing.assert_allclose(ds["bias"].values, -0.02 + 0.01 * np.arange(N_POINTS))
    grid = open_grid(ds, channel="LIA_Current")
    np.testing.assert_allclose(grid["bias"].values, [-20, -10, 0, 10, 20, 30])


def test_written_repeats_are_averaged(tmp_path):
    ds = read_sm4(_grid_file(tmp_path, nx=2, ny=2, per_position=3))
    assert ds.attrs["sweeps_per_position"] == 3 and "[bwd]" not in " ".join(ds.data_vars)
    # position 0 holds spectra 0, 1, 2: mean 1000 + p + 1
    np.testing.assert_allclose(ds["LIA_Current"].values[0, 0], (1000 + np.arange(1, 7)) * 1e-12)
    np.testing.assert_allclose(ds["LIA_Current"].values[1, 1, 0], (1000 * 10 + 1) * 1e-12)


def test_written_alternating_sweeps_give_bwd(tmp_path):
    ds = read_sm4(_grid_file(tmp_path, nx=2, ny=2, per_position=4))
    assert ds.attrs["sweeps_per_position"] == 4
    assert ds.attrs["sweep_directions"].startswith("forward and backward")
    assert ds["Current [bwd]"].attrs["channel"] == "Current [bwd]"
    # position 0: spectra 0, 2 forward, 1, 3 backward
    np.testing.assert_allclose(ds["LIA_Current"].values[0, 0, 0], 1001e-12)
    np.testing.assert_allclose(ds["LIA_Current [bwd]"].values[0, 0, 0], 2001e-12)


def test_written_backward_sweeps_in_measured_order_are_reversed(tmp_path):
    """Backward sweeps stored in the order measured (against the axis) are turned around."""
    positions = grid_positions(2, 2, per_position=2)
    pages = []
    for label, sign in (("LIA Current", 1), ("Current", -1)):
        raw = _raw(8, sign)
        raw[1::2] = raw[1::2, ::-1]
        pages.append(SpecPage(label, raw, grid=(2, 2), positions=positions))
    ds = read_sm4(write_sm4(tmp_path / "b.sm4", pages))
    assert ds.attrs["backward_sweeps_reversed"] == 1
    np.testing.assert_allclose(ds["Current [bwd]"].values[0, 0], -(1000 + np.arange(1, 7)) * 1e-12)
    aligned = read_sm4(_grid_file(tmp_path, nx=2, ny=2, per_position=2, name="a.sm4"))
    assert aligned.attrs["backward_sweeps_reversed"] == 0


def test_written_point_spectra(tmp_path):
    """Sweeps at one spot (recorded positions within 1 pm) and no grid: repeated spectra."""
    spot = np.array([[2e-9, 3e-9]] * 3) + [[0, 0], [2e-13, 0], [0, -3e-13]]  # within 1 pm
    path = write_sm4(tmp_path / "p.sm4", [SpecPage("Current", _raw(3), positions=spot)])
    ds = read_sm4(path)
    assert ds["Current"].dims == ("spectrum", "bias") and ds["Current"].shape == (3, N_POINTS)
    assert ds.attrs["geometry"] == "repeats" and ds["repetition"].values.tolist() == [0, 1, 2]
    np.testing.assert_allclose(ds["Current"].values[1], (1000 + np.arange(1, 7)) * 1e-12)
    np.testing.assert_allclose(ds["x"].values, spot[:, 0] * 1e9)


def test_written_line(tmp_path):
    line = np.stack([np.linspace(0, 4e-9, 5), np.linspace(0, 3e-9, 5)], axis=1)
    path = write_sm4(tmp_path / "l.sm4", [SpecPage("Current", _raw(5), positions=line)])
    ds = read_sm4(path)
    assert ds["Current"].shape == (5, N_POINTS) and ds.attrs["geometry"] == "line"
    np.testing.assert_allclose(ds["x"].values, line[:, 0] * 1e9, atol=1e-6)
    np.testing.assert_allclose(ds["y"].values, line[:, 1] * 1e9, atol=1e-6)
    assert ds["repetition"].values.tolist() == [0] * 5


def test_written_aborted_grid_missing_spectra(tmp_path):
    path = _grid_file(tmp_path, nx=3, ny=2, n_spectra=4)
    with pytest.warns(UserWarning, match=r"2 of 6 spectra incomplete"):
        ds = read_sm4(path)
    assert ds["LIA_Current"].shape == (2, 3, N_POINTS)
    np.testing.assert_array_equal(ds["valid"].values, [[True] * 3, [True, False, False]])
    assert np.isnan(ds["LIA_Current"].values[1, 1:]).all()
    assert np.isnan(ds["X (m)"].values[1, 1:]).all()
    assert ds["x"].values.tolist() == pytest.approx([1.0, 1.1, 1.2], abs=1e-6)
    with pytest.raises(FormatError, match=str(path)):
        read_sm4(path, strict=True)


def test_written_aborted_spectra_zero_tail(tmp_path):
    positions = grid_positions(2, 2)
    pages = []
    for label, sign in (("LIA Current", 1), ("Current", -1)):
        raw = _raw(4, sign)
        raw[2, 3:] = 0  # aborted after 3 points
        raw[3] = 0  # never measured
        pages.append(SpecPage(label, raw, grid=(2, 2), positions=positions))
    path = write_sm4(tmp_path / "z.sm4", pages)
    with pytest.warns(UserWarning, match=r"2 of 4 spectra incomplete"):
        ds = read_sm4(path)
    np.testing.assert_array_equal(ds["valid"].values, [[True, True], [False, False]])
    lia = ds["LIA_Current"].values
    np.testing.assert_allclose(lia[1, 0, :3], (2000 + np.arange(1, 4)) * 1e-12)
    assert np.isnan(lia[1, 0, 3:]).all() and np.isnan(lia[1, 1]).all()
    assert np.isnan(ds["X (m)"].values[1, 1]) and np.isfinite(ds["X (m)"].values[1, 0])


def test_written_single_zero_value_is_data(tmp_path):
    """One exact zero at the end of one channel is a measured value, not an abort."""
    positions = grid_positions(2, 1)
    raw = _raw(2)
    raw[0, -1] = 0
    pages = [SpecPage("Current", raw, grid=(2, 1), positions=positions)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_sm4(write_sm4(tmp_path / "v.sm4", pages))
    assert bool(ds["valid"].all()) and ds["Current"].values[0, 0, -1] == 0


def test_written_empty_channel_left_out(tmp_path):
    positions = grid_positions(2, 2)
    pages = [
        SpecPage("LIA Current", _raw(4), grid=(2, 2), positions=positions),
        SpecPage("Aux", np.zeros((4, N_POINTS), int), grid=(2, 2), positions=positions),
    ]
    ds = read_sm4(write_sm4(tmp_path / "e.sm4", pages))
    assert "Aux" not in ds and ds.attrs["empty_channels"] == "Aux"
    assert ds.attrs["channels"] == "LIA Current"


def test_written_images_only_is_an_error(tmp_path):
    page = SpecPage("Topography", np.ones((4, 4), int), data_type=0, line_type=0)
    path = write_sm4(tmp_path / "i.sm4", [page])
    with pytest.raises(FormatError, match=r"no spectroscopy page.*Topography"):
        read_sm4(path)


def test_written_iz_spectra_sweep_dim(tmp_path):
    page = SpecPage("Current", _raw(2), line_type=8, x_units="m", x_label="Z", x_scale=1e-11)
    page.x_offset, page.grid, page.positions = 0.0, (2, 1), grid_positions(2, 1)
    ds = read_sm4(write_sm4(tmp_path / "iz.sm4", [page]))
    assert ds["Current"].dims == ("y", "x", "Z") and ds["Z"].attrs["units"] == "m"


# ----------------------------------------------------------------------------- damaged files


@pytest.mark.parametrize("keep", [10, 60, 200, 500, -5000])
def test_truncated_written_file(tmp_path, keep):
    """Cut in the file structure, or before the first page's first whole spectrum."""
    data = _grid_file(tmp_path).read_bytes()
    path = tmp_path / "cut.sm4"
    path.write_bytes(data[:keep])
    with pytest.raises(FormatError, match=str(path)):
        read_sm4(path)


def test_truncated_written_file_keeps_the_whole_spectra(tmp_path):
    """10 bytes short: the last page (Current) holds 5 of its 6 spectra whole."""
    whole = read_sm4(_grid_file(tmp_path))
    path = tmp_path / "cut.sm4"
    path.write_bytes((tmp_path / "g.sm4").read_bytes()[:-10])
    with pytest.warns(UserWarning, match=r"cut\.sm4: aborted grid, 1 of 6.*ends 10 bytes early"):
        ds = read_sm4(path)
    assert ds["valid"].values.tolist() == [[True, True, True], [True, True, False]]
    np.testing.assert_array_equal(ds["LIA_Current"].values, whole["LIA_Current"].values)
    np.testing.assert_array_equal(ds["Current"].values[0], whole["Current"].values[0])
    assert np.isnan(ds["Current"].values[1, 2]).all() and ds.attrs["missing_bytes"] == 10
    with pytest.raises(FormatError, match=r"cut\.sm4: aborted grid"):
        read_sm4(path, strict=True)


@pytest.mark.parametrize("keep", [100, 5000])
def test_truncated_real_file(real_grid, tmp_path, keep):
    path = tmp_path / "cut.sm4"
    path.write_bytes(real_grid.read_bytes()[:keep])
    with pytest.raises(FormatError, match=str(path)):
        read_sm4(path)


def test_truncated_real_file_keeps_the_whole_spectra(real_grid, tmp_path):
    """Cut inside the Current page (the last): LIA Current whole, Current's first 154 spectra
    (file order) whole, the rest NaN; cut in the thumbnails at the end: only a warning."""
    whole = read_sm4(real_grid)
    path = tmp_path / "cut.sm4"
    path.write_bytes(real_grid.read_bytes()[:2_400_000])  # Current data from byte 2349826
    with pytest.warns(UserWarning, match=r"cut\.sm4: aborted grid, 870 of 1024 .*early"):
        ds = read_sm4(path)
    valid = ds["valid"].values
    assert int(valid.sum()) == (2_400_000 - 2349826) // (4 * 81) == 154
    np.testing.assert_array_equal(ds["LIA_Current"].values, whole["LIA_Current"].values)
    np.testing.assert_array_equal(ds["Current"].values[valid], whole["Current"].values[valid])
    assert np.isnan(ds["Current"].values[~valid]).all()
    assert ds.attrs["scan_angle_deg"] == -10.0  # positions of the LIA Current page
    path.write_bytes(real_grid.read_bytes()[:2_712_000])
    with pytest.warns(UserWarning, match=r"cut\.sm4: the file ends 130 bytes early.*complete"):
        ds = read_sm4(path)
    assert bool(ds["valid"].all())


def test_real_file_aborted_by_patch(real_grid, tmp_path):
    """The real file with its last 40 spectra zeroed in both channels (an aborted grid)."""
    data = bytearray(real_grid.read_bytes())
    for data_at in (1986718, 2349826):
        end = data_at + 4 * 81 * 1024
        data[end - 4 * 81 * 40 : end] = bytes(4 * 81 * 40)
    path = tmp_path / "aborted.sm4"
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"40 of 1024 spectra incomplete"):
        ds = read_sm4(path)
    assert int(ds["valid"].sum()) == 984
    assert int(np.isnan(ds["LIA_Current"].values).all(axis=2).sum()) == 40
    # the geometry still comes from the measured positions
    assert ds.attrs["scan_angle_deg"] == -10.0
    assert ds.attrs["scan_width_nm"] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(FormatError, match="40 of 1024"):
        read_sm4(path, strict=True)


def test_module_exports():
    assert rhk.__all__ == ["looks_like", "read_sm4"]


def test_damaged_page_text_is_read_not_a_decode_error(tmp_path):
    """A lone UTF-16 surrogate in a page's strings (a damaged byte) is replaced, not raised."""
    data = bytearray(_grid_file(tmp_path).read_bytes())
    at = data.index("Voltage".encode("utf-16-le"))
    data[at : at + 2] = b"\x00\xd8"  # a high surrogate followed by 'o': no valid UTF-16
    path = tmp_path / "text.sm4"
    path.write_bytes(bytes(data))
    ds = read_sm4(path)
    assert ds["bias"].attrs["long_name"].endswith("oltage")
    assert bool(ds["valid"].all())


def test_implausible_grid_size_is_a_format_error(tmp_path):
    """A damaged grid size (2^16 x 2^16) is refused before any allocation of that grid."""
    positions = grid_positions(3, 2)
    page = SpecPage("LIA Current", _raw(6), grid=(1 << 16, 1 << 16), positions=positions)
    path = write_sm4(tmp_path / "big.sm4", [page])
    with pytest.raises(FormatError, match=r"big\.sm4: the header's grid of 65536 x 65536"):
        read_sm4(path)
