"""Reading RHK SM4 spectroscopy files (``.sm4``, RHK Rev9 / XPMPro): :func:`read_sm4`.

An SM4 file is a set of *pages* (see :mod:`stswidgets.io.rhk.layout` for the binary layout).
Image pages (topography, current, lock-in, forward and backward) and line pages; a line page
of spectra (line type I-V, I-Z, ...) holds one channel: ``y size`` spectra of ``x size``
points each, the sweep ``x_offset + i * x_scale`` (units and label in its strings), values
``raw * z_scale + z_offset``, and, in its spec-drift object, each spectrum's tip position.
A grid file has one such page per channel (``LIA Current``, the lock-in dI/dV, and
``Current``), all with the same spectra in the same order: the grid's positions row after row
(``grid x size`` per row; the page header gives the grid size), and at each position the
sweeps measured there one after the other. Where there are several sweeps per position,
RHK's alternating mode measures forward and backward in turn; the file does not mark the
direction of a sweep and every sweep is stored against the page's one sweep axis.

This reader therefore takes, at each position with an **even** number ``2n`` of sweeps, sweeps
0, 2, ... as the forward and 1, 3, ... as the backward sweeps (the convention of the RHK
analysis package rhkpy) and averages each set: channel ``"LIA_Current"`` and
``"LIA_Current [bwd]"``; with an **odd** number of sweeps all are averaged into the channel.
Attrs ``sweeps_per_position`` and ``sweep_directions`` say which was done. A point
spectroscopy file or a line (no grid size in the header) opens as ``1 x N``, one pixel per
distinct tip position (consecutive spectra at the same position are its sweeps).

Why a reader of our own: ``spym`` (the one maintained SM4 reader for Python) imports
``hvplot`` without declaring it, reads every header field with a separate ``np.fromfile``
call, returns each page as a flat ``(points, spectra)`` array without arranging the spectra
into the grid, and raises ``IndexError``/``ValueError`` from deep inside on truncated files.
The format is small enough to read with ``struct`` and ``numpy`` in the layout Gwyddion's and
spym's readers document, with bounds checks that name the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _geometry, _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.rhk import layout as _sm4_layout
from stswidgets.io.rhk.layout import IMAGE, LINE

__all__ = ["looks_like", "read_sm4"]

FORMAT_NAME = "RHK SM4"
SPECTRUM_LINE_TYPES = {7: "I-V spectrum", 8: "I-Z spectrum", 13: "renormalized I-V", 22: "discrete"}
_MIN_PITCH_NM = 1e-5
_ANGLE_TOLERANCE_DEG = 1.0
_SCAN_DIRECTIONS = {0: "right", 1: "left", 2: "up", 3: "down"}
_MAX_POSITIONS = 1 << 22  # a larger grid in a page header is damage (2048 x 2048 allowed)
_SAME_SPOT_M = 1e-12  # sweeps at one tip position: recorded positions this close (or 1e-4 of span)
looks_like = _sm4_layout.looks_like


def _spectral_pages(pages: list, path, note: str = "") -> tuple[list, list]:
    """The spectrum pages sharing the first one's spectra and sweep; the others' labels."""
    spectral = [
        page
        for page in pages
        if page.data_type == LINE and page.header["line_type"] in SPECTRUM_LINE_TYPES
    ]
    if not spectral:
        kinds = sorted({page.label for page in pages}) or ["none"]
        raise FormatError(
            f"{path}: no spectroscopy page (line pages of I-V/I-Z spectra) in this SM4 file; "
            f"its pages are: {', '.join(kinds)}{note}"
        )
    keys = ("x_size", "y_size", "x_scale", "x_offset", "line_type")
    first = spectral[0].header
    same = [page for page in spectral if all(page.header[k] == first[k] for k in keys)]
    return same, [page.label for page in spectral if page not in same]


def _sweep(page, own_sweep: np.ndarray | None) -> tuple[str, np.ndarray, dict]:
    """Dimension name, values in the file's order and units, and attrs of the sweep axis."""
    header, strings = page.header, page.strings
    if own_sweep is not None:
        values = own_sweep
    else:
        start, step = (float(str(np.float32(header[key]))) for key in ("x_offset", "x_scale"))
        values = np.round(start + step * np.arange(header["x_size"]), 12)
    units = strings.get("x_units", "").strip()
    label = strings.get("x_label", "").strip()
    dim = "bias" if units in ("V", "mV") or label.lower() in ("bias", "voltage") else label
    return dim or "sweep", values, {"units": units, "long_name": label or dim or "sweep"}


