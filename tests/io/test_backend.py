"""xarray.open_dataset(path, engine="stswidgets")."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from nanonis_files import synthetic_dataset

from stswidgets.io import read_3ds, write_3ds
from stswidgets.io._backend import StswidgetsBackendEntrypoint


@pytest.fixture
def written(tmp_path):
    return write_3ds(synthetic_dataset(ny=2, nx=3), tmp_path / "written.3ds")


def test_engine_is_registered():
    assert "stswidgets" in xr.backends.list_engines()


def test_open_dataset_matches_read_3ds(written):
    reference = read_3ds(written)
    for ds in (xr.open_dataset(written, engine="stswidgets"), xr.open_dataset(written)):
        for name in reference.data_vars:
            np.testing.assert_array_equal(ds[name].values, reference[name].values)
        np.testing.assert_array_equal(ds["bias"].values, reference["bias"].values)
        assert ds.attrs["Channels"] == reference.attrs["Channels"]


def test_drop_variables_and_guess(written, tmp_path):
    ds = xr.open_dataset(written, engine="stswidgets", drop_variables=["Current"])
    assert "Current" not in ds and "LIX 1 omega" in ds
    backend = StswidgetsBackendEntrypoint()
    renamed = tmp_path / "grid.dat"  # recognised by content, not by name
    renamed.write_bytes(written.read_bytes())
    assert backend.guess_can_open(written) and backend.guess_can_open(renamed)
    assert not backend.guess_can_open(tmp_path / "missing.3ds")
    xr.Dataset({"a": ("t", [1.0])}).to_netcdf(tmp_path / "other.3ds")
    assert not backend.guess_can_open(tmp_path / "other.3ds")  # netCDF: xarray's engines
    assert "Nanonis" in backend.description and "Createc" in backend.description


def test_real_file_through_xarray(grid_30x30):
    ds = xr.open_dataset(grid_30x30, engine="stswidgets")
    np.testing.assert_array_equal(ds["LockinX"].values, read_3ds(grid_30x30)["LockinX"].values)
    assert ds.attrs["Date"] == "04.06.2016 20:13:23"
