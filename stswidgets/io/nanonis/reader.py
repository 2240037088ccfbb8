"""Reading Nanonis grid spectroscopy files (``.3ds``): :func:`read_3ds`.

A ``.3ds`` file is a text header (``key=value`` lines, CRLF, up to ``:HEADER_END:``) followed by
big-endian float32 values, pixel after pixel (x fastest, row 0 first). Each pixel holds its
parameters (``# Parameters (4 byte)``: the fixed ``Sweep Start;Sweep End`` and the experiment
parameters such as ``X (m)``, ``Y (m)``, ``Z (m)``), then ``Points`` values of each channel in
turn. Pixels never measured hold NaN; an aborted grid ends after its last complete pixel, and
a grid still being measured (or a copy taken meanwhile) may end inside a pixel: both load their
complete pixels (:mod:`stswidgets.io.nanonis.pixels` tells them from damaged files).

The sweep axis is ``linspace(Sweep Start, Sweep End, Points)`` for ``Filetype=Linear`` (also
when the key is missing, as in older files). For ``Filetype=MLS`` it comes from the MultiLine
segment table (``Segment Start (V), Segment End (V), Settling (s), Integration (s), Steps (xn),
...``): segments separated by ``;``, each ``linspace(start, end, steps)``; consecutive segments
share their boundary point, so the sweep has ``sum(steps) - (n_segments - 1)`` points (files
whose ``Points`` equal ``sum(steps)`` keep every point).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _geometry, _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.nanonis.header import HEADER_END, parse_header, split_list, split_unit
from stswidgets.io.nanonis.pixels import PixelStore

__all__ = [
    "SEGMENT_KEY",
    "STRUCTURE_KEYS",
    "header_line_end",
    "incomplete_message",
    "looks_like",
    "mls_sweep",
    "pixels_dataset",
    "read_3ds",
]

SEGMENT_KEY = (
    "Segment Start (V), Segment End (V), Settling (s), Integration (s), Steps (xn), "
    "Lockin, Init. Settling (s)"
)
_SEGMENT_MARK = "Segment Start (V)"
FIXED_PARAMETERS = ("Sweep Start", "Sweep End")
_MAX_PARAMETERS = 4096  # parameters per pixel beyond this: a damaged header
STRUCTURE_KEYS = (
    "Grid dim",
    "Grid settings",
    "Filetype",
    "Sweep Signal",
    "Fixed parameters",
    "Experiment parameters",
    "# Parameters (4 byte)",
    "Experiment size (bytes)",
    "Points",
    "Channels",
)


@dataclass(frozen=True)
class _Layout:
    """What the header says about the binary payload."""

    nx: int
    ny: int
    n_points: int
    params: list[str]
    channels: list[str]

    @property
    def pixel_values(self) -> int:
        return len(self.params) + len(self.channels) * self.n_points


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Nanonis grid file (``Grid dim=`` first)."""
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Grid dim=")


def _header_int(header: dict, key: str, path) -> int:
    if key not in header:
        raise FormatError(f"{path}: header has no {key!r} entry")
    try:
        value = int(str(header[key]).strip())
    except ValueError:
        raise FormatError(
            f"{path}: header entry {key}={header[key]!r} is not a whole number"
        ) from None
    if value < 0:
        raise FormatError(f"{path}: header entry {key}={value} is negative")
    return value


