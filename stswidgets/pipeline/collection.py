"""Spectra that are not on a grid: a line, a set of points, repeats at one spot, a series.

The pipeline runs on the matrix view ``X`` ``(n_spectra, n_bias)`` whatever the measurement's
geometry, so the steps that compare spectra (distance statistics, latent spaces, the
similarity score, site classes, spectral weight) run on a collection exactly as on a grid.
What differs is where a value goes back to: a ``(y, x)`` map for a grid, the ``spectrum``
dim (with its ``x``, ``y``, ``distance``, ``repetition``, ``file`` coordinates) for a
collection. This module holds that difference in one place:

- :func:`geometry_of`: ``"grid"``, ``"line"``, ``"points"`` or ``"repeats"``;
- :func:`matrix_view` and :func:`on_spectra`: :func:`stswidgets.grid.to_matrix` /
  :func:`~stswidgets.grid.to_map` for either kind;
- :func:`needs_map` and :func:`too_few`: the sentence saying why a step is skipped (a step that
  needs a 2D map, or more spectra than the collection holds), None when it runs.

Per step, the fewest spectra: the distance statistics, PCA, k-means (k = 3), the Ward tree,
kernel PCA, NMF, UMAP and the spectral weight run on 3 (:data:`MIN_COLLECTION_SPECTRA`, what
:func:`stswidgets.pipeline.load` accepts); :data:`STEP_MIN_SPECTRA` lists those that need
more: the trained networks (Siamese projection and score, autoencoder) need
``stswidgets.learn``'s 8 (a training and a validation part), the second projection (a second
training on other pairs) 16, so that its pairs reach both sides of its threshold.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "COLLECTION_COORDS",
    "GEOMETRIES",
    "MIN_COLLECTION_SPECTRA",
    "STEP_MIN_SPECTRA",
    "geometry_of",
    "matrix_view",
    "needs_map",
    "on_spectra",
    "too_few",
]

#: The geometries of a measurement: a 2D grid, or a collection of spectra.
GEOMETRIES = ("grid", "line", "points", "repeats")

#: Coordinates along ``spectrum`` carried into every per-spectrum result.
COLLECTION_COORDS = ("x", "y", "distance", "repetition", "file")

#: Fewest complete spectra :func:`stswidgets.pipeline.load` accepts in a collection (the
#: distance between two spectra is the least the analysis compares).
MIN_COLLECTION_SPECTRA = 3

#: Fewest spectra each step needs where it needs more than :data:`MIN_COLLECTION_SPECTRA`
#: (see the module's docstring); every other step runs on 3 (k-means with k = 3 the most).
STEP_MIN_SPECTRA = {
    "similarity learning": 8,
    "autoencoder": 8,
    "second projection": 16,
}


def geometry_of(obj) -> str:
    """``"grid"`` for a ``(y, x, bias)`` grid, else the collection's ``geometry`` attribute
    (``"points"`` when it records none)."""
    if "y" in obj.dims and "x" in obj.dims:
        return "grid"
    geometry = str(obj.attrs.get("geometry", "points"))
    return geometry if geometry in GEOMETRIES[1:] else "points"


def is_collection(obj) -> bool:
    """True for spectra on a ``spectrum`` dim (not a grid)."""
    return "spectrum" in getattr(obj, "dims", ())


def matrix_view(obj) -> tuple[np.ndarray, xr.DataArray]:
    """:func:`stswidgets.grid.to_matrix`: ``X`` ``(n_valid, n_bias)`` and ``valid``, dims
    ``("y", "x")`` for a grid, ``("spectrum",)`` with the collection's coordinates for
    spectra."""
    from stswidgets.grid import to_matrix

    return to_matrix(obj)


def on_spectra(values, valid) -> np.ndarray | xr.DataArray:
    """:func:`stswidgets.grid.to_map`: one value (or vector) per complete spectrum back on a
    grid's ``(y, x)`` map or a collection's ``spectrum`` dim, NaN where incomplete."""
    from stswidgets.grid import to_map

    return to_map(values, valid)


def needs_map(data, step: str, why: str = "needs a 2D map of spectra") -> str | None:
    """The sentence saying why ``step`` (which needs a 2D map: ``why``) is skipped on
    ``data`` (a :class:`~stswidgets.pipeline.PipelineInput`); None on a grid."""
    if data.geometry == "grid":
        return None
    return (
        f"{step}: skipped, it {why} and this {_what(data)} has none (the steps comparing "
        "spectra run on it as on a grid)"
    )


def too_few(data, step: str) -> str | None:
    """The sentence saying why ``step`` is skipped because ``data`` holds fewer complete
    spectra than :data:`STEP_MIN_SPECTRA` asks; None when it has enough."""
    need = STEP_MIN_SPECTRA.get(step, MIN_COLLECTION_SPECTRA)
    if len(data.X) >= need:
        return None
    return f"{step} needs at least {need} complete spectra; this {_what(data)} holds {len(data.X)}"


def _what(data) -> str:
    return {
        "grid": "grid",
        "line": "line of spectra",
        "points": "set of point spectra",
        "repeats": "set of repeated spectra",
    }[data.geometry]
