"""pipeline.segment against a hand-made defect on a flat, noisy grid."""

import numpy as np
import pytest
import xarray as xr

from stswidgets import pipeline, to_matrix
from stswidgets.analysis.segmentation import iou

BIAS = np.linspace(-5.0, 5.0, 16)
DEFECT_LAYER = 5


def make_grid(defect: bool = True, seed: int = 0) -> tuple[xr.DataArray, np.ndarray]:
    """A 24 x 24 grid of flat spectra (1.0) with small noise; a 4 x 5 defect twice as bright
    at one bias only. Returns the grid and the defect mask."""
    rng = np.random.default_rng(seed)
    values = 1.0 + 0.02 * rng.standard_normal((24, 24, BIAS.size))
    mask = np.zeros((24, 24), dtype=bool)
    mask[8:12, 10:15] = True
    if defect:
        values[mask, DEFECT_LAYER] += 1.0
    grid = xr.DataArray(
        values,
        dims=("y", "x", "bias"),
        coords={"y": 0.2 * np.arange(24), "x": 0.2 * np.arange(24), "bias": BIAS},
        attrs={"units": "nS"},
        name="didv",
    )
    return grid, mask


def test_the_energy_is_the_defect_layer_and_the_mask_the_defect():
    grid, defect = make_grid()
    result = pipeline.segment(grid, pipeline.config_for("test"))
    assert result.chosen and result.note == ""
    assert result.energy_mV == pytest.approx(BIAS[DEFECT_LAYER])
    assert int(np.argmax(result.contrast.values)) == DEFECT_LAYER
    assert result.polarity == "high"
    mask = np.asarray(result.mask)
    assert iou(mask, defect) >= 0.6  # smoothing by 1 pixel rounds the corners
    assert mask[9:11, 11:14].all()  # the core is in
    far = np.ones_like(defect)
    far[5:15, 7:18] = False
    assert not mask[far].any()  # nothing away from the defect
    assert result.fraction == pytest.approx(mask.mean())


def test_a_given_energy_is_used_at_the_nearest_bias():
    grid, _ = make_grid()
    config = pipeline.config_for("test", energy_mV=float(BIAS[2]) + 0.1)
    result = pipeline.segment(grid, config)
    assert not result.chosen
    assert result.energy_mV == pytest.approx(BIAS[2])


def test_noise_only_segments_the_best_layer_and_says_so():
    grid, _ = make_grid(defect=False)
    result = pipeline.segment(grid, pipeline.config_for("test"))
    assert "noise" in result.note
    assert result.energy_mV == pytest.approx(BIAS[int(np.argmax(result.signal_to_noise))])


def test_rows_follow_the_matrix_view_with_a_missing_pixel():
    grid, defect = make_grid()
    values = grid.values.copy()
    values[0, 0, -1] = np.nan  # an incomplete spectrum before the defect in row-major order
    values[10, 12, DEFECT_LAYER] = np.nan  # and one inside it, missing at the segmented bias
    grid = grid.copy(data=values)
    result = pipeline.segment(grid, pipeline.config_for("test"))
    X, valid = to_matrix(grid)
    rows = result.rows(valid)
    mask = np.asarray(result.mask)
    assert rows.shape == (len(X),) == (24 * 24 - 2,)
    assert not mask[10, 12]  # a pixel missing at the slice is never in the mask
    assert rows.sum() == mask.sum()
    # the flagged rows are the bright spectra at the defect layer, the others are not
    assert X[rows, DEFECT_LAYER].min() > 1.5
    assert X[~rows, DEFECT_LAYER].mean() < 1.1
