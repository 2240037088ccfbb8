"""The simulated FeSe-like grid and the Fig. 1 toy family: structure, ground truth, physics."""

import json

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from stswidgets import datasets, validate_grid

SHAPE = (64, 64)
N_BIAS = 256

#: Documented ranges of the ground-truth pixel fractions per condition (64 x 64 and larger maps).
FRACTIONS = {
    "sparse_vacancies": {"vacancy": (0.02, 0.04), "transition": (0.06, 0.12)},
    "dense_vacancies": {"vacancy": (0.10, 0.15), "transition": (0.30, 0.45)},
    "two_defect_kinds": {"vacancy": (0.02, 0.04), "transition": (0.06, 0.12)},
    "setpoint_drift": {"vacancy": (0.02, 0.04), "transition": (0.06, 0.12)},
}


@pytest.fixture(scope="module")
def default():
    return datasets.fese_like(seed=3, shape=SHAPE, n_bias=512)


def _regions(ds):
    vacancy = ds["vacancy"].values
    transition = ds["transition"].values
    surface = ~(vacancy | transition)
    if "other_defect" in ds:
        surface &= ~ds["other_defect"].values
    return vacancy, transition, surface


def test_same_seed_gives_identical_data_and_another_seed_does_not():
    a = datasets.fese_like(seed=5, shape=(24, 20), n_bias=64)
    b = datasets.fese_like(seed=5, shape=(24, 20), n_bias=64)
    c = datasets.fese_like(seed=6, shape=(24, 20), n_bias=64)
    assert a.identical(b)
    assert not np.array_equal(a["didv"].values, c["didv"].values)


def test_grid_dims_coords_and_attrs(default):
    grid = validate_grid(default["didv"])
    assert grid.dims == ("y", "x", "bias")
    assert grid.shape == (*SHAPE, 512)
    bias = grid["bias"].values
    assert bias[0] == pytest.approx(-15.0) and bias[-1] == pytest.approx(15.0)
    assert np.all(np.diff(bias) > 0)
    pixel = np.diff(grid["x"].values)
    assert np.allclose(pixel, pixel[0]) and 0.2 <= pixel[0] <= 0.3
    assert np.allclose(np.diff(grid["y"].values), pixel[0])
    assert grid["x"].attrs["units"] == "nm" and grid["bias"].attrs["units"] == "mV"
    assert grid.attrs["units"] == "a.u." and grid.attrs["channel"] == "didv"
    assert grid.attrs["source"] == "stswidgets.datasets.fese_like(seed=3)"
    assert np.isfinite(grid.values).all()
    for name in ("vacancy", "transition", "defect_weight"):
        assert default[name].dims == ("y", "x")
        np.testing.assert_array_equal(default[name]["x"].values, grid["x"].values)
    assert default["vacancy"].dtype == bool and default["transition"].dtype == bool
    assert default.attrs["suppressed_window_mV"] == [-12.0, -4.0]
    assert default.attrs["enhanced_window_mV"] == [4.0, 10.0]
    assert "other_defect" not in default


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="n_bias"):
        datasets.fese_like(n_bias=1)
    with pytest.raises(ValueError, match="bias_range_mV"):
        datasets.fese_like(bias_range_mV=(5, -5))
    with pytest.raises(ValueError, match="n_missing must be in"):
        datasets.fese_like(shape=(4, 4), n_missing=16)
    with pytest.raises(ValueError, match="unknown condition 'nope'"):
        datasets.condition("nope")


