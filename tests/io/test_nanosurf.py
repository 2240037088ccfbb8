"""Nanosurf NID reader: the shared real map and synthetic files written by nid_files."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nanonis_files import REAL_DIR, real_file
from nid_files import CURRENT, NID_REAL, VOLTAGE, from_codes, serpentine, to_codes, write_nid

from stswidgets.io import open_grid
from stswidgets.io.errors import FormatError
from stswidgets.io.formats import HEAD_BYTES, detect_format, read_file
from stswidgets.io.nanosurf import looks_like, read_nid

NX, NY, POINTS = 3, 2, 11


@pytest.fixture(scope="module")
def tarzan():
    path = real_file("vendors/" + NID_REAL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete map: no warning
        return path, read_nid(path)


def test_real_map_shape_bias_channels(tarzan):
    _, ds = tarzan
    assert ds["Tip Current"].dims == ("y", "x", "bias")
    assert ds["Tip Current"].shape == (15, 15, 512)
    assert ds["bias"].attrs["units"] == "V"
    np.testing.assert_allclose(ds["bias"].values[[0, -1]] * 1e3, [-2500.0, 2610.0])
    channels = {"Tip Current", "Tip Current [bwd]", "Tip voltage", "Tip voltage [bwd]"}
    assert channels <= set(ds.data_vars)
    assert ds["Tip Current"].attrs["units"] == "A"
    assert int(ds["valid"].sum()) == 225
    assert ds["Tip Current"].attrs["n_clipped_spectra"] == 146
    assert ds.attrs["vendor"] == "Nanosurf"
    assert ds.attrs["DataSet-Info: Setpoint"] == "700pA"
    assert ds.attrs["DataSet-Info: Op. mode"] == "STM"
    assert ds.attrs["scan_pattern"] == "serpentine"
    assert ds.attrs["image_rotation_deg"] == pytest.approx(5.84237)


def test_real_clipping_counted_from_the_rail(tarzan):
    """146 forward spectra reach -20 nA, the bottom of the +-20 nA range (independent count)."""
    _, ds = tarzan
    current = ds["Tip Current"].values
    at_rail = (current <= -2e-8 + 2 * 4e-8 / 65536).any(axis=-1)
    assert int(at_rail.sum()) == 146
    assert float(np.nanmin(current)) == pytest.approx(-2e-8)


def test_real_bias_follows_the_readback(tarzan):
    """The sweep definition agrees with the Tip voltage read-back, forward and backward."""
    _, ds = tarzan
    bias = ds["bias"].values
    for name in ("Tip voltage", "Tip voltage [bwd]"):
        deviation = np.abs(ds[name].values - bias).max()
        assert deviation < 1e-3  # V; the read-back's 16-bit step on +-10 V is 0.3 mV


def test_real_positions_from_the_map_table(tarzan):
    _, ds = tarzan
    np.testing.assert_allclose(ds["x"].values[[0, -1]], [25.3906, 75.1953], atol=1e-4)
    np.testing.assert_allclose(ds["y"].values[[0, -1]], [-45.8984, -5.85938], atol=1e-4)
    # the frame: 15 positions x the 49.8047 / 14 nm pitch (Map0 spans first to last centre)
    assert ds.attrs["scan_width_nm"] == pytest.approx(49.8047 * 15 / 14, abs=1e-4)
    assert ds.attrs["scan_height_nm"] == pytest.approx(40.03906 * 15 / 14, abs=1e-4)


def test_real_through_the_registry(tarzan):
    path, ds = tarzan
    assert looks_like(path.read_bytes()[:HEAD_BYTES])
    assert detect_format(path).module == "stswidgets.io.nanosurf"
    assert read_file(path)["Tip Current"].shape == ds["Tip Current"].shape


def test_real_open_grid_chosen_channel(tarzan):
    _, ds = tarzan
    grid = open_grid(ds, channel="Tip Current")
    assert grid.shape == (15, 15, 512)
    np.testing.assert_allclose(grid["bias"].values[[0, -1]], [-2500.0, 2610.0])


def test_real_open_grid_default_is_derivative_of_current(tarzan):
    _, ds = tarzan
    grid = open_grid(ds)
    assert "Tip Current" in grid.attrs["channel"] and "d(" in grid.attrs["channel"]


@pytest.mark.parametrize(
    "other",
    [
        "rhk_dIdV_9K_ABC6_grid.sm4",
        "omicron_Ta2NiSe5_cits20_IV_fwd_up.ibw",
        "createc_Ag_corral_complete.specgrid",
    ],
)
def test_looks_like_rejects_other_vendors(other):
    assert not looks_like(real_file("vendors/" + other).read_bytes()[:HEAD_BYTES])


def test_looks_like_rejects_nanonis():
    path = REAL_DIR / "nanonis_grid_lockin_30x30.3ds"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    assert not looks_like(path.read_bytes()[:HEAD_BYTES])


# ---- synthetic files -------------------------------------------------------------------


def _spectra(seed: int = 0) -> np.ndarray:
    """Current spectra ``(NY, NX, POINTS)`` in A, in raster order, inside +-20 nA."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(-1.0, 1.0, POINTS)
    return (rng.uniform(1, 5, (NY, NX, 1)) * bias**3 + rng.normal(0, 0.05, (NY, NX, 1))) * 1e-9


