"""The binary structure of RHK SM4 files (``STiMage 005``), read into plain Python objects.

Little-endian throughout. A 2-byte header size, then the file header: the signature as 18
UTF-16 characters (``"STiMage 005.006 1"``), page count, object count, object field size and
two reserved uint32; then the file's object list. An *object* is ``(type, offset, size)``, three
uint32 (12 bytes), pointing anywhere in the file. The file objects lead to the page index
header (page count, object count, 2 reserved, objects), whose ``PAGE_INDEX_ARRAY`` object holds
one page index per page: a 16-byte GUID, data type (0 image, 1 line, 6 sequential, ...),
source type, object count, minor version, then that page's objects (``PAGE_HEADER``,
``PAGE_DATA``, ...). The page header (180 bytes) gives string count, page type, line type
(7: I-V spectrum, 8: I-Z, ...), x size (points per spectrum, or image columns), y size (number
of spectra, or image rows), scan direction, data size, x/y/z scales and offsets, period, bias,
current (setpoint), angle, grid x/y size, then its own objects: ``STRING_DATA`` (label,
system/session/user text, path, date, time, x/y/z units, x/y labels, ...: each a uint16 length
and UTF-16 characters), ``SPEC_DRIFT_HEADER`` and ``SPEC_DRIFT_DATA`` (per spectrum: time, X,
Y, dX, dY, cumulative dX, dY as float32; the object's size field gives one record only).

Values are int32 ``raw * z_scale + z_offset`` except for the line types stored as float32.
Field layout as in the SM4 readers of Gwyddion (``modules/file/rhk-sm4.c``) and spym
(``spym/io/rhksm4/_sm4.py``), checked against the real file in the tests.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass, field

import numpy as np

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError

MAGIC = "STiMage 005.".encode("utf-16-le")
IMAGE, LINE = 0, 1
PAGE_HEADER, PAGE_DATA, SPEC_DRIFT_HEADER, SPEC_DRIFT_DATA, STRING_DATA = 3, 4, 7, 8, 10
FLOAT_LINE_TYPES = frozenset({1, 6, 9, 10, 11, 13, 18, 19, 21, 22})  # stored as float32
DISCRETE_SPECTROSCOPY = 22  # float32, first row holds the sweep values
STRING_NAMES = (
    "label",
    "system_text",
    "session_text",
    "user_text",
    "file_path",
    "date",
    "time",
    "x_units",
    "y_units",
    "z_units",
    "x_label",
    "y_label",
    "status_channel_text",
    "completed_line_count",
    "oversampling_count",
    "sliced_voltage",
    "pll_pro_status",
    "setpoint_unit",
    "drive_values",
)
_FILE_HEADER = struct.Struct("<H36s5I")
_OBJECT = struct.Struct("<3I")
_PAGE_INDEX = struct.Struct("<16s4I")
_PAGE_HEADER = struct.Struct("<2H3I2i6I2i11f4I")
_PAGE_HEADER_SIZE = 180
_HEADER_FIELDS = (
    "field_size string_count page_type data_sub_source line_type x_corner y_corner x_size "
    "y_size image_type scan_direction group_id data_size min_z max_z x_scale y_scale z_scale "
    "xy_scale x_offset y_offset z_offset period bias current angle color_info_count grid_x_size "
    "grid_y_size object_count"
).split()
_SPEC_INFO = 7  # float32 per spectrum: time, X, Y, dX, dY, cumulative dX, dY


@dataclass
class Page:
    """One page: its index entry, header fields, strings and objects ``{type: (offset, size)}``."""

    number: int
    data_type: int
    source_type: int
    minor_version: int
    header: dict
    strings: dict = field(default_factory=dict)
    objects: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.strings.get("label", "").strip() or f"page {self.number}"


def looks_like(head: bytes) -> bool:
    """True when ``head`` starts like an SM4 file (UTF-16 ``STiMage 005.`` after 2 bytes)."""
    return head[2 : 2 + len(MAGIC)] == MAGIC


class _Reader:
    """Bounds-checked little-endian access to the file's bytes (FormatError naming the file)."""

    def __init__(self, data: bytes, path):
        self.data, self.path, self.end = data, path, 0

    def check(self, offset: int, size: int, what: str) -> None:
        if offset < 0 or offset + size > len(self.data):
            raise FormatError(
                f"{self.path}: {what} at byte {offset} ({size} bytes) lies beyond the end of the "
                f"file ({len(self.data)} bytes); the file is truncated or damaged"
            )

    def unpack(self, fmt: struct.Struct, offset: int, what: str) -> tuple:
        self.check(offset, fmt.size, what)
        return fmt.unpack_from(self.data, offset)

    def objects(self, offset: int, count: int, what: str) -> dict:
        """``{type: (offset, size)}`` of an object list; objects running past the end of a
        truncated file are kept (their users check them) and the furthest end is recorded."""
        found = {}
        for i in range(count):
            kind, start, size = self.unpack(_OBJECT, offset + i * _OBJECT.size, f"{what} objects")
            self.end = max(self.end, start + size)
            if size and kind not in found:
                found[kind] = (start, size)
        return found

    def holds(self, obj: tuple[int, int]) -> bool:
        """Whether the object ``(offset, size)`` lies wholly inside the file."""
        return obj[0] + obj[1] <= len(self.data)

    def strings(self, offset: int, end: int, count: int) -> list[str]:
        values = []
        for _ in range(count):
            if offset + 2 > end:
                break
            (length,) = struct.unpack_from("<H", self.data, offset)
            if offset + 2 + 2 * length > end:
                break
            values.append(
                self.data[offset + 2 : offset + 2 + 2 * length].decode("utf-16-le", "replace")
            )
            offset += 2 + 2 * length
        return values