@pytest.mark.parametrize("seed", [2, 5])
@pytest.mark.parametrize("name", sorted(datasets.CONDITIONS))
def test_ground_truth_is_consistent_for_every_condition(name, seed):
    ds = datasets.condition(name, seed=seed, shape=SHAPE, n_bias=16)
    vacancy, transition, surface = _regions(ds)
    weight = ds["defect_weight"].values
    assert not (vacancy & transition).any()
    assert ((weight >= 0) & (weight <= 1)).all()
    for region in ("vacancy", "transition"):
        lo, hi = FRACTIONS[name][region]
        assert lo <= ds[region].values.mean() <= hi, region
    assert weight[vacancy].mean() > weight[transition].mean() > weight[surface].mean()
    # the thresholds that define the regions
    assert (weight[vacancy] > ds.attrs["vacancy_threshold"]).all()
    assert (weight[transition] <= ds.attrs["vacancy_threshold"]).all()
    vacancy_ring = transition & (weight > ds.attrs["transition_threshold"])
    # the shared contract: kind, ring = non-core pixels within core radius + 3 healing lengths
    kinds = json.loads(ds.attrs["kinds"])
    distance, nearest = ds["defect_distance_nm"].values, ds["nearest_kind"].values
    np.testing.assert_array_equal(ds["kind"].values == 1, vacancy)
    reach = [k["core_radius_nm"] + 3 * k["healing_length_nm"] for k in kinds]
    assert (distance[transition] < max(reach) + 1e-9).all()
    np.testing.assert_array_equal(datasets.truth_regions(ds).values[vacancy], 2)
    np.testing.assert_array_equal(datasets.truth_regions(ds).values[transition], 1)
    assert ds.attrs["healing_length_nm"] == max(k["healing_length_nm"] for k in kinds)
    if name == "two_defect_kinds":
        other = ds["other_defect"].values
        assert 0.005 < other.mean() < 0.05
        assert not (other & (vacancy | transition)).any()
        np.testing.assert_array_equal(ds["kind"].values == 2, other)
        # ring pixels outside the vacancy rings belong to the second kind's rings
        assert (nearest[transition & ~vacancy_ring] == 2).all()
        assert (distance[transition & ~vacancy_ring] < reach[1] + 1e-9).all()
    else:
        np.testing.assert_array_equal(transition, vacancy_ring)
        # the vacancy's ring edge sits at core radius + 3 healing lengths from a lobe centre
        assert distance[transition].max() < reach[0] + 1e-9
        assert distance[surface].min() >= reach[0] - 0.01


def _broadened_dynes_peak(delta, gamma, broadening, step=0.001):
    """Energy of the coherence peak of a Gaussian-broadened Dynes DOS (independent numpy)."""
    e = np.arange(0.5, 6.0, step)
    z = e - 1j * gamma
    dos = np.abs(np.real(z / np.sqrt(z**2 - delta**2)))
    return e[np.argmax(gaussian_filter1d(dos, broadening / step))]


def test_surface_coherence_peaks_sit_at_plus_minus_delta(default):
    _, _, surface = _regions(default)
    bias = default["bias"].values
    step = bias[1] - bias[0]
    mean = default["didv"].values[surface].mean(axis=0)
    delta = default.attrs["delta_mV"]
    expected = _broadened_dynes_peak(delta, default.attrs["dynes_gamma_mV"], 0.1)
    for sign in (-1, 1):
        side = sign * bias > 0.5
        peak = abs(bias[side][np.argmax(mean[side])])
        assert abs(peak - expected) <= 2 * step
        assert abs(peak - delta) < 0.25
    # a gap: the zero-bias conductance is a small fraction of the peaks
    assert mean[np.argmin(abs(bias))] < 0.2 * mean.max()


def test_vacancy_spectra_carry_in_gap_states_and_bound_state_peaks(default):
    vacancy, transition, surface = _regions(default)
    X = default["didv"].values
    bias = default["bias"].values
    in_gap = np.abs(bias) < 1.5
    weight = [X[mask][:, in_gap].mean() for mask in (vacancy, transition, surface)]
    assert weight[0] > 3 * weight[2]
    assert weight[0] > weight[1] > weight[2]
    # bound states: the mean vacancy spectrum peaks at +-E_b, above zero bias and above the
    # conductance 0.4 mV further out (towards the suppressed coherence peaks)
    mean = gaussian_filter1d(X[vacancy].mean(axis=0), 2)
    e_b = default.attrs["bound_state_mV"]

    def at(energy):
        return mean[np.argmin(np.abs(bias - energy))]

    for sign in (-1, 1):
        near = np.abs(bias - sign * e_b) < 0.3
        window = np.abs(bias - sign * e_b) < 0.6
        assert near[window][np.argmax(mean[window])]
        assert at(sign * e_b) > at(0.0) + 0.2
        assert at(sign * e_b) > at(sign * (e_b + 0.4)) + 0.02