def _map_file(tmp_path, spectra=None, bwd_reversed=False, **kwargs):
    spectra = _spectra() if spectra is None else spectra
    bias = np.linspace(-1.0, 1.0, POINTS)
    codes = to_codes(serpentine(spectra, NX, NY), *CURRENT[2:])
    volts = to_codes(np.tile(bias, (NX * NY, 1)), *VOLTAGE[2:])
    bwd_codes = to_codes(serpentine(spectra * 0.9, NX, NY), *CURRENT[2:])
    if bwd_reversed:  # stored in time order: from +1 V down to -1 V
        bwd_codes, bwd_volts = bwd_codes[:, ::-1], volts[:, ::-1]
    else:
        bwd_volts = volts
    groups = {
        "Spec forward": [(CURRENT, codes), (VOLTAGE, volts)],
        "Spec backward": [(CURRENT, bwd_codes), (VOLTAGE, bwd_volts)],
    }
    return write_nid(tmp_path / "map.nid", groups, sweep=(-1.0, 2.0), grid=(NX, NY), **kwargs)


def _expected(spectra: np.ndarray) -> np.ndarray:
    return from_codes(to_codes(spectra, *CURRENT[2:]), *CURRENT[2:])


def test_map_in_raster_order_with_positions(tmp_path):
    spectra = _spectra()
    ds = read_nid(_map_file(tmp_path, spectra))
    np.testing.assert_allclose(ds["Tip Current"].values, _expected(spectra), rtol=1e-6)
    np.testing.assert_allclose(ds["Tip Current [bwd]"].values, _expected(0.9 * spectra), rtol=1e-6)
    np.testing.assert_allclose(ds["bias"].values, np.linspace(-1, 1, POINTS))
    np.testing.assert_allclose(ds["x"].values, [10.0, 20.0, 30.0], atol=1e-6)
    np.testing.assert_allclose(ds["y"].values, [-20.0, -10.0], atol=1e-6)
    assert ds.attrs["scan_pattern"] == "serpentine"
    assert ds.attrs["skipped_groups"] == "Scan forward"
    assert bool(ds["valid"].all())


def test_rotated_map_keeps_its_grid_axes(tmp_path):
    from stswidgets.io import absolute_positions

    ds = read_nid(_map_file(tmp_path, rotation=30))
    assert ds.attrs["scan_angle_deg"] == 30.0
    np.testing.assert_allclose(ds["x"].values, [-10.0, 0.0, 10.0], atol=1e-6)
    np.testing.assert_allclose(ds["y"].values, [-5.0, 5.0], atol=1e-6)
    x_abs, y_abs = absolute_positions(ds)
    np.testing.assert_allclose(x_abs, ds["X (m)"].values * 1e9, atol=1e-6)
    np.testing.assert_allclose(y_abs, ds["Y (m)"].values * 1e9, atol=1e-6)
    # the corner pixel (row 0, column 0) sits at (x0, y0) turned by 30 degrees about the centre
    u, v, a = -10.0, -5.0, np.radians(30)
    expected = (20 + u * np.cos(a) + v * np.sin(a), -15 - u * np.sin(a) + v * np.cos(a))
    np.testing.assert_allclose((x_abs[0, 0], y_abs[0, 0]), expected, atol=1e-6)


