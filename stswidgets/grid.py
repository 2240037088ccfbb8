"""The grid data model and the bridge between its two views.

A *grid* is an :class:`xarray.DataArray` with dims ``("y", "x", "bias")``: coordinates
``x`` and ``y`` in nm, ``bias`` in mV (ascending), and ``attrs`` with ``units``,
``channel`` and ``source``. Pixels that were never measured hold NaN.

Analysis code works on the *matrix view* ``X`` of shape ``(n_valid, n_bias)``;
:func:`to_matrix` and :func:`to_map` are the only bridge between the two views.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

GRID_DIMS = ("y", "x", "bias")
#: The dims of spectra that are not on a grid (:mod:`stswidgets.spectra`).
SPECTRA_DIMS = ("spectrum", "bias")
#: How spectra off a grid lie: anywhere, along a straight line, or all at one spot.
GEOMETRIES = ("points", "line", "repeats")

__all__ = [
    "GEOMETRIES",
    "GRID_DIMS",
    "GridError",
    "SPECTRA_DIMS",
    "check_spectra",
    "make_grid",
    "map_extent",
    "to_map",
    "to_matrix",
    "validate_grid",
    "validate_spectra",
]


class GridError(ValueError):
    """A grid does not follow the ``(y, x, bias)`` data model."""


def _describe(grid: xr.DataArray, what: str = "grid") -> str:
    source = grid.attrs.get("source")
    return f"{what} {grid.name!r}" + (f" from {source}" if source else "")


def validate_grid(grid: xr.DataArray) -> xr.DataArray:
    """Check that ``grid`` follows the data model and return it.

    Raises
    ------
    GridError
        When ``grid`` is not a DataArray with dims ``("y", "x", "bias")``, has fewer than
        two bias points, a bias axis that is not strictly ascending, or no complete spectrum.
    """
    if not isinstance(grid, xr.DataArray):
        raise GridError(
            f"expected an xarray.DataArray with dims {GRID_DIMS}, got {type(grid).__name__}; "
            "use stswidgets.open_grid() to turn a file or Dataset into a grid"
        )
    return _check_dims_and_bias(grid, GRID_DIMS, "grid")


def _check_dims_and_bias(obj: xr.DataArray, dims: tuple[str, ...], kind: str) -> xr.DataArray:
    """``obj`` when its dims are ``dims`` and its bias axis has 2 or more finite, strictly
    ascending points (``kind``: "grid" or "spectra", for the messages)."""
    what = _describe(obj, kind)
    if tuple(obj.dims) != dims:
        raise GridError(f"{what} has dims {tuple(obj.dims)}, expected {dims}")
    if obj.sizes["bias"] < 2:
        raise GridError(
            f"{what} has {obj.sizes['bias']} bias point(s); a spectrum needs at least 2"
        )
    if "bias" not in obj.coords:
        raise GridError(f"{what} has no 'bias' coordinate (bias values in mV)")
    bias = np.asarray(obj["bias"].values, dtype=float)
    if not np.all(np.isfinite(bias)):
        raise GridError(f"{what} has non-finite bias values")
    if not np.all(np.diff(bias) > 0):
        raise GridError(
            f"{what} has a bias axis that is not strictly ascending "
            f"({bias[0]:g} ... {bias[-1]:g} mV); sort it with {kind}.sortby('bias')"
        )
    return obj


def validate_spectra(spectra: xr.DataArray) -> xr.DataArray:
    """Check that ``spectra`` follows the data model and return it.

    Raises
    ------
    GridError
        Not a DataArray with dims ``("spectrum", "bias")``; fewer than two bias points; a bias
        coordinate missing, non-finite or not strictly ascending; no ``x``/``y`` coordinates
        along ``spectrum``; a ``geometry`` attr not in :data:`GEOMETRIES`.
    """
    if not isinstance(spectra, xr.DataArray):
        raise GridError(
            f"expected an xarray.DataArray with dims {SPECTRA_DIMS}, got "
            f"{type(spectra).__name__}; use stswidgets.open_spectra() for a file or Dataset"
        )
    _check_dims_and_bias(spectra, SPECTRA_DIMS, "spectra")
    what = _describe(spectra, "spectra")
    for name in ("x", "y"):
        if name not in spectra.coords or spectra[name].dims != ("spectrum",):
            raise GridError(
                f"{what} has no {name!r} coordinate along 'spectrum' (nm, NaN where unknown)"
            )
    geometry = spectra.attrs.get("geometry", "points")
    if geometry not in GEOMETRIES:
        raise GridError(f"{what} has geometry {geometry!r}; expected one of {GEOMETRIES}")
    return spectra


def make_grid(
    values: np.ndarray,
    bias_mV: np.ndarray,
    x_nm: np.ndarray | None = None,
    y_nm: np.ndarray | None = None,
    *,
    name: str = "didv",
    units: str = "a.u.",
    channel: str = "",
    source: str = "",
) -> xr.DataArray:
    """Build a grid from a ``(ny, nx, n_bias)`` array and its axes.

    ``x_nm``/``y_nm`` default to pixel indices (1 nm per pixel). The bias axis is sorted ascending.
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise GridError(f"values must have shape (ny, nx, n_bias), got shape {values.shape}")
    ny, nx, nb = values.shape
    bias_mV = np.asarray(bias_mV, dtype=float)
    if bias_mV.shape != (nb,):
        raise GridError(f"bias_mV has shape {bias_mV.shape}, expected ({nb},)")
    x_nm = np.arange(nx, dtype=float) if x_nm is None else np.asarray(x_nm, dtype=float)
    y_nm = np.arange(ny, dtype=float) if y_nm is None else np.asarray(y_nm, dtype=float)
    for label, axis, n in (("x_nm", x_nm, nx), ("y_nm", y_nm, ny)):
        if axis.shape != (n,):
            raise GridError(f"{label} has shape {axis.shape}, expected ({n},) to match the values")
    grid = xr.DataArray(
        values,
        dims=GRID_DIMS,
        coords={
            "y": ("y", y_nm, {"units": "nm"}),
            "x": ("x", x_nm, {"units": "nm"}),
            "bias": ("bias", bias_mV, {"units": "mV"}),
        },
        name=name,
        attrs={"units": units, "channel": channel, "source": source},
    )
    return validate_grid(grid.sortby("bias"))


