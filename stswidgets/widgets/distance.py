"""Explorers of the distance statistics: distance correlation (Fig. 5/6), distances (Fig. 4)."""

from __future__ import annotations

import warnings

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.grid import to_map
from stswidgets.widgets._common import (
    REST_COLOR,
    SELECTION_COLOR,
    MapPanel,
    Selection,
    axis,
    figure,
    matrix_and_valid,
    selection_for,
)
from stswidgets.widgets._static import StaticImage

__all__ = ["DistanceCorrelationExplorer", "DistanceDistributionExplorer"]

#: At most this many selected points are drawn over the correlation density (SVG stays fluid);
#: the selection itself, the map and the counts always use every point.
MAX_DRAWN_POINTS = 3000


def _centres(edges: np.ndarray) -> np.ndarray:
    edges = np.asarray(edges, dtype=float)
    return 0.5 * (edges[:-1] + edges[1:])


def _histogram_median(counts: np.ndarray, edges: np.ndarray) -> float:
    """Median of a histogrammed distribution (linear inside the bin that holds it)."""
    cumulative = np.cumsum(counts, dtype=np.float64)
    half = cumulative[-1] / 2.0
    k = int(np.searchsorted(cumulative, half))
    before = cumulative[k - 1] if k else 0.0
    fraction = (half - before) / max(counts[k], 1)
    return float(edges[k] + fraction * (edges[k + 1] - edges[k]))


def _inputs(X, grid, valid):
    if grid is not None:
        return matrix_and_valid(grid=grid)
    if X is None:
        raise ValueError("pass the spectra X (n_spectra, n_bias) or a grid")
    return matrix_and_valid(X=X, valid=valid)


