"""Helpers for the SM4 reader tests: the real RHK file, and SM4 files written here.

Imported as ``from rhk_files import ...`` (tests/io is on sys.path). :func:`sm4_bytes` packs
every structure with ``struct`` from the layout the Gwyddion and spym readers document, not
with the reader's own code, so the reader is tested against the format itself.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from nanonis_files import REAL_DIR

RHK_GRID = "vendors/rhk_dIdV_9K_ABC6_grid.sm4"
OTHER_VENDORS = (
    "vendors/createc_Ag_corral_complete.specgrid",
    "vendors/nanosurf_tarzan_specmap15.nid",
    "vendors/omicron_Ta2NiSe5_cits20_IV_fwd_up.ibw",
    "nanonis_grid_lockin_30x30.3ds",
)
__all__ = [
    "OTHER_VENDORS",
    "REAL_DIR",
    "RHK_GRID",
    "SpecPage",
    "grid_positions",
    "sm4_bytes",
    "write_sm4",
]


@dataclass
class SpecPage:
    """One page to write: ``raw`` int32 ``(n_spectra, n_points)`` (images: ``(rows, cols)``)."""

    label: str
    raw: np.ndarray
    data_type: int = 1  # 0 image, 1 line
    line_type: int = 7  # I-V spectrum
    x_scale: float = -0.005
    x_offset: float = 0.3
    z_scale: float = 1e-12
    z_offset: float = 0.0
    x_units: str = "V"
    z_units: str = "A"
    x_label: str = "Voltage"
    grid: tuple[int, int] = (0, 0)  # (0xFFFFFFFF, 0xFFFFFFFF): RHK's -1, no grid (lines)
    page_type: int = 16  # 16 line/map spectroscopy, 38 point spectroscopy (RHK Rev9)
    positions: np.ndarray | None = None  # (n_spectra, 2) in m
    angle: float = 0.0
    strings: dict = field(default_factory=dict)


def _text(values: list[str]) -> bytes:
    return b"".join(struct.pack("<H", len(v)) + v.encode("utf-16-le") for v in values)


def _page_header(page: SpecPage, n_objects: int, n_strings: int) -> bytes:
    n_spectra, n_points = page.raw.shape
    ints = (180, n_strings, page.page_type if page.data_type else 1, 0, page.line_type, 0, 0)
    sizes = (n_points, n_spectra, 0, 0, 0, 4 * page.raw.size, 0, 0)
    floats = (page.x_scale, 1.0, page.z_scale, 0.0, page.x_offset, 0.0, page.z_offset)
    floats += (1e-4, 0.4, 3e-10, page.angle)
    tail = (1, *page.grid, n_objects)
    head = struct.pack("<2H3I2i6I2i11f4I", *ints, *sizes, *floats, *tail)
    return head + bytes(180 - len(head))


def sm4_bytes(pages: list[SpecPage], signature: str = "STiMage 005.006 1") -> bytes:
    """An SM4 file holding ``pages`` (strings, spectrum positions and data per page)."""
    out = bytearray(struct.pack("<H", 56))
    out += signature.ljust(18, "\0").encode("utf-16-le")
    out += struct.pack("<5I", len(pages), 1, 12, 0, 0)
    file_objects = len(out)
    out += bytes(12)
    index_header = len(out)
    out += struct.pack("<4I", len(pages), 1, 0, 0) + bytes(12)
    struct.pack_into("<3I", out, file_objects, 1, index_header, 16)
    struct.pack_into("<3I", out, index_header + 16, 2, len(out), 32)
    slots = []
    for page in pages:
        out += bytes(range(16)) + struct.pack("<4I", page.data_type, 0, 2, 6)
        slots.append(len(out))
        out += bytes(24)
    for page, slot in zip(pages, slots, strict=True):
        strings = ["" for _ in range(19)]
        strings[0] = strings[11] = page.label
        strings[5], strings[6] = "07/02/20", "07:44:16"
        strings[7], strings[9], strings[10] = page.x_units, page.z_units, page.x_label
        for index, value in page.strings.items():
            strings[index] = value
        has_positions = page.positions is not None
        n_objects = 3 if has_positions else 1
        header_at = len(out)
        out += _page_header(page, n_objects, len(strings))
        objects_at = len(out)
        out += bytes(12 * n_objects)
        text = _text(strings)
        objects = [(10, len(out), len(text))]
        out += text
        if has_positions:
            objects.append((7, len(out), 16))
            out += struct.pack("<Q2I", 0, 0, 1)
            info = np.zeros((len(page.positions), 7), "<f4")
            info[:, 1:3] = page.positions
            objects.append((8, len(out), 28))  # RHK gives one record's size
            out += info.tobytes()
        for k, obj in enumerate(objects):
            struct.pack_into("<3I", out, objects_at + 12 * k, *obj)
        data_at = len(out)
        out += np.ascontiguousarray(page.raw, "<i4").tobytes()
        struct.pack_into("<3I", out, slot, 3, header_at, 180)
        struct.pack_into("<3I", out, slot + 12, 4, data_at, 4 * page.raw.size)
    return bytes(out)


def write_sm4(path: Path, pages: list[SpecPage]) -> Path:
    path.write_bytes(sm4_bytes(pages))
    return path


def grid_positions(nx: int, ny: int, per_position: int = 1, pitch=1e-10, serpentine=False):
    """Tip positions (m) of an unrotated grid scanned row by row, each repeated."""
    rows, cols = np.divmod(np.arange(nx * ny), nx)
    if serpentine:
        cols = np.where(rows % 2 == 1, nx - 1 - cols, cols)
    spots = np.stack([cols * pitch + 1e-9, rows * pitch - 2e-9], axis=1)
    return np.repeat(spots, per_position, axis=0)