def _layout(header: dict, path, file_bytes: int, floor: int = _rules.ALLOCATION_FLOOR) -> _Layout:
    """The payload's layout, its size checked against the ``file_bytes`` the file holds
    (:func:`stswidgets.io._rules.check_allocation`, ``floor`` as it takes it)."""
    dims = str(header.get("Grid dim", "")).lower().split("x")
    try:
        nx, ny = (int(part) for part in dims)
    except ValueError:
        raise FormatError(
            f"{path}: header entry 'Grid dim'={header.get('Grid dim')!r} is not of the form "
            "'nx x ny'"
        ) from None
    n_points = _header_int(header, "Points", path)
    if nx < 1 or ny < 1 or n_points < 1:
        raise FormatError(
            f"{path}: grid of {nx} x {ny} pixels with {n_points} points per spectrum holds no "
            "data; expected at least one pixel and one point"
        )
    channels = split_list(header.get("Channels"))
    if not channels:
        raise FormatError(f"{path}: header entry 'Channels' lists no channel")
    n_params = _header_int(header, "# Parameters (4 byte)", path)
    if n_params > _MAX_PARAMETERS:
        raise FormatError(
            f"{path}: header entry '# Parameters (4 byte)'={n_params}; more than "
            f"{_MAX_PARAMETERS} parameters per pixel is no Nanonis grid (the header is damaged)"
        )
    _rules.check_allocation(
        path,
        4 * nx * ny * (n_params + len(channels) * n_points),
        file_bytes,
        f"a {nx} x {ny} grid of {n_params} parameters + {len(channels)} channels x "
        f"{n_points} points",
        floor,
    )
    params = split_list(header.get("Fixed parameters")) + split_list(
        header.get("Experiment parameters")
    )
    if len(params) > n_params:
        raise FormatError(
            f"{path}: header names {len(params)} parameters ({';'.join(params)}) but "
            f"'# Parameters (4 byte)'={n_params}"
        )
    params += [f"Parameter {i}" for i in range(len(params), n_params)]
    expected_size = 4 * n_points * len(channels)
    if "Experiment size (bytes)" in header:
        size = _header_int(header, "Experiment size (bytes)", path)
        if size != expected_size:
            raise FormatError(
                f"{path}: 'Experiment size (bytes)'={size} but {len(channels)} channels x "
                f"{n_points} points x 4 bytes = {expected_size}"
            )
    return _Layout(nx, ny, n_points, params, channels)


def mls_sweep(table: str, n_points: int, path="<header>") -> np.ndarray:
    """Sweep values of a MultiLine segment table (see the module docstring).

    Parameters
    ----------
    table : str
        ``start,end,settling,integration,steps[,...];...`` as in the header.
    n_points : int
        ``Points`` of the header, which decides whether boundary points are shared.

    Returns
    -------
    numpy.ndarray, shape ``(n_points,)``, in the segment table's units (V).
    """
    try:
        rows = [[float(field) for field in segment.split(",")] for segment in split_list(table)]
        segments = [(row[0], row[1], int(round(row[4]))) for row in rows]
    except (ValueError, IndexError):
        raise FormatError(
            f"{path}: MultiLine segment table {table!r} is not a ';'-separated list of "
            "'start,end,settling,integration,steps' numbers"
        ) from None
    if not segments or any(steps < 1 for _, _, steps in segments):
        raise FormatError(f"{path}: MultiLine segment table {table!r} holds no points")
    ramps = [np.linspace(start, end, steps) for start, end, steps in segments]
    total = sum(ramp.size for ramp in ramps)
    if n_points == total - (len(ramps) - 1):
        return np.concatenate([ramps[0], *(ramp[1:] for ramp in ramps[1:])])
    if n_points == total:
        return np.concatenate(ramps)
    raise FormatError(
        f"{path}: MultiLine segment table gives {total - (len(ramps) - 1)} points "
        f"({total} without shared boundaries) but the header says Points={n_points}"
    )


def _segment_table(header: dict) -> tuple[str, str] | None:
    keys = [key for key in header if _SEGMENT_MARK in key]
    keys.sort(key=lambda key: ">" in key)  # the grid's own table before module settings
    return (keys[0], str(header[keys[0]])) if keys else None


def _float32_decimal(value) -> float:
    """The shortest decimal that identifies a float32 value (``-0.22``, not ``-0.2199999988``)."""
    return float(str(np.float32(value)))


