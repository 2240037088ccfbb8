"""The figures several front ends draw, drawn in one place: the score map and the class map.

Notebooks 06 and 07, the app's download and the report call :func:`draw_score_map` and
:func:`draw_class_map` on their own matplotlib axes; :func:`maps_png` puts both side by side.
"""

from __future__ import annotations

import io

import numpy as np
import xarray as xr

from stswidgets.grid import map_extent, to_map
from stswidgets.pipeline.score import SiteClasses

__all__ = ["draw_class_map", "draw_score_map", "maps_png"]

#: Label of the score's colour bar.
SCORE_LABEL = "score (distance from the majority, projection units)"


def draw_score_map(ax, grid: xr.DataArray, valid, score: np.ndarray, title: str = "score"):
    """The score ``(n_valid,)`` on the real-space map on ``ax`` (axes in nm, a colour bar)."""
    image = ax.imshow(
        np.asarray(to_map(score, valid)), origin="lower", extent=map_extent(grid), cmap="inferno"
    )
    ax.figure.colorbar(image, ax=ax, label=SCORE_LABEL)
    ax.set(xlabel="x (nm)", ylabel="y (nm)", title=title, aspect="equal")
    return image


def draw_class_map(ax, grid: xr.DataArray, valid, classes: SiteClasses, title: str = "classes"):
    """The site classes on the real-space map on ``ax``: one categorical colour per class,
    a colour bar naming them, unmeasured pixels blank."""
    from matplotlib.colors import ListedColormap

    n = len(classes.names)
    image = ax.imshow(
        np.asarray(to_map(classes.labels.astype(float), valid)),
        origin="lower",
        extent=map_extent(grid),
        cmap=ListedColormap([f"C{k}" for k in range(n)]),
        vmin=-0.5,
        vmax=n - 0.5,
        interpolation="nearest",
    )
    bar = ax.figure.colorbar(image, ax=ax, ticks=range(n))
    bar.ax.set_yticklabels(classes.names)
    ax.set(xlabel="x (nm)", ylabel="y (nm)", title=title, aspect="equal")
    return image


def maps_png(
    grid: xr.DataArray, valid, score: np.ndarray, classes: SiteClasses | None = None
) -> bytes:
    """A PNG of the score map and (when given) the class map, axes in nm."""
    from matplotlib.figure import Figure

    n_panels = 1 if classes is None else 2
    fig = Figure(figsize=(5.2 * n_panels, 4.2), layout="constrained")
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    draw_score_map(axes[0], grid, valid, score, title="similarity score")
    if classes is not None:
        draw_class_map(axes[1], grid, valid, classes)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
