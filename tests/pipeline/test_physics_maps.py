"""The physics-maps step (issue 21): gap, peaks, Fourier maps of a grid, key energies, defect
profiles of any map, results.nc variables and the SVG / PDF export."""

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from stswidgets import make_grid, pipeline, to_map, to_matrix
from stswidgets.pipeline.cache import CACHE_DIR
from stswidgets.results import load_results, save_results


def _dynes(bias, delta, gamma=0.1):
    """Dynes density of states: coherence peaks at about +-delta (mV)."""
    e = bias + 1j * gamma
    return np.abs(np.real(e / np.sqrt(e**2 - delta**2)))


def _peak_energy(delta, gamma=0.1):
    """Where the Dynes density of states peaks (mV), found on a 10 ueV grid."""
    fine = np.linspace(0, 5, 500001)
    return float(fine[np.argmax(_dynes(fine, delta, gamma))])


def _gap_grid(ny=24, nx=28, pixel=0.2, wave_nm=None, wave_amplitude=0.0):
    """A grid whose gap grows from 1.0 mV (left) to 2.0 mV (right), with an optional
    plane wave cos(2 pi x / wave_nm) in the conductance; returns the grid and the true gap."""
    bias = np.linspace(-5, 5, 201)
    x = np.arange(nx) * pixel
    y = np.arange(ny) * pixel
    gap = np.broadcast_to(1.0 + x / x[-1], (ny, nx))
    values = _dynes(bias, gap[..., None])
    if wave_nm:
        values = values * (1 + wave_amplitude * np.cos(2 * np.pi * x / wave_nm))[None, :, None]
    return make_grid(values, bias, x, y), gap


@pytest.fixture(scope="module")
def gap_grid():
    return _gap_grid()


@pytest.mark.parametrize("method", ["fit", "peaks"])
def test_gap_map_is_the_analysis_gap_map_with_the_configured_method(gap_grid, method):
    from stswidgets.analysis import gap_map

    grid, truth = gap_grid
    config = pipeline.config_for("test", gap_method=method)
    maps = pipeline.physics_maps(grid, config)
    options = {"fit_range": config.gap_fit_range} if method == "fit" else {}
    expected = gap_map(grid, method=method, n_gaps=config.n_gaps, **options)
    xr.testing.assert_allclose(maps.gap["gap"], expected["gap"])
    step = float(np.diff(grid["bias"])[0])
    if method == "fit":  # Delta itself, well inside a bias step
        assert np.nanmedian(np.abs(maps.gap["gap"].values - truth)) <= 0.2 * step
    else:  # the coherence peaks of the true Dynes spectra, within two bias steps
        peaks = np.vectorize(_peak_energy)(truth)
        assert np.nanmedian(np.abs(maps.gap["gap"].values - peaks)) <= 2 * step
    assert np.corrcoef(maps.gap["gap"].values.ravel(), truth.ravel())[0, 1] > 0.97


def test_the_default_gap_method_is_the_fit():
    assert pipeline.config_for("full").gap_method == "fit"
    assert pipeline.config_for("quick").gap_method == "fit"


def test_key_energies_are_the_median_peaks_and_the_fermi_level(gap_grid):
    grid, truth = gap_grid
    maps = pipeline.physics_maps(grid, pipeline.config_for("test"))
    energies = maps.key_energies
    bias = grid["bias"].values
    assert energies["Fermi level"] == pytest.approx(0.0, abs=1e-9)
    step = float(np.diff(bias)[0])
    peak = _peak_energy(np.median(truth))
    assert energies["coherence peak (+)"] == pytest.approx(peak, abs=2 * step)
    assert energies["coherence peak (-)"] == pytest.approx(-peak, abs=2 * step)
    assert all(np.isclose(bias, e).any() for e in energies.values()), "not biases of the grid"
    assert list(energies.values()) == sorted(energies.values())


