"""Reading Createc vertical spectroscopy files (``.VERT``): :func:`read_vert`.

One point spectrum per file, as Createc's STMAFM writes it (checked against a real file,
``Createc2_210811.113827.L0001.VERT``, and the readers of the ``createc`` package and of
abekipnis/Kondo-Aalto):

- a **text header** (cp1252) opening with ``[ParVERT32]`` (``[ParVERT30]`` in older
  versions) and holding ``key=value`` lines (many written ``Name / Alias=value``), padded with
  NUL bytes up to a line ``DATA``; parsed by
  :func:`stswidgets.io.createc.companion.parse_header`, as the ``.specgrid.dat`` header;
- an **info line**: the number of samples, the tip position ``VertSpecPosX/Y`` in DAC units,
  the input channel mask, and in version 4 also the channel count, the output mask, the
  number of output columns and Createc's own position in nm;
- a **table**, one tab-separated row per sample: the sample index, the output columns (bias
  in mV, Z and, in newer versions, a third output: ``n_out`` of them, 2 where the info line
  does not say) and one column per input channel, named by the bits of the channel mask in
  Createc's Vertman order (:data:`stswidgets.io.createc.reader.CHANNEL_BITS`: current,
  lock-in X, ...). Values are raw ADC counts (units ``"ADC"``), as in ``.specgrid`` files.

The bias ramp is the header's ``Vpoint<k>.t`` / ``Vpoint<k>.V`` table (sample, mV): a
**settling hold** at the first bias (``t = 0 .. 20`` at +100 mV in the real file) before the
ramp is no sweep and is dropped (``attrs["n_settling_points"]``; the table is kept as
``attrs["vpoints_t"]`` / ``attrs["vpoints_mV"]``). A sweep that comes back over the same
biases gives ``[bwd]`` channels, as in grids.

The tip position in nm is ``-(OffsetX - VertSpecPosX)`` DAC units times the lateral
calibration :func:`~stswidgets.io.createc.companion.angstrom_per_dac` (the specgrid
companion's conversion and sign); it agrees with the nm values of the info line
(``attrs["createc_x_nm"]``, ``attrs["createc_y_nm"]``) to a few pm in the real file.

A file cut short keeps the samples it holds, the rest NaN (the bias axis completed from the
``Vpoint`` table) with a warning naming the file; a damaged header or table raises
:class:`~stswidgets.io.errors.FormatError` naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _rules
from stswidgets.io.createc import companion as _header
from stswidgets.io.createc.reader import CHANNEL_BITS, _sweep
from stswidgets.io.errors import FormatError
from stswidgets.io.lockin import saturated_spectra

__all__ = ["looks_like", "read_vert"]

_MAGIC = re.compile(rb"\A\[ParVERT\d\d\]")
_DATA_LINE = re.compile(rb"(?:\A|\n)\x00*DATA\r?\n")
_OUTPUT_NAMES = ("bias", "Z", "output 3", "output 4")
_MAX_SAMPLES = 1 << 24  # a declared sample count above this is no Createc header


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Createc ``.VERT`` file: its first line is
    ``[ParVERTnn]``."""
    return bool(_MAGIC.match(head))


def _split(data: bytes, path: Path) -> tuple[dict, list[float], list[bytes]]:
    """Header entries, info-line numbers and table rows of a ``.VERT`` file."""
    if not looks_like(data):
        raise FormatError(f"{path}: not a Createc .VERT file (no [ParVERTnn] first line)")
    marker = _DATA_LINE.search(data)
    if marker is None:
        raise FormatError(
            f"{path}: truncated or damaged Createc .VERT file: no DATA line ends the header"
        )
    text = data[: marker.start()].replace(b"\x00", b"").decode("cp1252", errors="replace")
    header = _header.parse_header(text)
    info_line, _, table = data[marker.end() :].partition(b"\n")
    try:
        info = [float(v) for v in info_line.replace(b",", b".").split()]
    except ValueError:
        info = []
    if len(info) < 4 or not all(np.isfinite(info)):
        raise FormatError(
            f"{path}: the line after DATA is no Createc spectrum info line (samples, "
            f"position X and Y in DAC units, channel mask): {info_line[:80]!r}"
        )
    rows = [row.strip() for row in table.split(b"\n")]
    while rows and not rows[-1]:
        rows.pop()
    return header, info, rows


