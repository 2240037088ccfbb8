"""``stswidgets.pipeline.run_file``: the single-file run as a Python function, on stand-in
notebooks (the command line around it is tested in test_cli.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_cli import _notebook, write_simulated_3ds

from stswidgets import open_grid, pipeline, series, to_matrix
from stswidgets.pipeline.run import notebook_settings
from stswidgets.results import load_config, load_results

# A stand-in notebook 01: rebuilds the config from its parameters, as the series does, and
# checks it against the one the run recorded in results.nc before the notebook started.
REBUILD_CONFIG = """
from stswidgets import pipeline, series
from stswidgets.results import load_config
config = pipeline.config_for(profile, seed=seed, **settings)
if config != load_config(results_dir):
    raise AssertionError(f"rebuilt {config} differs from {load_config(results_dir)}")
data = pipeline.load(data_path, config, channel)
series.save_results(results_dir, valid=data.valid)
"""


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory) -> Path:
    return write_simulated_3ds(tmp_path_factory.mktemp("grid") / "simulated.3ds")


@pytest.fixture
def stand_ins(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr("stswidgets.pipeline.notebooks.NOTEBOOK_DIR", folder)
    nbformat.write(_notebook(REBUILD_CONFIG), folder / "01_data_and_segmentation.ipynb")
    failing = _notebook("x = 1", "raise ValueError('planted failure\\nsecond line')")
    nbformat.write(failing, folder / "02_pca_and_clustering.ipynb")
    return folder


def test_notebook_settings_are_the_fields_that_differ_from_the_profile():
    assert notebook_settings(pipeline.config_for("test", seed=5)) == {}
    config = pipeline.config_for("quick", seed=2, offsets=(0.02, 0.2), max_epochs=3)
    assert notebook_settings(config) == {"offsets": [0.02, 0.2], "max_epochs": 3}
    assert pipeline.config_for("quick", seed=2, **notebook_settings(config)) == config


@pytest.mark.slow
def test_run_file_records_the_config_that_each_notebook_rebuilds(sim_file, stand_ins, tmp_path):
    config = pipeline.config_for("test", seed=3).replace(offsets=(0.02, 0.2), max_epochs=2)
    pieces = []
    out = tmp_path / "out"
    result = pipeline.run_file(
        sim_file, out, config, only=["01"], command="by hand", progress=pieces.append
    )
    name = "01_data_and_segmentation"
    assert result.out_dir == out.resolve()
    assert result.notebooks == [out.resolve() / f"{name}.ipynb"]
    assert result.report == out.resolve() / "report.html" and result.report.is_file()
    assert result.results == out.resolve() / "results.nc"
    assert set(result.timings) == {name} and result.timings[name] > 0
    assert result.missing == []
    X, _ = to_matrix(open_grid(sim_file))  # counted here, independently of the run
    assert result.shape == (40, 40, 128) and result.complete_spectra == len(X)
    assert load_config(out) == config  # verbatim, overrides included
    results = load_results(out)
    assert results.attrs["command"] == "by hand"
    assert results.attrs["source"] == str(sim_file.resolve())
    assert results["valid"].values.sum() == len(X)
    executed = nbformat.read(result.notebooks[0], as_version=4)
    injected = executed.metadata["papermill"]["parameters"]
    assert set(injected) == set(series.COMMON_PARAMETERS)
    assert injected["settings"] == {"offsets": [0.02, 0.2], "max_epochs": 2}
    assert injected["data_path"] == str(sim_file.resolve()) and injected["profile"] == "test"
    text = "".join(pieces)
    assert f"[1/1] {name} ..." in text and f"report: {result.report}" in text
    # the normalisation: chosen once, printed once with its reason, recorded in results.nc
    method, reason = results.attrs["normalize"], results.attrs["normalize_reason"]
    assert method in ("none", "setpoint") and reason.startswith("auto: the set-point conductance")
    assert text.count("normalisation: ") == 1 and f"normalisation: {method} ({reason})" in text
    assert results["valid"].attrs.get("normalize") is None  # measured, not normalised


@pytest.mark.slow
def test_a_failed_notebook_raises_run_error_naming_file_notebook_and_cell(
    sim_file, stand_ins, tmp_path
):
    out = tmp_path / "out"
    with pytest.raises(pipeline.RunError) as caught:
        pipeline.run_file(sim_file, out, pipeline.config_for("test"), only=["01", "02"])
    error = caught.value
    assert error.path == str(sim_file.resolve())
    assert error.notebook == "02_pca_and_clustering" and error.cell == 5
    assert error.message == "ValueError: planted failure"
    assert str(error).startswith(f"{sim_file.resolve()}: notebook 02_pca_and_clustering failed")
    # what ran is kept: both notebooks (the second partly), the report of both
    assert [p.stem for p in error.result.notebooks] == ["01_data_and_segmentation", error.notebook]
    assert error.notebook in error.result.report.read_text()


def test_bad_input_raises_before_anything_is_written(sim_file, tmp_path):
    config = pipeline.config_for("test")
    with pytest.raises(pipeline.InputError, match="not found.*nope.3ds"):
        pipeline.run_file(tmp_path / "nope.3ds", tmp_path / "a", config)
    with pytest.raises(pipeline.InputError, match="--only 99"):
        pipeline.run_file(sim_file, tmp_path / "b", config, only=["99"])
    with pytest.raises(pipeline.InputError, match="unknown profile 'huge'"):
        pipeline.run_file(sim_file, tmp_path / "c", pipeline.PipelineConfig(profile="huge"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mine.txt").write_text("mine")
    with pytest.raises(pipeline.InputError, match="not empty"):
        pipeline.run_file(sim_file, tmp_path / "d", config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["mine.txt"]
