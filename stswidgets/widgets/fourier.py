"""The Fourier explorer: the conductance map and its Fourier map (quasiparticle interference) at
a bias chosen with a slider, and a q-cut through q = 0 linked to an energy-dispersion image.

The Fourier maps are computed beforehand by :func:`stswidgets.analysis.fourier_maps`; the
explorer only indexes into them. The dispersion along a cut is read off the maps of every bias
at once by :func:`stswidgets.analysis.q_cut` (one sparse interpolation matrix per angle);
nothing is transformed.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import traitlets

from stswidgets.widgets._common import (
    TRANSPARENT_PNG,
    MapPanel,
    Selection,
    _edges_padding,
    axis,
    figure,
    matrix_and_valid,
)
from stswidgets.widgets._static import StaticImage, describe_colours

__all__ = ["FourierExplorer"]

#: Sequential colour map of the Fourier power (one-signed), distinct from the real-space map's.
FOURIER_SCHEME = "inferno"
#: Decades of power below the strongest one that the log colour scale can show.
LOG_DECADES = 8


def _uniform_axis(coords: np.ndarray, name: str) -> None:
    """Refuse a q axis that is not ascending and evenly spaced (a clear error)."""
    if coords.size < 2:
        raise ValueError(
            f"the Fourier maps' {name} axis needs at least 2 points, got {coords.size}"
        )
    steps = np.diff(coords)
    if not (steps > 0).all() or np.ptp(steps) > 1e-6 * abs(steps.mean()):
        raise ValueError(
            f"the Fourier maps' {name} axis must be ascending and evenly spaced (as "
            "stswidgets.analysis.fourier_maps returns it)"
        )


class FourierExplorer(StaticImage, ipw.VBox):
    """The conductance map and its Fourier map at a bias, and a q-cut's energy dispersion.

    The conductance map at the bias of the slider and beside it its Fourier map (power on
    q_x, q_y in 1/nm, q = 2 pi / lambda as :func:`stswidgets.analysis.fourier_maps` gives it)
    with the q-cut drawn through q = 0 at the chosen angle (a click on the map turns the cut
    through the clicked q); below, the dispersion image: the power along the cut (signed q)
    against sample bias, with the current bias marked (a click picks the bias). The
    colour scale of the Fourier pictures is logarithmic by default (``log_scale``).

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
        The grid the Fourier maps were computed from (bias in mV, x/y in nm).
    fmaps : xarray.DataArray, dims ``("bias", "qy", "qx")``
        Its Fourier maps (:func:`stswidgets.analysis.fourier_maps`): power, or the complex
        transform (shown as ``|F|^2``); ``qx``/``qy`` ascending and evenly spaced, in 1/nm.
    bias : float, optional
        Bias (mV) shown first, snapped to the nearest bias of ``fmaps``; default nearest 0.
    angle : float
        Direction of the q-cut in degrees from the q_x axis.
    log_scale : bool
        Log10 colour scale of the Fourier map and the dispersion image.

    Attributes
    ----------
    bias : traitlet (float, mV)
        The bias of the maps (snapped to a bias of ``fmaps``).
    angle : traitlet (float, degrees)
        Direction of the q-cut.
    log_scale : traitlet (bool)
    q : numpy.ndarray ``(n_q,)``
        Signed positions along the cut (1/nm).
    dispersion : numpy.ndarray ``(n_bias, n_q)``
        The power along the current cut at every bias of ``fmaps``.
    """

    bias = traitlets.Float()
    angle = traitlets.Float(0.0)
    log_scale = traitlets.Bool(True)

    def __init__(self, grid, fmaps, bias: float | None = None, angle: float = 0.0,
                 log_scale: bool = True):  # fmt: skip
        grid_dims, fmap_dims = tuple(getattr(grid, "dims", ())), tuple(getattr(fmaps, "dims", ()))
        if grid_dims != ("y", "x", "bias"):
            raise ValueError(f"grid must have dims ('y', 'x', 'bias'), got {grid_dims}")
        if sorted(fmap_dims) != ["bias", "qx", "qy"]:
            raise ValueError(
                "fmaps must have dims ('bias', 'qy', 'qx') (stswidgets.analysis.fourier_maps), "
                f"got {fmap_dims}"
            )
        fmaps = fmaps.transpose("bias", "qy", "qx")
        self.grid = grid
        self.units = grid.attrs.get("units", "a.u.") or "a.u."
        self.grid_bias = np.asarray(grid["bias"].values, dtype=float)
        self.bias_mV = np.asarray(fmaps["bias"].values, dtype=float)
        self.qx = np.asarray(fmaps["qx"].values, dtype=float)
        self.qy = np.asarray(fmaps["qy"].values, dtype=float)
        _uniform_axis(self.qx, "qx"), _uniform_axis(self.qy, "qy")
        values = np.asarray(fmaps.values)
        #: the power ``(n_bias, n_qy, n_qx)`` shown: ``|F|^2`` of complex transforms
        self.power = (
            values.real**2 + values.imag**2 if np.iscomplexobj(values) else values.astype(float)
        )
        self.fmaps = fmaps.copy(data=self.power)  # what q_cut reads, once squared
        # the log scale spans at most LOG_DECADES below the strongest power (a map whose
        # period fits the frame exactly has powers of 1e-30 beside its peaks)
        finite_power = self.power[np.isfinite(self.power)]
        top = float(finite_power.max()) if finite_power.size else 1.0
        self._floor = top * 10.0**-LOG_DECADES if top > 0 else 1e-30
        self.cube = np.asarray(grid.values)
        _, self.valid, x_nm, y_nm = matrix_and_valid(grid)
        convention = str(fmaps.attrs.get("q_convention", "q = 2 pi / lambda"))
        self.q_convention = convention
        # the cut runs through q = 0 to the edge of the maps at every angle
        q_max = min(-self.qx[0], self.qx[-1], -self.qy[0], self.qy[-1])
        if not q_max > 0:
            raise ValueError("the Fourier maps' qx and qy axes must run through q = 0")
        step = min(np.diff(self.qx).mean(), np.diff(self.qy).mean())
        n_half = int(np.floor(q_max / step + 1e-9))
        self.q = step * np.arange(-n_half, n_half + 1)

        # -- conductance map (the shared map panel, without its brush) -----------------------
        j0 = self._nearest_bias(0.0 if bias is None else bias)
        self.map = MapPanel(
            self._conductance(j0), self.valid, x_nm, y_nm, Selection(self.valid), title="",
            label=f"dI/dV ({self.units})",
        )  # fmt: skip
        self.map.figure.interaction = None
        self._map_colour_axis = next(a for a in self.map.figure.axes if isinstance(a, bq.ColorAxis))
        self.map.figure.fig_margin = {"top": 40, "bottom": 45, "left": 60, "right": 95}

        # -- Fourier map --------------------------------------------------------------------
        self.qx_scale = bq.LinearScale(
            min=_edges_padding(self.qx)[0], max=_edges_padding(self.qx)[1]
        )
        self.qy_scale = bq.LinearScale(
            min=_edges_padding(self.qy)[0], max=_edges_padding(self.qy)[1]
        )
        self.fourier_colours = bq.ColorScale(scheme=FOURIER_SCHEME)
        self.fourier_map = bq.HeatMap(
            x=self.qx,
            y=self.qy,
            color=self.power[j0],
            scales={"x": self.qx_scale, "y": self.qy_scale, "color": self.fourier_colours},
        )
        self.cut_line = self._marker_line([-q_max, q_max], [0.0, 0.0], self.qx_scale, self.qy_scale)
        self.fourier_picker = self._picker(self.qx_scale, self.qy_scale)
        self.fourier_picker.on_element_click(self._on_fourier_click)
        self.fourier_axis, self.fourier_figure = self._heat_panel(
            [self.fourier_map, self.cut_line, self.fourier_picker],
            self.fourier_colours,
            axis(self.qx_scale, "q_x (1/nm)"),
            axis(self.qy_scale, "q_y (1/nm)", "vertical"),
        )

        # -- dispersion along the cut ------------------------------------------------------
        self.dq_scale = bq.LinearScale(min=_edges_padding(self.q)[0], max=_edges_padding(self.q)[1])
        b0, b1 = _edges_padding(self.bias_mV) if self.bias_mV.size > 1 else (-1.0, 1.0)
        self.db_scale = bq.LinearScale(min=b0 + 0.0, max=b1 + 0.0)
        self.dispersion_colours = bq.ColorScale(scheme=FOURIER_SCHEME)
        self.dispersion_map = bq.HeatMap(
            x=self.q,
            y=self._drawn_bias(),
            color=np.zeros((max(self.bias_mV.size, 2), self.q.size)),
            scales={"x": self.dq_scale, "y": self.db_scale, "color": self.dispersion_colours},
        )
        self.bias_line = self._marker_line(
            [self.q[0], self.q[-1]], [self.bias_mV[j0]] * 2, self.dq_scale, self.db_scale
        )
        self.dispersion_picker = self._picker(self.dq_scale, self.db_scale)
        self.dispersion_picker.on_element_click(self._on_dispersion_click)
        self.dispersion_axis, self.dispersion_figure = self._heat_panel(
            [self.dispersion_map, self.bias_line, self.dispersion_picker],
            self.dispersion_colours,
            axis(self.dq_scale, "q along the cut (1/nm)"),
            axis(self.db_scale, "sample bias (mV)", "vertical"),
        )

        # -- controls ------------------------------------------------------------------------
        bias_step = float(np.median(np.diff(self.bias_mV))) if self.bias_mV.size > 1 else 1.0
        self.bias_slider = ipw.FloatSlider(
            value=float(self.bias_mV[j0]),
            min=float(self.bias_mV[0]),
            max=float(self.bias_mV[-1]) if self.bias_mV.size > 1 else float(self.bias_mV[0]) + 1,
            step=bias_step,
            description="bias (mV)",
            readout_format=".2f",
            layout=ipw.Layout(width="380px"),
        )
        self.angle_slider = ipw.FloatSlider(
            value=float(angle), min=0.0, max=180.0, step=0.5, description="q-cut angle (°)",
            readout_format=".1f", layout=ipw.Layout(width="340px"),
            style={"description_width": "initial"},
        )  # fmt: skip
        self.log_box = ipw.Checkbox(value=bool(log_scale), description="log colour scale")
        self.info = ipw.HTML()
        self.info.add_class("sts-status")

        # not traitlets.link: the explorer snaps the bias, and the slider must show it
        self.bias_slider.observe(lambda change: setattr(self, "bias", change["new"]), "value")
        traitlets.link((self.angle_slider, "value"), (self, "angle"))
        traitlets.link((self.log_box, "value"), (self, "log_scale"))
        self.observe(self._on_bias, names="bias")
        self.observe(self._on_angle, names="angle")
        self.observe(self._on_log, names="log_scale")
        self.log_scale = bool(log_scale)
        self.angle = float(angle)
        self.bias = float(self.bias_mV[j0])
        self._on_angle()
        self._on_bias()
        super().__init__(
            [
                ipw.HBox([self.bias_slider, self.angle_slider, self.log_box]),
                ipw.HBox([self.map.figure, self.fourier_figure]),
                self.dispersion_figure,
                self.info,
            ]
        )

    # ------------------------------------------------------------------ the numbers shown

    @staticmethod
    def _marker_line(x, y, x_scale, y_scale) -> bq.Lines:
        """The dashed light-blue line that marks the cut or the bias on a panel."""
        return bq.Lines(
            x=x,
            y=y,
            scales={"x": x_scale, "y": y_scale},
            colors=["#4fc3f7"],
            line_style="dashed",
            stroke_width=2,
        )

    @staticmethod
    def _heat_panel(marks, colours, x_axis, y_axis) -> tuple[bq.ColorAxis, bq.Figure]:
        """A 440 x 400 panel of ``marks`` with its axes and a colour bar on the right (its
        label set when the power is drawn)."""
        colour_axis = bq.ColorAxis(scale=colours, side="right", label="", num_ticks=5)
        panel = figure(marks, [x_axis, y_axis, colour_axis], width=440, height=400)
        panel.fig_margin = {"top": 40, "bottom": 45, "left": 60, "right": 95}
        return colour_axis, panel

    @staticmethod
    def _picker(x_scale, y_scale) -> bq.Image:
        """A transparent image over a whole figure: bqplot's HeatMap sends no clicks, an Image
        sends the clicked data coordinates."""
        return bq.Image(
            image=ipw.Image(value=TRANSPARENT_PNG, format="png"),
            x=[x_scale.min, x_scale.max],
            y=[y_scale.min, y_scale.max],
            scales={"x": x_scale, "y": y_scale},
        )

    @staticmethod
    def _clicked(content) -> tuple[float, float] | None:
        data = content.get("data") or {}
        try:
            return float(data["click_x"]), float(data["click_y"])
        except (KeyError, TypeError, ValueError):
            return None

    def _on_fourier_click(self, _mark, content) -> None:
        """A click on the Fourier map turns the q-cut through the clicked q."""
        clicked = self._clicked(content)
        if clicked is not None and np.hypot(*clicked) > 0:
            angle = float(np.degrees(np.arctan2(clicked[1], clicked[0])) % 180.0)
            self.angle = round(2.0 * angle) / 2.0 % 180.0  # the slider's 0.5 degree steps

    def _on_dispersion_click(self, _mark, content) -> None:
        """A click on the dispersion image shows the maps at the clicked bias."""
        clicked = self._clicked(content)
        if clicked is not None:
            self.bias = float(self.bias_mV[self._nearest_bias(clicked[1])])

    def _nearest_bias(self, bias: float) -> int:
        if not np.isfinite(bias):
            raise ValueError(f"bias must be a finite number of mV, got {bias!r}")
        return int(np.argmin(np.abs(self.bias_mV - float(bias))))

    def _drawn_bias(self) -> np.ndarray:
        """Bias centres of the dispersion image (one bias drawn as two half-height rows)."""
        if self.bias_mV.size > 1:
            return self.bias_mV
        return np.array([self.bias_mV[0] - 0.5, self.bias_mV[0] + 0.5])

    def _conductance(self, j: int) -> np.ndarray:
        """The grid's map ``(ny, nx)`` at the grid bias nearest the Fourier maps' bias ``j``."""
        k = int(np.argmin(np.abs(self.grid_bias - self.bias_mV[j])))
        return np.asarray(self.cube[:, :, k], dtype=float)

    def _shown(self, power: np.ndarray) -> np.ndarray:
        """Power as drawn: log10 (floored :data:`LOG_DECADES` below the maximum) or linear."""
        if self.log_scale:
            return np.log10(np.maximum(power, self._floor))
        return power

    def _power_label(self) -> str:
        return "log10 |FFT|²" if self.log_scale else "|FFT|²"

    @staticmethod
    def _set_range(scale, values: np.ndarray, upper: float = 99.5) -> None:
        finite = values[np.isfinite(values)]
        lo, hi = np.percentile(finite, [1, upper]) if finite.size else (0.0, 1.0)
        with scale.hold_sync():
            scale.min, scale.max = float(lo), float(max(hi, lo + 1e-12))

    @property
    def bias_index(self) -> int:
        """Index of the current bias into the Fourier maps' bias."""
        return self._nearest_bias(self.bias)

    # ------------------------------------------------------------------ handlers

    def _on_bias(self, change=None) -> None:
        j = self.bias_index
        if self.bias != float(self.bias_mV[j]):
            self.bias = float(self.bias_mV[j])  # re-enters once with the snapped value
            return
        self.bias_slider.value = self.bias
        b = self.bias_mV[j]
        label = f"dI/dV at {b:.2f} mV ({self.units})"
        self.map.set_values(self._conductance(j), label)
        self._map_colour_axis.label = f"dI/dV ({self.units})"
        self._draw_fourier()
        self.bias_line.y = [b, b]
        self._update_info()

    def _draw_fourier(self) -> None:
        j = self.bias_index
        shown = self._shown(self.power[j])
        self._set_range(self.fourier_colours, shown)
        describe_colours(self.fourier_colours, self._power_label())
        self.fourier_axis.label = self._power_label()
        self.fourier_map.color = shown
        self.fourier_figure.title = f"Fourier map at {self.bias_mV[j]:.2f} mV"

    def _on_angle(self, change=None) -> None:
        theta = np.deg2rad(self.angle)
        q_end = float(self.q[-1])
        self.cut_line.x = [-q_end * np.cos(theta), q_end * np.cos(theta)]
        self.cut_line.y = [-q_end * np.sin(theta), q_end * np.sin(theta)]
        from stswidgets.analysis import q_cut

        cut = q_cut(self.fmaps, self.angle, n_q=self.q.size, q_max=float(self.q[-1]))
        self.dispersion = np.asarray(cut.values)
        self._draw_dispersion()
        self._update_info()

    def _draw_dispersion(self) -> None:
        shown = self._shown(self.dispersion)
        if shown.shape[0] == 1:
            shown = np.repeat(shown, 2, axis=0)
        self._set_range(self.dispersion_colours, shown)
        describe_colours(self.dispersion_colours, self._power_label())
        self.dispersion_axis.label = self._power_label()
        # the canvas cannot draw NaN: points outside the maps get the lowest colour
        self.dispersion_map.color = np.where(np.isfinite(shown), shown, self.dispersion_colours.min)
        self.dispersion_figure.title = f"dispersion along the q-cut at {self.angle:.1f}°"

    def _on_log(self, change=None) -> None:
        if not hasattr(self, "dispersion"):
            return
        self._draw_fourier()
        self._draw_dispersion()

    def _update_info(self) -> None:
        self.info.value = (
            f"<b>bias {self.bias_mV[self.bias_index]:.2f} mV</b> &nbsp;·&nbsp; q-cut at "
            f"{self.angle:.1f}° through q = 0 &nbsp;·&nbsp; {self.q_convention}, q in 1/nm"
        )