def test_spectral_weight_windows_recorded_in_attrs_show_transfer(default):
    vacancy, _, surface = _regions(default)
    X = default["didv"].values
    bias = default["bias"].values
    difference = X[vacancy].mean(axis=0) - X[surface].mean(axis=0)
    lo, hi = default.attrs["suppressed_window_mV"]
    suppressed = difference[(bias >= lo) & (bias <= hi)]
    lo, hi = default.attrs["enhanced_window_mV"]
    enhanced = difference[(bias >= lo) & (bias <= hi)]
    assert suppressed.mean() < -0.1 and enhanced.mean() > 0.1
    # across the whole grid the two windows are anti-correlated once the setpoint factor is
    # divided out (each spectrum over its mean)
    Y = X.reshape(-1, bias.size) / X.reshape(-1, bias.size).mean(axis=1, keepdims=True)
    s_lo, s_hi = default.attrs["suppressed_window_mV"]
    e_lo, e_hi = default.attrs["enhanced_window_mV"]
    filled = Y[:, (bias >= s_lo) & (bias <= s_hi)].mean(axis=1)
    empty = Y[:, (bias >= e_lo) & (bias <= e_hi)].mean(axis=1)
    assert np.corrcoef(filled, empty)[0, 1] < -0.5


def test_noise_is_white_with_the_requested_level():
    # the noise is the last draw of the generator: the same seed with noise=0 is the clean grid
    noisy = datasets.fese_like(seed=4, shape=(20, 20), n_bias=128, noise=0.06)
    clean = datasets.fese_like(seed=4, shape=(20, 20), n_bias=128, noise=0.0)
    residual = (noisy["didv"] - clean["didv"]).values
    assert residual.std() == pytest.approx(0.06, rel=0.05)
    assert abs(np.corrcoef(residual[..., :-1].ravel(), residual[..., 1:].ravel())[0, 1]) < 0.05


def test_setpoint_drift_makes_a_smooth_gradient_across_the_map():
    drift = datasets.condition("setpoint_drift", seed=0, shape=SHAPE, n_bias=64, noise=0.0)
    flat = datasets.condition(
        "setpoint_drift", seed=0, shape=SHAPE, n_bias=64, noise=0.0, setpoint_gradient=0.0
    )
    ratio = np.log(drift["didv"] / flat["didv"]).mean("bias").values  # (y, x): the added log factor
    x = drift["x"].values
    slope = np.polyfit(x / (x[-1] + x[1] - x[0]), ratio.mean(axis=0), 1)[0]
    assert slope == pytest.approx(0.5, rel=0.02)


def test_two_defect_kinds_second_kind_has_no_in_gap_states():
    ds = datasets.condition("two_defect_kinds", seed=1, shape=SHAPE, n_bias=256)
    vacancy, _, surface = _regions(ds)
    other = ds["other_defect"].values
    X = ds["didv"].values
    bias = ds["bias"].values
    in_gap = np.abs(bias) < 1.5
    assert X[other][:, in_gap].mean() < 0.5 * X[vacancy][:, in_gap].mean()
    assert X[other][:, in_gap].mean() == pytest.approx(X[surface][:, in_gap].mean(), abs=0.05)
    resonance = np.abs(bias - (-6.0)) < 1.0
    assert X[other][:, resonance].mean() > 1.1 * X[surface][:, resonance].mean()


