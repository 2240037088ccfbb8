"""SM4 spectra on a grid: the arrangement of a page's spectra into ``(y, x)`` positions and
sweeps per position, and the scan frame from the recorded positions (see
:mod:`stswidgets.io.rhk.reader` for the conventions)."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from stswidgets.io import _geometry, _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.rhk import sweeps as _sweeps

_MIN_PITCH_NM = 1e-5
_ANGLE_TOLERANCE_DEG = 1.0
_MAX_POSITIONS = 1 << 22  # a larger grid in a page header is damage (2048 x 2048 allowed)


def _arrangement(header: dict, positions: np.ndarray | None, n_spectra: int, path):
    """``(ny, nx, sweeps per position)`` of a grid's spectrum page."""
    spot = _sweeps.spot_runs(positions, n_spectra)
    run = int(np.sum(spot == 0))  # the sweeps at the first position
    nx, ny = header["grid_x_size"], header["grid_y_size"]
    if nx * ny > _MAX_POSITIONS:
        raise FormatError(
            f"{path}: the header's grid of {nx} x {ny} positions is implausibly large (more "
            f"than {_MAX_POSITIONS}); the page header is damaged"
        )
    whole = n_spectra >= nx * ny and n_spectra % (nx * ny) == 0
    per_position = n_spectra // (nx * ny) if whole else run
    if n_spectra > nx * ny * per_position:
        raise FormatError(
            f"{path}: {n_spectra} spectra do not fit the {nx} x {ny} grid of the header "
            f"with {per_position} sweeps per position"
        )
    return ny, nx, per_position


def _frame(x_nm: np.ndarray, y_nm: np.ndarray, file_angle: float | None):
    """The scan frame of measured positions ``(ny, nx)`` in nm, in the toolkit's convention.

    Planes ``X, Y = a + b col + c row`` fitted to the measured positions give the centre (at
    the middle pixel), the pitch (size = pixels x pitch) and the direction of the fast axis.
    RHK angles turn the frame counter-clockwise; :mod:`stswidgets.io._geometry` turns it
    clockwise, so the frame angle is minus the file's angle (taken where it agrees with the
    positions up to a reversed axis), else minus the measured direction folded into
    ``(-90, 90]``.
    """
    if _geometry.serpentine_rows(x_nm, y_nm):
        x_nm, y_nm = x_nm.copy(), y_nm.copy()
        x_nm[1::2], y_nm[1::2] = x_nm[1::2, ::-1], y_nm[1::2, ::-1]
    finite = np.isfinite(x_nm) & np.isfinite(y_nm)
    if not finite.any():
        return None
    rows, cols = (index[finite].astype(float) for index in np.indices(x_nm.shape))
    design = np.stack([np.ones(rows.size), cols, rows], axis=1)
    coef = np.linalg.lstsq(design, np.stack([x_nm[finite], y_nm[finite]], 1), rcond=None)[0]
    spans = [np.unique(axis).size > 1 for axis in (cols, rows)]
    fast, slow = (coef[k] if spans[k - 1] else np.zeros(2) for k in (1, 2))
    middle = np.array([1.0, (x_nm.shape[1] - 1) / 2, (x_nm.shape[0] - 1) / 2])
    centre = middle @ coef
    pitches = [float(np.hypot(*step)) for step in (fast, slow)]
    if pitches[0] >= _MIN_PITCH_NM:
        measured = np.degrees(np.arctan2(fast[1], fast[0]))
    elif pitches[1] >= _MIN_PITCH_NM:
        measured = np.degrees(np.arctan2(slow[1], slow[0])) - 90
    else:
        measured = None
    angle = -file_angle if file_angle is not None else 0.0
    if measured is not None:
        folded = -((measured + 90) % 180 - 90)  # clockwise, in (-90, 90]
        turn = (folded - angle + 90) % 180 - 90
        angle = angle if abs(turn) < _ANGLE_TOLERANCE_DEG else float(folded)
    size = [
        n * p if p >= _MIN_PITCH_NM else np.nan
        for n, p in zip(x_nm.shape[::-1], pitches, strict=True)
    ]
    return _geometry.ScanFrame(float(centre[0]), float(centre[1]), *size, float(angle))