def test_backward_stored_reversed_lines_up_with_bias(tmp_path):
    spectra = _spectra()
    ds = read_nid(_map_file(tmp_path, spectra, bwd_reversed=True))
    np.testing.assert_allclose(ds["Tip Current [bwd]"].values, _expected(0.9 * spectra), rtol=1e-6)
    np.testing.assert_allclose(ds["Tip voltage [bwd]"].values[0, 0], ds["bias"].values, atol=1e-3)


def test_backward_defined_from_positive_bias_is_reordered(tmp_path):
    spectra = _spectra()
    bias = np.linspace(-1.0, 1.0, POINTS)
    fwd = to_codes(serpentine(spectra, NX, NY), *CURRENT[2:])
    bwd = to_codes(serpentine(0.9 * spectra, NX, NY)[:, ::-1], *CURRENT[2:])
    volts = to_codes(np.tile(bias[::-1], (NX * NY, 1)), *VOLTAGE[2:])
    groups = {
        "Spec forward": [(CURRENT, fwd)],
        "Spec backward": [(CURRENT, bwd), (VOLTAGE, volts)],
    }
    path = write_nid(
        tmp_path / "bwd.nid", groups, sweep=(-1.0, 2.0), sweeps={"Spec backward": (1.0, -2.0)}
    )
    ds = read_nid(path)
    np.testing.assert_allclose(ds["Tip Current [bwd]"].values, _expected(0.9 * spectra), rtol=1e-6)
    np.testing.assert_allclose(ds["Tip voltage [bwd]"].values[1, 1], bias, atol=1e-3)


def test_backward_aborted_alone_makes_the_pixel_invalid(tmp_path):
    path = _map_file(tmp_path)
    data = bytearray(path.read_bytes())
    block = NX * NY * POINTS * 2
    start = data.index(b"#!") + 2 + 2 * block + 1 * POINTS * 2  # backward blocks, line 1
    for k in range(2):  # zero the last 3 points of line 1 in both backward channels
        offset = start + k * block + (POINTS - 3) * 2
        data[offset : offset + 6] = bytes(6)
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="1 of 6 spectra incomplete"):
        ds = read_nid(path)
    assert not ds["valid"].values[0, 1] and int(ds["valid"].sum()) == 5
    assert np.isfinite(ds["Tip Current"].values[0, 1]).all()  # forward kept as measured
    assert np.isnan(ds["Tip Current [bwd]"].values[0, 1, -3:]).all()


def test_empty_backward_group_is_left_out(tmp_path):
    codes = to_codes(serpentine(_spectra(), NX, NY), *CURRENT[2:])
    groups = {
        "Spec forward": [(CURRENT, codes)],
        "Spec backward": [(CURRENT, np.zeros_like(codes))],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_nid(write_nid(tmp_path / "nobwd.nid", groups, sweep=(-1.0, 2.0)))
    assert "Tip Current [bwd]" not in ds
    assert ds.attrs["empty_channels"] == "Spec backward: Tip Current"
    assert bool(ds["valid"].all())


def test_aborted_map_is_nan_and_invalid(tmp_path):
    path = _map_file(tmp_path, cur_line=3)  # lines 4 and 5 never measured
    with pytest.warns(UserWarning, match="2 of 6 spectra incomplete"):
        ds = read_nid(path)
    # line 4 is row 1 column 1, line 5 row 1 column 0 (serpentine)
    expected_valid = np.array([[True, True, True], [False, False, True]])
    np.testing.assert_array_equal(ds["valid"].values, expected_valid)
    assert np.isnan(ds["Tip Current"].values[~expected_valid]).all()
    with pytest.raises(FormatError, match="map.nid.*incomplete"):
        read_nid(path, strict=True)


def test_zero_filled_tail_and_cut_lines_are_invalid(tmp_path):
    spectra = _spectra()
    path = _map_file(tmp_path, spectra, line_points={2: 7})  # line 2 kept 7 of 11 points
    data = bytearray(path.read_bytes())
    # zero the last 4 points of line 0 in all four spectroscopy blocks
    start = data.index(b"#!") + 2
    block = NX * NY * POINTS * 2
    for k in range(4):
        offset = start + k * block + (POINTS - 4) * 2
        data[offset : offset + 8] = bytes(8)
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="2 of 6 spectra incomplete"):
        ds = read_nid(path)
    assert not ds["valid"].values[0, 0] and not ds["valid"].values[0, 2]
    current = ds["Tip Current"].values
    assert np.isnan(current[0, 0, -4:]).all() and np.isfinite(current[0, 0, :-4]).all()
    assert np.isnan(current[0, 2, 7:]).all()
    np.testing.assert_allclose(current[0, 2, :7], _expected(spectra)[0, 2, :7], rtol=1e-6)


