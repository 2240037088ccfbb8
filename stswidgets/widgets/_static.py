"""A static picture of an explorer: its bqplot figures redrawn with matplotlib as a PNG.

A widget is a view on a live kernel; saved in a notebook and opened without one (an HTML
report read offline, nbviewer, GitHub) it shows nothing. Each explorer therefore adds an
``image/png`` of what it shows at display time to its MIME bundle (:class:`StaticImage`):
JupyterLab still renders the live widget (it ranks the widget view first) and every other
reader shows the picture. The picture is drawn from the data the bqplot marks already hold
(lines, scatters, heat maps, axis labels and titles), nothing is recomputed.
"""

from __future__ import annotations

import base64
import io
import re

import numpy as np

#: Width in inches of one figure panel of the picture.
PANEL_WIDTH_IN = 4.2


def figure_rows(widget) -> list[list]:
    """The bqplot ``Figure`` objects inside ``widget``, grouped in rows as the boxes lay them.

    Figures side by side in an ``HBox`` form one row; every other figure a row of its own.
    """
    import bqplot as bq
    import ipywidgets as ipw

    if isinstance(widget, bq.Figure):
        return [[widget]]
    children = list(getattr(widget, "children", ()) or ())
    if isinstance(widget, ipw.HBox):
        row = [fig for child in children for r in figure_rows(child) for fig in r]
        return [row] if row else []
    return [row for child in children for row in figure_rows(child)]


def static_png(widget, dpi: int = 80) -> bytes | None:
    """A PNG of the bqplot figures in ``widget`` (None when it holds none)."""
    import matplotlib

    rows = figure_rows(widget)
    if not rows:
        return None
    from matplotlib.figure import Figure

    ncols = max(len(row) for row in rows)
    with matplotlib.rc_context({"font.size": 8}):
        fig = Figure(figsize=(PANEL_WIDTH_IN * ncols, 0.8 * PANEL_WIDTH_IN * len(rows)))
        axes = fig.subplots(len(rows), ncols, squeeze=False)
        for r, row in enumerate(rows):
            for c in range(ncols):
                if c < len(row):
                    _draw_figure(axes[r, c], row[c])
                else:
                    axes[r, c].set_axis_off()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class StaticImage:
    """Mixin for a widget class: its MIME bundle also holds a PNG of its bqplot figures."""

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        return with_static_png(bundle, self)


def with_static_png(bundle, widget):
    """``bundle`` (a MIME dict, or a ``(data, metadata)`` pair) plus ``image/png`` of ``widget``."""
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    try:
        png = static_png(widget)
    except Exception:  # noqa: BLE001 - a picture that cannot be drawn must not break display
        png = None
    if png is not None:
        data = {**(data or {}), "image/png": base64.b64encode(png).decode("ascii")}
    return data if metadata is None else (data, metadata)


# -- drawing the bqplot marks ---------------------------------------------------------------


def _values(array) -> np.ndarray | None:
    if array is None:
        return None
    values = np.asarray(array)
    if values.dtype == object or values.size == 0:
        return None
    return values.astype(float) if values.dtype.kind in "iufb" else None


def _css_color(color: str):
    """A CSS colour (``#rrggbb``, a name, ``rgb(...)``, ``rgba(...)``) as matplotlib takes it."""
    match = re.fullmatch(r"\s*rgba?\(([^)]*)\)\s*", color)
    if not match:
        return color
    parts = [float(p) for p in match.group(1).split(",")]
    rgb = [p / 255.0 for p in parts[:3]]
    return (*rgb, parts[3] if len(parts) > 3 else 1.0)


def _colormap(scale):
    from matplotlib import colormaps
    from matplotlib.colors import LinearSegmentedColormap

    colors = [_css_color(str(c)) for c in (getattr(scale, "colors", None) or [])]
    if colors:
        try:
            return LinearSegmentedColormap.from_list("bqplot", colors * (1 + (len(colors) == 1)))
        except ValueError:
            pass
    scheme = getattr(scale, "scheme", None) or "viridis"
    return colormaps[scheme] if scheme in colormaps else colormaps["viridis"]


def _draw_figure(ax, figure) -> None:
    import bqplot as bq

    for mark in figure.marks:
        if getattr(mark, "visible", True) is False:
            continue
        if isinstance(mark, bq.HeatMap):
            _draw_heatmap(ax, mark)
        elif isinstance(mark, bq.Scatter | getattr(bq, "ScatterGL", bq.Scatter)):
            _draw_scatter(ax, mark)
        elif isinstance(mark, bq.Lines):
            _draw_lines(ax, mark)
    for axis in figure.axes:
        if isinstance(axis, bq.ColorAxis):
            continue
        label = axis.label or ""
        scale = axis.scale
        lo, hi = getattr(scale, "min", None), getattr(scale, "max", None)
        if axis.orientation == "vertical":
            ax.set_ylabel(label)
            if lo is not None or hi is not None:
                ax.set_ylim(lo, hi)
        else:
            ax.set_xlabel(label)
            if lo is not None or hi is not None:
                ax.set_xlim(lo, hi)
        if isinstance(scale, bq.LogScale):
            (ax.set_yscale if axis.orientation == "vertical" else ax.set_xscale)("log")
    ax.set_title(figure.title or "", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _draw_heatmap(ax, mark) -> None:
    x, y, color = _values(mark.x), _values(mark.y), _values(mark.color)
    if x is None or y is None or color is None or color.ndim != 2:
        return
    scale = mark.scales.get("color")
    ax.pcolormesh(
        x,
        y,
        np.ma.masked_invalid(color),
        cmap=_colormap(scale),
        vmin=getattr(scale, "min", None),
        vmax=getattr(scale, "max", None),
        shading="nearest",
    )


def _draw_scatter(ax, mark) -> None:
    x, y = _values(mark.x), _values(mark.y)
    if x is None or y is None or x.shape != y.shape:
        return
    size = max(1.0, float(getattr(mark, "default_size", 16) or 16) / 8.0)
    opacity = (list(getattr(mark, "default_opacities", None) or []) or [1.0])[0]
    color = _values(getattr(mark, "color", None))
    if color is not None and color.shape == x.shape:
        scale = mark.scales.get("color")
        ax.scatter(x, y, c=color, cmap=_colormap(scale), s=size, alpha=opacity, linewidths=0)
    else:
        fill = _css_color((list(mark.colors) or ["steelblue"])[0])
        ax.scatter(x, y, color=fill, s=size, alpha=opacity, linewidths=0)


def _draw_lines(ax, mark) -> None:
    x, y = _values(mark.x), _values(mark.y)
    if x is None or y is None:
        return
    ys = y if y.ndim == 2 else y[None, :]
    xs = x if x.ndim == 2 else np.broadcast_to(x, (len(ys), x.shape[-1]))
    colors = [_css_color(str(c)) for c in mark.colors] or ["C0"]
    labels = list(getattr(mark, "labels", None) or [])
    legend = bool(getattr(mark, "display_legend", False))
    for i, (xi, yi) in enumerate(zip(xs, ys, strict=False)):
        if xi.shape != yi.shape:
            continue
        label = labels[i] if legend and i < len(labels) else None
        marker = "o" if getattr(mark, "marker", None) and len(yi) < 60 else None
        ax.plot(xi, yi, color=colors[i % len(colors)], label=label, marker=marker, ms=3, lw=1.2)