def grid_dataset(path, channels, positions, sweep, attrs, n_in_file, truncated, strict):
    """The grid Dataset of the spectrum pages ``channels`` (see :func:`read_sm4`)."""
    first = channels[0][1]
    n_spectra, n_points = first.header["y_size"], first.header["x_size"]
    ny, nx, per_position = _arrangement(first.header, positions, n_spectra, path)
    n_slots = nx * ny * per_position
    spots = _sweeps.spot_runs(positions, n_spectra)
    if positions is not None and n_spectra > per_position and spots.max() == 0:
        warnings.warn(
            f"{path}: the header's grid of {nx} x {ny} positions, but all {n_spectra} spectra "
            "were recorded at one spot; the grid size in the page header may be damaged "
            "(read as a grid of copies of that spot)",
            stacklevel=3,
        )
    _rules.check_allocation(
        path,
        8 * n_slots * n_points * (len(channels) + 1),
        path.stat().st_size,
        f"{nx} x {ny} positions x {per_position} sweeps x {n_points} points",
    )
    completeness = _rules.measured_points([raw for *_, raw in channels])
    stop = completeness.points
    in_time = np.arange(n_points) < stop[:, None]

    def arranged(values: np.ndarray, width: int) -> np.ndarray:
        full = np.full((n_slots, width), np.nan)
        full[:n_spectra] = values
        return full.reshape(ny, nx, per_position, width)

    sweeps = [arranged(np.where(in_time, values, np.nan), n_points) for *_, values, _ in channels]
    picks = [("", slice(None), slice(None))]
    reverse = per_position % 2 == 0 and _sweeps.backward_reversed(sweeps)
    if per_position % 2 == 0:
        backward = slice(None, None, -1) if reverse else slice(None)
        picks = [("", slice(0, None, 2), slice(None)), (" [bwd]", slice(1, None, 2), backward)]
    data_vars = {}
    for (name, page, *_), values in zip(channels, sweeps, strict=True):
        for suffix, pick, order in picks:
            var_attrs = {"units": page.strings.get("z_units", "").strip(), "channel": page.label}
            var_attrs["channel"] += suffix
            mean = values[:, :, pick, order].mean(axis=2).astype(np.float32)
            data_vars[name + suffix] = (("y", "x", sweep[0]), mean, var_attrs)
    complete = np.zeros(n_slots, dtype=bool)
    complete[:n_spectra] = stop == n_points
    valid = complete.reshape(ny, nx, per_position).all(axis=2)
    valid &= np.logical_and.reduce([np.isfinite(v).all(axis=(2, 3)) for v in sweeps])
    if positions is not None:
        measured = np.where((stop > 0)[:, None], positions, np.nan)
        spots = arranged(measured, 2)[:, :, 0]
        for k, name in enumerate(("X (m)", "Y (m)")):
            position_attrs = {"units": "m", "long_name": "tip " + name}
            data_vars[name] = (("y", "x"), spots[..., k], position_attrs)
    data_vars["valid"] = (("y", "x"), valid, {"long_name": "every sweep complete"})
    attrs["sweeps_per_position"] = int(per_position)
    attrs["sweep_directions"] = (
        f"forward and backward alternating, {per_position // 2} of each averaged"
        if per_position % 2 == 0
        else f"forward, {per_position} averaged"
        if per_position > 1
        else "forward"
    )
    if per_position % 2 == 0:
        attrs["backward_sweeps_reversed"] = int(reverse)
    n_bad = int((~valid).sum())
    if n_bad:
        n_short = int(np.sum(stop[:n_in_file] < n_points))
        message = (
            f"{path}: aborted grid, {n_bad} of {valid.size} spectra incomplete ({n_in_file} of "
            f"{n_slots} sweeps in the file, {n_short} of them cut short"
            f"{completeness.note(n_points)}{truncated}); their missing points are NaN and the "
            "pixels are marked invalid"
        )
        _rules.warn_or_raise(message, strict)
    elif truncated:
        warnings.warn(f"{path}: {truncated[2:]}; the spectra are complete", stacklevel=3)
    dataset = xr.Dataset(data_vars, coords={sweep[0]: sweep}, attrs=attrs)
    frame = None
    if positions is not None:
        x_nm, y_nm = (dataset[name].values * _geometry.NM for name in ("X (m)", "Y (m)"))
        frame = _frame(x_nm, y_nm, attrs["rhk_angle_deg"] or None)
    dataset = _geometry.scan_geometry(dataset, frame)
    dataset.encoding["source"] = str(path)
    return dataset