def test_missing_pixels_are_nan_at_the_end_of_the_scan():
    ds = datasets.fese_like(seed=0, shape=(10, 12), n_bias=32, n_missing=15)
    incomplete = ~np.isfinite(ds["didv"].values).all(axis=-1)
    assert incomplete.sum() == 15
    assert incomplete.ravel()[-15:].all()


def test_default_size_builds_quickly_enough_to_be_the_notebook_default():
    # smoke test only (no timing assertion on a shared machine): the full-size default builds
    ds = datasets.fese_like()
    assert ds["didv"].shape == (100, 100, 512)
    assert ds["didv"].dtype == np.float32


def test_dynes_dos_matches_the_bcs_limit():
    e = np.array([0.0, 1.0, 3.0, 10.0])
    dos = datasets.dynes_dos(e, 2.0, 1e-6)
    bcs = np.where(np.abs(e) > 2.0, np.abs(e) / np.sqrt(np.abs(e**2 - 4.0)), 0.0)
    np.testing.assert_allclose(dos, bcs, atol=1e-5)


def test_polynomial_family_shapes_labels_and_model():
    toy = datasets.polynomial_family(seed=1, n_samples=500, n_points=50, noise=0.05)
    assert toy["curves"].shape == (500, 50)
    assert toy["params"].shape == (500, 2)
    labels = toy["labels"].values
    assert set(np.unique(labels)) == {0, 1}
    assert labels.mean() == pytest.approx(0.2, abs=0.01)
    t = toy["t"].values
    a, b = toy["params"].values.T
    residual = toy["curves"].values - (a[:, None] * t + b[:, None] * t**2)
    assert residual.std() == pytest.approx(0.05, rel=0.05)
    # the two clusters sit around their centroids
    centre_minority = toy["params"].values[labels == 1].mean(axis=0)
    np.testing.assert_allclose(centre_minority, [-0.5, 1.5], atol=0.05)
    assert datasets.polynomial_family(seed=1, n_samples=500, n_points=50).identical(toy)
    with pytest.raises(ValueError, match="minority_fraction"):
        datasets.polynomial_family(minority_fraction=1.5)


def test_friedel_oscillations_decay_away_from_the_defects():
    kwargs = {"seed": 1, "shape": (48, 48), "n_bias": 64, "noise": 0.0}
    with_friedel = datasets.fese_like(**kwargs)
    without = datasets.fese_like(**kwargs, friedel_amplitude=0.0)
    modulation = np.abs(with_friedel["didv"] / without["didv"] - 1).mean("bias").values
    weight = with_friedel["defect_weight"].values
    near = (weight > 0.01) & (weight < 0.15)  # just outside the transition rings
    far = weight < 1e-4
    assert modulation[near].mean() > 2 * modulation[far].mean()
    assert modulation[near].mean() < 0.06  # bounded by friedel_amplitude
    # the modulation oscillates with energy (k disperses with E): it changes sign along bias
    ratio = (with_friedel["didv"] / without["didv"]).values[near] - 1
    assert (np.diff(np.sign(ratio), axis=1) != 0).any(axis=1).mean() > 0.5


def test_dataset_survives_a_netcdf_round_trip(tmp_path):
    ds = datasets.condition("two_defect_kinds", seed=0, shape=(16, 16), n_bias=24)
    ds.to_netcdf(tmp_path / "sim.nc")
    with xr.open_dataset(tmp_path / "sim.nc") as back:
        back = back.load()
    np.testing.assert_array_equal(back["didv"].values, ds["didv"].values)
    np.testing.assert_array_equal(back["vacancy"].values, ds["vacancy"].values)
    assert back.attrs["suppressed_window_mV"].tolist() == ds.attrs["suppressed_window_mV"]


def _clean(**kwargs):
    """Noise-free, drift-free, Friedel-free grid: the spectra carry the defect physics alone."""
    return datasets.fese_like(
        seed=4,
        shape=(48, 48),
        n_bias=1024,
        noise=0.0,
        friedel_amplitude=0.0,
        setpoint_variation=0.0,
        **kwargs,
    )


