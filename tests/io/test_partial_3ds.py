"""Files that end inside a pixel (a grid still being measured) load; damaged files do not."""

from __future__ import annotations

import numpy as np
import pytest
from nanonis_files import header_lines, lockin_grid_file, payload_offset, pixel_block, raw_3ds

from stswidgets.io import FormatError, open_grid, read_3ds

NY, NX, N_BIAS = 48, 64, 41
# 2 fixed + 2 position parameters, then Current, LockinX, LockinY: 4-byte floats
PIXEL_BYTES = 4 * (4 + 3 * N_BIAS)


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    return lockin_grid_file(tmp_path_factory.mktemp("partial") / "grid.3ds", NY, NX, N_BIAS)


@pytest.mark.parametrize("fraction", [0.10, 0.37, 0.83, 0.90])
def test_copy_cut_inside_a_pixel_loads_its_complete_pixels(grid_file, tmp_path, fraction):
    data = grid_file.read_bytes()
    offset = payload_offset(data)
    cut = int(fraction * (len(data) - offset))
    n_done, into = divmod(cut, PIXEL_BYTES)
    assert into > 0  # the copy ends inside a pixel
    path = tmp_path / "copy.3ds"
    path.write_bytes(data[: offset + cut])
    full = read_3ds(grid_file)
    with pytest.warns(UserWarning, match=rf"{n_done} of {NY * NX}.*{into} bytes into pixel"):
        ds = read_3ds(path)
    measured = (np.arange(NY * NX) < n_done).reshape(NY, NX)  # raster order, row 0 first
    np.testing.assert_array_equal(ds["valid"].values, measured)
    for name in ("Current", "LockinX", "LockinY", "X (m)"):
        np.testing.assert_array_equal(ds[name].values[measured], full[name].values[measured])
        assert np.isnan(ds[name].values[~measured]).all()
    with pytest.raises(FormatError, match=rf"copy\.3ds.*{n_done} of {NY * NX}"):
        read_3ds(path, strict=True)
    with pytest.warns(UserWarning, match="still being measured"):
        grid = open_grid(path)
    np.testing.assert_array_equal(np.isfinite(grid.values).all(axis=-1), measured)


def test_text_mode_copy_of_a_partial_file_is_damage(grid_file, tmp_path):
    """LF -> CR LF: the payload stays within the size the header allows, but is shifted."""
    data = grid_file.read_bytes()
    offset = payload_offset(data)
    partial = data[: offset + (len(data) - offset) // 2 + 7]
    mangled = partial.replace(b"\n", b"\r\n")
    assert len(mangled) - offset < NY * NX * PIXEL_BYTES  # the size alone tells nothing
    path = tmp_path / "text_mode.3ds"
    path.write_bytes(mangled)
    n_lf = partial[offset:].count(b"\n")
    with pytest.raises(FormatError, match=rf"text_mode\.3ds.*CR CR LF.*{n_lf} LF bytes"):
        read_3ds(path)


def test_copy_that_turned_crlf_into_lf_is_damage(grid_file, tmp_path):
    """The reverse text-mode copy (CR LF -> LF) shortens the payload: the positions show it."""
    data = grid_file.read_bytes()
    offset = payload_offset(data)
    assert data[offset:].count(b"\r\n") > 0
    path = tmp_path / "unix_text.3ds"
    path.write_bytes(data.replace(b"\r\n", b"\n"))
    with pytest.raises(FormatError, match=r"unix_text\.3ds: pixel \d+ .*far off the scan frame"):
        read_3ds(path)


def test_lost_byte_is_damage(grid_file, tmp_path):
    """One byte lost inside pixel 5: the parameters of the pixels after it are garbage."""
    data = grid_file.read_bytes()
    at = payload_offset(data) + 5 * PIXEL_BYTES + 9
    path = tmp_path / "lost.3ds"
    path.write_bytes(data[:at] + data[at + 1 :])
    with pytest.raises(FormatError, match=r"lost\.3ds: pixel \d+ .*damaged"):
        read_3ds(path)


def test_position_far_off_the_frame_is_damage(tmp_path):
    rows, cols, pts = np.indices((2, 3, 4))
    pixels = pixel_block(2, 3, (-0.01, 0.01), [rows + 1.0, cols + 1.0])
    header = header_lines(3, 2, 4, ["Current (A)", "LIX 1 omega (A)"])
    raw_3ds(tmp_path / "near.3ds", header, pixels)
    read_3ds(tmp_path / "near.3ds")  # positions within tens of nm of the 8 x 4 nm frame
    pixels[4, 3] = 1e-3  # Y (m) of pixel 4: 1 mm
    raw_3ds(tmp_path / "far.3ds", header, pixels)
    with pytest.raises(FormatError, match=r"far\.3ds: pixel 4 .*Y = 1e\+06 nm.*off the scan"):
        read_3ds(tmp_path / "far.3ds")
