"""The figures the front ends share, drawn on the caller's matplotlib axes, every axis labelled
with its units: the energy-resolved histogram (Fig. 2), latent spaces and their distance
correlation (Figs. 5, 6), the similarity learning (Fig. 7b-d, with the pair threshold behind
its training), the score and class maps (notebooks 06, 07, the app's download and the report:
:func:`draw_score_map`, :func:`draw_class_map`, :func:`maps_png`) and the spectral-weight
transfer (Fig. 8).

Conventions: bias axes read :data:`BIAS_LABEL` (negative sample bias probes the filled
states); every map has a labelled colour bar, or a legend when its values are categories
(:func:`draw_category_map`); one-signed quantities get sequential colour maps. Each function
draws one panel from a step's result and computes nothing of the analysis.
"""

from __future__ import annotations

import io

import numpy as np
import xarray as xr

from stswidgets.pipeline.plots_collection import BIAS_LABEL, draw_collection_spectra, draw_values
from stswidgets.pipeline.score import SiteClasses

__all__ = [
    "BIAS_LABEL",
    "draw_category_map",
    "draw_class_map",
    "draw_collection_spectra",
    "draw_class_score_histogram",
    "draw_class_spectra",
    "draw_coordinate_field",
    "draw_distance_correlation",
    "draw_energy_correlation",
    "draw_energy_distance",
    "draw_energy_histogram",
    "draw_latent",
    "draw_pair_threshold",
    "draw_score_map",
    "draw_setpoint_map",
    "draw_setpoint_spread",
    "draw_training_curves",
    "draw_values",
    "maps_figure",
    "maps_png",
    "separation_display",
]

#: A field is drawn as signed (diverging colours) when its smaller side reaches this fraction
#: of its larger side.
BOTH_SIGNS = 0.2

#: Colours of the simulated populations (surface, transition, vacancy).
TRUTH_COLOURS = ("0.7", "tab:orange", "tab:red")


def draw_latent(ax, Z, data, title: str = "", axis: str = "latent", units: str = "a.u."):
    """A 2D latent space ``Z`` ``(n_spectra, 2)`` on ``ax``: the simulated populations where
    ``data`` (a :class:`~stswidgets.pipeline.PipelineInput`) has a ground truth, else each
    point coloured by its spectrum's distance from the mean spectrum."""
    from stswidgets.pipeline.latent import populations

    Z = np.asarray(Z)
    truth = populations(data)
    if truth is None:
        distance = np.linalg.norm(data.X - data.X.mean(axis=0), axis=1)
        order = np.argsort(distance)
        points = ax.scatter(Z[order, 0], Z[order, 1], c=distance[order], s=3, cmap="viridis")
        ax.figure.colorbar(points, ax=ax, label=f"distance from the mean spectrum ({data.units})")
    else:
        masks = (truth.surface, truth.transition, truth.vacancy)
        names = ("surface", "transition", "vacancy")
        for mask, colour, label in zip(masks, TRUTH_COLOURS, names, strict=True):
            ax.scatter(Z[mask, 0], Z[mask, 1], s=3, color=colour, label=f"{label} ({mask.sum()})")
        ax.legend(markerscale=3, fontsize=8)
    ax.set(xlabel=f"{axis} 1 ({units})", ylabel=f"{axis} 2 ({units})", title=title)


def draw_distance_correlation(
    ax,
    correlation,
    xlabel: str,
    ylabel: str,
    title: str = "",
    highlight=None,
    highlight_label: str = "vacancy",
):
    """The 2D density of :class:`~stswidgets.analysis.correlation.DistanceCorrelation`
    (spectra per bin, log colour scale) with an optional boolean ``highlight`` of spectra
    drawn on top; the density is :func:`stswidgets.notebook.plot_density`'s (notebook 04's)."""
    from stswidgets.notebook import plot_density

    image = plot_density(ax, correlation, title, xlabel, ylabel)
    ax.figure.colorbar(image, ax=ax, label="spectra per bin")
    if highlight is not None and np.any(highlight):
        ax.scatter(
            correlation.data_distance[highlight],
            correlation.latent_distance[highlight],
            s=3,
            color="tab:cyan",
            label=highlight_label,
        )
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title)  # the caller's title, as given
    return image


def draw_pair_threshold(ax, pairs):
    """Distances of random pairs of scaled spectra with the threshold that labels the training
    pairs similar / dissimilar (the input of Fig. 7, not a panel of it); ``pairs`` is a
    :class:`~stswidgets.pipeline.score.PairDistances`."""
    ax.hist(pairs.distances, bins=200, color="0.4")
    ax.axvline(pairs.threshold, color="C3", label=f"threshold ({pairs.quantile:.0%} quantile)")
    ax.set(
        yscale="log",
        xlabel="pair distance (scaled units)",
        ylabel="pairs per bin",
        title="pair distances and the similar / dissimilar threshold",
    )
    ax.legend()


