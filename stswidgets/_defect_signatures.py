"""Spectral building blocks of the simulated grids: the Dynes density of states (used by
:func:`stswidgets.datasets.fese_like` and :func:`stswidgets.datasets.random_grid`, public as
:func:`stswidgets.datasets.dynes_dos`), the defect-kind signatures and the defect placement of
:func:`~stswidgets.datasets.random_grid`.

The simulated-data modules depend one way: ``datasets`` -> ``_random_physics`` ->
``_defect_signatures``. Each archetype (see :mod:`stswidgets._random_physics`) turns a few
randomly drawn parameters into the core spectrum of a defect kind on a fine energy axis;
:func:`_place` puts the defect centres on the map with a minimum separation.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: Defect-signature archetypes; each kind of a grid draws a different one.
ARCHETYPES = ("in_gap_states", "resonance", "gap_enhancement", "weight_transfer")


def dynes_dos(energy_mV: np.ndarray, delta_mV: float, gamma_mV: float) -> np.ndarray:
    """Dynes density of states ``Re[(E - i Gamma) / sqrt((E - i Gamma)^2 - Delta^2)]``.

    Parameters
    ----------
    energy_mV : numpy.ndarray
        Energies (bias) in mV.
    delta_mV : float
        Superconducting gap in meV (the coherence peaks sit at ``+-delta_mV``).
    gamma_mV : float
        Dynes pair-breaking broadening in meV (> 0); larger values fill the gap.

    Returns
    -------
    numpy.ndarray
        The DOS normalised to the normal state (-> 1 far from the gap), same shape as
        ``energy_mV``.
    """
    z = np.asarray(energy_mV, dtype=float) - 1j * gamma_mV
    root = np.sqrt(z * z - delta_mV**2)
    # the branch with Re(root) having the sign of Re(z) gives a DOS that is positive everywhere
    root = np.where(root.real * z.real < 0, -root, root)
    return np.abs((z / root).real)


def _gauss(fine, centre, width):
    return np.exp(-0.5 * ((fine - centre) / width) ** 2)


def _anisotropic_dynes(energy_mV, deltas_mV, gamma_mV):
    """Mean Dynes DOS over the gaps ``deltas_mV`` (complex64, all angles at once: 4x faster)."""
    z = (np.asarray(energy_mV, dtype=np.float32) - np.complex64(1j * gamma_mV))[None, :]
    d = np.asarray(deltas_mV, dtype=np.float32)[:, None]
    ratio = z / np.sqrt((z - d) * (z + d))  # factored: no cancellation near the peaks
    # the branch of the root only flips the sign of the real part, which abs() removes
    return np.abs(ratio.real).mean(axis=0, dtype=np.float64)


def superconductor_dos(
    energy_mV, delta_mV, gamma_mV, *, delta2_mV=None, gap2_weight=0.0, anisotropy=0.0, n_angles=24
):
    """Two-band, optionally anisotropic Dynes DOS (normalised to the normal state).

    ``(1 - gap2_weight) N(delta_mV) + gap2_weight N(delta2_mV)``, where each band's ``N``
    averages the Dynes DOS over the Fermi-surface angle with ``Delta(theta) = delta (1 - a + a
    |cos 2 theta|)``, ``a = anisotropy``: 0 is an isotropic gap (U-shaped, exactly
    :func:`dynes_dos`), ``a`` near 1 a gap with deep minima whose DOS rises linearly from zero
    bias (V-shaped, as in FeSe). ``n_angles`` = 24 keeps the discrete angles' ripple below
    0.4 % of the normal state at the smallest drawn broadenings (8 angles: 13 %); beyond
    ``2.5 delta + 5 gamma`` the rms gap stands in for the angle average (error < 0.2 %).
    """
    theta = (np.arange(n_angles) + 0.5) * (np.pi / 4) / n_angles  # a quarter Fermi surface
    factors = 1 - anisotropy + anisotropy * np.abs(np.cos(2 * theta))
    bands = [(delta_mV, 1 - gap2_weight), (delta2_mV, gap2_weight)]
    dos = 0.0
    for delta, weight in bands:
        if weight <= 0 or delta is None:
            continue
        if anisotropy <= 0:
            band = dynes_dos(energy_mV, delta, gamma_mV)
        else:  # far from the gap only <Delta^2> matters (1 + <Delta^2> / 2 E^2): rms gap there
            energy = np.asarray(energy_mV, dtype=float)
            band = dynes_dos(energy, delta * np.sqrt(np.mean(factors**2)), gamma_mV)
            near = np.abs(energy) < 2.5 * delta + 5 * gamma_mV
            band[near] = _anisotropic_dynes(energy[near], delta * factors, gamma_mV)
        dos = dos + weight * band
    return dos


def _draw_signature(rng, archetype, delta, gamma, lo, hi):
    """Parameters of one kind's core spectrum and of its local physics, drawn for its archetype.

    Besides the core signature every kind draws ``gap_suppression`` (fractional change of the
    local gap at the centre; negative for ``gap_enhancement``, which enlarges it), ``fade_power``
    (the signature's amplitudes go as ``s ** fade_power`` with the local strength ``s``) and,
    where it has one, the shift of its characteristic energy between core and ring.
    """
    side = float(rng.choice([-1.0, 1.0]))
    edge = hi if side > 0 else -lo  # distance to the window edge on the drawn side
    other_edge = -lo if side > 0 else hi
    if archetype == "in_gap_states":
        params = {
            "gamma_mV": gamma + delta * rng.uniform(0.2, 0.6),
            "bound_state_mV": delta * rng.uniform(0.1, 0.8),
            "bound_state_width_mV": delta * rng.uniform(0.05, 0.2),
            "bound_state_heights": [float(rng.uniform(0.2, 1.0)), float(rng.uniform(0.2, 1.0))],
            "gap_suppression": rng.uniform(0.3, 0.7),
        }
    elif archetype == "resonance":
        params = {
            "resonance_mV": side * rng.uniform(1.8 * delta, 0.8 * edge),
            "resonance_width_mV": edge * rng.uniform(0.05, 0.15),
            "resonance_amplitude": rng.uniform(0.3, 0.8),
            "dip_mV": -side * rng.uniform(1.8 * delta, 0.8 * other_edge),
            "dip_width_mV": other_edge * rng.uniform(0.08, 0.2),
            "dip_depth": rng.uniform(0.15, 0.4),
            "gap_suppression": rng.uniform(0.1, 0.35),
            # relative shift of both energies between the centre and the ring's edge
            "energy_shift": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.5)),
        }
    elif archetype == "gap_enhancement":
        factor = rng.uniform(1.2, 1.6)
        params = {
            "delta_factor": factor,
            "gamma_mV": gamma * rng.uniform(0.2, 0.5),
            "removed_mV": side * rng.uniform(1.5 * delta, 0.7 * edge),
            "removed_width_mV": edge * rng.uniform(0.1, 0.25),
            "removed_depth": rng.uniform(0.15, 0.35),
            "gap_suppression": 1 - factor,
            "energy_shift": rng.uniform(-0.3, 0.3),
        }
    else:  # weight_transfer: from one window to another, of random position and sign
        centres = rng.uniform(lo + 0.15 * (hi - lo), hi - 0.15 * (hi - lo), size=2)
        params = {
            "from_mV": float(centres[0]),
            "to_mV": float(centres[1]),
            "window_width_mV": (hi - lo) * rng.uniform(0.06, 0.15),
            "removed": rng.uniform(0.2, 0.5),
            "added": rng.uniform(0.2, 0.5),
            "gamma_mV": gamma + delta * rng.uniform(0.0, 0.2),
            "gap_suppression": rng.uniform(0.2, 0.5),
            "energy_shift": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.3)),
        }
    params["fade_power"] = rng.uniform(1.5, 3.0)
    return params


def _local_spectrum(archetype, p, s, fine, background, superconductor, delta, gamma):
    """Spectrum of a kind's pixel of local strength ``s`` (0: clean surface, 1: the centre).

    The local gap is ``delta (1 - gap_suppression s)``, the Dynes broadening goes linearly from
    the surface's ``gamma`` to the core's ``gamma_mV``; bound states move from the gap edge (0.95
    of the local gap) at ``s = 0`` to ``bound_state_mV`` at the centre; resonance and removed
    windows shift by ``energy_shift`` (relative) between centre and ``s = 0``; every signature's
    amplitude fades as ``s ** fade_power``. ``superconductor(delta_mV, gamma_mV)`` is the
    surface's DOS shape. At ``s = 0`` this is the surface spectrum for every archetype.
    """
    local_delta = delta * (1 - p["gap_suppression"] * s)
    local_gamma = gamma + (p.get("gamma_mV", gamma) - gamma) * s**2
    fade = s ** p["fade_power"]
    shift = 1 + p.get("energy_shift", 0.0) * (1 - s)
    dos = superconductor(local_delta, local_gamma)
    if archetype == "in_gap_states":
        h_minus, h_plus = p["bound_state_heights"]
        energy = p["bound_state_mV"] + (0.95 * local_delta - p["bound_state_mV"]) * (1 - s)
        bound = sum(
            h / (1 + ((fine - sign * energy) / p["bound_state_width_mV"]) ** 2)
            for sign, h in ((-1, h_minus), (1, h_plus))
        )
        return background * (dos + fade * bound)
    if archetype == "resonance":
        return (
            background
            * dos
            * (
                1
                + fade
                * p["resonance_amplitude"]
                * _gauss(fine, p["resonance_mV"] * shift, p["resonance_width_mV"])
                - fade * p["dip_depth"] * _gauss(fine, p["dip_mV"] * shift, p["dip_width_mV"])
            )
        )
    if archetype == "gap_enhancement":
        removed = p["removed_depth"] * _gauss(fine, p["removed_mV"] * shift, p["removed_width_mV"])
        return background * dos * (1 - fade * removed)
    transfer = p["added"] * _gauss(fine, p["to_mV"] * shift, p["window_width_mV"]) - p[
        "removed"
    ] * _gauss(fine, p["from_mV"] * shift, p["window_width_mV"])
    return background * dos * (1 + fade * transfer)


def _from_table(table, strength, which=None):
    """Spectra of pixels of local ``strength`` in [0, 1], interpolated between tabulated levels.

    ``table`` is ``(n_kinds, n_levels, n_bias)`` (or ``(n_levels, n_bias)``): row ``l`` holds the
    spectrum at strength ``l / (n_levels - 1)``; ``which`` the pixel's kind index (0 when None).
    Linear between the two nearest levels, so the result is non-linear in ``strength`` overall.
    """
    table = np.asarray(table, dtype=np.float32)
    if table.ndim == 2:
        table = table[None]
    n_levels = table.shape[1]
    which = np.zeros(len(strength), dtype=int) if which is None else np.asarray(which)
    position = np.clip(np.asarray(strength, dtype=float), 0.0, 1.0) * (n_levels - 1)
    below = np.minimum(np.floor(position).astype(int), n_levels - 2)
    above_share = (position - below).astype(np.float32)[:, None]
    flat = table.reshape(-1, table.shape[-1])
    row = which * n_levels + below
    spectra = flat[row] * (1 - above_share)
    spectra += flat[row + 1] * above_share
    return spectra


def _apply_friedel(spectra, k, rho, phase, envelope):
    """Multiply ``spectra`` ``(n_pixels, n_bias)`` (float32) in place by the Friedel factor
    ``1 + envelope cos(2 k rho + phase)``: ``k`` ``(n_bias,)`` the wavevector at each bias,
    ``rho``, ``phase`` and ``envelope`` ``(n_pixels,)``. float32 throughout: the cosine of
    ~10^7 phases is the slowest step of a simulation in float64."""
    f32 = np.float32
    wave = (2 * k).astype(f32)[None, :] * rho.astype(f32)[:, None]
    wave += phase.astype(f32)[:, None]
    np.cos(wave, out=wave)
    wave *= envelope.astype(f32)[:, None]
    wave += f32(1)
    spectra *= wave


def _distance_maps(kinds, centres, centre_kind, angles, shape, pixel_nm):
    """Distance of every pixel to the nearest centre of each kind (lobes of dumbbells counted).

    Returns ``rho (n_kinds, ny * nx)`` in nm, the index of the nearest centre of any kind per
    pixel (earlier kinds win ties) and ``(kind index, x, y)`` of every centre point; sets each
    kind's ``count``.
    """
    ny, nx = shape
    xx, yy = np.meshgrid(np.arange(nx) * pixel_nm, np.arange(ny) * pixel_nm)
    pix = np.stack([xx.ravel(), yy.ravel()], axis=-1)
    rho_kind = np.full((len(kinds), ny * nx), np.inf)
    nearest_centre = np.zeros(ny * nx, dtype=int)
    point_kinds = []
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
        point_kinds.extend((j, *point) for point in points)
        rho, index = cKDTree(points).query(pix)
        closer = rho < rho_kind.min(axis=0)
        nearest_centre[closer] = owner[index[closer]]
        rho_kind[j] = rho
    return rho_kind, nearest_centre, point_kinds


def _place(rng, counts, extent_nm, min_separation_nm):
    """Random sequential placement of ``sum(counts)`` centres; returns (centres, kind index).

    One centre of every kind comes first (and is placed even where the separation leaves no
    room), so every drawn kind exists; the other kinds' centres are interleaved at random.
    """
    n_kinds = len(counts)
    rest = np.repeat(np.arange(n_kinds), np.asarray(counts) - 1)
    labels = np.concatenate([rng.permutation(n_kinds), rng.permutation(rest)])
    candidates = rng.uniform(0.0, 1.0, size=(40 * len(labels) + 40, 2)) * np.asarray(extent_nm)
    placed, placed_kind = [], []
    for point in candidates:
        if len(placed) == len(labels):
            break
        if placed and np.min(np.hypot(*(np.asarray(placed) - point).T)) < min_separation_nm:
            continue
        placed.append(point)
        placed_kind.append(labels[len(placed) - 1])
    for j, point in zip(labels[len(placed) : n_kinds], candidates, strict=False):
        placed.append(point)  # no room left: the first centre of a kind overlaps the others
        placed_kind.append(j)
    return np.asarray(placed, dtype=float).reshape(-1, 2), np.asarray(placed_kind, dtype=int)
