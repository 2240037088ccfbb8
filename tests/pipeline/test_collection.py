"""The pipeline on spectra that are not on a grid: a line, points, repeats (issue 20).

The spectra are built as contract A's public DataArray (dims ``("spectrum", "bias")``, coords
``x``, ``y``, ``distance`` ...) from the simulated grid, whose truth says which are defects;
each test compares with an independent computation on the same spectra taken from the grid.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from stswidgets import datasets, pipeline
from stswidgets.pipeline.collection import matrix_view, needs_map, on_spectra, too_few


def spectra_from(values, bias, x=None, y=None, geometry="line", **coords):
    """Contract A's public spectra DataArray (what stswidgets.spectra.make_spectra builds)."""
    n = len(values)
    x = np.arange(n, dtype=float) if x is None else np.asarray(x, float)
    y = np.zeros(n) if y is None else np.asarray(y, float)
    coord = {
        "x": ("spectrum", x, {"units": "nm"}),
        "y": ("spectrum", y, {"units": "nm"}),
        "bias": ("bias", np.asarray(bias, float), {"units": "mV"}),
    }
    if geometry == "line":
        coord["distance"] = ("spectrum", np.hypot(x - x[0], y - y[0]), {"units": "nm"})
    coord.update({k: ("spectrum", np.asarray(v)) for k, v in coords.items()})
    return xr.DataArray(
        np.asarray(values, float),
        dims=("spectrum", "bias"),
        coords=coord,
        name="didv",
        attrs={"units": "a.u.", "channel": "didv", "source": "test", "geometry": geometry},
    )


@pytest.fixture(scope="module")
def simulated():
    data = datasets.fese_like(seed=0, shape=(24, 24), n_bias=64)
    return data


def line_through(simulated, row=None):
    """The spectra along one row of the simulated grid that crosses a vacancy, as a line."""
    vacancy = np.asarray(simulated["vacancy"])
    row = int(np.argmax(vacancy.sum(axis=1))) if row is None else row
    grid = simulated["didv"]
    return (
        spectra_from(
            grid.values[row],
            grid["bias"].values,
            x=grid["x"].values,
            y=np.full(grid.sizes["x"], float(grid["y"][row])),
        ),
        vacancy[row],
    )


def test_load_a_saved_line_keeps_its_geometry_and_spectra(tmp_path, simulated):
    line, _ = line_through(simulated)
    line[3, :5] = np.nan  # one incomplete spectrum
    path = tmp_path / "line.nc"
    line.to_dataset(name="didv").assign_attrs(line.attrs).to_netcdf(path)
    config = pipeline.config_for("test", normalize="none")
    data = pipeline.load(path, config)
    assert data.geometry == "line"
    assert data.valid.dims == ("spectrum",)
    assert len(data.X) == line.sizes["spectrum"] - 1
    expected = np.delete(line.values, 3, axis=0)
    np.testing.assert_allclose(data.X, expected, rtol=1e-6)
    assert not bool(data.valid[3]) and bool(data.valid[4])
    np.testing.assert_allclose(data.valid["distance"], line["distance"])


def test_a_grid_still_loads_as_a_grid():
    data = pipeline.load(None, pipeline.config_for("test"))
    assert data.geometry == "grid" and data.valid.dims == ("y", "x")


def test_too_few_spectra_in_a_collection_is_refused_with_the_file(tmp_path, simulated):
    line, _ = line_through(simulated)
    path = tmp_path / "one.nc"
    line[:1].to_dataset(name="didv").assign_attrs(line.attrs).to_netcdf(path)
    with pytest.raises(pipeline.InputError, match=r"one\.nc has 1 complete spectra"):
        pipeline.load(path, pipeline.config_for("test"))


def test_on_spectra_puts_values_back_on_the_spectrum_dim(simulated):
    line, _ = line_through(simulated)
    values = line.values.copy()
    values[[2, 5]] = np.nan
    X, valid = matrix_view(line.copy(data=values))
    placed = on_spectra(np.arange(len(X), dtype=float), valid)
    assert placed.dims == ("spectrum",)
    assert np.isnan(placed[2]) and np.isnan(placed[5])
    kept = np.delete(np.arange(line.sizes["spectrum"]), [2, 5])
    np.testing.assert_array_equal(placed.values[kept], np.arange(len(X)))
    np.testing.assert_allclose(placed["x"], line["x"])


def test_skip_sentences_name_the_step_and_the_reason(simulated):
    line, _ = line_through(simulated)
    data = pipeline.load(None, pipeline.config_for("test"))
    assert needs_map(data, "segmentation") is None
    small = pipeline.PipelineInput(line[:6], np.zeros((6, 64)), matrix_view(line[:6])[1], None, "t")
    assert "needs a 2D map" in needs_map(small, "the segmentation")
    assert "line of spectra" in needs_map(small, "the segmentation")
    assert too_few(small, "similarity learning") == (
        "similarity learning needs at least 8 complete spectra; this line of spectra holds 6"
    )
    assert too_few(small, "distance statistics") is None
