"""The latent-space explorer: a 2D latent space linked to the real-space map and mean spectra."""

from __future__ import annotations

import re

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.grid import to_map
from stswidgets.widgets._common import (
    SELECTION_COLOR,
    TRUTH_COLORS,
    MapPanel,
    MeanSpectra,
    Selection,
    axis,
    category_colors,
    figure,
    matrix_and_valid,
    selection_for,
)
from stswidgets.widgets._static import StaticImage, describe_colours

__all__ = ["DENSITY_MIN_POINTS", "DENSITY_BINS", "MAX_DRAWN_POINTS", "LatentExplorer"]

#: From this many points on, the latent space is drawn as a density (a HeatMap of point counts)
#: with a random subsample of the points on top: an SVG scatter keeps one DOM element per
#: point and gets sluggish from a few thousand on. Selections still act on every point.
DENSITY_MIN_POINTS = 2000
#: Bins of the density along each latent axis.
DENSITY_BINS = 80
#: At most this many points are drawn: the subsample, and (separately) the selected points.
MAX_DRAWN_POINTS = 1000


def _density(Z: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x_centres, y_centres, log10(1 + counts))`` of the 2D histogram of ``Z``.

    The colour array has shape ``(bins, bins)`` indexed ``[y, x]``, as ``bqplot.HeatMap`` draws.
    """
    finite = np.isfinite(Z).all(axis=1)
    counts, xe, ye = np.histogram2d(Z[finite, 0], Z[finite, 1], bins=bins)
    return 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), np.log10(1.0 + counts.T)


#: A colouring with at most this many distinct integer values 0..k-1 is shown as categories.
MAX_CATEGORIES = 10


def category_names(name: str, values: np.ndarray) -> list[str] | None:
    """The names of the categories 0..k-1 when ``values`` are such codes, else None.

    Names come from a colouring named like ``"truth (0 surface, 1 transition, 2 vacancy)"``;
    codes the name does not list are named by their number.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.any(finite != np.round(finite)) or finite.min() < 0:
        return None
    k = int(finite.max()) + 1
    if k > MAX_CATEGORIES:
        return None
    named = {int(code): word.strip() for code, word in re.findall(r"(\d+)\s+([^,()]+)", name)}
    return [named.get(code, str(code)) for code in range(k)]


def _drawn(idx: np.ndarray, cap: int) -> np.ndarray:
    """At most ``cap`` of the sorted indices ``idx``, evenly strided."""
    return idx[:: max(1, int(np.ceil(idx.size / cap)))]


def _as_named(values, n: int, what: str, default_name: str, ndim: int) -> dict[str, np.ndarray]:
    """A dict name -> array from an array or a dict, every array with ``n`` rows."""
    if values is None:
        return {}
    named = dict(values) if isinstance(values, dict) else {default_name: values}
    out = {}
    for name, array in named.items():
        array = np.asarray(array, dtype=float)
        if ndim == 2 and (array.ndim != 2 or array.shape[1] < 2):
            raise ValueError(f"{what} {name!r} must have shape ({n}, 2), got {array.shape}")
        if ndim == 1:
            array = array.reshape(-1)
        if array.shape[0] != n:
            raise ValueError(
                f"{what} {name!r} has {array.shape[0]} rows, expected one per valid spectrum ({n})"
            )
        out[str(name)] = array[:, :2] if ndim == 2 else array
    return out


