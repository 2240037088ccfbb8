"""Explorers carry a static PNG of their figures, for readers without a live kernel."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from stswidgets import pipeline, to_matrix
from stswidgets.analysis.correlation import distance_correlation
from stswidgets.widgets import (
    DistanceCorrelationExplorer,
    DistanceDistributionExplorer,
    GridExplorer,
    LatentExplorer,
)
from stswidgets.widgets._static import figure_rows, static_png


def _image(bundle) -> np.ndarray:
    import matplotlib.image

    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG")
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def test_every_explorer_adds_a_picture_of_its_figures(small_grid):
    X, valid = to_matrix(small_grid)
    Z = X[:, :2] - X[:, :2].mean(axis=0)
    explorers = [
        GridExplorer(small_grid, bins=10),
        LatentExplorer(small_grid, {"first two bias points": Z}),
        DistanceDistributionExplorer(
            pipeline.distance_statistics(X, pipeline.config_for("test", bins=10)), valid=valid
        ),
        DistanceCorrelationExplorer(
            {"first two": distance_correlation(X, Z, log=True)}, grid=small_grid
        ),
    ]
    for explorer in explorers:
        bundle = explorer._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle  # still a live widget
        rows = figure_rows(explorer)
        image = _image(bundle)
        # one panel per bqplot figure, laid out as the boxes lay them
        n_cols = max(len(row) for row in rows)
        assert image.shape[1] / image.shape[0] == pytest.approx(n_cols / (0.8 * len(rows)), 0.05)
        assert image[..., :3].std() > 0.05  # something is drawn


def test_the_map_picture_shows_the_map(small_grid):
    """The map panel of a GridExplorer is the data at the slider's bias, not a blank."""
    explorer = GridExplorer(small_grid, bins=10)
    assert [len(row) for row in figure_rows(explorer)] == [2]
    bright = small_grid.copy()
    bright[:] = 0.0
    bright[:3, :] = 1.0  # lower half of the map bright (origin at the bottom)
    image = _image(GridExplorer(bright, bins=10)._repr_mimebundle_())
    left = image[:, : image.shape[1] // 2, :3].mean(axis=2)
    h = left.shape[0]
    # viridis: bright (yellow) rows below, dark (purple) rows above
    assert left[int(0.65 * h), left.shape[1] // 2] > left[int(0.3 * h), left.shape[1] // 2] + 0.3


def test_a_widget_without_figures_has_no_picture():
    import ipywidgets as ipw

    assert static_png(ipw.VBox([ipw.Label("nothing to draw")])) is None


def test_training_monitor_picture_is_refreshed_when_training_ends(monkeypatch):
    pytest.importorskip("pytorch_lightning")
    from stswidgets.widgets import TrainingMonitor

    updates = []

    class Handle:
        def update(self, obj, **kwargs):
            updates.append(obj)

    monkeypatch.setattr("IPython.display.display", lambda *a, **k: Handle())
    monitor = TrainingMonitor()
    monitor._ipython_display_()
    empty = monitor._repr_mimebundle_()["image/png"]

    class FakeTrainer:
        current_epoch = 0
        sanity_checking = False
        should_stop = False
        callback_metrics = {"train_loss": 1.0, "val_loss": 1.5}

    trainer = FakeTrainer()
    monitor.on_fit_start(trainer, None)
    for epoch, loss in enumerate([1.0, 0.5, 0.3]):
        trainer.current_epoch = epoch
        trainer.callback_metrics = {"train_loss": loss, "val_loss": loss + 0.2}
        monitor.on_train_epoch_end(trainer, None)
        monitor.on_validation_epoch_end(trainer, None)
    monitor.on_fit_end(trainer, None)
    assert len(updates) == 1 and "image/png" in updates[0]
    assert updates[0]["image/png"] != empty
