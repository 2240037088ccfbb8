"""Pieces every explorer shares: the selection model, the real-space map panel, mean spectra.

The explorers only display results: the numbers come from :mod:`stswidgets.analysis`, are
computed once in ``__init__``, and the observe handlers here only index into them.
"""

from __future__ import annotations

import struct
import zlib

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.grid import GridError, to_matrix
from stswidgets.widgets._static import describe_colours

__all__ = ["MapPanel", "MeanSpectra", "Selection", "selected_sum", "selection_for"]

#: Colours shared by the panels: selection (orange), the rest (blue-grey), pins (a cycle).
SELECTION_COLOR = "#e6550d"
REST_COLOR = "#4a6d8c"
PIN_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]
#: Colours of categories 0, 1, 2, ... (class codes, the simulated truth): matplotlib's tab10,
#: the colours of the notebooks' class maps.
CATEGORY_COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
#: Colours of the simulated truth 0 surface, 1 transition, 2 vacancy: those of
#: ``pipeline.plots.TRUTH_COLOURS`` (grey, orange, red), so truth reads alike everywhere.
TRUTH_COLORS = ["#b2b2b2", "#ff7f0e", "#d62728"]
#: Overlay colours for -1 (unmeasured pixel), 0 (not selected: transparent), 1 (selected).
HIGHLIGHT_SCALE = ["#d9d9d9", "rgba(0, 0, 0, 0)", "rgba(255, 80, 10, 0.6)"]


def category_colors(k: int, colours=None) -> list[str]:
    """``k`` colours for the categories 0..k-1: ``colours`` when given, else the cycle of
    :data:`CATEGORY_COLORS`."""
    palette = list(colours) if colours is not None else CATEGORY_COLORS
    return [palette[i % len(palette)] for i in range(k)]


def _as_index_array(indices, n_valid: int) -> np.ndarray:
    """Sorted unique int64 indices into the valid spectra; a clear error when out of range."""
    if indices is None:
        return np.zeros(0, dtype=np.int64)
    idx = np.asarray(indices)
    if idx.dtype == bool:
        if idx.shape != (n_valid,):
            raise ValueError(f"a boolean selection must have shape ({n_valid},), got {idx.shape}")
        return np.flatnonzero(idx).astype(np.int64)
    idx = idx.astype(np.int64).ravel()
    if idx.size > 1 and not np.all(idx[1:] > idx[:-1]):  # not already sorted and unique
        idx = np.unique(idx)
    if idx.size and (idx[0] < 0 or idx[-1] >= n_valid):
        raise ValueError(
            f"selected indices must lie in [0, {n_valid}) (one per valid spectrum), "
            f"got values from {idx[0]} to {idx[-1]}"
        )
    return idx