def _arrangement(header: dict, positions: np.ndarray | None, n_spectra: int, path):
    """``(ny, nx, sweeps per position)`` of a spectrum page."""
    run = 1
    known = None if positions is None else positions[np.isfinite(positions).all(axis=1)]
    if known is not None and len(known):  # (positions past the end of a cut file are NaN)
        extent = np.ptp(known, axis=0).max()
        same = np.hypot(*(known - known[0]).T) <= max(_SAME_SPOT_M, 1e-4 * extent)
        run = n_spectra if same.all() else int(np.argmin(same))
    nx, ny = header["grid_x_size"], header["grid_y_size"]
    if nx * ny > _MAX_POSITIONS:
        raise FormatError(
            f"{path}: the header's grid of {nx} x {ny} positions is implausibly large (more "
            f"than {_MAX_POSITIONS}); the page header is damaged"
        )
    if nx * ny > 1:
        whole = n_spectra >= nx * ny and n_spectra % (nx * ny) == 0
        per_position = n_spectra // (nx * ny) if whole else run
        if n_spectra > nx * ny * per_position:
            raise FormatError(
                f"{path}: {n_spectra} spectra do not fit the {nx} x {ny} grid of the header "
                f"with {per_position} sweeps per position"
            )
        return ny, nx, per_position
    return 1, -(-n_spectra // run), run  # point spectra or a line: one pixel per position


def _backward_reversed(sweeps: list[np.ndarray]) -> bool:
    """Whether backward sweeps (odd sweeps of ``(ny, nx, sweeps, points)``) run against the axis.

    RHK stores every sweep against the page's one sweep axis, so the mean forward and backward
    spectra correlate; if instead the backward sweeps were stored in the order measured, they
    correlate with the forward ones only when reversed (Pearson r -1 against +1 for a current,
    monotonic in bias). True when reversing gains more than 1 in r summed over the channels.
    """
    gain = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN points of aborted sweeps
        for values in sweeps:
            forward, backward = (np.nanmean(values[:, :, k::2], axis=(0, 1, 2)) for k in (0, 1))
            if np.all(np.isfinite(forward + backward)) and np.ptp(forward) and np.ptp(backward):
                same, flipped = (np.corrcoef(forward, b)[0, 1] for b in (backward, backward[::-1]))
                gain += flipped - same
    return gain > 1.0


def _file_angle(spectral: list, pages: list) -> float | None:
    """The scan angle the file records (RHK: counter-clockwise, degrees), None if none."""
    for page in spectral + [page for page in pages if page.data_type == IMAGE]:
        if page.header["angle"] != 0:
            return float(np.float32(page.header["angle"]))
    return None


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


def _truncation_note(info: dict, missing: list[str]) -> str:
    """``"; the file ends N bytes early ..."`` for a truncated file, else ``""``."""
    if not info["missing_bytes"]:
        return ""
    note = f"; the file ends {info['missing_bytes']} bytes early (truncated)"
    if info["cut_pages"]:
        note += f", pages not in it: {', '.join(map(str, info['cut_pages']))}"
    if missing:
        note += f", spectroscopy pages with no spectrum in it: {', '.join(missing)}"
    return note


def _unique(name: str, used: set[str]) -> str:
    candidate, i = name, 2
    while candidate in used:
        candidate, i = f"{name} {i}", i + 1
    used.add(candidate)
    return candidate


def _header_attrs(info: dict, first, per_position: int, file_angle) -> dict:
    """The file's header as plain str/int/float attrs (netCDF-storable)."""
    header, strings = first.header, first.strings
    attrs = {"vendor": "RHK", "format": FORMAT_NAME, "signature": info["signature"]}
    attrs["minor_version"] = int(first.minor_version)
    for key in ("date", "time", "file_path", "system_text", "session_text", "user_text"):
        attrs[key] = strings.get(key, "")
    attrs["drive_values"] = strings.get("drive_values", "").replace("\n", "; ")
    attrs["page_type"] = int(header["page_type"])
    attrs["line_type"] = SPECTRUM_LINE_TYPES[header["line_type"]]
    for key, name in (("bias", "bias_V"), ("current", "setpoint_A"), ("period", "period_s")):
        attrs[name] = float(str(np.float32(header[key])))
    attrs["grid_x_size"], attrs["grid_y_size"] = header["grid_x_size"], header["grid_y_size"]
    attrs["n_spectra"] = int(header["y_size"])
    attrs["sweeps_per_position"] = int(per_position)
    both = per_position % 2 == 0
    attrs["sweep_directions"] = (
        f"forward and backward alternating, {per_position // 2} of each averaged"
        if both
        else f"forward, {per_position} averaged"
        if per_position > 1
        else "forward"
    )
    attrs["rhk_angle_deg"] = float(file_angle or 0.0)
    return attrs


def read_sm4(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read the spectroscopy grid (or point spectra, or a line) of an RHK SM4 file.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.sm4`` file.
    strict : bool
        Raise :class:`FormatError` for an aborted grid instead of warning.

    Returns
    -------
    xarray.Dataset
        - one float32 variable per spectrum page (channel), dims ``(y, x, bias)`` (``(y, x,
          <sweep label>)`` for a sweep that is not in V, e.g. I-Z), named after the page label
          with ``_`` for spaces (``"LIA_Current"``, ``"Current"``), the backward sweeps of
          alternating spectroscopy as ``"<name> [bwd]"`` (see the module docstring); attrs
          ``units`` (the page's z units, e.g. ``"A"``) and ``channel`` (the label as in the
          file, ``"LIA Current"``);
        - ``X (m)``, ``Y (m)``: float64 ``(y, x)``, the recorded tip position of each pixel;
        - ``valid``: bool ``(y, x)``, True where every sweep of the pixel is complete in every
          channel. Spectra missing from an aborted grid and the zero tail of an aborted
          spectrum are NaN;
        - coordinate ``bias`` in V in the file's sweep order; ``x``/``y`` in nm ascending (see
          :func:`stswidgets.io._geometry.scan_geometry`; offsets from the grid centre along the
          grid axes for a rotated grid);
        - ``attrs``: ``vendor="RHK"``, ``format="RHK SM4"``, the header (``signature``,
          ``date``, ``time``, ``bias_V``, ``setpoint_A``, ``period_s``, ``grid_x_size``, ...),
          ``sweeps_per_position``, ``sweep_directions``, ``rhk_angle_deg`` (the file's angle,
          counter-clockwise), ``channels`` and, where any, ``empty_channels`` (pages all
          zero, left out), ``image_pages`` and ``other_spectral_pages`` (not read); the scan
          geometry :data:`stswidgets.io._geometry.GEOMETRY_ATTRS` (``scan_angle_deg`` is
          clockwise, minus the file's angle). ``encoding["source"]`` is the path.

    Raises
    ------
    FormatError
        No SM4 signature, a file structure (headers, object lists) cut by the end of the file,
        no whole spectrum in it, page data of the wrong size, no spectroscopy page, spectra
        that do not fit the header's grid (or an implausibly large grid), or an aborted grid
        (also a truncated file missing spectra) with ``strict=True``.

    Warns
    -----
    UserWarning
        For an aborted grid or aborted spectra: they are NaN and marked invalid. A truncated
        file keeps the whole spectra it holds (the rest NaN and invalid; pages with none are
        listed in ``missing_channels``, the bytes missing in ``missing_bytes``), or only warns
        when the cut misses the spectra (thumbnails at the end).
    """
    path = Path(path)
    data = path.read_bytes()
    info, pages = _sm4_layout.read_pages(data, path)
    spectral, others = _spectral_pages(pages, path, _truncation_note(info, []))
    first = spectral[0]
    n_spectra, n_points = first.header["y_size"], first.header["x_size"]
    used = {"x", "y", "valid", "X (m)", "Y (m)"}
    channels, empty, missing, own_sweep = [], [], [], None
    for page in spectral:
        if not _sm4_layout.stored_spectra(data, page):  # a truncated file ends before it
            missing.append(page.label)
            continue
        values, raw, own_sweep = _sm4_layout.page_values(data, page, path)
        if not raw.any():
            empty.append(page.label)
            continue
        channels.append((_unique(page.label.replace(" ", "_"), used), page, values, raw))
    truncated = _truncation_note(info, missing)
    if not channels:
        raise FormatError(
            f"{path}: no measured spectra, every spectroscopy page is all zeros or not in the "
            f"file ({', '.join(empty + missing)}){truncated}"
        )
    dim, sweep, sweep_attrs = _sweep(first, own_sweep)
    if dim == "bias":
        _rules.check_sweep(path, sweep, sweep_attrs["units"])
    positions = _sm4_layout.spec_positions(data, first, path)
    ny, nx, per_position = _arrangement(first.header, positions, n_spectra, path)
    if positions is None and nx * ny == n_spectra > 1 and ny == 1:
        warnings.warn(
            f"{path}: the file records no tip positions (no spec-drift data) and no grid size; "
            f"its {n_spectra} spectra open as a line of {n_spectra} pixels, though they may be "
            "sweeps at one spot (a damaged page header loses the positions)",
            stacklevel=2,
        )
    n_slots = nx * ny * per_position
    _rules.check_allocation(
        path,
        8 * n_slots * n_points * (len(channels) + 1),
        len(data),
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
    reverse = per_position % 2 == 0 and _backward_reversed(sweeps)
    if per_position % 2 == 0:
        backward = slice(None, None, -1) if reverse else slice(None)
        picks = [("", slice(0, None, 2), slice(None)), (" [bwd]", slice(1, None, 2), backward)]
    data_vars = {}
    for (name, page, *_), values in zip(channels, sweeps, strict=True):
        for suffix, pick, order in picks:
            attrs = {"units": page.strings.get("z_units", "").strip(), "channel": page.label}
            attrs["channel"] += suffix
            mean = values[:, :, pick, order].mean(axis=2).astype(np.float32)
            data_vars[name + suffix] = (("y", "x", dim), mean, attrs)
    complete = np.zeros(n_slots, dtype=bool)
    complete[:n_spectra] = stop == n_points
    valid = complete.reshape(ny, nx, per_position).all(axis=2)
    valid &= np.logical_and.reduce([np.isfinite(v).all(axis=(2, 3)) for v in sweeps])
    if positions is not None:
        measured = np.where((stop > 0)[:, None], positions, np.nan)
        spots = arranged(measured, 2)[:, :, 0]
        for k, name in enumerate(("X (m)", "Y (m)")):
            data_vars[name] = (
                ("y", "x"),
                spots[..., k],
                {"units": "m", "long_name": "tip " + name},
            )
    data_vars["valid"] = (("y", "x"), valid, {"long_name": "every sweep complete"})
    file_angle = _file_angle(spectral, pages)
    attrs = _header_attrs(info, first, per_position, file_angle)
    attrs.update(_sm4_layout.settings(data, first, path))
    if per_position % 2 == 0:
        attrs["backward_sweeps_reversed"] = int(reverse)
    attrs["channels"] = ";".join(page.label for _, page, *_ in channels)
    images = [
        f"{page.label} ({_SCAN_DIRECTIONS.get(page.header['scan_direction'], '?')})"
        for page in pages
        if page.data_type == IMAGE
    ]
    attrs["missing_bytes"] = int(info["missing_bytes"])
    for key, labels in (
        ("empty_channels", empty),
        ("missing_channels", missing),
        ("image_pages", images),
    ):
        if labels:
            attrs[key] = ";".join(labels)
    if others:
        attrs["other_spectral_pages"] = ";".join(others)
    n_bad = int((~valid).sum())
    if n_bad:
        n_in_file = min(_sm4_layout.stored_spectra(data, page) for _, page, *_ in channels)
        n_short = int(np.sum(stop[:n_in_file] < n_points))
        message = (
            f"{path}: aborted grid, {n_bad} of {valid.size} spectra incomplete ({n_in_file} of "
            f"{n_slots} sweeps in the file, {n_short} of them cut short"
            f"{completeness.note(n_points)}{truncated}); their missing points are NaN and the "
            "pixels are marked invalid"
        )
        _rules.warn_or_raise(message, strict)
    elif truncated:
        warnings.warn(f"{path}: {truncated[2:]}; the spectra are complete", stacklevel=2)
    dataset = xr.Dataset(data_vars, coords={dim: (dim, sweep, sweep_attrs)}, attrs=attrs)
    frame = None
    if positions is not None:
        x_nm, y_nm = (dataset[name].values * _geometry.NM for name in ("X (m)", "Y (m)"))
        frame = _frame(x_nm, y_nm, file_angle)
    dataset = _geometry.scan_geometry(dataset, frame)
    dataset.encoding["source"] = str(path)
    return dataset
