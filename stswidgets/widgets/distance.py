"""Explorers of the distance statistics: distance correlation (Fig. 5/6), distances (Fig. 4).

Both show results computed beforehand, so the picture holds exactly the numbers of the
analysis beside it: :class:`DistanceDistributionExplorer` a
:class:`stswidgets.pipeline.DistanceStatistics`, :class:`DistanceCorrelationExplorer` the
:class:`stswidgets.analysis.correlation.DistanceCorrelation` of each latent space. Their
handlers only index into those numbers (a click on the distribution recomputes the abundance
from the per-spectrum histograms, a matrix-vector product).
"""

from __future__ import annotations

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
    map_geometry,
    selection_for,
)
from stswidgets.widgets._static import StaticImage, describe_colours

__all__ = ["DistanceCorrelationExplorer", "DistanceDistributionExplorer"]

#: At most this many selected points are drawn over the correlation density (SVG stays fluid);
#: the selection itself, the map and the counts always use every point.
MAX_DRAWN_POINTS = 3000


def _centres(edges: np.ndarray) -> np.ndarray:
    edges = np.asarray(edges, dtype=float)
    return 0.5 * (edges[:-1] + edges[1:])


class DistanceCorrelationExplorer(StaticImage, ipw.VBox):
    """Distance from the mean in data space vs in each latent space; brush it to find pixels.

    Parameters
    ----------
    correlations : DistanceCorrelation or dict name -> DistanceCorrelation
        Results of :func:`stswidgets.analysis.correlation.distance_correlation` (one per
        latent space, all of the same spectra); a dict of several adds a dropdown.
    grid : xarray.DataArray, optional
        The grid the spectra come from (its valid mask and the map's nm axes).
    valid : bool array ``(ny, nx)``, optional
        Where the spectra sit on the map when no ``grid`` is given (a DataArray brings its nm
        coordinates); default: one row of pixels.
    selection : Selection, optional
        Share one selection with other explorers to link them.

    Attributes
    ----------
    space : traitlet (str)
        The latent space shown.
    results : dict name -> DistanceCorrelation
        The given results.
    """

    space = traitlets.Unicode()

    def __init__(
        self,
        correlations,
        grid=None,
        valid=None,
        selection: Selection | None = None,
    ):
        from stswidgets.analysis.correlation import DistanceCorrelation

        named = (
            {"latent": correlations}
            if isinstance(correlations, DistanceCorrelation)
            else dict(correlations or {})
        )
        if not named or not all(isinstance(r, DistanceCorrelation) for r in named.values()):
            raise TypeError(
                "correlations must be a DistanceCorrelation or a dict name -> DistanceCorrelation "
                "(stswidgets.analysis.correlation.distance_correlation(X, Z, log=True))"
            )
        self.results = {str(name): r for name, r in named.items()}
        sizes = {r.data_distance.shape[0] for r in self.results.values()}
        if len(sizes) != 1:
            raise ValueError(f"the correlations are of different numbers of spectra: {sizes}")
        logs = {r.log for r in self.results.values()}
        if len(logs) != 1:
            raise ValueError("the correlations mix plain and log-rescaled distances")
        valid, x_nm, y_nm = map_geometry(sizes.pop(), grid, valid)
        log = logs.pop()
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
        describe_colours(self.density.scales["color"], "log10(1 + spectra per bin)")
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
    """The pair-distance distribution, the analysis's two-Gaussian fit and minority abundance.

    Shows a :class:`stswidgets.pipeline.DistanceStatistics` as computed (notebook 03, the app):
    the offset slider moves over its log offsets (``stats.offsets``), drawing the histogram of
    ``log(d + offset)`` at each; it opens at the fitted offset (``stats.offset``), where the
    two-Gaussian fit, its components and the split (``stats.threshold``, the crossing of the
    components) are drawn and the map shows ``stats.abundance`` (Fig. 4d): the fraction of each
    spectrum's distances beyond the split. So the picture holds the very numbers of the
    analysis; at the other offsets only the histogram changes (the fit belongs to one offset)
    and the split line marks the same distance ``d``. When the fit shows one population no map
    is drawn and the status line says why (``stats.reason``). A dashed line marks the noise
    floor (``stats.floor_distance``): the distance two spectra identical but for their white
    noise lie apart, where the distribution of a grid of similar spectra starts.

    Click on the distribution, move the line, click again to fix it: the map then splits each
    spectrum's distances there instead, recomputed from the per-spectrum histograms
    ``stats.H`` (:func:`stswidgets.analysis.distances.far_fraction`).

    Parameters
    ----------
    stats : stswidgets.pipeline.DistanceStatistics
        From :func:`stswidgets.pipeline.distance_statistics`.
    grid : xarray.DataArray, optional
        The grid of the spectra (its valid mask and the map's nm axes).
    valid : bool array ``(ny, nx)``, optional
        Where the spectra sit on the map when no ``grid`` is given (a DataArray brings its nm
        coordinates); default: one row of pixels.
    selection : Selection, optional
        Linked selection (the map brush writes it).

    Attributes
    ----------
    stats : DistanceStatistics
    offsets : list of float
        The log offsets of ``stats``, ascending (the slider's positions).
    offset_index : traitlet (int)
        Which offset is shown (``offsets[offset_index]``).
    threshold : traitlet (float)
        Where each spectrum's distances are split, as ``log(d + stats.offset)`` (the fitted
        offset's scale, that of ``stats.threshold``); NaN, and no map, when the fit shows one
        population and no split was clicked.
    abundance : numpy.ndarray, shape ``(n_spectra,)``
        The minority abundance on the map (fraction 0-1; ``stats.abundance`` until a click);
        NaN without a map.
    """

    offset_index = traitlets.Int(0)
    threshold = traitlets.Float()

    def __init__(self, stats, grid=None, valid=None, selection: Selection | None = None):
        for name in ("rescaled", "offsets", "offset", "fit", "H", "h_edges", "threshold"):
            if not hasattr(stats, name):
                raise TypeError(
                    "stats must be a stswidgets.pipeline.DistanceStatistics "
                    f"(pipeline.distance_statistics(X, config)); got {type(stats).__name__}"
                )
        self.stats = stats
        self.offsets = sorted(float(o) for o in stats.offsets)
        self.fit = stats.fit
        valid, x_nm, y_nm = map_geometry(stats.H.shape[0], grid, valid)
        self.selection = selection_for(valid, selection)
        self.valid = valid
        self.abundance = np.full(stats.H.shape[0], np.nan)

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
        # the noise floor: two spectra identical but for the noise lie this far apart
        self.floor = float(getattr(stats, "floor_distance", np.nan))
        self.floor_marker = bq.Lines(
            x=[0, 0],
            y=[0, 1],
            scales={"x": self.hx, "y": self.hy},
            colors=["#777777"],
            labels=["noise floor"],
            line_style="dashed",
            display_legend=True,
            visible=bool(np.isfinite(self.floor) and self.floor > 0),
        )
        self.picker = bq.interacts.IndexSelector(scale=self.hx, marks=[self.lines], color="red")
        self.x_axis = axis(self.hx, "rescaled distance log(d + offset)")
        self.distribution_figure = figure(
            [self.lines, self.floor_marker, self.marker],
            [self.x_axis, axis(self.hy, "probability density (1/unit)", "vertical")],
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
        fitted = self.offsets.index(float(stats.offset))
        self.slider = ipw.SelectionSlider(
            options=[
                (f"{o:.3g}" + (" (fit)" if i == fitted else ""), i)
                for i, o in enumerate(self.offsets)
            ],
            value=fitted,
            description="offset",
            continuous_update=True,
            layout=ipw.Layout(width="420px"),
        )
        self.status = ipw.HTML()
        self.status.add_class("sts-status")

        self.offset_index = fitted
        self.threshold = float(stats.threshold if stats.abundance is not None else np.nan)
        traitlets.link((self.slider, "value"), (self, "offset_index"))
        self.observe(self._on_offset, names="offset_index")
        self.observe(self._on_threshold, names="threshold")
        self.picker.observe(self._on_pick, names="selected")
        self._on_offset()  # the fitted offset's histogram and fit
        self._on_threshold()  # the analysis's split and abundance map
        super().__init__(
            [
                self.slider,
                self.status,
                ipw.HBox([self.distribution_figure, self.map.figure]),
            ]
        )

    @property
    def offset(self) -> float:
        """The log offset shown (units of the distances)."""
        return self.offsets[self.offset_index]

    @property
    def at_fit(self) -> bool:
        """Whether the shown offset is the fitted one (the fit is drawn)."""
        return self.offset == float(self.stats.offset)

    def _to_shown(self, t: float) -> float:
        """``log(d + stats.offset)`` -> ``log(d + offset)`` of the shown offset."""
        d = max(np.exp(t) - self.stats.offset, 0.0)
        return float(np.log(d + self.offset))

    def _to_fitted(self, t: float) -> float:
        """``log(d + offset)`` of the shown offset -> ``log(d + stats.offset)``."""
        d = max(np.exp(t) - self.offset, 0.0)
        return float(np.log(d + self.stats.offset))

    def _on_offset(self, change=None) -> None:
        counts, edges = self.stats.rescaled[self.offset]
        counts = np.asarray(counts, dtype=np.float64)
        centres = _centres(edges)
        density = counts / (counts.sum() * np.diff(edges))
        if self.at_fit:
            fit = [self.fit.density(centres), *self.fit.component_densities(centres)]
        else:
            fit = [np.full(centres.shape, np.nan)] * 3
        with self.lines.hold_sync():
            self.lines.x = centres
            self.lines.y = np.vstack([density, *fit])
        self.marker.y = [0.0, float(density.max()) * 1.05]
        if self.floor_marker.visible:
            at = float(np.log(self.floor + self.offset))
            self.floor_marker.x, self.floor_marker.y = [at, at], [0.0, float(density.max())]
        self._show_split()

    def _on_pick(self, change=None) -> None:
        selected = self.picker.selected
        if selected is None or len(selected) == 0:
            return
        edges = self.stats.h_edges
        at = self._to_fitted(float(selected[0]))
        self.threshold = float(np.clip(at, edges[0], edges[-1]))

    def _on_threshold(self, change=None) -> None:
        """A new split: the abundance map (the analysis's own numbers at its split)."""
        from stswidgets.analysis.distances import far_fraction

        stats = self.stats
        if not np.isfinite(self.threshold):
            self.abundance = np.full(stats.H.shape[0], np.nan)
            title = "one population: no minority map"
        elif stats.abundance is not None and self.threshold == stats.threshold:
            self.abundance = np.asarray(stats.abundance)
            title = f"fraction of distances beyond d = {self._split_distance():.3g}"
        else:
            self.abundance = far_fraction(stats.H, stats.h_edges, self.threshold)
            title = f"fraction of distances beyond d = {self._split_distance():.3g}"
        self.map.set_values(to_map(self.abundance, self.valid), title)
        self._show_split()

    def _split_distance(self) -> float:
        return float(np.exp(self.threshold) - self.stats.offset)

    def _show_split(self) -> None:
        """The split line at the shown offset and the status line (no map work)."""
        stats, fit = self.stats, self.fit
        if np.isfinite(self.threshold):
            shown = self._to_shown(self.threshold)
            self.marker.x = [shown, shown]
            where = f"map at {self.threshold:.2f} (d = {self._split_distance():.3g})"
        else:
            where = "no map (click the distribution to split it by hand)"
        self.marker.visible = bool(np.isfinite(self.threshold))
        fitted = (
            f"two-Gaussian fit at offset {stats.offset:.3g}: near pairs w={fit.weights[0]:.3f} "
            f"μ={fit.means[0]:.2f} σ={fit.widths[0]:.2f}; far pairs w={fit.weights[1]:.3f} "
            f"μ={fit.means[1]:.2f} σ={fit.widths[1]:.2f}"
            + ("" if fit.converged else " <i>(fit not converged)</i>")
        )
        shown = "" if self.at_fit else f"offset {self.offset:.3g} (histogram only); "
        if self.floor_marker.visible:
            shown += f"noise floor d = {self.floor:.3g} (dashed); "
        reason = stats.reason if stats.bimodal else f"<b>{stats.reason}</b>"
        self.status.value = f"{shown}{fitted} &nbsp;·&nbsp; {reason} &nbsp;·&nbsp; {where}"
