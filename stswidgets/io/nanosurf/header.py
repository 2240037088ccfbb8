"""The text part of a Nanosurf ``.nid`` file: INI sections, channel blocks and spectroscopy layout.

A ``.nid`` file is an INI-like header (``[Section]`` lines, ``key=value`` lines, CRLF, Latin-1)
that starts with ``[DataSet]`` and ends at ``#!``; the binary blocks of every channel follow,
one after the other in the order ``[DataSet]`` lists them (``Gr<g>-Ch<c>=DataSet-<g>:<c>``,
groups in order, channels by number; a channel number may be missing). Each channel section
gives ``Points`` (values per line), ``Lines``, ``SaveBits`` (16 or 32), ``SaveSign``
(``Signed``/``Unsigned``), ``SaveOrder`` (``Intel`` little-endian, ``Motorola`` big-endian) and
the axes ``Dim0`` (the sweep of a spectroscopy block: ``Dim0Min`` + ``Dim0Range``, unit,
name), ``Dim1`` (lines) and ``Dim2`` (values: a raw code ``r`` of ``n`` bits is
``Dim2Min + Dim2Range (r + 2^(n-1)) / 2^n`` when signed, ``Dim2Min + Dim2Range r / 2^n``
when unsigned). Spectra cut short carry ``LineDim<k>Points`` (points kept on line ``k``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.nanonis.header import parse_value

DATA_MARK = b"#!"
SPEC_INFO = "DataSet\\SpecInfos"
_INFO_PREFIX = "DataSet\\"


def header_end(data: bytes) -> int:
    """Offset of the ``#!`` that ends the header (-1 when there is none)."""
    if not data.lstrip().startswith(b"[DataSet]"):
        return -1
    at_line_start = data.find(b"\n" + DATA_MARK)
    return at_line_start + 1 if at_line_start >= 0 else data.find(DATA_MARK)


def parse_sections(text: str, path) -> dict[str, dict[str, str]]:
    """``{section: {key: value}}`` of the header text, values as raw strings."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        if current is None or not sep:
            raise FormatError(
                f"{path}: header line {number} ({line[:60]!r}) is neither a [section] nor "
                "key=value; not a readable Nanosurf .nid header"
            )
        if not key.startswith("--"):  # "-- Spec --=--------" separators
            current[key.strip()] = value.strip()
    return sections


def number(section: dict, key: str, path, name: str, kind=float):
    """``section[key]`` as ``kind``, or a FormatError naming the section and key."""
    if key not in section:
        raise FormatError(f"{path}: [{name}] has no {key!r} entry")
    try:
        return kind(section[key])
    except ValueError:
        raise FormatError(f"{path}: [{name}] {key}={section[key]!r} is not a number") from None


def typed_value(text: str):
    """``D[0.1]*[s]`` -> 0.1, ``L[512]*[]`` -> 512, plain values via ``parse_value``."""
    if len(text) > 2 and text[1] == "[" and "]*[" in text and text[0] in "DLB":
        inner = text[2 : text.index("]*[")]
        value = parse_value(inner)
        return value if isinstance(value, int | float) else text
    return parse_value(text)


def flat_attrs(sections: dict[str, dict[str, str]]) -> dict:
    """The header as plain attrs: ``"<section>: <key>"`` -> int, float or str.

    Sections lose their ``DataSet\\`` prefix and use ``.`` for ``\\``
    (``"Parameters.Spectroscopy: FwModRange"``); no ``/`` remains, so netCDF-3 accepts them.
    """
    attrs = {}
    for name, entries in sections.items():
        if name.startswith("SetView"):  # display settings of the Nanosurf window
            continue
        short = name.removeprefix(_INFO_PREFIX).replace("\\", ".").replace("/", "_")
        for key, value in entries.items():
            if not key.startswith("SubSection"):
                attrs[f"{short}: {key.replace('/', '_')}"] = typed_value(value)
    return attrs


@dataclass(frozen=True)
class Block:
    """One channel's binary block."""

    group: str  # "Spec forward"
    section_name: str  # "DataSet-0:1"
    section: dict
    points: int
    lines: int
    dtype: np.dtype
    signed: bool
    offset: int  # from the start of the payload

    @property
    def nbytes(self) -> int:
        return self.points * self.lines * self.dtype.itemsize

    @property
    def name(self) -> str:
        return self.section.get("Dim2Name", self.section_name)

    @property
    def bits(self) -> int:
        return 8 * self.dtype.itemsize

    def raw(self, payload: bytes) -> np.ndarray:
        """Raw codes ``(lines, points)`` as int64."""
        values = np.frombuffer(payload, self.dtype, self.points * self.lines, self.offset)
        return values.reshape(self.lines, self.points).astype(np.int64)

    def scale(self, raw: np.ndarray, path) -> np.ndarray:
        """Raw codes to values in ``Dim2Unit`` (float64)."""
        full = 2.0**self.bits
        lo = number(self.section, "Dim2Min", path, self.section_name)
        span = number(self.section, "Dim2Range", path, self.section_name)
        shift = full / 2 if self.signed else 0.0
        return lo + span * (raw + shift) / full

    def at_rail(self, raw: np.ndarray) -> np.ndarray:
        """Where a raw code sits on (or one code inside) either end of its range."""
        lo = -(2 ** (self.bits - 1)) if self.signed else 0
        hi = lo + 2**self.bits - 1
        return (raw <= lo + 1) | (raw >= hi - 1)


