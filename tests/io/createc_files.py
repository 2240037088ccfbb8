"""Createc files written by the tests: ``.specgrid`` byte by byte and a ``.specgrid.dat`` header.

Imported by the tests as ``from createc_files import ...`` (tests/io is on sys.path). The writer
packs the layout of Createc's ``ReadSpecGrid`` reader with :mod:`struct`, independently of
:mod:`stswidgets.io.createc`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from nanonis_files import REAL_DIR

CREATEC_REAL = "createc_Ag_corral_complete.specgrid"
VENDORS = REAL_DIR / "vendors"


def header_bytes(
    nx: int,
    ny: int,
    points: int,
    n_channels: int,
    mask: int,
    *,
    bias_mV: float = 20.0,
    current_A: float = 2e-9,
    step: tuple[int, int] = (5, 5),
    center: tuple[int, int] = (256, 256),
    image: tuple[int, int] = (512, 512),
    grid_fields: bool = True,
) -> bytes:
    """The 1024-byte header: 29 used slots (int32 but for two float32 and one int64);
    ``grid_fields=False`` leaves ``specgridnx`` ... ``specgridcentery`` 0 (the grid size is then
    only in ``xend``/``yend``)."""
    grid = (nx, ny, *step, *center) if grid_fields else (0,) * 6
    used = struct.pack(
        "<10i2f4iq5i6i",
        4400, image[0], image[1], 14, 14, 39, 39, points, 576, 9,  # version .. vertmangain
        bias_mV, current_A,
        0, 0, n_channels, mask,  # imagedatasize, specgriddatasize, chan, channel mask
        0,  # specgriddatasize64
        1, nx, 1, ny, 0,  # xstart, xend, ystart, yend, channelselectval2
        *grid,
    )  # fmt: skip
    return used + bytes(1024 - len(used))


def specgrid_bytes(
    spectra: np.ndarray,
    bias_mV: np.ndarray,
    nx: int,
    ny: int,
    *,
    mask: int | None = None,
    table_columns: int = 3,
    **header,
) -> bytes:
    """A ``.specgrid`` file: ``spectra`` ``(n_written, points, n_channels)`` in file order
    (x fastest), the sweep table's bias column ``bias_mV`` ``(points,)`` (other columns 0)."""
    spectra = np.asarray(spectra, dtype="<f4")
    points, n_channels = spectra.shape[1:]
    mask = (1 << n_channels) - 1 if mask is None else mask
    table = np.zeros((points, table_columns), dtype="<f4")
    table[:, 0] = bias_mV
    head = header_bytes(nx, ny, points, n_channels, mask, **header)
    return head + table.tobytes() + spectra.tobytes()


def write_specgrid(path: Path, *args, **kwargs) -> Path:
    path.write_bytes(specgrid_bytes(*args, **kwargs))
    return path


def write_companion(path: Path, entries: dict[str, object]) -> Path:
    """``path.dat`` with a Createc ``.dat`` text header (``[Paramco32]``, CRLF lines, padded
    to 16384 bytes) followed by a few bytes of image data."""
    lines = ["[Paramco32]", *(f"{key}={value}" for key, value in entries.items()), "=", " =0"]
    text = "\r\n".join(lines).encode("cp1252") + b"\r\n"
    companion = path.with_name(path.name + ".dat")
    companion.write_bytes(text + bytes(16384 - len(text)) + b"\x78\x9c\x00\x01")
    return companion


def ramp(hold: int, start: float, end: float, steps: int) -> np.ndarray:
    """A Vertman sweep table column: ``hold`` samples at ``start``, then ``steps`` samples
    from one step after ``start`` to ``end``."""
    sweep = start + (end - start) * np.arange(1, steps + 1) / steps
    return np.concatenate([np.full(hold, start), sweep])


def iv_spectra(n: int, bias_mV: np.ndarray, n_channels: int = 3, seed: int = 0) -> np.ndarray:
    """``n`` current spectra (ADC counts) in channel 0 of ``n_channels``; others 0."""
    rng = np.random.default_rng(seed)
    current = 1e4 * bias_mV[None, :] * rng.uniform(0.5, 1.5, (n, 1)) + rng.normal(
        0, 50, (n, bias_mV.size)
    )
    spectra = np.zeros((n, bias_mV.size, n_channels))
    spectra[:, :, 0] = current
    return spectra
