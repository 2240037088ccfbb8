"""The notebook helpers: grid warnings, bias cell edges, markers, population names."""

from __future__ import annotations

import time

import numpy as np
import pytest

from stswidgets import datasets, make_grid
from stswidgets.notebook import (
    bias_edges,
    grid_warnings,
    line_marker,
    population_names,
    print_summary,
    show_warnings,
)

MLS_BIAS = [-4.0, -2.5, -1.7, -1.2, -0.8, 0.0, 2.0]  # an uneven multi-level sweep, mV


def _grid(ny, nx, bias, nan_pixels=0):
    values = np.random.default_rng(0).normal(1, 0.1, (ny, nx, len(bias)))
    values.reshape(-1, len(bias))[:nan_pixels] = np.nan
    return make_grid(values, np.asarray(bias, float), x_nm=np.arange(nx), y_nm=np.arange(ny))


def test_no_warning_on_the_simulated_default_grid():
    assert grid_warnings(datasets.fese_like(seed=0, shape=(30, 30), n_bias=64)["didv"]) == []


def test_warnings_name_what_is_unreliable():
    messages = grid_warnings(_grid(10, 12, MLS_BIAS, nan_pixels=5))
    text = "\n".join(messages)
    assert len(messages) == 4
    assert "only 7 bias points (< 32)" in text
    assert "only 115 complete spectra (< 400)" in text
    assert "uneven bias spacing (steps from 0.4 to 2" in text
    assert "5 of 120 pixels have no complete spectrum" in text
    line = grid_warnings(_grid(1, 32, np.linspace(-4, 2, 401)))
    assert any("a line of 32 spectra" in m for m in line)
    # even spacing within float rounding is no warning; the limits can be changed
    assert grid_warnings(_grid(20, 20, np.linspace(-1, 1, 40)), min_spectra=100) == []


def test_show_warnings_prints_a_visible_block(capsys):
    messages = show_warnings(_grid(10, 10, MLS_BIAS))
    out = capsys.readouterr().out
    assert out.startswith("!!!") and all(m in out for m in messages)
    show_warnings(_grid(20, 20, np.linspace(-1, 1, 40)), min_spectra=100)
    assert capsys.readouterr().out == ""


def test_bias_edges_put_every_point_in_its_own_cell():
    edges = bias_edges(MLS_BIAS)
    np.testing.assert_allclose(edges, [-4.75, -3.25, -2.1, -1.45, -1.0, -0.4, 1.0, 3.0])
    # every point lies inside its cell, cells touch, descending sweeps work too
    bias = np.asarray(MLS_BIAS)
    assert np.all((edges[:-1] < bias) & (bias < edges[1:]))
    np.testing.assert_allclose(bias_edges(bias[::-1]), edges[::-1])
    np.testing.assert_allclose(bias_edges([1.0]), [0.5, 1.5])
    with pytest.raises(ValueError, match="1D"):
        bias_edges(np.zeros((2, 2)))


def test_markers_names_and_summary(capsys):
    assert line_marker(7) == "o" and line_marker(512) == ""
    assert population_names(True)["minority"] == "vacancy"
    assert population_names(False) == {
        "minority": "minority",
        "majority": "majority",
        "transition": "transition",
    }
    print_summary(["one", "two"], time.perf_counter() - 2.0, ["w"])
    out = capsys.readouterr().out
    assert "What this shows:\n  - one\n  - two" in out and "1 warning(s)" in out
    assert float(out.split("run time ")[1].split(" s")[0]) >= 2.0


def test_warning_for_a_channel_that_agrees_poorly_with_the_current():
    grid = _grid(20, 20, np.linspace(-1, 1, 40))
    grid.attrs.update(channel="Lockin-X", channel_agreement=0.03)
    messages = grid_warnings(grid, min_spectra=100)
    assert len(messages) == 1 and "'Lockin-X' agrees poorly" in messages[0]
    assert "r = 0.03" in messages[0]
    grid.attrs["channel_agreement"] = 0.9
    assert grid_warnings(grid, min_spectra=100) == []


def test_warning_for_a_grid_without_recorded_positions():
    """A file that records no tip positions (Createc without its .specgrid.dat): open_grid
    marks x/y as pixel indices, and the notebooks say so."""
    import xarray as xr

    from stswidgets.io import open_grid
    from stswidgets.io.open import PIXEL_POSITIONS

    values = np.random.default_rng(0).normal(1, 0.1, (20, 20, 40))
    pixel = {"units": "pixel"}
    ds = xr.Dataset(
        {"didv": (("y", "x", "bias"), values, {"units": "a.u."})},
        coords={"x": ("x", np.arange(20.0), pixel), "y": ("y", np.arange(20.0), pixel),
                "bias": ("bias", np.linspace(-1, 1, 40), {"units": "mV"})},
    )  # fmt: skip
    grid = open_grid(ds)
    assert grid.attrs["positions"] == PIXEL_POSITIONS
    np.testing.assert_array_equal(grid["x"].values, np.arange(20.0))
    messages = grid_warnings(grid, min_spectra=100)
    assert len(messages) == 1 and "x/y are pixel indices" in messages[0]
    positioned = open_grid(ds.assign_coords(x=ds["x"].assign_attrs(units="nm"),
                                            y=ds["y"].assign_attrs(units="nm")))  # fmt: skip
    assert "positions" not in positioned.attrs
    with pytest.raises(ValueError, match="x units 'furlong' not understood"):
        open_grid(ds.assign_coords(x=ds["x"].assign_attrs(units="furlong")))
