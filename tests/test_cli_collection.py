"""``stswidgets run`` on spectra that are not on a grid (issue 20): the real Nanonis series of
8 spectra along a line, and the RHK file of 6 repeated spectra at one spot.

Each run executes a few real notebooks with the test profile; the executed notebooks must hold
no error, ``results.nc`` one value per spectrum on the ``spectrum`` dim.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from stswidgets.cli import main
from stswidgets.results import load_results

REAL_DIR = Path(
    os.environ.get("STSWIDGETS_REAL_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
)


def real_points(name: str) -> Path:
    path = REAL_DIR / "points" / name
    if not path.exists():
        pytest.skip(f"real file {name} not found in {REAL_DIR / 'points'} (development setup only)")
    return path


def errors_in(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return [
        f"{output.get('ename')}: {output.get('evalue')}"
        for cell in cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def run_without_errors(capsys, path: Path, out: Path, *only: str):
    """``stswidgets run PATH --only ...`` with the test profile: what it printed and the
    results, after checking that it wrote report.html and that no executed notebook holds
    an error."""
    code = main(["run", str(path), "--profile", "test", "--out", str(out), "--only", *only])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert (out / "report.html").is_file()
    for notebook in out.glob("0*.ipynb"):
        assert errors_in(notebook) == [], notebook.name
    return printed.out, load_results(out)


@pytest.mark.slow
def test_run_on_a_series_folder_scores_every_spectrum(tmp_path, capsys):
    folder = real_points("nanonis_series")
    out = tmp_path / "series"
    printed, results = run_without_errors(capsys, folder, out, "01", "06")
    assert "a line collection of 8 spectra" in printed
    assert results.attrs["geometry"] == "line"
    assert results["score"].dims == ("spectrum",) and results.sizes["spectrum"] == 8
    assert np.isfinite(results["score"]).all()
    # the files of the series, in their numbered order, with their positions 8.333 nm apart
    assert [Path(f).name for f in results["file"].values][:2] == [
        "Bias-Spectroscopy00045.dat",
        "Bias-Spectroscopy00046.dat",
    ]
    np.testing.assert_allclose(np.diff(results["distance"].values), 8.333, atol=0.01)
    assert "needs a 2D map" in (out / "01_data_and_segmentation.ipynb").read_text()


@pytest.mark.slow
def test_run_on_rhk_repeats_skips_the_learning_with_a_sentence(tmp_path, capsys):
    path = real_points("rhk_points_stripes_HOPG.sm4")
    printed, results = run_without_errors(capsys, path, tmp_path / "rhk", "01", "03")
    assert "a repeats collection of 6 spectra" in printed
    assert results.attrs["geometry"] == "repeats"
    assert results["valid"].dims == ("spectrum",) and int(results["valid"].sum()) == 6
    np.testing.assert_array_equal(results["repetition"].values, np.arange(6))
    # six spectra: the similarity networks (8 at least) cannot run; the run says so
    code = main(
        ["run", str(path), "--profile", "test", "--out", str(tmp_path / "r"), "--only", "06"]
    )
    assert code == 2
    assert "similarity learning needs at least 8 complete spectra" in capsys.readouterr().err


def test_the_expanded_files_of_a_series_are_one_run_grid_files_a_campaign(tmp_path):
    from stswidgets.cli import _one_series
    from stswidgets.datasets import fese_like
    from stswidgets.io import save_grid

    files = sorted(str(f) for f in real_points("nanonis_series").glob("*.dat"))
    assert len(files) == 8 and _one_series(files)
    grids = []
    for name in ("a.nc", "b.nc"):
        save_grid(fese_like(seed=0, shape=(4, 4), n_bias=16)["didv"], tmp_path / name)
        grids.append(str(tmp_path / name))
    assert not _one_series(grids)
    assert not _one_series([files[0], grids[0]])  # two folders, two suffixes
