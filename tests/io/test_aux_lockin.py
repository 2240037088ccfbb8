"""An auxiliary input that carries an external lock-in (Nanonis ``Input 6 (V)``) is recognised
and preferred over the numerical derivative of the current; one that does not is not."""

from __future__ import annotations

import numpy as np
import pytest
from nanonis_files import header_lines, pixel_block, raw_3ds

from stswidgets.io import channel_candidates, open_grid
from stswidgets.io.candidates import AUX_AGREEMENT
from stswidgets.io.lockin import relative_noise
from stswidgets.preprocess import white_noise_sigma

NY, NX, POINTS = 6, 7, 201
BIAS_V = np.linspace(-0.02, 0.02, POINTS)


def _physics(seed=0):
    """A current (A) with a pixel-dependent gap and coherence peaks, and its exact dI/dV (A/V)."""
    rng = np.random.default_rng(seed)
    bias_mV = BIAS_V * 1e3
    delta = rng.uniform(2.0, 4.0, size=(NY, NX, 1))
    scale = rng.uniform(0.6, 1.4, size=(NY, NX, 1)) * 1e-10
    energy = bias_mV + 0.3j
    dos = np.abs(np.real(energy / np.sqrt(energy**2 - delta**2)))
    didv = scale * dos * 1e3 / 10  # A/V
    current = np.cumsum(didv, axis=-1) * (BIAS_V[1] - BIAS_V[0])
    current -= current[..., POINTS // 2 : POINTS // 2 + 1]
    return current, didv


def _write(tmp_path, channels: dict[str, np.ndarray]):
    names = list(channels)
    header = header_lines(NX, NY, POINTS, names)
    spectra = [np.asarray(v, dtype=float) for v in channels.values()]
    path = tmp_path / "aux.3ds"
    return raw_3ds(path, header, pixel_block(NY, NX, (BIAS_V[0], BIAS_V[-1]), spectra))


def _noisy_current(current, rng, level=2e-3):
    return current + rng.normal(scale=level * np.abs(current).max(), size=current.shape)


def test_input6_that_is_a_clean_lockin_is_chosen_with_its_reason(tmp_path):
    rng = np.random.default_rng(1)
    current, didv = _physics()
    lockin_V = 0.5 * didv / didv.max() + rng.normal(scale=2e-3, size=didv.shape)
    path = _write(
        tmp_path,
        {
            "Current (A)": _noisy_current(current, rng),
            "Input 2 (V)": rng.normal(size=didv.shape),  # an unrelated input: noise
            "Input 3 (V)": np.cumsum(rng.normal(size=didv.shape), axis=-1),  # a drift
            "Input 6 (V)": lockin_V,
            "Input 7 (V)": np.clip(lockin_V, None, 0.05),  # the same lock-in, saturated
        },
    )
    grid = open_grid(path)
    assert grid.attrs["channel"] == "Input 6 (V)"
    assert "derived" not in grid.attrs and grid.name == "didv"
    np.testing.assert_allclose(grid.values, lockin_V.astype(np.float32), rtol=1e-6)
    assert grid.attrs["channel_agreement"] >= AUX_AGREEMENT
    reason = grid.attrs["channel_reason"]
    assert reason.startswith("Input 6 (V): an auxiliary input") and "less noisy" in reason
    # the reason's noise ratio is the measured one (independent: white noise of the two reads)
    derivative = np.gradient(grid.values * 0 + _read_current(path), BIAS_V, axis=-1)
    flat_lockin, flat_derivative = lockin_V.reshape(-1, POINTS), derivative.reshape(-1, POINTS)
    ratio = np.median(white_noise_sigma(flat_derivative) / flat_derivative.std(-1)) / np.median(
        white_noise_sigma(flat_lockin) / flat_lockin.std(-1)
    )
    assert ratio > 2
    assert f"{ratio:.1f}x less noisy" in reason
    table = channel_candidates(path)
    chosen = table["candidate"].values[table["chosen"].values]
    assert list(chosen) == ["Input 6 (V)"]
    assert table.sel(candidate="Input 6 (V)")["kind"].item() == "auxiliary lock-in"


def _read_current(path):
    return open_grid(path, channel="Current").values.astype(float)


def test_an_inverted_lockin_is_read_with_the_signal_sign(tmp_path):
    rng = np.random.default_rng(2)
    current, didv = _physics()
    inverted = -0.5 * didv / didv.max() + rng.normal(scale=2e-3, size=didv.shape)
    path = _write(tmp_path, {"Current (A)": _noisy_current(current, rng), "Input 6 (V)": inverted})
    grid = open_grid(path)
    assert grid.attrs["channel"] == "-Input 6 (V)"
    np.testing.assert_allclose(grid.values, -inverted.astype(np.float32), rtol=1e-6)
    assert grid.attrs["channel_agreement"] >= AUX_AGREEMENT
    assert "read inverted" in grid.attrs["channel_reason"]


def test_a_weakly_correlated_input_is_not_taken_for_a_lockin(tmp_path):
    rng = np.random.default_rng(3)
    current, didv = _physics()
    phase = rng.uniform(0, 2 * np.pi, size=(NY, NX, 1))  # a smooth, unrelated wave on top
    mixed = didv / didv.max() + 0.3 * np.sin(2 * np.pi * BIAS_V * 1e3 / 15 + phase)
    path = _write(tmp_path, {"Current (A)": _noisy_current(current, rng), "Input 6 (V)": mixed})
    table = channel_candidates(path)
    r = float(table.sel(candidate="Input 6 (V)")["agreement"])
    assert 0.3 < abs(r) < AUX_AGREEMENT  # correlated, but not a lock-in
    grid = open_grid(path)
    assert grid.attrs["derived"] == "numerical derivative of Current (A) along the bias"
    assert grid.attrs["channel_reason"].startswith("numerical derivative of Current (A)")


def test_an_input_noisier_than_the_derivative_is_not_preferred(tmp_path):
    rng = np.random.default_rng(4)
    current, didv = _physics()
    clean_current = _noisy_current(current, rng, level=1e-6)  # a nearly noiseless current
    noisy_copy = 0.5 * didv / didv.max() + rng.normal(scale=0.03, size=didv.shape)
    path = _write(tmp_path, {"Current (A)": clean_current, "Input 6 (V)": noisy_copy})
    derivative = np.gradient(_read_current(path), BIAS_V, axis=-1)
    assert relative_noise(noisy_copy) > relative_noise(derivative)  # the premise
    r = float(channel_candidates(path).sel(candidate="Input 6 (V)")["agreement"])
    assert r >= AUX_AGREEMENT  # it agrees, yet it is the noisier read
    assert "derived" in open_grid(path).attrs


def test_a_named_lockin_still_wins_over_a_better_aux_input(tmp_path):
    rng = np.random.default_rng(5)
    current, didv = _physics()
    path = _write(
        tmp_path,
        {
            "Current (A)": _noisy_current(current, rng),
            "LIX 1 omega (A)": didv + rng.normal(scale=0.05 * didv.std(), size=didv.shape),
            "Input 6 (V)": didv / didv.max(),
        },
    )
    grid = open_grid(path)
    assert grid.attrs["channel"] == "LIX 1 omega (A)"
    assert "a lock-in output" in grid.attrs["channel_reason"]


def test_the_bias_channel_is_never_an_aux_lockin(tmp_path):
    """A ramp is noiseless and, on an ohmic spectrum, follows the dI/dV: not a lock-in."""
    rng = np.random.default_rng(6)
    slope = np.linspace(0.5, 1.5, POINTS) * 1e-8  # A/V, growing with the bias
    didv = np.broadcast_to(slope, (NY, NX, POINTS)) * rng.uniform(0.9, 1.1, (NY, NX, 1))
    current = np.cumsum(didv, axis=-1) * (BIAS_V[1] - BIAS_V[0])
    bias = np.broadcast_to(BIAS_V, current.shape)
    path = _write(tmp_path, {"Current (A)": _noisy_current(current, rng), "Bias (V)": bias})
    grid = open_grid(path)
    assert "derived" in grid.attrs


@pytest.mark.parametrize("requested", ["Input 6", "Current"])
def test_a_requested_channel_says_so(tmp_path, requested):
    current, didv = _physics()
    path = _write(tmp_path, {"Current (A)": current, "Input 6 (V)": didv / didv.max()})
    grid = open_grid(path, channel=requested)
    assert grid.attrs["channel_reason"].endswith("asked for with channel=")


def test_a_forward_lockin_output_is_read_before_its_backward_sweep(tmp_path):
    """An unpaired lock-in output (RHK's LIA_Current) of the forward sweep is read, though the
    backward one happens to agree better with the current's derivative."""
    rng = np.random.default_rng(8)
    current, didv = _physics()
    forward = didv + rng.normal(scale=0.3 * didv.std(), size=didv.shape)
    backward = didv + rng.normal(scale=0.05 * didv.std(), size=didv.shape)
    path = _write(
        tmp_path,
        {"Current (A)": current, "LIA_Current (A)": forward, "LIA_Current [bwd] (A)": backward},
    )
    table = channel_candidates(path)
    agreement = table["agreement"].to_series()
    assert agreement["LIA_Current [bwd] (A)"] > agreement["LIA_Current (A)"]  # the premise
    assert open_grid(path).attrs["channel"] == "LIA_Current (A)"


def test_noisy_point_spectra_whose_mean_shape_agrees_raise_no_warning():
    """The shared RHK point file: 6 spectra of a noisy current, r = 0.11 spectrum by spectrum,
    but the lock-in's mean spectrum follows the mean derivative (r > 0.9 once smoothed)."""
    import warnings

    from nanonis_files import real_file

    from stswidgets import open_spectra

    path = real_file("points/rhk_points_stripes_HOPG.sm4")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectra = open_spectra(path)
    assert spectra.attrs["channel"] == "LIA Current"
    assert spectra.attrs["channel_agreement"] < 0.5  # single spectra cannot tell


def test_a_noise_lockin_still_warns(tmp_path):
    rng = np.random.default_rng(9)
    current, didv = _physics()
    noise = rng.normal(size=didv.shape)
    path = _write(tmp_path, {"Current (A)": current, "LIX 1 omega (A)": noise})
    with pytest.warns(UserWarning, match=r"agrees poorly.*on the smoothed mean spectra"):
        open_grid(path)


def test_the_grid_records_the_shape_agreement_and_the_notebook_trusts_it():
    """The notebooks' warning needs both agreements poor: the RHK point file's lock-in (r = 0.11
    spectrum by spectrum) follows the derivative's mean shape, so no warning is shown."""
    from nanonis_files import real_file

    from stswidgets import open_spectra
    from stswidgets.notebook import grid_warnings

    spectra = open_spectra(real_file("points/rhk_points_stripes_HOPG.sm4"))
    assert spectra.attrs["channel_mean_agreement"] > 0.9 > 0.5 > spectra.attrs["channel_agreement"]
    assert not any("agrees poorly" in message for message in grid_warnings(spectra))
    poor = spectra.copy()
    poor.attrs["channel_mean_agreement"] = 0.2
    assert any("agrees poorly" in message for message in grid_warnings(poor))
