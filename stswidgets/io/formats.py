"""Which reader opens a file: the supported formats, recognised by content, not by name.

Each instrument format is a :class:`Format` in :data:`FORMATS`: its name, the usual suffixes
(for messages and file dialogs only), the reader (``module:function``, imported when first
used) and a ``looks_like(head: bytes) -> bool`` test on the file's first
:data:`HEAD_BYTES` bytes, defined in the reader's module (under another name, e.g.
``looks_like_dat``, where one vendor package reads several formats; a format whose reader or
test is not in this build recognises nothing). Grids and spectra that are not on a grid
(points, lines, repeats: :func:`stswidgets.io.open_spectra`) share the registry.
:func:`detect_format` runs the tests in order and raises
:class:`~stswidgets.io.errors.FormatError` listing what is supported when none matches;
:func:`read_file` reads any supported file into the reader ``Dataset`` model. The grids
:func:`stswidgets.io.save_grid` writes are recognised by content too
(:func:`saved_grid_kind`: the netCDF/HDF5 or zip signature).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from stswidgets.io.errors import FormatError

__all__ = [
    "FORMATS",
    "HEAD_BYTES",
    "Format",
    "detect_format",
    "read_file",
    "saved_grid_kind",
    "supported",
]

HEAD_BYTES = 4096
_SAVED_GRID_SIGNATURES = {
    b"CDF\x01": "netCDF",  # netCDF classic, 64-bit offset, 64-bit data
    b"CDF\x02": "netCDF",
    b"CDF\x05": "netCDF",
    b"\x89HDF\r\n\x1a\n": "netCDF",  # netCDF-4 (HDF5)
    b"PK\x03\x04": "npz",  # numpy savez (a zip archive)
    b"PK\x05\x06": "npz",  # an empty zip
}


@dataclass(frozen=True)
class Format:
    """One supported instrument format."""

    name: str
    suffixes: tuple[str, ...]
    module: str
    reader: str
    #: The module's content test (``looks_like``, or e.g. ``looks_like_dat`` where one vendor
    #: package holds several formats).
    detector: str = "looks_like"

    def _module(self):
        return importlib.import_module(self.module)

    def looks_like(self, head: bytes) -> bool:
        """Whether a file starting with ``head`` is in this format."""
        try:
            module = self._module()
        except ModuleNotFoundError as error:  # a reader not in this build: not this format
            if error.name != self.module:
                raise
            return False
        detector = getattr(module, self.detector, None)
        return detector is not None and bool(detector(head))

    def read(self, path: str | Path, strict: bool = False) -> xr.Dataset:
        """The file read by this format's reader (``strict`` as the reader takes it)."""
        return getattr(self._module(), self.reader)(path, strict=strict)


FORMATS: tuple[Format, ...] = (
    Format("Nanonis grid spectroscopy", (".3ds",), "stswidgets.io.nanonis", "read_3ds"),
    Format("RHK SM4", (".sm4",), "stswidgets.io.rhk", "read_sm4"),
    Format("Nanosurf NID spectroscopy map", (".nid",), "stswidgets.io.nanosurf", "read_nid"),
    Format("Omicron MATRIX CITS (Igor wave)", (".ibw",), "stswidgets.io.omicron", "read_ibw"),
    Format("Createc specgrid", (".specgrid",), "stswidgets.io.createc", "read_specgrid"),
    # spectra that are not on a grid (read_sm4 above gives either, by what the file holds)
    Format(
        "Nanonis bias spectroscopy",
        (".dat",),
        "stswidgets.io.nanonis",
        "read_dat",
        "looks_like_dat",
    ),
    Format(
        "Createc vertical spectroscopy",
        (".VERT",),
        "stswidgets.io.createc",
        "read_vert",
        "looks_like_vert",
    ),
    Format(
        "Omicron MATRIX spectroscopy",
        (".mtrx", "_mtrx"),
        "stswidgets.io.omicron",
        "read_mtrx",
        "looks_like_mtrx",
    ),
)


def supported() -> str:
    """The supported formats in words, for messages."""
    return "; ".join(f"{fmt.name} ({', '.join(fmt.suffixes)})" for fmt in FORMATS)


def saved_grid_kind(head: bytes) -> str | None:
    """``"netCDF"`` (netCDF classic or HDF5) or ``"npz"`` (zip) by a file's first bytes
    ``head``, None for anything else: the files :func:`stswidgets.io.save_grid` writes."""
    for signature, kind in _SAVED_GRID_SIGNATURES.items():
        if head.startswith(signature):
            return kind
    return None


def detect_format(path: str | Path) -> Format:
    """The format of the file at ``path``, from its first bytes.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    FormatError
        No supported format recognises the file (the message lists them).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
    for fmt in FORMATS:
        if fmt.looks_like(head):
            return fmt
    raise FormatError(
        f"{path}: not a grid spectroscopy file stswidgets can read (empty or unknown content). "
        f"Supported: {supported()}; and the .npz/.nc files stswidgets.io.save_grid writes."
    )


def read_file(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Any supported instrument file as a reader ``Dataset`` (see :func:`read_3ds`)."""
    return detect_format(path).read(path, strict=strict)
