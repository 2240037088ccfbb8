"""Nanonis bias spectroscopy (``.dat``): spectra measured at one tip position, as text.

The file format
---------------
Text (UTF-8 or Latin-1), lines ending in LF or CRLF. A header of ``key<TAB>value<TAB>`` lines
(``Experiment	bias spectroscopy``, ``X (m)``, ``Y (m)``, ``Z (m)``, ``Settling time (s)``,
...; a key may come twice, the first is kept), then a line ``[DATA]``, a row of
tab-separated column names and one row per bias point. The first column is the sweep
(``Bias calc (V)``, else ``Bias (V)``); the others are channels named ``"<signal> (<unit>)"``
with tags: ``[bwd]`` for the backward sweep, ``[AVG]`` for the mean of repeated sweeps and
``[00001]``, ``[00002]``, ... for the single sweeps, ``[filt]`` for a filtered copy
(``"Current (A) [bwd] [filt]"``). The sweep may run either way (``-2 -> +2 V`` or
``+2 -> -2 V``).

Repeated sweeps stay separate channels: ``Current [AVG]`` (the file's own mean, ranked first
by the default channel choice, as a forward sweep) and ``Current [00001]`` ...
(``channel="Current [00002]"`` picks one sweep).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.nanonis.header import split_unit

__all__ = ["looks_like", "read_dat"]

DATA_TAG = "[DATA]"
_TAG = re.compile(r"\s*\[([^\]]*)\]")
_BIAS_COLUMNS = ("Bias calc", "Bias")
_NM_PER = {"m": 1e9, "nm": 1.0}


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Nanonis spectroscopy ``.dat`` (its first
    line ``Experiment<TAB>...``)."""
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"Experiment\t")