def _mix_residual(spectra, surface, core):
    basis = np.stack([surface, core], axis=1)
    coef, *_ = np.linalg.lstsq(basis, spectra.T, rcond=None)
    return np.sqrt(np.mean((basis @ coef - spectra.T) ** 2, axis=0)) / surface.std()


def test_nonlinear_option_is_off_by_default_and_keeps_the_truth():
    default = datasets.fese_like(seed=2, shape=(30, 30), n_bias=64)
    linear = datasets.fese_like(seed=2, shape=(30, 30), n_bias=64, nonlinear=False)
    local = datasets.fese_like(seed=2, shape=(30, 30), n_bias=64, nonlinear=True)
    assert default.identical(linear) and default.attrs["nonlinear"] == 0
    for name in ("kind", "transition", "vacancy", "defect_weight", "defect_distance_nm"):
        np.testing.assert_array_equal(local[name].values, default[name].values)
    assert not np.allclose(local["didv"].values, default["didv"].values)


def test_nonlinear_ring_spectra_are_no_mix_and_their_gap_shrinks():
    linear, local = _clean(), _clean(nonlinear=True)
    weight = linear["defect_weight"].values.ravel()
    ring = linear["transition"].values.ravel() & (weight > 0.3)
    centre, far = np.argmax(weight), np.argmin(weight)
    residuals = {}
    for name, ds in (("linear", linear), ("nonlinear", local)):
        X = ds["didv"].values.reshape(-1, ds.sizes["bias"]).astype(float)
        residuals[name] = np.median(_mix_residual(X[ring], X[far], X[centre]))
    assert residuals["linear"] < 1e-5  # the old model: surface + w (vacancy - surface)
    assert residuals["nonlinear"] > 1e-2
    # the empty-state coherence peak moves in towards the core
    bias = local["bias"].values
    X = local["didv"].values.reshape(-1, len(bias))
    window = (bias > 1.0) & (bias < 4.0)
    peak = bias[window][np.argmax(X[:, window], axis=1)]
    assert abs(peak[far] - 2.2) < 0.15
    inner = ring & (weight > 0.45)
    outer = linear["transition"].values.ravel() & (weight < 0.25)
    assert np.median(peak[inner]) < np.median(peak[outer]) - 0.1 < peak[far]


def test_nonlinear_bound_states_move_towards_zero_bias_at_the_core():
    ds = _clean(nonlinear=True)
    bias = ds["bias"].values
    weight = ds["defect_weight"].values.ravel()
    X = ds["didv"].values.reshape(-1, len(bias))
    core = np.argmax(weight)
    # inside the shrunk gap the core spectrum peaks near +-bound_state_mV (1 mV)
    inside = (bias > 0.3) & (bias < 1.4)
    assert abs(bias[inside][np.argmax(X[core, inside])] - 1.0) < 0.2
    assert (
        X[core, np.abs(bias) < 0.3].mean() > 1.5 * X[np.argmin(weight), np.abs(bias) < 0.3].mean()
    )


def test_v_shaped_gap_option_fills_the_gap_linearly():
    u = _clean()
    v = _clean(gap_anisotropy=0.9)
    far = np.argmin(u["defect_weight"].values.ravel())
    bias = u["bias"].values
    small = np.abs(bias) < 1.0
    su = u["didv"].values.reshape(-1, len(bias))[far][small]
    sv = v["didv"].values.reshape(-1, len(bias))[far][small]
    assert sv.mean() > 2 * su.mean()  # the anisotropic gap has states inside +-delta/2
    # V shape: conductance rises roughly linearly with |bias| in the gap
    slope, intercept = np.polyfit(np.abs(bias[small]), sv, 1)
    assert slope > 0 and np.corrcoef(np.abs(bias[small]), sv)[0, 1] > 0.9