class Selection(traitlets.HasTraits):
    """Which pixels of a grid are selected: the one model every explorer reads and writes.

    Parameters
    ----------
    valid : bool array or DataArray, shape ``(ny, nx)``
        The mask of complete spectra (from :func:`stswidgets.to_matrix`); the selection indexes
        the valid pixels in its row-major order, i.e. the rows of the matrix view ``X``.

    Attributes
    ----------
    indices : traitlet, numpy.ndarray of int64, shape ``(k,)``
        Sorted indices into the valid spectra (rows of ``X``). Observe it to follow the selection.
    source : traitlet, str
        Who made the last change (``"latent"``, ``"map"``, ``"correlation"``, ...).
    mask : numpy.ndarray of bool, shape ``(ny, nx)``
        The selection on the real-space map (read/write property).
    flags : numpy.ndarray of bool, shape ``(n_valid,)``
        The selection as one flag per valid spectrum.

    Examples
    --------
    >>> sel = Selection(valid)
    >>> explorer_a = LatentExplorer(grid, Z, selection=sel)
    >>> explorer_b = GridExplorer(grid, selection=sel)   # brushing either updates both
    """

    indices = traitlets.Any(np.zeros(0, dtype=np.int64))
    source = traitlets.Unicode("")

    def __init__(self, valid, **kwargs):
        valid = np.asarray(valid, dtype=bool)
        if valid.ndim != 2:
            raise GridError(f"valid must be a 2D (y, x) mask, got shape {valid.shape}")
        self.valid = valid
        self.n_valid = int(valid.sum())
        self._pixel_of_row = np.flatnonzero(valid.ravel())
        super().__init__(**kwargs)

    @traitlets.validate("indices")
    def _validate_indices(self, proposal):
        return _as_index_array(proposal["value"], self.n_valid)

    @property
    def flags(self) -> np.ndarray:
        flags = np.zeros(self.n_valid, dtype=bool)
        flags[self.indices] = True
        return flags

    @property
    def mask(self) -> np.ndarray:
        mask = np.zeros(self.valid.size, dtype=bool)
        mask[self._pixel_of_row[self.indices]] = True
        return mask.reshape(self.valid.shape)

    @mask.setter
    def mask(self, mask) -> None:
        self.select_mask(mask)

    def select(self, indices, source: str = "") -> None:
        """Select the valid spectra ``indices`` (ints into the rows of ``X``, or bool flags)."""
        idx = _as_index_array(indices, self.n_valid)
        if np.array_equal(idx, self.indices):
            return
        with self.hold_trait_notifications():
            self.source = source
            self.indices = idx

    def select_mask(self, mask, source: str = "") -> None:
        """Select the pixels where the ``(ny, nx)`` boolean ``mask`` is True (invalid: ignored)."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != self.valid.shape:
            raise ValueError(f"mask has shape {mask.shape}, expected {self.valid.shape}")
        self.select(np.flatnonzero(mask[self.valid]), source=source)

    def clear(self, source: str = "") -> None:
        """Select nothing."""
        self.select(np.zeros(0, dtype=np.int64), source=source)

    def set_valid(self, valid) -> None:
        """Follow a grid whose measured pixels changed (a grid still being measured): the
        selected pixels that are still valid stay selected, re-indexed into the new ``valid``."""
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != self.valid.shape:
            raise ValueError(f"valid has shape {valid.shape}, expected {self.valid.shape}")
        kept = self.mask & valid
        self.valid, self.n_valid = valid, int(valid.sum())
        self._pixel_of_row = np.flatnonzero(valid.ravel())
        with self.hold_trait_notifications():
            self.indices = np.flatnonzero(kept[valid])


def selection_for(valid: np.ndarray, selection: Selection | None) -> Selection:
    """The given selection (checked against ``valid``) or a new one."""
    if selection is None:
        return Selection(valid)
    if not isinstance(selection, Selection):
        raise TypeError(f"selection must be a stswidgets.widgets.Selection, got {type(selection)}")
    if selection.valid.shape != valid.shape or not np.array_equal(selection.valid, valid):
        raise ValueError(
            f"the selection was made for a {selection.valid.shape} grid with "
            f"{selection.n_valid} valid pixels; this explorer has {valid.shape} with {valid.sum()}"
        )
    return selection


def matrix_and_valid(grid=None, X=None, valid=None):
    """``(X, valid_numpy, x_nm, y_nm)`` from a grid, or from ``X`` plus a valid mask."""
    if grid is not None:
        X, valid_da = to_matrix(grid)
        valid_np = np.asarray(valid_da, dtype=bool)
        x_nm = np.asarray(grid["x"].values, dtype=float)
        y_nm = np.asarray(grid["y"].values, dtype=float)
        return X, valid_np, x_nm, y_nm
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_spectra, n_bias), got {X.shape}")
    return (X, *map_geometry(X.shape[0], valid=valid))


def map_geometry(n_spectra: int, grid=None, valid=None):
    """``(valid_numpy, x_nm, y_nm)`` of the map that ``n_spectra`` results per spectrum lie on.

    From ``grid`` (its valid pixels and nm coordinates), else from the ``valid`` mask (a
    DataArray brings its ``x``/``y`` coordinates, a plain array pixel indices), else one row
    of ``n_spectra`` pixels. The number of valid pixels must be ``n_spectra``.
    """
    if grid is not None:
        _, valid_np, x_nm, y_nm = matrix_and_valid(grid=grid)
    elif valid is None:
        valid_np = np.ones((1, n_spectra), dtype=bool)
        x_nm, y_nm = np.arange(n_spectra, dtype=float), np.zeros(1)
    else:
        valid_np = np.asarray(valid, dtype=bool)
        x_nm = np.asarray(getattr(valid, "x", np.arange(valid_np.shape[1])), dtype=float)
        y_nm = np.asarray(getattr(valid, "y", np.arange(valid_np.shape[0])), dtype=float)
    if int(valid_np.sum()) != n_spectra:
        raise ValueError(
            f"the map has {int(valid_np.sum())} valid pixels but the results hold "
            f"{n_spectra} spectra"
        )
    return valid_np, x_nm, y_nm


def _png_rgba(rgba: np.ndarray) -> bytes:
    """PNG bytes of an ``(h, w, 4)`` uint8 RGBA image (no compression library needed)."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w = rgba.shape[:2]

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + rgba[i].tobytes() for i in range(h))  # filter 0 per row
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


