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
Attrs ``sweeps_per_position`` and ``sweep_directions`` say which was done
(:mod:`stswidgets.io.rhk.grid`). Point spectroscopy, repeats at one spot and lines (no grid
size in the header: 0, or -1 stored as ``0xFFFFFFFF``) open as *spectra* (dims ``spectrum``,
``bias``) with their recorded positions and ``geometry``, every sweep kept unless the data
show that the sweeps alternate direction (:mod:`stswidgets.io.rhk.points`,
:mod:`stswidgets.io.rhk.sweeps`).

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

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.rhk import grid as _grid
from stswidgets.io.rhk import layout as _sm4_layout
from stswidgets.io.rhk import points as _points
from stswidgets.io.rhk.layout import IMAGE, LINE

__all__ = ["looks_like", "read_sm4"]

FORMAT_NAME = "RHK SM4"
SPECTRUM_LINE_TYPES = {7: "I-V spectrum", 8: "I-Z spectrum", 13: "renormalized I-V", 22: "discrete"}
_SCAN_DIRECTIONS = {0: "right", 1: "left", 2: "up", 3: "down"}
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


def _file_angle(spectral: list, pages: list) -> float | None:
    """The scan angle the file records (RHK: counter-clockwise, degrees), None if none."""
    for page in spectral + [page for page in pages if page.data_type == IMAGE]:
        if page.header["angle"] != 0:
            return float(np.float32(page.header["angle"]))
    return None


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


def _header_attrs(info: dict, first, file_angle) -> dict:
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
    attrs["setpoint_bias_mV"] = float(str(np.float32(header["bias"] * 1e3)))
    attrs["grid_x_size"], attrs["grid_y_size"] = header["grid_x_size"], header["grid_y_size"]
    attrs["n_spectra"] = int(header["y_size"])
    attrs["rhk_angle_deg"] = float(file_angle or 0.0)
    return attrs


def _file_attrs(info, data, path, pages, channels, empty, missing, others) -> dict:
    """Attrs of the whole file: header, lock-in settings, channels read and left out."""
    spectral = [page for _, page, *_ in channels]
    attrs = _header_attrs(info, spectral[0], _file_angle(spectral, pages))
    attrs.update(_sm4_layout.settings(data, spectral[0], path))
    attrs["channels"] = ";".join(page.label for page in spectral)
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
        ("other_spectral_pages", others),
    ):
        if labels:
            attrs[key] = ";".join(labels)
    return attrs


def _positions(data: bytes, spectral: list, path) -> np.ndarray | None:
    """The tip positions of the spectra: the first page's spec-drift data, else any page's
    (the pages of one measurement share them; a damaged object list loses one page's)."""
    for page in spectral:
        positions = _sm4_layout.spec_positions(data, page, path)
        if positions is not None:
            return positions
    return None


def _check_pages_agree(spectral: list, path) -> None:
    """Warn where the spectrum pages of one measurement list different object counts (a
    damaged page header loses the objects after its count: positions, settings)."""
    counts = {page.label: page.header["object_count"] for page in spectral}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{label}: {count}" for label, count in counts.items())
        warnings.warn(
            f"{path}: the spectrum pages list different numbers of objects ({listed}); a page "
            "header's object count is damaged, and the objects it no longer lists (tip "
            "positions, lock-in settings) are taken from the other pages",
            stacklevel=3,
        )


