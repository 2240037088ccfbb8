"""The shared figures (pipeline.plots): labelled axes and colour bars, no text overlapping
another, and what each panel claims checked against an independent computation."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from figure_checks import colourbar_axes, layout_problems, unlabelled
from matplotlib.figure import Figure

from stswidgets.analysis.correlation import distance_correlation
from stswidgets.pipeline import plots
from stswidgets.pipeline.score import SiteClasses

matplotlib.use("Agg")

NY, NX, NB = 12, 14, 40


@pytest.fixture
def grid():
    rng = np.random.default_rng(0)
    bias = np.linspace(-15.0, 15.0, NB)
    gap = 1.0 + 0.1 * bias**2 / 15 + 2.0 * np.exp(-((np.abs(bias) - 2.2) ** 2) / 0.3)
    cube = gap + 0.05 * rng.normal(size=(NY, NX, NB))
    return xr.DataArray(
        cube,
        dims=("y", "x", "bias"),
        coords={"y": np.arange(NY) * 0.25, "x": np.arange(NX) * 0.25, "bias": bias},
        attrs={"units": "a.u."},
    )


@pytest.fixture
def classes(grid):
    rng = np.random.default_rng(1)
    n = NY * NX
    labels = np.zeros(n, dtype=int)
    labels[: n // 5] = 1
    labels[: n // 20] = 2
    rng.shuffle(labels)
    X = grid.values.reshape(n, NB)
    mean = np.stack([X[labels == k].mean(axis=0) for k in range(3)])
    std = np.stack([X[labels == k].std(axis=0) for k in range(3)])
    return SiteClasses(labels, 1, ("surface", "transition", "vacancy"), [0.5, 3.0], mean, std)


def _valid(grid):
    return xr.DataArray(np.ones((NY, NX), bool), dims=("y", "x"))


def _figure(ncols=1):
    fig = Figure(figsize=(5.5 * ncols, 4.2), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def _publishable(fig):
    assert unlabelled(fig) == []
    assert layout_problems(fig) == []


def test_the_checks_catch_overlapping_and_unlabelled_text():
    """The checks themselves: they must be able to fail."""
    fig = Figure(figsize=(1.2, 1.0))
    ax = fig.subplots()
    ax.plot(np.arange(10) * 1e5, np.arange(10))
    ax.set_xticks(np.arange(10) * 1e5, [f"{v:.0f} mV" for v in np.arange(10) * 1e5])
    ax.set_ylabel("a very long label that cannot fit beside the axis at all (a.u.)")
    problems = layout_problems(fig)
    assert any("overlaps" in p for p in problems)
    assert any("cut by the figure edge" in p for p in problems)
    assert unlabelled(fig) == ["axes 0 has no x label"]
    image = ax.imshow(np.eye(3))
    fig.colorbar(image, ax=ax)
    assert "colour bar (axes 1) has no label" in unlabelled(fig)


def test_energy_histogram_keeps_the_coherence_peak(grid):
    rng = np.random.default_rng(5)
    X = grid.values.reshape(-1, NB).mean(axis=0) + 0.1 * rng.normal(size=(3000, NB))
    X[:, NB // 2] += 8.0  # a tall peak at one energy: a pooled range would cut it off
    pooled = np.percentile(X, [0.1, 99.9])  # the old range
    assert (X[:, NB // 2] > pooled[1]).mean() > 0.02
    fig, (ax,) = _figure()
    clipped = plots.draw_energy_histogram(ax, X, grid["bias"].values, "a.u.", mark_mV=-1.0)
    # independent count of the spectra outside the drawn conductance range, per bias
    lo, hi = ax.collections[0].get_coordinates()[[0, -1], 0, 1]
    outside = ((X < lo) | (X > hi)).mean(axis=0)
    np.testing.assert_allclose(clipped, outside)
    assert 0 < outside.max() <= 0.005
    assert f"at most {outside.max():.1%} of spectra" in ax.get_title()
    assert ax.get_xlabel() == "sample bias (mV)"
    _publishable(fig)


def test_category_map_has_a_legend_with_counts(grid, classes):
    fig, (ax,) = _figure()
    plots.draw_class_map(ax, grid, _valid(grid), classes)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    counts = np.bincount(classes.labels, minlength=3)
    assert texts == [f"{n} ({c})" for n, c in zip(classes.names, counts, strict=True)]
    assert colourbar_axes(fig) == []  # categories: a legend, not a continuous colour bar
    _publishable(fig)


def test_class_score_histogram_bins_every_class_alike(classes):
    rng = np.random.default_rng(2)
    score = np.where(classes.labels == 0, rng.normal(0.1, 0.02, classes.labels.size), 0.0)
    score = score + np.where(classes.labels > 0, rng.uniform(0.5, 6.0, classes.labels.size), 0)
    fig, (ax,) = _figure()
    plots.draw_class_score_histogram(ax, score, classes)
    widths = {round(p.get_width(), 12) for p in ax.patches}
    assert len(widths) == 1  # one bin width for all classes
    lefts = np.array(sorted({p.get_x() for p in ax.patches}))
    expected = np.histogram_bin_edges(score, bins=60)[:-1]
    assert np.all(np.isclose(lefts[:, None], expected[None, :]).any(axis=1))
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == classes.labels.size  # counts, every spectrum once
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == f"surface ({np.sum(classes.labels == 0)})"
    _publishable(fig)


@pytest.mark.parametrize("shift, diverging", [(0.0, False), (-0.02, False), (-1.0, True)])
def test_coordinate_field_is_sequential_when_one_signed(shift, diverging):
    t1, t2 = np.meshgrid(np.linspace(-1, 1, 30), np.linspace(-1, 1, 30))
    coordinate = np.hypot(t1 + 1, t2 + 1) + shift  # 0 to 2.8, -0.02 to 2.8 or -1 to 1.8
    field = SimpleNamespace(t1=t1, t2=t2, coordinate=coordinate, score=np.hypot(t1, t2))
    rng = np.random.default_rng(3)
    projection = SimpleNamespace(Z=rng.uniform(-1, 1, (200, 2)), majority=np.array([-1.0, -1.0]))
    fig, (ax,) = _figure()
    plots.draw_coordinate_field(ax, field, projection)
    filled = ax.collections[0]
    assert (filled.get_cmap().name == "coolwarm") is diverging
    if diverging:
        assert filled.norm.vmin == pytest.approx(-filled.norm.vmax)
    _publishable(fig)


def test_other_shared_panels_are_labelled_and_do_not_overlap(grid, classes):
    X = grid.values.reshape(-1, NB)
    bias = grid["bias"].values
    rng = np.random.default_rng(4)
    Z = rng.normal(size=(X.shape[0], 2))
    correlation = distance_correlation(X, Z, log=True)
    data = SimpleNamespace(X=X, units="a.u.", truth=None, valid=_valid(grid))
    history = {"train_loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.5], "best_epoch": 2}
    projection = SimpleNamespace(history=[history, history])
    pairs = SimpleNamespace(distances=rng.gamma(3.0, size=5000), threshold=6.0, quantile=0.85)
    density = SimpleNamespace(
        density=rng.uniform(0, 1, (30, NB)),
        edges=np.linspace(0, 1, 31),
        median=rng.uniform(0, 1, NB),
        n_pairs=100,
    )
    window = SimpleNamespace(window_a_mV=(-5.0, -2.0), window_b_mV=(2.0, 5.0))
    weight = SimpleNamespace(
        distance_density=density,
        normalization="zscore",
        correlation=np.corrcoef(X.T),
        windows=[window],
        planted=((-5.0, -2.0), (2.0, 5.0)),
    )
    panels = {
        "latent": lambda ax: plots.draw_latent(ax, Z, data, "latent"),
        "distance correlation": lambda ax: plots.draw_distance_correlation(
            ax, correlation, "data distance (a.u.)", "latent distance (a.u.)", "title"
        ),
        "pair threshold": lambda ax: plots.draw_pair_threshold(ax, pairs),
        "class spectra": lambda ax: plots.draw_class_spectra(ax, bias, classes, "a.u."),
        "energy distance": lambda ax: plots.draw_energy_distance(ax, weight, bias, "t"),
        "energy correlation": lambda ax: plots.draw_energy_correlation(ax, weight, bias),
        "score map": lambda ax: plots.draw_score_map(ax, grid, _valid(grid), Z[:, 0] ** 2),
    }
    for name, draw in panels.items():
        fig, (ax,) = _figure()
        draw(ax)
        assert unlabelled(fig) == [], name
        assert layout_problems(fig) == [], name
        if "bias" in ax.get_xlabel():
            assert ax.get_xlabel() == "sample bias (mV)", name
    fig, axes = _figure(2)
    plots.draw_training_curves(axes, projection)
    _publishable(fig)
    assert "Fig. 7a" not in (plots.draw_pair_threshold.__doc__ or "")


def test_maps_png_draws_both_maps(grid, classes):
    score = np.arange(NY * NX, dtype=float)
    png = plots.maps_png(grid, _valid(grid), score, classes)
    assert png.startswith(b"\x89PNG")
    fig = plots.maps_figure(grid, _valid(grid), score, classes)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["similarity score", "classes"]
    _publishable(fig)


def test_separation_display_puts_auc_first_and_spearman_last():
    table = pd.DataFrame(
        {
            "vac/surf": [0.9, 1.0],
            "mean AUC": [0.8, 0.95],
            "Spearman": [0.99, 0.2],
            "time (s)": [1.0, 2.0],
        },
        index=pd.Index(["high Spearman", "separates"], name="method"),
    )
    shown = plots.separation_display(table)
    assert list(shown.index) == ["separates", "high Spearman"]  # by mean AUC, not Spearman
    assert list(shown.columns) == ["vac/surf", "mean AUC", "Spearman (diagnostic)", "time (s)"]