def test_zero_ends_shared_by_most_lines_are_signal(tmp_path):
    """A sweep ending at 0 V: current and read-back both read raw 0 there on every line."""
    codes = to_codes(serpentine(_spectra(), NX, NY), *CURRENT[2:])
    volts = to_codes(np.tile(np.linspace(-1.0, 0.0, POINTS), (NX * NY, 1)), *VOLTAGE[2:])
    codes[:, -2:] = 0
    volts[:, -2:] = 0  # the read-back of the last two points rounds to 0 V as well
    groups = {"Spec forward": [(CURRENT, codes), (VOLTAGE, volts)]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_nid(write_nid(tmp_path / "zero.nid", groups, sweep=(-1.0, 1.0)))
    assert bool(ds["valid"].all())
    assert (ds["Tip Current"].values[..., -2:] == 0).all()


def test_all_zero_channel_is_left_out(tmp_path):
    codes = to_codes(serpentine(_spectra(), NX, NY), *CURRENT[2:])
    empty = np.zeros_like(codes)
    groups = {"Spec forward": [(CURRENT, codes), (("Aux", "V", -10.0, 20.0), empty)]}
    ds = read_nid(write_nid(tmp_path / "aux.nid", groups, sweep=(-1.0, 2.0)))
    assert "Aux" not in ds and "Tip Current" in ds
    assert "Aux" in ds.attrs["empty_channels"]


def test_repetitions_are_averaged(tmp_path):
    first, second = _spectra(1), _spectra(2)
    lines = np.concatenate([serpentine(first, NX, NY), serpentine(second, NX, NY)])
    groups = {"Spec forward": [(CURRENT, to_codes(lines, *CURRENT[2:]))]}
    path = write_nid(tmp_path / "rep.nid", groups, sweep=(-1.0, 2.0), repetitions=2)
    ds = read_nid(path)
    expected = (_expected(first) + _expected(second)) / 2
    np.testing.assert_allclose(ds["Tip Current"].values, expected, rtol=1e-6)
    assert (ds["n_sweeps"].values == 2).all()


def test_repeats_at_one_spot_open_as_a_row(tmp_path):
    lines = _spectra().reshape(NX * NY, POINTS)
    groups = {"Spec forward": [(CURRENT, to_codes(lines, *CURRENT[2:]))]}
    ds = read_nid(write_nid(tmp_path / "spot.nid", groups, sweep=(-1.0, 2.0), grid=None))
    assert ds["Tip Current"].shape == (1, NX * NY, POINTS)
    assert ds.attrs["spec_layout"] == "one pixel per sweep"


def test_point_list_opens_as_a_row_with_positions(tmp_path):
    lines = _spectra().reshape(NX * NY, POINTS)[:4]
    groups = {"Spec forward": [(CURRENT, to_codes(lines, *CURRENT[2:]))]}
    points = [(1e-9 * k, 5e-9) for k in range(4)]
    path = write_nid(tmp_path / "list.nid", groups, sweep=(-1.0, 2.0), grid=None, points_m=points)
    ds = read_nid(path)
    assert ds["Tip Current"].shape == (1, 4, POINTS)
    assert ds.attrs["spec_layout"] == "point list"
    np.testing.assert_allclose(ds["X (m)"].values[0], [0, 1e-9, 2e-9, 3e-9])
    np.testing.assert_allclose(ds["x"].values, [0.0, 1.0, 2.0, 3.0], atol=1e-6)


def test_clipped_spectra_counted(tmp_path):
    spectra = _spectra()
    spectra[1, 2, -1] = 1.0  # far above +20 nA: stored at the top code
    spectra[0, 0, 0] = -1.0
    ds = read_nid(_map_file(tmp_path, spectra))
    assert ds["Tip Current"].attrs["n_clipped_spectra"] == 2
    assert ds["Tip Current"].values[1, 2, -1] == pytest.approx(2e-8, rel=1e-4)


def test_truncated_image_block_keeps_the_complete_spectra(tmp_path):
    """Cut inside the image group written after the spectra: the spectra are all there."""
    whole = read_nid(_map_file(tmp_path))
    path = _map_file(tmp_path, truncate=10)
    with pytest.warns(UserWarning, match=r"map\.nid: the file ends 10 bytes early.*complete"):
        ds = read_nid(path)
    assert bool(ds["valid"].all()) and ds.attrs["missing_bytes"] == 10
    np.testing.assert_array_equal(ds["Tip Current [bwd]"].values, whole["Tip Current [bwd]"])


def test_truncated_spectra_keep_the_whole_lines(tmp_path):
    """Cut inside line 2 of the forward current: lines 0-1 whole, line 2 up to the cut."""
    whole = read_nid(_map_file(tmp_path))
    block = NX * NY * POINTS * 2  # bytes per channel block
    image = 4 * 4 * 2
    path = _map_file(tmp_path, truncate=3 * block + image + (NX * NY - 2) * POINTS * 2 - 8)
    with pytest.warns(UserWarning, match=r"map\.nid: 4 of 6 spectra incomplete.*ends .* early"):
        ds = read_nid(path)
    # lines 0, 1 are row 0 columns 0, 1; line 2 (4 of 11 points) row 0 column 2
    expected_valid = np.array([[True, True, False], [False, False, False]])
    np.testing.assert_array_equal(ds["valid"].values, expected_valid)
    current = ds["Tip Current"].values
    np.testing.assert_array_equal(current[0, :2], whole["Tip Current"].values[0, :2])
    np.testing.assert_array_equal(current[0, 2, :4], whole["Tip Current"].values[0, 2, :4])
    assert np.isnan(current[0, 2, 4:]).all() and np.isnan(current[1]).all()
    assert "Tip Current [bwd]" not in ds and "Tip voltage" not in ds
    assert "Spec backward: Tip Current" in ds.attrs["missing_channels"]
    with pytest.raises(FormatError, match=r"map\.nid: 4 of 6 spectra incomplete"):
        read_nid(path, strict=True)


def test_truncated_before_one_spectrum_names_the_file(tmp_path):
    block = NX * NY * POINTS * 2
    path = _map_file(tmp_path, truncate=4 * block + 4 * 4 * 2 - 10)
    with pytest.raises(FormatError, match=r"map\.nid: the file ends .* not one whole spectrum"):
        read_nid(path)


def test_damaged_line_count_is_refused_before_allocating_it(tmp_path):
    """Lines=6 damaged into 60000000 (3.7 GB of blocks for a 1 kB payload): FormatError."""
    path = _map_file(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"Lines=6\r\n", b"Lines=60000000\r\n", 1))
    with pytest.raises(
        FormatError, match=r"map\.nid: the header declares channel blocks .* damaged"
    ):
        read_nid(path)


