"""The static pictures of the explorers read like figures: a labelled colour bar for every
coloured quantity, a legend naming categories, no label cut or overlapping another."""

from __future__ import annotations

import numpy as np
from figure_checks import colourbar_axes, layout_problems
from matplotlib.colors import to_hex

from stswidgets import pipeline, to_matrix
from stswidgets.analysis.correlation import distance_correlation
from stswidgets.pipeline import plots
from stswidgets.widgets import (
    DistanceCorrelationExplorer,
    DistanceDistributionExplorer,
    GridExplorer,
    LatentExplorer,
)
from stswidgets.widgets._static import static_figure
from stswidgets.widgets.latent import category_names

LONG = "kernel PCA (RBF, 10 x median gamma, the second of two kernel widths)"


def _labels(fig) -> list[str]:
    return [ax.get_ylabel() for ax in colourbar_axes(fig)]


def test_latent_picture_names_the_categories_and_labels_the_colour_bars(small_grid):
    X, _ = to_matrix(small_grid)
    n = X.shape[0]
    truth = np.arange(n) % 3
    explorer = LatentExplorer(
        small_grid,
        {LONG: X[:, :2]},
        color={"truth (0 surface, 1 transition, 2 vacancy)": truth, "score (a.u.)": X[:, 0]},
    )
    fig = static_figure(explorer)
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    named = [[t.get_text() for t in legend.get_texts()] for legend in legends]
    assert ["surface", "transition", "vacancy"] in named
    assert sum(names == ["surface", "transition", "vacancy"] for names in named) == 1  # once
    # the truth in the colours of pipeline.plots.TRUTH_COLOURS (grey, orange, red)
    (legend,) = [lg for lg in legends if lg.get_texts()[0].get_text() == "surface"]
    patches = [to_hex(p.get_facecolor()) for p in legend.get_patches()]
    assert patches == [to_hex(c) for c in plots.TRUTH_COLOURS]
    assert colourbar_axes(fig) == []  # categories: no continuous colour bar
    assert layout_problems(fig) == []
    # the map draws the categories in their own colours: one colour per code
    mesh = next(c for ax in fig.axes for c in ax.collections if c.get_array() is not None)
    assert mesh.norm(np.array([0, 1, 2])).tolist() == [0, 1, 2]

    explorer.color_by = "score (a.u.)"
    fig = static_figure(explorer)
    assert _labels(fig).count("score (a.u.)") == 2  # the latent space and the map
    assert layout_problems(fig) == []
    assert all(len(line) <= 42 for ax in fig.axes for line in ax.get_ylabel().split("\n"))


def test_every_explorer_picture_is_labelled_and_free_of_overlaps(small_grid):
    X, valid = to_matrix(small_grid)
    Z = X[:, :2] - X[:, :2].mean(axis=0)
    explorers = {
        "grid": GridExplorer(small_grid, bins=10),
        "distance distribution": DistanceDistributionExplorer(
            pipeline.distance_statistics(X, pipeline.config_for("test", bins=10)), valid=valid
        ),
        "distance correlation": DistanceCorrelationExplorer(
            {LONG: distance_correlation(X, Z, log=True)}, grid=small_grid
        ),
    }
    for name, explorer in explorers.items():
        fig = static_figure(explorer)
        assert layout_problems(fig) == [], name
        assert all(label.strip() for label in _labels(fig)), name
    grid_labels = _labels(static_figure(explorers["grid"]))
    assert "log10(fraction of spectra per bin)" in grid_labels
    assert any(label.startswith("dI/dV at") for label in grid_labels)


def test_category_names_come_from_the_colouring_name():
    codes = np.array([0.0, 1.0, 2.0, 1.0])
    assert category_names("truth (0 surface, 1 transition, 2 vacancy)", codes) == [
        "surface",
        "transition",
        "vacancy",
    ]
    assert category_names("k-means (k = 2)", np.array([0.0, 1.0])) == ["0", "1"]
    assert category_names("score", np.array([0.0, 0.5])) is None  # not integer codes
    assert category_names("many", np.arange(20.0)) is None  # too many to name
