"""The latent-space explorer: a 2D latent space linked to the real-space map and mean spectra."""

from __future__ import annotations

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.widgets._common import (
    MapPanel,
    MeanSpectra,
    Selection,
    axis,
    figure,
    matrix_and_valid,
    selection_for,
)

__all__ = ["LatentExplorer"]


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
        a dropdown. The first one is also drawn on the real-space map.
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
    scatter : bqplot.Scatter
        The latent points; its ``selected`` trait follows the selection.
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
        self.scatter = bq.Scatter(
            scales=scales,
            default_size=14 if n > 2000 else 28,
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
        self.lasso = bq.interacts.LassoSelector(marks=[self.scatter], color="orange")
        self.x_axis = axis(self.x_scale, "latent 1 (a.u.)")
        self.y_axis = axis(self.y_scale, "latent 2 (a.u.)", "vertical")
        self.latent_figure = figure(
            [self.scatter],
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
            np.where(valid, 0.0, np.nan) if map_values is None else _to_map(map_values, valid),
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
            options=list(self.latents), description="latent", layout=ipw.Layout(width="220px")
        )
        self.color_dropdown = ipw.Dropdown(
            options=list(self.colors) or ["(none)"],
            description="colour",
            disabled=not self.colors,
            layout=ipw.Layout(width="220px"),
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
        self.x_axis.label = f"{self.space} 1 (a.u.)"
        self.y_axis.label = f"{self.space} 2 (a.u.)"
        self.latent_figure.title = f"latent space: {self.space}"

    def _on_color(self, change=None) -> None:
        if not self.colors or self.color_by not in self.colors:
            return
        values = self.colors[self.color_by]
        self.scatter.color = values
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

    def _on_selection(self, change=None) -> None:
        if self.selection.source != "latent" and self.brush.selected_x is not None:
            self.brush.selected_x = self.brush.selected_y = None  # its rectangle is stale
        idx = self.selection.indices
        current = self.scatter.selected
        if current is None or not np.array_equal(np.sort(np.asarray(current)), idx):
            self.scatter.selected = idx if idx.size else None

    def clear(self) -> None:
        """Clear the selection (and the brush rectangle)."""
        self.brush.selected_x = self.brush.selected_y = None
        self.map.brush.selected_x = self.map.brush.selected_y = None
        self.selection.clear(source="latent")


def _to_map(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.full(valid.shape, np.nan)
    out[valid] = values
    return out