def _block(group: str, name: str, section: dict, offset: int, path) -> Block:
    points = number(section, "Points", path, name, int)
    lines = number(section, "Lines", path, name, int)
    bits = number(section, "SaveBits", path, name, int) if "SaveBits" in section else 16
    if bits not in (8, 16, 32) or points < 0 or lines < 0:
        raise FormatError(
            f"{path}: [{name}] Points={points}, Lines={lines}, SaveBits={bits}; expected "
            "non-negative sizes and 8, 16 or 32 bits"
        )
    mode = section.get("SaveMode", "Binary")
    if mode.lower() != "binary":
        raise FormatError(f"{path}: [{name}] SaveMode={mode!r}; only Binary blocks are readable")
    signed = section.get("SaveSign", "Signed").lower() != "unsigned"
    order = ">" if section.get("SaveOrder", "Intel").lower() == "motorola" else "<"
    dtype = np.dtype(f"{order}{'i' if signed else 'u'}{bits // 8}")
    return Block(group, name, section, points, lines, dtype, signed, offset)


def channel_blocks(sections: dict, path) -> list[Block]:
    """Every channel block listed in ``[DataSet]``, in file order, with its payload offset."""
    dataset = sections.get("DataSet", {})
    n_groups = number(dataset, "GroupCount", path, "DataSet", int)
    blocks, offset = [], 0
    for g in range(n_groups):
        group = dataset.get(f"Gr{g}-Name", f"Group {g}")
        prefix = f"Gr{g}-Ch"
        numbers = sorted(
            int(key[len(prefix) :])
            for key in dataset
            if key.startswith(prefix) and key[len(prefix) :].isdigit()
        )
        for c in numbers:
            name = dataset[f"{prefix}{c}"]
            if name not in sections:
                raise FormatError(
                    f"{path}: [DataSet] lists {prefix}{c}={name} but [{name}] is missing"
                )
            block = _block(group, name, sections[name], offset, path)
            blocks.append(block)
            offset += block.nbytes
    return blocks


def line_points(block: Block, n_stored: int | None = None) -> np.ndarray:
    """Points kept on each line (``LineDim<k>Points``; all ``Points`` when absent).

    With ``n_stored`` (the bytes of payload the file holds), lines or their ends beyond the
    end of a truncated file count as not kept.
    """
    kept = np.full(block.lines, block.points, dtype=np.int64)
    for key, value in block.section.items():  # LineDim<k>Points
        k = key.removeprefix("LineDim").removesuffix("Points")
        if key.startswith("LineDim") and key.endswith("Points") and k.isdigit():
            if int(k) < block.lines and value.strip().lstrip("-").isdigit():
                kept[int(k)] = min(max(int(value), 0), block.points)
    if n_stored is not None:
        values = max(0, n_stored - block.offset) // block.dtype.itemsize
        in_file = values - block.points * np.arange(block.lines)
        kept = np.minimum(kept, np.clip(in_file, 0, block.points))
    return kept