class DistanceCorrelationExplorer(StaticImage, ipw.VBox):
    """Distance from the mean in data space vs in each latent space; brush it to find pixels.

    Parameters
    ----------
    X : array, shape ``(n_spectra, n_bias)``, optional when ``grid`` is given
    latents : array ``(n_spectra, k)`` or dict name -> array
        Latent coordinates; a dict adds a dropdown.
    grid : xarray.DataArray, optional
        The grid ``X`` comes from (gives ``X``, the valid mask and the map's nm axes).
    valid : bool array, shape ``(ny, nx)``, optional
        The valid mask when ``X`` is passed without ``grid`` (default: one row of pixels).
    selection : Selection, optional
        Share one selection with other explorers to link them.
    bins : int
        Bins of the 2D density along each axis.
    log : bool
        Log-rescaled distances (Fig. 5b), as in
        :func:`stswidgets.analysis.correlation.distance_correlation`.

    Attributes
    ----------
    space : traitlet (str)
        The latent space shown.
    results : dict name -> DistanceCorrelation
        Computed once in ``__init__``.
    """

    space = traitlets.Unicode()

    def __init__(
        self,
        X=None,
        latents=None,
        grid=None,
        valid=None,
        selection: Selection | None = None,
        bins: int = 60,
        log: bool = True,
    ):
        from stswidgets.analysis.correlation import distance_correlation

        X, valid, x_nm, y_nm = _inputs(X, grid, valid)
        named = dict(latents) if isinstance(latents, dict) else {"latent": latents}
        if not named or any(v is None for v in named.values()):
            raise ValueError("latents must be an (n_spectra, k) array or a dict of them")
        self.results = {
            str(name): distance_correlation(X, np.asarray(Z), bins=bins, log=log)
            for name, Z in named.items()
        }
        self.selection = selection_for(valid, selection)
        self.log_distances = log
        what = "log(d + offset)" if log else "d"

        self.dx, self.dy = bq.LinearScale(), bq.LinearScale()
        self.density = bq.HeatMap(
            x=np.zeros(2),
            y=np.zeros(2),
            color=np.zeros((2, 2)),
            scales={"x": self.dx, "y": self.dy, "color": bq.ColorScale(scheme="viridis")},
        )
        self.points = bq.Scatter(
            x=np.zeros(0),
            y=np.zeros(0),
            scales={"x": self.dx, "y": self.dy},
            colors=[SELECTION_COLOR],
            default_size=10,
            stroke=None,
        )
        self.brush = bq.interacts.BrushSelector(x_scale=self.dx, y_scale=self.dy, color="white")
        self.y_axis = axis(self.dy, "latent distance (a.u.)", "vertical")
        self.density_figure = figure(
            [self.density, self.points],
            [axis(self.dx, f"data-space distance {what} (a.u.)"), self.y_axis],
            title="distance correlation (log10 1 + count)",
            interaction=self.brush,
            width=420,
            height=400,
        )
        first = next(iter(self.results))
        self.map = MapPanel(
            to_map(self.results[first].data_distance, valid),
            valid,
            x_nm,
            y_nm,
            self.selection,
            title="brush to select",
            label=f"data distance {what}",
        )
        self.dropdown = ipw.Dropdown(options=list(self.results), description="latent")
        self.status = ipw.HTML()
        self.status.add_class("sts-status")

        traitlets.link((self.dropdown, "value"), (self, "space"))
        self.observe(self._on_space, names="space")
        self.brush.observe(self._on_brush, names=["selected_x", "selected_y"])
        self.selection.observe(self._on_selection, names="indices")
        self.space = first
        self._on_space()
        super().__init__(
            [
                ipw.HBox([self.dropdown, self.status]),
                ipw.HBox([self.density_figure, self.map.figure]),
            ]
        )

    @property
    def result(self):
        """The :class:`DistanceCorrelation` of the shown latent space."""
        return self.results[self.space]

    def _on_space(self, change=None) -> None:
        r = self.result
        with self.density.hold_sync():
            self.density.x = _centres(r.data_edges)
            self.density.y = _centres(r.latent_edges)
            self.density.color = np.log10(1.0 + np.asarray(r.density, dtype=float).T)
        self.y_axis.label = (
            f"{self.space} distance {'log(d + offset)' if self.log_distances else 'd'} (a.u.)"
        )
        self.brush.selected_x = self.brush.selected_y = None
        self._on_selection()

    def _on_brush(self, change=None) -> None:
        sx, sy = self.brush.selected_x, self.brush.selected_y
        if sx is None or sy is None or len(sx) < 2 or len(sy) < 2:
            return
        (xa, xb), (ya, yb) = sorted(sx), sorted(sy)
        d, z = self.result.data_distance, self.result.latent_distance
        inside = (d >= xa) & (d <= xb) & (z >= ya) & (z <= yb)
        self.selection.select(np.flatnonzero(inside), source="correlation")

    def _on_selection(self, change=None) -> None:
        if self.selection.source != "correlation" and self.brush.selected_x is not None:
            self.brush.selected_x = self.brush.selected_y = None  # its rectangle is stale
        idx = self.selection.indices
        drawn = idx[:: max(1, int(np.ceil(idx.size / MAX_DRAWN_POINTS)))]
        with self.points.hold_sync():
            self.points.x = self.result.data_distance[drawn]
            self.points.y = self.result.latent_distance[drawn]
        self.status.value = (
            f"<b>{self.space}</b>: Spearman {self.result.spearman:.3f}, "
            f"Pearson {self.result.pearson:.3f} &nbsp;·&nbsp; "
            f"<b>selected {idx.size} of {self.selection.n_valid} spectra</b>"
        )


