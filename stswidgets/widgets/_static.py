"""A static picture of an explorer: its bqplot figures redrawn with matplotlib as a PNG.

A widget is a view on a live kernel; saved in a notebook and opened without one (an HTML
report read offline, nbviewer, GitHub) it shows nothing. Each explorer therefore adds an
``image/png`` of what it shows at display time to its MIME bundle (:class:`StaticImage`):
JupyterLab still renders the live widget (it ranks the widget view first) and every other
reader shows the picture. The picture is drawn from the data the bqplot marks already hold
(lines, scatters, heat maps, axis labels and titles), nothing is recomputed. A colour scale
described with :func:`describe_colours` gets a labelled colour bar in the picture, or a
legend of its categories; long axis labels are wrapped and ticks thinned so that no text of
the picture is cut or overlaps another.
"""

from __future__ import annotations

import base64
import io
import re
import textwrap
import weakref
from dataclasses import dataclass

import numpy as np

#: Width in inches of one figure panel of the picture.
PANEL_WIDTH_IN = 4.2
#: Axis labels longer than this (characters) are wrapped onto several lines in the picture.
WRAP_X, WRAP_Y = 55, 42
#: At most this many major ticks per axis of the picture (8 pt text, 4.2 in panels).
MAX_TICKS = 6


@dataclass(frozen=True)
class ColourKey:
    """What the colours of a bqplot colour scale mean: ``label`` (with units) for a colour
    bar, or ``names`` of the categories 0..k-1 for a legend (``colours`` one per category)."""

    label: str
    names: tuple[str, ...] | None = None
    colours: tuple[str, ...] | None = None


_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def describe_colours(scale, label: str, names=None, colours=None) -> None:
    """Say what the colours of ``scale`` (a ``bqplot.ColorScale``) mean, for the picture: a
    colour bar labelled ``label``, or with ``names`` a legend of categories 0..k-1 drawn in
    ``colours`` (default: the matplotlib cycle ``C0``, ``C1``, ...)."""
    if names is not None:
        names = tuple(str(n) for n in names)
        colours = (
            tuple(colours)
            if colours is not None
            else tuple(f"C{k % 10}" for k in range(len(names)))
        )
    _KEYS[scale] = ColourKey(str(label), names, None if names is None else colours)


def colour_key(scale) -> ColourKey | None:
    """The :class:`ColourKey` given to ``scale`` with :func:`describe_colours`, or None."""
    try:
        return _KEYS.get(scale)
    except TypeError:
        return None


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


def static_figure(widget):
    """A matplotlib ``Figure`` redrawing the bqplot figures in ``widget`` (None when it holds
    none): one panel per bqplot figure, in the rows :func:`figure_rows` gives, 8 pt text."""
    import matplotlib

    rows = figure_rows(widget)
    if not rows:
        return None
    from matplotlib.figure import Figure

    ncols = max(len(row) for row in rows)
    with matplotlib.rc_context({"font.size": 8}):
        fig = Figure(
            figsize=(PANEL_WIDTH_IN * ncols, 0.8 * PANEL_WIDTH_IN * len(rows)),
            layout="constrained",
        )
        axes = fig.subplots(len(rows), ncols, squeeze=False)
        figures = [f for row in rows for f in row]
        # a legend of categories is drawn once, on the last panel showing them
        later = [
            {k for f in figures[i + 1 :] for k in _category_keys(f)} for i in range(len(figures))
        ]
        for r, row in enumerate(rows):
            for c in range(ncols):
                if c < len(row):
                    i = figures.index(row[c])
                    _draw_figure(axes[r, c], row[c], skip=later[i])
                else:
                    axes[r, c].set_axis_off()
    return fig


def _category_keys(figure) -> set:
    keys = set()
    for mark in figure.marks:
        key = colour_key((getattr(mark, "scales", None) or {}).get("color"))
        if key is not None and key.names is not None and getattr(mark, "visible", True):
            keys.add((key.label, key.names))
    return keys


def static_png(widget, dpi: int = 80) -> bytes | None:
    """A PNG of the bqplot figures in ``widget`` (None when it holds none)."""
    import matplotlib

    fig = static_figure(widget)
    if fig is None:
        return None
    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.size": 8}):
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