def read_pages(data: bytes, path) -> tuple[dict, list[Page]]:
    """The file header (``signature``, ``page_count``) and every page's header and strings."""
    reader = _Reader(data, path)
    if not looks_like(data[:64]):
        raise FormatError(f"{path}: no RHK SM4 signature ('STiMage 005.' in UTF-16 at byte 2)")
    size, signature, n_pages, n_objects, _, _, _ = reader.unpack(_FILE_HEADER, 0, "file header")
    info = {
        "signature": signature.decode("utf-16-le", "replace").rstrip("\x00 "),
        "page_count": n_pages,
    }
    file_objects = reader.objects(2 + size, n_objects, "file header")
    if 1 not in file_objects:
        raise FormatError(f"{path}: the file header lists no page index header")
    index_offset = file_objects[1][0]
    n_index, n_index_objects, _, _ = reader.unpack(struct.Struct("<4I"), index_offset, "page index")
    index_objects = reader.objects(index_offset + 16, n_index_objects, "page index header")
    if 2 not in index_objects:
        raise FormatError(f"{path}: the page index header lists no page index array")
    if n_index != n_pages:
        warnings.warn(
            f"{path}: the file header counts {n_pages} pages, the page index {n_index}; one of "
            f"the counts is damaged (reading the {n_index} pages of the index)",
            stacklevel=3,
        )
    offset, pages, cut_pages = index_objects[2][0], [], []
    for number in range(n_index):
        _, data_type, source, n_page_objects, minor = reader.unpack(_PAGE_INDEX, offset, "page")
        objects = reader.objects(offset + _PAGE_INDEX.size, n_page_objects, f"page {number}")
        offset += _PAGE_INDEX.size + _OBJECT.size * n_page_objects
        page = Page(number, data_type, source, minor, {}, objects={})
        if PAGE_HEADER not in objects or PAGE_DATA not in objects:
            raise FormatError(f"{path}: page {number} has no page header or no page data")
        page.objects = dict(objects)
        header = objects[PAGE_HEADER]
        if data_type in (IMAGE, LINE) and not _header_in_file(reader, header):
            cut_pages.append(number)  # a truncated file: the page is not in it
            continue
        if data_type in (IMAGE, LINE):  # sequential, text and movie pages are not read
            _read_page_header(reader, page)
        pages.append(page)
    info["missing_bytes"] = max(0, reader.end - len(data))
    info["cut_pages"] = cut_pages
    return info, pages


def _header_in_file(reader: _Reader, header: tuple[int, int]) -> bool:
    """Whether a page header and the object list after it lie inside the file."""
    start = header[0]
    if not reader.holds((start, _PAGE_HEADER_SIZE)):
        return False
    count = reader.unpack(_PAGE_HEADER, start, "page header")[-1]
    return reader.holds((start + _PAGE_HEADER_SIZE, _OBJECT.size * count))


def _read_page_header(reader: _Reader, page: Page) -> None:
    start = page.objects[PAGE_HEADER][0]
    values = reader.unpack(_PAGE_HEADER, start, f"page {page.number} header")
    page.header = dict(zip(_HEADER_FIELDS, values, strict=True))
    count = page.header["object_count"]
    page.objects.update(reader.objects(start + _PAGE_HEADER_SIZE, count, f"page {page.number}"))
    if STRING_DATA in page.objects:
        offset, size = page.objects[STRING_DATA]
        end = min(offset + size, len(reader.data))  # a truncated file: the strings it holds
        texts = reader.strings(offset, end, page.header["string_count"])
        names = STRING_NAMES + tuple(f"string_{i}" for i in range(len(STRING_NAMES), len(texts)))
        page.strings = dict(zip(names, texts, strict=False))