def _table(rows: list[bytes], n_columns: int, path: Path) -> np.ndarray:
    """The table rows as floats ``(n_rows, n_columns)``; a last row cut inside is dropped,
    any other row that is not ``n_columns`` numbers is damage."""
    values = np.empty((len(rows), n_columns))
    for k, row in enumerate(rows):
        fields = row.replace(b",", b".").split()
        try:
            numbers = [float(field) for field in fields]
        except ValueError:
            numbers = []
        if len(numbers) != n_columns or not np.isfinite(numbers).all():
            if k == len(rows) - 1 and len(numbers) < n_columns:
                return values[:k]  # the file ends inside its last row
            raise FormatError(
                f"{path}: row {k + 1} of the DATA table is not {n_columns} numbers "
                f"(sample index, outputs, channels): {row[:80]!r}; the file is damaged"
            )
        values[k] = numbers
    return values


def _vpoint_bias(header: dict, n_samples: int) -> np.ndarray | None:
    """Bias (mV) of each sample from the ``Vpoint`` ramp table (sample ``i`` is at the table's
    ``t = i + 1``, as the real file's bias column), None where the table does not cover it."""
    times, volts = _vpoints(header)
    if times.size < 2 or times[-1] < n_samples:
        return None
    return np.interp(np.arange(1, n_samples + 1), times, volts)


def _vpoints(header: dict) -> tuple[np.ndarray, np.ndarray]:
    """The ``Vpoint<k>.t`` / ``.V`` table up to its last increasing time."""
    times, volts = [], []
    for k in range(64):
        t, v = _header.lookup(header, f"Vpoint{k}.t"), _header.lookup(header, f"Vpoint{k}.V")
        if not isinstance(t, int | float) or not isinstance(v, int | float):
            break
        if times and t <= times[-1]:
            break
        times.append(float(t))
        volts.append(float(v))
    return np.array(times), np.array(volts)


def _channel_names(mask: int, n_channels: int) -> list[tuple[str, str]]:
    bits = [bit for bit in range(32) if mask >> bit & 1]
    if len(bits) == n_channels and bits and bits[-1] < len(CHANNEL_BITS):
        return [CHANNEL_BITS[bit] for bit in bits]
    names = [("Current", "Current")] + [(f"Channel {k}", f"Channel {k}") for k in range(1, 64)]
    return names[:n_channels]


def _position_nm(header: dict, info: list[float], axis: int) -> float:
    """Tip position (nm) along x (0) or y (1): ``-(offset - position)`` DAC units."""
    name = "xy"[axis]
    offset = _header.lookup(header, f"Scanrotoff{name}")
    offset = float(offset) if isinstance(offset, int | float) else 0.0
    per_dac = _header.angstrom_per_dac(header, name)
    return float(-(offset - info[1 + axis]) * per_dac / 10.0)