def test_bound_states_common_to_enough_spectra_become_key_energies():
    ny, nx = 10, 10
    bias = np.linspace(-3, 3, 61)
    coords = {"y": np.arange(ny), "x": np.arange(nx)}
    gap = xr.Dataset(
        {
            "peak_energy_neg": (("y", "x"), np.full((ny, nx), -2.0)),
            "peak_energy_pos": (("y", "x"), np.full((ny, nx), 2.0)),
        },
        coords=coords,
    )
    energy = np.full((ny, nx, 2), np.nan)
    energy[:3, :, 0] = -0.8  # 30 spectra hold a bound state at -0.8 mV
    energy[:3, :, 1] = 0.8
    energy[9, 9, 0] = 0.3  # one spectrum: not common enough
    rng = np.random.default_rng(1)
    energy[5:, :2, 0] = rng.uniform(-1.5, 1.5, (5, 2))  # scattered noise peaks: none common
    peaks = xr.Dataset({"bound_state_energy": (("y", "x", "peak"), energy)}, coords=coords)
    found = pipeline.key_energies(gap, peaks, bias)
    bound = sorted(v for k, v in found.items() if k.startswith("bound state"))
    np.testing.assert_allclose(bound, [-0.8, 0.8], atol=1e-9)
    assert len(found) == 5  # two peaks, two bound states, the Fermi level


def test_fourier_step_puts_a_plane_wave_at_its_wavevector():
    wave_nm = 1.0
    grid, _ = _gap_grid(ny=40, nx=40, pixel=0.1, wave_nm=wave_nm, wave_amplitude=0.3)
    maps = pipeline.physics_maps(grid, pipeline.config_for("test"))
    assert maps.fourier.dims == ("bias", "qy", "qx")
    radial = maps.radial.sel(bias=2.5, method="nearest")
    q = radial["q"].values
    found = q[1 + int(np.nanargmax(radial.values[1:]))]
    dq = float(np.median(np.diff(q)))
    assert found == pytest.approx(2 * np.pi / wave_nm, abs=1.5 * dq)  # q = 2 pi / lambda


def test_a_collection_gets_gaps_but_no_fourier_maps(gap_grid):
    grid, truth = gap_grid
    spectra = grid.stack(spectrum=("y", "x")).transpose("spectrum", "bias").reset_index("spectrum")
    data = SimpleNamespace(grid=spectra, geometry="points")
    maps = pipeline.physics_maps(data, pipeline.config_for("test"))
    assert maps.fourier is None and maps.radial is None
    assert "no Fourier maps" in maps.note and maps.geometry == "points"
    np.testing.assert_allclose(
        np.sort(maps.gap["gap"].values),
        np.sort(pipeline.physics_maps(grid).gap["gap"].values.ravel()),
    )


def test_cached_in_the_run_folder_and_recomputed_for_other_settings(gap_grid, tmp_path):
    grid, _ = gap_grid
    config = pipeline.config_for("test")
    first = pipeline.physics_maps(grid, config, tmp_path)
    again = pipeline.physics_maps(grid, config.replace(max_epochs=1), tmp_path)  # not a map setting
    assert len(list((tmp_path / CACHE_DIR).glob("physics_maps-*.pkl"))) == 1
    xr.testing.assert_equal(first.gap, again.gap)
    pipeline.physics_maps(grid, config.replace(fourier_window="none"), tmp_path)
    assert len(list((tmp_path / CACHE_DIR).glob("physics_maps-*.pkl"))) == 2


def test_stored_looks_up_without_computing(tmp_path):
    assert pipeline.stored("step", tmp_path, 1) is None
    assert pipeline.cached("step", lambda: {"a": 1}, tmp_path, 1) == {"a": 1}
    assert pipeline.stored("step", tmp_path, 1) == {"a": 1}
    assert pipeline.stored("step", tmp_path, 2) is None and pipeline.stored("step", None) is None