#: A transparent 1 x 1 PNG: stretched over the map, it receives the mouse clicks (pick mode).
TRANSPARENT_PNG = _png_rgba(np.zeros((1, 1, 4), dtype=np.uint8))


def _step(coords: np.ndarray, fallback: float = 1.0) -> float:
    return float(np.median(np.diff(coords))) if coords.size > 1 else fallback


def _edges_padding(coords: np.ndarray, fallback: float = 1.0) -> tuple[float, float]:
    step = _step(coords, fallback)
    return float(coords[0] - step / 2), float(coords[-1] + step / 2)


def _drawn_centres(coords: np.ndarray, fallback: float) -> np.ndarray:
    """HeatMap cell centres along one axis: a single pixel (a line grid) is drawn as two
    half-width cells, since bqplot's HeatMap squeezes away an axis of length 1."""
    if coords.size > 1:
        return coords
    return np.array([coords[0] - fallback / 4, coords[0] + fallback / 4])


def _drawable(values) -> np.ndarray:
    """The colour array of a map as bqplot's HeatMap can draw it (singleton axes doubled)."""
    values = np.asarray(values, dtype=float)
    for ax in (0, 1):
        if values.shape[ax] == 1:
            values = np.repeat(values, 2, axis=ax)
    return values


def axis(scale, label: str, orientation: str = "horizontal", **kw) -> bq.Axis:
    """A labelled axis (``label`` carries the unit, e.g. ``"sample bias (mV)"``)."""
    side = {"side": "left"} if orientation == "vertical" else {}
    return bq.Axis(scale=scale, label=label, tick_format=kw.pop("tick_format", None), **side, **kw)


def figure(marks, axes, title: str = "", width: int = 360, height: int = 320, **kw) -> bq.Figure:
    """A compact figure with fixed pixel size and margins so panels line up in a row."""
    return bq.Figure(
        marks=marks,
        axes=axes,
        title=title,
        padding_x=0.0,
        padding_y=0.0,
        fig_margin={"top": 40, "bottom": 45, "left": 60, "right": 15},
        layout=ipw.Layout(width=f"{width}px", height=f"{height}px"),
        title_style={"font-size": "13px"},
        **kw,
    )


