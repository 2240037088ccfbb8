"""SM4 spectra that are not on a grid: point spectra, repeats at one spot, lines.

A spectroscopy page whose header records no grid (grid size 0, or RHK's -1 stored as
``0xFFFFFFFF``, as line spectroscopy writes it) is read into a *spectra* Dataset (the reader
Dataset of :func:`stswidgets.open_spectra`): one variable per channel with dims
``("spectrum", "bias")``, coordinates ``x``/``y`` (nm, the recorded tip position; NaN where the
file records none and for spectra never measured) and ``repetition`` (the index of a sweep
among those at its spot) along ``spectrum``, and ``attrs["geometry"]``:

- ``"repeats"``: every spectrum at one spot;
- ``"line"``: at least 3 spots on a straight line (each within 1e-3 nm + 1 % of the line's
  length of the straight line fitted to them);
- ``"points"``: anything else, also where the file records no positions (then a warning says
  that the spectra's places are unknown).

The sweeps at each spot are kept one by one (average them with
:func:`stswidgets.spectra.average_spectra`) unless they alternate direction
(:func:`stswidgets.io.rhk.sweeps.alternating`, decided from the data, or ``sweeps=`` of
:func:`read_sm4`): then sweeps ``2k`` are the channel and sweeps ``2k + 1`` the channel
``"<name> [bwd]"``, one spectrum per pair.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.rhk import sweeps as _sweeps

NO_GRID = 0xFFFFFFFF  # RHK's grid size -1: the spectra are not on a grid
LINE_TOLERANCE_NM = 1e-3
SWEEP_MODES = ("auto", "alternating", "repeats")


def is_grid(header: dict) -> bool:
    """Whether a spectrum page's header records a grid (more than one position, not -1)."""
    nx, ny = header["grid_x_size"], header["grid_y_size"]
    return NO_GRID not in (nx, ny) and nx * ny > 1


def spot_geometry(x_nm: np.ndarray, y_nm: np.ndarray) -> str:
    """``"repeats"``, ``"line"`` or ``"points"`` of measured positions (module docstring).

    All within :data:`LINE_TOLERANCE_NM` of the first: repeats; at least 3 distinct positions
    (on a :data:`LINE_TOLERANCE_NM` raster) within that tolerance plus 1 % of the line's
    length of their best-fitting straight line: a line. Vectorised (thousands of spots).
    """
    known = np.isfinite(x_nm) & np.isfinite(y_nm)
    if x_nm.size == 0 or not known.all():
        return "points"
    points = np.column_stack([x_nm, y_nm]).astype(float)
    if np.hypot(*(points - points[0]).T).max() <= LINE_TOLERANCE_NM:
        return "repeats"
    if len(np.unique(np.round(points / LINE_TOLERANCE_NM), axis=0)) < 3:
        return "points"
    centred = points - points.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2]
    along, across = centred @ axes[0], centred @ axes[1]
    on_line = np.abs(across).max() <= LINE_TOLERANCE_NM + 0.01 * np.ptp(along)
    return "line" if on_line else "points"


