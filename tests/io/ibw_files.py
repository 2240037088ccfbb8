"""Igor binary waves written byte by byte for the Omicron reader tests (versions 5 and 2).

Layouts from WaveMetrics Technical Note 003: a version-5 file is a 64-byte bin header, a
320-byte wave header, the data (Igor order: first dimension fastest), then the note; a
version-2 file a 16-byte bin header, a 110-byte wave header, the data and the note. The
checksum field makes the 16-bit sum of both headers 0.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

VENDORS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "vendors"
IBW_REAL = "omicron_Ta2NiSe5_cits20_IV_fwd_up.ibw"
_TYPES = {np.dtype("<f4"): 2, np.dtype("<f8"): 4, np.dtype("<i2"): 0x10}


def _checksum(header: bytearray, at: int, order: str = "<") -> None:
    """Set the int16 at ``at`` so that the header's int16 words sum to 0 (mod 2**16)."""
    total = int(np.frombuffer(bytes(header), order + "i2").astype(np.int64).sum())
    struct.pack_into(order + "h", header, at, ((-total + 32768) % 65536) - 32768)


def ibw5(
    path: Path,
    values: np.ndarray,
    offsets=(0.0, 0.0, 0.0),
    steps=(1.0, 1.0, 1.0),
    units=("m", "m", "V"),
    data_units: str = "A",
    name: str = "I(V) 1-1 Forward Up Trace",
    note: str = "",
    order: str = "<",
) -> Path:
    """A version-5 wave of ``values`` (numpy axes = Igor dimensions, first fastest on disk).

    ``order`` ``">"`` writes a big-endian (Macintosh) file."""
    values = np.asarray(values)
    data = values.astype(values.dtype.newbyteorder(order)).tobytes(order="F")
    note_bytes = note.encode("latin-1")
    wave = bytearray(320)
    struct.pack_into(order + "i", wave, 12, values.size)
    struct.pack_into(order + "h", wave, 16, _TYPES[values.dtype.newbyteorder("<")])
    struct.pack_into(order + "h", wave, 26, 1)
    struct.pack_into("32s", wave, 28, name.encode("latin-1"))
    dims = list(values.shape) + [0] * (4 - values.ndim)
    struct.pack_into(order + "4i", wave, 68, *dims)
    pad = [0.0] * (4 - values.ndim)
    struct.pack_into(order + "4d", wave, 84, *list(steps)[: values.ndim], *pad)
    struct.pack_into(order + "4d", wave, 116, *list(offsets)[: values.ndim], *pad)
    struct.pack_into("4s", wave, 148, data_units.encode())
    for k, unit in enumerate(list(units)[: values.ndim]):
        struct.pack_into("4s", wave, 152 + 4 * k, unit.encode())
    header = bytearray(64)
    struct.pack_into(order + "hhiii", header, 0, 5, 0, 320 + len(data), 0, len(note_bytes))
    whole = header + wave
    _checksum(whole, 2, order)
    path.write_bytes(bytes(whole) + data + note_bytes)
    return path


def ibw2(path: Path, curve: np.ndarray, start: float, step: float, name: str = "curve") -> Path:
    """A version-2 wave: one float32 curve against a bias ``start + i step`` in V."""
    data = np.asarray(curve, dtype="<f4").tobytes()
    wave = bytearray(110)
    struct.pack_into("<h", wave, 0, 2)  # float32
    struct.pack_into("20s", wave, 6, name.encode())
    struct.pack_into("4s", wave, 34, b"A")
    struct.pack_into("4s", wave, 38, b"V")
    struct.pack_into("<i", wave, 42, len(curve))
    struct.pack_into("<dd", wave, 48, step, start)
    header = bytearray(16)
    struct.pack_into("<hiii", header, 0, 2, 126 + len(data), 0, 0)
    whole = header + wave
    _checksum(whole, 14)
    path.write_bytes(bytes(whole) + data + bytes(16))
    return path
