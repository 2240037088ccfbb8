"""A randomized family of simulated STS grids: every seed draws its own physics.

:func:`random_grid` is the test bed for methods that must work on grids nobody tuned them for.
Each seed draws, within the documented ranges of :data:`RANDOM_RANGES`, a superconducting surface
(gap, Dynes broadening, background slope and curvature), 1 to 3 defect kinds with distinct random
signatures, their density and shapes, the width of the transition ring around them, Friedel
oscillations, setpoint drift, noise, the bias window and the number of bias points, the map shape
and, for some seeds, an aborted (incomplete) last part of the scan.

The spectrum of a pixel at distance ``rho_j`` from the nearest centre of defect kind ``j`` is::

    didv(r, E) = s(y) * [S(E) + sum_j w_j(r) (V_j(E) - S(E))] * (1 + F(r, E)) + noise

``S`` is the surface, ``V_j`` the core spectrum of kind ``j``, ``F`` the Friedel oscillations and
``s`` the setpoint factor of the scan line. The weight profile of a kind with core radius ``R``
and transition-ring width ``D`` is ``w(rho) = exp(-ln(1/0.6) (rho / R) ** p)`` with ``p`` chosen
so that ``w(R) = 0.6`` and ``w(R + D) = 0.15``: the core is ``rho < R``, the ring
``R <= rho < R + D``. Where weights overlap and add up to more than 1 they are rescaled to sum 1.

Defect signatures are drawn from four archetypes, each kind a different one, so that kinds sit on
different sides of the surface spectrum:

``in_gap_states``
    pair breaking fills the gap and suppresses the coherence peaks, plus a particle-hole
    asymmetric pair of bound-state peaks at random ``+-E_b`` inside the gap (adds in-gap weight);
``resonance``
    the gap is kept; a resonance at a random energy outside the gap on one side (empty or filled
    states) and a dip on the other side;
``gap_enhancement``
    a larger, sharper gap (removes in-gap weight, raises the coherence peaks) and a window of
    removed weight at a random position;
``weight_transfer``
    spectral weight moved from one window to another, both of random position and sign.

Ground truth: ``kind`` (0 surface, 1..k the defect kinds numbered by decreasing count of core
pixels among the measured ones, ties in drawing order) is the kind of the largest weight where it
exceeds 0.6; ``transition`` marks the surface pixels (``kind == 0``) whose largest weight exceeds
0.15; ``valid`` is False on the pixels an aborted scan never measured (their spectra are NaN).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree

from stswidgets._defect_signatures import (
    ARCHETYPES,
    _core_spectrum,
    _draw_signature,
    _place,
    dynes_dos,
)
from stswidgets.grid import make_grid

__all__ = ["ARCHETYPES", "RANDOM_RANGES", "random_grid"]


#: Documented ranges of the drawn physics. ``(lo, hi)`` are inclusive bounds of the uniform (or,
#: where marked ``log``, log-uniform) draw; energies relative to the gap are ``..._per_delta``.
#: ``tests/test_datasets.py`` checks every seed's ``attrs`` against them.
RANDOM_RANGES: dict[str, tuple[float, float]] = {
    "ny": (32, 128),  # when shape is None, ny and nx are drawn independently
    "nx": (32, 128),
    "n_bias": (64, 1024),  # log-uniform integer when n_bias is None
    "pixel_nm": (0.15, 0.35),
    "delta_mV": (0.8, 4.0),  # main superconducting gap
    "dynes_gamma_per_delta": (0.01, 0.15),
    "delta2_per_delta": (0.4, 0.8),  # second gap of a two-band superconductor
    "gap2_weight": (0.0, 0.4),
    "broadening_per_delta": (0.02, 0.1),  # Gaussian instrumental broadening (std)
    "bias_low_per_delta": (-12.0, -3.0),  # bias window edges in units of the gap
    "bias_high_per_delta": (3.0, 12.0),
    "background_slope": (-0.3, 0.3),  # relative conductance change over the half window
    "background_curvature": (0.0, 0.3),  # relative quadratic rise at the window edge
    "n_kinds": (1, 3),
    "defect_fraction": (0.04, 0.7),  # log: map fraction inside cores and rings (before overlap)
    "core_radius_nm": (0.3, 1.0),
    "ring_width_nm": (0.3, 1.2),  # transition-ring width
    "lobe_separation_nm": (0.6, 1.2),  # dumbbell kinds only
    "friedel_wavelength_nm": (0.4, 2.0),  # real-space period of the oscillations
    "friedel_amplitude": (0.0, 0.08),
    "friedel_decay_nm": (1.0, 4.0),
    "setpoint_drift": (0.0, 0.10),  # peak-to-peak slow drift along y plus line jitter
    "noise": (0.01, 0.05),  # white noise std relative to the normal-state conductance
    "missing_fraction": (0.02, 0.15),  # trailing pixels of an aborted scan (30 % of seeds; else 0)
    "signature_contrast": (0.08, np.inf),  # rms |V_j - S| / rms S, 512 points over the window
}
_CORE_WEIGHT, _RING_WEIGHT = 0.6, 0.15
_ABORT_PROBABILITY = 0.3


def _uniform(rng, key, log=False):
    lo, hi = RANDOM_RANGES[key]
    if log:
        return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    return float(rng.uniform(lo, hi))


def random_grid(
    seed: int,
    shape: tuple[int, int] | None = None,
    n_bias: int | None = None,
    *,
    size_range: tuple[int, int] | None = None,
) -> xr.Dataset:
    """A simulated dI/dV grid whose physics is drawn at random from ``seed``, with ground truth.

    All physics is drawn first from one :func:`numpy.random.default_rng` stream in a fixed order,
    so a given ``shape`` or ``n_bias`` changes the sampling of a seed's grid, not its physics.

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

    Returns
    -------
    xarray.Dataset
        ``didv (y, x, bias)`` float32 grid (x, y in nm, bias in mV; NaN on unmeasured pixels);
        ``(y, x)`` ground truth ``kind`` (int: 0 surface, 1..k by decreasing core-pixel count),
        ``transition`` (bool, surface pixels in a defect's ring), ``defect_weight`` (float, the
        largest weight ``w_j`` of the pixel) and ``valid`` (bool, False where never measured).
        ``attrs`` hold every drawn parameter, JSON-serialisable and netCDF-safe: scalars named as
        in :data:`RANDOM_RANGES` (in mV and nm), and ``kinds``, a JSON string with one dict per
        kind 1..k (``archetype``, ``shape``, ``core_radius_nm``, ``ring_width_nm``, ``count``,
        ``core_pixels``, ``contrast`` and the signature's parameters).

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

    def superconductor(delta_factor, gamma_mV):
        d1, d2 = delta * delta_factor, delta * delta_factor * phys["delta2_per_delta"]
        w2 = phys["gap2_weight"]
        return (1 - w2) * dynes_dos(fine, d1, gamma_mV) + w2 * dynes_dos(fine, d2, gamma_mV)

    surface_fine = background * superconductor(1.0, gamma)
    bias = np.linspace(lo, hi, nb)

    def sample(spectrum):
        return np.interp(bias, fine, gaussian_filter1d(spectrum, broadening / step))

    surface = sample(surface_fine)
    reference = np.linspace(lo, hi, 512)  # the signature contrast, whatever n_bias is

    ref_surface = np.interp(reference, fine, gaussian_filter1d(surface_fine, broadening / step))

    def contrast_of(core_fine):
        core = np.interp(reference, fine, gaussian_filter1d(core_fine, broadening / step))
        difference = core - ref_surface
        return float(np.sqrt(np.mean(difference**2) / np.mean(ref_surface**2)))

    # --- the defect kinds: distinct archetypes, signatures above a minimum contrast ---------
    n_kinds = int(rng.integers(1, 4))
    archetypes = [str(a) for a in rng.choice(ARCHETYPES, size=n_kinds, replace=False)]
    kinds, cores = [], []
    min_contrast = RANDOM_RANGES["signature_contrast"][0]
    for archetype in archetypes:
        for _ in range(50):
            params = _draw_signature(rng, archetype, delta, gamma, lo, hi)
            params = {k: v if isinstance(v, list) else float(v) for k, v in params.items()}
            core_fine = _core_spectrum(
                archetype, params, fine, background, superconductor, surface_fine
            )
            contrast = contrast_of(core_fine)
            if contrast >= min_contrast:
                break
        kinds.append({"archetype": archetype, "contrast": contrast, **params})
        cores.append(sample(core_fine))
    for kind in kinds:
        kind["core_radius_nm"] = _uniform(rng, "core_radius_nm")
        kind["ring_width_nm"] = _uniform(rng, "ring_width_nm")
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

    xx, yy = np.meshgrid(np.arange(nx) * pixel, np.arange(ny) * pixel)
    pix = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    weights = np.zeros((n_kinds, ny * nx))
    rho_any = np.full(ny * nx, np.inf)
    nearest_any = np.zeros(ny * nx, dtype=int)
    for j, kind in enumerate(kinds):
        mine = np.flatnonzero(centre_kind == j)
        kind["count"] = len(mine)
        if len(mine) == 0:
            continue
        points = centres[mine]
        if kind["shape"] == "dumbbell":
            arm = 0.5 * kind["lobe_separation_nm"]
            offset = arm * np.stack([np.cos(angles[mine]), np.sin(angles[mine])], axis=-1)
            points = np.concatenate([points, points + 2 * offset])  # one lobe on the pixel
            owner = np.concatenate([mine, mine])
        else:
            owner = mine
        rho, index = cKDTree(points).query(pix)
        radius, ring = kind["core_radius_nm"], kind["ring_width_nm"]
        power = np.log(np.log(1 / _RING_WEIGHT) / np.log(1 / _CORE_WEIGHT)) / np.log(
            1 + ring / radius
        )
        weights[j] = np.exp(-np.log(1 / _CORE_WEIGHT) * (rho / radius) ** power)
        closer = rho < rho_any
        rho_any[closer], nearest_any[closer] = rho[closer], owner[index[closer]]
    total = weights.sum(axis=0)
    mixing = weights / np.maximum(total, 1.0)

    # --- truth ------------------------------------------------------------------------------
    strongest = weights.max(axis=0)
    drawn_kind = np.where(strongest > _CORE_WEIGHT, weights.argmax(axis=0) + 1, 0)
    valid = np.arange(ny * nx) < n_measured
    row_major = (np.round(centres[:, 1] / pixel) * nx + np.round(centres[:, 0] / pixel)).astype(int)
    for j in range(n_kinds):  # crowded tiny maps: a kind keeps the pixel under its own centre
        own = row_major[(centre_kind == j) & (row_major < n_measured)]
        if len(own) and not np.any((drawn_kind == j + 1) & valid):
            drawn_kind[own[0]] = j + 1
            mixing[:, own[0]] = 0.0
            mixing[j, own[0]] = 1.0
    core_pixels = np.array([np.sum((drawn_kind == j + 1) & valid) for j in range(n_kinds)])
    order = np.argsort(-core_pixels, kind="stable")  # kind numbers by abundance
    renumber = np.zeros(n_kinds + 1, dtype=int)
    renumber[order + 1] = np.arange(1, n_kinds + 1)
    kind_map = renumber[drawn_kind]
    transition = (kind_map == 0) & (strongest > _RING_WEIGHT)
    for j in range(n_kinds):
        kinds[j]["core_pixels"] = int(core_pixels[j])

    # --- spectra (float32, as a lock-in grid) ------------------------------------------------
    f32 = np.float32
    spectra = np.repeat(surface.astype(f32)[None, :], ny * nx, axis=0)
    for j in range(n_kinds):
        spectra += mixing[j].astype(f32)[:, None] * (cores[j] - surface).astype(f32)[None, :]
    if phys["friedel_amplitude"] > 0 and len(centres):
        k_F = np.pi / phys["friedel_wavelength_nm"]  # cos(2 k rho) has the drawn period
        k = k_F * (1 + bias / (2 * phys["friedel_fermi_energy_mV"]))
        envelope = (
            phys["friedel_amplitude"]
            * np.exp(-rho_any / phys["friedel_decay_nm"])
            * (1 - np.minimum(total, 1.0))
        )
        wave = np.cos(2 * k[None, :] * rho_any[:, None] + phases[nearest_any][:, None])
        spectra *= (1 + envelope[:, None] * wave).astype(f32)
    drift = phys["setpoint_drift"]
    rows = np.arange(ny) / max(ny - 1, 1) - 0.5
    log_factor = (
        slow_sign * drift * (1 - jitter_share) * rows + 0.5 * drift * jitter_share * line_jitter
    )
    phys["setpoint_jitter_share"] = jitter_share
    spectra *= np.repeat(np.exp(log_factor), nx).astype(f32)[:, None]
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

    def as_map(values):
        return xr.DataArray(values.reshape(ny, nx), dims=("y", "x"), coords=coords)

    numbered = [kinds[j] for j in order]
    attrs = {"source": source, **phys, "n_kinds": n_kinds, "kinds": json.dumps(numbered)}
    attrs = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in attrs.items()}
    return xr.Dataset(
        {
            "didv": grid,
            "kind": as_map(kind_map),
            "transition": as_map(transition),
            "defect_weight": as_map(strongest),
            "valid": as_map(valid),
        },
        attrs=attrs,
    )