def to_matrix(grid: xr.DataArray) -> tuple[np.ndarray, xr.DataArray]:
    """Matrix view of a grid, or of spectra that are not on a grid.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``, or spectra, dims
        ``("spectrum", "bias")`` (:mod:`stswidgets.spectra`)

    Returns
    -------
    X : numpy.ndarray, shape ``(n_valid, n_bias)``, float32
        The complete spectra in row-major ``(y, x)`` order.
    valid : xarray.DataArray of bool, dims ``("y", "x")`` (``("spectrum",)`` for spectra)
        True where the pixel's spectrum is complete (all values finite). Carries the grid's
        ``x``/``y`` coordinates (for spectra every coordinate along ``spectrum``: ``x``, ``y``,
        ``distance``, ``repetition``, ``file``), so :func:`to_map` results plot and save with
        them.

    Raises
    ------
    GridError
        When the grid breaks the data model or holds no complete spectrum.
    """
    spectra = isinstance(grid, xr.DataArray) and tuple(grid.dims) == SPECTRA_DIMS
    if spectra:
        validate_spectra(grid)
    else:
        validate_grid(grid)
    values = np.asarray(grid.values)
    if not np.issubdtype(values.dtype, np.number):
        raise GridError(f"{_describe(grid)} holds {values.dtype} values, expected numbers")
    valid_np = np.isfinite(values).all(axis=-1)
    if not valid_np.any():
        what = "spectrum" if spectra else "pixel"
        raise GridError(
            f"{_describe(grid)} has no complete spectrum: every {what} holds NaN or inf"
        )
    X = values[valid_np].astype(np.float32, copy=False)
    dims = ("spectrum",) if spectra else ("y", "x")
    valid = xr.DataArray(valid_np, dims=dims, coords=_map_coords(grid, dims), name="valid")
    return X, valid


def _map_coords(obj: xr.DataArray, dims: tuple[str, ...]) -> dict:
    """The coordinates of ``obj`` that lie along ``dims`` only: a grid's ``y``/``x``; for
    spectra every coordinate along ``spectrum`` (x, y, distance, repetition, file)."""
    if dims == ("y", "x"):
        return {name: obj.coords[name] for name in dims if name in obj.coords}
    return {
        name: coord
        for name, coord in obj.coords.items()
        if coord.dims and set(coord.dims) <= set(dims)
    }


def to_map(values, valid) -> np.ndarray | xr.DataArray:
    """Put per-spectrum values back onto the real-space map.

    Parameters
    ----------
    values : array-like, shape ``(n_valid,)`` or ``(n_valid, k, ...)``
        One value (or vector) per complete spectrum, in the order of :func:`to_matrix`.
    valid : bool array or DataArray, shape ``(ny, nx)`` or ``(n_spectra,)``
        The mask returned by :func:`to_matrix`.

    Returns
    -------
    numpy.ndarray or xarray.DataArray, shape ``(ny, nx)`` or ``(ny, nx, k, ...)``
        float64 with NaN where the pixel is invalid (integer and bool values are promoted).
        A DataArray with dims ``("y", "x", ...)`` (``("spectrum", ...)`` for a 1D mask) and
        the mask's coordinates when ``valid`` is a DataArray; extra dims are named
        ``component``, ``component_1``, ...
    """
    mask = np.asarray(valid, dtype=bool)
    if mask.ndim not in (1, 2):
        raise GridError(
            f"valid must be a 2D (y, x) mask or a 1D (spectrum,) mask, got shape {mask.shape}"
        )
    values = np.asarray(values)
    n_valid = int(mask.sum())
    if values.ndim == 0 or values.shape[0] != n_valid:
        raise GridError(
            f"values have shape {values.shape}, but the mask has {n_valid} valid pixels; "
            "expected one row per valid spectrum"
        )
    out = np.full(mask.shape + values.shape[1:], np.nan, dtype=np.result_type(values, np.float64))
    out[mask] = values
    if not isinstance(valid, xr.DataArray):
        return out
    extra = ["component"] + [f"component_{i}" for i in range(1, values.ndim - 1)]
    map_dims = ("spectrum",) if mask.ndim == 1 else ("y", "x")
    dims = map_dims + tuple(extra[: values.ndim - 1])
    return xr.DataArray(out, dims=dims, coords=_map_coords(valid, map_dims))