def draw_training_curves(axes, projection):
    """The contrastive loss per epoch of the projection and of the score network (two axes),
    training and held-out pairs, with the kept epoch."""
    names = ("projection 20-5-2", "score network 10-5-1")
    for ax, name, history in zip(axes, names, projection.history, strict=True):
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        ax.plot(epochs, history["train_loss"], label="training pairs")
        ax.plot(epochs, history["val_loss"], label="held-out pairs")
        if "best_epoch" in history:
            ax.axvline(history["best_epoch"] + 1, color="0.6", ls=":", label="kept")
        ax.set(xlabel="epoch", ylabel="contrastive loss (scaled units)", title=name)
        ax.legend()


def draw_coordinate_field(ax, field, projection):
    """The score network's coordinate over the projection plane (Fig. 7c), score levels
    dashed, the spectra and the majority's position (+) on top; ``field`` is a
    :class:`~stswidgets.pipeline.score.CoordinateField`.

    A coordinate that reaches well into both signs (the smaller side at least
    :data:`BOTH_SIGNS` of the larger) is drawn with a diverging map centred on 0; one that
    essentially keeps one sign with a sequential map, so no colour suggests a sign change the
    data do not have."""
    coordinate = np.asarray(field.coordinate, dtype=float)
    lo, hi = float(np.nanmin(coordinate)), float(np.nanmax(coordinate))
    if min(-lo, hi) >= BOTH_SIGNS * max(-lo, hi, 1e-300):
        limit = max(-lo, hi)
        style = {"cmap": "coolwarm", "vmin": -limit, "vmax": limit}
    else:
        style = {"cmap": "viridis"}
    filled = ax.contourf(field.t1, field.t2, coordinate, levels=30, **style)
    level_colour = "k" if style["cmap"] == "coolwarm" else "0.85"  # seen on dark viridis too
    ax.contour(
        field.t1,
        field.t2,
        field.score,
        levels=5,
        colors=level_colour,
        linestyles="--",
        linewidths=0.6,
    )
    Z = projection.Z
    ax.scatter(Z[:, 0], Z[:, 1], s=2, c="k", alpha=0.3)
    ax.plot(*projection.majority, "w+", ms=14, mew=2)
    ax.set(xlabel="tC1 (projection units)", ylabel="tC2 (projection units)")
    bar = ax.figure.colorbar(filled, ax=ax, label="coordinate (score-network units)")
    bar.locator = _ticker().MaxNLocator(6)
    bar.update_ticks()


def _ticker():
    import matplotlib.ticker as ticker

    return ticker


def _marker(n_points: int):
    from stswidgets.notebook import line_marker

    return line_marker(n_points) or None


def draw_class_spectra(ax, bias, classes, units: str):
    """Mean spectrum of each class, shaded +- 1 standard deviation (Fig. 8a)."""
    marker = _marker(len(bias))
    for code, name in enumerate(classes.names):
        count = int(classes.counts[code])
        if count == 0:
            continue
        mean, std = classes.mean[code], classes.std[code]
        ax.plot(bias, mean, color=f"C{code}", marker=marker, ms=3, label=f"{name} ({count})")
        ax.fill_between(bias, mean - std, mean + std, color=f"C{code}", alpha=0.2)
    ax.set(xlabel=BIAS_LABEL, ylabel=f"dI/dV ({units})", title="mean spectrum per class")
    ax.legend()


def draw_energy_distance(ax, weight, bias, title: str = "", units: str = "normalised dI/dV"):
    """Energy-resolved |difference| between pairs of two classes (Fig. 8b): probability
    density (log colour), one cell per measured bias, the median as a line."""
    from stswidgets.notebook import bias_edges

    density = weight.distance_density
    positive = density.density[density.density > 0]
    floor = positive.min() if positive.size else 1.0
    mesh = ax.pcolormesh(
        bias_edges(bias), density.edges, np.log10(density.density + floor), cmap="magma"
    )
    ax.plot(bias, density.median, color="w", lw=1, marker=_marker(len(bias)), ms=3, label="median")
    ax.figure.colorbar(mesh, ax=ax, label="log10 probability density (1 / normalised units)")
    ax.set(
        xlabel=BIAS_LABEL,
        ylabel=f"|difference| ({units})",
        title=title,
    )
    ax.legend(loc="upper right")


