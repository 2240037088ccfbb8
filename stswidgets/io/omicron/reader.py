"""Reading Omicron MATRIX spectroscopy exported as Igor binary waves (``.ibw``): :func:`read_ibw`.

MATRIX's IGOR exporter writes one channel per file (``I(V)``, ``dI/dV`` ...) as one wave:
a CITS grid as a 3D wave ``(x, y, V)``, a line or a set of curves as 2D, one curve as 1D.
The wave is parsed by ``igor2`` (already a dependency, light, and it reads every version);
this module adds what the toolkit needs around it:

- **recognising the file** (:func:`looks_like`): an IBW has a weak magic, a 16-bit version
  (1, 2, 3 or 5, in either byte order); it must also carry a valid header checksum (the 16-bit
  sum of the bin and wave headers is 0) and sizes that fit, which no text header or other
  vendor's binary layout does by chance;
- **axes** from the wave header: dimension ``k`` runs ``sfB[k] + i sfA[k]`` in
  ``dimUnits[k]`` (v5; ``hsA``/``hsB``/``xUnits`` for the one dimension of v1-v3). Igor
  stores x fastest and igor2 returns ``(x, y, ...)``. The **bias** dimension is the one in
  ``V`` (or ``mV``); without a voltage unit it is the last of a 3D wave (the CITS layout)
  and the first of a 1D/2D wave (one curve per column, Igor's layout). The other dimensions
  are x then y; in ``m`` they give x/y in nm (and the per-pixel ``X (m)``/``Y (m)``), without
  a unit they are pixel indices. The exporter stores ``sfA``/``sfB`` with float32 precision
  (``-0.49999998`` V), so a bias in V is rounded to 0.1 uV;
- **the wave note** (MATRIX parameters, ``key = value`` items on ``\\r``-separated lines) goes
  into ``attrs`` (``"note: <key>"`` and the whole ``note``). ``Spectroscopy points per line``
  and ``Lines per plane`` give the configured grid: positions the wave lacks (lines the
  exporter stripped, or a grid stopped early) are NaN and invalid; ``Channel name and data
  unit: I(V) [A]`` names the variable; a wave name ending in ``Retrace`` is the backward sweep
  (``"I(V) [bwd]"``);
- **incomplete spectra**: the completeness rule of :mod:`stswidgets.io._rules`, applied at
  both ends of each curve (a run of exact zeros at either end, non-finite values, all zeros)
  marks the unmeasured part NaN and the pixel invalid. A wave of nothing but zeros (an empty
  channel) is no data: FormatError.
"""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _geometry, _rules
from stswidgets.io.errors import FormatError

__all__ = ["looks_like", "read_ibw"]

FORMAT_NAME = "Omicron MATRIX CITS (Igor wave)"
# bytes covered by the header checksum: bin header + wave header up to the data
_CHECKSUM_BYTES = {1: 8 + 110, 2: 16 + 110, 3: 20 + 110, 5: 64 + 320}
_WAVE_HEADER5 = 320
_N_DIM_AT = 68  # nDim[4] (int32) in the version-5 wave header
_TYPES = {2: 4, 3: 8, 4: 8, 5: 16, 8: 1, 0x10: 2, 0x20: 4, 0x48: 1, 0x50: 2, 0x60: 4}
_LENGTH_TO_NM = {"m": 1e9, "um": 1e3, "nm": 1.0, "pm": 1e-3}
_BIAS_UNITS = ("V", "mV")
# MATRIX wave names: "<channel> <run>-<cycle> <Forward|Backward> <Up|Down> <Trace|Retrace>"
_MATRIX_NAME = re.compile(r"(.+?)\s+\d+-\d+\s+(?:forward|backward)\b.*$", re.IGNORECASE)


def _version(head: bytes) -> tuple[int, str] | None:
    """``(version, byte order)`` of an IBW header, None when the first bytes are no version."""
    if len(head) < 2:
        return None
    for order in "<>":
        version = struct.unpack(order + "h", head[:2])[0]
        if version in _CHECKSUM_BYTES:
            return version, order
    return None


def _checksum_ok(head: bytes, version: int, order: str) -> bool:
    size = _CHECKSUM_BYTES[version]
    if len(head) < size:
        return False
    words = np.frombuffer(head[:size], dtype=order + "i2").astype(np.int64)
    return int(words.sum()) % 65536 == 0