def spectra_dataset(
    path,
    channels: list,
    positions: np.ndarray | None,
    sweep: tuple[str, np.ndarray, dict],
    attrs: dict,
    *,
    n_in_file: int,
    truncated: str = "",
    sweeps: str = "auto",
    strict: bool = False,
) -> xr.Dataset:
    """The spectra Dataset of the spectrum pages ``channels`` (module docstring).

    Parameters
    ----------
    path : pathlib.Path
        The file (named in every message).
    channels : list of ``(name, page, values, raw)``
        Each channel's variable name, page, physical values and raw values
        ``(n_spectra, n_points)``.
    positions : numpy.ndarray ``(n_spectra, 2)`` in m, or None
        The recorded tip positions (NaN past the end of a truncated file); those of spectra
        never measured become NaN (they join the spot before them).
    sweep : ``(dim, values, attrs)``
        The sweep axis in the file's order.
    attrs : dict
        The file's header attrs (added to).
    n_in_file : int
        Spectra the file holds whole (fewer than the header's in a truncated file).
    truncated : str
        ``"; the file ends ..."`` for a truncated file, else ``""``.
    sweeps : {"auto", "alternating", "repeats"}
        How two sweeps at a spot are read (``"auto"``: decided from the data).
    strict : bool
        Raise :class:`FormatError` instead of warning for incomplete spectra.
    """
    if sweeps not in SWEEP_MODES:
        raise ValueError(f"sweeps={sweeps!r}: expected one of {', '.join(SWEEP_MODES)}")
    n_spectra, n_points = channels[0][2].shape
    completeness = _rules.measured_points([raw for *_, raw in channels])
    finite = np.logical_and.reduce([np.isfinite(v) for *_, v, _ in channels])
    first_gap = np.where(finite.all(axis=1), n_points, np.argmin(finite, axis=1))
    stop = np.minimum(completeness.points, first_gap)  # (a page cut by the end of the file)
    in_time = np.arange(n_points) < stop[:, None]
    values = [np.where(in_time, v, np.nan) for *_, v, _ in channels]
    complete = stop == n_points
    if positions is None:
        warnings.warn(
            f"{path}: the file records no tip positions (no spec-drift data) and no grid; its "
            f"{n_spectra} spectra are read as point spectra at unknown places (x, y NaN): "
            "whether they are repeats at one spot or a line cannot be told",
            stacklevel=3,
        )
    else:  # a spectrum never measured has no position (RHK leaves its record at 0)
        positions = np.where((stop > 0)[:, None], positions, np.nan)
    spot = _sweeps.spot_runs(positions, n_spectra)
    test = _sweeps.alternating(values, spot, complete)
    if sweeps == "alternating" and not test["possible"]:
        raise FormatError(
            f"{path}: sweeps='alternating' needs an even number of sweeps at every spot; the "
            f"spots hold {sorted(set(np.bincount(spot).tolist()))} sweeps"
        )
    paired = test["alternating"] if sweeps == "auto" else sweeps == "alternating"
    picks = [("", slice(None), slice(None))]
    reverse = False
    if paired:
        reverse = _sweeps.backward_reversed([v.reshape(1, -1, 2, n_points) for v in values])
        order = slice(None, None, -1) if reverse else slice(None)
        picks = [("", slice(0, None, 2), slice(None)), (" [bwd]", slice(1, None, 2), order)]
    keep = slice(0, None, 2) if paired else slice(None)
    if positions is None:
        positions = np.full((n_spectra, 2), np.nan)
    x_nm, y_nm = (positions[keep, k] * 1e9 for k in (0, 1))
    repetition = _sweeps.repetition_index(spot[keep])
    data_vars = {}
    for (name, page, *_), channel in zip(channels, values, strict=True):
        for suffix, pick, order in picks:
            var_attrs = {"units": page.strings.get("z_units", "").strip()}
            var_attrs["channel"] = page.label + suffix
            var_attrs["long_name"] = page.label + suffix
            data_vars[name + suffix] = (("spectrum", sweep[0]), channel[pick][:, order], var_attrs)
    valid = complete[0::2] & complete[1::2] if paired else complete.copy()
    data_vars["valid"] = (("spectrum",), valid, {"long_name": "every sweep complete"})
    measured = (stop > 0)[0::2] | (stop > 0)[1::2] if paired else stop > 0
    anchors = np.r_[True, np.diff(spot[keep]) != 0] & measured  # one position per spot
    geometry = spot_geometry(x_nm[anchors], y_nm[anchors])
    attrs = dict(attrs)
    attrs["geometry"] = geometry
    attrs["source"] = str(path)
    n_spots = int(spot.max()) + 1 if n_spectra else 0
    attrs["n_spots"] = n_spots
    attrs["sweep_directions"] = (
        "forward and backward alternating (sweeps 2k and 2k + 1 at each spot)"
        if paired
        else "every sweep kept as a spectrum (repeats at a spot numbered by 'repetition')"
    )
    attrs["sweep_decision"] = f"{sweeps}: " + (
        f"{test['pairs']} complete pairs, {test['fraction']:.0%} of bias points differ "
        "systematically between sweeps 2k and 2k + 1"
        if test["pairs"] >= _sweeps.MIN_PAIRS
        else "too few complete pairs to test, read as repeats"
        if test["possible"]
        else "an odd number of sweeps at a spot, read as repeats"
    )
    if paired:
        attrs["backward_sweeps_reversed"] = int(reverse)
    _warn_incomplete(path, stop, valid, n_in_file, completeness, truncated, strict, n_points)
    coords = {
        sweep[0]: (sweep[0], sweep[1], sweep[2]),
        "x": ("spectrum", x_nm, {"units": "nm", "long_name": "tip x"}),
        "y": ("spectrum", y_nm, {"units": "nm", "long_name": "tip y"}),
        "repetition": ("spectrum", repetition, {"long_name": "sweep index at the spot"}),
    }
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset.encoding["source"] = str(path)
    return dataset


def _warn_incomplete(path, stop, valid, n_in_file, completeness, truncated, strict, n_points):
    """One warning (or, strict, a FormatError) naming the file and what was dropped."""
    if valid.all():
        if truncated:
            warnings.warn(f"{path}: {truncated[2:]}; the spectra are complete", stacklevel=4)
        return
    empty = np.flatnonzero(stop == 0)
    short = np.flatnonzero((stop > 0) & (stop < n_points))
    parts = []
    if short.size:
        cuts = ", ".join(f"spectrum {k} after {stop[k]}" for k in short[:5])
        parts.append(f"{short.size} cut short ({cuts}{', ...' if short.size > 5 else ''} points)")
    if empty.size:
        parts.append(f"{empty.size} never measured (all zeros or not in the file)")
    message = (
        f"{path}: {int((~valid).sum())} of {valid.size} spectra incomplete "
        f"({n_in_file} of {stop.size} sweeps in the file; {'; '.join(parts)}"
        f"{completeness.note(n_points)}{truncated}); their missing points are NaN and they "
        "are marked invalid"
    )
    _rules.warn_or_raise(message, strict)
