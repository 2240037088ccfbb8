"""The notebook series registry, parameter injection and shared results."""

import json

import nbformat
import numpy as np
import pytest
import xarray as xr

from stswidgets import series


def test_every_notebook_of_the_series_exists_and_has_profiles():
    for name in series.NOTEBOOKS:
        assert series.notebook_path(name).exists()
        assert name in series.QUICK and name in series.TEST


def test_parameters_for_merges_profile_and_overrides():
    name = series.NOTEBOOKS[0]
    params = series.parameters_for(name, "test", seed=3)
    assert params["seed"] == 3
    assert params["ny"] == series.TEST[name]["ny"]
    assert series.parameters_for(name, "full") == {}
    with pytest.raises(ValueError, match="profile"):
        series.parameters_for(name, "huge")


def test_prepare_injects_parameters_after_the_tagged_cell(tmp_path):
    written = series.prepare(tmp_path, profile="test", only=["01"], seed=7)
    assert [p.name for p in written] == ["01_data_and_segmentation.ipynb"]
    nb = nbformat.read(written[0], as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    injected = nb.cells[at + 1]
    assert "injected-parameters" in injected.metadata["tags"]
    assert "seed = 7" in injected.source
    assert f"ny = {series.TEST['01_data_and_segmentation']['ny']}" in injected.source


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