def read_sm4(path: str | Path, strict: bool = False, sweeps: str = "auto") -> xr.Dataset:
    """Read the spectroscopy grid, or the point spectra, repeats or line, of an RHK SM4 file.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.sm4`` file.
    strict : bool
        Raise :class:`FormatError` for an aborted grid or incomplete spectra instead of
        warning.
    sweeps : {"auto", "alternating", "repeats"}
        Spectra that are not on a grid: whether two sweeps at a spot are forward and backward
        (``"alternating"``) or repeats; ``"auto"`` decides from the data
        (:mod:`stswidgets.io.rhk.sweeps`). Grids always take an even number of sweeps per
        position as alternating (module docstring).

    Returns
    -------
    xarray.Dataset
        **A grid** (the page header records a grid size):

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
          ``date``, ``time``, ``bias_V``, ``setpoint_A``, ``setpoint_bias_mV``, ``period_s``,
          ``grid_x_size``, ...), ``sweeps_per_position``, ``sweep_directions``,
          ``rhk_angle_deg`` (the file's angle, counter-clockwise), ``channels`` and, where
          any, ``empty_channels`` (pages all zero, left out), ``image_pages`` and
          ``other_spectral_pages`` (not read); the scan geometry
          :data:`stswidgets.io._geometry.GEOMETRY_ATTRS` (``scan_angle_deg`` is clockwise,
          minus the file's angle). ``encoding["source"]`` is the path.

        **Spectra that are not on a grid** (grid size 0 or -1; see
        :mod:`stswidgets.io.rhk.points`): the same channels with dims ``("spectrum", "bias")``
        (float64, NaN where not measured), ``valid`` ``("spectrum",)``, coordinates ``x``,
        ``y`` (nm) and ``repetition`` along ``spectrum``, and the same header attrs plus
        ``geometry`` (``"points"``, ``"line"`` or ``"repeats"``), ``source``, ``n_spots``,
        ``sweep_directions`` and ``sweep_decision``.

    Raises
    ------
    FormatError
        No SM4 signature, a file structure (headers, object lists) cut by the end of the file,
        no whole spectrum in it, page data of the wrong size, no spectroscopy page, spectra
        that do not fit the header's grid (or an implausibly large grid), or an aborted grid
        or incomplete spectra (also a truncated file missing spectra) with ``strict=True``.

    Warns
    -----
    UserWarning
        For an aborted grid or aborted spectra: they are NaN and marked invalid. A truncated
        file keeps the whole spectra it holds (the rest NaN and invalid; pages with none are
        listed in ``missing_channels``, the bytes missing in ``missing_bytes``), or only warns
        when the cut misses the spectra (thumbnails at the end). Counts that disagree with
        the file (pages, objects, spectra x points against the page's data) are named.
    """
    path = Path(path)
    data = path.read_bytes()
    info, pages = _sm4_layout.read_pages(data, path)
    spectral, others = _spectral_pages(pages, path, _truncation_note(info, []))
    first = spectral[0]
    used = {"x", "y", "valid", "X (m)", "Y (m)", "spectrum", "repetition"}
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
    _check_pages_agree(spectral, path)
    if first.header["x_size"] < 2:
        raise FormatError(
            f"{path}: page {first.number} ({first.label}) records {first.header['x_size']} "
            "point(s) per spectrum; a spectrum needs at least 2 (the page header is damaged)"
        )
    sweep = _sweep(first, own_sweep)
    if sweep[0] == "bias":
        _rules.check_sweep(path, sweep[1], sweep[2]["units"])
    positions = _positions(data, spectral, path)
    attrs = _file_attrs(info, data, path, pages, channels, empty, missing, others)
    n_in_file = min(_sm4_layout.stored_spectra(data, page) for _, page, *_ in channels)
    n_in_file = min(n_in_file, first.header["y_size"])
    if not _points.is_grid(first.header):
        _rules.check_allocation(
            path,
            8 * first.header["y_size"] * first.header["x_size"] * (2 * len(channels) + 1),
            len(data),
            f"{first.header['y_size']} spectra x {first.header['x_size']} points",
        )
        return _points.spectra_dataset(
            path,
            channels,
            positions,
            sweep,
            attrs,
            n_in_file=n_in_file,
            truncated=truncated,
            sweeps=sweeps,
            strict=strict,
        )
    return _grid.grid_dataset(path, channels, positions, sweep, attrs, n_in_file, truncated, strict)
