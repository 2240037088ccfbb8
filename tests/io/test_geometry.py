"""Scan geometry: serpentine and rotated grids written here, and the real files' frames."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nanonis_files import scan_file

from stswidgets.io import absolute_positions, open_grid, read_3ds, save_grid, write_3ds

GEOMETRY = ("scan_angle_deg", "scan_center_x_nm", "scan_center_y_nm")


def _truth(ds):
    """Raster row/col and grid-frame u/v (nm) each pixel of ``ds`` carries in its spectrum."""
    marker = ds["Marker"].values
    return marker[..., 1] // 1000, marker[..., 1] % 1000, marker[..., 0], marker[..., 2]


def _assert_raster(ds, ny, nx):
    """Every pixel sits at its raster place and x/y are the grid-frame positions."""
    rows, cols, u, v = _truth(ds)
    expected_rows, expected_cols = np.indices((ny, nx))
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_array_equal(cols, expected_cols)
    for dim, n in (("x", nx), ("y", ny)):
        values = ds[dim].values
        assert np.unique(values).size == n and np.all(np.diff(values) > 0), dim
    return u, v


def test_serpentine_64x64_900nm(tmp_path):
    """The issue's grid: before, every column got x = 0 and odd rows stayed reversed."""
    path = scan_file(tmp_path / "serpentine.3ds", 64, 64, serpentine=True)
    ds = read_3ds(path)
    u, v = _assert_raster(ds, 64, 64)
    assert ds.attrs["scan_pattern"] == "serpentine"
    # unrotated: x/y are absolute positions, centre (100, -50) nm, pitch 900 / 64 nm
    np.testing.assert_allclose(ds["x"].values, 100 + u[0], atol=1e-4)
    np.testing.assert_allclose(ds["y"].values, -50 + v[:, 0], atol=1e-4)
    np.testing.assert_allclose(np.diff(ds["x"].values), 900 / 64, rtol=1e-6)
    assert ds.attrs["scan_width_nm"] == 900.0 and ds.attrs["scan_height_nm"] == 900.0
    assert (ds.attrs["scan_center_x_nm"], ds.attrs["scan_center_y_nm"]) == (100.0, -50.0)
    X_nm = ds["X (m)"].values * 1e9
    np.testing.assert_allclose(np.diff(X_nm, axis=1), 900 / 64, rtol=1e-4)  # rows flipped back
    grid = open_grid(path, channel="Marker")
    pixel = grid.sel(x=100 + u[0, 17] + 1.0, y=-50 + v[40, 0] - 1.0, method="nearest")
    assert float(pixel[1]) == 1000 * 40 + 17


@pytest.mark.parametrize("angle", [30.0, -20.0, 45.0])
@pytest.mark.parametrize(("serpentine", "downward"), [(True, False), (False, True), (True, True)])
def test_rotated_grids(tmp_path, angle, serpentine, downward):
    path = scan_file(
        tmp_path / "rotated.3ds",
        5,
        6,
        angle_deg=angle,
        size_nm=(12.0, 10.0),
        serpentine=serpentine,
        downward=downward,
    )
    ds = read_3ds(path)
    u, v = _assert_raster(ds, 5, 6)
    assert ds.attrs["scan_pattern"] == ("serpentine" if serpentine else "raster")
    assert ds.attrs["scan_angle_deg"] == angle
    # rotated: x/y are offsets from the centre along the grid axes ...
    np.testing.assert_allclose(ds["x"].values, u[0], atol=1e-4)
    np.testing.assert_allclose(ds["y"].values, v[:, 0], atol=1e-4)
    # ... and map back onto the measured positions, also after open_grid
    X, Y = absolute_positions(open_grid(path, channel="Marker"))
    np.testing.assert_allclose(X, ds["X (m)"].values * 1e9, atol=1e-4)
    np.testing.assert_allclose(Y, ds["Y (m)"].values * 1e9, atol=1e-4)


