"""The shared Selection model."""

from __future__ import annotations

import numpy as np
import pytest

from stswidgets import to_matrix
from stswidgets.widgets import Selection


def test_mask_and_indices_agree_with_the_valid_pixel_order(small_grid):
    _, valid = to_matrix(small_grid)
    valid = np.asarray(valid)
    sel = Selection(valid)
    assert sel.n_valid == valid.sum() == 28
    sel.select([4, 0, 4, 2], source="test")
    np.testing.assert_array_equal(sel.indices, [0, 2, 4])
    assert sel.source == "test"
    # rows 0, 2, 4 of X are the 1st, 3rd, 5th valid pixels in row-major order
    pixels = np.argwhere(valid)[[0, 2, 4]]
    expected = np.zeros_like(valid)
    expected[tuple(pixels.T)] = True
    np.testing.assert_array_equal(sel.mask, expected)
    np.testing.assert_array_equal(np.flatnonzero(sel.flags), [0, 2, 4])


def test_mask_setter_ignores_invalid_pixels_and_notifies_once(small_grid):
    _, valid = to_matrix(small_grid)
    sel = Selection(valid)
    changes = []
    sel.observe(changes.append, names="indices")
    mask = np.zeros(valid.shape, dtype=bool)
    mask[0, :] = True  # (0, 0) is not measured
    sel.mask = mask
    assert sel.indices.size == 4
    assert len(changes) == 1
    sel.select(sel.indices.copy())  # same selection: no notification
    assert len(changes) == 1
    sel.clear()
    assert sel.indices.size == 0 and len(changes) == 2


def test_bad_input_gives_clear_errors(small_grid):
    _, valid = to_matrix(small_grid)
    sel = Selection(valid)
    with pytest.raises(ValueError, match="must lie in"):
        sel.select([0, 28])
    with pytest.raises(ValueError, match="expected"):
        sel.select_mask(np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="2D"):
        Selection(np.ones(4, dtype=bool))