def map_extent(grid) -> list[float]:
    """``[x_min, x_max, y_min, y_max]`` in nm for ``imshow(..., origin="lower", extent=...)``.

    The coordinates are pixel centres, so the extent runs to the outer pixel edges: half a pixel
    beyond the first and last centre. An axis with a single pixel (a line grid) borrows the
    other axis's pixel size (1 nm when both have a single pixel).

    Parameters
    ----------
    grid : xarray.DataArray or Dataset with ``x`` and ``y`` coordinates in nm
    """
    if "x" not in grid.coords or "y" not in grid.coords:
        raise GridError("map_extent needs 'x' and 'y' coordinates (pixel centres in nm)")
    x = np.asarray(grid["x"].values, dtype=float)
    y = np.asarray(grid["y"].values, dtype=float)
    steps = [abs(a[-1] - a[0]) / (a.size - 1) for a in (x, y) if a.size > 1 and a[-1] != a[0]]
    fallback = steps[0] if steps else 1.0

    def edges(a: np.ndarray) -> list[float]:
        half = (abs(a[-1] - a[0]) / (a.size - 1) if a.size > 1 and a[-1] != a[0] else fallback) / 2
        lo, hi = float(min(a[0], a[-1])), float(max(a[0], a[-1]))
        return [lo - half, hi + half]

    return edges(x) + edges(y)


def check_spectra(
    X,
    *,
    min_spectra: int = 2,
    min_bias: int = 2,
    name: str = "X",
    allow_negative: bool = True,
    dtype=np.float64,
) -> np.ndarray:
    """Check the matrix view of spectra and return it as a float array: THE input check.

    Every analysis and learning step that takes spectra as rows calls this, so the same input
    fails in the same way everywhere.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Spectra as rows (:func:`to_matrix` gives them from a grid).
    min_spectra : int
        Fewest rows accepted (2 for anything comparing spectra).
    min_bias : int
        Fewest bias points (columns) per spectrum.
    name : str
        What ``X`` is called in the error messages (``"X_surface"``, ``"SiameseEmbedding.fit:
        X"``).
    allow_negative : bool
        False to refuse negative values (NMF, non-negative intensities).
    dtype : numpy dtype or None
        The float type returned; None keeps float32 and float64 as they are and turns anything
        else into float64.

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_bias)``
        C-contiguous, of ``dtype``; ``X`` itself when it already is.

    Raises
    ------
    ValueError
        Naming ``name`` and what is wrong: not numbers (or complex), not 2D, fewer than
        ``min_spectra`` rows or ``min_bias`` columns, NaN or inf (how many spectra hold each and
        the first such row), negative values when they are not allowed.
    """
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise ValueError(f"{name} must be numeric spectra (n_spectra, n_bias): {err}") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} holds {arr.dtype} values, expected real numbers")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} holds complex values, expected real numbers")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2D array of shape (n_spectra, n_bias), got shape {arr.shape}; "
            "use stswidgets.to_matrix(grid) to turn a (y, x, bias) grid into spectra"
        )
    if arr.shape[0] < min_spectra:
        raise ValueError(
            f"{name} holds {arr.shape[0]} spectra; this step needs at least {min_spectra} spectra"
        )
    if arr.shape[1] < min_bias:
        raise ValueError(
            f"{name} has {arr.shape[1]} bias point(s) per spectrum; a spectrum needs at least "
            f"{min_bias}"
        )
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        with_nan = int(np.isnan(arr[bad]).any(axis=1).sum())
        with_inf = int(np.isinf(arr[bad]).any(axis=1).sum())
        found = [f"NaN in {with_nan}"] * bool(with_nan) + [f"infinite values in {with_inf}"] * (
            bool(with_inf)
        )
        raise ValueError(
            f"{name} holds {' and '.join(found)} of its {arr.shape[0]} spectra (first at row "
            f"{bad[0]}); drop incomplete spectra first: stswidgets.to_matrix(grid) keeps only "
            "complete ones"
        )
    if not allow_negative:
        negative = (arr < 0).any(axis=1)
        if negative.any():
            rows = np.flatnonzero(negative)
            raise ValueError(
                f"{name} must be non-negative, but {rows.size} spectra hold negative values "
                f"(first at row {rows[0]}, smallest {float(arr.min()):g})"
            )
    return arr