def _sweep_values(header: dict, layout: _Layout, params: np.ndarray, path) -> np.ndarray:
    """Sweep coordinate in file units, in the file's order."""
    if str(header.get("Filetype", "Linear")).strip().upper() == "MLS":
        found = _segment_table(header)
        if found is None:
            raise FormatError(f"{path}: Filetype=MLS but the header has no segment table")
        return mls_sweep(found[1], layout.n_points, path)
    start = end = None
    if all(name in layout.params for name in FIXED_PARAMETERS):
        ends = params[:, [layout.params.index(name) for name in FIXED_PARAMETERS]]
        # pixels that swept (NaN: not measured; start = end = 0: zeroed by damage)
        measured = np.isfinite(ends).all(axis=1)
        finite = np.flatnonzero(measured & (ends[:, 0] != ends[:, 1]))
        finite = finite if finite.size else np.flatnonzero(measured)
        if finite.size:
            start, end = (_float32_decimal(value) for value in ends[finite[0]])
            spread = np.ptp(ends[finite], axis=0)
            if np.any(spread > 1e-6 * max(abs(end - start), 1e-30)):
                warnings.warn(
                    f"{path}: the sweep range differs between pixels; the sweep coordinate "
                    f"uses the first measured pixel's ({start:g} .. {end:g})",
                    stacklevel=4,
                )
    if start is None:
        found = {key.rsplit(">", 1)[-1].split(" (")[0]: header[key] for key in header}
        start, end = found.get("Sweep Start"), found.get("Sweep End")
        if not all(isinstance(value, int | float) for value in (start, end)):
            raise FormatError(
                f"{path}: no measured pixel gives the sweep range (Sweep Start/Sweep End) "
                "and the header does not record it either"
            )
    return np.linspace(start, end, layout.n_points)


def _unique_name(candidates: list[str], used: set[str]) -> str:
    for name in candidates:
        if name and name not in used:
            break
    else:
        name, i = candidates[-1], 2
        while f"{candidates[-1]} {i}" in used:
            i += 1
        name = f"{candidates[-1]} {i}"
    used.add(name)
    return name