def test_unreadable_cur_line_names_the_key(tmp_path):
    path = _map_file(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"CurLine=5\r\n", b"CurLine=5-\r\n", 1))
    with pytest.raises(FormatError, match=r"map\.nid: \[DataSet-0:0\] CurLine='5-'"):
        read_nid(path)


def test_payload_longer_than_the_blocks_names_the_file(tmp_path):
    path = _map_file(tmp_path)
    path.write_bytes(path.read_bytes() + bytes(6))
    with pytest.raises(FormatError, match=r"map\.nid.*payload is .* bytes"):
        read_nid(path)


def test_no_header_end_is_a_format_error(tmp_path):
    path = tmp_path / "broken.nid"
    path.write_bytes(b"[DataSet]\r\nVersion=2\r\nGroupCount=1\r\n")
    assert looks_like(path.read_bytes())
    with pytest.raises(FormatError, match=r"broken\.nid.*'#!'"):
        read_nid(path)


def test_image_only_file_is_refused(tmp_path):
    path = write_nid(tmp_path / "image.nid", {}, grid=None)
    with pytest.raises(FormatError, match="no spectroscopy group"):
        read_nid(path)


def test_real_dataset_writes_to_netcdf(tarzan, tmp_path):
    import xarray as xr

    _, ds = tarzan
    ds.to_netcdf(tmp_path / "map.nc", engine="scipy")
    back = xr.load_dataset(tmp_path / "map.nc", engine="scipy")
    np.testing.assert_array_equal(back["Tip Current"].values, ds["Tip Current"].values)
    assert back.attrs["Parameters.Spectroscopy: FwModRange"] == 5.0