def _profile_grid(ny=60, nx=60, pixel=0.25):
    grid = make_grid(
        np.zeros((ny, nx, 4)), np.arange(4.0), np.arange(nx) * pixel, np.arange(ny) * pixel
    )
    centres = np.array([[5.0, 5.0], [10.0, 11.0]])  # nm
    rows, cols = np.indices((ny, nx)) * pixel
    distance = np.min([np.hypot(rows - cy, cols - cx) for cy, cx in centres], axis=0)
    return grid, centres, distance


def test_any_map_is_profiled_with_its_decay_length_either_way():
    grid, centres, distance = _profile_grid()
    valid = np.ones(distance.shape, bool)
    falling = 1.0 + 3.0 * np.exp(-distance / 1.2)
    rising = xr.DataArray(2.0 - 0.5 * np.exp(-distance / 0.8), attrs={"units": "mV"})
    X = np.zeros((valid.sum(), 4))
    profiles = pipeline.defect_profiles(
        None, X, grid, valid, centres_nm=centres, maps={"falling": falling, "gap": rising}
    )
    fall, rise = profiles.maps["falling"], profiles.maps["gap"]
    assert fall.fit.ok and fall.fit.decay_length == pytest.approx(1.2, rel=0.1)
    assert fall.fit.background == pytest.approx(1.0, abs=0.05)
    assert rise.fit.ok and rise.fit.amplitude < 0 and rise.units == "mV"
    assert rise.fit.decay_length == pytest.approx(0.8, rel=0.15)
    assert rise.fit.background == pytest.approx(2.0, abs=0.02)
    # the medians per bin are those of numpy on the pixels of each bin
    which = np.digitize(distance.ravel(), profiles.edges) - 1
    for b in (0, 3, 10):
        assert fall.median[b] == pytest.approx(np.median(falling.ravel()[which == b]))
    # a slope that never levels off within the map has no decay length
    slope = pipeline.defect_profiles(
        None, X, grid, valid, centres_nm=centres, maps={"slope": 5.0 - 0.5 * distance}
    )
    assert not slope.maps["slope"].fit.ok
    # without a score: no score profile, the maps and spectra only
    assert np.isnan(profiles.score_median).all() and not profiles.fit.ok


def test_map_profile_takes_one_value_per_valid_pixel_and_refuses_other_shapes():
    grid, centres, distance = _profile_grid(20, 20)
    valid = distance > 0.3  # a few pixels not measured
    values = distance[valid]
    X = np.zeros((valid.sum(), 4))
    profiles = pipeline.defect_profiles(
        None, X, grid, valid, centres_nm=centres, maps={"d": values}
    )
    good = profiles.maps["d"].counts > 0
    assert np.all(np.abs(profiles.maps["d"].median[good] - profiles.r[good]) <= 0.5 * 0.25 + 1e-9)
    with pytest.raises(ValueError, match="map 'd' has shape"):
        pipeline.defect_profiles(None, X, grid, valid, centres_nm=centres, maps={"d": values[1:]})


def test_physics_profiles_from_the_segmentation_without_a_stored_score(tmp_path):
    config = pipeline.config_for("test")
    data = pipeline.load(None, config)
    maps = pipeline.physics_maps(data, config)
    profiles, origin = pipeline.physics_profiles(data, config, maps, tmp_path)
    assert "segmentation" in origin and profiles.n_defects >= 1
    assert set(profiles.maps) == {"gap", "zero_bias_conductance"}
    # the simulated vacancies are where the segmentation puts the centres
    vacancy = np.asarray(data.truth["vacancy"], bool)
    pixel = float(np.diff(data.grid["x"])[0])
    rows, cols = np.round(profiles.centres / pixel).astype(int).T
    assert vacancy[rows, cols].mean() >= 0.5