class LatentExplorer(StaticImage, ipw.VBox):
    """Brush or lasso a 2D latent space; see the selection on the map and in the mean spectra.

    Up to :data:`DENSITY_MIN_POINTS` spectra, every point is an SVG dot. From there on (a
    100 x 100 grid has 10,000) the latent space is drawn as the density of points (grey
    HeatMap, ``log10(1 + count)`` in :data:`DENSITY_BINS` bins per axis) with a fixed random
    subsample of :data:`MAX_DRAWN_POINTS` coloured dots on top and the selected points (at most
    as many, evenly strided) outlined; the brush and the lasso still select among all points,
    exactly.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
        The grid whose valid spectra (rows of ``to_matrix(grid)[0]``) the latent space embeds.
    Z : array, shape ``(n_valid, 2)``, or dict name -> array
        Latent coordinates (PCA scores, UMAP, autoencoder, Siamese, ...). With a dict, a
        dropdown switches between the latent spaces.
    color : array, shape ``(n_valid,)``, or dict name -> array, optional
        Values to colour the points by (cluster labels, a score, the ground truth); a dict adds
        a dropdown. The real-space map shows the same values (without ``color``: the mean
        conductance of each spectrum).
    selection : Selection, optional
        Share one selection with other explorers to link them.
    random_state : int
        Seed of the subsample drawn in density mode.

    Attributes
    ----------
    space, color_by : traitlets (str)
        Names of the shown latent space and colouring.
    mode : traitlet (str)
        ``"brush"`` or ``"lasso"``: which selector acts on the scatter.
    selection : Selection
        The linked selection (rows of ``X``); the map brush writes it too.
    density_mode : bool
        Whether the latent space is drawn as a density (``n_valid >= DENSITY_MIN_POINTS``).
    scatter : bqplot.Scatter
        The drawn points: all of them, or in density mode the subsample ``drawn`` (indices into
        the rows of ``X``). Its ``selected`` trait (positions among the drawn points) follows
        the selection: unselected dots are faded.
    lasso_target : bqplot.Mark
        The mark whose ``selected`` trait holds the selection as indices into all points (what
        the lasso writes): ``scatter`` itself, or in density mode an invisible ``Lines`` mark
        through every point (one SVG path, so the browser tests every point in the lasso).
    density : bqplot.HeatMap or None
        The density of points (density mode).
    selected_points : bqplot.Scatter or None
        The selected points, outlined (density mode).
    """

    space = traitlets.Unicode()
    color_by = traitlets.Unicode(allow_none=True)
    mode = traitlets.Enum(["brush", "lasso"], default_value="brush")

    def __init__(self, grid, Z, color=None, selection: Selection | None = None, random_state=0):
        X, valid, x_nm, y_nm = matrix_and_valid(grid)
        n = X.shape[0]
        self.latents = _as_named(Z, n, "latent space", "latent", ndim=2)
        if not self.latents:
            raise ValueError("Z must be an (n_valid, 2) array or a non-empty dict of them")
        self.colors = _as_named(color, n, "color", "color", ndim=1)
        self.selection = selection_for(valid, selection)
        units = grid.attrs.get("units", "a.u.") or "a.u."
        self.density_mode = n >= DENSITY_MIN_POINTS
        if self.density_mode:
            rng = np.random.default_rng(random_state)
            self.drawn = np.sort(rng.choice(n, size=min(n, MAX_DRAWN_POINTS), replace=False))
            self.densities = {name: _density(z, DENSITY_BINS) for name, z in self.latents.items()}
        else:
            self.drawn = np.arange(n)

        self.x_scale, self.y_scale = bq.LinearScale(), bq.LinearScale()
        self.color_scale = bq.ColorScale(scheme="viridis")
        scales = {"x": self.x_scale, "y": self.y_scale}
        if self.colors:
            scales["color"] = self.color_scale
        self.scatter = bq.Scatter(
            scales=scales,
            default_size=14 if n > 2000 else 28,
            colors=["#3b528b"],
            stroke=None,
            opacities=[0.85],
            unselected_style={"opacity": 0.25},
            selected_style={"opacity": 1.0, "stroke": "black", "stroke-width": 0.6},
        )
        marks = [self.scatter]
        self.density = self.selected_points = None
        self.lasso_target = self.scatter
        if self.density_mode:
            self.density = bq.HeatMap(
                x=np.zeros(2),
                y=np.zeros(2),
                color=np.zeros((2, 2)),
                scales={
                    "x": self.x_scale,
                    "y": self.y_scale,
                    "color": bq.ColorScale(colors=["#ffffff", "#aab4be"], min=0.0),
                },
            )
            self.selected_points = bq.Scatter(
                x=np.zeros(0),
                y=np.zeros(0),
                scales=scales,
                default_size=22,
                colors=[SELECTION_COLOR],
                stroke="black",
                stroke_width=0.8,
            )
            self.lasso_target = bq.Lines(
                x=np.zeros(0),
                y=np.zeros(0),
                scales={"x": self.x_scale, "y": self.y_scale},
                visible=False,
            )
            marks = [self.density, self.scatter, self.selected_points, self.lasso_target]
        # the brush is not tied to a mark in the browser: _on_brush selects the points in its
        # rectangle here (all of them), so clearing the rectangle never clears the selection
        self.brush = bq.interacts.BrushSelector(
            x_scale=self.x_scale, y_scale=self.y_scale, color="orange"
        )
        self.lasso = bq.interacts.LassoSelector(marks=[self.lasso_target], color="orange")
        self.x_axis = axis(self.x_scale, "latent 1 (a.u.)")
        self.y_axis = axis(self.y_scale, "latent 2 (a.u.)", "vertical")
        self.latent_figure = figure(
            marks,
            [self.x_axis, self.y_axis],
            title="latent space",
            interaction=self.brush,
            width=400,
            height=400,
        )
        self.latent_figure.padding_x = self.latent_figure.padding_y = 0.04

        if self.colors:
            first = next(iter(self.colors))
            map_values = self.colors[first]
            map_label = first
        else:
            map_values, map_label = X.mean(axis=1), f"mean dI/dV ({units})"
        self.map = MapPanel(
            to_map(map_values, valid),
            valid,
            x_nm,
            y_nm,
            self.selection,
            title="brush to select",
            label=map_label,
        )
        self.spectra = MeanSpectra(
            X, np.asarray(grid["bias"].values), units, self.selection, "mean spectra"
        )
        self.status = self.spectra.status

        self.space_dropdown = ipw.Dropdown(
            options=list(self.latents), description="latent", layout=ipw.Layout(width="300px")
        )
        self.color_dropdown = ipw.Dropdown(
            options=list(self.colors) or ["(none)"],
            description="colour",
            disabled=not self.colors,
            layout=ipw.Layout(width="300px"),
        )
        self.mode_buttons = ipw.ToggleButtons(
            options=["brush", "lasso"], style={"button_width": "60px"}
        )
        self.clear_button = ipw.Button(description="clear", icon="times", button_style="warning")
        self.clear_button.layout.width = "80px"

        traitlets.link((self.space_dropdown, "value"), (self, "space"))
        traitlets.link((self.mode_buttons, "value"), (self, "mode"))
        if self.colors:
            traitlets.link((self.color_dropdown, "value"), (self, "color_by"))
        self.observe(self._on_space, names="space")
        self.observe(self._on_color, names="color_by")
        self.observe(self._on_mode, names="mode")
        self.lasso_target.observe(self._on_marks_selected, names="selected")
        self.brush.observe(self._on_brush, names=["selected_x", "selected_y"])
        self.clear_button.on_click(lambda _: self.clear())
        self.selection.observe(self._on_selection, names="indices")

        self.space = self.space_dropdown.value
        self._on_space()
        if self.colors:
            self.color_by = self.color_dropdown.value
            self._on_color()
        self._on_selection()
        controls = ipw.HBox(
            [self.space_dropdown, self.color_dropdown, self.mode_buttons, self.clear_button]
        )
        super().__init__(
            [
                controls,
                ipw.HBox([self.latent_figure, self.map.figure]),
                ipw.HBox([self.spectra.figure, ipw.VBox([self.status], layout={"margin": "40px"})]),
            ]
        )

    # -- observe handlers: they only index into precomputed arrays --------------------------
    def _on_space(self, change=None) -> None:
        Z = self.latents[self.space]
        with self.scatter.hold_sync():
            self.scatter.x, self.scatter.y = Z[self.drawn, 0], Z[self.drawn, 1]
        if self.density_mode:
            xc, yc, color = self.densities[self.space]
            with self.density.hold_sync():
                self.density.x, self.density.y, self.density.color = xc, yc, color
            self.density.scales["color"].max = float(max(color.max(), 1e-12))
            with self.lasso_target.hold_sync():
                self.lasso_target.x, self.lasso_target.y = Z[:, 0], Z[:, 1]
            self._draw_selected()
        self.x_axis.label = f"{self.space} 1 (a.u.)"
        self.y_axis.label = f"{self.space} 2 (a.u.)"
        self.latent_figure.title = f"latent space: {self.space}"

    def _on_color(self, change=None) -> None:
        if not self.colors or self.color_by not in self.colors:
            return
        values = self.colors[self.color_by]
        names = category_names(self.color_by, values)
        label = re.sub(r"\s*\((\d+\s+[^,()]+,?\s*)+\)\s*$", "", self.color_by)
        self.scatter.color = values[self.drawn]
        if self.density_mode:
            self._draw_selected()
        colours = None
        if names is not None:  # the simulated truth in its colours everywhere
            truth = label == "truth" and len(names) <= len(TRUTH_COLORS)
            colours = category_colors(len(names), TRUTH_COLORS if truth else None)
        self.map.set_values(to_map(values, self.selection.valid), label, names, colours)
        finite = values[np.isfinite(values)]
        with self.color_scale.hold_sync():
            if names is not None:
                k = len(names)
                self.color_scale.colors = colours * (1 + (k == 1))
                self.color_scale.min, self.color_scale.max = 0.0, float(max(k - 1, 1))
                describe_colours(self.color_scale, label, names, colours)
            else:
                self.color_scale.colors = []
                if finite.size:
                    self.color_scale.min = float(finite.min())
                    self.color_scale.max = float(finite.max())
                describe_colours(self.color_scale, label)

    def _on_mode(self, change=None) -> None:
        self.latent_figure.interaction = self.brush if self.mode == "brush" else self.lasso

    def _on_brush(self, change=None) -> None:
        sx, sy = self.brush.selected_x, self.brush.selected_y
        if sx is None or sy is None or len(sx) < 2 or len(sy) < 2:
            return
        (xa, xb), (ya, yb) = sorted(sx), sorted(sy)
        Z = self.latents[self.space]
        x, y = Z[:, 0], Z[:, 1]
        inside = (x >= xa) & (x <= xb) & (y >= ya) & (y <= yb)
        self.selection.select(np.flatnonzero(inside), source="latent")

    def _on_marks_selected(self, change=None) -> None:
        selected = self.lasso_target.selected
        self.selection.select(
            np.zeros(0, dtype=np.int64) if selected is None else selected, source="latent"
        )

    def _draw_selected(self) -> None:
        """Density mode: outline the selected points (at most ``MAX_DRAWN_POINTS``)."""
        shown = _drawn(self.selection.indices, MAX_DRAWN_POINTS)
        Z = self.latents[self.space]
        with self.selected_points.hold_sync():
            self.selected_points.x, self.selected_points.y = Z[shown, 0], Z[shown, 1]
            if self.colors and self.color_by in self.colors:
                self.selected_points.color = self.colors[self.color_by][shown]

    def _on_selection(self, change=None) -> None:
        if self.selection.source != "latent" and self.brush.selected_x is not None:
            self.brush.selected_x = self.brush.selected_y = None  # its rectangle is stale
        idx = self.selection.indices
        # lasso_target holds indices into all points; kept in step so that a repeated lasso
        # over the same points still reports a change
        current = self.lasso_target.selected
        if current is None or not np.array_equal(np.sort(np.asarray(current)), idx):
            self.lasso_target.selected = idx if idx.size else None
        if self.density_mode:
            positions = np.flatnonzero(self.selection.flags[self.drawn])
            self.scatter.selected = positions if idx.size else None
            self._draw_selected()

    def clear(self) -> None:
        """Clear the selection (and the brush rectangle)."""
        self.brush.selected_x = self.brush.selected_y = None
        self.map.brush.selected_x = self.map.brush.selected_y = None
        self.selection.clear(source="latent")
