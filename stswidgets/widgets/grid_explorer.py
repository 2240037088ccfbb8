"""The grid explorer: the map at a chosen bias, picked spectra, the energy-resolved histogram;
also of a grid still being measured (a :class:`~stswidgets.io.GridFollower`), updated as its
pixels arrive by a periodic task on the kernel's event loop."""

from __future__ import annotations

import asyncio
import html

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.io.nanonis.follow import GridFollower, follow
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
from stswidgets.widgets._static import StaticImage, describe_colours

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

    Given a :class:`~stswidgets.io.GridFollower` (a grid still being measured, from
    :func:`stswidgets.follow`) instead of a grid, the explorer shows the spectra measured so far
    and, with ``interval``, refreshes every ``interval`` seconds on the kernel's event loop: the
    file is read in a worker thread, the widgets are updated on the loop, so the kernel stays
    free; the status line says "n of N spectra measured". The task ends by itself once the grid
    is complete; :meth:`stop` ends it earlier, :meth:`update` refreshes by hand.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``, or GridFollower
        The grid, or a follower holding at least one complete spectrum.
    selection : Selection, optional
        Share one selection with other explorers to link them (not with a follower: the
        measured pixels change as it grows).
    bins : int
        Conductance bins of the energy-resolved histogram.
    mode : {"pick", "brush"}
        What the mouse does on the map at first (switch with the toggle buttons).
    interval : float, optional
        With a follower: seconds between refreshes of the periodic task started at once
        (:meth:`start`); None starts none.
    bias : float, optional
        Bias (mV) the map opens at, snapped to the nearest bias point (e.g. the energy of the
        iso-energy segmentation next to it); None: the bias point nearest 0 mV.

    Examples
    --------
    >>> explorer = GridExplorer.follow("Grid Spectroscopy002.3ds", interval=5)  # doctest: +SKIP
    >>> explorer  # doctest: +SKIP
    >>> explorer.stop()  # doctest: +SKIP

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
    follower : GridFollower or None
    error : str or None
        Why the periodic refresh stopped, when a refresh failed (also in the status line).
    """

    bias = traitlets.Float()
    pixel = traitlets.Tuple(allow_none=True, default_value=None)
    pinned = traitlets.List()
    mode = traitlets.Enum(["pick", "brush"], default_value="pick")

    def __init__(
        self,
        grid,
        selection: Selection | None = None,
        bins: int = 100,
        mode: str = "pick",
        interval: float | None = None,
        bias: float | None = None,
    ):
        self.follower, self.error, self._task = None, None, None
        if isinstance(grid, GridFollower):
            if selection is not None:
                raise ValueError(
                    "a GridExplorer that follows a growing grid keeps its own selection (the "
                    "measured pixels change); link explorers of a finished grid instead"
                )
            self.follower, grid = grid, grid.grid
            if grid is None:
                raise ValueError(
                    f"{self.follower.path} holds no complete spectrum yet: call "
                    "follower.refresh() until follower.n_complete > 0"
                )
        self.bins = bins
        self._set_data(grid)
        self.selection = selection_for(self.valid, selection)
        units = self.units = grid.attrs.get("units", "a.u.") or "a.u."
        H, edges = self.histogram, self.value_edges
        centres = 0.5 * (edges[:-1] + edges[1:])
        x_nm, y_nm = self._x_nm, self._y_nm
        valid = self.valid

        if bias is not None and not np.isfinite(bias):
            raise ValueError(f"bias must be a finite number of mV, got {bias!r}")
        j0 = int(np.argmin(np.abs(self.bias_mV - (0.0 if bias is None else float(bias)))))
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
        describe_colours(self.density.scales["color"], "log10(fraction of spectra per bin)")
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
            [axis(self.bx, "sample bias (mV)"), axis(self.by, f"dI/dV ({units})", "vertical")],
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
        if self.follower is not None and interval is not None:
            self.start(interval)

    @classmethod
    def follow(
        cls, path, channel: str | None = None, interval: float | None = 2.0, **kwargs
    ) -> GridExplorer:
        """An explorer of the grid file ``path`` still being measured (see
        :func:`stswidgets.follow`), refreshed every ``interval`` seconds."""
        return cls(follow(path, channel=channel), interval=interval, **kwargs)

    def _set_data(self, grid) -> None:
        """The numbers the explorer shows, from ``grid`` (computed once per grid)."""
        X, valid, self._x_nm, self._y_nm = matrix_and_valid(grid)
        self.grid = grid
        self.X = X
        self.total = X.sum(axis=0, dtype=np.float64)
        self.valid = valid
        self.cube = np.asarray(grid.values)
        self.bias_mV = np.asarray(grid["bias"].values, dtype=float)
        self.row_of_pixel = np.full(valid.shape, -1, dtype=np.int64)
        self.row_of_pixel[valid] = np.arange(X.shape[0])
        H, edges = _energy_resolved_histogram(X, self.bias_mV, self.bins)
        self.histogram, self.value_edges = H, edges

    def set_grid(self, grid) -> None:
        """Show ``grid``, the same grid with more (or other) pixels measured: same shape and
        bias; the selected pixels that stay valid stay selected."""
        if grid.shape != self.cube.shape:
            raise ValueError(f"grid has shape {grid.shape}, expected {self.cube.shape}")
        self._set_data(grid)
        H, edges = self.histogram, self.value_edges
        centres = 0.5 * (edges[:-1] + edges[1:])
        positive = H[H > 0]
        floor = float(positive.min()) if positive.size else 1e-6
        with self.density.hold_sync():
            self.density.y = centres
            self.density.color = np.log10(np.maximum(H.T, floor / 2))
        self.bias_line.y = [centres[0], centres[-1]]
        self.map.set_grid(self.cube[:, :, self.bias_index], self.valid, self._x_nm, self._y_nm, "")
        self.selection.set_valid(self.valid)
        self._on_bias()
        self._on_spectra()
        self._on_selection()

    # ------------------------------------------------------------------ a growing grid

    def update(self) -> int:
        """Read what the followed file gained and show it; returns the new spectra."""
        if self.follower is None:
            raise ValueError("this explorer shows a finished grid; give it a GridFollower")
        n_new = self.follower.refresh()
        self._show_follower()
        return n_new

    def _show_follower(self) -> None:
        if self.follower.grid is not self.grid:
            self.set_grid(self.follower.grid)
        self._update_info()

    @property
    def running(self) -> bool:
        """Whether the periodic refresh task is scheduled."""
        return self._task is not None and not self._task.done()

    def start(self, interval: float = 2.0, loop: asyncio.AbstractEventLoop | None = None):
        """Refresh every ``interval`` seconds on the event loop (the kernel's, by default) until
        the grid is complete or :meth:`stop`; returns the :class:`asyncio.Task`."""
        if self.follower is None:
            raise ValueError("this explorer shows a finished grid; give it a GridFollower")
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.stop()
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # not inside a kernel or a coroutine
                loop = asyncio.get_event_loop()
        self.error = None
        self._task = loop.create_task(self._follow(float(interval)))
        self._update_info()
        return self._task

    def stop(self) -> None:
        """End the periodic refresh (a read already running in its thread still finishes)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._update_info()

    async def _follow(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while not self.follower.complete:
            await asyncio.sleep(interval)
            try:  # the file is read and the grid built in a worker thread
                await loop.run_in_executor(None, self.follower.refresh)
            except Exception as error:  # shown to the user; the task ends
                self.error = f"{type(error).__name__}: {error}"
                break
            self._show_follower()
        self._task = None
        self._update_info()

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
        text = f"<b>{n} selected</b> of {self.selection.n_valid} spectra" + (
            f" &nbsp;·&nbsp; current pixel (iy, ix) = {self.pixel}" if self.pixel else ""
        )
        if self.follower is not None:
            follower = self.follower
            text += f" &nbsp;·&nbsp; {follower.n_complete} of {follower.n_pixels} spectra measured"
            text += " (complete)" if follower.complete else " (following)" if self.running else ""
            if self.error:
                text += f" &nbsp;·&nbsp; refresh stopped: {html.escape(self.error)}"
        self.info.value = text

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
