"""Small deterministic grids for the explorer tests."""

from __future__ import annotations

import numpy as np
import pytest

from stswidgets import make_grid


@pytest.fixture
def small_grid():
    """A 6 x 5 grid, 24 bias points, two unmeasured pixels (NaN), values from a fixed seed."""
    rng = np.random.default_rng(3)
    bias = np.linspace(-10.0, 10.0, 24)
    values = 1.0 + 0.1 * rng.normal(size=(6, 5, 24)) + 0.02 * bias
    values[0, 0] = np.nan
    values[5, 4, 3] = np.nan
    grid = make_grid(values, bias, x_nm=0.5 * np.arange(5), y_nm=0.5 * np.arange(6), units="nS")
    return grid