def draw_energy_correlation(ax, weight, bias, n_windows: int = 8):
    """Energy-energy correlation over the grid (Fig. 8c) at the measured energies, the
    anti-correlated window pairs boxed and numbered, the simulated windows dashed."""
    from matplotlib.patches import Rectangle

    from stswidgets.notebook import bias_edges

    edges = bias_edges(bias)
    image = ax.pcolormesh(edges, edges, weight.correlation, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_aspect("equal")
    ax.figure.colorbar(image, ax=ax, label="Pearson correlation")
    for rank, w in enumerate(weight.windows[:n_windows], start=1):
        (a_lo, a_hi), (b_lo, b_hi) = w.window_a_mV, w.window_b_mV
        ax.add_patch(Rectangle((b_lo, a_lo), b_hi - b_lo, a_hi - a_lo, fill=False, ec="k", lw=1))
        ax.annotate(str(rank), (b_hi, a_hi), fontsize=8)
    if weight.planted is not None:
        (s_lo, s_hi), (e_lo, e_hi) = sorted(weight.planted)
        ax.add_patch(
            Rectangle((e_lo, s_lo), e_hi - e_lo, s_hi - s_lo, fill=False, ec="g", ls="--", lw=1.5)
        )
    ax.set(xlabel=BIAS_LABEL, ylabel=BIAS_LABEL, title="energy-energy correlation")


#: Label of the score's colour bar.
SCORE_LABEL = "score (1: typical majority spectrum)"


def draw_score_map(ax, grid: xr.DataArray, valid, score: np.ndarray, title: str = "score"):
    """The score ``(n_valid,)`` on the real-space map on ``ax`` (axes in nm, a colour bar); on
    a collection of spectra where they were measured (:func:`draw_values`)."""
    return draw_values(ax, score, grid, SCORE_LABEL, valid=valid, cmap="inferno", title=title)


def draw_category_map(
    ax, grid: xr.DataArray, valid, codes, names, title: str = "", colours=None, legend=True
):
    """Categories on the real-space map on ``ax``: ``codes`` ``(n_valid,)`` int 0..k-1 (one
    per valid spectrum) drawn in one colour each, a discrete legend naming them with their
    counts (``names[k]``), unmeasured pixels blank; on a collection of spectra where they
    were measured (:func:`draw_values`). Returns the image (or scatter)."""
    return draw_values(
        ax,
        np.asarray(codes),
        grid,
        "category (code)",  # the value axis of a one-pixel line grid
        valid=valid,
        names=list(names),
        colours=colours,
        title=title,
        legend=legend,
    )


def draw_class_map(ax, grid: xr.DataArray, valid, classes: SiteClasses, title: str = "classes"):
    """The site classes on the real-space map on ``ax``: one categorical colour per class,
    a legend naming them with their counts, unmeasured pixels blank."""
    return draw_category_map(ax, grid, valid, classes.labels, list(classes.names), title)


def draw_class_score_histogram(ax, score, classes: SiteClasses, bins: int = 60):
    """The score of each class on ``ax``, all classes binned on one common range (so the
    bar heights compare: spectra per bin of one width), the class edges dashed."""
    score = np.asarray(score, dtype=float)
    finite = np.isfinite(score)
    edges = np.histogram_bin_edges(score[finite], bins=bins)
    for code, name in enumerate(classes.names):
        rows = finite & (classes.labels == code)
        if rows.any():
            ax.hist(
                score[rows],
                bins=edges,
                color=f"C{code % 10}",
                alpha=0.7,
                label=f"{name} ({int(rows.sum())})",
            )
    for edge in getattr(classes, "edges", ()) or ():
        ax.axvline(edge, color="k", ls="--", lw=0.8)
    width = edges[1] - edges[0]
    ax.set(
        xlabel="similarity score (1: typical majority spectrum)",
        ylabel=f"spectra per bin (width {width:.2g})",
        yscale="log",
        title="score per class (one binning), and the edges",
    )
    ax.legend(fontsize=8, title="class (spectra)", title_fontsize=8)


def draw_energy_histogram(ax, X, bias, units: str, mark_mV=None, bins: int = 100):
    """The energy-resolved histogram of all spectra (Fig. 2) on ``ax``: at every bias the
    fraction of the spectra per conductance bin (log colour), each bias at its true energy.

    The conductance range leaves at most
    :data:`~stswidgets.analysis.density.CLIP_PERCENT` % of the spectra outside at any bias
    (:func:`~stswidgets.analysis.density.histogram_range`); the title says how many are.
    Returns the fraction of the spectra left outside at each bias, ``(n_bias,)``.
    """
    from stswidgets.analysis.density import clipped_fraction, energy_resolved_histogram
    from stswidgets.notebook import bias_edges

    X = np.asarray(X, dtype=float)
    density, value_edges = energy_resolved_histogram(X, bias, bins=bins)
    log_density = np.log10(density.T + 1.0 / len(X))  # floor: one spectrum
    mesh = ax.pcolormesh(bias_edges(bias), value_edges, log_density, cmap="magma", shading="flat")
    ax.figure.colorbar(mesh, ax=ax, label="log10(fraction of spectra per bin)")
    if mark_mV is not None:
        ax.axvline(mark_mV, color="w", ls=":", lw=1)
    clipped = clipped_fraction(X, value_edges)
    worst = int(np.argmax(clipped))
    ax.set(
        xlabel=BIAS_LABEL,
        ylabel=f"dI/dV ({units})",
        title="energy-resolved histogram\n"
        + (
            f"off the range: at most {clipped[worst]:.1%} of spectra "
            f"({np.asarray(bias)[worst]:.3g} mV)"
            if clipped[worst] > 0
            else "every spectrum within the range"
        ),
    )
    return clipped


def separation_display(table):
    """Notebook 05's separation table for reading: the AUCs first, the methods ordered by
    their mean AUC (when there is a truth), the Spearman correlation last and named a
    diagnostic (it rewards a monotone curve, not a separation: notebook 04)."""
    table = table.rename(columns={"Spearman": "Spearman (diagnostic)"})
    if "mean AUC" in table:
        table = table.sort_values("mean AUC", ascending=False)
    last = [c for c in ("Spearman (diagnostic)", "time (s)") if c in table]
    return table[[c for c in table.columns if c not in last] + last]


def maps_figure(grid: xr.DataArray, valid, score: np.ndarray, classes: SiteClasses | None = None):
    """A matplotlib ``Figure`` of the score map and (when given) the class map, axes in nm."""
    from matplotlib.figure import Figure

    n_panels = 1 if classes is None else 2
    fig = Figure(figsize=(5.6 * n_panels, 4.2), layout="constrained")
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    draw_score_map(axes[0], grid, valid, score, title="similarity score")
    if classes is not None:
        draw_class_map(axes[1], grid, valid, classes)
    return fig


def maps_png(
    grid: xr.DataArray, valid, score: np.ndarray, classes: SiteClasses | None = None
) -> bytes:
    """A PNG of :func:`maps_figure`: the score map and (when given) the class map."""
    buffer = io.BytesIO()
    maps_figure(grid, valid, score, classes).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def draw_setpoint_spread(ax, normalization, bins: int = 60):
    """Histogram of each spectrum's set-point conductance relative to its median, before and
    after the run's normalisation (notebook 01): the spread a tip or set-point drift leaves,
    and what the normalisation leaves of it.

    ``normalization``: :class:`~stswidgets.pipeline.normalization.Normalization`
    (``PipelineInput.normalization``). A curve whose median is not positive (z-scored spectra)
    is left out and the legend says so.
    """
    curves = {
        "measured": (normalization.conductance_before, normalization.spread_before, "0.4"),
        f"after {normalization.method}": (
            normalization.conductance_after,
            normalization.spread_after,
            "tab:blue",
        ),
    }
    ratios = {}
    for label, (g, spread, colour) in curves.items():
        g = np.asarray(g, dtype=float)
        median = np.median(g) if g.size else np.nan
        if not median > 0:
            ax.plot([], [], color=colour, label=f"{label}: median not positive, not drawn")
            continue
        ratios[label] = (g / median, spread, colour)
    values = np.concatenate([r for r, _, _ in ratios.values()]) if ratios else np.ones(1)
    lo, hi = np.percentile(values, [0.1, 99.9])
    pad = max(hi - lo, 0.02) * 0.05
    edges = np.linspace(lo - pad, hi + pad, bins + 1)
    for label, (ratio, spread, colour) in ratios.items():
        ax.hist(
            np.clip(ratio, edges[0], edges[-1]),
            bins=edges,
            histtype="step",
            lw=1.5,
            color=colour,
            label=f"{label} (spread {spread:.1%})",
        )
    ax.set_yscale("log")  # the narrow peak after the normalisation and the broad one before
    ax.set(
        xlabel="set-point conductance / its median",
        ylabel="spectra per bin",
        title=f"set-point spread; normalisation: {normalization.method}",
    )
    ax.legend(fontsize=8)


def draw_setpoint_map(ax, normalization, grid, valid):
    """Map of each pixel's set-point conductance relative to its median, as measured (where a
    tip or set-point drift shows as stripes or a gradient), with a labelled colourbar; on a
    collection of spectra where they were measured (:func:`draw_values`)."""
    g = np.asarray(normalization.conductance_before, dtype=float)
    median = np.median(g)
    ratio = g / median if median > 0 else g
    label = "set-point conductance / median" if median > 0 else "set-point conductance"
    draw_values(ax, ratio, grid, label, valid=valid)
    where = normalization.reference.split(" (")[0]
    ax.set_title(f"set-point conductance as measured\nread at {where}", fontsize=9)