def read_vert(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read a Createc vertical spectroscopy file (``.VERT``): one point spectrum.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.VERT`` file.
    strict : bool
        Raise :class:`FormatError` for a spectrum cut short instead of warning.

    Returns
    -------
    xarray.Dataset
        The spectra reader Dataset (one spectrum):

        - one float variable per input channel, dims ``("spectrum", "bias")``, named by the
          channel mask (``"Current"``, ``"Lock-in X"``, ...), attrs ``units`` ``"ADC"``,
          ``long_name``, ``channel`` and ``n_clipped_spectra``; input channels that are 0.0
          everywhere are left out and named in ``attrs["empty_channels"]``; a sweep that
          returns over the same biases gives ``"<name> [bwd]"`` variables;
        - ``bias`` in mV in the file's sweep order, the settling hold dropped
          (``attrs["n_settling_points"]``);
        - along ``spectrum``: ``x``, ``y`` (nm, see the module docstring) and ``file`` (the
          file's name);
        - ``attrs``: ``geometry`` ``"points"``, ``source``, ``vendor`` ``"Createc"``,
          ``format`` ``"Createc vertical spectroscopy"``, ``setpoint_bias_mV``,
          ``setpoint_current_A``, ``n_samples`` (declared), ``n_settling_points``,
          ``vpoints_t``/``vpoints_mV``, ``position_dac_x/y``, ``createc_x_nm``/
          ``createc_y_nm`` (the info line's, NaN where absent), ``output_columns``,
          ``z_ramp``, ``empty_channels``, ``positions``, and the header as ``vert_<name>``.

    Raises
    ------
    FormatError
        No ``[ParVERTnn]`` header or no ``DATA`` line, an info line that is not numbers, a
        declared sample count beyond the file, a table row that is not numbers (a damaged
        byte), a sample index column that is not ``0, 1, ...``, a bias column that is not
        finite, beyond 100 V or not monotonic after the settling hold, no sample at all, or
        (``strict=True``) a spectrum cut short.

    Warns
    -----
    UserWarning
        A spectrum cut short: how many of the declared samples the file holds.
    """
    path = Path(path)
    data = path.read_bytes()
    header, info, rows = _split(data, path)
    n_samples, mask = int(info[0]), int(info[3])
    if not 0 < n_samples <= _MAX_SAMPLES or info[0] != n_samples:
        raise FormatError(f"{path}: the info line declares {info[0]:g} samples; damaged")
    n_out = int(info[6]) if len(info) >= 9 and 1 <= info[6] <= len(_OUTPUT_NAMES) else 2
    n_columns = len(rows[0].split()) if rows else 0  # the table's first row says how many
    n_inputs = n_columns - 1 - n_out
    if n_inputs < 1:
        raise FormatError(
            f"{path}: the DATA table's first row has {n_columns} columns, not the sample "
            f"index, {n_out} outputs and at least one channel"
        )
    _rules.check_allocation(
        path, 8 * n_samples * n_columns * 2, len(data), f"{n_samples} samples x {n_columns} columns"
    )
    table = _table(rows, n_columns, path)
    if not table.shape[0]:
        raise FormatError(f"{path}: the DATA table holds no sample of any channel")
    if table.shape[0] > n_samples:
        raise FormatError(
            f"{path}: the DATA table holds {table.shape[0]} rows, the info line declares "
            f"{n_samples} samples; the file is damaged"
        )
    n_read = table.shape[0]
    if not np.array_equal(table[:, 0], np.arange(n_read)):
        k = int(np.flatnonzero(table[:, 0] != np.arange(n_read))[0])
        raise FormatError(
            f"{path}: the sample index column reads {table[k, 0]:g} in row {k + 1}, not {k}; "
            "the file is damaged"
        )
    bias = table[:, 1]
    if n_read < n_samples:
        ramp = _vpoint_bias(header, n_samples)
        if ramp is None or not np.allclose(ramp[:n_read], bias, atol=1e-3 * np.ptp(ramp)):
            raise FormatError(
                f"{path}: the file ends after {n_read} of {n_samples} samples and its "
                "Vpoint table does not give the bias of the rest"
            )
        bias = ramp
        _rules.warn_or_raise(
            f"{path}: the spectrum is cut short: the file holds {n_read} of {n_samples} "
            "samples; the rest is NaN",
            strict,
        )
    n_hold, forward, backward = _sweep(bias, path)
    raw = np.full((n_samples, n_inputs), np.nan)
    raw[:n_read] = table[:, 1 + n_out :]
    names = _channel_names(mask, n_inputs)
    kept = [k for k in range(n_inputs) if np.nan_to_num(raw[:, k]).any()] or [0]

    data_vars = {}
    sweeps = [("", forward)] + ([(" [bwd]", backward)] if backward is not None else [])
    for k in kept:
        name, channel = names[k]
        for tag, samples in sweeps:
            values = raw[n_hold + samples, k][np.newaxis, :]
            attrs = {"units": "ADC", "long_name": channel + tag, "channel": channel + tag}
            attrs["n_clipped_spectra"] = int(saturated_spectra(values).sum())
            data_vars[name + tag] = (("spectrum", "bias"), values, attrs)
    x_nm, y_nm = _position_nm(header, info, 0), _position_nm(header, info, 1)
    nan = float("nan")
    times, volts = _vpoints(header)
    coords = {
        "bias": ("bias", bias[n_hold:][forward], {"units": "mV", "long_name": "bias"}),
        "x": ("spectrum", [x_nm], {"units": "nm", "long_name": "tip position x"}),
        "y": ("spectrum", [y_nm], {"units": "nm", "long_name": "tip position y"}),
        "file": ("spectrum", [path.name]),
    }
    setpoint_current = _header.lookup(header, "SetPoint")
    attrs = _header.companion_attrs(header, prefix="vert_")
    attrs.update(
        geometry="points",
        source=str(path),
        vendor="Createc",
        format="Createc vertical spectroscopy",
        setpoint_bias_mV=float(_header.lookup(header, "BiasVoltage") or nan),
        setpoint_current_A=float(setpoint_current)
        if isinstance(setpoint_current, int | float)
        else nan,
        n_samples=n_samples,
        n_settling_points=n_hold,
        vpoints_t=times,
        vpoints_mV=volts,
        position_dac_x=info[1],
        position_dac_y=info[2],
        createc_x_nm=info[7] if len(info) >= 9 else nan,
        createc_y_nm=info[8] if len(info) >= 9 else nan,
        output_columns=n_out,
        z_ramp="none" if not np.nan_to_num(table[:, 2]).any() else "Z column is not zero",
        empty_channels="; ".join(names[k][1] for k in range(n_inputs) if k not in kept),
        positions="-(Scanrotoff - VertSpecPos) DAC units x the header's lateral calibration",
    )
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset.encoding["source"] = str(path)
    return dataset
