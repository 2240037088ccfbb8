"""The randomized simulator family `datasets.random_grid`: determinism, ranges, truth, physics."""

import json

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import distance_transform_edt

from stswidgets import datasets, validate_grid

RANGES = datasets.RANDOM_RANGES


def _kinds(ds):
    return json.loads(ds.attrs["kinds"])


def _means(ds):
    """Mean spectrum of the surface (kind 0, not transition) and of each kind, valid pixels only."""
    didv, kind = ds["didv"].values, ds["kind"].values
    valid, transition = ds["valid"].values, ds["transition"].values
    surface = didv[valid & (kind == 0) & ~transition].mean(axis=0)
    return surface, [
        didv[valid & (kind == j)].mean(axis=0) for j in range(1, ds.attrs["n_kinds"] + 1)
    ]


def test_same_seed_gives_identical_data_and_another_seed_does_not():
    a = datasets.random_grid(5, shape=(20, 24), n_bias=64)
    b = datasets.random_grid(5, shape=(20, 24), n_bias=64)
    c = datasets.random_grid(6, shape=(20, 24), n_bias=64)
    assert a.identical(b)
    assert a.attrs["delta_mV"] != c.attrs["delta_mV"]
    assert not np.allclose(a["didv"].values[:4], c["didv"].values[:4], equal_nan=True)


def test_given_shape_and_n_bias_fix_the_sampling_not_the_physics():
    drawn = datasets.random_grid(11)
    fixed = datasets.random_grid(11, shape=(18, 30), n_bias=80)
    assert drawn["didv"].dims == ("y", "x", "bias")
    assert drawn["didv"].shape == (drawn.attrs["ny"], drawn.attrs["nx"], drawn.attrs["n_bias"])
    assert fixed["didv"].shape == (18, 30, 80)
    for key in ("delta_mV", "noise", "setpoint_drift", "n_kinds", "bias_low_mV", "pixel_nm"):
        assert drawn.attrs[key] == fixed.attrs[key], key
    assert [k["archetype"] for k in _kinds(drawn)] == [k["archetype"] for k in _kinds(fixed)]
    small = datasets.random_grid(11, size_range=(20, 24))
    assert 20 <= small.attrs["ny"] <= 24 and 20 <= small.attrs["nx"] <= 24
    validate_grid(fixed["didv"])
    assert fixed["bias"].attrs["units"] == "mV" and fixed["x"].attrs["units"] == "nm"
    assert fixed["bias"].values[0] == pytest.approx(fixed.attrs["bias_low_mV"])
    assert fixed["bias"].values[-1] == pytest.approx(fixed.attrs["bias_high_mV"])


def test_drawn_parameters_stay_in_their_documented_ranges_over_50_seeds():
    seen_kinds, seen_archetypes, aborted, sizes, n_bias = set(), set(), 0, set(), []
    for seed in range(50):
        ds = datasets.random_grid(seed, size_range=(8, 14))
        attrs, kinds = ds.attrs, _kinds(ds)
        json.dumps(attrs)  # JSON-serialisable as promised
        for key, (lo, hi) in RANGES.items():
            if key in attrs and key not in ("missing_fraction", "ny", "nx"):
                assert lo <= attrs[key] <= hi, (seed, key, attrs[key])
        lo, hi = RANGES["missing_fraction"]
        assert attrs["missing_fraction"] == 0 or lo <= attrs["missing_fraction"] <= hi
        assert attrs["n_missing"] == int(attrs["missing_fraction"] * attrs["ny"] * attrs["nx"])
        assert attrs["noise"] >= 0.01 and attrs["setpoint_drift"] <= 0.10
        delta = attrs["delta_mV"]
        assert -12 * delta <= attrs["bias_low_mV"] <= -3 * delta
        assert 3 * delta <= attrs["bias_high_mV"] <= 12 * delta
        assert len(kinds) == attrs["n_kinds"]
        assert len({k["archetype"] for k in kinds}) == len(kinds)  # distinct signatures
        for k in kinds:
            for key in ("core_radius_nm", "ring_width_nm", "lobe_separation_nm"):
                assert RANGES[key][0] <= k[key] <= RANGES[key][1], (seed, key)
            assert k["contrast"] >= RANGES["signature_contrast"][0]
            assert k["count"] >= 1 and k["core_pixels"] >= 1
        # kinds numbered by decreasing abundance
        counts = [k["core_pixels"] for k in kinds]
        assert counts == sorted(counts, reverse=True)
        assert counts == [
            int(((ds["kind"] == j) & ds["valid"]).sum()) for j in range(1, len(kinds) + 1)
        ]
        seen_kinds.add(attrs["n_kinds"])
        seen_archetypes |= {k["archetype"] for k in kinds}
        aborted += attrs["n_missing"] > 0
        sizes.add(ds["didv"].shape[:2])
        n_bias.append(attrs["n_bias"])
    assert seen_kinds == {1, 2, 3}
    assert seen_archetypes == set(datasets.ARCHETYPES)
    assert 5 <= aborted <= 30  # some grids are incomplete, most are not
    assert any(ny != nx for ny, nx in sizes)  # non-square maps
    assert min(n_bias) < 128 and max(n_bias) > 512
    assert all(8 <= s <= 14 for shape in sizes for s in shape)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_ground_truth_is_consistent(seed):
    ds = datasets.random_grid(seed, shape=(40, 52), n_bias=96)
    kind, transition = ds["kind"].values, ds["transition"].values
    weight, valid = ds["defect_weight"].values, ds["valid"].values
    assert kind.dtype.kind == "i" and transition.dtype == bool and valid.dtype == bool
    assert set(np.unique(kind[valid])) == set(range(ds.attrs["n_kinds"] + 1))
    assert not (transition & (kind > 0)).any()
    # the thresholds: cores above 0.6, rings in (0.15, 0.6], surface at most 0.15
    assert (weight[transition] > 0.15).all() and (weight[transition] <= 0.6).all()
    assert (weight[(kind == 0) & ~transition] <= 0.15).all()
    # every transition pixel is near a defect core: within the largest ring plus a dumbbell
    reach_nm = max(
        k["core_radius_nm"] + k["ring_width_nm"] + k["lobe_separation_nm"] for k in _kinds(ds)
    )
    distance_nm = distance_transform_edt(kind == 0) * ds.attrs["pixel_nm"]
    assert distance_nm[transition].max() <= reach_nm
    # the surface is the majority
    assert ((kind == 0) & ~transition)[valid].mean() > 0.4


