"""peak_map: in-gap bound states of analytic spectra with known energies."""

from __future__ import annotations

import numpy as np
import pytest

from stswidgets._defect_signatures import dynes_dos
from stswidgets.analysis import peak_map
from stswidgets.grid import make_grid

BIAS = np.linspace(-5, 5, 801)  # step 0.0125 mV


def _with_bound_states(energies, delta=1.5, height=0.4, width=0.06):
    """Dynes spectrum plus Gaussian bound-state peaks at ``energies`` (mV)."""
    spectrum = dynes_dos(BIAS, delta, 0.04)
    for energy in energies:
        spectrum = spectrum + height * np.exp(-0.5 * ((BIAS - energy) / width) ** 2)
    return spectrum


def _grid(states, noise=0.004, seed=0):
    rng = np.random.default_rng(seed)
    X = np.stack([_with_bound_states(s) for s in states])
    X = X + noise * rng.standard_normal(X.shape)
    return make_grid(X.reshape(1, len(states), -1), BIAS, np.arange(len(states)) * 0.3, [0.0])


def test_bound_states_at_known_energies_sorted_nan_padded():
    states = [[-0.62, 0.41], [0.2], [], [-0.9, -0.1, 0.7]]
    result = peak_map(_grid(states), smoothing_mV=0.1)
    energy = result["bound_state_energy"]
    assert energy.dims == ("y", "x", "peak")
    assert energy.attrs["units"] == "mV"
    for i, expected in enumerate(states):
        found = energy.values[0, i]
        n = len(expected)
        np.testing.assert_allclose(found[:n], expected, atol=0.02)
        assert np.all(np.isnan(found[n:]))
        assert int(result["n_bound_states"].values[0, i]) == n
    heights = result["bound_state_height"].values[0, 0, :2]
    expected_heights = [
        _with_bound_states([-0.62, 0.41])[np.abs(BIAS - e).argmin()] for e in (-0.62, 0.41)
    ]
    np.testing.assert_allclose(heights, expected_heights, atol=0.03)


def test_noise_alone_gives_no_bound_states():
    result = peak_map(_grid([[]] * 8, noise=0.01, seed=4))
    assert np.all(np.isnan(result["bound_state_energy"].values))


def test_window_restricts_the_search():
    grid = _grid([[-0.62, 0.41]])
    result = peak_map(grid, window_mV=(0.0, 1.0), smoothing_mV=0.1)
    found = result["bound_state_energy"].values[0, 0]
    assert found[0] == pytest.approx(0.41, abs=0.02) and np.all(np.isnan(found[1:]))
    symmetric = peak_map(grid, window_mV=0.5, smoothing_mV=0.1)
    assert symmetric["n_bound_states"].values[0, 0] == 1


def test_invalid_pixels_stay_nan_and_collections_work():
    grid = _grid([[0.3], [0.3], [-0.5]])
    values = grid.values.copy()
    values[0, 1] = np.nan
    result = peak_map(grid.copy(data=values), smoothing_mV=0.1)
    assert np.all(np.isnan(result["bound_state_energy"].values[0, 1]))
    assert np.isnan(result["n_bound_states"].values[0, 1])
    collection = grid.isel(y=0).rename(x="spectrum")
    on_collection = peak_map(collection, smoothing_mV=0.1, max_peaks=2)
    assert on_collection["bound_state_energy"].dims == ("spectrum", "peak")
    np.testing.assert_allclose(
        on_collection["bound_state_energy"].values[:, 0], [0.3, 0.3, -0.5], atol=0.02
    )
