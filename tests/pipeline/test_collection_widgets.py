"""The notebooks on a line of spectra (issue 20): notebook 01 on the real Nanonis .dat series
shows the line-cut explorer where a grid's explorer would be, and the channel candidates of
the whole series; the explorer shows the spectra as measured and only the values it is given.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from stswidgets import pipeline
from stswidgets.cli import main
from stswidgets.widgets import LineCutExplorer

REAL_DIR = Path(
    os.environ.get("STSWIDGETS_REAL_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def real_series() -> Path:
    path = REAL_DIR / "points" / "nanonis_series"
    if not path.is_dir():
        pytest.skip(f"real series not found in {REAL_DIR / 'points'} (development setup only)")
    return path


def cell_running(notebook: Path, code: str) -> dict:
    """The one executed code cell whose source holds ``code``."""
    cells = json.loads(notebook.read_text())["cells"]
    found = [c for c in cells if c["cell_type"] == "code" and code in "".join(c["source"])]
    assert len(found) == 1, f"{notebook.name}: {len(found)} cells run {code!r}"
    return found[0]


def printed(cell: dict) -> str:
    return "".join("".join(o["text"]) for o in cell["outputs"] if o["output_type"] == "stream")


def dat_current(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Bias (mV, ascending) and ``Current [AVG] (A)`` of a .dat file, parsed here."""
    lines = path.read_text().splitlines()
    start = lines.index("[DATA]") + 1
    header = lines[start].split("\t")
    table = np.array([[float(v) for v in row.split("\t")] for row in lines[start + 1 :] if row])
    bias_mV = 1e3 * table[:, header.index("Bias calc (V)")]
    order = np.argsort(bias_mV)
    return bias_mV[order], table[order, header.index("Current [AVG] (A)")]


def test_line_cut_explorer_of_the_series_shows_the_measured_line_and_given_values():
    folder = real_series()
    data = pipeline.load(folder, pipeline.config_for("test"))
    assert data.geometry == "line"
    values = np.linspace(0.5, 4.0, len(data.X))  # precomputed, one per complete spectrum
    explorer = LineCutExplorer(data.grid, values={"similarity score (1)": values})
    # 8 positions 8.333 nm apart (the headers' X step), from the first file's position
    np.testing.assert_allclose(explorer.distances, 8.333 * np.arange(8), atol=0.01)
    # each column: the numerical dI/dV of that file's current, as measured (np.gradient)
    expected = []
    for path in sorted(folder.glob("*.dat")):
        bias_mV, current = dat_current(path)
        expected.append(np.gradient(current, bias_mV / 1e3))
    np.testing.assert_allclose(explorer.bias_mV, bias_mV, atol=1e-6)
    np.testing.assert_allclose(explorer.columns, expected, rtol=1e-4, atol=1e-15)
    # the values panel draws exactly the numbers given, against distance
    np.testing.assert_allclose(np.ravel(explorer.values_lines.y), values)
    np.testing.assert_allclose(np.ravel(explorer.values_lines.x), explorer.distances)


@pytest.mark.slow
def test_notebook_01_on_the_series_shows_the_line_cut_explorer_and_the_candidates(tmp_path, capsys):
    folder = real_series()
    out = tmp_path / "series"
    code = main(["run", str(folder), "--profile", "test", "--out", str(out), "--only", "01"])
    assert code == 0, capsys.readouterr().err
    notebook = out / "01_data_and_segmentation.ipynb"
    cells = json.loads(notebook.read_text())["cells"]
    errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []

    explorer = cell_running(notebook, "LineCutExplorer(data.grid)")
    bundles = [o["data"] for o in explorer["outputs"] if o["output_type"] == "display_data"]
    assert len(bundles) == 1, "the explorer is displayed once"
    assert WIDGET_VIEW in bundles[0] and "image/png" in bundles[0]
    from matplotlib.image import imread

    picture = imread(io.BytesIO(base64.b64decode(bundles[0]["image/png"])))
    assert picture.shape[0] > 200 and picture.shape[1] > 400  # the waterfall and the spectrum
    assert "skipped" not in printed(explorer)

    # the candidates of the whole series: no lock-in, the current's derivative is read
    candidates = printed(cell_running(notebook, "channel_candidates(data_path)"))
    assert "numerical dI/dV of Current [AVG] (A)" in candidates
    chosen = [line for line in candidates.splitlines() if "<- chosen" in line]
    assert len(chosen) == 1 and chosen[0].startswith("numerical dI/dV of Current [AVG] (A)")
    assert "channels that are neither a current nor a lock-in output" in candidates
    # the summary does not report the derivative's trivial r = 1 with itself
    summary = printed(cell_running(notebook, "print_summary(summary"))
    assert "r = 1.00" not in summary and "no lock-in read" in summary
    histogram = printed(cell_running(notebook, "draw_energy_histogram"))
    assert "only 8 spectra" in histogram