def read_3ds(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read a Nanonis grid spectroscopy file.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.3ds`` file.
    strict : bool
        Raise :class:`FormatError` for an aborted grid instead of warning.

    Returns
    -------
    xarray.Dataset
        - one float32 variable per channel, dims ``(y, x, bias)`` (or ``(y, x, <sweep>)`` named
          after the sweep signal without its unit, e.g. ``Z``, when the sweep is not the bias),
          named after the channel without its unit (``"LockinX"``, ``"Current [bwd]"``), with
          ``attrs`` ``units`` and ``channel`` (the full name, ``"LockinX (V)"``);
        - one float32 ``(y, x)`` variable per pixel parameter, named as in the file
          (``"Sweep Start"``, ``"X (m)"``, ``"Z (m)"``, ...);
        - ``valid``: bool ``(y, x)``, True where the pixel is in the file and every channel
          value is finite;
        - pixels in raster order (a serpentine scan, detected from the per-pixel ``X (m)``/
          ``Y (m)``, has its odd rows reversed back), coordinates ``x``, ``y`` in nm, unique and
          ascending (see :mod:`stswidgets.io._geometry`: absolute positions for an unrotated
          grid, offsets from the grid centre along the grid axes for a rotated one) and the sweep
          in the file's units (V for bias) and order (not sorted);
        - ``attrs``: every header entry, keys as in the file, values ``int``/``float`` where
          they are numbers, else strings without their quotes; plus the scan geometry
          ``scan_angle_deg``, ``scan_center_x_nm``, ``scan_center_y_nm``, ``scan_width_nm``,
          ``scan_height_nm`` and ``scan_pattern`` (``"raster"``/``"serpentine"``).
          ``encoding["source"]`` is the path.

        Amplifier saturation (e.g. a lock-in output stuck at 10 V) is data and is kept.
        Some header keys (``# Parameters (4 byte)``, ``Scan>pixels/line``) are no valid
        netCDF-3 attribute names: clear or rename ``attrs`` before ``to_netcdf``, or save the
        grid with :func:`stswidgets.io.save_grid`.

    Raises
    ------
    FormatError
        Missing ``:HEADER_END:``, unreadable or inconsistent header entries, a file the data
        show to be damaged (see :mod:`stswidgets.io.nanonis.pixels`: a payload larger than the
        header allows, a text-mode copy, tip positions far off the scan frame), or, with
        ``strict=True``, a grid with missing pixels.

    Warns
    -----
    UserWarning
        For a grid with missing pixels (aborted, or still being measured: the file may end
        inside a pixel): the complete pixels are loaded, the rest are NaN and invalid.
    """
    path = Path(path)
    data = path.read_bytes()
    header, offset = parse_header(data, path)
    layout = _layout(header, path, len(data))
    store = PixelStore(layout, header, path, line_end=header_line_end(data, offset))
    store.feed(data, offset)
    dataset = pixels_dataset(header, layout, store, path)
    n_invalid = int((~dataset["valid"].values).sum())
    if n_invalid:
        _rules.warn_or_raise(incomplete_message(store, n_invalid), strict)
    return dataset


def header_line_end(data: bytes, offset: int) -> bytes:
    """The bytes between ``:HEADER_END:`` and the payload at ``offset`` (its line end)."""
    return data[data.rfind(HEADER_END, 0, offset) + len(HEADER_END) : offset]


def incomplete_message(store: PixelStore, n_invalid: int | None = None) -> str:
    """What the warning of a grid with missing or incomplete pixels says (``n_invalid``: the
    pixels invalid in all, by default those missing from the file)."""
    n_done, n_pixels = store.n_done, store.n_pixels
    n_missing = n_pixels - n_done
    n_invalid = n_missing if n_invalid is None else n_invalid
    inside = (
        f" (it ends {store.partial_bytes} bytes into pixel {n_done + 1}, of "
        f"{store.pixel_bytes} bytes: a grid still being measured, or a copy taken meanwhile)"
        if store.partial_bytes
        else ""
    )
    found = getattr(store, "completeness", None)
    note = found.note(store.layout.n_points) if found is not None else ""
    in_file = n_invalid - n_missing
    incomplete = (
        f"{in_file} of the pixels in the file are incomplete (NaN: not measured; or cut "
        f"short{note}) and marked invalid"
    )
    if not n_missing:
        return f"{store.path}: {incomplete}"
    return (
        f"{store.path}: aborted grid or one still being measured, only {n_done} of "
        f"{n_pixels} pixels are in the file{inside}; the {n_missing} missing pixels are NaN "
        "and marked invalid" + (f"; {incomplete}" if in_file else "")
    )


def pixels_dataset(header: dict, layout: _Layout, store: PixelStore, path) -> xr.Dataset:
    """The Dataset :func:`read_3ds` returns, from the pixels of ``store`` (NaN where missing).

    The channel and parameter variables share memory with ``store``.
    """
    n_params, n_points = len(layout.params), layout.n_points
    params, spectra = store.params, store.spectra
    signal = str(header.get("Sweep Signal", "Bias (V)"))
    signal_name, signal_unit = split_unit(signal)
    sweep_dim = "bias" if signal_name.lower().startswith("bias") else (signal_name or "sweep")
    sweep = _sweep_values(header, layout, params, path)
    if sweep_dim == "bias":
        _rules.check_sweep(path, sweep, signal_unit, constant_ok=True)
    shape = (layout.ny, layout.nx)
    param_maps = params.T.reshape(n_params, *shape)

    used = {"x", "y", sweep_dim, "valid"}
    param_names = [_unique_name([param, f"{param} [parameter]"], used) for param in layout.params]
    data_vars = {}
    for k, channel in enumerate(layout.channels):
        name, unit = split_unit(channel)
        name = _unique_name([name, channel, f"{channel} [channel]"], used)
        data_vars[name] = (
            ("y", "x", sweep_dim),
            spectra[k].reshape(*shape, n_points),
            {"units": unit, "channel": channel},
        )
    for k, (param, name) in enumerate(zip(layout.params, param_names, strict=True)):
        unit = signal_unit if param in FIXED_PARAMETERS else split_unit(param)[1]
        data_vars[name] = (("y", "x"), param_maps[k], {"units": unit, "parameter": param})
    found = _rules.measured_points(list(spectra))  # NaN from where a spectrum stops
    for channel in spectra:
        _rules.blank_unmeasured(channel, found.points)
    store.completeness = found
    valid = (found.points == n_points).reshape(shape)
    data_vars["valid"] = (("y", "x"), valid, {"long_name": "pixel measured (all values finite)"})
    coords = {sweep_dim: (sweep_dim, sweep, {"units": signal_unit, "long_name": signal_name})}
    dataset = xr.Dataset(data_vars, coords=coords, attrs=dict(header))
    dataset = _geometry.scan_geometry(
        dataset, _geometry.frame_from_settings(header.get("Grid settings"))
    )
    dataset.encoding["source"] = str(path)
    return dataset
