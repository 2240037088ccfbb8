"""Spectra that are not on a grid: point sets, lines and repeated spectra at one spot.

A *spectra* array is an :class:`xarray.DataArray` with dims ``("spectrum", "bias")``: ``bias``
in mV (ascending), coordinates along ``spectrum``: ``x`` and ``y`` (nm; NaN where the file
records no position), ``distance`` (nm along a line from its first position; only for
geometry ``"line"``), and where given ``repetition`` (index of a repeated spectrum at one
spot) and ``file`` (each spectrum's file, for a series). ``attrs`` are a grid's (``units``,
``channel``, ``source``, ``lockin_phase_deg``, ``channel_agreement``, ``derived``,
``setpoint_bias_mV``, ...) plus ``geometry``: ``"points"``, ``"line"`` or ``"repeats"``.

:func:`stswidgets.to_matrix` and :func:`stswidgets.to_map` work on spectra as on grids: the
``valid`` mask then has dims ``("spectrum",)``. :func:`stswidgets.open_spectra` reads files.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from stswidgets.grid import GEOMETRIES, SPECTRA_DIMS, GridError, validate_spectra

__all__ = [
    "GEOMETRIES",
    "SPECTRA_DIMS",
    "average_spectra",
    "is_spectra",
    "line_distance",
    "make_spectra",
    "spot_geometry",
    "validate_spectra",
]


def is_spectra(obj) -> bool:
    """Whether ``obj`` is a DataArray with dims ``("spectrum", "bias")`` (or a Dataset holding
    such a variable, e.g. a reader's Dataset of spectra that are not on a grid)."""
    if isinstance(obj, xr.DataArray):
        return tuple(obj.dims) == SPECTRA_DIMS
    if isinstance(obj, xr.Dataset):
        return any(set(var.dims) == set(SPECTRA_DIMS) for var in obj.data_vars.values())
    return False


def line_distance(x_nm, y_nm) -> np.ndarray:
    """Distance in nm of each position from the first: along a line, ``hypot(x - x0, y - y0)``."""
    x_nm, y_nm = np.asarray(x_nm, dtype=float), np.asarray(y_nm, dtype=float)
    if x_nm.size == 0:
        return np.zeros(0)
    return np.hypot(x_nm - x_nm[0], y_nm - y_nm[0])


def spot_geometry(x_nm, y_nm, *, tolerance_nm: float = 1e-3) -> str:
    """``"repeats"`` when two or more positions are all one spot, ``"line"`` when they lie on
    a straight line with at least 3 distinct positions, else ``"points"`` (also where any is
    unknown).

    Positions closer than ``tolerance_nm`` count as one; "on a line" means every position lies
    within ``tolerance_nm`` plus 1 % of the line's length of the line through the two
    positions farthest apart.
    """
    x_nm, y_nm = np.asarray(x_nm, dtype=float), np.asarray(y_nm, dtype=float)
    if x_nm.size == 0 or not (np.all(np.isfinite(x_nm)) and np.all(np.isfinite(y_nm))):
        return "points"
    points = np.column_stack([x_nm, y_nm])
    distinct = [points[0]]
    for point in points[1:]:
        if min(np.hypot(*(point - other)) for other in distinct) > tolerance_nm:
            distinct.append(point)
    if len(distinct) == 1:
        return "repeats" if x_nm.size > 1 else "points"
    if len(distinct) < 3:
        return "points"
    distinct = np.array(distinct)
    gaps = np.hypot(*(distinct[:, None, :] - distinct[None, :, :]).transpose(2, 0, 1))
    i, j = np.unravel_index(np.argmax(gaps), gaps.shape)
    direction = (distinct[j] - distinct[i]) / gaps[i, j]
    offsets = distinct - distinct[i]
    off_line = np.abs(offsets[:, 0] * direction[1] - offsets[:, 1] * direction[0])
    return "line" if off_line.max() <= tolerance_nm + 0.01 * gaps[i, j] else "points"


def make_spectra(
    values,
    bias_mV,
    x_nm=None,
    y_nm=None,
    *,
    geometry: str = "points",
    distance_nm=None,
    repetition=None,
    name: str = "didv",
    units: str = "a.u.",
    channel: str = "",
    source: str = "",
    attrs: dict | None = None,
) -> xr.DataArray:
    """Build spectra from a ``(n_spectra, n_bias)`` array and its axes.

    Parameters
    ----------
    values : array-like, shape ``(n_spectra, n_bias)``
    bias_mV : array-like, shape ``(n_bias,)``
        Sorted ascending here (the values with it).
    x_nm, y_nm : array-like, shape ``(n_spectra,)``, optional
        Tip positions in nm; NaN where unknown (the default).
    geometry : {"points", "line", "repeats"}
    distance_nm : array-like, shape ``(n_spectra,)``, optional
        Distance along the line (geometry ``"line"`` only); by default from ``x_nm``/``y_nm``
        (:func:`line_distance`).
    repetition : array-like of int, shape ``(n_spectra,)``, optional
        Index of each spectrum among the repeats at its spot.
    name, units, channel, source : str
        The variable name and the ``attrs`` every grid carries.
    attrs : dict, optional
        More attrs (``lockin_phase_deg``, ``setpoint_bias_mV``, ...).

    Returns
    -------
    xarray.DataArray, dims ``("spectrum", "bias")``
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise GridError(f"values must have shape (n_spectra, n_bias), got shape {values.shape}")
    n, nb = values.shape
    bias_mV = np.asarray(bias_mV, dtype=float)
    if bias_mV.shape != (nb,):
        raise GridError(f"bias_mV has shape {bias_mV.shape}, expected ({nb},)")
    if geometry not in GEOMETRIES:
        raise GridError(f"geometry {geometry!r} is not one of {GEOMETRIES}")
    coords = {"bias": ("bias", bias_mV, {"units": "mV", "long_name": "sample bias"})}
    for label, axis in (("x_nm", x_nm), ("y_nm", y_nm)):
        axis = np.full(n, np.nan) if axis is None else np.asarray(axis, dtype=float)
        if axis.shape != (n,):
            raise GridError(f"{label} has shape {axis.shape}, expected ({n},) to match the values")
        coords[label[0]] = ("spectrum", axis, {"units": "nm"})
    if geometry == "line":
        if distance_nm is None:
            distance_nm = line_distance(coords["x"][1], coords["y"][1])
        distance_nm = np.asarray(distance_nm, dtype=float)
        if distance_nm.shape != (n,):
            raise GridError(f"distance_nm has shape {distance_nm.shape}, expected ({n},)")
        coords["distance"] = (
            "spectrum",
            distance_nm,
            {"units": "nm", "long_name": "distance along the line"},
        )
    elif distance_nm is not None:
        raise GridError(f"distance_nm is given, but geometry is {geometry!r}, not 'line'")
    if repetition is not None:
        repetition = np.asarray(repetition, dtype=int)
        if repetition.shape != (n,):
            raise GridError(f"repetition has shape {repetition.shape}, expected ({n},)")
        coords["repetition"] = ("spectrum", repetition)
    spectra = xr.DataArray(
        values,
        dims=SPECTRA_DIMS,
        coords=coords,
        name=name,
        attrs={"units": units, "channel": channel, "source": source, **(attrs or {})},
    )
    spectra.attrs["geometry"] = geometry
    return validate_spectra(spectra.sortby("bias"))


def _spots(repetition: np.ndarray) -> np.ndarray:
    """Group index of each spectrum: a group starts where the repetition does not grow."""
    starts = np.r_[True, np.diff(repetition) <= 0]
    return np.cumsum(starts) - 1


def _describe(spectra) -> str:
    source = spectra.attrs.get("source")
    return f"spectra {spectra.name!r}" + (f" from {source}" if source else "")


def average_spectra(spectra, over: str = "repetition"):
    """Average repeated spectra, or forward and backward sweeps.

    Parameters
    ----------
    spectra : xarray.DataArray (dims ``("spectrum", "bias")``) or xarray.Dataset
        ``over="repetition"``: spectra with a ``repetition`` coordinate; the spectra of one
        spot (a run of growing repetitions, starting where the repetition starts again) are
        averaged (NaN ignored: a repeat cut short adds only the points it measured). The
        result has one spectrum per spot, its first repeat's coordinates, no ``repetition``
        and the coordinate ``n_averaged``; geometry ``"repeats"`` becomes ``"points"``.
        ``over="direction"``: a Dataset (a reader's, or channels by name): each channel ``X``
        with a ``X [bwd]`` partner is replaced by their mean (NaN where either is NaN), the
        ``[bwd]`` variable dropped and ``attrs["averaged"]`` says so.
    over : {"repetition", "direction"}

    Returns
    -------
    xarray.DataArray or xarray.Dataset, as given
    """
    if over == "direction":
        return _average_directions(spectra)
    if over != "repetition":
        raise ValueError(f"over={over!r}: expected 'repetition' or 'direction'")
    validate_spectra(spectra)
    if "repetition" not in spectra.coords:
        raise GridError(
            f"{_describe(spectra)} has no 'repetition' coordinate: no repeated spectra to average"
        )
    spots = _spots(np.asarray(spectra["repetition"].values))
    n_spots = int(spots.max()) + 1
    values = np.asarray(spectra.values, dtype=float)
    counts = np.array([np.sum(spots == k) for k in range(n_spots)])
    with np.errstate(invalid="ignore"):
        mean = np.stack([_nanmean(values[spots == k]) for k in range(n_spots)])
    first = np.array([np.flatnonzero(spots == k)[0] for k in range(n_spots)])
    out = spectra.isel(spectrum=first).drop_vars("repetition").copy(data=mean)
    out = out.assign_coords(n_averaged=("spectrum", counts))
    if out.attrs.get("geometry") == "repeats":
        out.attrs["geometry"] = "points"
    if "distance" in out.coords:
        out = out.assign_coords(
            distance=out["distance"].copy(data=line_distance(out["x"].values, out["y"].values))
        )
    out.attrs["averaged"] = "mean over the repetitions at each spot"
    return out


def _nanmean(rows: np.ndarray) -> np.ndarray:
    """Mean over rows ignoring NaN; NaN where every row is NaN (without a warning)."""
    finite = np.isfinite(rows)
    n = finite.sum(axis=0)
    total = np.where(finite, rows, 0.0).sum(axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


BWD_TAG = " [bwd]"


def _average_directions(dataset):
    if not isinstance(dataset, xr.Dataset):
        raise GridError(
            "average_spectra(over='direction') needs both sweep directions: pass the reader "
            "Dataset (channels 'X' and 'X [bwd]'), or open_spectra(path, average='direction')"
        )
    out = dataset.copy()
    for name in list(dataset.data_vars):
        backward = f"{name}{BWD_TAG}"
        if BWD_TAG in str(name) or backward not in dataset.data_vars:
            continue
        forward = dataset[name]
        mean = (forward.astype(float) + dataset[backward].astype(float)) / 2
        out[name] = mean.assign_attrs(
            forward.attrs, averaged="mean of the forward and backward sweeps"
        )
        out = out.drop_vars(backward)
    return out
