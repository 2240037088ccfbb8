"""The notebook series registry, parameter injection and shared results."""

import json

import nbformat
import numpy as np
import pytest
import xarray as xr

from stswidgets import __version__, pipeline, series


def test_every_notebook_of_the_series_exists_and_the_profiles_are_the_pipelines():
    for name in series.NOTEBOOKS:
        assert series.notebook_path(name).exists()
    assert series.PROFILE_NAMES == tuple(pipeline.PROFILES)
    with pytest.raises(FileNotFoundError, match="99_none"):
        series.notebook_path("99_none")


def test_parameters_for_is_the_profile_and_the_overrides():
    name = series.NOTEBOOKS[0]
    params = series.parameters_for(name, "test", seed=3, settings={"max_epochs": 2})
    assert params == {"profile": "test", "seed": 3, "settings": {"max_epochs": 2}}
    assert series.parameters_for(name, "full") == {"profile": "full"}
    with pytest.raises(ValueError, match="profile"):
        series.parameters_for(name, "huge")
    with pytest.raises(FileNotFoundError):
        series.parameters_for("99_none", "test")


def test_prepare_injects_parameters_after_the_tagged_cell(tmp_path):
    written = series.prepare(tmp_path, profile="test", only=["01"], seed=7)
    assert [p.name for p in written] == ["01_data_and_segmentation.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    injected = nb.cells[at + 1]
    assert "injected-parameters" in injected.metadata["tags"]
    assigned = {}
    exec(injected.source, {}, assigned)  # the injected cell is plain assignments
    assert assigned == {"profile": "test", "seed": 7}


def _map(values, name):
    return xr.DataArray(
        values, dims=("y", "x"), coords={"y": [0.0, 0.5], "x": [0.0, 0.5, 1.0]}, name=name
    )


def test_save_results_merges_and_replaces(tmp_path):
    assert series.save_results(None, a=_map(np.zeros((2, 3)), "a")) is None
    assert series.load_results(None) is None
    assert series.load_results(tmp_path) is None

    valid = _map(np.array([[True, False, True], [True, True, True]]), "valid")
    series.save_results(tmp_path, valid=valid, score=_map(np.arange(6.0).reshape(2, 3), "score"))
    series.save_results(
        tmp_path, score=_map(-np.ones((2, 3)), "score"), pc1=_map(np.full((2, 3), 2.0), "pc1")
    )
    ds = series.load_results(tmp_path)
    assert set(ds.data_vars) == {"valid", "score", "pc1"}
    np.testing.assert_array_equal(ds["score"].values, -np.ones((2, 3)))
    np.testing.assert_array_equal(ds["valid"].values.astype(bool), valid.values)
    assert ds["valid"].attrs["flag"] == "boolean"
    np.testing.assert_array_equal(ds["x"].values, [0.0, 0.5, 1.0])


def test_prepare_cli_writes_copies(tmp_path, capsys):
    assert series._main(["prepare", str(tmp_path), "--profile", "quick", "--only", "01"]) == 0
    out = capsys.readouterr().out
    assert "01_data_and_segmentation.ipynb" in out
    assert json.loads((tmp_path / "01_data_and_segmentation.ipynb").read_text())["cells"]


# -- results.nc: self-describing (CF-1.8 style) ---------------------------------------------


def _grid_with_geometry():
    from stswidgets import make_grid

    values = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    grid = make_grid(values, np.linspace(-2.0, 2.0, 4), x_nm=[0.0, 0.5, 1.0], y_nm=[0.0, 0.5])
    return grid.assign_attrs(
        units="nS",
        channel="LI Demod 1 X (in phase)",
        source="/data/pb.3ds",
        lockin_phase_deg=37.5,
        scan_angle_deg=15.0,
        scan_center_x_nm=120.0,
        scan_center_y_nm=-40.0,
        scan_width_nm=900.0,
        scan_height_nm=900.0,
        scan_pattern="serpentine",
    )


def test_results_round_trip_with_provenance_units_and_flags(tmp_path):
    from stswidgets.results import RESULT_VARIABLES

    grid = _grid_with_geometry()
    series.start_results(
        tmp_path, grid=grid, seed=4, profile="quick", command="stswidgets run pb.3ds --quick"
    )
    band = _map(np.array([[0.0, 1.0, np.nan], [2.0, 0.0, 1.0]]), "site_class")
    names = ["majority", "transition", "minority"]
    band = band.assign_attrs(flag_values=[0, 1, 2], flag_meanings=" ".join(names))
    site_class_mean = xr.DataArray(
        np.ones((3, 4)),
        dims=("site_class_name", "bias"),
        coords={"site_class_name": names, "bias": grid["bias"].values},
    )
    series.save_results(
        tmp_path,
        valid=_map(np.array([[True, False, True], [True, True, True]]), "valid"),
        pc1=_map(np.arange(6.0).reshape(2, 3), "pc1"),
        site_class=band,
        site_class_mean=site_class_mean,
    )
    with xr.open_dataset(tmp_path / "results.nc") as ds:
        ds = ds.load()
    assert ds.attrs["source"] == "/data/pb.3ds" and ds.attrs["channel"] == grid.attrs["channel"]
    assert ds.attrs["seed"] == 4 and ds.attrs["profile"] == "quick"
    assert ds.attrs["command"] == "stswidgets run pb.3ds --quick"
    assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["signal_units"] == "nS"
    assert ds.attrs["stswidgets_version"] == __version__
    for key in ("lockin_phase_deg", "scan_angle_deg", "scan_center_x_nm", "scan_width_nm"):
        assert ds.attrs[key] == grid.attrs[key], key
    assert ds.attrs["scan_pattern"] == "serpentine"
    for name in ds.variables:
        if name == "site_class_name":
            continue
        assert ds[name].attrs.get("units"), f"{name} has no units"
        assert ds[name].attrs.get("long_name"), f"{name} has no long_name"
    assert ds["x"].attrs["units"] == "nm" and ds["bias"].attrs["units"] == "mV"
    assert ds["pc1"].attrs["units"] == "nS" and ds["site_class_mean"].attrs["units"] == "nS"
    assert ds["pc1"].attrs["long_name"] == RESULT_VARIABLES["pc1"]["long_name"]
    # band: int8, -1 where it was NaN, the notebook's flags with "unmeasured" added
    assert ds["site_class"].dtype == np.int8
    np.testing.assert_array_equal(ds["site_class"].values, [[0, 1, -1], [2, 0, 1]])
    np.testing.assert_array_equal(ds["site_class"].attrs["flag_values"], [-1, 0, 1, 2])
    assert ds["site_class"].attrs["flag_meanings"] == "unmeasured majority transition minority"
    assert ds["valid"].dtype == np.int8 and ds["valid"].attrs["flag"] == "boolean"
    # merging later results keeps the provenance
    series.save_results(tmp_path, score=_map(np.zeros((2, 3)), "score"))
    again = series.load_results(tmp_path)
    assert again.attrs["command"] == ds.attrs["command"] and "site_class" in again
    assert again["score"].attrs["units"] == "1"


def test_integer_band_with_more_minority_kinds_keeps_its_flags(tmp_path):
    band = _map(np.array([[0, 1, 2], [3, 3, 0]], dtype=np.int64), "site_class").assign_attrs(
        flag_values=[0, 1, 2, 3], flag_meanings="majority transition minority_1 minority_2"
    )
    series.save_results(tmp_path, site_class=band)
    with xr.open_dataset(tmp_path / "results.nc") as ds:
        assert ds["site_class"].dtype == np.int8
        np.testing.assert_array_equal(ds["site_class"].values, band.values)
        np.testing.assert_array_equal(ds["site_class"].attrs["flag_values"], [-1, 0, 1, 2, 3])
        meanings = ds["site_class"].attrs["flag_meanings"].split()
        assert meanings == ["unmeasured", "majority", "transition", "minority_1", "minority_2"]
        assert ds.attrs["Conventions"] == "CF-1.8" and "date_created" in ds.attrs


def test_save_results_takes_provenance_from_the_grid(tmp_path):
    grid = _grid_with_geometry()
    series.save_results(tmp_path, grid=grid, pc2=_map(np.ones((2, 3)), "pc2"))
    ds = series.load_results(tmp_path)
    assert ds.attrs["source"] == "/data/pb.3ds" and ds.attrs["lockin_phase_deg"] == 37.5
    assert ds["pc2"].attrs["units"] == "nS"


def test_bad_class_maps_and_unknown_variables(tmp_path):
    with pytest.raises(ValueError, match="'site_class' holds non-integer"):
        series.save_results(tmp_path, site_class=_map(np.full((2, 3), 0.5), "site_class"))
    two_meanings = _map(np.zeros((2, 3)), "site_class").assign_attrs(
        flag_values=[0, 1, 2], flag_meanings="a b"
    )
    with pytest.raises(ValueError, match="3 flag_values but 2 flag_meanings"):
        series.save_results(tmp_path, site_class=two_meanings)
    with pytest.warns(UserWarning, match="'mystery' has no units"):
        series.save_results(tmp_path, mystery=_map(np.zeros((2, 3)), "mystery"))
    assert series.load_results(tmp_path)["mystery"].attrs["units"] == "1"


def test_results_of_a_grid_without_positions_say_pixel_index(tmp_path):
    from stswidgets.io.open import PIXEL_POSITIONS

    grid = _grid_with_geometry().assign_attrs(
        positions=PIXEL_POSITIONS, derived="numerical derivative of Current along the bias"
    )
    series.save_results(tmp_path, grid=grid, pc2=_map(np.ones((2, 3)), "pc2"))
    ds = series.load_results(tmp_path)
    assert ds.attrs["positions"] == PIXEL_POSITIONS
    assert ds.attrs["derived"].startswith("numerical derivative of Current")
    assert ds["x"].attrs["units"] == "1" and ds["y"].attrs["long_name"] == "y pixel index"
    positioned = tmp_path / "nm"
    series.save_results(positioned, grid=_grid_with_geometry(), pc2=_map(np.ones((2, 3)), "pc2"))
    assert series.load_results(positioned)["x"].attrs["units"] == "nm"
