"""Damaged copies of RHK spectra that are not on a grid (the real point file, a written line):
read_sm4 gives a Dataset or a FormatError naming the file, nothing else; data lost from the
end, and counts edited against the file, never pass without a warning naming the file."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
from fuzz_cases import cases, mutate
from nanonis_files import real_file
from test_rhk_points import POINTS, _line_file

from stswidgets.io import FormatError
from stswidgets.io.rhk import read_sm4

# byte offsets in the real point file: the file header's page count, page 0's header (its
# x size, y size, grid x/y size and object count fields)
PAGE_COUNT_AT = 38
PAGE0_AT = 5242
FIELDS = {"x_size": 24, "y_size": 28, "grid_x_size": 104, "grid_y_size": 108, "object_count": 112}


def _open(path):
    """``("dataset" | "FormatError", names the file, messages)``; other exceptions escape.
    The dataset holds spectra, or a grid where an edit made the header record one."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = read_sm4(path)
        except FormatError as error:
            return "FormatError", str(path) in str(error), str(error)
    messages = " | ".join(str(w.message) for w in caught)
    assert set(ds["valid"].dims) in ({"spectrum"}, {"y", "x"}), messages
    valid = ds["valid"].values
    for name, var in ds.data_vars.items():  # a spectrum marked valid is finite everywhere
        if var.ndim == valid.ndim + 1:
            assert np.isfinite(var.values[valid]).all(), f"{name}: {messages}"
    return "dataset", str(path) in messages, messages


def _sweep(tmp_path, data: bytes, other: bytes) -> list[str]:
    problems = []
    for k, mutation in enumerate(cases(data, seed=7, other=other)):
        path = tmp_path / f"case{k}.sm4"
        path.write_bytes(mutate(data, mutation, other, 7))
        try:
            outcome, named, detail = _open(path)
        except Exception as error:  # noqa: BLE001 - every escape is reported
            problems.append(f"{mutation[0]}: {type(error).__name__}: {error}")
            continue
        if outcome == "FormatError" and not named:
            problems.append(f"{mutation[0]}: FormatError without the file: {detail}")
        if outcome == "dataset" and mutation[1] == "truncate" and not named:
            problems.append(f"{mutation[0]}: a truncated file read without a warning")
    return problems


def test_damaged_point_file(tmp_path):
    data = real_file(POINTS).read_bytes()
    other = real_file("vendors/rhk_dIdV_9K_ABC6_grid.sm4").read_bytes()[:50000]
    assert _sweep(tmp_path, data, other) == []


def test_damaged_line_file(tmp_path):
    path, *_ = _line_file(tmp_path, alternating=True)
    data = path.read_bytes()
    assert _sweep(tmp_path, data, data[::-1]) == []


@pytest.mark.parametrize("cut", [100, 1000, 5300, 6200, 12000, 17000, 22200, 30000, 37000])
def test_truncated_point_file(tmp_path, cut):
    """Cut at offsets through headers, both pages' data and the objects at the end."""
    path = tmp_path / "cut.sm4"
    path.write_bytes(real_file(POINTS).read_bytes()[:cut])
    outcome, named, detail = _open(path)
    assert named, detail
    if outcome == "dataset":
        assert "truncated" in detail or "incomplete" in detail


@pytest.mark.parametrize(
    ("edits", "outcome", "says"),
    [
        ({"page_count": 1}, "dataset", "the file header counts 1 pages, the page index 2"),
        ({"page_count": 24}, "dataset", "the file header counts 24 pages"),
        ({"object_count": 1}, "dataset", "list different numbers of objects"),
        ({"y_size": 1}, "dataset", "holds 11544 bytes of data"),
        ({"y_size": 3}, "dataset", "3 spectra x 481 points"),
        ({"y_size": 7}, "FormatError", "expected 13468"),
        ({"y_size": 0xFFFFFFFF}, "FormatError", "edited.sm4"),
        ({"x_size": 1}, "FormatError", "1 point(s) per spectrum"),
        ({"x_size": 480}, "dataset", "6 spectra x 480 points"),
        ({"x_size": 0x7FFFFFFF}, "FormatError", "edited.sm4"),
        ({"grid_x_size": 3, "grid_y_size": 2}, "dataset", "recorded at one spot"),
        ({"grid_x_size": 3, "grid_y_size": 3}, "dataset", "aborted grid, 8 of 9 spectra"),
        ({"grid_x_size": 0xFFFFFFFF, "grid_y_size": 5000}, "dataset", None),
        ({"grid_x_size": 2}, "dataset", None),
    ],
)
def test_point_file_counts_edited(tmp_path, edits, outcome, says):
    """A count that disagrees with the file: a FormatError, or a warning naming the mismatch;
    never a different arrangement without a word. Edits that leave no count disagreeing with
    the file (``says=None``; a grid size with a -1 or a 0 in it is no grid) read the same 6
    repeats."""
    data = bytearray(real_file(POINTS).read_bytes())
    for field, value in edits.items():
        at = PAGE_COUNT_AT if field == "page_count" else PAGE0_AT + FIELDS[field]
        struct.pack_into("<I", data, at, value)
    path = tmp_path / "edited.sm4"
    path.write_bytes(bytes(data))
    found, named, detail = _open(path)
    assert found == outcome, detail
    if says is None:
        ds = read_sm4(path)
        assert ds.sizes["spectrum"] == 6 and ds.attrs["geometry"] == "repeats"
        assert np.isfinite(ds["LIA_Current"].values).all()
    else:
        assert named and says in detail, detail
