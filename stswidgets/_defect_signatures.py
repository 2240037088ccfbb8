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


def _draw_signature(rng, archetype, delta, gamma, lo, hi):
    """Parameters of one kind's core spectrum (a dict of floats), drawn for its archetype."""
    side = float(rng.choice([-1.0, 1.0]))
    edge = hi if side > 0 else -lo  # distance to the window edge on the drawn side
    other_edge = -lo if side > 0 else hi
    if archetype == "in_gap_states":
        return {
            "gamma_mV": gamma + delta * rng.uniform(0.2, 0.6),
            "bound_state_mV": delta * rng.uniform(0.1, 0.8),
            "bound_state_width_mV": delta * rng.uniform(0.05, 0.2),
            "bound_state_heights": [float(rng.uniform(0.2, 1.0)), float(rng.uniform(0.2, 1.0))],
        }
    if archetype == "resonance":
        return {
            "resonance_mV": side * rng.uniform(1.8 * delta, 0.8 * edge),
            "resonance_width_mV": edge * rng.uniform(0.05, 0.15),
            "resonance_amplitude": rng.uniform(0.3, 0.8),
            "dip_mV": -side * rng.uniform(1.8 * delta, 0.8 * other_edge),
            "dip_width_mV": other_edge * rng.uniform(0.08, 0.2),
            "dip_depth": rng.uniform(0.15, 0.4),
        }
    if archetype == "gap_enhancement":
        return {
            "delta_factor": rng.uniform(1.2, 1.6),
            "gamma_mV": gamma * rng.uniform(0.2, 0.5),
            "removed_mV": side * rng.uniform(1.5 * delta, 0.7 * edge),
            "removed_width_mV": edge * rng.uniform(0.1, 0.25),
            "removed_depth": rng.uniform(0.15, 0.35),
        }
    # weight_transfer: from one window to another, of random position and sign
    centres = rng.uniform(lo + 0.15 * (hi - lo), hi - 0.15 * (hi - lo), size=2)
    return {
        "from_mV": float(centres[0]),
        "to_mV": float(centres[1]),
        "window_width_mV": (hi - lo) * rng.uniform(0.06, 0.15),
        "removed": rng.uniform(0.2, 0.5),
        "added": rng.uniform(0.2, 0.5),
        "gamma_mV": gamma + delta * rng.uniform(0.0, 0.2),
    }


def _core_spectrum(archetype, p, fine, background, superconductor, surface):
    """Core spectrum of a kind on the fine axis from its archetype and parameters ``p``."""
    if archetype == "in_gap_states":
        h_minus, h_plus = p["bound_state_heights"]
        bound = sum(
            h / (1 + ((fine - s * p["bound_state_mV"]) / p["bound_state_width_mV"]) ** 2)
            for s, h in ((-1, h_minus), (1, h_plus))
        )
        return background * (superconductor(1.0, p["gamma_mV"]) + bound)
    if archetype == "resonance":
        return surface * (
            1
            + p["resonance_amplitude"] * _gauss(fine, p["resonance_mV"], p["resonance_width_mV"])
            - p["dip_depth"] * _gauss(fine, p["dip_mV"], p["dip_width_mV"])
        )
    if archetype == "gap_enhancement":
        removed = p["removed_depth"] * _gauss(fine, p["removed_mV"], p["removed_width_mV"])
        return background * superconductor(p["delta_factor"], p["gamma_mV"]) * (1 - removed)
    transfer = (
        1
        - p["removed"] * _gauss(fine, p["from_mV"], p["window_width_mV"])
        + p["added"] * _gauss(fine, p["to_mV"], p["window_width_mV"])
    )
    return background * superconductor(1.0, p["gamma_mV"]) * transfer


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
