"""The Createc ``.dat`` text header beside a ``.specgrid`` file, and the grid frame it gives.

Createc saves, next to ``NAME.specgrid``, the scan image taken with the grid as
``NAME.specgrid.dat``: a ``.dat`` image file whose first 16384 bytes are a text header (cp1252)
opening with ``[Parameter]``, ``[Paramet32]`` or ``[Paramco32]`` and holding ``key=value``
lines, many keys written as ``Name / Alias`` (``Num.X / Num.X=512``, ``Rotation / Rotation=0``,
``Scanrotoffx / OffsetX=0``, ``Length x[A]=100``); the image data follow (see gwyddion's
``createc`` module and the ``createc`` Python package, which read the same header).

The spectroscopy grid sits in that image: the ``.specgrid`` header gives its centre
(``specgridcenterx/y``) and its step (``specgriddx/dy``) in image pixels. With the image size
``Length x[A]`` over ``Num.X`` pixels this gives the grid in nm; the image offset
(``Scanrotoffx/y``, in DAC units) is turned into Angstrom with :func:`angstrom_per_dac` (the
image's own calibration, else ``200 V * Xpiezoconst / 2**20``, the conversion of the
``createc`` package, else ``Dacto[A]xy``, in nm per DAC) with the package's sign
(``-offset``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from stswidgets.io._geometry import ScanFrame

__all__ = [
    "angstrom_per_dac",
    "companion_attrs",
    "companion_path",
    "grid_frame",
    "parse_header",
    "read_dat_header",
]

DAT_HEADER_BYTES = 16384
_MAGICS = (b"[Parameter]", b"[Paramet32]", b"[Paramco32]")
_ANGSTROM_PER_NM = 10.0
_XY_VOLT, _XY_BITS = 200.0, 20  # offset DAC range of the createc package's conversion


def companion_path(path: Path) -> Path:
    """``NAME.specgrid.dat`` beside ``NAME.specgrid``."""
    return path.with_name(path.name + ".dat")


def _value(text: str) -> int | float | str:
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_dat_header(path: Path) -> dict[str, int | float | str]:
    """The ``key=value`` entries of a Createc ``.dat`` header (keys as in the file).

    Returns an empty dict for a file that does not start with a Createc header line.
    """
    with open(path, "rb") as file:
        head = file.read(DAT_HEADER_BYTES)
    if not head.startswith(_MAGICS):
        return {}
    return parse_header(head.split(b"\x00", 1)[0].decode("cp1252", errors="replace"))


def parse_header(text: str) -> dict[str, int | float | str]:
    """The ``key=value`` lines of a Createc text header after its first (``[Parameter]``,
    ``[ParVERT32]``, ...) line: numbers as int or float, the first of repeated keys kept.
    Shared by the ``.dat`` companion and the ``.VERT`` reader."""
    header: dict[str, int | float | str] = {}
    for line in text.splitlines()[1:]:
        key, sep, value = line.partition("=")
        if sep and key.strip():
            header.setdefault(key.strip(), _value(value))
    return header


def companion_attrs(header: dict, prefix: str = "dat_") -> dict[str, int | float | str]:
    """The header as netCDF-3-safe attrs: ``<prefix><name>`` (the name before `` / ``, other
    characters than letters, digits and ``_`` as ``_``), string values in ASCII."""
    attrs: dict[str, int | float | str] = {}
    for key, value in header.items():
        name = re.sub(r"[^0-9A-Za-z_]+", "_", key.split(" / ")[0]).strip("_")
        if isinstance(value, str):
            value = value.encode("ascii", errors="replace").decode("ascii")
        attrs.setdefault(f"{prefix}{name}", value)
    return attrs


def lookup(header: dict, name: str):
    """The value of ``name`` (case-insensitive; either side of ``Name / Alias``), or None."""
    name = name.lower()
    for key, value in header.items():
        if name in (part.strip().lower() for part in [key, *key.split(" / ")]):
            return value
    return None


def _number(header: dict, name: str) -> float:
    value = lookup(header, name)
    return float(value) if isinstance(value, int | float) else float("nan")


def angstrom_per_dac(header: dict, axis: str) -> float:
    """The lateral calibration along ``axis`` ("x"/"y"): Angstrom per DAC unit (NaN where
    the header gives none).

    The image's own calibration ``Length x[A] / (Num.X * Delta X [Dac])`` first (exact);
    else ``200 V * Xpiezoconst / 2**20`` (the ``createc`` package's conversion); else
    ``Dacto[A]xy``, which despite its name is in **nm** per DAC: in a real header
    (``createc_Ag_corral_line_L0001.VERT``) ``Delta X [Dac] * Dacto[A]xy * 10`` is the
    image pixel ``Length x[A] / Num.X`` (21 x 0.00094 nm = 0.197 A, 101.58 A / 512 = 0.198 A).
    """
    length = _number(header, f"Length {axis}[A]")
    pixels, step = _number(header, f"Num.{axis.upper()}"), _number(header, f"Delta {axis.upper()}")
    if all(np.isfinite(v) and v > 0 for v in (length, pixels, step)):
        return length / (pixels * step)
    per_dac = _XY_VOLT * _number(header, f"{axis}piezoconst") / 2**_XY_BITS
    if np.isfinite(per_dac) and per_dac > 0:
        return per_dac
    return _number(header, "Dacto[A]xy") * _ANGSTROM_PER_NM


def _offset_angstrom(header: dict, axis: str) -> float:
    """Image offset along ``axis`` ("x"/"y") in Angstrom (0 when the header lacks it)."""
    offset = _number(header, f"Scanrotoff{axis}")
    if not np.isfinite(offset):
        return 0.0
    per_dac = angstrom_per_dac(header, axis)
    return -offset * per_dac if np.isfinite(per_dac) else 0.0


def grid_frame(header: dict, fields: dict, size: tuple[int, int]) -> ScanFrame | None:
    """The grid's :class:`ScanFrame` (nm, deg) from a ``.dat`` header, the ``.specgrid``
    header fields and the grid ``size`` ``(nx, ny)``.

    None when the header lacks the image size (``Length x[A]``/``Num.X``, ``Length y[A]``/
    ``Num.Y``).
    """
    length_x, length_y = _number(header, "Length x[A]"), _number(header, "Length y[A]")
    pixels_x, pixels_y = _number(header, "Num.X"), _number(header, "Num.Y")
    if not all(np.isfinite(v) and v > 0 for v in (length_x, length_y, pixels_x, pixels_y)):
        return None
    pitch_x = length_x / pixels_x / _ANGSTROM_PER_NM  # nm per image pixel
    pitch_y = length_y / pixels_y / _ANGSTROM_PER_NM
    angle = _number(header, "Rotation")
    angle = angle if np.isfinite(angle) else 0.0
    # the grid centre from the image centre, along the image axes, then turned into the frame
    u = (fields["specgridcenterx"] - pixels_x / 2) * pitch_x
    v = (fields["specgridcentery"] - pixels_y / 2) * pitch_y
    cos, sin = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    cx = _offset_angstrom(header, "x") / _ANGSTROM_PER_NM + u * cos + v * sin
    cy = _offset_angstrom(header, "y") / _ANGSTROM_PER_NM - u * sin + v * cos
    width = size[0] * fields["specgriddx"] * pitch_x  # the frame: pixels x pitch
    height = size[1] * fields["specgriddy"] * pitch_y
    return ScanFrame(float(cx), float(cy), float(width), float(height), float(angle))