class DistanceDistributionExplorer(StaticImage, ipw.VBox):
    """The pairwise-distance distribution, its two-Gaussian fit and the minority abundance map.

    All pairwise distances are histogrammed once per log offset in one blockwise pass
    (:func:`stswidgets.analysis.distances.per_spectrum_histograms`); the offset slider only
    switches between the precomputed histograms and fits. The map shows the minority abundance
    (Fig. 4d) of :func:`stswidgets.analysis.distances.minority_abundance`: the fraction of
    each spectrum's distances beyond the crossing of the two fitted components. When the fit
    shows one population (:func:`stswidgets.analysis.distances.two_populations`) no map is
    drawn and the status line says why. Click on the distribution, move the line, click again
    to fix it: the map then splits the distances there instead.

    Parameters
    ----------
    X : array, shape ``(n_spectra, n_bias)``, optional when ``grid`` is given
    grid : xarray.DataArray, optional
    valid : bool array ``(ny, nx)``, optional
        The valid mask when ``X`` is passed without ``grid``.
    offsets : list of float, optional
        Offsets of ``log(d + offset)`` in the units of ``d``; default: 0.01, 0.03, 0.1, 0.3 and
        1 times the median pairwise distance.
    bins : int
        Histogram bins.
    selection : Selection, optional
        Linked selection (the map brush writes it).
    raw_histogram : (counts, edges), optional
        A histogram of the raw pairwise distances that counts every pair
        (:func:`stswidgets.analysis.distances.distance_histogram` with ``range=None``), if one
        was already computed; otherwise it is computed here (one extra pass). The rescaled
        histograms cover only its occupied range
        (:func:`stswidgets.analysis.distances.occupied_range`), so no bins are wasted on
        distances that do not occur.

    Attributes
    ----------
    offset_index : traitlet (int)
        Which offset is shown.
    threshold : traitlet (float)
        The rescaled distance each spectrum's distances are split at (default: the crossing of
        the two components; NaN, and no map, when the fit shows one population).
    results : list of MinorityAbundance
        The default abundance of every offset, computed once (``.bimodal``, ``.reason``).
    abundance : numpy.ndarray, shape ``(n_spectra,)``
        The current minority abundance (fraction 0-1) of every spectrum; NaN without a map.
    """

    offset_index = traitlets.Int(0)
    threshold = traitlets.Float()

    def __init__(
        self,
        X=None,
        grid=None,
        valid=None,
        offsets=None,
        bins: int = 100,
        selection: Selection | None = None,
        raw_histogram: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        from stswidgets.analysis.distances import (
            distance_histogram,
            fit_two_gaussians,
            minority_abundance,
            occupied_range,
            per_spectrum_histograms,
        )

        X, valid, x_nm, y_nm = _inputs(X, grid, valid)
        if raw_histogram is None:
            raw_histogram = distance_histogram(X, bins=max(bins, 200))
        raw_counts, raw_edges = (np.asarray(a) for a in raw_histogram)
        if offsets is None:
            scale = _histogram_median(raw_counts, raw_edges)
            offsets = [f * scale for f in (0.01, 0.03, 0.1, 0.3, 1.0)]
        self.offsets = [float(o) for o in offsets]
        if not self.offsets or min(self.offsets) <= 0:
            raise ValueError(f"offsets must be a non-empty list of positive numbers, got {offsets}")
        ranges = [occupied_range(raw_counts, raw_edges, o) for o in self.offsets]
        passes = per_spectrum_histograms(
            X, bins=bins, offset=self.offsets, range=ranges, return_counts=True
        )
        self.histograms = [(H, edges, counts) for H, edges, counts in passes]
        with warnings.catch_warnings():  # non-convergence is shown in the status line instead
            warnings.simplefilter("ignore")
            self.fits = [fit_two_gaussians(c, edges) for _, edges, c in self.histograms]
        self.results = [
            minority_abundance(H, edges, fit)
            for (H, edges, _), fit in zip(self.histograms, self.fits, strict=True)
        ]
        self.selection = selection_for(valid, selection)
        self.valid = valid

        self.hx, self.hy = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.lines = bq.Lines(
            x=np.zeros(2),
            y=np.zeros((4, 2)),
            scales={"x": self.hx, "y": self.hy},
            colors=["#333333", "#9e0142", REST_COLOR, SELECTION_COLOR],
            labels=["pairs", "two-Gaussian fit", "near pairs", "far pairs"],
            line_style="solid",
            stroke_width=2,
            display_legend=True,
        )
        self.marker = bq.Lines(
            x=[0, 0], y=[0, 1], scales={"x": self.hx, "y": self.hy}, colors=["#e6550d"]
        )
        self.picker = bq.interacts.IndexSelector(scale=self.hx, marks=[self.lines], color="red")
        self.distribution_figure = figure(
            [self.lines, self.marker],
            [
                axis(self.hx, "rescaled distance log(d + offset)"),
                axis(self.hy, "probability density (1/unit)", "vertical"),
            ],
            title="pairwise distances (click, move, click: map)",
            interaction=self.picker,
            width=440,
            height=400,
            legend_location="top-left",
        )
        self.map = MapPanel(
            np.where(valid, 0.0, np.nan),
            valid,
            x_nm,
            y_nm,
            self.selection,
            title="",
            label="minority abundance (fraction)",
        )
        self.slider = ipw.SelectionSlider(
            options=[(f"{o:.3g}", i) for i, o in enumerate(self.offsets)],
            description="offset",
            continuous_update=True,
            layout=ipw.Layout(width="420px"),
        )
        self.status = ipw.HTML()
        self.status.add_class("sts-status")
        self.abundance = np.zeros(X.shape[0])

        traitlets.link((self.slider, "value"), (self, "offset_index"))
        self.observe(self._on_offset, names="offset_index")
        self.observe(self._on_threshold, names="threshold")
        self.picker.observe(self._on_pick, names="selected")
        self._on_offset()
        super().__init__(
            [
                self.slider,
                self.status,
                ipw.HBox([self.distribution_figure, self.map.figure]),
            ]
        )

    @property
    def fit(self):
        """The :class:`TwoGaussianFit` of the shown offset."""
        return self.fits[self.offset_index]

    @property
    def result(self):
        """The default :class:`MinorityAbundance` of the shown offset."""
        return self.results[self.offset_index]

    def _on_offset(self, change=None) -> None:
        _, edges, counts = self.histograms[self.offset_index]
        centres = _centres(edges)
        density = counts / (counts.sum() * np.diff(edges))
        fit = self.fit
        with self.lines.hold_sync():
            self.lines.x = centres
            self.lines.y = np.vstack(
                [density, fit.density(centres), fit.component_densities(centres)]
            )
        self.marker.y = [0.0, float(density.max()) * 1.05]
        default = self.result.threshold if self.result.values is not None else np.nan
        if default == self.threshold:
            self._on_threshold()
        self.threshold = float(default)

    def _on_pick(self, change=None) -> None:
        selected = self.picker.selected
        if selected is None or len(selected) == 0:
            return
        _, edges, _ = self.histograms[self.offset_index]
        self.threshold = float(np.clip(float(selected[0]), edges[0], edges[-1]))

    def _on_threshold(self, change=None) -> None:
        from stswidgets.analysis.distances import far_fraction

        H, edges, _ = self.histograms[self.offset_index]
        fit, result = self.fit, self.result
        if np.isfinite(self.threshold):
            self.abundance = far_fraction(H, edges, self.threshold)
            title = f"fraction of distances beyond {self.threshold:.2f}"
            where = f"map at {self.threshold:.2f}"
            self.marker.x = [self.threshold, self.threshold]
        else:
            self.abundance = np.full(H.shape[0], np.nan)
            title = "one population: no minority map"
            where = "no map (click the distribution to split it by hand)"
        self.map.set_values(to_map(self.abundance, self.valid), title)
        self.status.value = (
            f"offset {self.offsets[self.offset_index]:.3g}: near pairs w={fit.weights[0]:.3f} "
            f"μ={fit.means[0]:.2f} σ={fit.widths[0]:.2f}; far pairs w={fit.weights[1]:.3f} "
            f"μ={fit.means[1]:.2f} σ={fit.widths[1]:.2f}"
            + ("" if fit.converged else " <i>(fit not converged)</i>")
            + f" &nbsp;·&nbsp; {'' if result.bimodal else '<b>'}{result.reason}"
            + f"{'' if result.bimodal else '</b>'} &nbsp;·&nbsp; {where}"
        )