@dataclass(frozen=True)
class Positions:
    """Where the spectra were taken: a map (nx x ny, serpentine) or a list of points."""

    x_m: np.ndarray  # (n_positions,) in the order the positions are measured
    y_m: np.ndarray
    nx: int
    ny: int
    rotation_deg: float
    kind: str  # "map" or "list"
    frame_m: tuple[float, float, float, float] = (np.nan,) * 4  # map centre x, y; width, height


def positions(sections: dict, path, file_bytes: int = 0) -> Positions | None:
    """Spectroscopy positions from ``[DataSet\\SpecInfos\\SpecMapTable]`` or ``SpecPosTable``.

    ``Map0=x0;x1;y0;y1;nx;ny;rotation;placement`` (m; AtomicJ's reading): ``nx`` x ``ny``
    positions from ``(x0, y0)`` to ``(x1, y1)``, measured row by row from ``y0``, serpentine
    (odd rows from ``x1`` back to ``x0``); a non-zero rotation (unused in the files seen)
    turns them clockwise about the map centre, the Nanonis sense. ``PosAxis=X;Y``, ``Count``,
    ``Pos<k>=x;y`` (m): a list of points, opened as one row. None when the file records
    neither.
    """
    table = sections.get(f"{SPEC_INFO}\\SpecMapTable")
    if table and "Map0" in table:
        try:
            fields = [float(item) for item in table["Map0"].split(";")]
            x0, x1, y0, y1 = fields[:4]
            nx, ny = int(fields[4]), int(fields[5])
        except (ValueError, IndexError, OverflowError):
            raise FormatError(
                f"{path}: SpecMapTable Map0={table['Map0']!r} is not 'x0;x1;y0;y1;nx;ny;...'"
            ) from None
        if nx < 1 or ny < 1:
            raise FormatError(f"{path}: SpecMapTable Map0 gives a {nx} x {ny} map")
        _rules.check_allocation(path, 64 * nx * ny, file_bytes, f"a map of {nx} x {ny} positions")
        rotation = fields[6] if len(fields) > 6 else 0.0
        xs = np.linspace(x0, x1, nx) if nx > 1 else np.array([x0])
        ys = np.linspace(y0, y1, ny) if ny > 1 else np.array([y0])
        cols = np.tile(np.arange(nx), ny).reshape(ny, nx)
        cols[1::2] = cols[1::2, ::-1]  # serpentine
        u, v = xs[cols].ravel() - (x0 + x1) / 2, np.repeat(ys, nx) - (y0 + y1) / 2
        cos, sin = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
        x_m = (x0 + x1) / 2 + u * cos + v * sin  # turned clockwise about the centre
        y_m = (y0 + y1) / 2 - u * sin + v * cos
        frame = ((x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0), abs(y1 - y0))
        return Positions(x_m, y_m, nx, ny, float(rotation), "map", frame)
    table = sections.get(f"{SPEC_INFO}\\SpecPosTable")
    if table and "Count" in table:
        axes = [axis.strip().upper() for axis in table.get("PosAxis", "X;Y").split(";")]
        try:
            count = int(table["Count"])
            _rules.check_allocation(path, 64 * count, file_bytes, f"{count} positions")
            ix, iy = axes.index("X"), axes.index("Y")
            rows = [[float(v) for v in table[f"Pos{k}"].split(";")] for k in range(count)]
            x_m = np.array([row[ix] for row in rows])
            y_m = np.array([row[iy] for row in rows])
        except (ValueError, KeyError, IndexError):
            raise FormatError(
                f"{path}: SpecPosTable is not 'PosAxis=X;Y', 'Count', 'Pos<k>=x;y'"
            ) from None
        return Positions(x_m, y_m, count, 1, 0.0, "list")
    return None