class MapPanel:
    """The real-space map: a HeatMap of values, a selection overlay and a brush.

    ``brush`` selects the pixels inside its rectangle (nm) into ``selection`` with source
    ``"map"``; every change of ``selection`` redraws the overlay: ``overlay.color`` is
    ``(ny, nx)`` with 1 on selected pixels (orange), 0 elsewhere (transparent) and -1 on
    unmeasured pixels (grey).

    With ``pickable=True`` the map can also report single clicks: bqplot's HeatMap sends no
    click events and the brush covers the marks, so a transparent :class:`bqplot.Image`
    (``picker``, whose view does send the clicked data coordinates) lies over the map, and
    :meth:`set_mode` swaps the figure's interaction between the brush (``"brush"``) and
    none (``"pick"``: clicks reach the picker). :meth:`on_pick` registers callbacks that get
    the clicked pixel ``(iy, ix)``; :meth:`show_current` rings one pixel (``current``).
    """

    def __init__(
        self,
        values,
        valid,
        x_nm,
        y_nm,
        selection: Selection,
        title: str,
        label: str,
        pickable: bool = False,
    ):
        self.valid = valid
        self.selection = selection
        self.x_nm, self.y_nm = x_nm, y_nm
        # a line grid (one row or column) borrows the pixel size of its other axis
        self._fallback_step = abs(_step(x_nm if x_nm.size > 1 else y_nm))
        x0, x1 = _edges_padding(x_nm, self._fallback_step)
        y0, y1 = _edges_padding(y_nm, self._fallback_step)
        x_drawn = _drawn_centres(x_nm, self._fallback_step)
        y_drawn = _drawn_centres(y_nm, self._fallback_step)
        self.x_scale = bq.LinearScale(min=x0, max=x1)
        self.y_scale = bq.LinearScale(min=y0, max=y1)
        self.color_scale = bq.ColorScale(scheme="viridis")
        self.heatmap = bq.HeatMap(
            x=x_drawn,
            y=y_drawn,
            color=_drawable(values),
            scales={"x": self.x_scale, "y": self.y_scale, "color": self.color_scale},
            null_color="#dddddd",
        )
        self.overlay = bq.HeatMap(
            x=x_drawn,
            y=y_drawn,
            color=_drawable(np.zeros(valid.shape)),
            scales={
                "x": self.x_scale,
                "y": self.y_scale,
                "color": bq.ColorScale(min=-1, max=1, mid=0, colors=HIGHLIGHT_SCALE),
            },
        )
        self.pins = bq.Scatter(
            x=np.zeros(0),
            y=np.zeros(0),
            scales={"x": self.x_scale, "y": self.y_scale},
            marker="cross",
            default_size=40,
            colors=["white"],
            stroke="black",
        )
        self.brush = bq.interacts.BrushSelector(
            x_scale=self.x_scale, y_scale=self.y_scale, color="white"
        )
        marks = [self.heatmap, self.overlay, self.pins]
        self.picker = self.current = None
        self._pick_callbacks: list = []
        if pickable:
            self.current = bq.Scatter(
                x=np.zeros(0),
                y=np.zeros(0),
                scales={"x": self.x_scale, "y": self.y_scale},
                marker="circle",
                default_size=90,
                fill=False,
                stroke="white",
                stroke_width=2.5,
            )
            marks.append(self.current)
            self.picker = bq.Image(
                image=ipw.Image(value=TRANSPARENT_PNG, format="png"),
                x=[x0, x1],
                y=[y0, y1],
                scales={"x": self.x_scale, "y": self.y_scale},
            )
            self.picker.on_element_click(self._on_click)
            marks.append(self.picker)
        color_axis = bq.ColorAxis(scale=self.color_scale, side="right")
        self.figure = figure(
            marks,
            [
                axis(self.x_scale, "x (nm)"),
                axis(self.y_scale, "y (nm)", "vertical"),
                color_axis,
            ],
            title=title,
            interaction=self.brush,
            width=460,
            height=400,
        )
        self.title = title
        self.figure.fig_margin = {"top": 40, "bottom": 45, "left": 60, "right": 85}
        self.set_values(values, label)
        self.brush.observe(self._on_brush, names=["selected_x", "selected_y"])
        selection.observe(self._on_selection, names="indices")
        self._on_selection()

    def set_values(self, values, label: str, names=None, colours=None) -> None:
        """Show ``values`` ``(ny, nx)``: a continuous quantity labelled ``label`` (colour range
        the 1st to 99th percentile), or with ``names`` the category codes 0..k-1 in
        ``colours`` (default :data:`CATEGORY_COLORS`; the static picture gives them a legend)."""
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)
        if names is not None:
            k = len(names)
            colours = category_colors(k, colours)
            lo = 0.0
            with self.color_scale.hold_sync():
                self.color_scale.colors = colours * (1 + (k == 1))
                self.color_scale.min, self.color_scale.max = 0.0, float(max(k - 1, 1))
            describe_colours(self.color_scale, label, names, colours)
        else:
            lo, hi = np.percentile(values[finite], [1, 99]) if finite.any() else (0.0, 1.0)
            with self.color_scale.hold_sync():
                self.color_scale.colors = []
                self.color_scale.min, self.color_scale.max = float(lo), float(max(hi, lo + 1e-12))
            describe_colours(self.color_scale, label)
        # the canvas cannot draw NaN: unmeasured pixels get the lowest colour here and are
        # covered in grey by the overlay (-1 there)
        self.heatmap.color = _drawable(np.where(finite, values, lo))
        self.figure.title = f"{label}: {self.title}" if self.title else label

    def set_grid(self, values, valid, x_nm, y_nm, label: str) -> None:
        """Show a grid whose measured pixels or x/y axes (nm) changed (one still being
        measured): ``values`` and ``valid`` ``(ny, nx)`` as in ``__init__``."""
        self.valid = np.asarray(valid, dtype=bool)
        self.x_nm, self.y_nm = np.asarray(x_nm, dtype=float), np.asarray(y_nm, dtype=float)
        self._fallback_step = abs(_step(self.x_nm if self.x_nm.size > 1 else self.y_nm))
        (x0, x1), (y0, y1) = (
            _edges_padding(coords, self._fallback_step) for coords in (self.x_nm, self.y_nm)
        )
        x_drawn = _drawn_centres(self.x_nm, self._fallback_step)
        y_drawn = _drawn_centres(self.y_nm, self._fallback_step)
        with self.heatmap.hold_sync(), self.overlay.hold_sync():
            self.x_scale.min, self.x_scale.max = x0, x1
            self.y_scale.min, self.y_scale.max = y0, y1
            for mark in (self.heatmap, self.overlay):
                mark.x, mark.y = x_drawn, y_drawn
            if self.picker is not None:
                self.picker.x, self.picker.y = [x0, x1], [y0, y1]
        self.set_values(values, label)
        self._on_selection()

    def pixels_in_rect(self, x_range, y_range) -> np.ndarray:
        """``(ny, nx)`` mask of the pixels whose centre lies in the rectangle (nm)."""
        (xa, xb), (ya, yb) = sorted(x_range), sorted(y_range)
        in_x = (self.x_nm >= xa) & (self.x_nm <= xb)
        in_y = (self.y_nm >= ya) & (self.y_nm <= yb)
        return in_y[:, None] & in_x[None, :] & self.valid

    def set_mode(self, mode: str) -> None:
        """``"brush"``: the brush selects pixels; ``"pick"``: a click picks one pixel."""
        if mode not in ("brush", "pick"):
            raise ValueError(f"mode must be 'brush' or 'pick', got {mode!r}")
        if mode == "pick" and self.picker is None:
            raise ValueError("this map was made without pickable=True: it cannot pick pixels")
        self.figure.interaction = self.brush if mode == "brush" else None

    @property
    def mode(self) -> str:
        return "brush" if self.figure.interaction is self.brush else "pick"

    def pixel_at(self, x_nm: float, y_nm: float) -> tuple[int, int] | None:
        """The ``(iy, ix)`` pixel whose cell contains the point (nm); None outside the map."""
        (x0, x1) = _edges_padding(self.x_nm, self._fallback_step)
        (y0, y1) = _edges_padding(self.y_nm, self._fallback_step)
        if not (min(x0, x1) <= x_nm <= max(x0, x1) and min(y0, y1) <= y_nm <= max(y0, y1)):
            return None
        return int(np.argmin(np.abs(self.y_nm - y_nm))), int(np.argmin(np.abs(self.x_nm - x_nm)))

    def show_current(self, pixel) -> None:
        """Ring the current ``(iy, ix)`` pixel (None: no ring); only on a pickable map."""
        if self.current is None:
            return
        with self.current.hold_sync():
            self.current.x = self.x_nm[[pixel[1]]] if pixel is not None else np.zeros(0)
            self.current.y = self.y_nm[[pixel[0]]] if pixel is not None else np.zeros(0)

    def on_pick(self, callback) -> None:
        """Call ``callback((iy, ix))`` when a pixel of the map is clicked in pick mode."""
        self._pick_callbacks.append(callback)

    def _on_click(self, _mark, content) -> None:
        data = content.get("data") or {}
        try:
            x_nm, y_nm = float(data["click_x"]), float(data["click_y"])
        except (KeyError, TypeError, ValueError):
            return
        pixel = self.pixel_at(x_nm, y_nm)
        if pixel is None:
            return
        for callback in self._pick_callbacks:
            callback(pixel)

    def _on_brush(self, change=None) -> None:
        sx, sy = self.brush.selected_x, self.brush.selected_y
        if sx is None or sy is None or len(sx) < 2 or len(sy) < 2:
            return
        self.selection.select_mask(self.pixels_in_rect(sx, sy), source="map")

    def _on_selection(self, change=None) -> None:
        if self.selection.source != "map" and self.brush.selected_x is not None:
            self.brush.selected_x = self.brush.selected_y = None  # its rectangle is stale
        self.overlay.color = _drawable(self.selection.mask.astype(float) - (~self.valid))

    def show_pins(self, pixels) -> None:
        """Mark the ``(iy, ix)`` pixels of pinned spectra."""
        pixels = np.asarray(pixels, dtype=int).reshape(-1, 2)
        with self.pins.hold_sync():
            self.pins.x = self.x_nm[pixels[:, 1]] if pixels.size else np.zeros(0)
            self.pins.y = self.y_nm[pixels[:, 0]] if pixels.size else np.zeros(0)


