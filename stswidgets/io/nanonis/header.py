"""Text header of Nanonis files: ``key=value`` lines up to a end tag.

Values are converted once, the same way for every key: an integer literal becomes ``int`` (not
when zero-padded, ``007``), any other number (``2E-3``, ``Inf``, ``NaN``) ``float``, everything
else stays a ``str`` with its
surrounding double quotes removed (lists such as ``"Current (A);LockinX (V)"`` stay one string
separated by ``;``). Lines end in CRLF; a quoted value may span several lines (bare LF inside).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from stswidgets.io.errors import FormatError

HEADER_END = b":HEADER_END:"

_LINE_END = re.compile(rb"\r{0,2}\n")
_INT = re.compile(r"[+-]?\d+")
_PADDED = re.compile(r"[+-]?0\d+")
_UNIT = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)$")


def parse_value(text: str) -> int | float | str:
    """Convert one header value: int, float, or the string without surrounding quotes."""
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1]
    if _PADDED.fullmatch(text):  # "007" is a name or counter, not a number
        return text
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def format_value(value) -> str:
    """Inverse of :func:`parse_value` (up to quoting and number formatting)."""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Inf" if value > 0 else "-Inf"
        return repr(value)
    if isinstance(value, list | tuple | np.ndarray):
        value = ";".join(str(v) for v in np.ravel(value))
    text = str(value)
    if parse_value(text) != text or re.search(r"\s", text):
        return f'"{text}"'
    return text


def split_unit(name: str) -> tuple[str, str]:
    """Split ``"LIX 1 omega [bwd] (A)"`` into name and unit (``""`` when there is none)."""
    match = _UNIT.match(name.strip())
    if match is None or not match["name"]:
        return name.strip(), ""
    return match["name"], match["unit"]


def split_list(value) -> list[str]:
    """Split a ``;``-separated header list; an empty value gives an empty list."""
    text = "" if value is None else str(value)
    return [item.strip() for item in text.split(";") if item.strip()]


def parse_header(data: bytes, path: Path | str) -> tuple[dict, int]:
    """Parse the header at the start of ``data``.

    Returns
    -------
    header : dict
        Keys as in the file, values converted by :func:`parse_value`, in file order.
    offset : int
        Byte offset of the binary payload (just after ``:HEADER_END:`` and its line end).

    Raises
    ------
    FormatError
        When the end tag is missing or a line is not ``key=value``.
    """
    end = data.find(HEADER_END)
    if end < 0:
        raise FormatError(
            f"{path}: no ':HEADER_END:' tag found in {len(data)} bytes; "
            "this is not a complete Nanonis .3ds file"
        )
    offset = end + len(HEADER_END)
    line_end = _LINE_END.match(data, offset)  # CRLF; CR CR LF after a text-mode copy
    if line_end is not None:
        offset = line_end.end()
    raw = data[:end]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")

    header: dict = {}
    pending = ""
    for line in text.split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        pending = f"{pending}\n{line}" if pending else line
        value = pending.partition("=")[2].lstrip()
        if value.startswith('"') and value.count('"') % 2:  # quoted value goes on
            continue
        if pending.strip():
            key, sep, value = pending.partition("=")
            if not sep or not key.strip():
                raise FormatError(f"{path}: header line {pending!r} is not of the form key=value")
            header[key.strip()] = parse_value(value)
        pending = ""
    if pending.strip():
        raise FormatError(f"{path}: header value {pending!r} opens a quote that never closes")
    return header, offset


def format_header(header: dict) -> bytes:
    """Header bytes for ``header`` (CRLF lines, end tag included)."""
    lines = [f"{key}={format_value(value)}" for key, value in header.items()]
    return ("\r\n".join([*lines, HEADER_END.decode()]) + "\r\n").encode("utf-8")
