"""The grid explorer: the map at a chosen bias, picked spectra, the energy-resolved histogram."""

from __future__ import annotations

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.widgets._common import (
    PIN_COLORS,
    SELECTION_COLOR,
    MapPanel,
    Selection,
    axis,
    figure,
    matrix_and_valid,
    selected_sum,
    selection_for,
)
from stswidgets.widgets._static import StaticImage

__all__ = ["GridExplorer"]

_MODE_TITLES = {"pick": "click a pixel", "brush": "brush to select"}


def _energy_resolved_histogram(X, bias_mV, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``(H (n_bias, bins), value_edges)`` from the analysis module (Fig. 2b)."""
    from stswidgets.analysis.density import energy_resolved_histogram

    return energy_resolved_histogram(X, bias_mV, bins=bins)


class GridExplorer(StaticImage, ipw.VBox):
    """The real-space map at a bias chosen with a slider, picked spectra and the Fig. 2b density.

    In "pick" mode (the default) a click on a map pixel makes its spectrum the *current*
    spectrum, which "pin" keeps for comparison ("clear pins" forgets them). In "brush" mode a
    rectangle brushed on the map selects its pixels (shared with linked explorers through
    ``selection``) and the pixel at its centre becomes the current spectrum. The selected
    spectra's mean and the current and pinned spectra are drawn over the energy-resolved
    histogram of all spectra (the fraction of spectra per conductance bin at each bias, log
    colour scale).

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
    selection : Selection, optional
        Share one selection with other explorers to link them.
    bins : int
        Conductance bins of the energy-resolved histogram.
    mode : {"pick", "brush"}
        What the mouse does on the map at first (switch with the toggle buttons).

    Attributes
    ----------
    bias : traitlet (float, mV)
        The bias of the map (snapped to the nearest bias point).
    pixel : traitlet, (iy, ix) or None
        The current pixel (row, column indices).
    pinned : traitlet, list of (iy, ix)
        The pinned pixels.
    mode : traitlet, str
        ``"pick"`` (a click picks the current pixel) or ``"brush"`` (a rectangle selects).
    """

    bias = traitlets.Float()
    pixel = traitlets.Tuple(allow_none=True, default_value=None)
    pinned = traitlets.List()
    mode = traitlets.Enum(["pick", "brush"], default_value="pick")

    def __init__(
        self, grid, selection: Selection | None = None, bins: int = 100, mode: str = "pick"
    ):
        X, valid, x_nm, y_nm = matrix_and_valid(grid)
        self.X = X
        self.total = X.sum(axis=0, dtype=np.float64)
        self.valid = valid
        self.cube = np.asarray(grid.values)
        self.bias_mV = np.asarray(grid["bias"].values, dtype=float)
        self.row_of_pixel = np.full(valid.shape, -1, dtype=np.int64)
        self.row_of_pixel[valid] = np.arange(X.shape[0])
        self.selection = selection_for(valid, selection)
        units = self.units = grid.attrs.get("units", "a.u.") or "a.u."
        H, edges = _energy_resolved_histogram(X, self.bias_mV, bins)
        self.histogram, self.value_edges = H, edges
        centres = 0.5 * (edges[:-1] + edges[1:])

        j0 = int(np.argmin(np.abs(self.bias_mV)))
        self.map = MapPanel(
            self.cube[:, :, j0],
            valid,
            x_nm,
            y_nm,
            self.selection,
            title=_MODE_TITLES["pick"],
            label=f"dI/dV ({units})",
            pickable=True,
        )
        self.bx, self.by = bq.LinearScale(), bq.LinearScale()
        positive = H[H > 0]
        floor = float(positive.min()) if positive.size else 1e-6
        self.density = bq.HeatMap(
            x=self.bias_mV,
            y=centres,
            color=np.log10(np.maximum(H.T, floor / 2)),
            scales={"x": self.bx, "y": self.by, "color": bq.ColorScale(scheme="viridis")},
        )
        n_lines = 2 + len(PIN_COLORS)
        self.spectra_lines = bq.Lines(
            x=self.bias_mV,
            y=np.full((n_lines, self.bias_mV.size), np.nan),
            scales={"x": self.bx, "y": self.by},
            colors=[SELECTION_COLOR, "white"] + PIN_COLORS,
            stroke_width=2,
            labels=["selection mean", "current"] + [f"pin {i + 1}" for i in range(len(PIN_COLORS))],
        )
        self.bias_line = bq.Lines(
            x=[self.bias_mV[j0]] * 2,
            y=[centres[0], centres[-1]],
            scales={"x": self.bx, "y": self.by},
            colors=["#ff4f4f"],
            line_style="dashed",
        )
        self.density_figure = figure(
            [self.density, self.spectra_lines, self.bias_line],
            [axis(self.bx, "bias (mV)"), axis(self.by, f"dI/dV ({units})", "vertical")],
            title="energy-resolved histogram (log10 fraction)",
            width=480,
            height=400,
        )
        step = float(np.median(np.diff(self.bias_mV)))
        self.slider = ipw.FloatSlider(
            value=float(self.bias_mV[j0]),
            min=float(self.bias_mV[0]),
            max=float(self.bias_mV[-1]),
            step=step,
            description="bias (mV)",
            readout_format=".2f",
            continuous_update=True,
            layout=ipw.Layout(width="420px"),
        )
        self.pin_button = ipw.Button(description="pin", icon="thumb-tack")
        self.clear_pins_button = ipw.Button(description="clear pins", icon="times")
        self.mode_buttons = ipw.ToggleButtons(
            options=["pick", "brush"],
            tooltips=["click a pixel: its spectrum", "drag a rectangle: select its pixels"],
            style={"button_width": "60px"},
        )
        self.info = ipw.HTML()
        self.info.add_class("sts-status")

        traitlets.link((self.slider, "value"), (self, "bias"))
        traitlets.link((self.mode_buttons, "value"), (self, "mode"))
        self.observe(self._on_bias, names="bias")
        self.observe(self._on_mode, names="mode")
        self.observe(self._on_spectra, names=["pixel", "pinned"])
        self.observe(self._update_info, names="pixel")
        self.selection.observe(self._on_selection, names="indices")
        self.map.on_pick(self._on_pick)
        self.pin_button.on_click(lambda _: self.pin())
        self.clear_pins_button.on_click(lambda _: self.clear_pins())
        self.bias = float(self.bias_mV[j0])
        if mode not in _MODE_TITLES:
            raise ValueError(f"mode must be 'pick' or 'brush', got {mode!r}")
        self.mode = mode
        self._on_mode()
        self._on_selection()
        super().__init__(
            [
                ipw.HBox([self.slider, self.mode_buttons, self.pin_button, self.clear_pins_button]),
                ipw.HBox([self.map.figure, self.density_figure]),
                self.info,
            ]
        )

    @property
    def bias_index(self) -> int:
        return int(np.argmin(np.abs(self.bias_mV - self.bias)))

    def _on_bias(self, change=None) -> None:
        j = self.bias_index
        self.map.set_values(self.cube[:, :, j], f"dI/dV at {self.bias_mV[j]:.2f} mV ({self.units})")
        self.bias_line.x = [self.bias_mV[j]] * 2

    def _on_mode(self, change=None) -> None:
        self.map.set_mode(self.mode)
        self.map.title = _MODE_TITLES[self.mode]
        self._on_bias()  # redraws the title

    def _on_pick(self, pixel: tuple[int, int]) -> None:
        """A click on the map (pick mode): ``pixel`` becomes the current pixel."""
        if self.valid[pixel]:
            self.pixel = pixel
        else:
            self.info.value = f"pixel (iy, ix) = {pixel} was not measured"

    def _spectrum(self, pixel) -> np.ndarray:
        return np.asarray(self.cube[pixel[0], pixel[1]], dtype=float)

    def _on_spectra(self, change=None) -> None:
        y = np.array(self.spectra_lines.y, dtype=float, copy=True)
        y[1] = self._spectrum(self.pixel) if self.pixel is not None else np.nan
        y[2:] = np.nan
        for i, pixel in enumerate(self.pinned[: len(PIN_COLORS)]):
            y[2 + i] = self._spectrum(pixel)
        self.spectra_lines.y = y
        self.map.show_pins(self.pinned)
        self.map.show_current(self.pixel)

    def _on_selection(self, change=None) -> None:
        idx = self.selection.indices
        y = np.array(self.spectra_lines.y, dtype=float, copy=True)
        y[0] = selected_sum(self.X, self.total, idx) / idx.size if idx.size else np.nan
        self.spectra_lines.y = y
        if idx.size and self.selection.source == "map":
            rows, cols = np.nonzero(self.selection.mask)
            centre = (int(round(rows.mean())), int(round(cols.mean())))
            if self.valid[centre]:
                self.pixel = centre
        self._update_info()

    def _update_info(self, change=None) -> None:
        n = self.selection.indices.size
        self.info.value = f"<b>{n} selected</b> of {self.selection.n_valid} spectra" + (
            f" &nbsp;·&nbsp; current pixel (iy, ix) = {self.pixel}" if self.pixel else ""
        )

    def pin(self, pixel=None) -> None:
        """Pin ``pixel`` ((iy, ix), default the current pixel) for comparison."""
        pixel = self.pixel if pixel is None else tuple(int(v) for v in pixel)
        if pixel is None:
            return
        if not (0 <= pixel[0] < self.valid.shape[0] and 0 <= pixel[1] < self.valid.shape[1]):
            raise ValueError(f"pixel {pixel} lies outside the {self.valid.shape} grid")
        if pixel not in self.pinned:
            self.pinned = [*self.pinned, pixel][-len(PIN_COLORS) :]

    def clear_pins(self) -> None:
        """Forget the pinned spectra."""
        self.pinned = []
