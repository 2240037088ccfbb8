"""Defect-centred radial profiles and the transition kept near the defects (issue 19)."""

import numpy as np
import pytest
import xarray as xr

from stswidgets import pipeline
from stswidgets.analysis.profiles import (
    binned_profile,
    centre_distance,
    defect_centres,
    fit_decay,
)


def _grid(ny=40, nx=50, pixel=0.25, n_bias=8):
    return xr.DataArray(
        np.zeros((ny, nx, n_bias)),
        dims=("y", "x", "bias"),
        coords={"y": np.arange(ny) * pixel, "x": np.arange(nx) * pixel, "bias": np.arange(n_bias)},
    )


def test_centres_are_region_centroids_per_kind():
    labels = np.zeros((20, 30), int)
    labels[2:5, 3:6] = 2  # 3 x 3 square, centroid (3, 4)
    labels[10:12, 20:24] = 3  # 2 x 4, centroid (10.5, 21.5)
    labels[15, 15] = 2  # a single pixel: not a defect
    labels[0, 29] = 1  # transition: not a defect
    centres, kinds, sizes = defect_centres(labels)
    order = np.argsort(kinds)
    np.testing.assert_allclose(centres[order], [[3.0, 4.0], [10.5, 21.5]])
    assert kinds[order].tolist() == [2, 3] and sizes[order].tolist() == [9, 8]


def test_centre_distance_against_brute_force():
    centres = np.array([[3.0, 4.0], [10.5, 21.5]])
    distance, nearest = centre_distance((20, 30), centres, (0.2, 0.5))
    for i, j in [(0, 0), (19, 29), (10, 10), (3, 4)]:
        d = [np.hypot((i - cy) * 0.2, (j - cx) * 0.5) for cy, cx in centres]
        assert distance[i, j] == pytest.approx(min(d))
        assert nearest[i, j] == int(np.argmin(d))
    none, index = centre_distance((2, 2), np.empty((0, 2)))
    assert np.isinf(none).all() and (index == -1).all()


def test_binned_profile_and_decay_fit_recover_the_decay_length():
    rng = np.random.default_rng(0)
    r = rng.uniform(0, 10, 20000)
    s = 1.0 + 5.0 * np.exp(-(r - 1.0) / 1.5) + rng.normal(0, 0.2, r.size)
    edges = np.linspace(0, 10, 41)
    median, spread, counts = binned_profile(r, s, edges)
    assert counts.sum() == r.size and np.all(spread > 0)
    fit = fit_decay(0.5 * (edges[1:] + edges[:-1]), median, r0=1.0, weights=counts)
    assert fit.ok
    assert fit.decay_length == pytest.approx(1.5, rel=0.05)
    assert fit.background == pytest.approx(1.0, abs=0.05)
    assert fit(1.0) == pytest.approx(6.0, rel=0.05)
    flat = fit_decay(np.arange(10.0), np.ones(10), r0=0.0)  # no decay: not ok
    assert not flat.ok or flat.amplitude == pytest.approx(0.0, abs=1e-6)


def test_defect_profiles_and_the_transition_that_hugs_the_defects():
    """Two defects (kind regions) with a score decaying away from them, and transition pixels
    near them and far from them: the far ones go to the majority."""
    grid = _grid()
    ny, nx = grid.shape[:2]
    valid = np.ones((ny, nx), bool)
    yy, xx = np.indices((ny, nx))
    d_pix = np.minimum(np.hypot(yy - 10, xx - 10), np.hypot(yy - 30, xx - 38))
    distance_nm = 0.25 * d_pix
    rng = np.random.default_rng(1)
    score = 1.0 + 8.0 * np.exp(-distance_nm / 0.8) + rng.normal(0, 0.1, (ny, nx))
    labels = np.zeros((ny, nx), int)
    labels[d_pix <= 2] = 2
    labels[(d_pix > 2) & (score > 1.5)] = 1
    labels[0:3, 45:50] = 1  # far from both defects: must not stay transition
    X = np.repeat(score[..., None], 8, axis=2).reshape(-1, 8)
    prof = pipeline.defect_profiles(score.ravel(), X, grid, valid, labels=labels.ravel())
    assert prof.n_defects == 2
    np.testing.assert_allclose(sorted(map(tuple, prof.centres)), [(2.5, 2.5), (7.5, 9.5)])
    np.testing.assert_allclose(prof.distance, distance_nm.ravel(), atol=1e-9)
    assert prof.fit.ok and prof.fit.decay_length == pytest.approx(0.8, rel=0.2)
    assert prof.reach == pytest.approx(prof.core_radius + 3 * prof.fit.decay_length)
    # spectra binned: here every spectrum is its score repeated, so the bins agree
    good = prof.counts > 0
    assert np.all(np.diff(prof.score_median[good][:4]) < 0)  # falls off from the centre
    hugged = pipeline.hug_defects(labels.ravel(), score.ravel(), prof).reshape(ny, nx)
    assert (hugged[0:3, 45:50] == 0).all()
    near = (labels == 1) & (distance_nm <= prof.reach) & (score > prof.far_band)
    assert (hugged[near] == 1).all()
    assert (hugged[labels == 2] == 2).all()
    # no defect: nothing is transition
    empty = pipeline.defect_profiles(score.ravel(), X, grid, valid, labels=np.zeros(ny * nx))
    assert empty.n_defects == 0
    assert (pipeline.hug_defects(labels.ravel(), score.ravel(), empty) != 1).all()
    with pytest.raises(ValueError, match="labels or the centres_nm"):
        pipeline.defect_profiles(score.ravel(), X, grid, valid)
    given = pipeline.defect_profiles(score.ravel(), X, grid, valid, centres_nm=[[2.5, 2.5]])
    assert given.n_defects == 1 and given.distance.min() == pytest.approx(0.0)


def test_old_results_with_band_are_read_as_site_class(tmp_path):
    from stswidgets.results import load_results

    old = xr.Dataset(
        {
            "band": (("y", "x"), np.array([[0, 1], [2, -1]], dtype=np.int8)),
            "band_mean": (("band_name", "bias"), np.ones((3, 4))),
        },
        coords={"band_name": ["majority", "transition", "minority"]},
    )
    old.to_netcdf(tmp_path / "results.nc")
    with pytest.warns(UserWarning, match="'band' as 'site_class'"):
        ds = load_results(tmp_path)
    assert "band" not in ds and ds["site_class"].values.tolist() == [[0, 1], [2, -1]]
    assert ds["site_class_mean"].dims == ("site_class_name", "bias")
