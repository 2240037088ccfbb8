"""The grid data model: validation errors and the to_matrix / to_map round trip."""

import numpy as np
import pytest
import xarray as xr

from stswidgets import GridError, make_grid, to_map, to_matrix, validate_grid


def _grid(ny=3, nx=4, n_bias=5, seed=0):
    values = np.random.default_rng(seed).normal(size=(ny, nx, n_bias))
    return make_grid(
        values,
        np.linspace(-2, 2, n_bias),
        x_nm=np.arange(nx) * 0.25,
        y_nm=np.arange(ny) * 0.25 + 1.0,
        units="nS",
        channel="LIX 1 omega",
        source="test.3ds",
    )


def test_make_grid_builds_the_data_model():
    grid = _grid()
    assert grid.dims == ("y", "x", "bias")
    assert grid.attrs == {"units": "nS", "channel": "LIX 1 omega", "source": "test.3ds"}
    assert grid["x"].attrs["units"] == "nm" and grid["bias"].attrs["units"] == "mV"
    np.testing.assert_allclose(grid["y"].values, [1.0, 1.25, 1.5])


def test_make_grid_sorts_a_descending_bias_axis_with_its_values():
    values = np.arange(6.0).reshape(1, 2, 3)
    grid = make_grid(values, [1.0, 0.0, -1.0])
    np.testing.assert_array_equal(grid["bias"].values, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(grid.values[0, 1], [5.0, 4.0, 3.0])
    # default axes: pixel indices
    np.testing.assert_array_equal(grid["x"].values, [0.0, 1.0])


def test_make_grid_rejects_bad_shapes():
    with pytest.raises(GridError, match=r"shape \(ny, nx, n_bias\)"):
        make_grid(np.zeros((3, 4)), np.arange(4.0))
    with pytest.raises(GridError, match=r"bias_mV has shape \(3,\), expected \(4,\)"):
        make_grid(np.zeros((2, 2, 4)), np.arange(3.0))


def test_validate_grid_errors_name_the_problem():
    with pytest.raises(GridError, match="expected an xarray.DataArray.*got ndarray"):
        validate_grid(np.zeros((2, 2, 2)))
    with pytest.raises(GridError, match=r"has dims \('x', 'y', 'bias'\)"):
        validate_grid(xr.DataArray(np.zeros((2, 2, 3)), dims=("x", "y", "bias")))
    with pytest.raises(GridError, match="1 bias point"):
        validate_grid(xr.DataArray(np.zeros((2, 2, 1)), dims=("y", "x", "bias")))
    with pytest.raises(GridError, match="not strictly ascending"):
        validate_grid(
            xr.DataArray(
                np.zeros((1, 1, 3)), dims=("y", "x", "bias"), coords={"bias": [0.0, 2.0, 1.0]}
            )
        )
    with pytest.raises(GridError, match="non-finite bias"):
        validate_grid(
            xr.DataArray(
                np.zeros((1, 1, 2)), dims=("y", "x", "bias"), coords={"bias": [0.0, np.nan]}
            )
        )
    all_nan = make_grid(np.full((2, 2, 3), np.nan), np.arange(3.0), source="aborted.3ds")
    with pytest.raises(GridError, match="from aborted.3ds has no complete spectrum"):
        to_matrix(all_nan)
    with pytest.raises(GridError, match="holds <U1 values, expected numbers"):
        to_matrix(
            xr.DataArray(
                np.full((1, 1, 2), "a"), dims=("y", "x", "bias"), coords={"bias": [0.0, 1.0]}
            )
        )


def test_to_matrix_takes_complete_spectra_in_row_major_order():
    grid = _grid()
    values = grid.values.copy()
    values[0, 1, 2] = np.nan
    values[2, 3, 0] = np.inf
    grid = grid.copy(data=values)
    X, valid = to_matrix(grid)
    expected_valid = np.ones((3, 4), dtype=bool)
    expected_valid[0, 1] = expected_valid[2, 3] = False
    np.testing.assert_array_equal(np.asarray(valid), expected_valid)
    assert X.dtype == np.float32 and X.shape == (10, 5)
    rows = [values[y, x] for y in range(3) for x in range(4) if expected_valid[y, x]]
    np.testing.assert_allclose(X, np.array(rows, dtype=np.float32))
    assert valid.dims == ("y", "x")
    np.testing.assert_array_equal(valid["y"].values, grid["y"].values)


def test_to_matrix_to_map_round_trip():
    grid = _grid(ny=5, nx=6, n_bias=7, seed=3)
    values = grid.values.copy()
    values[4, 5] = np.nan
    grid = grid.copy(data=values)
    X, valid = to_matrix(grid)
    back = to_map(X, valid)  # (n_valid, n_bias) -> (ny, nx, n_bias)
    assert back.dims == ("y", "x", "component")
    np.testing.assert_allclose(back.values[:4], values[:4].astype(np.float32))
    assert np.isnan(back.values[4, 5]).all()
    np.testing.assert_array_equal(back["x"].values, grid["x"].values)
    # one value per spectrum: the mean spectrum value
    mean_map = to_map(X.mean(axis=1), valid)
    assert mean_map.dims == ("y", "x") and mean_map.dtype == np.float64
    np.testing.assert_allclose(mean_map.values[0, 0], values[0, 0].astype(np.float32).mean())
    # a numpy mask gives a numpy map; bool values are promoted with NaN where invalid
    flags = to_map(np.ones(X.shape[0], dtype=bool), np.asarray(valid))
    assert isinstance(flags, np.ndarray) and flags.dtype == np.float64
    assert np.isnan(flags[4, 5]) and np.nansum(flags) == X.shape[0]


def test_to_map_rejects_mismatched_values_and_masks():
    valid = np.ones((2, 3), dtype=bool)
    with pytest.raises(GridError, match="mask has 6 valid pixels"):
        to_map(np.zeros(5), valid)
    with pytest.raises(GridError, match="2D"):  # a 1D mask is spectra off a grid
        to_map(np.zeros(6), np.ones((1, 2, 3), dtype=bool))
    with pytest.raises(GridError, match="one row per valid spectrum"):
        to_map(np.float64(1.0), valid)


def test_make_grid_rejects_axes_of_the_wrong_length():
    with pytest.raises(GridError, match=r"x_nm has shape \(3,\), expected \(4,\)"):
        make_grid(np.zeros((2, 4, 5)), np.arange(5.0), x_nm=np.arange(3.0))


def test_validate_grid_needs_a_bias_coordinate():
    with pytest.raises(GridError, match="no 'bias' coordinate"):
        validate_grid(xr.DataArray(np.zeros((2, 2, 3)), dims=("y", "x", "bias")))


def test_map_extent_runs_to_the_outer_pixel_edges():
    from stswidgets import map_extent

    grid = _grid(ny=3, nx=4)  # x = 0, 0.25, 0.5, 0.75; y = 1.0, 1.25, 1.5
    assert map_extent(grid) == pytest.approx([-0.125, 0.875, 0.875, 1.625])
    line = make_grid(np.zeros((1, 5, 3)), np.arange(3.0), x_nm=np.arange(5) * 0.5, y_nm=[2.0])
    assert map_extent(line) == pytest.approx([-0.25, 2.25, 1.75, 2.25])
    with pytest.raises(GridError, match="'x' and 'y' coordinates"):
        map_extent(xr.DataArray(np.zeros((2, 2)), dims=("y", "x")))


def test_check_spectra_is_the_one_input_check():
    from stswidgets.grid import check_spectra

    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = check_spectra(X)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, X)
    assert check_spectra(X, dtype=None) is X  # float32 kept, no copy
    assert check_spectra([[1, 2], [3, 4]], dtype=None).dtype == np.float64
    with pytest.raises(ValueError, match=r"X must be a 2D array .*got shape \(4,\).*to_matrix"):
        check_spectra(np.ones(4))
    with pytest.raises(ValueError, match="X_surface holds 1 spectra; .* at least 2 spectra"):
        check_spectra(np.ones((1, 4)), name="X_surface")
    with pytest.raises(ValueError, match=r"1 bias point\(s\) per spectrum; .* at least 2"):
        check_spectra(np.ones((3, 1)))
    assert check_spectra(np.ones((3, 1)), min_bias=1).shape == (3, 1)
    with pytest.raises(ValueError, match="object values"):
        check_spectra(np.array([["a", 1]], dtype=object))
    with pytest.raises(ValueError, match="complex"):
        check_spectra(np.ones((3, 2), dtype=complex))
    bad = np.ones((6, 3))
    bad[2, 0] = np.nan
    bad[4, 1] = np.nan
    bad[5, 2] = np.inf
    with pytest.raises(
        ValueError, match=r"NaN in 2 and infinite values in 1 of its 6 spectra \(first at row 2\)"
    ):
        check_spectra(bad)
    negative = np.ones((3, 2))
    negative[1, 1] = -0.5
    check_spectra(negative)  # allowed by default
    with pytest.raises(ValueError, match=r"non-negative.*1 spectra.*row 1, smallest -0.5"):
        check_spectra(negative, allow_negative=False)
