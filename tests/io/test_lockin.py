"""The default dI/dV channel: lock-in phase, agreement with the current, candidates, warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nanonis_files import lockin_dataset

import stswidgets
from stswidgets.io import channel_candidates, open_grid, save_grid, write_3ds


def _reference(current_A, bias_V):
    """The numerical dI/dV written out independently: [1, 2, 1] / 4 smoothing, then gradient."""
    current = np.asarray(current_A, dtype=float)
    smooth = current.copy()
    smooth[..., 1:-1] = (current[..., :-2] + 2 * current[..., 1:-1] + current[..., 2:]) / 4
    smooth[..., 0] = (3 * current[..., 0] + current[..., 1]) / 4
    smooth[..., -1] = (current[..., -2] + 3 * current[..., -1]) / 4
    return np.gradient(smooth, bias_V, axis=-1)


def _pearson(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


def _angle_difference(a, b):
    return abs((a - b + 180) % 360 - 180)


def _no_warning(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return open_grid(*args, **kwargs)


@pytest.mark.parametrize("phase", [37.2, -120.0, 160.0, 90.0, 0.0])
def test_known_phase_is_recovered_within_a_degree(phase):
    ds, s = lockin_dataset(phase)
    grid = _no_warning(ds)
    assert _angle_difference(grid.attrs["lockin_phase_deg"], phase) < 1.0
    # the in-phase signal is s (plus noise), positive like a conductance
    assert _pearson(grid.values, s) > 0.999
    assert float(grid.mean()) == pytest.approx(s.mean(), rel=0.01)
    expected_r = _pearson(grid.values, _reference(ds["Current"].values, ds["bias"].values))
    assert grid.attrs["channel_agreement"] == pytest.approx(expected_r, abs=1e-6)
    assert grid.attrs["channel_agreement"] > 0.99
    assert grid.attrs["units"] == "V" and grid.name == "didv"


@pytest.mark.parametrize("phase", [37.2, -75.0])
def test_known_phase_with_noise_on_y_only(phase):
    """X = s cos(phi) exactly, Y = s sin(phi) + noise: X alone agrees best with the current's
    dI/dV (the largest Pearson r is at 0 deg), yet the phase is the true one."""
    ds, s = lockin_dataset(phase, noise=0.05, noise_x=0.0)
    grid = _no_warning(ds)
    assert _angle_difference(grid.attrs["lockin_phase_deg"], phase) < 1.0
    assert _pearson(grid.values, s) > 0.99


def test_known_phase_through_a_3ds_file(tmp_path):
    ds, s = lockin_dataset(-63.0, n_bias=60)
    path = write_3ds(ds, tmp_path / "lockin.3ds")
    grid = _no_warning(path)
    phase = grid.attrs["lockin_phase_deg"]
    assert _angle_difference(phase, -63.0) < 1.0
    assert grid.attrs["channel"] == (
        f"LockinX (V) cos({phase:g} deg) + LockinY (V) sin({phase:g} deg)"
    )
    assert grid.attrs["source"] == str(path)
    assert _pearson(grid.values, s) > 0.999


@pytest.mark.parametrize("phase", [25.0, -140.0])
def test_without_current_the_principal_axis(phase):
    ds, s = lockin_dataset(phase, current=False)
    grid = _no_warning(ds)
    assert _angle_difference(grid.attrs["lockin_phase_deg"], phase) < 1.0
    assert float(grid.mean()) > 0  # the sign that makes the conductance positive
    assert np.isnan(grid.attrs["channel_agreement"])
    assert _pearson(grid.values, s) > 0.999


def test_saturated_pixels_are_kept_but_left_out_of_the_fit():
    ds, s = lockin_dataset(30.0)
    x = ds["LockinX"].values
    x[2, 3, 40:60] = 10.0  # a clipped amplifier
    x[5, 1, 50:52] = 10.0
    x[0, 0, 10] = 10.0  # a single sample at the limit also counts
    grid = _no_warning(ds)
    assert grid.attrs["n_saturated_spectra"] == 3
    assert _angle_difference(grid.attrs["lockin_phase_deg"], 30.0) < 1.0
    assert grid.attrs["channel_agreement"] > 0.99
    a = np.deg2rad(grid.attrs["lockin_phase_deg"])
    expected = 10.0 * np.cos(a) + ds["LockinY"].values[2, 3, 45] * np.sin(a)
    assert float(grid.values[2, 3, 45]) == pytest.approx(expected, rel=1e-5)  # kept


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_saved_grid_keeps_phase_and_agreement(tmp_path, suffix):
    ds, _ = lockin_dataset(-33.0)
    ds["LockinX"].values[1, 1, 5:9] = 10.0  # one saturated spectrum
    grid = _no_warning(ds)
    again = _no_warning(save_grid(grid, tmp_path / f"grid{suffix}"))
    for key in ("channel", "units", "lockin_phase_deg", "channel_agreement", "n_saturated_spectra"):
        assert again.attrs[key] == grid.attrs[key], key
    assert again.attrs["n_saturated_spectra"] == 1
    np.testing.assert_array_equal(again.values, grid.values)


def test_poor_agreement_warns_naming_the_file_and_r(tmp_path):
    """A lock-in that recorded noise: the current has the signal, X and Y do not."""
    ds, _ = lockin_dataset(0.0)
    rng = np.random.default_rng(5)
    for name in ("LockinX", "LockinY"):
        ds[name].values[:] = rng.normal(size=ds[name].shape)
    path = write_3ds(ds, tmp_path / "noisy_lockin.3ds")
    with pytest.warns(UserWarning) as record:
        grid = open_grid(path)
    r = grid.attrs["channel_agreement"]
    assert abs(r) < 0.1
    message = str(record[0].message)
    assert "noisy_lockin.3ds" in message and f"r = {r:.2f}" in message
    assert "channel=" in message and "channel_candidates" in message


def test_explicit_channel_is_read_as_recorded():
    ds, _ = lockin_dataset(50.0)
    grid = _no_warning(ds, channel="LockinX")  # an explicit choice: no rotation, no warning
    np.testing.assert_array_equal(grid.values, ds["LockinX"].values)
    assert grid.attrs["channel"] == "LockinX (V)"
    assert np.isnan(grid.attrs["lockin_phase_deg"])
    reference = _reference(ds["Current"].values, ds["bias"].values)
    assert grid.attrs["channel_agreement"] == pytest.approx(
        _pearson(ds["LockinX"].values, reference), abs=1e-6
    )
    current = _no_warning(ds, channel="Current")
    assert np.isnan(current.attrs["channel_agreement"])


def test_an_unpaired_output_wins_only_over_a_poor_pair():
    """R carries the signal, the X/Y pair noise: R, without a warning."""
    ds, s = lockin_dataset(0.0)
    ds = ds.rename({"LockinX": "LIX 1 omega", "LockinY": "LIY 1 omega"})
    rng = np.random.default_rng(2)
    r_values = (s + 0.02 * rng.normal(size=s.shape)).astype(np.float32)
    ds["LIR 1 omega"] = (("y", "x", "bias"), r_values, {"units": "V", "channel": "LIR 1 omega (V)"})
    for name in ("LIX 1 omega", "LIY 1 omega"):
        ds[name].values[:] = rng.normal(size=s.shape)
    grid = _no_warning(ds)
    assert grid.attrs["channel"] == "LIR 1 omega (V)"
    ds_good, s = lockin_dataset(20.0)  # a good pair beside a good R: the pair
    ds_good["LockinR"] = (("y", "x", "bias"), s.astype(np.float32), {"units": "V"})
    assert "cos(" in _no_warning(ds_good).attrs["channel"]


def test_forward_pair_before_backward():
    ds, _ = lockin_dataset(10.0)
    bwd = {name: f"{name} [bwd]" for name in ("Current", "LockinX", "LockinY")}
    both = ds.merge(ds.rename(bwd))
    for name in bwd.values():
        both[name].attrs["channel"] = f"{name} ({both[name].attrs['units']})"
    assert _no_warning(both).attrs["channel"].startswith("LockinX (V) cos(")


def test_channel_candidates_lists_every_way_to_read_the_didv():
    ds, s = lockin_dataset(37.2)
    candidates = channel_candidates(ds)
    assert candidates.sizes["candidate"] == 5  # 3 channels, the pair, the numerical dI/dV
    kinds = list(candidates["kind"].values)
    assert kinds == ["current", "lock-in", "lock-in", "in-phase", "numerical dI/dV"]
    chosen = candidates.sel(candidate=candidates["chosen"])
    assert list(chosen["kind"].values) == ["in-phase"]
    assert _angle_difference(float(chosen["phase_deg"][0]), 37.2) < 1.0
    np.testing.assert_allclose(candidates["bias"].values, ds["bias"].values * 1e3)
    x = candidates.sel(candidate="LockinX (V)")
    np.testing.assert_allclose(x["mean"], ds["LockinX"].values.mean(axis=(0, 1)), rtol=1e-5)
    reference = _reference(ds["Current"].values, ds["bias"].values)
    assert float(x["agreement"]) == pytest.approx(_pearson(ds["LockinX"].values, reference), 1e-6)
    numerical = candidates.sel(candidate="numerical dI/dV of Current (A)")
    np.testing.assert_allclose(numerical["mean"], reference.mean(axis=(0, 1)), rtol=1e-5)
    standardised = candidates["mean_standardised"].values
    np.testing.assert_allclose(standardised.mean(axis=1), 0, atol=1e-9)
    np.testing.assert_allclose(standardised.std(axis=1), 1, rtol=1e-9)
    assert candidates.attrs["reference"] == "Current (A)"
    assert stswidgets.channel_candidates is channel_candidates


# ----------------------------------------------------------------------------- real files


def test_real_grid_30x30_channel_choice(grid_30x30):
    grid = _no_warning(grid_30x30)
    # measured: phase -2.07 deg, r = 0.955; LockinX alone 0.954, LockinY -0.62
    assert grid.attrs["lockin_phase_deg"] == pytest.approx(-2.07, abs=1.0)
    assert grid.attrs["channel_agreement"] > 0.95
    assert grid.attrs["n_saturated_spectra"] == 8  # LockinX at +10 V
    candidates = channel_candidates(grid_30x30)
    agreement = candidates["agreement"].to_series()
    assert agreement["LockinX (V)"] > 0.95 and agreement["LockinY (V)"] < -0.5
    assert int(candidates.sel(candidate="LockinX (V)")["n_saturated"]) == 8
    assert abs(agreement["Bias_m (V)"]) < 0.05


def test_real_line_channel_choice(line_32x1):
    """The issue's Pb line: Lockin-X is noise, the signal is in Lockin-Y."""
    grid = _no_warning(line_32x1)  # r = 0.54 > 0.5: no warning
    assert grid.attrs["channel"].startswith("7280DSP Lockin-X (%) cos(")
    # measured: forward 89.5 deg, backward 89.9 deg (the signal is all in Lockin-Y)
    assert grid.attrs["lockin_phase_deg"] == pytest.approx(89.5, abs=2.0)
    assert 0.5 < grid.attrs["channel_agreement"] < 0.6
    candidates = channel_candidates(line_32x1)
    agreement = candidates["agreement"].to_series()
    assert abs(agreement["7280DSP Lockin-X (%)"]) < 0.1  # measured 0.03
    assert agreement["7280DSP Lockin-Y (%)"] > 0.5  # measured 0.54
    assert abs(agreement["LIY 1 omega (A)"]) < 0.1
    assert agreement["LIR 1 omega (A)"] > 0.5
    backward = candidates.sel(candidate=candidates["kind"] == "in-phase").isel(candidate=1)
    assert "[bwd]" in str(backward["candidate"].values)
    assert float(backward["phase_deg"]) == pytest.approx(89.9, abs=2.0)
    assert int(candidates["chosen"].sum()) == 1
