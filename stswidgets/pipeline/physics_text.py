"""Notebook 09's closing sentences: what the physics maps show, in the numbers of the run
(:func:`physics_summary`), and the QPI ring's sentence (:func:`ring_sentence`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from stswidgets.pipeline.qpi import friedel_wavevector

if TYPE_CHECKING:
    from stswidgets.pipeline.maps import PhysicsMaps

__all__ = ["physics_summary", "ring_sentence"]


def ring_sentence(maps: PhysicsMaps, truth=None) -> str | None:
    """The summary sentence of the QPI ring at the coherence peaks (with the simulated 2 k_F
    and the relative difference when ``truth`` records it); None without Fourier maps."""
    ring = maps.ring
    if ring is None:
        return None
    if ring.attrs.get("note"):
        return f"no QPI ring search: {ring.attrs['note']}"
    peaks = {k: v for k, v in maps.key_energies.items() if k.startswith("coherence")}
    where = " (the coherence peaks)" if peaks else ""
    peaks = peaks or {k: v for k, v in maps.key_energies.items() if k != "Fermi level"}
    if not peaks:
        return None
    found = {k: float(ring.sel(bias=v, method="nearest")) for k, v in peaks.items()}
    if not any(np.isfinite(list(found.values()))):
        return f"no QPI ring above q = {maps.ring.attrs.get('q_min', 0):.1f} 1/nm"
    parts = [f"{q:.2f} 1/nm at {peaks[k]:+.2f} mV" for k, q in found.items() if np.isfinite(q)]
    line = (
        f"the QPI ring (above q = {ring.attrs.get('q_min', 0):.1f} 1/nm) lies at "
        + " and ".join(parts)
        + where
    )
    true = friedel_wavevector(truth, list(peaks.values()))
    if true is not None:
        errors = [q / t - 1 for q, t in zip(found.values(), true, strict=True) if np.isfinite(q)]
        line += (
            "; the simulated 2 k_F there is "
            + " and ".join(f"{t:.2f}" for t in true)
            + f" 1/nm ({', '.join(f'{100 * e:+.0f} %' for e in errors)})"
        )
    return line


def physics_summary(maps: PhysicsMaps, profiles=None, truth=None) -> list[str]:
    """Notebook 09's closing sentences, built from the numbers of the maps and profiles (and,
    on a simulated grid, ``truth``: the true local gap and Friedel wavevector)."""
    gap = np.asarray(maps.gap["gap"].values, dtype=float)
    lines = (
        [
            f"no superconducting gap resolved ({maps.gap_note}): the gap maps show the fitted "
            "parameter, not a gap"
        ]
        if maps.gap_note
        else []
    )
    lines += [
        f"the gap ({maps.gap.attrs.get('method', 'peaks')}) has a median of "
        f"{maps.median_gap_mV:.2f} mV over {int(np.isfinite(gap).sum())} spectra, 5-95 % "
        f"{np.nanpercentile(gap, 5):.2f} to {np.nanpercentile(gap, 95):.2f} mV"
        if np.isfinite(gap).any()
        else "no gap found in any spectrum"
    ]
    if truth is not None and "local_gap_mV" in truth and np.isfinite(gap).any():
        true = np.asarray(truth["local_gap_mV"].values, dtype=float)
        both = np.isfinite(gap) & np.isfinite(true)
        lines.append(
            f"the simulated local gap: median {np.median(true[both]):.2f} mV; median error of "
            f"the map {np.median(np.abs(gap[both] - true[both])):.3f} mV"
        )
    bound = [f"{v:+.2f} mV" for k, v in maps.key_energies.items() if k.startswith("bound")]
    lines.append(
        "in-gap bound states at " + ", ".join(bound)
        if bound
        else "no bound-state energy common to enough spectra"
    )
    if profiles is not None and profiles.n_defects and "gap" in profiles.maps:
        fit = profiles.maps["gap"].fit
        if fit.ok and abs(fit(profiles.core_radius) - fit.background) >= 0.01:
            change = (
                f"{'rises' if fit.amplitude < 0 else 'falls'} from {fit(profiles.core_radius):.2f}"
                f" mV at the core edge to {fit.background:.2f} mV with a decay length of "
                f"{fit.decay_length:.2f} nm"
            )
        elif fit.ok:
            change = f"stays at {fit.background:.2f} mV outside the cores (within 0.01 mV)"
        else:
            change = "shows no fitted decay"
        lines.append(f"around {profiles.n_defects} defect(s) the gap {change}")
    if profiles is not None and profiles.fit.ok:
        lines.append(f"the score decays with a length of {profiles.fit.decay_length:.2f} nm")
    ring = ring_sentence(maps, truth)
    if ring:
        lines.append(ring)
    if maps.note:
        lines.append(maps.note)
    return lines
