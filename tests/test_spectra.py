"""stswidgets.spectra: the (spectrum, bias) model, its geometry, averaging, and to_matrix/to_map."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import stswidgets
from stswidgets import GridError, to_map, to_matrix
from stswidgets.spectra import (
    SPECTRA_DIMS,
    average_spectra,
    is_spectra,
    make_spectra,
    spot_geometry,
    validate_spectra,
)


def _values(n=5, nb=7, seed=0):
    return np.random.default_rng(seed).normal(size=(n, nb))


def test_make_spectra_sorts_the_bias_and_records_the_geometry():
    values = _values()
    bias = np.linspace(100, -100, 7)  # a sweep from + to -
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    spectra = make_spectra(values, bias, x, 2 * x, geometry="line", units="A", source="f.dat")
    assert spectra.dims == SPECTRA_DIMS and is_spectra(spectra)
    np.testing.assert_array_equal(spectra["bias"].values, bias[::-1])
    np.testing.assert_array_equal(spectra.values, values[:, ::-1])
    np.testing.assert_allclose(spectra["distance"].values, np.hypot(x, 2 * x))
    assert spectra.attrs["geometry"] == "line" and spectra.attrs["units"] == "A"
    assert spectra["x"].attrs["units"] == "nm"
    points = make_spectra(values, -bias)  # no positions: NaN, no distance
    assert np.isnan(points["x"].values).all() and "distance" not in points.coords


def test_validate_spectra_names_what_is_wrong():
    spectra = make_spectra(_values(), np.arange(7.0))
    with pytest.raises(GridError, match="dims"):
        validate_spectra(spectra.T)
    with pytest.raises(GridError, match="strictly ascending"):
        validate_spectra(spectra.assign_coords(bias=spectra["bias"].values[::-1]))
    with pytest.raises(GridError, match="geometry 'grid'"):
        validate_spectra(spectra.assign_attrs(geometry="grid"))
    with pytest.raises(GridError, match="'x' coordinate"):
        validate_spectra(spectra.drop_vars("x"))
    with pytest.raises(GridError, match="distance_nm is given"):
        make_spectra(_values(), np.arange(7.0), distance_nm=np.arange(5.0))
    assert not is_spectra(stswidgets.make_grid(np.zeros((2, 2, 3)), np.arange(3.0)))
    assert not is_spectra(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        ([5.0, 5.0, 5.0], [1.0, 1.0, 1.0], "repeats"),
        ([0.0, 1.0, 2.0, 3.0], [0.0, 0.5, 1.0, 1.5], "line"),
        ([0.0, 1.0, 2.0, 3.0], [0.0, 0.5, 3.0, 1.5], "points"),
        ([0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], "points"),  # two distinct positions
        ([0.0, np.nan, 2.0], [0.0, 0.0, 0.0], "points"),  # a position unknown
    ],
)
def test_spot_geometry(x, y, expected):
    assert spot_geometry(x, y) == expected


def test_to_matrix_and_to_map_on_spectra_keep_the_coordinates():
    values = _values(6, 4)
    values[2, 3] = np.nan  # an incomplete spectrum
    spectra = make_spectra(values, np.arange(4.0), np.arange(6.0), np.zeros(6), geometry="line")
    spectra = spectra.assign_coords(file=("spectrum", [f"s{i}.dat" for i in range(6)]))
    X, valid = to_matrix(spectra)
    assert X.shape == (5, 4) and X.dtype == np.float32
    assert valid.dims == ("spectrum",)
    np.testing.assert_array_equal(valid.values, [True, True, False, True, True, True])
    np.testing.assert_allclose(X, values[[0, 1, 3, 4, 5]], rtol=1e-6)
    mapped = to_map(X[:, 0], valid)
    assert mapped.dims == ("spectrum",)
    assert list(mapped["file"].values) == list(spectra["file"].values)
    np.testing.assert_allclose(mapped["distance"].values, np.arange(6.0))
    assert np.isnan(mapped.values[2])
    np.testing.assert_allclose(mapped.values[[0, 1, 3]], values[[0, 1, 3], 0], rtol=1e-6)
    components = to_map(np.ones((5, 3)), valid)
    assert components.dims == ("spectrum", "component") and components.shape == (6, 3)
    plain = to_map(X[:, 0], valid.values)
    assert isinstance(plain, np.ndarray) and plain.shape == (6,)
    with pytest.raises(GridError, match="5 valid"):
        to_map(np.ones(4), valid)


def test_average_over_repetition_groups_each_spot():
    values = _values(5, 3)
    values[1, 2] = np.nan  # a repeat cut short: only its measured points count
    spectra = make_spectra(
        values,
        np.arange(3.0),
        [0.0, 0.0, 4.0, 4.0, 4.0],
        np.zeros(5),
        repetition=[0, 1, 0, 1, 2],
    )
    mean = average_spectra(spectra)
    assert mean.sizes["spectrum"] == 2 and "repetition" not in mean.coords
    expected0 = [values[:2, 0].mean(), values[:2, 1].mean(), values[0, 2]]
    np.testing.assert_allclose(mean.values[0], expected0)
    np.testing.assert_allclose(mean.values[1], values[2:].mean(axis=0))
    np.testing.assert_array_equal(mean["n_averaged"].values, [2, 3])
    np.testing.assert_array_equal(mean["x"].values, [0.0, 4.0])
    with pytest.raises(GridError, match="no 'repetition'"):
        average_spectra(mean)
    with pytest.raises(ValueError, match="over='time'"):
        average_spectra(spectra, over="time")


def test_repeats_at_one_spot_average_to_one_point():
    values = _values(4, 3)
    spectra = make_spectra(
        values, np.arange(3.0), np.ones(4), np.ones(4), geometry="repeats", repetition=range(4)
    )
    mean = average_spectra(spectra, over="repetition")
    assert mean.attrs["geometry"] == "points" and mean.shape == (1, 3)
    np.testing.assert_allclose(mean.values[0], values.mean(axis=0))


def test_average_over_direction_pairs_forward_and_backward():
    dims = SPECTRA_DIMS
    forward, backward, other = _values(3, 4, 1), _values(3, 4, 2), _values(3, 4, 3)
    dataset = xr.Dataset(
        {
            "Current": (dims, forward, {"units": "A"}),
            "Current [bwd]": (dims, backward, {"units": "A"}),
            "Z": (dims, other),
        }
    )
    mean = average_spectra(dataset, over="direction")
    assert set(mean.data_vars) == {"Current", "Z"}
    np.testing.assert_allclose(mean["Current"].values, (forward + backward) / 2)
    np.testing.assert_array_equal(mean["Z"].values, other)
    assert mean["Current"].attrs["units"] == "A" and "backward" in mean["Current"].attrs["averaged"]
    with pytest.raises(GridError, match="both sweep directions"):
        average_spectra(make_spectra(forward, np.arange(4.0)), over="direction")
