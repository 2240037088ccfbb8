"""The latent-space explorer: a 2D latent space linked to the real-space map and mean spectra."""

from __future__ import annotations

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets
from bqplot_gl import ScatterGL

from stswidgets.grid import to_map
from stswidgets.widgets._common import (
    MapPanel,
    MeanSpectra,
    Selection,
    axis,
    figure,
    matrix_and_valid,
    selection_for,
)

__all__ = ["WEBGL_MIN_POINTS", "LatentExplorer"]

#: From this many points on, the latent scatter is drawn with WebGL (``bqplot_gl.ScatterGL``):
#: an SVG scatter keeps one DOM element per point and gets sluggish from a few thousand on.
WEBGL_MIN_POINTS = 2000


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


class LatentExplorer(ipw.VBox):
    """Brush or lasso a 2D latent space; see the selection on the map and in the mean spectra.

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

    Attributes
    ----------
    space, color_by : traitlets (str)
        Names of the shown latent space and colouring.
    mode : traitlet (str)
        ``"brush"`` or ``"lasso"``: which selector acts on the scatter.
    selection : Selection
        The linked selection (rows of ``X``); the map brush writes it too.
    scatter : bqplot.Scatter or bqplot_gl.ScatterGL
        The latent points; its ``selected`` trait follows the selection. A ``ScatterGL``
        (WebGL) from :data:`WEBGL_MIN_POINTS` points on, an SVG ``Scatter`` below.
    webgl : bool
        Whether ``scatter`` is drawn with WebGL.
    lasso_target : bqplot.Lines
        The mark the lasso selects points of: the scatter itself when it is SVG; with WebGL an
        invisible ``Lines`` mark through the same points, because ``ScatterGL`` 0.1 does not
        compute lasso selections in the browser (only rectangles).
    """

    space = traitlets.Unicode()
    color_by = traitlets.Unicode(allow_none=True)
    mode = traitlets.Enum(["brush", "lasso"], default_value="brush")

    def __init__(self, grid, Z, color=None, selection: Selection | None = None):
        X, valid, x_nm, y_nm = matrix_and_valid(grid)
        n = X.shape[0]
        self.latents = _as_named(Z, n, "latent space", "latent", ndim=2)
        if not self.latents:
            raise ValueError("Z must be an (n_valid, 2) array or a non-empty dict of them")
        self.colors = _as_named(color, n, "color", "color", ndim=1)
        self.selection = selection_for(valid, selection)
        units = grid.attrs.get("units", "a.u.") or "a.u."

        self.x_scale, self.y_scale = bq.LinearScale(), bq.LinearScale()
        self.color_scale = bq.ColorScale(scheme="viridis")
        scales = {"x": self.x_scale, "y": self.y_scale}
        if self.colors:
            scales["color"] = self.color_scale
        self.webgl = n >= WEBGL_MIN_POINTS
        self.scatter = (ScatterGL if self.webgl else bq.Scatter)(
            scales=scales,
            default_size=14 if self.webgl else 28,
            colors=["#3b528b"],
            stroke=None,
            opacities=[0.85],
            unselected_style={"opacity": 0.25},
            selected_style={"opacity": 1.0, "stroke": "black", "stroke-width": 0.6},
        )
        # the brush is not tied to the scatter in the browser: _on_brush selects the points in
        # its rectangle here, so clearing the rectangle never clears the selection
        self.brush = bq.interacts.BrushSelector(
            x_scale=self.x_scale, y_scale=self.y_scale, color="orange"
        )
        # ScatterGL's JS calls the lasso's one-point test with whole coordinate arrays and so
        # never selects anything: with WebGL the lasso acts on an invisible Lines mark instead
        # (one SVG path), whose selection is computed point by point in the browser
        self.lasso_target = (
            bq.Lines(
                x=np.zeros(0),
                y=np.zeros(0),
                scales={"x": self.x_scale, "y": self.y_scale},
                visible=False,
            )
            if self.webgl
            else self.scatter
        )
        self.lasso = bq.interacts.LassoSelector(marks=[self.lasso_target], color="orange")
        self.x_axis = axis(self.x_scale, "latent 1 (a.u.)")
        self.y_axis = axis(self.y_scale, "latent 2 (a.u.)", "vertical")
        self.latent_figure = figure(
            [self.scatter] + ([self.lasso_target] if self.webgl else []),
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
        self.scatter.observe(self._on_scatter_selected, names="selected")
        if self.webgl:
            self.lasso_target.observe(self._on_lasso_selected, names="selected")
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
            self.scatter.x, self.scatter.y = Z[:, 0], Z[:, 1]
        if self.webgl:
            with self.lasso_target.hold_sync():
                self.lasso_target.x, self.lasso_target.y = Z[:, 0], Z[:, 1]
        self.x_axis.label = f"{self.space} 1 (a.u.)"
        self.y_axis.label = f"{self.space} 2 (a.u.)"
        self.latent_figure.title = f"latent space: {self.space}"

    def _on_color(self, change=None) -> None:
        if not self.colors or self.color_by not in self.colors:
            return
        values = self.colors[self.color_by]
        self.scatter.color = values
        self.map.set_values(to_map(values, self.selection.valid), self.color_by)
        finite = values[np.isfinite(values)]
        if finite.size:
            self.color_scale.min, self.color_scale.max = float(finite.min()), float(finite.max())

    def _on_mode(self, change=None) -> None:
        self.latent_figure.interaction = self.brush if self.mode == "brush" else self.lasso

    def _on_brush(self, change=None) -> None:
        sx, sy = self.brush.selected_x, self.brush.selected_y
        if sx is None or sy is None or len(sx) < 2 or len(sy) < 2:
            return
        (xa, xb), (ya, yb) = sorted(sx), sorted(sy)
        x, y = self.scatter.x, self.scatter.y
        inside = (x >= xa) & (x <= xb) & (y >= ya) & (y <= yb)
        self.selection.select(np.flatnonzero(inside), source="latent")

    def _on_scatter_selected(self, change=None) -> None:
        selected = self.scatter.selected
        self.selection.select(
            np.zeros(0, dtype=np.int64) if selected is None else selected, source="latent"
        )

    def _on_lasso_selected(self, change=None) -> None:
        selected = self.lasso_target.selected
        self.selection.select(
            np.zeros(0, dtype=np.int64) if selected is None else selected, source="latent"
        )

    def _on_selection(self, change=None) -> None:
        if self.selection.source != "latent" and self.brush.selected_x is not None:
            self.brush.selected_x = self.brush.selected_y = None  # its rectangle is stale
        idx = self.selection.indices
        marks = [self.scatter, self.lasso_target] if self.webgl else [self.scatter]
        for mark in marks:  # kept in step, so that a repeated lasso still reports a change
            current = mark.selected
            if current is None or not np.array_equal(np.sort(np.asarray(current)), idx):
                mark.selected = idx if idx.size else None

    def clear(self) -> None:
        """Clear the selection (and the brush rectangle)."""
        self.brush.selected_x = self.brush.selected_y = None
        self.map.brush.selected_x = self.map.brush.selected_y = None
        self.selection.clear(source="latent")