def test_aborted_serpentine_grid(tmp_path):
    """Half of the fourth line (acquired right to left) was measured before the abort."""
    path = scan_file(tmp_path / "aborted.3ds", 4, 6, serpentine=True, size_nm=(6.0, 4.0), n_done=21)
    with pytest.warns(UserWarning, match="aborted grid"):
        ds = read_3ds(path)
    assert ds.attrs["scan_pattern"] == "serpentine"
    expected = np.ones((4, 6), bool)
    expected[3, :3] = False  # the right half of the last row was measured
    np.testing.assert_array_equal(ds["valid"].values, expected)
    rows, cols, _, _ = _truth(ds)
    np.testing.assert_array_equal(cols[3, 3:], [3, 4, 5])
    np.testing.assert_array_equal(rows[:3], np.indices((3, 6))[0])


def test_raster_without_positions_or_frame_keeps_pixel_indices():
    import xarray as xr

    from stswidgets.io._geometry import scan_geometry

    ds = scan_geometry(xr.Dataset({"a": (("y", "x"), np.zeros((2, 3)))}))
    np.testing.assert_array_equal(ds["x"].values, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(ds["y"].values, [0.0, 1.0])
    assert ds.attrs["scan_pattern"] == "raster" and ds.attrs["scan_angle_deg"] == 0.0


def test_positions_without_a_frame_give_angle_and_centre():
    """A future reader with per-pixel positions but no header frame (here a 30 deg serpentine)."""
    import xarray as xr

    from stswidgets.io._geometry import scan_geometry

    rows, cols = np.indices((4, 5), dtype=float)
    cols[1::2] = cols[1::2, ::-1]  # acquisition order of a serpentine scan
    a = np.deg2rad(30.0)
    u, v = 2.0 * cols - 4.0, 3.0 * rows - 4.5
    X, Y = 7 + u * np.cos(a) + v * np.sin(a), -1 - u * np.sin(a) + v * np.cos(a)
    ds = xr.Dataset({"X (m)": (("y", "x"), X * 1e-9), "Y (m)": (("y", "x"), Y * 1e-9)})
    ds["col"] = (("y", "x"), cols)
    ds = scan_geometry(ds)
    assert ds.attrs["scan_pattern"] == "serpentine"
    assert ds.attrs["scan_angle_deg"] == pytest.approx(30.0)
    assert ds.attrs["scan_center_x_nm"] == pytest.approx(7.0)
    assert ds.attrs["scan_center_y_nm"] == pytest.approx(-1.0)
    np.testing.assert_array_equal(ds["col"].values, np.indices((4, 5))[1])
    np.testing.assert_allclose(ds["x"].values, [-4, -2, 0, 2, 4], atol=1e-6)
    assert ds.attrs["scan_width_nm"] == pytest.approx(10.0)  # 5 pixels x 2 nm pitch


def test_serpentine_write_read_round_trip(tmp_path):
    ds = read_3ds(scan_file(tmp_path / "s.3ds", 4, 5, serpentine=True, angle_deg=30.0))
    again = read_3ds(write_3ds(ds, tmp_path / "copy.3ds"))
    assert again.attrs["scan_pattern"] == "raster"  # write_3ds stores raster order
    np.testing.assert_array_equal(again["Marker"].values, ds["Marker"].values)
    np.testing.assert_allclose(again["x"].values, ds["x"].values, atol=1e-4)
    np.testing.assert_allclose(again["y"].values, ds["y"].values, atol=1e-4)
    for key in GEOMETRY:
        assert again.attrs[key] == pytest.approx(ds.attrs[key])
    assert "scan_pattern=" not in (tmp_path / "copy.3ds").read_bytes().decode("latin-1")


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_open_and_save_grid_keep_the_geometry(tmp_path, suffix):
    grid = open_grid(scan_file(tmp_path / "s.3ds", 3, 4, serpentine=True, angle_deg=-12.5))
    expected = {key: grid.attrs[key] for key in (*GEOMETRY, "scan_pattern")}
    assert expected["scan_angle_deg"] == -12.5 and expected["scan_pattern"] == "serpentine"
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # "Marker" is no lock-in: the channel warning is not tested here
        again = open_grid(save_grid(grid, tmp_path / f"grid{suffix}"))
    for key, value in expected.items():
        assert again.attrs[key] == value, key
    np.testing.assert_allclose(again["x"].values, grid["x"].values)


# ----------------------------------------------------------------------------- real files


def test_real_grid_30x30_frame(grid_30x30):
    ds = read_3ds(grid_30x30)
    assert ds.attrs["scan_pattern"] == "raster"
    assert ds.attrs["scan_angle_deg"] == 45.0
    assert ds.attrs["scan_center_x_nm"] == pytest.approx(84.51877)
    assert ds.attrs["scan_center_y_nm"] == pytest.approx(632.9924)
    assert ds.attrs["scan_width_nm"] == 5.0 and ds.attrs["scan_height_nm"] == 5.0
    X, Y = absolute_positions(ds)
    np.testing.assert_allclose(X, ds["X (m)"].values * 1e9, atol=0.02)
    np.testing.assert_allclose(Y, ds["Y (m)"].values * 1e9, atol=0.02)
    grid = open_grid(grid_30x30)
    assert all(grid.attrs[key] == ds.attrs[key] for key in GEOMETRY)


def test_real_line_frame(line_32x1):
    ds = read_3ds(line_32x1)
    assert ds.attrs["scan_pattern"] == "raster"
    assert ds.attrs["scan_angle_deg"] == pytest.approx(54.00811)
    assert ds.attrs["scan_width_nm"] == pytest.approx(53.54185)
    assert ds.attrs["scan_height_nm"] == 0.0
    X, Y = absolute_positions(ds)
    np.testing.assert_allclose(X, ds["X (m)"].values * 1e9, atol=0.02)
    np.testing.assert_allclose(Y, ds["Y (m)"].values * 1e9, atol=0.02)
    assert np.all(np.diff(ds["x"].values) > 0)


def test_open_grid_makes_axes_ascending_or_refuses():
    from nanonis_files import synthetic_dataset

    from stswidgets.io import FormatError

    ds = synthetic_dataset(ny=3, nx=4)
    backwards = ds.isel(x=slice(None, None, -1))
    grid = open_grid(backwards, channel="LIX")
    np.testing.assert_allclose(grid["x"].values, ds["x"].values)
    np.testing.assert_array_equal(grid.values, open_grid(ds, channel="LIX").values)
    repeated = ds.assign_coords(x=("x", [0.0, 0.0, 1.0, 2.0], {"units": "nm"}))
    with pytest.raises(FormatError, match=r"x coordinates are not unique and monotonic"):
        open_grid(repeated, channel="LIX")


def test_repeated_spectra_at_one_point_are_no_serpentine():
    """Positions that only jitter by a float32 step must not flip rows, even when the jitter
    happens to run one way on even rows and the other way on odd rows."""
    import xarray as xr

    from stswidgets.io._geometry import scan_geometry

    jitter = 7e-15 * np.array([[0, 0, 1, 1], [1, 1, 0, 0]])  # m: one float32 step at 100 nm
    X = 1e-7 + jitter
    ds = xr.Dataset({"X (m)": (("y", "x"), X), "Y (m)": (("y", "x"), X.copy())})
    ds["col"] = (("y", "x"), np.indices((2, 4))[1].astype(float))
    ds = scan_geometry(ds)
    assert ds.attrs["scan_pattern"] == "raster"
    np.testing.assert_array_equal(ds["col"].values, np.indices((2, 4))[1])
    assert np.all(np.diff(ds["x"].values) > 0) and np.all(np.diff(ds["y"].values) > 0)


def test_scan_attrs_of_a_grid_without_recorded_geometry():
    from stswidgets import make_grid
    from stswidgets.io import scan_attrs

    grid = make_grid(np.ones((3, 5, 2)), [0.0, 1.0], x_nm=np.linspace(10, 18, 5), y_nm=[0, 2, 4])
    expected = {
        "scan_angle_deg": 0.0,
        "scan_center_x_nm": 14.0,
        "scan_center_y_nm": 2.0,
        "scan_width_nm": 10.0,  # pixels x pitch: the centres span plus one pitch
        "scan_height_nm": 6.0,
        "scan_pattern": "raster",
    }
    assert scan_attrs(grid) == expected
    assert {key: open_grid(grid).attrs[key] for key in expected} == expected
    rotated = grid.assign_attrs(scan_angle_deg=30.0, scan_pattern="serpentine")
    assert scan_attrs(rotated)["scan_angle_deg"] == 30.0
    assert scan_attrs(rotated)["scan_pattern"] == "serpentine"