def _v5_sizes(head: bytes, order: str) -> tuple[int, int, int, int]:
    """``(wfmSize, npnts, type, bytes after the wave data)`` of a version-5 header."""
    fields = struct.unpack(order + "hhiiiiiiiiiiiiiii", head[:64])
    wfm_size, formula, note = fields[2], fields[3], fields[4]
    extra = formula + note + sum(fields[5:14])
    npnts, wave_type = struct.unpack_from(order + "ih", head, 64 + 12)
    return wfm_size, npnts, wave_type, extra


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is an Igor binary wave (version 1, 2, 3 or 5)."""
    found = _version(head)
    if found is None or not _checksum_ok(head, *found):
        return False
    version, order = found
    if version != 5:
        return struct.unpack_from(order + "i", head, 2)[0] > 0  # wfmSize
    wfm_size, npnts, wave_type, _ = _v5_sizes(head, order)
    item = _TYPES.get(wave_type & ~0x01 if wave_type & 0x01 else wave_type, 0)
    return npnts >= 0 and item > 0 and wfm_size >= _WAVE_HEADER5 + npnts * item


def _check(data: bytes, path) -> int:
    found = _version(data)
    if found is None:
        raise FormatError(f"{path}: not an Igor binary wave (first bytes are no version 1-5)")
    version, order = found
    if not _checksum_ok(data, version, order):
        raise FormatError(
            f"{path}: Igor binary wave header checksum is wrong or the header is cut off "
            f"({len(data)} bytes); the file is damaged"
        )
    if version == 5:
        wfm_size, npnts, wave_type, extra = _v5_sizes(data, order)
        needed = 64 + wfm_size + extra
        item = _TYPES.get(wave_type & ~0x01 if wave_type & 0x01 else wave_type, 0)
        if item == 0 or wfm_size < _WAVE_HEADER5 + npnts * item * (2 if wave_type & 1 else 1):
            raise FormatError(f"{path}: wave type {wave_type} / size {wfm_size} is not readable")
        if len(data) < needed:
            raise FormatError(
                f"{path}: file is {len(data)} bytes but its Igor header announces {needed} "
                f"({npnts} values, note and units); the file is truncated"
            )
        dims = [n for n in struct.unpack_from(order + "4i", data, 64 + _N_DIM_AT) if n > 0]
        if dims and (min(dims) < 0 or int(np.prod(dims)) != npnts):
            raise FormatError(
                f"{path}: the wave's dimensions {' x '.join(map(str, dims))} do not hold its "
                f"{npnts} values; the header is damaged"
            )
    return version


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.split(b"\x00")[0].decode("latin-1").strip()
    if isinstance(value, np.ndarray):
        return "".join(_text(item) for item in np.ravel(value))
    return str(value).strip()


def _axes(wave: dict, version: int, n_dims: int) -> tuple[list, list, list, str]:
    """Per dimension: offsets ``sfB``, steps ``sfA``, units; and the data units."""
    header = wave["wave_header"]
    if version == 5:
        extended = [_text(unit) for unit in np.atleast_1d(wave.get("dimension_units", []))]
        units = [_text(unit) for unit in header["dimUnits"][:n_dims]]
        units = [u or (extended[k] if k < len(extended) else "") for k, u in enumerate(units)]
        data_units = _text(header["dataUnits"]) or _text(wave.get("data_units", b""))
        return list(header["sfB"][:n_dims]), list(header["sfA"][:n_dims]), units, data_units
    return [header["hsB"]], [header["hsA"]], [_text(header["xUnits"])], _text(header["dataUnits"])


def parse_note(note: str) -> dict:
    """MATRIX wave-note items ``key = value`` (``key: value``) as ``{"note: key": value}``."""
    attrs = {}
    for line in re.split(r"[\r\n]+", note):
        for item in line.split(", "):
            key, sep, value = item.partition(" = ")
            if not sep:
                key, sep, value = item.partition(": ")
            if sep and key.strip():
                text = value.strip()
                try:
                    attrs[f"note: {key.strip()}"] = (
                        float(text) if "." in text or "e" in text else int(text)
                    )
                except ValueError:
                    attrs[f"note: {key.strip()}"] = text
    return attrs


def _note_int(attrs: dict, key: str) -> int | None:
    value = attrs.get(f"note: {key}")
    return value if isinstance(value, int) and value > 0 else None


def _incomplete(curves: np.ndarray) -> tuple[np.ndarray, str]:
    """Curves ``(..., n)`` with their unmeasured parts NaN, by the completeness rule of
    :mod:`stswidgets.io._rules` applied at both ends of the curves; and words on the zero
    runs for the message."""
    n = curves.shape[-1]
    flat = curves.reshape(-1, n)
    at_end = _rules.measured_points([flat])
    at_start = _rules.measured_points([flat], from_start=True)
    index = np.arange(n)
    keep = (index[None, :] < at_end.points[:, None]) & (
        index[None, :] >= (n - at_start.points)[:, None]
    )
    note = at_end.note(n) + at_start.note(n).replace("end in", "start with")
    return np.where(keep, flat, np.nan).reshape(curves.shape), note


def read_ibw(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read an Omicron MATRIX spectroscopy wave (CITS grid, line, curves or one curve).

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.ibw`` file (Igor binary wave, version 1, 2, 3 or 5).
    strict : bool
        Raise :class:`FormatError` for incomplete spectra or missing grid positions instead of
        warning.

    Returns
    -------
    xarray.Dataset
        - one float32 variable ``(y, x, bias)`` named after the channel (``"I(V)"``, or
          ``"I(V) [bwd]"`` for a ``Retrace`` wave), ``attrs`` ``units`` and ``channel``;
        - ``X (m)``, ``Y (m)`` ``(y, x)`` where the wave's spatial dimensions are lengths;
        - ``valid``: bool ``(y, x)``, True where the spectrum is complete;
        - coordinates ``bias`` (the wave's voltage scaling, its unit and order), ``x``/``y``
          in nm (ascending) or pixel indices; a 1D/2D wave opens as ``ny = 1``;
        - ``attrs``: the wave note (``note`` and ``"note: <key>"``), ``wave_name``,
          ``igor_version``, ``configured_grid`` (``"nx x ny"``), ``n_missing_positions``,
          ``vendor``, ``format`` and the ``scan_*`` geometry.

    Raises
    ------
    FormatError
        Not an Igor binary wave, a damaged or truncated file, a wave with no values or more
        than three dimensions, a bias scaling that is not finite, beyond 100 V or constant, a
        note's grid far beyond the file's size, or (``strict=True``) incomplete spectra.

    Warns
    -----
    UserWarning
        Incomplete spectra or positions of the configured grid missing from the wave.
    """
    from igor2 import binarywave

    path = Path(path)
    data = path.read_bytes()
    version = _check(data, path)
    try:
        wave = binarywave.load(io.BytesIO(data))["wave"]
    except Exception as error:  # igor2 raises struct/numpy errors on damaged content
        raise FormatError(f"{path}: igor2 cannot parse the wave ({error})") from None
    values = np.asarray(wave["wData"])
    if values.size == 0 or values.ndim > 3 or not np.issubdtype(values.dtype, np.number):
        raise FormatError(
            f"{path}: wave of shape {values.shape} ({values.dtype}); expected 1 to 3 numeric "
            "dimensions (a curve, a line or a CITS grid)"
        )
    if np.iscomplexobj(values):
        raise FormatError(f"{path}: complex wave; expected real spectra")
    if not np.any(values[np.isfinite(values)]):
        raise FormatError(f"{path}: the wave holds only zeros/NaN (an empty channel), no spectra")
    offsets, steps, units, data_units = _axes(wave, version, values.ndim)
    volts = [k for k, unit in enumerate(units) if unit in _BIAS_UNITS]
    bias_dim = volts[0] if len(volts) == 1 else (2 if values.ndim == 3 else 0)
    spatial = [k for k in range(values.ndim) if k != bias_dim]
    values = np.moveaxis(values, bias_dim, -1).astype(np.float64)
    values = values.reshape(*values.shape[:-1], *([1] * (3 - values.ndim)), values.shape[-1])
    spatial = [*spatial, None, None][:2]
    values = values.transpose(1, 0, 2)  # (x, y, bias) -> (y, x, bias)

    note = _text(wave.get("note", b""))
    attrs = {"note": note, **parse_note(note)}
    wave_name = _text(wave["wave_header"]["bname"])
    nx_config = _note_int(attrs, "Spectroscopy points per line") or values.shape[1]
    ny_config = _note_int(attrs, "Lines per plane") or values.shape[0]
    if values.shape[2] < 1 or nx_config < values.shape[1] or ny_config < values.shape[0]:
        nx_config, ny_config = values.shape[1], values.shape[0]
    _rules.check_allocation(
        path,
        8 * 4 * nx_config * ny_config * values.shape[2],
        len(data),
        f"a grid of {nx_config} x {ny_config} spectra of {values.shape[2]} points (wave note)",
    )
    grid = np.full((ny_config, nx_config, values.shape[2]), np.nan)
    grid[: values.shape[0], : values.shape[1]], note = _incomplete(values)
    n_missing = nx_config * ny_config - values.shape[0] * values.shape[1]
    valid = np.isfinite(grid).all(axis=-1)
    n_bad = int((~valid).sum())
    if n_bad:
        message = (
            f"{path}: {n_bad} of {valid.size} spectra incomplete ({n_missing} positions of the "
            f"configured {nx_config} x {ny_config} grid not in the wave; the others cut off or "
            f"empty{note}); they are NaN and marked invalid"
        )
        _rules.warn_or_raise(message, strict)

    positions = {}
    for name, k, n in (("X (m)", spatial[0], nx_config), ("Y (m)", spatial[1], ny_config)):
        scale = _LENGTH_TO_NM.get(units[k], None) if k is not None else None
        if scale is not None:
            metres = (offsets[k] + steps[k] * np.arange(n)) * scale / _geometry.NM
            positions[name] = metres[None, :] if name == "X (m)" else metres[:, None]
    data_vars = {}
    if len(positions) == 2:
        for name, line in positions.items():
            data_vars[name] = (
                ("y", "x"),
                np.broadcast_to(line, valid.shape).copy(),
                {"units": "m"},
            )
    elif "X (m)" in positions and ny_config == 1:
        data_vars["X (m)"] = (("y", "x"), positions["X (m)"], {"units": "m"})
        data_vars["Y (m)"] = (("y", "x"), np.zeros((1, nx_config)), {"units": "m"})

    match = re.match(r"(.+?)\s*\[(.*)\]$", str(attrs.get("note: Channel name and data unit", "")))
    matrix_name = _MATRIX_NAME.match(wave_name)
    channel = match[1] if match else matrix_name[1] if matrix_name else wave_name or path.stem
    name = channel + (" [bwd]" if re.search(r"retrace\s*$", wave_name, re.IGNORECASE) else "")
    data_vars[name] = (
        ("y", "x", "bias"),
        grid.astype(np.float32),
        {"units": data_units or (match[2] if match else ""), "channel": channel},
    )
    data_vars["valid"] = (("y", "x"), valid, {"long_name": "complete spectrum in the wave"})
    bias = offsets[bias_dim] + steps[bias_dim] * np.arange(grid.shape[2])
    bias_unit = units[bias_dim] if units[bias_dim] in _BIAS_UNITS else "V"
    _rules.check_sweep(path, bias, bias_unit, "bias axis (wave scaling)")
    if bias_unit == "V":
        bias = np.round(bias, 7)
    angle = next((v for k, v in attrs.items() if re.search(r"angle|rotation", k, re.I)), 0.0)
    attrs.update(
        wave_name=wave_name,
        igor_version=version,
        configured_grid=f"{nx_config} x {ny_config}",
        n_missing_positions=int(n_missing),
        vendor="Omicron",
        format=FORMAT_NAME,
    )
    dataset = xr.Dataset(
        data_vars, coords={"bias": ("bias", bias, {"units": bias_unit})}, attrs=attrs
    )
    frame = None
    if "X (m)" in data_vars:
        x, y = (np.asarray(data_vars[k][1], dtype=float) * _geometry.NM for k in ("X (m)", "Y (m)"))
        frame = _geometry.ScanFrame(
            float(np.mean(x)),
            float(np.mean(y)),
            # the frame: pixel pitch times pixels (centres span one pitch less), as the note's Width
            float(np.ptp(x)) * nx_config / (nx_config - 1) if nx_config > 1 else np.nan,
            float(np.ptp(y)) * ny_config / (ny_config - 1) if ny_config > 1 else np.nan,
            float(angle) if isinstance(angle, int | float) else 0.0,
        )
    dataset = _geometry.scan_geometry(dataset, frame)
    dataset.encoding["source"] = str(path)
    return dataset
