"""A randomized family of simulated STS grids: every seed draws its own physics.

:func:`random_grid` is the test bed for methods that must work on grids nobody tuned them for.
Each seed draws, within the documented ranges of :data:`RANDOM_RANGES`, a superconducting surface
(gap, Dynes broadening, background slope and curvature), 1 to 3 defect kinds with distinct random
signatures, their density and shapes, the width of the transition ring around them, Friedel
oscillations, setpoint drift, noise, the bias window and the number of bias points, the map shape
and, for some seeds, an aborted (incomplete) last part of the scan.

The physics is local, not a mix of templates. Each defect kind ``j`` has a core radius ``R_j``
and a healing length ``xi_j``; a pixel at distance ``rho`` from the nearest centre of kind ``j``
(a dumbbell has two centres, its lobes) feels it with the strength::

    s_j(rho) = 1 - 0.4 (rho / R_j) ** 2              for rho < R_j  (the core)
    s_j(rho) = 0.6 exp(-(rho - R_j) / xi_j)            beyond         (healing)

and its spectrum is computed from LOCAL parameters of the dominant kind (largest ``s_j``)::

    didv(r, E) = t(y) * G_j(E; s_j(r)) * (1 + F(r, E)) + noise

``G_j(E; s)`` is the kind's local spectrum (:func:`stswidgets._defect_signatures._local_spectrum`):
the gap ``Delta(s) = Delta (1 - g_j s)`` is suppressed (or, for ``gap_enhancement``, enlarged),
the Dynes broadening ``Gamma(s)`` grows as ``s ** 2`` from the surface's value to the core's, bound
states move from the gap edge towards ``E_b`` at the centre, resonances shift in energy, and every
signature fades as ``s ** p_j`` (``fade_power``). At ``s = 0`` every kind gives the surface
spectrum ``S``. A ring pixel is therefore NOT ``S + w (V - S)``: its coherence peaks sit at a
smaller gap and are broader than any mix of surface and core. For speed ``G_j`` is tabulated on 64
strength levels and each pixel interpolated between the two nearest (still non-linear in ``rho``).
The surface DOS is two-band Dynes, V-shaped (an anisotropic gap with deep minima, FeSe-like) on a
share of seeds (``gap_anisotropy > 0``). ``F`` are Friedel oscillations; ``t(y)`` the set-point
factor of the scan line: a slow drift, line jitter and, on a share of seeds, tip changes (the
factor jumps between bands of scan lines; ``attrs["tip_changes"]``).

Defect signatures are drawn from four archetypes, each kind a different one, so that kinds sit on
different sides of the surface spectrum:

``in_gap_states``
    pair breaking suppresses the gap (by 30-70 %) and broadens the coherence peaks, plus a
    particle-hole asymmetric pair of bound-state peaks at ``+-E_b`` inside the gap at the centre,
    moving out to the gap edge as they fade (adds in-gap weight);
``resonance``
    the gap is nearly kept; a resonance at a random energy outside the gap on one side (empty or
    filled states) and a dip on the other side, both shifting in energy with distance;
``gap_enhancement``
    a larger, sharper gap (removes in-gap weight, raises the coherence peaks) and a window of
    removed weight at a random position;
``weight_transfer``
    spectral weight moved from one window to another, both of random position and sign, with a
    mildly suppressed gap.

Ground truth (``(y, x)`` variables): ``kind`` (0 outside cores, 1..k the dominant kind where
``rho < R`` of that kind, numbered by decreasing count of core pixels among the measured ones,
ties in drawing order); ``transition``, the RING REGION: non-core pixels within ``R_j + 3 xi_j``
of a centre of some kind ``j`` (there ``s_j > 0.6 e^-3 = 0.03``); the far surface is ``kind == 0
& ~transition``; ``defect_distance_nm`` (distance to the nearest defect centre, lobes counted) and
``nearest_kind`` (its kind, 1..k); ``defect_weight`` (the dominant strength ``max_j s_j``: 1 at a
centre, 0.6 at the core edge; no longer a mixing fraction); ``local_gap_mV`` and
``local_gamma_mV`` (main gap and Dynes broadening of the pixel's local DOS); ``setpoint_factor``
(``t(y)``); ``valid`` (False where an aborted scan never measured; spectra NaN there).
``attrs["defect_centres"]`` (JSON) lists every centre (x, y in nm, kind). ``attrs["kinds"]``
gives each kind's ``healing_length_nm``, ``core_radius_nm`` and ``ring_width_nm = 3
healing_length_nm``; ``attrs["healing_length_nm"]`` is the largest.

Draw order (one stream of ``default_rng(seed)``): map shape, n_bias, pixel, gap, Dynes, second
gap and weight, broadening, bias window, background, gap anisotropy (drawn or not), number of
kinds and archetypes, each kind's signature (redrawn until its contrast is large enough), each
kind's core radius, healing length, shape and lobe separation, defect fraction and shares,
Friedel, drift and noise, Fermi energy, jitter share and sign, abort and missing fraction, tip
changes. Positions, angles, phases and line jitter come from ``default_rng([seed, 2])``, noise
from ``default_rng([seed, 1])``: a given shape changes where things are, not the physics.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.interpolate import interp1d
from scipy.ndimage import gaussian_filter1d

from stswidgets._defect_signatures import (
    ARCHETYPES,
    _apply_friedel,
    _distance_maps,
    _draw_signature,
    _from_table,
    _local_spectrum,
    _place,
    superconductor_dos,
)
from stswidgets._gap_field import gap_factor, stretched_from_table
from stswidgets.grid import make_grid

__all__ = ["ARCHETYPES", "RANDOM_RANGES", "random_grid"]


#: Documented ranges of the drawn physics. ``(lo, hi)`` are inclusive bounds of the uniform (or,
#: where marked ``log``, log-uniform) draw; energies relative to the gap are ``..._per_delta``.
#: ``tests/test_datasets_random.py`` checks every seed's ``attrs`` against them.
RANDOM_RANGES: dict[str, tuple[float, float]] = {
    "ny": (32, 128),  # when shape is None, ny and nx are drawn independently
    "nx": (32, 128),
    "n_bias": (64, 1024),  # log-uniform integer when n_bias is None
    "pixel_nm": (0.15, 0.35),
    "delta_mV": (0.8, 4.0),  # main superconducting gap
    "dynes_gamma_per_delta": (0.01, 0.15),
    "delta2_per_delta": (0.4, 0.8),  # second gap of a two-band superconductor
    "gap2_weight": (0.0, 0.4),
    "gap_anisotropy": (0.6, 0.95),  # V-shaped gap, 40 % of seeds (else 0: isotropic)
    "broadening_per_delta": (0.02, 0.1),  # Gaussian instrumental broadening (std)
    "bias_low_per_delta": (-12.0, -3.0),  # bias window edges in units of the gap
    "bias_high_per_delta": (3.0, 12.0),
    "background_slope": (-0.3, 0.3),  # relative conductance change over the half window
    "background_curvature": (0.0, 0.3),  # relative quadratic rise at the window edge
    "n_kinds": (1, 3),
    "defect_fraction": (0.04, 0.7),  # log: map fraction inside cores and rings (before overlap)
    "core_radius_nm": (0.3, 1.0),
    "healing_length_nm": (0.1, 0.4),  # the ring reaches 3 healing lengths (0.3-1.2 nm) beyond
    "lobe_separation_nm": (0.6, 1.2),  # dumbbell kinds only
    "friedel_wavelength_nm": (0.4, 2.0),  # real-space period of the oscillations
    "friedel_amplitude": (0.0, 0.08),
    "friedel_decay_nm": (1.0, 4.0),
    "setpoint_drift": (0.0, 0.10),  # peak-to-peak slow drift along y plus line jitter
    "noise": (0.01, 0.05),  # white noise std relative to the normal-state conductance
    "missing_fraction": (0.02, 0.15),  # trailing pixels of an aborted scan (30 % of seeds; else 0)
    "n_tip_changes": (1, 3),  # on 40 % of seeds (else 0)
    "tip_change_size": (0.1, 0.4),  # largest |jump| of the log set-point factor at a tip change
    "signature_contrast": (0.08, np.inf),  # rms |V_j - S| / rms S, 512 points over the window
}
_CORE_EDGE = 0.6  # strength at the core radius
_RING_HEALING_LENGTHS = 3.0  # the ring region reaches this many healing lengths beyond the core
_N_LEVELS = 64  # tabulated strength levels
_ABORT_PROBABILITY = 0.3
_ANISOTROPY_PROBABILITY = 0.4
_TIP_CHANGE_PROBABILITY = 0.4


def _uniform(rng, key, log=False):
    lo, hi = RANDOM_RANGES[key]
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def strength(rho_nm, core_radius_nm, healing_length_nm):
    """Local strength ``s(rho)`` of a defect: 1 at the centre, 0.6 at the core edge, healing.

    ``1 - 0.4 (rho / R) ** 2`` inside the core (``rho < R``), ``0.6 exp(-(rho - R) / xi)``
    beyond; continuous at ``R``.
    """
    rho = np.asarray(rho_nm, dtype=float)
    inside = 1 - (1 - _CORE_EDGE) * (rho / core_radius_nm) ** 2
    outside = _CORE_EDGE * np.exp(-np.maximum(rho - core_radius_nm, 0) / healing_length_nm)
    return np.where(rho < core_radius_nm, inside, outside)


def random_grid(
    seed: int,
    shape: tuple[int, int] | None = None,
    n_bias: int | None = None,
    *,
    size_range: tuple[int, int] | None = None,
    ideal: bool = False,
    gap_variation: float = 0.0,
    gap_correlation_nm: float = 3.0,
) -> xr.Dataset:
    """A simulated dI/dV grid whose physics is drawn at random from ``seed``, with ground truth.

    All physics is drawn first from one :func:`numpy.random.default_rng` stream in a fixed order
    (see the module docstring), so a given ``shape`` or ``n_bias`` changes the sampling of a
    seed's grid, not its physics.

    Parameters
    ----------
    seed : int
        Seed of the draw; the same seed (and arguments) gives identical numbers.
    shape : (int, int) or None
        ``(ny, nx)`` pixels; None draws ``ny`` and ``nx`` independently in ``size_range``.
    n_bias : int or None
        Bias points (>= 16); None draws a log-uniform integer in 64 ... 1024.
    size_range : (int, int) or None
        Inclusive range of the drawn ``ny`` and ``nx`` when ``shape`` is None; None means
        ``RANDOM_RANGES["ny"]`` (32 ... 128).
    ideal : bool
        True gives the local physics alone: no noise, Friedel oscillations, set-point drift or
        tip changes (same draws, same truth; for tests and figures).
    gap_variation : float
        Relative amplitude (std) of a smooth random stretch of each pixel's local spectrum in
        energy, ``c = 1 + gap_variation f`` (:mod:`stswidgets._gap_field`): the local gap,
        broadenings and in-gap energies all scale by ``c``, recorded in ``local_gap_mV`` and
        ``local_gamma_mV``. 0 (default) leaves every seed's grid unchanged; ~0.1 gives a gap map
        to test gap fits on (:func:`stswidgets.analysis.gap_map`).
    gap_correlation_nm : float
        Correlation length (std of the Gaussian filter) of that field in nm.

    Returns
    -------
    xarray.Dataset
        ``didv (y, x, bias)`` float32 grid (x, y in nm, bias in mV; NaN on unmeasured pixels);
        ``(y, x)`` ground truth ``kind`` (int: 0 outside cores, 1..k by decreasing core-pixel
        count), ``transition`` (bool, the ring region: non-core pixels within core radius + 3
        healing lengths of a centre), ``defect_distance_nm``, ``nearest_kind``,
        ``defect_weight`` (the dominant local strength), ``local_gap_mV`` and ``local_gamma_mV``
        (main gap and Dynes broadening of the local DOS), ``setpoint_factor``
        and ``valid`` (bool, False where never measured). ``attrs`` hold every drawn parameter,
        JSON-serialisable and netCDF-safe: scalars named as in :data:`RANDOM_RANGES` (in mV and
        nm), ``healing_length_nm`` (the largest kind's), ``tip_changes`` (JSON list of
        ``{"line", "factor"}``: from that scan line on, the set-point factor is multiplied by
        ``factor`` relative to the first band) and ``kinds``, a JSON string with one dict per kind
        1..k (``archetype``, ``shape``, ``core_radius_nm``, ``healing_length_nm``,
        ``ring_width_nm``, ``count``, ``core_pixels``, ``contrast`` and the signature's
        parameters).

    Examples
    --------
    >>> ds = random_grid(7, shape=(24, 32), n_bias=96)
    >>> ds["didv"].shape
    (24, 32, 96)
    >>> int(ds["kind"].max()) == ds.attrs["n_kinds"]
    True
    """
    rng = np.random.default_rng(seed)
    lo_size, hi_size = RANDOM_RANGES["ny"] if size_range is None else size_range
    if not 2 <= int(lo_size) <= int(hi_size):
        raise ValueError(f"size_range must be (low, high) with 2 <= low <= high, got {size_range}")
    drawn_shape = tuple(int(v) for v in rng.integers(int(lo_size), int(hi_size) + 1, size=2))
    drawn_n_bias = int(round(_uniform(rng, "n_bias", log=True)))
    ny, nx = drawn_shape if shape is None else (int(v) for v in shape)
    if ny < 2 or nx < 2:
        raise ValueError(f"shape must be two ints >= 2 (ny, nx), got {shape!r}")
    nb = drawn_n_bias if n_bias is None else int(n_bias)
    if nb < 16:
        raise ValueError(f"n_bias must be >= 16, got {n_bias!r}")

    # --- the surface ----------------------------------------------------------------------
    phys: dict = {"seed": int(seed), "ny": ny, "nx": nx, "n_bias": nb}
    phys["pixel_nm"] = _uniform(rng, "pixel_nm")
    delta = phys["delta_mV"] = _uniform(rng, "delta_mV")
    for key in ("dynes_gamma_per_delta", "delta2_per_delta", "gap2_weight", "broadening_per_delta"):
        phys[key] = _uniform(rng, key)
    lo = phys["bias_low_mV"] = delta * _uniform(rng, "bias_low_per_delta")
    hi = phys["bias_high_mV"] = delta * _uniform(rng, "bias_high_per_delta")
    phys["background_slope"] = _uniform(rng, "background_slope")
    phys["background_curvature"] = _uniform(rng, "background_curvature")
    v_shaped = rng.uniform() < _ANISOTROPY_PROBABILITY
    phys["gap_anisotropy"] = _uniform(rng, "gap_anisotropy") if v_shaped else 0.0
    gamma = delta * phys["dynes_gamma_per_delta"]
    broadening = delta * phys["broadening_per_delta"]
    half = max(-lo, hi)

    step = min(0.02 * delta, (hi - lo) / 4096)  # independent of n_bias: so is every draw
    pad = 5 * broadening + step
    fine = np.arange(lo - pad, hi + pad + step, step)
    background = (
        1
        + phys["background_slope"] * fine / half
        + phys["background_curvature"] * (fine / half) ** 2
    )

    def superconductor(delta_mV, gamma_mV):
        return superconductor_dos(
            fine,
            delta_mV,
            gamma_mV,
            delta2_mV=delta_mV * phys["delta2_per_delta"],
            gap2_weight=phys["gap2_weight"],
            anisotropy=phys["gap_anisotropy"],
        )

    surface_fine = background * superconductor(delta, gamma)
    bias = np.linspace(lo, hi, nb)
    reference = np.linspace(lo, hi, 512)  # the signature contrast, whatever n_bias is
    sigma = broadening / step

    def sample(spectra_fine, axis):
        return interp1d(fine, gaussian_filter1d(spectra_fine, sigma, axis=-1), axis=-1)(axis)

    ref_surface = sample(surface_fine, reference)

    def contrast_of(core_fine):
        difference = sample(core_fine, reference) - ref_surface
        return float(np.sqrt(np.mean(difference**2) / np.mean(ref_surface**2)))

    # --- the defect kinds: distinct archetypes, signatures above a minimum contrast ---------
    n_kinds = int(rng.integers(1, 4))
    archetypes = [str(a) for a in rng.choice(ARCHETYPES, size=n_kinds, replace=False)]
    kinds = []
    min_contrast = RANDOM_RANGES["signature_contrast"][0]

    def local(archetype, params, s):
        return _local_spectrum(archetype, params, s, fine, background, superconductor, delta, gamma)

    for archetype in archetypes:
        for _ in range(50):
            params = _draw_signature(rng, archetype, delta, gamma, lo, hi)
            params = {k: v if isinstance(v, list) else float(v) for k, v in params.items()}
            contrast = contrast_of(local(archetype, params, 1.0))
            if contrast >= min_contrast:
                break
        kinds.append({"archetype": archetype, "contrast": contrast, **params})
    for kind in kinds:
        kind["core_radius_nm"] = _uniform(rng, "core_radius_nm")
        kind["healing_length_nm"] = _uniform(rng, "healing_length_nm")
        kind["ring_width_nm"] = _RING_HEALING_LENGTHS * kind["healing_length_nm"]
        kind["shape"] = "dumbbell" if rng.uniform() < 0.5 else "round"
        kind["lobe_separation_nm"] = _uniform(rng, "lobe_separation_nm")
    phys["defect_fraction"] = _uniform(rng, "defect_fraction", log=True)
    shares = rng.dirichlet(np.full(n_kinds, 2.0))

    for key in (
        "friedel_wavelength_nm",
        "friedel_amplitude",
        "friedel_decay_nm",
        "setpoint_drift",
        "noise",
    ):
        phys[key] = _uniform(rng, key)
    phys["friedel_fermi_energy_mV"] = float(rng.uniform(5, 20) * delta)
    jitter_share = float(rng.uniform(0.0, 0.5))
    slow_sign = float(rng.choice([-1.0, 1.0]))
    aborted = rng.uniform() < _ABORT_PROBABILITY
    missing_fraction = _uniform(rng, "missing_fraction") if aborted else 0.0
    tip_changed = rng.uniform() < _TIP_CHANGE_PROBABILITY
    n_tip = int(rng.integers(1, 4)) if tip_changed else 0
    phys["n_tip_changes"] = n_tip
    phys["tip_change_size"] = _uniform(rng, "tip_change_size") if tip_changed else 0.0
    tip_at = np.sort(rng.uniform(0.1, 0.9, n_tip))  # fraction of the scan lines
    tip_jumps = rng.choice([-1.0, 1.0], n_tip) * rng.uniform(0.5, 1.0, n_tip)
    tip_jumps *= phys["tip_change_size"]
    # positions, orientations, line jitter and noise from their own streams, so that the shape
    # and n_bias change where things are, never which physics a seed draws
    rng = np.random.default_rng([int(seed), 2])
    noise_rng = np.random.default_rng([int(seed), 1])

    # --- real space ---------------------------------------------------------------------------
    pixel = phys["pixel_nm"]
    extent = (nx * pixel, ny * pixel)
    area = extent[0] * extent[1]
    counts = []
    for kind, share in zip(kinds, shares, strict=True):
        reach = kind["core_radius_nm"] + kind["ring_width_nm"]
        if kind["shape"] == "dumbbell":
            reach += 0.5 * kind["lobe_separation_nm"]  # two lobes, one on the centre
        counts.append(max(1, round(phys["defect_fraction"] * share * area / (np.pi * reach**2))))
    min_separation = 2 * max(k["core_radius_nm"] for k in kinds) + max(
        k["lobe_separation_nm"] if k["shape"] == "dumbbell" else 0.0 for k in kinds
    )
    centres, centre_kind = _place(rng, counts, extent, min_separation)
    centres = (np.round(centres / pixel) * pixel).clip(0, np.array(extent) - pixel)  # on pixels
    angles = rng.uniform(0, np.pi, len(centres))
    phases = rng.uniform(0, 2 * np.pi, len(centres))
    line_jitter = rng.standard_normal(ny)

    # a kind that only sits in the unmeasured part moves its first centre into the measured part
    n_missing = int(missing_fraction * ny * nx)
    phys["n_missing"] = n_missing
    phys["missing_fraction"] = missing_fraction
    n_measured = ny * nx - n_missing
    row_major = np.round(centres[:, 1] / pixel) * nx + np.round(centres[:, 0] / pixel)
    for j in range(n_kinds):
        mine = np.flatnonzero(centre_kind == j)
        if len(mine) == 0:
            continue
        if not np.any(row_major[mine] < n_measured):
            spot = int(rng.integers(0, n_measured))
            centres[mine[0]] = (spot % nx * pixel, spot // nx * pixel)

    rho_kind, nearest_centre, point_kinds = _distance_maps(
        kinds, centres, centre_kind, angles, (ny, nx), pixel
    )
    strengths = np.stack(
        [
            strength(rho_kind[j], k["core_radius_nm"], k["healing_length_nm"])
            for j, k in enumerate(kinds)
        ]
    )
    rho_any = rho_kind.min(axis=0)

    # --- truth ------------------------------------------------------------------------------
    dominant = strengths.argmax(axis=0)
    local_s = strengths.max(axis=0)
    radius = np.array([k["core_radius_nm"] for k in kinds])
    reach = radius + _RING_HEALING_LENGTHS * np.array([k["healing_length_nm"] for k in kinds])
    in_core = rho_kind < radius[:, None]
    drawn_kind = np.where(in_core.any(axis=0), dominant + 1, 0)
    valid = np.arange(ny * nx) < n_measured
    row_major = (np.round(centres[:, 1] / pixel) * nx + np.round(centres[:, 0] / pixel)).astype(int)
    for j in range(n_kinds):  # crowded tiny maps: a kind keeps the pixel under its own centre
        own = row_major[(centre_kind == j) & (row_major < n_measured)]
        if len(own) and not np.any((drawn_kind == j + 1) & valid):
            drawn_kind[own[0]], dominant[own[0]], local_s[own[0]] = j + 1, j, 1.0
    core_pixels = np.array([np.sum((drawn_kind == j + 1) & valid) for j in range(n_kinds)])
    order = np.argsort(-core_pixels, kind="stable")  # kind numbers by abundance
    renumber = np.zeros(n_kinds + 1, dtype=int)
    renumber[order + 1] = np.arange(1, n_kinds + 1)
    kind_map = renumber[drawn_kind]
    transition = (kind_map == 0) & (rho_kind < reach[:, None]).any(axis=0)
    nearest_kind = renumber[centre_kind[nearest_centre] + 1]
    suppression = np.array([k["gap_suppression"] for k in kinds])
    local_gap = delta * (1 - suppression[dominant] * local_s)
    core_gamma = np.array([k.get("gamma_mV", gamma) for k in kinds])
    local_gamma = gamma + (core_gamma[dominant] - gamma) * local_s**2
    for j in range(n_kinds):
        kinds[j]["core_pixels"] = int(core_pixels[j])
    phys["defect_centres"] = json.dumps(
        [
            {"x_nm": float(x), "y_nm": float(y), "kind": int(renumber[j + 1])}
            for j, x, y in point_kinds
        ]
    )

    # --- spectra: local physics tabulated on strength levels (float32, as a lock-in grid) -----
    levels = np.linspace(0.0, 1.0, _N_LEVELS)
    if gap_variation > 0:  # a smooth field stretches each local spectrum in energy
        factor = gap_factor(seed, (ny, nx), phys["pixel_nm"], gap_variation, gap_correlation_nm)
        factor = factor.ravel()
        local_gap, local_gamma = local_gap * factor, local_gamma * factor
        phys["gap_variation"], phys["gap_correlation_nm"] = gap_variation, gap_correlation_nm
        wide_lo, wide_hi = min(lo, lo / factor.min()), max(hi, hi / factor.min())
        fine = np.arange(wide_lo - pad, wide_hi + pad + step, step)
        background = (
            1
            + phys["background_slope"] * fine / half
            + phys["background_curvature"] * (fine / half) ** 2
        )
        axis = np.linspace(wide_lo, wide_hi, int(np.ceil((wide_hi - wide_lo) / step)) + 1)
        table = np.stack(
            [sample(np.stack([local(k["archetype"], k, s) for s in levels]), axis) for k in kinds]
        ).astype(np.float32)  # (n_kinds, n_levels, n_axis)
        spectra = stretched_from_table(table, axis, local_s, dominant, bias, factor)
    else:
        table = np.stack(
            [sample(np.stack([local(k["archetype"], k, s) for s in levels]), bias) for k in kinds]
        ).astype(np.float32)  # (n_kinds, n_levels, n_bias)
        spectra = _from_table(table, local_s, dominant)
    f32 = np.float32
    if phys["friedel_amplitude"] > 0 and len(centres) and not ideal:
        k_F = np.pi / phys["friedel_wavelength_nm"]  # cos(2 k rho) has the drawn period
        k = k_F * (1 + bias / (2 * phys["friedel_fermi_energy_mV"]))
        envelope = phys["friedel_amplitude"] * np.exp(-rho_any / phys["friedel_decay_nm"])
        envelope *= 1 - local_s
        _apply_friedel(spectra, k, rho_any, phases[nearest_centre], envelope)
    drift = phys["setpoint_drift"]
    rows = np.arange(ny) / max(ny - 1, 1) - 0.5
    log_factor = (
        slow_sign * drift * (1 - jitter_share) * rows + 0.5 * drift * jitter_share * line_jitter
    )
    tip_lines = [int(round(f * ny)) for f in tip_at]
    tip_log = np.zeros(ny)
    for line, jump in zip(tip_lines, tip_jumps, strict=True):
        tip_log[line:] += jump
    phys["tip_changes"] = json.dumps(
        [{"line": line, "factor": float(np.exp(tip_log[min(line, ny - 1)]))} for line in tip_lines]
    )
    log_factor = log_factor + tip_log
    phys["setpoint_jitter_share"] = jitter_share
    line_factor = np.exp(log_factor) if not ideal else np.ones(ny)
    spectra *= np.repeat(line_factor, nx).astype(f32)[:, None]
    if not ideal:
        spectra += f32(phys["noise"]) * noise_rng.standard_normal(spectra.shape, dtype=f32)
    spectra[~valid] = np.nan

    source = f"stswidgets.datasets.random_grid(seed={seed})"
    grid = make_grid(
        spectra.reshape(ny, nx, nb),
        bias,
        np.arange(nx) * pixel,
        np.arange(ny) * pixel,
        units="a.u.",
        channel="didv",
        source=source,
    )
    coords = {"y": grid["y"], "x": grid["x"]}

    def as_map(values, **attrs):
        return xr.DataArray(values.reshape(ny, nx), dims=("y", "x"), coords=coords, attrs=attrs)

    numbered = [kinds[j] for j in order]
    attrs = {
        "source": source,
        **phys,
        "n_kinds": n_kinds,
        "healing_length_nm": max(k["healing_length_nm"] for k in kinds),
        "ring_healing_lengths": _RING_HEALING_LENGTHS,
        "ideal": int(ideal),
        "kinds": json.dumps(numbered),
    }
    attrs = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in attrs.items()}
    return xr.Dataset(
        {
            "didv": grid,
            "kind": as_map(kind_map),
            "transition": as_map(transition),
            "defect_distance_nm": as_map(rho_any, units="nm"),
            "nearest_kind": as_map(nearest_kind),
            "defect_weight": as_map(local_s),
            "local_gap_mV": as_map(local_gap, units="mV"),
            "local_gamma_mV": as_map(local_gamma, units="mV"),
            "setpoint_factor": as_map(np.repeat(line_factor, nx)),
            "valid": as_map(valid),
        },
        attrs=attrs,
    )
