"""Per-spectrum values drawn where the spectra were measured, whatever the geometry.

:func:`draw_values` is the one helper every notebook, the report and the map functions of
:mod:`stswidgets.pipeline.plots` use to show one value per spectrum (a score, a class, a PCA
score, the set-point conductance):

- ``grid``: the real-space map (``imshow`` at the pixels' nm extent) with a colour bar;
- ``line``: the value against the distance along the line (nm);
- ``points``: the positions (x, y in nm) as a scatter coloured by the value;
- ``repeats``: the value against the repetition index.

Categories (``names`` given) get one colour each and a discrete legend with their counts;
continuous values a labelled colour bar. :func:`draw_collection_spectra` draws the spectra
themselves: for a line the waterfall of distance (nm) against sample bias (mV), colour = the
signal (its 1st-99th percentile range); for points and repeats the same against the
spectrum's index.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BIAS_LABEL", "draw_collection_spectra", "draw_values", "positions"]

#: Label of every bias axis: the sample bias, so negative values probe the filled states
#: (:mod:`stswidgets.pipeline.plots` gives it to every figure).
BIAS_LABEL = "sample bias (mV)"


def _grid_and_valid(data, valid):
    grid = getattr(data, "grid", data)
    valid = getattr(data, "valid", None) if valid is None else valid
    if valid is None:
        from stswidgets.pipeline.collection import matrix_view

        valid = matrix_view(grid)[1]
    return grid, valid


def positions(grid, valid) -> tuple[np.ndarray, str, np.ndarray | None]:
    """Where each complete spectrum of a collection sits, for a 1D plot: ``(position, label,
    y)``; ``y`` is the y position (nm) for ``points`` (``position`` then holds x), else None."""
    from stswidgets.pipeline.collection import geometry_of

    mask = np.asarray(valid, dtype=bool)
    geometry = geometry_of(grid)
    coords = grid.coords

    def along(name):
        if name in coords and coords[name].dims == ("spectrum",):
            values = np.asarray(coords[name].values, dtype=float)[mask]
            return values if np.isfinite(values).all() else None
        return None

    index = np.flatnonzero(mask).astype(float)
    if geometry == "line":
        distance = along("distance")
        if distance is None and along("x") is not None and along("y") is not None:
            x, y = along("x"), along("y")
            distance = np.hypot(x - x[0], y - y[0])
        if distance is not None:
            return distance, "distance along the line (nm)", None
        return index, "spectrum index along the line", None
    if geometry == "points":
        x, y = along("x"), along("y")
        if x is not None and y is not None and (np.ptp(x) > 0 or np.ptp(y) > 0):
            return x, "x (nm)", y
        return index, "spectrum index", None
    repetition = along("repetition")
    if repetition is not None:
        return repetition, "repetition index", None
    return index, "repetition index", None


def draw_values(
    ax,
    values,
    data,
    label: str = "",
    *,
    valid=None,
    names=None,
    colours=None,
    cmap: str = "viridis",
    title: str = "",
    vmin=None,
    vmax=None,
    legend: bool = True,
):
    """One value per complete spectrum, drawn where it was measured (see the module).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array-like, shape ``(n_valid,)``
        One value per complete spectrum (the rows of ``PipelineInput.X``); integer codes
        0..k-1 when ``names`` is given.
    data : PipelineInput, or a grid / spectra DataArray (then give ``valid``)
    label : str
        What the values are, with units: the colour bar's (or the value axis's) label.
    names : list of str, optional
        Category names: the values are codes, drawn in one colour each with a legend.
    colours : list, optional
        One colour per category (default: the matplotlib cycle).
    cmap, vmin, vmax : colour map and range of continuous values.
    legend : bool
        The categories' legend (False: leave it to the caller).

    Returns
    -------
    The mappable (image or scatter) of the drawing.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from stswidgets.pipeline.collection import geometry_of, on_spectra

    grid, valid = _grid_and_valid(data, valid)
    values = np.asarray(values, dtype=float)
    categorical = names is not None
    if categorical:
        n = len(names)
        colours = list(colours) if colours is not None else [f"C{k % 10}" for k in range(n)]
        cmap, vmin, vmax = ListedColormap(colours[:n]), -0.5, n - 0.5
    if geometry_of(grid) == "grid":
        from stswidgets.notebook import plot_map

        artist = plot_map(
            ax,
            np.asarray(on_spectra(values, valid)),
            grid,
            label,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
        if artist is not None:
            ax.set_aspect("equal")
    else:
        position, where, y = positions(grid, valid)
        if y is not None:  # points: a scatter of the positions, coloured by the value
            artist = ax.scatter(
                position, y, c=values, cmap=cmap, vmin=vmin, vmax=vmax, s=60, edgecolors="k"
            )
            ax.set(xlabel="x (nm)", ylabel="y (nm)", aspect="equal")
        else:  # a line or repeats: the value against the position (or repetition)
            order = np.argsort(position, kind="stable")
            ax.plot(position[order], values[order], color="0.6", lw=0.8, zorder=1)
            artist = ax.scatter(
                position, values, c=values, cmap=cmap, vmin=vmin, vmax=vmax, s=40, zorder=2
            )
            ax.set(xlabel=where, ylabel=label)
            if categorical:
                ax.set_yticks(range(len(names)), names)
                ax.set_ylim(-0.5, len(names) - 0.5)
    if categorical and legend:
        codes = values.astype(int)
        handles = [
            Patch(color=colours[k], label=f"{names[k]} ({int(np.sum(codes == k))})")
            for k in range(len(names))
        ]
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=8,
            title="spectra",
            title_fontsize=8,
            frameon=False,
        )
    elif artist is not None and label and not categorical:
        ax.figure.colorbar(artist, ax=ax, label=label)
    if title:
        ax.set_title(title)
    return artist


def draw_collection_spectra(ax, data, values=None, label: str = "", along_x: bool = False):
    """The spectra of a collection as an image: for a line the waterfall of the distance along
    it (nm) against the sample bias (mV), for points and repeats the spectrum's index (or
    repetition) against the bias; colour = ``values`` ``(n_valid, n_bias)`` (default: the
    measured spectra), with a labelled colour bar. ``along_x``: the distance (or index) on
    the horizontal axis and the bias upwards, to share the axis of a :func:`draw_values`
    panel below. Returns the mesh."""
    grid, valid = _grid_and_valid(data, None)
    if values is None:
        values = np.asarray(grid.values, dtype=float)[np.asarray(valid, dtype=bool)]
        units = grid.attrs.get("units", "a.u.")
        label = label or f"{grid.attrs.get('long_name', 'dI/dV')} ({units})"
    bias = np.asarray(grid["bias"].values, dtype=float)
    position, where, y = positions(grid, valid)
    if y is not None:  # points: ordered by index, not by one coordinate
        position, where = np.arange(len(values), dtype=float), "spectrum index"
    order = np.argsort(position, kind="stable")
    values = np.asarray(values, dtype=float)[order]
    # the 1st-99th percentile: a spike at the end of a sweep (a numerical derivative's) does
    # not wash out every other spectrum; the colour bar's ends extend past it
    vmin, vmax = np.percentile(values, [1, 99])
    axes = (position[order], bias, values.T) if along_x else (bias, position[order], values)
    mesh = ax.pcolormesh(*axes, shading="nearest", cmap="viridis", vmin=vmin, vmax=vmax)
    ax.figure.colorbar(mesh, ax=ax, label=label, extend="both")
    if along_x:
        ax.set(xlabel=where, ylabel=BIAS_LABEL)
    else:
        ax.set(xlabel=BIAS_LABEL, ylabel=where)
    return mesh
