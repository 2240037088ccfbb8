"""``stswidgets run`` on spectra that are not on a grid (issue 20): the real Nanonis series of
8 spectra along a line, and the RHK file of 6 repeated spectra at one spot.

Each run executes a few real notebooks with the test profile; the executed notebooks must hold
no error, ``results.nc`` one value per spectrum on the ``spectrum`` dim.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from stswidgets.cli import main
from stswidgets.results import load_results

REAL_DIR = Path(
    os.environ.get("STSWIDGETS_REAL_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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
    printed, results = run_without_errors(capsys, folder, out, "01", "06", "07")
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
    # on a line the line-cut explorer stands where the grid's explorers would be: 01 with the
    # spectra, 06 with the score and 07 with the classes beside the waterfall (a widget view
    # and its static picture, one panel wider for the values)
    widths = {}
    for name in (
        "01_data_and_segmentation",
        "06_similarity_learning",
        "07_spectral_weight_transfer",
    ):
        cells = json.loads((out / f"{name}.ipynb").read_text())["cells"]
        (cell,) = [c for c in cells if "LineCutExplorer(" in "".join(c["source"])]
        bundles = [o["data"] for o in cell["outputs"] if o["output_type"] == "display_data"]
        assert len(bundles) == 1 and {WIDGET_VIEW, "image/png"} <= set(bundles[0]), name
        picture = imread(io.BytesIO(base64.b64decode(bundles[0]["image/png"])))
        widths[name[:2]] = picture.shape[1]
    assert widths["06"] > 1.3 * widths["01"] and widths["07"] > 1.3 * widths["01"]


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


def test_series_files_among_other_files_are_refused_with_how_to_pass_them(tmp_path, capsys):
    from stswidgets.datasets import fese_like
    from stswidgets.io import save_grid

    folder = real_points("nanonis_series")
    files = sorted(str(f) for f in folder.glob("*.dat"))
    grid = tmp_path / "a.nc"
    save_grid(fese_like(seed=0, shape=(4, 4), n_bias=16)["didv"], grid)
    out = tmp_path / "campaign"
    # a shell-expanded folder/*.dat beside a grid: each .dat would be analysed alone
    code = main(["run", str(grid), *files, "--profile", "test", "--out", str(out)])
    error = capsys.readouterr().err
    assert code == 2
    assert "the 8 files Bias-Spectroscopy00045.dat ... Bias-Spectroscopy00052.dat" in error
    assert "give the series as its folder" in error and str(folder.resolve()) in error
    assert not out.exists()  # refused before anything was written
    # the series alone with --workers is a campaign of single spectra: refused the same way
    code = main(["run", *files, "--workers", "1", "--profile", "test", "--out", str(out)])
    assert code == 2 and "one series of spectra" in capsys.readouterr().err


@pytest.mark.slow
def test_a_series_folder_in_a_campaign_is_one_collection_beside_a_grid(tmp_path, capsys):
    import csv

    from stswidgets.datasets import fese_like
    from stswidgets.io import save_grid

    folder = real_points("nanonis_series")
    grid = tmp_path / "a.nc"
    save_grid(fese_like(seed=0, shape=(12, 12), n_bias=24)["didv"], grid)
    out = tmp_path / "campaign"
    args = ["run", str(grid), str(folder), "--workers", "1", "--profile", "test"]
    code = main([*args, "--out", str(out), "--only", "01"])
    assert code == 0, capsys.readouterr().err
    with open(out / "campaign.csv") as table:
        rows = {Path(row["file"]).name: row for row in csv.DictReader(table)}
    assert rows["a.nc"]["status"] == rows["nanonis_series"]["status"] == "complete"
    assert rows["a.nc"]["complete_spectra"] == "144"
    assert rows["nanonis_series"]["complete_spectra"] == "8"  # the 8 files as one collection
    results = load_results(out / rows["nanonis_series"]["folder"])
    assert results.attrs["geometry"] == "line" and results.sizes["spectrum"] == 8
