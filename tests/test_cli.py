"""The ``stswidgets`` command: input checks, failure reports and the whole series end to end."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import xarray as xr

from stswidgets import __version__, cli, datasets, pipeline, series, write_3ds

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
SIM_SHAPE, SIM_BIAS, SIM_SEED = (40, 40), 128, 0
MAPS = ["valid", "pc1", "pc2", "kmeans2", "tC1", "tC2", "score", "site_class"]


def write_simulated_3ds(path: Path, shape=SIM_SHAPE, n_bias=SIM_BIAS, seed=SIM_SEED) -> Path:
    """A simulated FeSe-like grid as a Nanonis file with one lock-in channel."""
    data = datasets.fese_like(seed=seed, shape=shape, n_bias=n_bias)
    lockin = data["didv"].rename("LockinX").assign_attrs(units="V", channel="LockinX (V)")
    write_3ds(xr.Dataset({"LockinX": lockin}), path)
    return path


def run_cli(*args) -> tuple[int, str, str]:
    """``cli.main(args)`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("stswidgets: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# -- input checks: nothing is executed ---------------------------------------------------------


@pytest.fixture(scope="module")
def sim_file(tmp_path_factory) -> Path:
    return write_simulated_3ds(tmp_path_factory.mktemp("grid") / "simulated.3ds")


def test_version():
    with pytest.raises(SystemExit) as exit_info, contextlib.redirect_stdout(io.StringIO()) as out:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert out.getvalue().strip() == f"stswidgets {__version__}"


def test_missing_file(tmp_path):
    code, _, err = run_cli("run", tmp_path / "nope.3ds", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "not found", "nope.3ds")
    assert not (tmp_path / "out").exists()


def test_unreadable_file(tmp_path):
    bad = tmp_path / "bad.3ds"
    bad.write_bytes(b'Grid dim="3 x 3"\r\nnot a nanonis file')
    code, _, err = run_cli("run", bad, "--out", tmp_path / "out")
    assert_one_line_error(code, err, "cannot read", "bad.3ds")


def test_unknown_channel(sim_file, tmp_path):
    code, _, err = run_cli("run", sim_file, "--channel", "Nope", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "unknown channel 'Nope'", "LockinX")
    code, _, err = run_cli("run", "--demo", "--channel", "Nope", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "unknown channel 'Nope'")


def test_too_few_valid_spectra(tmp_path):
    small = write_simulated_3ds(tmp_path / "small.3ds", shape=(3, 4), n_bias=16)
    code, _, err = run_cli("run", small, "--out", tmp_path / "out")
    assert_one_line_error(code, err, "12 complete spectra", str(pipeline.MIN_VALID_SPECTRA))


def test_non_empty_out_dir_needs_force(sim_file, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code, _, err = run_cli("run", sim_file, "--out", tmp_path / "out")
    assert_one_line_error(code, err, "not empty", "--force")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_usage_errors(sim_file, tmp_path):
    code, _, err = run_cli("run", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "GRID_FILE or --demo")
    code, _, err = run_cli("run", sim_file, "--demo", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "GRID_FILE or --demo")
    code, _, err = run_cli("run", sim_file, "--only", "99", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "--only 99")
    # the method benchmark (08) runs on simulated conditions only: --demo, not a user's file
    code, _, err = run_cli("run", sim_file, "--only", "08", "--out", tmp_path / "out")
    assert_one_line_error(code, err, "--only 08 matches none")


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason=f"real data files not found at {REAL_DATA}")
def test_the_real_files_pass_the_input_checks():
    data = pipeline.load(REAL_DATA / "nanonis_grid_lockin_30x30.3ds")
    assert (len(data.X), data.grid.shape) == (900, (30, 30, 200))
    line = REAL_DATA / "nanonis_line_pb_sc_32x1.3ds"
    data = pipeline.load(line)
    assert (len(data.X), data.grid.shape) == (32, (1, 32, 401))
    with pytest.raises(pipeline.InputError, match="unknown channel 'Nope'"):
        pipeline.load(line, channel="Nope")


# -- the orchestration, on small stand-in notebooks ---------------------------------------------


def _notebook(*sources: str) -> nbformat.NotebookNode:
    parameters = "\n".join(f"{k} = {v!r}" for k, v in series.COMMON_PARAMETERS.items())
    cells = [nbformat.v4.new_markdown_cell("# stand-in")]
    cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


SAVE_VALID = """
from stswidgets import pipeline, series
config = pipeline.config_for(profile, seed=seed, **settings)
data = pipeline.load(data_path, config, channel)
series.save_results(results_dir, valid=data.valid)
print("spectra:", len(data.X))
"""


@pytest.fixture
def stand_in_series(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr("stswidgets.pipeline.notebooks.NOTEBOOK_DIR", folder)
    nbformat.write(_notebook(SAVE_VALID), folder / "01_data_and_segmentation.ipynb")
    failing = _notebook("x = 1", "raise ValueError('planted failure\\nsecond line')", "y = 2")
    nbformat.write(failing, folder / "02_pca_and_clustering.ipynb")
    return folder


@pytest.mark.slow
def test_a_failing_notebook_is_named_with_its_cell(sim_file, stand_in_series, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli("run", sim_file, "--out", out, "--only", "01", "02")
    assert code == 1
    assert "[1/2] 01_data_and_segmentation ..." in stdout
    message = err.strip().splitlines()[-1]
    assert message.startswith(f"stswidgets: error: {sim_file.resolve()}: ")
    assert "notebook 02_pca_and_clustering failed in cell 5" in message
    assert "ValueError: planted failure" in message and "second line" not in message
    assert "Traceback" not in err
    # what was written is kept: both notebooks (the failed one partly executed), report, results
    executed = nbformat.read(out / "02_pca_and_clustering.ipynb", as_version=4)
    assert any(o.get("ename") == "ValueError" for c in executed.cells for o in c.get("outputs", []))
    assert "02_pca_and_clustering" in (out / cli.REPORT_NAME).read_text()
    with xr.open_dataset(out / "results.nc") as results:
        assert results["valid"].shape == SIM_SHAPE

    # --force starts afresh (a stale results.nc would hide a notebook that saves nothing)
    nbformat.write(
        _notebook("print('saves nothing')"), stand_in_series / "01_data_and_segmentation.ipynb"
    )
    code, stdout, err = run_cli("run", sim_file, "--out", out, "--only", "01", "--force")
    assert code == 0
    assert "results.nc lacks valid" in err
    with xr.open_dataset(out / "results.nc") as results:  # the run's provenance, no results
        assert not results.data_vars and results.attrs["source"] == str(sim_file)


# A stand-in that trains with the progress bar on, shows an explorer and writes a formula.
TRAIN_AND_EXPLORE = """
import numpy as np
from stswidgets import pipeline, series
from stswidgets.learn import SiameseEmbedding
from stswidgets.widgets import LatentExplorer
config = pipeline.config_for(profile, seed=seed, **settings)
data = pipeline.load(data_path, config, channel)
embedding = SiameseEmbedding(max_epochs=3, pairs_per_epoch=2048, batch_size=512, random_state=0)
Z = embedding.fit_transform(data.X)  # progress=True, the default
series.save_results(results_dir, grid=data.grid, valid=data.valid)
LatentExplorer(data.grid, {"projection": Z})
"""
FORMULA = "The $N(N-1)/2$ pairs of $N$ spectra; $\\log(d + \\mathrm{offset})$ rescales them."


@pytest.mark.slow
def test_run_writes_provenance_no_progress_lines_and_an_offline_report(
    sim_file, tmp_path, monkeypatch
):
    from stswidgets.pipeline.report import remote_references

    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr("stswidgets.pipeline.notebooks.NOTEBOOK_DIR", folder)
    notebook = _notebook(TRAIN_AND_EXPLORE)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(FORMULA))
    nbformat.write(notebook, folder / "01_data_and_segmentation.ipynb")
    out = tmp_path / "out"
    args = ("run", sim_file, "--out", out, "--only", "01", "--seed", "3", "--profile", "test")
    code, _, err = run_cli(*args)
    assert code == 0, err

    # provenance: written by the command before the notebook ran, kept by save_results
    with xr.open_dataset(out / "results.nc") as results:
        attrs = dict(results.attrs)
        valid = results["valid"]
        assert valid.dtype == np.int8 and valid.attrs["units"] == "1"
    assert attrs["source"] == str(sim_file)
    assert attrs["channel"].startswith("LockinX")
    assert attrs["seed"] == 3 and attrs["profile"] == "test"
    assert attrs["command"] == "stswidgets " + " ".join(map(str, args))
    assert attrs["stswidgets_version"] == __version__ and attrs["Conventions"] == "CF-1.8"
    assert attrs["history"].endswith(attrs["command"]) and attrs["date_created"].endswith("Z")

    # the training printed no progress bar into the executed notebook
    executed = nbformat.read(out / "01_data_and_segmentation.ipynb", as_version=4)
    printed = json.dumps([o for c in executed.cells for o in c.get("outputs", [])])
    assert "Validation" not in printed and "Epoch" not in printed and "it/s" not in printed
    assert "image/png" in printed  # the explorer's static picture

    # the report: explorer as a picture, formulas typeset, nothing loaded from the web
    report = (out / cli.REPORT_NAME).read_text()
    assert remote_references(report) == []
    assert "<script src" not in report and "widget-view+json" not in report
    assert "$N" not in report and report.count('class="sts-math"') == 3
    assert 'alt="N(N-1)/2"' in report


# -- the whole series (01-07, TEST profile) -----------------------------------------------------


@pytest.fixture(scope="module")
def simulated_run(sim_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "analysis"
    code, stdout, err = run_cli("run", sim_file, "--out", out, "--profile", "test", "--seed", "0")
    return code, stdout, err, out


def check_outputs(out: Path, shape: tuple[int, int], n_bias: int) -> xr.Dataset:
    for name in cli.RUN_NOTEBOOKS:
        executed = nbformat.read(out / f"{name}.ipynb", as_version=4)
        assert executed.metadata["papermill"]["parameters"]["results_dir"] == str(out)
        errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("ename")]
        assert not errors, f"{name}: {errors[0]['ename']}"
    report = (out / cli.REPORT_NAME).read_text()
    for name in cli.RUN_NOTEBOOKS:
        assert f'<a id="{name}"></a>' in report and f'href="#{name}"' in report
    assert report.count("data:image/png;base64") >= len(cli.RUN_NOTEBOOKS)
    results = xr.open_dataset(out / "results.nc").load()
    for name in MAPS:
        assert name in results, f"results.nc lacks {name}"
        assert results[name].dims == ("y", "x") and results[name].shape == shape, name
    check_site_class(results)
    assert results["site_class_mean"].shape[1] == n_bias
    assert results.sizes["bias"] == n_bias
    valid = results["valid"].values.astype(bool)
    assert np.isfinite(results["score"].values[valid]).all()
    assert (results["site_class"].values[valid] >= 0).all() and (
        results["site_class"].values[~valid] == -1
    ).all()
    assert results["site_class"].dtype == np.int8 and "flag_meanings" in results["site_class"].attrs
    for name in results.variables:  # self-describing: units and a long name everywhere
        if name != "site_class_name":
            assert results[name].attrs.get("units"), f"{name} has no units"
            assert results[name].attrs.get("long_name"), f"{name} has no long_name"
    assert results.attrs["Conventions"] == "CF-1.8" and results.attrs["command"]
    return results


def check_site_class(results: xr.Dataset) -> list[int]:
    """``site_class``: int8 classes with CF flags (-1 unmeasured first), one
    ``site_class_mean`` row per class; the class flag values."""
    band = results["site_class"]
    assert band.dtype == np.int8
    flags = [int(v) for v in np.atleast_1d(band.attrs["flag_values"])]
    meanings = band.attrs["flag_meanings"].split()
    assert flags[0] == -1 and meanings[0] == "unmeasured" and len(meanings) == len(flags)
    flags, meanings = flags[1:], meanings[1:]  # the classes: 0 majority, 1 transition, 2.. kinds
    assert flags == list(range(len(flags))) and len(flags) >= 2
    assert meanings[1] == "transition" and band.attrs["long_name"]
    assert set(np.unique(band.values)) <= {-1, *flags}
    dims = ("site_class_name", "bias")
    assert results["site_class_mean"].dims == results["site_class_std"].dims == dims
    assert results["site_class_mean"].sizes["site_class_name"] == len(flags)
    assert ["_".join(str(n).split()) for n in results["site_class_name"].values] == meanings
    return flags


@pytest.mark.slow
def test_run_on_a_simulated_file_writes_every_output(simulated_run):
    code, stdout, err, out = simulated_run
    assert code == 0, err
    for number, name in enumerate(cli.RUN_NOTEBOOKS, start=1):
        assert f"[{number}/{len(cli.RUN_NOTEBOOKS)}] {name} ..." in stdout
    assert "lacks" not in err
    results = check_outputs(out, SIM_SHAPE, SIM_BIAS)
    bias = datasets.fese_like(seed=SIM_SEED, shape=SIM_SHAPE, n_bias=SIM_BIAS)["bias"].values
    np.testing.assert_allclose(results["bias"].values, bias, rtol=1e-5)


@pytest.mark.slow
def test_results_score_separates_the_simulated_vacancies(simulated_run):
    from sklearn.metrics import roc_auc_score

    *_, out = simulated_run
    truth = datasets.fese_like(seed=SIM_SEED, shape=SIM_SHAPE, n_bias=SIM_BIAS)
    with xr.open_dataset(out / "results.nc") as results:
        valid = results["valid"].values.astype(bool)
        score = results["score"].values[valid]
        band = results["site_class"].values[valid]
    vacancy = truth["vacancy"].values[valid]
    assert roc_auc_score(vacancy, score) > 0.9
    assert (band[vacancy] == 2).mean() > 0.9  # the vacancy band holds the vacancies


@pytest.mark.slow
def test_run_on_a_grid_with_two_opposite_defect_kinds(two_kind_grid, tmp_path):
    """Issue 10: `site_class` of results.nc holds both defect kinds, each in a class of its own."""
    from sklearn.metrics import adjusted_rand_score

    from stswidgets import save_grid

    didv, kind, _ = two_kind_grid(seed=0)
    path = save_grid(didv, tmp_path / "two_kinds.nc")
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        "run", path, "--out", out, "--profile", "test", "--seed", "0", "--only", "06", "07"
    )
    assert code == 0, err
    with xr.open_dataset(out / "results.nc") as results:
        results = results.load()
    flags = check_site_class(results)
    assert results["site_class"].attrs["flag_meanings"].split()[1:] == [
        "majority",
        "transition",
        "kind_1",
        "kind_2",
    ]  # the contract's names (after -1 "unmeasured")
    assert len(flags) == 4
    band = results["site_class"].values
    for k in (1, 2):
        assert (band[kind == k] >= 2).mean() > 0.9  # each kind in a minority-kind class
    # and in two different ones: the kinds of the defects put in a kind class agree with the truth
    judged = (kind > 0) & (band >= 2)
    assert adjusted_rand_score(kind[judged], band[judged]) > 0.9


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason=f"real data files not found at {REAL_DATA}")
def test_run_on_the_real_lockin_grid(tmp_path):
    out = tmp_path / "real"
    code, stdout, err = run_cli(
        "run", REAL_DATA / "nanonis_grid_lockin_30x30.3ds", "--out", out, "--profile", "test"
    )
    assert code == 0, err
    check_outputs(out, (30, 30), 200)


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason=f"real data files not found at {REAL_DATA}")
def test_run_on_the_real_line_grid(tmp_path):
    """A single line of 32 spectra (1 x 32 pixels), sweep from +2 to -4 mV: every notebook runs."""
    out = tmp_path / "line"
    code, stdout, err = run_cli(
        "run", REAL_DATA / "nanonis_line_pb_sc_32x1.3ds", "--out", out, "--profile", "test"
    )
    assert code == 0, err
    results = check_outputs(out, (1, 32), 401)
    bias = results["bias"].values
    assert bias[0] == pytest.approx(-4.0, abs=1e-3) and bias[-1] == pytest.approx(2.0, abs=1e-3)


@pytest.mark.slow
def test_python_dash_m_runs_the_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stswidgets", "run", str(tmp_path / "nope.3ds"), "--out", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("stswidgets: error: file not found")