def page_values(data: bytes, page: Page, path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A line page's spectra: physical values and raw values, ``(n_spectra, n_points)``.

    The third value is the page's own sweep (discrete spectroscopy pages), else None.
    """
    header, (offset, size) = page.header, page.objects[PAGE_DATA]
    n_points, n_spectra = header["x_size"], header["y_size"]
    discrete = header["line_type"] == DISCRETE_SPECTROSCOPY
    expected = 4 * n_points * (n_spectra + discrete)
    if size < expected:
        raise FormatError(
            f"{path}: page {page.number} ({page.label}) holds {size} bytes of data, expected "
            f"{expected} ({n_spectra} spectra x {n_points} points x 4 bytes)"
        )
    _rules.check_allocation(
        path, 8 * expected, len(data), f"page {page.number} of {n_spectra} x {n_points} points"
    )
    if size > expected or header["data_size"] not in (size, expected):
        warnings.warn(
            f"{path}: page {page.number} ({page.label}) holds {size} bytes of data (its header "
            f"says {header['data_size']}), but {n_spectra} spectra x {n_points} points "
            f"(+ sweep) x 4 bytes make {expected}: the page header's counts disagree with the "
            f"file; reading {n_spectra} spectra of {n_points} points",
            stacklevel=3,
        )
    floats = header["line_type"] in FLOAT_LINE_TYPES
    n_stored = stored_spectra(data, page)
    if discrete and n_stored < n_spectra:  # the sweep runs through every spectrum
        _Reader(data, path).check(offset, expected, f"page {page.number} ({page.label}) data")
    stored = np.frombuffer(data, "<f4" if floats else "<i4", n_stored * n_points, offset)
    raw = np.zeros((n_spectra + discrete) * n_points, stored.dtype)
    raw[: stored.size] = stored
    sweep = None
    if discrete:  # stored point by point: the sweep value, then every spectrum's value
        table = raw.reshape(n_points, n_spectra + 1).T
        sweep, raw = table[0].astype(np.float64), table[1:]
    raw = raw.reshape(n_spectra, n_points)
    values = raw.astype(np.float64) * header["z_scale"] + header["z_offset"]
    values[n_stored:] = np.nan
    return values, raw, sweep


def stored_spectra(data: bytes, page: Page) -> int:
    """How many whole spectra of a line page the file holds (fewer in a truncated file)."""
    offset = page.objects[PAGE_DATA][0]
    n_points = page.header["x_size"]
    discrete = page.header["line_type"] == DISCRETE_SPECTROSCOPY
    in_file = max(0, len(data) - offset) // (4 * max(n_points, 1))
    return min(page.header["y_size"] + discrete, in_file)


def spec_positions(data: bytes, page: Page, path) -> np.ndarray | None:
    """Tip position ``(X, Y)`` in m of every spectrum of a line page, ``(n_spectra, 2)``."""
    if SPEC_DRIFT_DATA not in page.objects:
        return None
    offset = page.objects[SPEC_DRIFT_DATA][0]
    n_spectra = page.header["y_size"]
    n_stored = min(n_spectra, max(0, len(data) - offset) // (4 * _SPEC_INFO))
    if n_stored == 0:
        return None
    info = np.frombuffer(data, "<f4", _SPEC_INFO * n_stored, offset).reshape(n_stored, -1)
    positions = np.full((n_spectra, 2), np.nan)
    positions[:n_stored] = info[:, 1:3]
    return positions


def settings(data: bytes, page: Page, path) -> dict:
    """The lock-in drive (object 23), lock-in (25) and Z feedback (27) settings of a page.

    Each object is numbers (uint32 string count and flags, float64 values) followed by its
    strings (units, filter, feedback type); only the objects present are read.
    """
    reader, found = _Reader(data, path), {}
    objects = {kind: obj for kind, obj in page.objects.items() if reader.holds(obj)}
    if 23 in objects:  # CH1 drive: the bias modulation of the lock-in
        offset = objects[23][0]
        _, _, amplitude, frequency, _, _ = reader.unpack(struct.Struct("<2I4d"), offset, "drive")
        unit = reader.strings(offset + 40, len(data), 1)
        found["lockin_amplitude"], found["lockin_frequency_Hz"] = amplitude, frequency
        found["lockin_amplitude_units"] = unit[0] if unit else ""
    if 25 in objects:
        offset = objects[25][0]
        *_, phase = reader.unpack(struct.Struct("<2I3d"), offset, "lock-in")
        found["lockin_phase_offset_deg"] = phase
        found["lockin_filter"] = (reader.strings(offset + 32, len(data), 1) or [""])[0]
    if 27 in objects:
        offset = objects[27][0]
        setpoint, *_ = reader.unpack(struct.Struct("<5dI"), offset, "Z feedback")
        texts = reader.strings(offset + 44, len(data), 2) + ["", ""]
        found["feedback_type"], found["feedback_setpoint_units"] = texts[:2]
        found["feedback_setpoint"] = setpoint
    return {
        key: float(value) if isinstance(value, float) else value for key, value in found.items()
    }