def selected_sum(X: np.ndarray, total: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sum of the rows ``idx`` of ``X`` (float64, ``(n_bias,)``), touching at most half the rows.

    ``total`` is ``X.sum(axis=0)``, computed once: a large selection is summed as
    ``total - sum(rest)``, so the cost is ``min(k, n - k)`` rows, never all ``n``.
    """
    n = X.shape[0]
    if idx.size <= n - idx.size:
        return X[idx].sum(axis=0).astype(np.float64)
    rest = np.ones(n, dtype=bool)
    rest[idx] = False
    return total - X[rest].sum(axis=0).astype(np.float64)


class MeanSpectra:
    """Mean spectrum of the selection vs the mean of the rest, updated in O(k n_bias).

    ``total`` (the sum of all spectra) is computed once, so the rest's mean is
    ``(total - sum_selected) / (n - k)`` and each update sums at most ``n / 2`` rows
    (:func:`selected_sum`).
    """

    def __init__(self, X, bias_mV, units: str, selection: Selection, title: str):
        self.X = np.asarray(X)
        if self.X.dtype.kind != "f":
            self.X = self.X.astype(np.float64)
        self.selection = selection
        self.total = self.X.sum(axis=0, dtype=np.float64)
        self.n = self.X.shape[0]
        self.x_scale = bq.LinearScale()
        self.y_scale = bq.LinearScale()
        mean_all = self.total / self.n
        self.lines = bq.Lines(
            x=np.asarray(bias_mV, dtype=float),
            y=np.vstack([mean_all, mean_all]),
            scales={"x": self.x_scale, "y": self.y_scale},
            colors=[SELECTION_COLOR, REST_COLOR],
            labels=["selection", "rest"],
            display_legend=True,
            stroke_width=2,
        )
        self.figure = figure(
            [self.lines],
            [
                axis(self.x_scale, "sample bias (mV)"),
                axis(self.y_scale, f"dI/dV ({units})", "vertical"),
            ],
            title=title,
            width=400,
            legend_location="top-left",
        )
        self.status = ipw.HTML()
        self.status.add_class("sts-status")
        selection.observe(self.update, names="indices")
        self.update()

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """``(mean_selected, mean_rest)``, each ``(n_bias,)``; NaN where a group is empty."""
        idx = self.selection.indices
        k = idx.size
        sel_sum = selected_sum(self.X, self.total, idx)
        mean_sel = sel_sum / k if k else np.full_like(self.total, np.nan)
        mean_rest = (self.total - sel_sum) / (self.n - k) if k < self.n else mean_sel * np.nan
        return mean_sel, mean_rest

    def update(self, change=None) -> None:
        mean_sel, mean_rest = self.means()
        self.lines.y = np.vstack([mean_sel, mean_rest])
        k = self.selection.indices.size
        self.status.value = (
            f"<b>selected {k} of {self.n} spectra</b> ({100.0 * k / self.n:.1f} %)"
            f" &nbsp;·&nbsp; rest {self.n - k}"
        )