def read_dat(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read a Nanonis bias spectroscopy ``.dat`` file (one spectrum at one spot).

    Parameters
    ----------
    path : str or pathlib.Path
    strict : bool
        Raise :class:`FormatError` where the file is damaged but readable (a spectrum cut
        short, a last row cut mid-line, a position that is no number) instead of warning.

    Returns
    -------
    xarray.Dataset
        The reader Dataset of spectra off a grid (:mod:`stswidgets.spectra`): one float64
        variable per channel, dims ``("spectrum", "bias")`` with ``spectrum`` of length 1,
        named after the channel without its unit, tags kept with ``[bwd]`` last
        (``"Current [AVG]"``, ``"Current [filt] [bwd]"``), attrs ``units``, ``channel`` (the
        full name, ``"Current [filt] [bwd] (A)"``) and ``long_name``; samples never measured
        (a sweep cut short: NaN, or zeros at its end in every channel) are NaN. Coordinates:
        ``bias`` in V in the file's order (either way), ``x``/``y`` in nm from the header's
        ``X (m)``/``Y (m)`` (NaN where missing). ``attrs``: every header entry (numbers as
        float, else text), ``geometry`` ``"points"`` and ``source``.

    Raises
    ------
    FormatError
        No ``[DATA]`` table or no column row; a first column that is no bias sweep; a row whose
        number of cells differs from the column row (other than a last row cut mid-line); a
        cell that is no number; a bias column that is not finite, constant or not monotonic;
        no measured point; with ``strict=True`` also what is otherwise a warning.

    Warns
    -----
    UserWarning
        Naming the file: a spectrum cut short (blanked to NaN), a file that ends mid-line
        (its last row dropped), a position ``X (m)``/``Y (m)`` that is no (finite) number.
    """
    path = Path(path)
    text = _text(path)
    header, names, rows = _split(text, path)
    bias_name = split_unit(names[0])[0]
    if not any(bias_name == base for base in _BIAS_COLUMNS):
        raise FormatError(
            f"{path}: the first column is {names[0]!r}, not the bias; stswidgets reads bias "
            "spectroscopy (a Z or time spectroscopy .dat is no spectrum against bias)"
        )
    table = _table(rows, len(names), path, strict, cut=not text.endswith(("\n", "\r")))
    bias = table[:, 0]
    bias_units = split_unit(names[0])[1] or "V"
    _rules.check_sweep(path, bias, bias_units, monotonic=True)
    channels = table[:, 1:].T.copy()
    completeness = _rules.measured_points([row[None, :] for row in channels])
    n_points = int(completeness.points[0])
    if n_points == 0:
        raise FormatError(f"{path}: no point of the spectrum was measured (every channel NaN)")
    if n_points < bias.size:
        channels[:, n_points:] = np.nan
        _rules.warn_or_raise(
            f"{path}: the spectrum was cut short: {n_points} of {bias.size} points measured "
            f"(the rest are NaN){completeness.note(bias.size)}",
            strict,
        )
    data_vars = {}
    for column, values in zip(names[1:], channels, strict=True):
        name, full, units = _channel_name(column)
        if name in data_vars:
            raise FormatError(f"{path}: the column {column!r} comes twice")
        attrs = {"units": units, "channel": full, "long_name": _TAG.sub("", name).strip()}
        data_vars[name] = (("spectrum", "bias"), values[None, :], attrs)
    coords = {
        "bias": ("bias", bias, {"units": bias_units, "long_name": "bias"}),
        "x": ("spectrum", [_position_nm(header, "X", path, strict)], {"units": "nm"}),
        "y": ("spectrum", [_position_nm(header, "Y", path, strict)], {"units": "nm"}),
    }
    attrs = {**header, "geometry": "points", "source": str(path)}
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset.encoding["source"] = str(path)
    return dataset


def _text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data:
        raise FormatError(f"{path}: holds binary bytes (NUL); not a Nanonis .dat text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _split(text: str, path: Path) -> tuple[dict, list[str], list[str]]:
    """The header entries, the column names and the data rows (text)."""
    lines = text.splitlines()
    try:
        at = next(k for k, line in enumerate(lines) if line.strip() == DATA_TAG)
    except StopIteration:
        raise FormatError(
            f"{path}: no {DATA_TAG} line: the file is cut inside its header, or no Nanonis "
            "spectroscopy .dat"
        ) from None
    header: dict = {}
    for line in lines[:at]:
        if not line.strip():
            continue
        key, _, value = line.rstrip("\t").partition("\t")
        header.setdefault(key.strip(), _value(value.strip()))
    if at + 1 >= len(lines) or not lines[at + 1].strip():
        raise FormatError(f"{path}: no column names after {DATA_TAG} (the file is cut there)")
    names = [name.strip() for name in lines[at + 1].rstrip("\t").split("\t")]
    if len(names) < 2 or not all(names):
        raise FormatError(
            f"{path}: the column row after {DATA_TAG} names {len(names)} column(s) "
            f"({lines[at + 1][:80]!r}); a bias column and at least one channel are needed"
        )
    rows = [line for line in lines[at + 2 :] if line.strip()]
    return header, names, rows


def _value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _table(rows: list[str], n_columns: int, path: Path, strict: bool, cut: bool) -> np.ndarray:
    """The data rows as floats ``(n_rows, n_columns)``. The last row is dropped (with a
    warning) where the file ends mid-line (``cut``: no line end after it, so its last cell may
    be a number cut short) or where it alone holds too few cells."""
    _rules.check_allocation(
        path, 8 * n_columns * len(rows), path.stat().st_size, "the [DATA] table"
    )
    cells = [row.rstrip("\t").split("\t") for row in rows]
    short = bool(cells) and len(cells[-1]) != n_columns
    if cells and (cut or short) and all(len(c) == n_columns for c in cells[:-1]):
        _rules.warn_or_raise(
            f"{path}: the file ends inside the last row of the [DATA] table ({len(cells[-1])} "
            f"of {n_columns} cells, no line end); the row is dropped",
            strict,
        )
        cells = cells[:-1]
    if not cells:
        raise FormatError(f"{path}: the [DATA] table holds no complete row")
    for k, row in enumerate(cells):
        if len(row) != n_columns:
            raise FormatError(
                f"{path}: row {k + 1} of the [DATA] table holds {len(row)} cells, but the "
                f"column row names {n_columns}; the file is damaged"
            )
    try:
        return np.array(cells, dtype=float)
    except ValueError:
        for k, row in enumerate(cells):
            for j, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    raise FormatError(
                        f"{path}: row {k + 1}, column {j + 1} of the [DATA] table is "
                        f"{cell[:40]!r}, not a number; the file is damaged"
                    ) from None
        raise


def _channel_name(column: str) -> tuple[str, str, str]:
    """``"Current (A) [bwd] [filt]"`` -> ``("Current [filt] [bwd]", "Current [filt] [bwd]
    (A)", "A")``: tags after the unit moved before it, ``[bwd]`` last."""
    tags = _TAG.findall(column)
    base, units = split_unit(_TAG.sub("", column).strip())
    ordered = [tag for tag in tags if tag.lower() != "bwd"] + [
        t for t in tags if t.lower() == "bwd"
    ]
    name = " ".join([base, *(f"[{tag}]" for tag in ordered)])
    return name, f"{name} ({units})" if units else name, units


def _position_nm(header: dict, axis: str, path: Path, strict: bool) -> float:
    """The header's ``X (m)`` / ``Y (m)`` in nm; NaN where missing, NaN with a warning where
    it is no number."""
    for key, value in header.items():
        match = re.fullmatch(rf"{axis}\s*\((m|nm)\)", key)
        if match is None:
            continue
        if isinstance(value, float) and np.isfinite(value):
            return value * _NM_PER[match[1]]
        _rules.warn_or_raise(
            f"{path}: the header's {key!r} is {value!r}, not a position; {axis.lower()} is NaN",
            strict,
            stacklevel=4,
        )
        return np.nan
    return np.nan  # the file records no position