def test_every_kind_carries_its_own_signature_well_above_the_noise():
    checked = 0
    for seed in range(8):
        ds = datasets.random_grid(seed, shape=(48, 56), n_bias=128)
        surface, kinds = _means(ds)
        noise = ds.attrs["noise"]
        for j, mean in enumerate(kinds, start=1):
            n_pixels = int(((ds["kind"] == j) & ds["valid"]).sum())
            difference = np.sqrt(np.mean((mean - surface) ** 2))
            assert difference > 0.04 * np.sqrt(np.mean(surface**2)), (seed, j)
            assert difference > 5 * noise / np.sqrt(n_pixels), (seed, j)
            for other in kinds[j:]:  # kinds differ from each other, too
                assert np.sqrt(np.mean((mean - other) ** 2)) > 0.04, (seed, j)
            checked += 1
    assert checked >= 12


def test_archetypes_sit_on_opposite_sides_inside_the_gap():
    """In-gap states add weight inside the gap, gap enhancement removes it (independent means)."""
    found = set()
    for seed in range(40):
        ds = datasets.random_grid(seed, shape=(40, 40), n_bias=256)
        kinds = _kinds(ds)
        surface, means = _means(ds)
        bias = ds["bias"].values
        inside = np.abs(bias) < 0.5 * ds.attrs["delta_mV"]
        for k, mean in zip(kinds, means, strict=True):
            gain = mean[inside].mean() - surface[inside].mean()
            if k["archetype"] == "in_gap_states":
                assert gain > 0.05, seed
                found.add(k["archetype"])
            elif k["archetype"] == "gap_enhancement":
                assert gain < 0, seed
                found.add(k["archetype"])
    assert found == {"in_gap_states", "gap_enhancement"}


def test_incomplete_scans_are_nan_at_the_end_and_marked_invalid():
    seeds = [
        s for s in range(30) if datasets.random_grid(s, shape=(8, 8), n_bias=16).attrs["n_missing"]
    ]
    assert seeds
    ds = datasets.random_grid(seeds[0], shape=(30, 20), n_bias=32)
    valid = ds["valid"].values.ravel()
    n_missing = ds.attrs["n_missing"]
    assert n_missing > 0 and (~valid).sum() == n_missing
    assert not valid[-n_missing:].any() and valid[:-n_missing].all()  # trailing, row-major
    flat = ds["didv"].values.reshape(-1, ds.sizes["bias"])
    assert np.isnan(flat[~valid]).all() and np.isfinite(flat[valid]).all()


def test_setpoint_drift_and_noise_have_the_drawn_size():
    for seed in range(30):  # the physics does not depend on the shape: choose on a tiny one
        attrs = datasets.random_grid(seed, shape=(4, 4), n_bias=16).attrs
        if attrs["setpoint_drift"] > 0.06 and attrs["missing_fraction"] == 0:
            break
    ds = datasets.random_grid(seed, shape=(64, 48), n_bias=1024)
    didv = ds["didv"].values
    clean = (ds["kind"].values == 0) & ~ds["transition"].values
    # line factor: mean of the clean pixels of each line over the map-wide surface mean
    line = np.array([didv[i][clean[i]].mean() for i in range(didv.shape[0])])
    log_line = np.log(line / line.mean())
    slope = np.polyfit(np.linspace(-0.5, 0.5, len(line)), log_line, 1)[0]
    expected = ds.attrs["setpoint_drift"] * (1 - ds.attrs["setpoint_jitter_share"])
    assert abs(slope) == pytest.approx(expected, abs=0.02)
    # white noise: the difference of neighbouring bias points of a fine axis is ~ sqrt(2) sigma
    spread = np.diff(didv[clean], axis=1).std() / np.sqrt(2)
    assert spread == pytest.approx(ds.attrs["noise"], rel=0.25)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="n_bias must be >= 16"):
        datasets.random_grid(0, n_bias=4)
    with pytest.raises(ValueError, match="shape must be two ints"):
        datasets.random_grid(0, shape=(1, 5))
    with pytest.raises(ValueError, match="size_range"):
        datasets.random_grid(0, size_range=(10, 4))


def test_random_grid_survives_a_netcdf_round_trip(tmp_path):
    ds = datasets.random_grid(3, shape=(12, 10), n_bias=20)
    ds.to_netcdf(tmp_path / "random.nc")
    with xr.open_dataset(tmp_path / "random.nc") as back:
        back = back.load()
    np.testing.assert_array_equal(back["kind"].values, ds["kind"].values)
    np.testing.assert_array_equal(back["didv"].values, ds["didv"].values)
    assert json.loads(back.attrs["kinds"]) == _kinds(ds)
