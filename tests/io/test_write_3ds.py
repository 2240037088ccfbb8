"""write_3ds: round trips through read_3ds."""

from __future__ import annotations

import numpy as np
import pytest
from nanonis_files import synthetic_dataset

from stswidgets.io import read_3ds, write_3ds

HEADER_KEYS = ["Grid dim", "Grid settings", "Points", "Channels", "Sweep Signal"]


def _assert_same_data(a, b):
    assert list(a.data_vars) == list(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
        assert a[name].attrs == b[name].attrs, name
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.mark.parametrize("fixture", ["grid_30x30", "line_32x1"])
def test_real_file_round_trip(fixture, request, tmp_path):
    original = read_3ds(request.getfixturevalue(fixture))
    again = read_3ds(write_3ds(original, tmp_path / "copy.3ds"))
    _assert_same_data(original, again)
    for key in HEADER_KEYS + [k for k in original.attrs if ">" in k or k in ("Date", "Comment")]:
        assert again.attrs[key] == original.attrs[key], key


def test_synthetic_dataset_round_trip(tmp_path):
    ds = synthetic_dataset(ny=3, nx=5)
    again = read_3ds(write_3ds(ds, tmp_path / "synthetic.3ds"))
    assert again.attrs["Filetype"] == "Linear"
    for name in ("Current", "LIX 1 omega"):
        np.testing.assert_array_equal(again[name].values, ds[name].values)
        assert again[name].attrs["channel"] == ds[name].attrs["channel"]
    np.testing.assert_allclose(again["bias"].values, ds["bias"].values, rtol=1e-7)
    np.testing.assert_allclose(again["x"].values, ds["x"].values, atol=1e-6)
    np.testing.assert_allclose(again["y"].values, ds["y"].values, atol=1e-6)
    np.testing.assert_allclose(again["Sweep Start"].values, -0.01, rtol=1e-6)
    # a second round trip changes nothing
    third = read_3ds(write_3ds(again, tmp_path / "third.3ds"))
    _assert_same_data(again, third)


def test_uneven_bias_is_written_as_segments(tmp_path):
    bias = np.array([-0.02, -0.01, -0.005, -0.0025, 0.0, 0.0025, 0.005, 0.01, 0.02])
    ds = synthetic_dataset(bias_V=bias)
    again = read_3ds(write_3ds(ds, tmp_path / "uneven.3ds"))
    assert again.attrs["Filetype"] == "MLS"
    np.testing.assert_allclose(again["bias"].values, bias, rtol=1e-12)
    np.testing.assert_array_equal(again["Current"].values, ds["Current"].values)


def test_bias_in_mV_is_written_in_volts(tmp_path):
    ds = synthetic_dataset()
    ds = ds.assign_coords(bias=("bias", ds["bias"].values * 1e3, {"units": "mV"}))
    again = read_3ds(write_3ds(ds, tmp_path / "mV.3ds"))
    np.testing.assert_allclose(again["bias"].values, np.linspace(-0.01, 0.01, 11), rtol=1e-7)
    assert again["bias"].attrs["units"] == "V"


def test_invalid_pixels_stay_nan(tmp_path):
    ds = synthetic_dataset(ny=2, nx=2)
    ds["Current"][1, 0] = np.nan
    ds["LIX 1 omega"][1, 0] = np.nan
    with pytest.warns(UserWarning, match=r"nan\.3ds: 1 of the pixels in the file are incomplete"):
        again = read_3ds(write_3ds(ds, tmp_path / "nan.3ds"))
    np.testing.assert_array_equal(again["valid"].values, [[True, True], [False, True]])
    assert np.isnan(again["Current"].values[1, 0]).all()


def test_sliced_unrotated_grid_keeps_its_positions(tmp_path):
    ds = synthetic_dataset(ny=4, nx=6)
    part = ds.isel(x=slice(2, 5), y=slice(1, 3))
    again = read_3ds(write_3ds(part, tmp_path / "part.3ds"))
    assert again.attrs["Grid dim"] == "3 x 2"
    np.testing.assert_allclose(again["x"].values, part["x"].values, atol=1e-6)
    np.testing.assert_allclose(again["y"].values, part["y"].values, atol=1e-6)


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "exists.3ds"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="exists.3ds"):
        write_3ds(synthetic_dataset(), path)
    assert path.read_bytes() == b"precious"
    write_3ds(synthetic_dataset(), path, overwrite=True)
    assert read_3ds(path)["Current"].shape == (3, 4, 11)


def test_needs_a_channel(tmp_path):
    ds = synthetic_dataset().drop_vars(["Current", "LIX 1 omega"])
    with pytest.raises(ValueError, match="no channel"):
        write_3ds(ds, tmp_path / "empty.3ds")
