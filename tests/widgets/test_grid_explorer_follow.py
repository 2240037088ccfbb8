"""GridExplorer on a grid still being measured: update() after the file grew, and the periodic
refresh task on the event loop (runs without blocking the loop, can be stopped)."""

from __future__ import annotations

import asyncio
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import stswidgets
from stswidgets.widgets import GridExplorer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
from nanonis_files import lockin_grid_file, payload_offset  # noqa: E402

NY, NX, N_BIAS = 6, 8, 21
PIXEL_BYTES = 4 * (4 + 3 * N_BIAS)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # partial grids warn


@pytest.fixture
def growing(tmp_path):
    """``(path, finished_bytes, grow)``: the file holds 10.5 pixels; ``grow(n)`` appends up
    to ``n`` pixels (fractions end inside a pixel)."""
    finished = lockin_grid_file(tmp_path / "full.3ds", NY, NX, N_BIAS).read_bytes()
    start = payload_offset(finished)
    path = tmp_path / "growing.3ds"
    path.write_bytes(finished[: start + int(10.5 * PIXEL_BYTES)])

    def grow(n_pixels: float) -> None:
        with open(path, "ab") as file:
            file.write(finished[path.stat().st_size : start + int(n_pixels * PIXEL_BYTES)])

    return path, finished, grow


def test_update_shows_the_new_spectra_and_keeps_the_selection(growing):
    path, _, grow = growing
    follower = stswidgets.follow(path)
    explorer = GridExplorer(follower, bins=10)
    assert explorer.follower is follower and explorer.X.shape == (10, N_BIAS)
    assert "10 of 48 spectra measured" in explorer.info.value
    explorer.selection.select_mask(np.eye(NY, NX, dtype=bool))  # measured: (0, 0), (1, 1)
    selected = explorer.selection.mask.copy()
    assert selected.sum() == 2
    grow(30.2)
    assert explorer.update() == 20
    grid = follower.grid
    X, valid = stswidgets.to_matrix(grid)
    np.testing.assert_array_equal(explorer.X, X)
    np.testing.assert_array_equal(explorer.valid, np.asarray(valid))
    j = explorer.bias_index
    shown = explorer.map.heatmap.color
    np.testing.assert_array_equal(shown[explorer.valid], grid.values[:, :, j][explorer.valid])
    np.testing.assert_array_equal(explorer.map.overlay.color[~explorer.valid], -1.0)  # grey
    np.testing.assert_array_equal(explorer.map.heatmap.x, grid["x"].values)
    # the same two pixels stay selected, re-indexed among the 30 valid spectra
    np.testing.assert_array_equal(explorer.selection.mask, selected)
    np.testing.assert_array_equal(explorer.selection.indices, [0, 9])
    np.testing.assert_allclose(explorer.spectra_lines.y[0], X[[0, 9]].mean(axis=0), rtol=1e-6)
    counts, _ = np.histogram(X[:, 3], bins=explorer.value_edges)
    np.testing.assert_allclose(explorer.histogram[3], counts / 30)
    assert "30 of 48 spectra measured" in explorer.info.value
    assert explorer.update() == 0 and explorer.grid is grid  # nothing new: nothing redrawn
    grow(NY * NX)
    assert explorer.update() == 18
    assert "48 of 48 spectra measured (complete)" in explorer.info.value


def test_periodic_refresh_runs_on_the_loop_without_blocking_it_and_stops(growing):
    path, _, grow = growing
    explorer = GridExplorer(stswidgets.follow(path), bins=10)
    ticks = []

    async def main():
        task = explorer.start(interval=0.02)
        assert explorer.running and "(following)" in explorer.info.value
        grow(25.7)
        deadline = time.monotonic() + 10
        while explorer.X.shape[0] < 25 and time.monotonic() < deadline:
            ticks.append(time.monotonic())  # the loop keeps running other work meanwhile
            await asyncio.sleep(0.005)
        assert explorer.X.shape[0] == 25
        explorer.stop()
        await asyncio.sleep(0.05)
        return task

    task = asyncio.run(main())
    assert task.cancelled() and not explorer.running
    assert len(ticks) >= 2
    assert "25 of 48 spectra measured" in explorer.info.value
    assert "(following)" not in explorer.info.value


def test_periodic_refresh_ends_when_the_grid_is_complete(growing):
    path, _, grow = growing
    loop = asyncio.new_event_loop()
    try:
        explorer = GridExplorer(stswidgets.follow(path), bins=10)
        task = explorer.start(interval=0.01, loop=loop)
        grow(NY * NX)
        loop.run_until_complete(asyncio.wait_for(task, timeout=10))
    finally:
        loop.close()
    assert task.done() and not task.cancelled() and not explorer.running
    assert explorer.X.shape == (NY * NX, N_BIAS) and explorer.follower.complete
    assert "48 of 48 spectra measured (complete)" in explorer.info.value


def test_a_failed_refresh_is_shown_and_ends_the_task(growing):
    path, finished, _ = growing
    explorer = GridExplorer.follow(path, interval=None, bins=10)
    assert not explorer.running
    path.write_bytes(finished[:100])  # the file was replaced by a shorter one

    async def main():
        task = explorer.start(interval=0.01)
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(main())
    assert not explorer.running and "shrank" in explorer.error
    assert "refresh stopped: FormatError" in explorer.info.value


def test_follower_without_spectra_or_with_a_shared_selection_is_refused(growing, tmp_path):
    path, finished, _ = growing
    empty = tmp_path / "empty.3ds"
    empty.write_bytes(finished[: payload_offset(finished) + 7])
    with pytest.raises(ValueError, match=r"empty\.3ds holds no complete spectrum yet"):
        GridExplorer(stswidgets.follow(empty))
    follower = stswidgets.follow(path)
    with pytest.raises(ValueError, match="keeps its own selection"):
        GridExplorer(follower, selection=stswidgets.widgets.Selection(follower.valid))
    with pytest.raises(ValueError, match="finished grid"):
        GridExplorer(follower.grid, bins=10).update()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert GridExplorer(follower, bins=10).grid is follower.grid
