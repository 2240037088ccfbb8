"""Campaigns (issue 12): many grid files, one dask.distributed task per file."""

from __future__ import annotations

import csv
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from stswidgets import campaign, cli, pipeline
from stswidgets.pipeline.report import remote_references

ROOT = Path(__file__).resolve().parents[1]
SHAPE, N_BIAS = (20, 20), 64
CORRUPT = b'Grid dim="3 x 3"\r\nnot a nanonis file'


def write_grid(path: Path, shape=SHAPE, n_bias=N_BIAS, seed=0) -> Path:
    from test_cli import write_simulated_3ds

    return write_simulated_3ds(path, shape=shape, n_bias=n_bias, seed=seed)


def readme_campaign_command() -> list[str]:
    """The command of the README's "Campaigns and clusters" section, as arguments."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Campaigns and clusters", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    (line,) = [line for line in block.splitlines() if "stswidgets run" in line]
    return shlex.split(line.split("#")[0])


def read_table(out: Path) -> dict[str, dict]:
    with open(out / campaign.TABLE_NAME, newline="") as handle:
        return {Path(row["file"]).name: row for row in csv.DictReader(handle)}


# -- the README's command: two valid files and a corrupt one, --workers 2 ----------------------


@pytest.fixture(scope="module")
def readme_campaign(tmp_path_factory):
    """The README command run as written (plus the hidden small --profile test), on a.3ds and
    b.3ds (small simulated grids) and c.3ds (corrupt). One cluster for the whole module."""
    folder = tmp_path_factory.mktemp("campaign")
    command = readme_campaign_command()
    files = [arg for arg in command if arg.endswith(".3ds")]
    assert files == ["a.3ds", "b.3ds", "c.3ds"]
    write_grid(folder / "a.3ds", seed=1)
    write_grid(folder / "b.3ds", seed=2)
    (folder / "c.3ds").write_bytes(CORRUPT)
    assert Path(command[0]).name == "stswidgets"
    args = [sys.executable, "-m", "stswidgets", *command[1:], "--profile", "test"]
    done = subprocess.run(args, cwd=folder, capture_output=True, text=True, timeout=600)
    return done, folder / command[command.index("--out") + 1]


@pytest.mark.slow
def test_the_readme_campaign_writes_two_analyses_and_fails_the_corrupt_file(readme_campaign):
    done, out = readme_campaign
    assert done.returncode == 1, done.stderr
    # progress: the dashboard's address, then one line per finished file
    assert re.search(r"dashboard: http://\S+", done.stdout)
    progress = [line for line in done.stdout.splitlines() if re.match(r"\[\d/3\] ", line)]
    assert len(progress) == 3
    assert any("c.3ds: FAILED" in line for line in progress)
    assert "c.3ds" in done.stderr.strip().splitlines()[-1]

    rows = read_table(out)
    assert set(rows) == {"a.3ds", "b.3ds", "c.3ds"}
    failed = rows["c.3ds"]
    assert failed["status"] == "failed" and failed["folder"] == "c"
    assert "c.3ds" in failed["reason"] and "cannot read" in failed["reason"]
    for name in ("a", "b"):
        row = rows[f"{name}.3ds"]
        assert row["status"] == "complete", row["reason"]
        assert row["folder"] == name
        for notebook in cli.RUN_NOTEBOOKS:
            assert (out / name / f"{notebook}.ipynb").exists()
        assert (out / name / cli.REPORT_NAME).exists()
        assert float(row["runtime_s"]) > 0


@pytest.mark.slow
def test_the_table_agrees_with_each_results_file(readme_campaign):
    """Each row against its own results.nc, counted here independently."""
    _, out = readme_campaign
    rows = read_table(out)
    for name in ("a", "b"):
        row = rows[f"{name}.3ds"]
        with xr.open_dataset(out / name / "results.nc") as results:
            valid = results["valid"].values == 1
            band = results["site_class"].values
            channel = results.attrs["channel"]
            assert results.attrs["profile"] == "test"
        assert row["shape"] == f"{SHAPE[0]} x {SHAPE[1]} x {N_BIAS}"
        assert int(row["complete_spectra"]) == valid.sum() == SHAPE[0] * SHAPE[1]
        assert row["channel"] == channel and channel.startswith("LockinX")
        minority = np.count_nonzero(band[valid] >= 2) / valid.sum()
        assert float(row["minority_fraction"]) == pytest.approx(minority, abs=1e-4)
        assert 0 < minority < 0.5  # the simulated grids hold a minority of vacancies
        assert int(row["defect_kinds"]) == len(set(band[valid].tolist()) - {0, 1}) >= 1
        assert row["two_populations"] in ("yes", "no")


@pytest.mark.slow
def test_the_index_links_each_report_and_loads_nothing_from_the_web(readme_campaign):
    _, out = readme_campaign
    page = (out / campaign.INDEX_NAME).read_text()
    assert remote_references(page) == []
    links = re.findall(r'href="([^"]+)"', page)
    assert sorted(links) == ["a/report.html", "b/report.html"]  # none for the failed file
    for link in links:
        assert (out / link).is_file()
    assert page.count("<tr class=") == 3 and 'class="failed"' in page


# -- an existing scheduler, and failures found before any notebook runs -----------------------


def stand_in_series(tmp_path: Path) -> Path:
    """A folder with a stand-in notebook 01 that reads the grid and saves ``valid``."""
    import nbformat
    from test_cli import SAVE_VALID, _notebook

    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(_notebook(SAVE_VALID), folder / "01_data_and_segmentation.ipynb")
    return folder


@pytest.mark.slow
def test_a_campaign_on_an_existing_scheduler(tmp_path):
    from distributed import Client, LocalCluster

    from stswidgets.pipeline import notebooks as series_files

    good = write_grid(tmp_path / "good.3ds")
    (tmp_path / "data").mkdir()
    small = write_grid(tmp_path / "data" / "good.3ds", shape=(3, 4), n_bias=16)
    missing = tmp_path / "missing.3ds"
    out = tmp_path / "out"
    with (
        LocalCluster(n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        # the worker process runs a stand-in notebook 01 (the real one is tested by nbval)
        client.run(setattr, series_files, "NOTEBOOK_DIR", stand_in_series(tmp_path))
        result = campaign.run_campaign(
            [good, small, missing],
            out,
            scheduler=cluster.scheduler_address,
            config=pipeline.config_for("test"),
            only=["01"],
            echo=lambda line: None,
        )
    good_row, small_row, missing_row = result.rows
    assert [r["folder"] for r in result.rows] == ["good", "good-2", "missing"]
    assert good_row["status"] == "complete" and good_row["complete_spectra"] == 400
    assert (out / "good" / "01_data_and_segmentation.ipynb").exists()
    assert small_row["status"] == "failed" and "12 complete spectra" in small_row["reason"]
    assert missing_row["status"] == "failed" and "not found" in missing_row["reason"]
    assert result.failed == [small_row, missing_row]
    log = (out / "good" / campaign.LOG_NAME).read_text()
    assert "--only 01" in log and "[1/1] 01_data_and_segmentation ..." in log
    with xr.open_dataset(out / "good" / "results.nc") as results:  # written in the worker
        assert int(results["valid"].sum()) == 400 and results.attrs["profile"] == "test"


# -- pieces, without a cluster ------------------------------------------------------------------


@pytest.mark.slow
def test_a_failing_notebook_fails_its_row_naming_file_notebook_and_cell(tmp_path, monkeypatch):
    import nbformat
    from test_cli import _notebook

    folder = tmp_path / "notebooks"
    folder.mkdir()
    failing = _notebook("raise RuntimeError('planted')")
    nbformat.write(failing, folder / "01_data_and_segmentation.ipynb")
    monkeypatch.setattr("stswidgets.pipeline.notebooks.NOTEBOOK_DIR", folder)
    grid = write_grid(tmp_path / "g.3ds")
    config = pipeline.config_for("test", seed=2)
    row = campaign.analyse_file(str(grid), str(tmp_path / "out" / "g"), config, {"only": ["01"]})
    assert row["status"] == "failed" and row["folder"] == "g"
    assert row["reason"].startswith(f"{grid}: notebook 01_data_and_segmentation failed in cell 4")
    assert "RuntimeError: planted" in row["reason"]
    assert row["shape"] == f"{SHAPE[0]} x {SHAPE[1]} x {N_BIAS}" and row["complete_spectra"] == 400
    log = (tmp_path / "out" / "g" / campaign.LOG_NAME).read_text()
    assert log.startswith(f"$ stswidgets run {grid} --out {tmp_path / 'out' / 'g'} --profile test")
    assert "--seed 2 --only 01" in log and "error: " in log


def test_folder_names_are_the_stems_made_unique():
    files = ["a.3ds", "x/a.3ds", "y/A.nc", "b.3ds", "a-2.3ds"]
    assert campaign.folder_names(files) == ["a", "a-2", "A-3", "b", "a-2-2"]


def test_summary_of_a_results_file(tmp_path):
    from stswidgets.results import save_results, start_results

    band = np.array([[0, 0, 2, -1], [1, 3, 0, 0]], dtype=float)
    band[0, 3] = np.nan  # not measured
    valid = xr.DataArray(np.isfinite(band), dims=("y", "x"))
    classes = xr.DataArray(
        band,
        dims=("y", "x"),
        attrs={
            "flag_values": [0, 1, 2, 3, 4],
            "flag_meanings": "majority transition kind_1 kind_2 kind_3",
        },
    )
    start_results(tmp_path, channel="LockinX (V)")
    save_results(tmp_path, valid=valid, site_class=classes)
    summary = campaign.summarize_results(tmp_path)
    # 7 measured pixels, of which 2 (classes 2 and 3) in minority kinds; class 4 holds none
    assert summary == {
        "channel": "LockinX (V)",
        "shape": "2 x 4",
        "complete_spectra": 7,
        "minority_fraction": round(2 / 7, 4),
        "defect_kinds": 2,
        "two_populations": "no",
    }
    assert campaign.summarize_results(tmp_path / "none") == {}


def test_campaign_usage_errors(tmp_path):
    from test_cli import assert_one_line_error, run_cli

    grid = tmp_path / "g.3ds"
    grid.write_bytes(CORRUPT)
    code, _, err = run_cli("run", grid, grid, "--out", tmp_path / "o", "--workers", "0")
    assert_one_line_error(code, err, "--workers", "0")
    code, _, err = run_cli("run", "--demo", "--out", tmp_path / "o", "--workers", "2")
    assert_one_line_error(code, err, "not --demo")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    code, _, err = run_cli("run", grid, grid, "--out", tmp_path / "full")
    assert_one_line_error(code, err, "not empty", "--force")
    with pytest.raises(SystemExit):  # argparse: not allowed together
        run_cli("run", grid, grid, "--out", tmp_path / "o", "--workers", "2", "--scheduler", "x")


def test_every_column_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Campaigns and clusters", 1)[1].split("\n## ", 1)[0]
    for column in campaign.COLUMNS:
        assert f"`{column}`" in section, column
