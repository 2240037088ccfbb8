"""Every format recognised by content, not by name: detect_format, open_grid, the xarray engine.

The vendor readers live in their own modules (``stswidgets.io.rhk``, ...); a test of a vendor
file is skipped while its reader module is absent, and when the shared real files are.
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from nanonis_files import GRID_30, LINE_32, REAL_DIR, synthetic_dataset
from vendor_files import IDS, VENDOR_DIR, VENDORS, vendor_file

from stswidgets import to_matrix
from stswidgets.io import FORMATS, FormatError, detect_format, open_grid, read_file, save_grid
from stswidgets.io._backend import StswidgetsBackendEntrypoint
from stswidgets.io.formats import HEAD_BYTES, Format, saved_grid_kind
from stswidgets.io.open import PIXEL_POSITIONS


def renamed_copy(path: Path, tmp_path: Path, name: str = "measurement.dat") -> Path:
    """A copy of ``path`` under a name that says nothing about its format."""
    target = tmp_path / name
    shutil.copyfile(path, target)
    return target


def format_of(module: str) -> Format:
    return next(fmt for fmt in FORMATS if fmt.module == module)


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
@pytest.mark.parametrize("name", ["measurement.dat", "no_suffix", "grid.3ds"])
def test_vendor_file_detected_by_content(vendor, name, tmp_path):
    copy = renamed_copy(vendor_file(vendor), tmp_path, name)
    assert detect_format(copy) == format_of(vendor.module)


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_looks_like_claims_only_its_own_files(vendor):
    """Each reader's looks_like against every shared real file (vendors and Nanonis)."""
    vendor_file(vendor)
    module = importlib.import_module(vendor.module)
    files = sorted(VENDOR_DIR.glob("*")) + [REAL_DIR / GRID_30, REAL_DIR / LINE_32]
    for path in files:
        head = path.read_bytes()[:HEAD_BYTES]
        assert module.looks_like(head) == (path.name == vendor.file), path.name


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_open_grid_reads_the_vendor_file(vendor, tmp_path):
    copy = renamed_copy(vendor_file(vendor), tmp_path)
    grid = open_grid(copy)
    assert grid.shape == vendor.shape
    bias = grid["bias"].values
    assert np.all(np.diff(bias) > 0) and grid["bias"].attrs["units"] == "mV"
    np.testing.assert_allclose(bias[[0, -1]], vendor.bias_mV, atol=0.1)
    assert grid["x"].attrs["units"] == "nm" and np.all(np.diff(grid["x"].values) > 0)
    assert len(to_matrix(grid)[0]) == vendor.n_complete
    if vendor.derived:
        assert grid.attrs["derived"] == f"numerical derivative of {vendor.channel} along the bias"
        assert grid.attrs["units"] == "A/V" or grid.attrs["units"].endswith("/V")
    else:
        assert "derived" not in grid.attrs and vendor.channel in grid.attrs["channel"]
    assert grid.attrs["source"] == str(copy)
    if vendor.module == "stswidgets.io.createc":  # no .specgrid.dat beside it: no positions
        assert grid.attrs["positions"] == PIXEL_POSITIONS
    else:
        assert "positions" not in grid.attrs


def test_nanosurf_clipped_current_is_reported(tmp_path):
    vendor = VENDORS[2]
    grid = open_grid(vendor_file(vendor))
    assert grid.attrs["n_saturated_spectra"] >= 140  # README: 146 spectra clip at +-20 nA


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_xarray_engine_reads_the_vendor_file(vendor, tmp_path):
    copy = renamed_copy(vendor_file(vendor), tmp_path)
    assert StswidgetsBackendEntrypoint().guess_can_open(copy)
    dataset = xr.open_dataset(copy, engine="stswidgets")
    reference = read_file(copy)
    assert list(dataset.data_vars) == list(reference.data_vars)
    for name in reference.data_vars:
        np.testing.assert_array_equal(dataset[name].values, reference[name].values)


@pytest.mark.parametrize("name", [GRID_30, LINE_32])
def test_nanonis_file_detected_by_content(name, tmp_path):
    path = REAL_DIR / name
    if not path.is_file():
        pytest.skip(f"real Nanonis file {name} not found in {REAL_DIR}")
    copy = renamed_copy(path, tmp_path, "grid.sm4")  # a misleading suffix
    assert detect_format(copy).module == "stswidgets.io.nanonis"
    np.testing.assert_array_equal(open_grid(copy).values, open_grid(path).values)


def test_unknown_content_lists_the_formats(tmp_path):
    for name, content in [("noise.3ds", bytes(range(256)) * 8), ("empty.sm4", b"")]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(FormatError, match=rf"{name}: not a grid spectroscopy file") as error:
            open_grid(path)
        for fmt in FORMATS:
            assert fmt.name in str(error.value)
        assert ".npz/.nc files stswidgets.io.save_grid writes" in str(error.value)
        assert not StswidgetsBackendEntrypoint().guess_can_open(path)
        with pytest.raises(FormatError, match=name):
            xr.open_dataset(path, engine="stswidgets")


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_saved_grid_recognised_by_content(suffix, tmp_path):
    grid = open_grid(synthetic_dataset(ny=2, nx=3), channel="LIX")
    path = save_grid(grid, tmp_path / f"grid{suffix}")
    copy = renamed_copy(path, tmp_path, "saved.bin")
    np.testing.assert_array_equal(open_grid(copy).values, grid.values)
    assert saved_grid_kind(copy.read_bytes()[:8]) == {".npz": "npz", ".nc": "netCDF"}[suffix]
    dataset = xr.open_dataset(copy, engine="stswidgets")  # the engine reads them when named
    np.testing.assert_array_equal(dataset["didv"].values, grid.values)
    assert not StswidgetsBackendEntrypoint().guess_can_open(copy)  # but leaves them to xarray


def test_saved_grid_signatures():
    assert saved_grid_kind(b"CDF\x01rest") == "netCDF"
    assert saved_grid_kind(b"\x89HDF\r\n\x1a\nrest") == "netCDF"
    assert saved_grid_kind(b"PK\x03\x04rest") == "npz"
    assert saved_grid_kind(b'Grid dim="3 x 3"') is None


def test_reader_module_absent_is_no_match():
    missing = Format("Nothing", (".none",), "stswidgets.io.not_a_reader", "read_nothing")
    assert missing.looks_like(b"anything") is False