def _draw_figure(ax, figure, skip=frozenset()) -> None:
    """Redraw the bqplot ``figure`` on ``ax``; category legends whose ``(label, names)`` is
    in ``skip`` are left to another panel."""
    import bqplot as bq
    from matplotlib.ticker import MaxNLocator

    keyed = []  # (artist, key) of the marks whose colours mean something
    for mark in figure.marks:
        if getattr(mark, "visible", True) is False:
            continue
        artist = None
        if isinstance(mark, bq.HeatMap):
            artist = _draw_heatmap(ax, mark)
        elif isinstance(mark, bq.Scatter | getattr(bq, "ScatterGL", bq.Scatter)):
            artist = _draw_scatter(ax, mark)
        elif isinstance(mark, bq.Lines):
            _draw_lines(ax, mark)
        key = colour_key((getattr(mark, "scales", None) or {}).get("color"))
        if artist is not None and key is not None and all(k is not key for _, k in keyed):
            keyed.append((artist, key))
    for axis in figure.axes:
        if isinstance(axis, bq.ColorAxis):
            continue
        label = axis.label or ""
        scale = axis.scale
        lo, hi = getattr(scale, "min", None), getattr(scale, "max", None)
        if axis.orientation == "vertical":
            ax.set_ylabel(textwrap.fill(label, WRAP_Y))
            if lo is not None or hi is not None:
                ax.set_ylim(lo, hi)
        else:
            ax.set_xlabel(textwrap.fill(label, WRAP_X))
            if lo is not None or hi is not None:
                ax.set_xlim(lo, hi)
        if isinstance(scale, bq.LogScale):
            (ax.set_yscale if axis.orientation == "vertical" else ax.set_xscale)("log")
    for which in (ax.xaxis, ax.yaxis):
        if which.get_scale() == "linear":
            which.set_major_locator(MaxNLocator(MAX_TICKS))
    ax.set_title(textwrap.fill(figure.title or "", WRAP_X), fontsize=9)
    legend = None
    if ax.get_legend_handles_labels()[0]:
        legend = ax.legend(fontsize=7)
    for artist, key in keyed:
        if key.names is None or (key.label, key.names) not in skip:
            _colour_key(ax, artist, key, legend)


def _colour_key(ax, artist, key: ColourKey, other_legend) -> None:
    """A labelled colour bar of ``artist``, or a legend of its categories beside ``ax``."""
    if key.names is None:
        bar = ax.figure.colorbar(artist, ax=ax, shrink=0.9)
        bar.set_label(textwrap.fill(key.label, WRAP_Y))
        return
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=n) for n, c in zip(key.names, key.colours, strict=True)]
    legend = ax.legend(
        handles=handles,
        title=textwrap.fill(key.label, 24),
        title_fontsize=7,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
    )
    if other_legend is not None:
        ax.add_artist(other_legend)
    del legend


def _categorical(key: ColourKey | None):
    """``(cmap, norm)`` drawing the category codes 0..k-1 of ``key`` in their colours."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    k = len(key.names)
    return ListedColormap(list(key.colours)), BoundaryNorm(np.arange(k + 1) - 0.5, k)


def _colour_style(scale) -> dict:
    """Matplotlib colour keywords for a bqplot colour ``scale``: a discrete map and norm for
    named categories, else the scale's colour map and its min / max."""
    key = colour_key(scale)
    if key is not None and key.names is not None:
        cmap, norm = _categorical(key)
        return {"cmap": cmap, "norm": norm}
    return {
        "cmap": _colormap(scale),
        "vmin": getattr(scale, "min", None),
        "vmax": getattr(scale, "max", None),
    }


def _draw_heatmap(ax, mark):
    x, y, color = _values(mark.x), _values(mark.y), _values(mark.color)
    if x is None or y is None or color is None or color.ndim != 2:
        return None
    style = _colour_style(mark.scales.get("color"))
    return ax.pcolormesh(x, y, np.ma.masked_invalid(color), shading="nearest", **style)


def _draw_scatter(ax, mark):
    x, y = _values(mark.x), _values(mark.y)
    if x is None or y is None or x.shape != y.shape:
        return None
    size = max(1.0, float(getattr(mark, "default_size", 16) or 16) / 8.0)
    opacity = (list(getattr(mark, "default_opacities", None) or []) or [1.0])[0]
    color = _values(getattr(mark, "color", None))
    if color is not None and color.shape == x.shape:
        style = _colour_style(mark.scales.get("color"))
        return ax.scatter(x, y, c=color, s=size, alpha=opacity, linewidths=0, **style)
    fill = _css_color((list(mark.colors) or ["steelblue"])[0])
    ax.scatter(x, y, color=fill, s=size, alpha=opacity, linewidths=0)
    return None


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