def test_results_nc_holds_the_maps_with_units(gap_grid, tmp_path):
    grid, _ = gap_grid
    maps = pipeline.physics_maps(grid, pipeline.config_for("test"))
    variables = pipeline.results_variables(grid, to_matrix(grid)[1], physics=maps)
    save_results(tmp_path, grid=grid, **variables)
    saved = load_results(tmp_path)
    for name in ("gap", "peak_energy_neg", "peak_energy_pos", "bound_state_energy"):
        assert saved[name].attrs["units"] == "mV", name
    for name in ("peak_height_neg", "zero_bias_conductance", "fit_quality", "bound_state_height"):
        assert "units" in saved[name].attrs, name
    radial = saved["qpi_radial_average"]
    assert radial.dims == ("bias", "q") and saved["q"].attrs["units"] == "1/nm"
    np.testing.assert_allclose(radial.values, maps.radial.values, rtol=1e-6)
    np.testing.assert_allclose(saved["gap"].values, maps.gap["gap"].values)
    assert "normalize" not in saved["gap"].attrs  # an energy: no normalisation applies
    assert saved["peak_height_pos"].attrs["normalize"] == "none"  # a bare grid: as measured


def test_heights_in_set_point_units_when_the_run_normalises_so():
    config = pipeline.config_for("test", normalize="setpoint")
    data = pipeline.load(None, config)
    scaled = pipeline.physics_maps(data, config)
    measured = pipeline.physics_maps(data.grid, config)
    assert scaled.normalize == "setpoint" and measured.normalize == "none"
    # a factor per spectrum moves no energy (the fit's to its tolerance, 1 ueV) ...
    xr.testing.assert_allclose(scaled.gap["gap"], measured.gap["gap"], rtol=0, atol=1e-3)
    # ... and divides the heights by each spectrum's set-point conductance (the fitted peaks
    # to the fit's tolerance: 2e-5 relative)
    factor = to_map(data.normalization.conductance_before, data.valid)
    np.testing.assert_allclose(
        scaled.gap["peak_height_pos"], measured.gap["peak_height_pos"] / factor, rtol=1e-3
    )
    assert pipeline.physics_variables(scaled)["zero_bias_conductance"].attrs["normalize"] == (
        "setpoint"
    )


