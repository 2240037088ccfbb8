"""The line-cut explorer: a waterfall of the spectra along a line linked to the spectra under
the cursor, and optional per-spectrum values (the score, a gap) against distance.

The spectra are a collection of geometry "line" (dims ``("spectrum", "bias")`` with a
``distance`` coordinate in nm, from :func:`stswidgets.open_spectra`). Everything the handlers
show is computed once in ``__init__`` (one column per position along the line); a cursor move
only indexes into it, a brushed range sums its rows once.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets
import xarray as xr

from stswidgets.grid import to_matrix
from stswidgets.spectra import is_spectra
from stswidgets.widgets._common import (
    CATEGORY_COLORS,
    HIGHLIGHT_SCALE,
    REST_COLOR,
    SELECTION_COLOR,
    Selection,
    _drawable,
    _drawn_centres,
    _edges_padding,
    _step,
    axis,
    figure,
    selected_sum,
    selection_for,
)
from stswidgets.widgets._line_positions import (
    line_distance_label,
    position_means,
    values_along_line,
)
from stswidgets.widgets._static import StaticImage, describe_colours

__all__ = ["LineCutExplorer"]

#: Colour of the current spectrum and of the cursor marks.
CURRENT_COLOR = "#222222"
_MODE_TITLES = {
    "cursor": "dI/dV along the line: click, then move the cursor",
    "range": "dI/dV along the line: brush a range",
}


class LineCutExplorer(StaticImage, ipw.VBox):
    """Waterfall of a line cut (distance vs sample bias) linked to the spectrum under the cursor.

    The waterfall shows one column per position along the line (spectra repeated at one
    position are averaged into its column), colour = dI/dV with a labelled colour bar; never
    measured samples are grey. In "cursor" mode a click on the waterfall starts a cursor that
    follows the mouse (a second click fixes it): the spectrum at the cursor's distance is drawn
    in the spectrum panel beside it (the slider does the same). In "range" mode a range of
    distances brushed on the waterfall selects its complete spectra: their mean is drawn in
    the spectrum panel (orange) and, with ``values``, their values are marked.

    Parameters
    ----------
    spectra : xarray.DataArray, dims ``("spectrum", "bias")``
        A line cut (geometry "line", coordinate ``distance`` in nm; without it the distance
        is the path length along the ``x``/``y`` positions, else the spectrum number), bias in mV.
    values : array ``(n_spectrum,)`` or ``(n_complete,)``, DataArray, dict or Dataset, optional
        Per-spectrum results (e.g. the score) drawn against distance beside the spectra: one
        array (a DataArray's ``long_name``/``units`` label it), or several by name. Given for
        every spectrum or only for the complete ones (the rows of the matrix view, as the
        pipeline's results are).
    selection : Selection, optional
        Share the selection of the complete spectra (a :class:`Selection` of the ``(1, n)``
        mask of complete spectra) with other explorers of the same spectra.
    mode : {"cursor", "range"}
        What the mouse does on the waterfall at first.
    distance : float, optional
        Distance (nm) of the first current spectrum; default the first position.

    Attributes
    ----------
    distance : traitlet (float, nm)
        Distance of the current position (snapped to the nearest position).
    position : traitlet (int)
        Index of the current position into :attr:`distances`.
    mode : traitlet (str)
        ``"cursor"`` or ``"range"``.
    distances : numpy.ndarray ``(n_positions,)``
        The distinct distances (nm) of the waterfall's columns, ascending.
    columns : numpy.ndarray ``(n_positions, n_bias)``
        The spectrum shown for each position (mean of the spectra measured there).
    complete : numpy.ndarray of bool ``(n_spectrum,)``
        Spectra measured at every bias: the rows of ``X`` and of the selection.
    """

    distance = traitlets.Float()
    position = traitlets.Int(0)
    mode = traitlets.Enum(["cursor", "range"], default_value="cursor")

    def __init__(
        self,
        spectra,
        values=None,
        selection: Selection | None = None,
        mode: str = "cursor",
        distance: float | None = None,
    ):
        if not (isinstance(spectra, xr.DataArray) and is_spectra(spectra)):
            raise ValueError(
                "LineCutExplorer needs spectra with dims ('spectrum', 'bias') (a line cut from "
                f"stswidgets.open_spectra), got dims {tuple(getattr(spectra, 'dims', ()))}"
            )
        if mode not in _MODE_TITLES:
            raise ValueError(f"mode must be 'cursor' or 'range', got {mode!r}")
        _, complete = to_matrix(spectra)  # checks the data model; complete spectra = rows of X
        cube = np.asarray(spectra.values, dtype=float)
        self.spectra = spectra
        self.bias_mV = np.asarray(spectra["bias"].values, dtype=float)
        self.units = spectra.attrs.get("units", "a.u.") or "a.u."
        spectrum_distance, self.distance_label = line_distance_label(spectra)
        self.spectrum_distance = spectrum_distance
        self.complete = np.asarray(complete, dtype=bool)
        self.X = cube[self.complete]
        self.total = self.X.sum(axis=0, dtype=np.float64)
        self.complete_distance = spectrum_distance[self.complete]

        # one column per distinct position: the mean of the spectra measured there
        self.distances, column_of = np.unique(spectrum_distance, return_inverse=True)
        self.columns = position_means(cube, column_of, self.distances.size)
        self.n_per_position = np.bincount(column_of, minlength=self.distances.size)

        self.selection = selection_for(self.complete[None, :], selection)
        self._values = values_along_line(values, self.complete, column_of, self.distances.size)

        # -- the waterfall ------------------------------------------------------------------
        step = abs(_step(self.distances, fallback=1.0))
        d0, d1 = _edges_padding(self.distances, step)
        b0, b1 = _edges_padding(self.bias_mV)
        self.d_scale = bq.LinearScale(min=d0, max=d1)
        self.b_scale = bq.LinearScale(min=b0, max=b1)
        self.color_scale = bq.ColorScale(scheme="viridis")
        finite = np.isfinite(self.columns)
        lo, hi = np.percentile(self.columns[finite], [1, 99])
        self.color_scale.min, self.color_scale.max = float(lo), float(max(hi, lo + 1e-12))
        colour_label = f"dI/dV ({self.units})"
        describe_colours(self.color_scale, colour_label)
        x_drawn = _drawn_centres(self.distances, step)
        self.waterfall = bq.HeatMap(
            x=x_drawn,
            y=self.bias_mV,
            color=_drawable(np.where(finite, self.columns, lo).T),
            scales={"x": self.d_scale, "y": self.b_scale, "color": self.color_scale},
        )
        self.unmeasured = bq.HeatMap(  # grey over never-measured samples, transparent elsewhere
            x=x_drawn,
            y=self.bias_mV,
            color=_drawable(-(~finite).T.astype(float)),
            scales={
                "x": self.d_scale,
                "y": self.b_scale,
                "color": bq.ColorScale(min=-1, max=1, mid=0, colors=HIGHLIGHT_SCALE),
            },
        )
        self.cursor_line = bq.Lines(
            x=[self.distances[0]] * 2,
            y=[b0, b1],
            scales={"x": self.d_scale, "y": self.b_scale},
            colors=["white"],
            line_style="dashed",
            stroke_width=2,
        )
        self.cursor = bq.interacts.IndexSelector(scale=self.d_scale, color="white")
        self.range_brush = bq.interacts.BrushIntervalSelector(
            scale=self.d_scale, color=SELECTION_COLOR
        )
        self.waterfall_figure = figure(
            [self.waterfall, self.unmeasured, self.cursor_line],
            [
                axis(self.d_scale, self.distance_label),
                axis(self.b_scale, "sample bias (mV)", "vertical"),
                bq.ColorAxis(scale=self.color_scale, side="right", label=colour_label),
            ],
            title="",
            width=480,
            height=400,
        )
        self.waterfall_figure.fig_margin = {"top": 40, "bottom": 45, "left": 60, "right": 95}

        # -- the spectra under the cursor ---------------------------------------------------
        self.sx, self.sy = bq.LinearScale(), bq.LinearScale()
        mean_all = self.total / self.X.shape[0]
        self.spectrum_lines = bq.Lines(
            x=self.bias_mV,
            y=np.vstack([self.columns[0], np.full_like(mean_all, np.nan), mean_all]),
            scales={"x": self.sx, "y": self.sy},
            colors=[CURRENT_COLOR, SELECTION_COLOR, REST_COLOR],
            labels=["at the cursor", "selection mean", "line mean"],
            display_legend=True,
            stroke_width=2,
        )
        self.spectrum_figure = figure(
            [self.spectrum_lines],
            [axis(self.sx, "sample bias (mV)"), axis(self.sy, colour_label, "vertical")],
            title="",
            width=420,
            height=400,
            legend_location="top-left",
        )

        # -- values against distance --------------------------------------------------------
        self.values_figure = None
        if self._values:
            self._build_values_figure()

        # -- controls -----------------------------------------------------------------------
        self.slider = ipw.FloatSlider(
            value=float(self.distances[0]),
            min=float(self.distances[0]),
            max=float(self.distances[-1]),
            step=step,
            description="distance (nm)" if "nm" in self.distance_label else "spectrum",
            readout_format=".2f",
            continuous_update=True,
            layout=ipw.Layout(width="420px"),
            style={"description_width": "initial"},
        )
        self.mode_buttons = ipw.ToggleButtons(
            options=["cursor", "range"],
            tooltips=["click, then move the mouse: the spectrum under it", "brush a range"],
            style={"button_width": "70px"},
        )
        self.info = ipw.HTML()
        self.info.add_class("sts-status")

        # not traitlets.link: the explorer snaps the distance, and the slider must show it
        self.slider.observe(lambda change: setattr(self, "distance", change["new"]), "value")
        traitlets.link((self.mode_buttons, "value"), (self, "mode"))
        self.observe(self._on_distance, names="distance")
        self.observe(self._on_position, names="position")
        self.observe(self._on_mode, names="mode")
        self.cursor.observe(self._on_cursor, names="selected")
        self.range_brush.observe(self._on_range, names="selected")
        self.selection.observe(self._on_selection, names="indices")
        self.mode = mode
        self._on_mode()
        start = float(self.distances[0]) if distance is None else float(distance)
        if not np.isfinite(start):
            raise ValueError(f"distance must be a finite number of nm, got {distance!r}")
        self.distance = start
        self._on_distance()
        self._on_position()
        self._on_selection()
        figures = [self.waterfall_figure, self.spectrum_figure]
        if self.values_figure is not None:
            figures.append(self.values_figure)
        super().__init__([ipw.HBox([self.slider, self.mode_buttons]), ipw.HBox(figures), self.info])

    # ------------------------------------------------------------------ construction helpers

    def _build_values_figure(self) -> None:
        labels = list(self._values)
        colours = [CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i in range(len(labels))]
        self.vx = bq.LinearScale(min=self.d_scale.min, max=self.d_scale.max)
        self.vy = bq.LinearScale()
        per_position = np.vstack([self._values[k]["position"] for k in labels])
        twice = 1 + (self.distances.size == 1)  # bqplot squeezes a one-point line away
        self.values_lines = bq.Lines(
            x=np.repeat(self.distances, twice),
            y=np.repeat(per_position, twice, axis=1),
            scales={"x": self.vx, "y": self.vy},
            colors=colours,
            labels=labels,
            display_legend=len(labels) > 1,
            marker="circle",
            marker_size=16,
            stroke_width=1.5,
        )
        finite = per_position[np.isfinite(per_position)]
        v0, v1 = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = 0.05 * (v1 - v0) or 1.0
        self.vy.min, self.vy.max = v0 - pad, v1 + pad
        self.values_cursor = bq.Lines(
            x=[self.distances[0]] * 2,
            y=[v0 - pad, v1 + pad],
            scales={"x": self.vx, "y": self.vy},
            colors=[CURRENT_COLOR],
            line_style="dashed",
        )
        self.values_selected = bq.Scatter(
            x=np.zeros(0),
            y=np.zeros(0),
            scales={"x": self.vx, "y": self.vy},
            colors=[SELECTION_COLOR],
            default_size=36,
        )
        y_label = labels[0] if len(labels) == 1 else "value"
        self.values_figure = figure(
            [self.values_lines, self.values_cursor, self.values_selected],
            [axis(self.vx, self.distance_label), axis(self.vy, y_label, "vertical")],
            title=f"{labels[0]} along the line" if len(labels) == 1 else "values along the line",
            width=380,
            height=400,
            legend_location="top-left",
        )

    # ------------------------------------------------------------------ handlers

    def position_at(self, distance: float) -> int:
        """Index of the position nearest ``distance`` (nm)."""
        return int(np.argmin(np.abs(self.distances - float(distance))))

    @property
    def current_spectrum(self) -> np.ndarray:
        """The spectrum at the current position ``(n_bias,)`` (mean of those measured there)."""
        return self.columns[self.position]

    def _on_distance(self, change=None) -> None:
        position = self.position_at(self.distance)
        snapped = float(self.distances[position])
        if self.distance != snapped:
            self.distance = snapped  # re-enters once with the snapped value
            return
        self.slider.value = snapped
        self.position = position

    def _on_position(self, change=None) -> None:
        d = float(self.distances[self.position])
        y = np.array(self.spectrum_lines.y, dtype=float, copy=True)
        y[0] = self.columns[self.position]
        with self.spectrum_lines.hold_sync(), self.cursor_line.hold_sync():
            self.spectrum_lines.y = y
            self.cursor_line.x = [d, d]
        if self.values_figure is not None:
            self.values_cursor.x = [d, d]
        n_here = int(self.n_per_position[self.position])
        where = f"{d:.2f} nm" if "nm" in self.distance_label else f"spectrum {d:.0f}"
        self.spectrum_figure.title = f"spectrum at {where}" + (
            f" (mean of {n_here})" if n_here > 1 else ""
        )
        self._update_info()

    def _on_mode(self, change=None) -> None:
        self.waterfall_figure.interaction = (
            self.cursor if self.mode == "cursor" else self.range_brush
        )
        self.waterfall_figure.title = _MODE_TITLES[self.mode]

    def _on_cursor(self, change=None) -> None:
        selected = self.cursor.selected
        if selected is None or len(selected) == 0:
            return
        try:
            value = float(selected[0])
        except (TypeError, ValueError):
            return
        if np.isfinite(value):
            self.distance = value

    def _on_range(self, change=None) -> None:
        selected = self.range_brush.selected
        if selected is None or len(selected) < 2:
            return
        self.select_range(*(float(v) for v in selected[:2]))

    def select_range(self, start: float, stop: float) -> np.ndarray:
        """Select the complete spectra whose distance lies in ``[start, stop]`` (nm), as the
        range brush does; returns their indices (rows of ``X``)."""
        lo, hi = sorted((start, stop))
        rows = np.flatnonzero((self.complete_distance >= lo) & (self.complete_distance <= hi))
        self.selection.select(rows, source="linecut")
        return rows

    def _on_selection(self, change=None) -> None:
        rows = self.selection.indices
        y = np.array(self.spectrum_lines.y, dtype=float, copy=True)
        y[1] = selected_sum(self.X, self.total, rows) / rows.size if rows.size else np.nan
        self.spectrum_lines.y = y
        if self.selection.source != "linecut" and self.range_brush.selected is not None:
            self.range_brush.selected = None  # its interval is stale
        if self.values_figure is not None:
            first = next(iter(self._values.values()))["spectrum"][self.complete]
            with self.values_selected.hold_sync():
                self.values_selected.x = self.complete_distance[rows]
                self.values_selected.y = first[rows]
        self._update_info()

    def _update_info(self) -> None:
        rows = self.selection.indices
        text = f"<b>selected {rows.size} of {self.X.shape[0]} spectra</b>"
        if rows.size:
            d = self.complete_distance[rows]
            text += f" ({d.min():.2f} to {d.max():.2f} nm)"
        text += f" &nbsp;·&nbsp; cursor at {self.distances[self.position]:.2f}"
        text += " nm" if "nm" in self.distance_label else ""
        n_incomplete = int((~self.complete).sum())
        if n_incomplete:
            text += f" &nbsp;·&nbsp; {n_incomplete} incomplete spectra (grey) not in the means"
        self.info.value = text
