"""The FeSe-like simulator behind :func:`stswidgets.datasets.fese_like` (see that module's
docstring for the model and its ground truth). Public through :mod:`stswidgets.datasets`.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter, gaussian_filter1d
from scipy.spatial import cKDTree

from stswidgets._defect_signatures import _apply_friedel, _from_table, superconductor_dos
from stswidgets.grid import make_grid

_N_LEVELS = 64  # tabulated strength levels of the non-linear mode


def _window(energy_mV: np.ndarray, window_mV, edge_mV: float) -> np.ndarray:
    """Smooth box: ~1 inside ``[lo, hi]`` mV, ~0 outside, tanh edges of width ``edge_mV``."""
    lo, hi = window_mV
    return 0.5 * (np.tanh((energy_mV - lo) / edge_mV) - np.tanh((energy_mV - hi) / edge_mV))


def _place_centres(rng, n, extent_nm, min_separation_nm, taken=None):
    """Random sequential placement of ``n`` centres with a minimum separation (in nm)."""
    placed = [] if taken is None else list(taken)
    n_before = len(placed)
    candidates = rng.uniform(0.0, 1.0, size=(50 * n + 50, 2)) * np.asarray(extent_nm)
    for point in candidates:
        if len(placed) - n_before == n:
            break
        if placed and np.min(np.hypot(*(np.asarray(placed) - point).T)) < min_separation_nm:
            continue
        placed.append(point)
    return np.asarray(placed[n_before:], dtype=float).reshape(-1, 2)


def fese_like(
    seed: int = 0,
    shape: tuple[int, int] = (100, 100),
    n_bias: int = 512,
    bias_range_mV: tuple[float, float] = (-15.0, 15.0),
    *,
    pixel_nm: float = 0.25,
    delta_mV: float = 2.2,
    dynes_gamma_mV: float = 0.1,
    delta2_mV: float = 1.5,
    gap2_weight: float = 0.25,
    broadening_mV: float = 0.1,
    background_slope: float = 0.012,
    background_curvature: float = 0.0015,
    vacancy_density_nm2: float = 0.016,
    min_separation_nm: float = 4.0,
    lobe_separation_nm: float = 1.0,
    lattice_angle_deg: float = 0.0,
    defect_radius_nm: float = 0.85,
    defect_profile_power: float = 1.5,
    vacancy_threshold: float = 0.6,
    transition_threshold: float = 0.15,
    vacancy_gamma_mV: float = 0.9,
    bound_state_mV: float = 1.0,
    bound_state_width_mV: float = 0.35,
    bound_state_weights: tuple[float, float] = (1.0, 0.8),
    suppressed_window_mV: tuple[float, float] = (-12.0, -4.0),
    suppression: float = 0.3,
    enhanced_window_mV: tuple[float, float] = (4.0, 10.0),
    enhancement: float = 0.35,
    window_edge_mV: float = 1.5,
    friedel_amplitude: float = 0.06,
    fermi_wavevector_nm: float = 1.6,
    fermi_energy_mV: float = 20.0,
    friedel_decay_nm: float = 2.5,
    other_density_nm2: float = 0.0,
    other_radius_nm: float = 0.6,
    other_resonance_mV: float = -6.0,
    other_resonance_width_mV: float = 2.5,
    other_amplitude: float = 0.25,
    setpoint_variation: float = 0.08,
    setpoint_correlation_nm: float = 2.0,
    setpoint_gradient: float = 0.0,
    noise: float = 0.06,
    n_missing: int = 0,
    nonlinear: bool = False,
    gap_suppression: float = 0.5,
    fade_power: float = 2.0,
    gap_anisotropy: float = 0.0,
) -> xr.Dataset:
    """A simulated FeSe-like dI/dV grid with Fe-vacancy dumbbells and its ground truth.

    Parameters
    ----------
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical numbers.
    shape : (int, int)
        ``(ny, nx)`` pixels of the map.
    n_bias : int
        Number of bias points (>= 2).
    bias_range_mV : (float, float)
        First and last bias in mV (the axis is ascending).
    pixel_nm : float
        Pixel size in nm (the map is ``nx * pixel_nm`` wide; FeSe's lattice constant is 0.377 nm).
    delta_mV : float
        Main superconducting gap (coherence peaks at +-delta_mV; the gap is ~2 delta wide).
    dynes_gamma_mV : float
        Dynes pair-breaking broadening of the clean surface (quasiparticle lifetime).
    delta2_mV : float
        Second, smaller gap of the multi-band superconductor (a shoulder inside the peaks).
    gap2_weight : float
        Fraction of the DOS carried by the band with the second gap (0 for a single gap).
    broadening_mV : float
        Gaussian instrumental broadening (lock-in modulation, temperature), standard deviation.
    background_slope : float
        Linear particle-hole asymmetry of the normal-state conductance, per mV
        (1 + slope E + curvature E^2).
    background_curvature : float
        V-shaped (quadratic) rise of the normal-state conductance away from E_F, per mV^2.
    vacancy_density_nm2 : float
        Fe vacancies per nm^2 (the count is ``round(density * area)``, at least one; fewer when
        ``min_separation_nm`` leaves no room; ``attrs["n_vacancies"]`` has the count placed).
    min_separation_nm : float
        Minimum distance between defect centres (vacancies are sparse and isolated).
    lobe_separation_nm : float
        Distance between the two lobes of a vacancy dumbbell.
    lattice_angle_deg : float
        Direction of the Fe-Fe lattice axis; each dumbbell lies along it or at +90 degrees.
    defect_radius_nm : float
        Decay length of the vacancy's influence (bound-state extent) from a lobe centre.
    defect_profile_power : float
        Shape exponent p of the weight profile ``exp(-(rho / defect_radius_nm) ** p)``.
    vacancy_threshold : float
        Weight above which a pixel is ground-truth ``vacancy``.
    transition_threshold : float
        Weight above which a non-vacancy pixel is ground-truth ``transition``.
    vacancy_gamma_mV : float
        Dynes broadening at the vacancy core: pair breaking fills the gap and suppresses the
        coherence peaks.
    bound_state_mV : float
        Energy of the in-gap impurity bound states (peaks at +-bound_state_mV).
    bound_state_width_mV : float
        Half width (Lorentzian) of the bound-state peaks.
    bound_state_weights : (float, float)
        Heights of the bound-state peaks at (-E_b, +E_b), particle-hole asymmetric.
    suppressed_window_mV : (float, float)
        Filled-state window whose spectral weight the vacancy removes.
    suppression : float
        Fractional loss of conductance inside ``suppressed_window_mV`` at the vacancy core.
    enhanced_window_mV : (float, float)
        Empty-state window (around +7 mV) that gains the spectral weight.
    enhancement : float
        Fractional gain of conductance inside ``enhanced_window_mV`` at the vacancy core.
    window_edge_mV : float
        Width of the smooth (tanh) edges of both windows.
    friedel_amplitude : float
        Relative amplitude of the Friedel (quasiparticle-interference) oscillations.
    fermi_wavevector_nm : float
        k_F in 1/nm; the oscillations go as cos(2 k(E) rho) with k(E) = k_F (1 + E / 2 E_F).
    fermi_energy_mV : float
        Fermi energy of the small FeSe pocket, sets the dispersion of k(E).
    friedel_decay_nm : float
        Decay length of the oscillations away from a defect.
    other_density_nm2 : float
        Density per nm^2 of a second, weaker defect kind (Se-site defects: one round lobe, a
        filled-state resonance, no in-gap states); ground truth in ``other_defect``.
    other_radius_nm : float
        Gaussian radius of the second defect kind.
    other_resonance_mV : float
        Energy of the second defect kind's resonance.
    other_resonance_width_mV : float
        Gaussian width of that resonance.
    other_amplitude : float
        Relative height of that resonance at the defect centre.
    setpoint_variation : float
        Standard deviation of log of the smooth multiplicative factor every spectrum carries
        (tip height set by the current setpoint, i.e. normalisation at the setpoint).
    setpoint_correlation_nm : float
        Correlation length of that factor.
    setpoint_gradient : float
        Additional log-factor change across the map along x (a drifting tip).
    noise : float
        White (lock-in) noise, standard deviation relative to the normal-state conductance.
    n_missing : int
        Trailing pixels (row-major) left unmeasured (NaN), as in an aborted grid.
    nonlinear : bool
        False (the default this round, so the embedded demo grid stays as it was): every
        spectrum is the linear mix above. True: spectra from LOCAL physics at the pixel's strength
        ``s = defect_weight`` (module docstring): the gap shrinks to ``delta (1 -
        gap_suppression s)``, the coherence peaks broaden (Dynes ``Gamma`` from
        ``dynes_gamma_mV`` to ``vacancy_gamma_mV``), the bound states move from the gap edge
        towards ``+-bound_state_mV`` (towards zero bias) near the core, and the bound states,
        the weight transfer and the second kind's resonance fade as ``s ** fade_power``. The
        ground truth is the same in both modes.
    gap_suppression : float
        Fractional suppression of both gaps at a vacancy centre (``nonlinear`` only).
    fade_power : float
        Exponent of the non-linear fading of the defect signatures (``nonlinear`` only).
    gap_anisotropy : float
        0 (default) isotropic gaps; towards 1 a gap with deep minima on the Fermi surface, whose
        DOS is V-shaped as in FeSe (both modes).

    Returns
    -------
    xarray.Dataset
        ``didv (y, x, bias)`` float32 grid (x, y in nm, bias in mV) and ``(y, x)`` ground truth:
        ``vacancy``, ``transition`` (bool), ``defect_weight`` (float in [0, 1]), when
        ``other_density_nm2 > 0`` ``other_defect``, and the truth shared with
        :func:`random_grid`: ``kind`` (0 outside cores, 1 vacancy, 2 other defect),
        ``defect_distance_nm``, ``nearest_kind``, ``valid`` and ``local_gap_mV`` (Delta of each
        pixel: ``delta_mV`` everywhere in the linear mix, ``delta_mV (1 - gap_suppression s)``
        when ``nonlinear``). ``attrs`` record the seed, the main parameters (with
        ``friedel_wavelength_nm`` and ``friedel_fermi_energy_mV`` as :func:`random_grid`),
        the spectral-weight windows (``suppressed_window_mV``, ``enhanced_window_mV``),
        ``kinds`` (JSON: each kind's ``core_radius_nm`` and
        ``healing_length_nm``), ``healing_length_nm`` (the largest) and ``nonlinear``.

    Examples
    --------
    >>> ds = fese_like(seed=1, shape=(40, 40), n_bias=128)
    >>> ds["didv"].dims
    ('y', 'x', 'bias')
    """
    ny, nx = (int(v) for v in shape)
    if ny < 1 or nx < 1:
        raise ValueError(f"shape must be two positive ints (ny, nx), got {shape!r}")
    if int(n_bias) < 2:
        raise ValueError(f"n_bias must be >= 2, got {n_bias!r}")
    lo_mV, hi_mV = (float(v) for v in bias_range_mV)
    if not hi_mV > lo_mV:
        raise ValueError(f"bias_range_mV must be (low, high) with low < high, got {bias_range_mV}")
    if not 0 <= transition_threshold < vacancy_threshold <= 1:
        raise ValueError(
            "expected 0 <= transition_threshold < vacancy_threshold <= 1, got "
            f"{transition_threshold} and {vacancy_threshold}"
        )
    if not 0 <= int(n_missing) < ny * nx:
        raise ValueError(f"n_missing must be in [0, {ny * nx}) for shape {shape}, got {n_missing}")
    rng = np.random.default_rng(seed)
    bias = np.linspace(lo_mV, hi_mV, int(n_bias))
    x_nm = np.arange(nx) * pixel_nm
    y_nm = np.arange(ny) * pixel_nm
    extent = (nx * pixel_nm, ny * pixel_nm)

    # --- real space: defects and their weights -------------------------------------------
    area = extent[0] * extent[1]
    n_vac = max(1, round(vacancy_density_nm2 * area)) if vacancy_density_nm2 > 0 else 0
    centres = _place_centres(rng, n_vac, extent, min_separation_nm)
    angles = np.deg2rad(lattice_angle_deg) + rng.integers(0, 2, len(centres)) * np.pi / 2
    half = 0.5 * lobe_separation_nm * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    lobes = np.concatenate([centres + half, centres - half])  # (2 n_vac, 2) x, y in nm
    n_other = max(1, round(other_density_nm2 * area)) if other_density_nm2 > 0 else 0
    others = _place_centres(rng, n_other, extent, min_separation_nm, taken=centres)

    xx, yy = np.meshgrid(x_nm, y_nm)  # (ny, nx)
    pix = np.stack([xx.ravel(), yy.ravel()], axis=-1)  # (n_pix, 2)

    def nearest(points):
        if len(points) == 0:
            return np.full(len(pix), np.inf), np.zeros(len(pix), dtype=int)
        distance, index = cKDTree(points).query(pix)
        return distance, index

    rho_vac, _ = nearest(lobes)
    weight = np.exp(-((rho_vac / defect_radius_nm) ** defect_profile_power))
    rho_other, _ = nearest(others)
    other_weight = np.exp(-0.5 * (rho_other / other_radius_nm) ** 2)
    all_centres = np.concatenate([centres, others]) if len(others) else centres
    rho_all, which = nearest(all_centres)
    phases = rng.uniform(0, 2 * np.pi, max(len(all_centres), 1))

    # --- energy space: templates on a fine axis, broadened, sampled on the bias axis --------
    step = min(0.01, (hi_mV - lo_mV) / (4 * n_bias))
    pad = 5 * broadening_mV + 1.0
    fine = np.arange(lo_mV - pad, hi_mV + pad + step, step)
    background = 1 + background_slope * fine + background_curvature * fine**2

    def superconductor(gamma, gap_factor=1.0):
        return superconductor_dos(
            fine,
            delta_mV * gap_factor,
            gamma,
            delta2_mV=delta2_mV * gap_factor,
            gap2_weight=gap2_weight,
            anisotropy=gap_anisotropy,
        )

    def bound_states(energy_mV):
        return sum(
            height / (1 + ((fine - sign * energy_mV) / bound_state_width_mV) ** 2)
            for sign, height in zip((-1, 1), bound_state_weights, strict=True)
        )

    surface = background * superconductor(dynes_gamma_mV)
    bound = bound_states(bound_state_mV)
    transfer = (
        1
        - suppression * _window(fine, suppressed_window_mV, window_edge_mV)
        + enhancement * _window(fine, enhanced_window_mV, window_edge_mV)
    )
    vacancy_spec = background * transfer * (superconductor(vacancy_gamma_mV) + bound)
    resonance = np.exp(-0.5 * ((fine - other_resonance_mV) / other_resonance_width_mV) ** 2)
    other_spec = surface * (1 + other_amplitude * resonance)

    def sample(spectrum):
        smooth = (
            gaussian_filter1d(spectrum, broadening_mV / step) if broadening_mV > 0 else spectrum
        )
        return np.interp(bias, fine, smooth)

    surf, vac, oth = sample(surface), sample(vacancy_spec), sample(other_spec)

    # --- per pixel (float32: the precision of a lock-in grid, and half the memory traffic) ---
    f32 = np.float32
    if nonlinear:

        def local_vacancy(s):
            gap_factor = 1 - gap_suppression * s
            energy = bound_state_mV + (0.95 * delta_mV * gap_factor - bound_state_mV) * (1 - s)
            fade = s**fade_power
            dos = superconductor(
                dynes_gamma_mV + (vacancy_gamma_mV - dynes_gamma_mV) * s, gap_factor
            )
            return background * (1 + fade * (transfer - 1)) * (dos + fade * bound_states(energy))

        levels = np.linspace(0.0, 1.0, _N_LEVELS)
        table = np.stack([sample(local_vacancy(s)) for s in levels])
        spectra = _from_table(table, weight)
        if len(others):
            bump = sample(surface * resonance) / sample(surface)  # broadened, relative
            fade = (other_weight**fade_power).astype(f32)[:, None]
            spectra *= 1 + fade * (other_amplitude * bump).astype(f32)[None, :]
    else:
        w = weight.astype(f32)[:, None]
        spectra = surf.astype(f32)[None, :] + w * (vac - surf).astype(f32)[None, :]
        if len(others):
            spectra += other_weight.astype(f32)[:, None] * (oth - surf).astype(f32)[None, :]
    if friedel_amplitude and len(all_centres):
        k = fermi_wavevector_nm * (1 + bias / (2 * fermi_energy_mV))  # (n_bias,)
        envelope = friedel_amplitude * np.exp(-rho_all / friedel_decay_nm) * (1 - weight)
        _apply_friedel(spectra, k, rho_all, phases[which], envelope)
    field = gaussian_filter(
        rng.standard_normal((ny, nx)), setpoint_correlation_nm / pixel_nm, mode="wrap"
    )
    field /= max(field.std(), 1e-12)
    log_factor = setpoint_variation * field + setpoint_gradient * (xx / extent[0] - 0.5)
    spectra *= np.exp(log_factor).ravel().astype(f32)[:, None]
    spectra += np.float32(noise) * rng.standard_normal(spectra.shape, dtype=np.float32)
    if n_missing:
        spectra[len(spectra) - int(n_missing) :] = np.nan

    source = f"stswidgets.datasets.fese_like(seed={seed})"
    grid = make_grid(
        spectra.reshape(ny, nx, -1), bias, x_nm, y_nm, units="a.u.", channel="didv", source=source
    )
    weight_map = weight.reshape(ny, nx)
    coords = {"y": grid["y"], "x": grid["x"]}
    vacancy = weight_map > vacancy_threshold
    data = {
        "didv": grid,
        "vacancy": xr.DataArray(vacancy, dims=("y", "x"), coords=coords),
        "transition": xr.DataArray(
            (weight_map > transition_threshold) & ~vacancy, dims=("y", "x"), coords=coords
        ),
        "defect_weight": xr.DataArray(weight_map, dims=("y", "x"), coords=coords),
    }
    # the contract shared with random_grid: core radius and healing length of each kind put
    # the ring's outer edge where the weight falls to transition_threshold (w is monotonic in
    # rho), so `transition` = non-core pixels within core radius + 3 healing lengths
    p = defect_profile_power
    vacancy_core = defect_radius_nm * np.log(1 / vacancy_threshold) ** (1 / p)
    vacancy_reach = defect_radius_nm * np.log(1 / max(transition_threshold, 1e-300)) ** (1 / p)
    kinds = [
        {
            "name": "vacancy",
            "core_radius_nm": float(vacancy_core),
            "healing_length_nm": float((vacancy_reach - vacancy_core) / 3),
        }
    ]
    kind_map = vacancy.astype(int)
    ring = (weight_map > transition_threshold) & ~vacancy
    if len(others):
        other_mask = other_weight.reshape(ny, nx) > 0.5
        other_core = other_radius_nm * np.sqrt(2 * np.log(2))
        other_reach = other_radius_nm * np.sqrt(2 * np.log(1 / max(transition_threshold, 1e-300)))
        kinds.append(
            {
                "name": "other_defect",
                "core_radius_nm": float(other_core),
                "healing_length_nm": float(max(other_reach - other_core, 0.0) / 3),
            }
        )
        data["other_defect"] = xr.DataArray(other_mask, dims=("y", "x"), coords=coords)
        data["vacancy"] = data["vacancy"] & ~other_mask
        kind_map = np.where(other_mask, 2, kind_map)
        ring = ring | (other_weight.reshape(ny, nx) > transition_threshold)
    ring &= kind_map == 0
    data["transition"] = xr.DataArray(ring, dims=("y", "x"), coords=coords)
    data["kind"] = xr.DataArray(kind_map, dims=("y", "x"), coords=coords)
    distance = np.minimum(rho_vac, rho_other).reshape(ny, nx)
    data["defect_distance_nm"] = xr.DataArray(
        distance, dims=("y", "x"), coords=coords, attrs={"units": "nm"}
    )
    nearest_kind = np.where(rho_vac <= rho_other, 1, 2).reshape(ny, nx)
    data["nearest_kind"] = xr.DataArray(nearest_kind, dims=("y", "x"), coords=coords)
    valid = np.arange(ny * nx).reshape(ny, nx) < ny * nx - int(n_missing)
    data["valid"] = xr.DataArray(valid, dims=("y", "x"), coords=coords)
    # the gap of each pixel's spectrum (truth only: the spectra above are not touched): the
    # linear mix keeps delta everywhere (the cores broaden it); nonlinear shrinks it locally
    if nonlinear:
        local_gap = delta_mV * (1 - gap_suppression * weight_map)
    else:
        local_gap = np.full((ny, nx), float(delta_mV))
    data["local_gap_mV"] = xr.DataArray(
        local_gap,
        dims=("y", "x"),
        coords=coords,
        attrs={"units": "mV", "long_name": "true local gap (main gap Delta)"},
    )
    attrs = {
        "source": source,
        "seed": int(seed),
        "pixel_nm": float(pixel_nm),
        "delta_mV": float(delta_mV),
        "dynes_gamma_mV": float(dynes_gamma_mV),
        "bound_state_mV": float(bound_state_mV),
        "n_vacancies": len(centres),
        "n_other_defects": len(others),
        "vacancy_threshold": float(vacancy_threshold),
        "transition_threshold": float(transition_threshold),
        "suppressed_window_mV": [float(v) for v in suppressed_window_mV],
        "enhanced_window_mV": [float(v) for v in enhanced_window_mV],
        "vacancy_gamma_mV": float(vacancy_gamma_mV),
        "defect_radius_nm": float(defect_radius_nm),
        "suppression": float(suppression),
        "enhancement": float(enhancement),
        "noise": float(noise),
        "setpoint_variation": float(setpoint_variation),
        "setpoint_gradient": float(setpoint_gradient),
        "gap_anisotropy": float(gap_anisotropy),
        "friedel_wavelength_nm": float(np.pi / fermi_wavevector_nm),  # cos(2 k_F rho) period
        "friedel_fermi_energy_mV": float(fermi_energy_mV),  # k(E) = k_F (1 + E / 2 E_F)
        "nonlinear": int(nonlinear),
        "kinds": json.dumps(kinds),
        "healing_length_nm": max(k["healing_length_nm"] for k in kinds),
        "ring_healing_lengths": 3.0,
    }
    if nonlinear:
        attrs.update(gap_suppression=float(gap_suppression), fade_power=float(fade_power))
    return xr.Dataset(data, attrs=attrs)