def test_export_figure_writes_vector_files(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    written = pipeline.export_figure(fig, tmp_path / "sub" / "line")
    assert [p.suffix for p in written] == [".svg", ".pdf"]
    assert b"<svg" in written[0].read_bytes()[:500]
    assert written[1].read_bytes()[:4] == b"%PDF"
    assert pipeline.export_figure(fig, tmp_path / "one.png")[0].read_bytes()[:4] == b"\x89PNG"
    files = pipeline.save_figures(tmp_path, {"a": fig})
    assert sorted(p.name for p in files) == ["a.pdf", "a.svg"]
    assert all(p.parent == tmp_path / "figures" for p in files)
    assert pipeline.save_figures(None, {"a": fig}) == []
    plt.close(fig)


def test_qpi_ring_at_the_friedel_wavevector_of_a_simulated_grid_with_defects():
    """fese_like with sparse vacancies (10 nm apart, a few Friedel periods of clean ring each):
    the ring found beside the gap is 2 k_F(E) = (2 pi / lambda) (1 + E / 2 E_F) within 8 %;
    the raw radial power, without the high-pass, peaks at the small q of the defects."""
    from stswidgets.datasets import fese_like

    ds = fese_like(3, n_bias=128, vacancy_density_nm2=0.004, friedel_amplitude=0.2, noise=0.02)
    config = pipeline.config_for("test", gap_method="peaks")
    maps = pipeline.physics_maps(ds["didv"], config)
    bias = maps.ring["bias"].values
    outside = np.abs(bias) > 3.0  # inside the gap the multiplicative oscillation vanishes
    wavelength = ds.attrs["friedel_wavelength_nm"]
    true = 2 * np.pi / wavelength * (1 + bias / (2 * ds.attrs["friedel_fermi_energy_mV"]))
    np.testing.assert_allclose(pipeline.friedel_wavevector(ds, bias), true)
    error = np.abs(maps.ring.values[outside] / true[outside] - 1)
    assert np.median(error) < 0.08
    raw = maps.radial.values[outside][:, 1:]
    raw_peak = maps.radial["q"].values[1 + np.nanargmax(raw.mean(axis=0))]
    assert raw_peak < 0.6 * true.min()  # why the ring search removes the smooth fall first
    assert "qpi_ring_q" in pipeline.physics_variables(maps)


def test_qpi_highpass_turns_a_bump_on_a_falling_power_into_the_strongest_point():
    q = np.linspace(0.05, 10, 80)
    bump = np.exp(-0.5 * ((q - 6.0) / 0.12) ** 2)  # a ring two q steps wide
    power = np.stack([100 * np.exp(-q) + 0.5 * bump * np.exp(-6.0) * 100, np.exp(-q)])
    radial = xr.DataArray(power, dims=("bias", "q"), coords={"bias": [0.0, 1.0], "q": q})
    flat = pipeline.qpi_highpass(radial)
    assert q[np.nanargmax(flat.values[0])] == pytest.approx(6.0, abs=0.15)
    ring = pipeline.qpi_ring(radial, q_min=1.0, bias_window_mV=0.1)
    assert float(ring[0]) == pytest.approx(6.0, abs=0.15)


def test_fese_like_records_its_local_gap_without_changing_its_spectra():
    from stswidgets.datasets import fese_like

    plain = fese_like(2, shape=(30, 30), n_bias=96)
    np.testing.assert_allclose(plain["local_gap_mV"].values, plain.attrs["delta_mV"])
    assert plain["local_gap_mV"].attrs["units"] == "mV"
    assert plain.attrs["friedel_fermi_energy_mV"] == 20.0
    strong = fese_like(2, shape=(30, 30), n_bias=96, nonlinear=True, gap_suppression=0.4)
    weight = strong["defect_weight"].values
    np.testing.assert_allclose(
        strong["local_gap_mV"].values, strong.attrs["delta_mV"] * (1 - 0.4 * weight)
    )


def test_gap_verdict_refuses_a_gap_within_two_bias_steps_or_at_the_end_of_the_sweep():
    bias = np.linspace(-100, 300, 81)  # 5 mV steps, as a wide RHK sweep
    coords = {"y": [0.0, 1.0], "x": [0.0, 1.0]}

    def gap(value, quality=0.95, method="fit"):
        full = np.full((2, 2), value)
        return xr.Dataset(
            {"gap": (("y", "x"), full), "fit_quality": (("y", "x"), np.full((2, 2), quality))},
            coords=coords,
            attrs={"method": method},
        )

    assert pipeline.gap_verdict(gap(40.0), bias) == ""
    assert "two bias steps" in pipeline.gap_verdict(gap(0.5), bias)
    assert "end of the sweep" in pipeline.gap_verdict(gap(298.0), bias)
    assert "R^2 0.55" in pipeline.gap_verdict(gap(40.0, 0.55), bias)
    assert "over the noise" in pipeline.gap_verdict(gap(40.0, 2.0, "peaks"), bias)
    found = pipeline.key_energies(gap(0.5), None, bias, resolved=False)
    assert list(found) == ["Fermi level"]


def test_no_ring_search_on_a_map_with_too_coarse_q():
    grid, _ = _gap_grid(ny=12, nx=12, pixel=0.2)  # 12 pixels: q steps of 2.6 1/nm
    maps = pipeline.physics_maps(grid, pipeline.config_for("test"))
    assert np.isnan(maps.ring.values).all() and "too few" in maps.ring.attrs["note"]
    assert any("no QPI ring search" in line for line in pipeline.physics_summary(maps))


def test_ring_search_starts_past_the_fall_of_the_defect_power():
    from stswidgets.pipeline.qpi import _past_the_fall

    q = np.arange(20) * 0.4
    row = np.where(q < 2.0, 1.0 - 0.3 * q, 0.0) + 0.6 * np.exp(-0.5 * ((q - 5.2) / 0.3) ** 2)
    blanked = _past_the_fall(row[None, :], q >= 0.8)[0]
    assert np.isnan(blanked[q < 1.9]).all() and np.isfinite(blanked[q >= 2.0]).all()
    assert q[np.nanargmax(blanked)] == pytest.approx(5.2)  # the bump, not the edge at q_min
