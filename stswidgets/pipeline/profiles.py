"""Defect-centred radial profiles (issue 19): the score and the spectra against the distance
from the nearest defect, and the reach of the defects that the transition class must keep to.

:func:`defect_profiles` finds the defect centres label-free (the connected regions of the kind
classes on the map, their centroids; or positions given), bins the score and the spectra
against each pixel's distance to the nearest centre and fits a decay length;
:func:`hug_defects` keeps the transition class near the defects. The maths lives in
:mod:`stswidgets.analysis.profiles`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stswidgets.analysis.profiles import (
    DecayFit,
    binned_profile,
    centre_distance,
    defect_centres,
    fit_decay,
)

__all__ = [
    "REACH_DECAY_LENGTHS",
    "DefectProfiles",
    "MapProfile",
    "defect_profiles",
    "draw_defect_profiles",
    "draw_map_profile",
    "draw_profile_waterfall",
    "hug_defects",
]

#: The defects reach the core radius plus this many fitted decay lengths (the simulators'
#: ring region is the core radius plus three healing lengths).
REACH_DECAY_LENGTHS = 3.0
#: Quantile of the score of the pixels beyond the reach: the far surface's band.
FAR_BAND_QUANTILE = 0.99
#: Fewest pixels beyond the reach that define the far surface's band.
MIN_FAR_PIXELS = 20


@dataclass
class MapProfile:
    """One (y, x) map against the distance from the nearest defect centre: ``median``,
    ``spread`` (half the interquartile range) and ``counts`` per distance bin, and ``fit``, the
    exponential decay on a background fitted from the core radius out to the non-kind pixels
    (a rise towards the background is fitted as a decay of the negated profile: ``fit``'s
    amplitude is then negative)."""

    median: np.ndarray
    spread: np.ndarray
    counts: np.ndarray
    fit: DecayFit
    units: str = ""


@dataclass
class DefectProfiles:
    """Score and spectra against the distance from the nearest defect centre.

    ``centres`` ``(n_defects, 2)``: (y, x) in nm; ``centre_kinds`` the site class of each
    (2, 3, ...; 0 for given positions); ``distance`` ``(n_spectra,)`` nm from the nearest
    centre; ``edges`` the distance bins (nm, one pixel wide), ``r`` their centres;
    ``score_median``, ``score_spread`` (half the interquartile range) and ``counts`` per bin
    over all pixels; ``spectra`` ``(n_bins, n_bias)`` the mean spectrum per bin; ``fit`` the
    exponential decay on a background fitted to the median score of the non-kind pixels from
    the ``core_radius`` (nm, median equivalent radius of the kind regions) out; ``reach`` (nm)
    ``core_radius + REACH_DECAY_LENGTHS * decay_length`` (``core_radius`` + 3 pixels when the
    fit fails); ``far_band``: the score below which lie 99 % of the non-kind pixels beyond
    the reach (NaN when fewer than 20). Without a score (``defect_profiles(None, ...)``) the
    score profile is NaN, the fit failed and the reach is ``core_radius`` + 3 pixels.
    ``maps``: name to :class:`MapProfile` of every map given to :func:`defect_profiles`.
    """

    centres: np.ndarray
    centre_kinds: np.ndarray
    distance: np.ndarray
    edges: np.ndarray
    r: np.ndarray
    score_median: np.ndarray
    score_spread: np.ndarray
    counts: np.ndarray
    spectra: np.ndarray
    fit: DecayFit
    core_radius: float
    reach: float
    far_band: float
    maps: dict[str, MapProfile] = field(default_factory=dict)

    @property
    def n_defects(self) -> int:
        return len(self.centres)


def _pixel_nm(grid) -> tuple[float, float]:
    """(dy, dx) in nm from the grid's coordinates (1 nm where a map has one row or column)."""
    steps = []
    for dim in ("y", "x"):
        values = np.asarray(grid[dim].values, dtype=float)
        steps.append(float(np.median(np.abs(np.diff(values)))) if values.size > 1 else 1.0)
    return steps[0], steps[1]


def defect_profiles(
    score,
    X,
    grid,
    valid,
    labels=None,
    centres_nm=None,
    maps=None,
) -> DefectProfiles:
    """Radial profiles of ``score``, ``X`` and any maps around the defects of a map.

    Parameters
    ----------
    score : array-like, shape ``(n_spectra,)``, or None
        One value per valid pixel (row-major, as :func:`stswidgets.to_matrix`); None: no
        score profile (the spectra and ``maps`` only).
    X : array-like, shape ``(n_spectra, n_bias)``
        The spectra (binned to mean spectra per distance).
    grid : xarray.DataArray
        The grid (its ``y`` and ``x`` coordinates in nm give the pixel size).
    valid : array-like of bool, shape ``(ny, nx)``
    labels : array-like of int, shape ``(n_spectra,)``, optional
        Site classes (``>= 2`` a kind): the defect centres are the centroids of the
        connected regions of each kind (at least 2 pixels).
    centres_nm : array-like, shape ``(n_defects, 2)``, optional
        Defect positions (y, x) in nm from the grid's first pixel, instead of ``labels``.
    maps : dict of str to array-like, optional
        Any maps to profile as well (the gap, the zero-bias conductance, ...): each ``(ny,
        nx)`` (a DataArray on the grid's ``(y, x)``: its ``units`` attribute is kept) or
        ``(n_spectra,)`` one value per valid pixel; NaN values are left out.

    Raises
    ------
    ValueError
        Neither ``labels`` nor ``centres_nm``, or shapes that do not match.
    """
    valid = np.asarray(valid, dtype=bool)
    X = np.asarray(X, dtype=float)
    with_score = score is not None
    score = np.asarray(score, dtype=float) if with_score else np.full(len(X), np.nan)
    if score.shape != (valid.sum(),) or X.shape[0] != score.shape[0]:
        raise ValueError(
            f"score {score.shape} and X {X.shape} must hold one row per valid pixel "
            f"({int(valid.sum())})"
        )
    dy, dx = _pixel_nm(grid)
    kind = np.zeros(len(score), dtype=int)
    if centres_nm is not None:
        centres = np.asarray(centres_nm, dtype=float).reshape(-1, 2) / [dy, dx]
        centre_kinds, sizes = np.zeros(len(centres), dtype=int), np.ones(len(centres))
    elif labels is not None:
        kind = np.asarray(labels, dtype=int)
        if kind.shape != score.shape:
            raise ValueError(f"labels has shape {kind.shape}, expected {score.shape}")
        label_map = np.full(valid.shape, -1)
        label_map[valid] = kind
        centres, centre_kinds, sizes = defect_centres(label_map)
    else:
        raise ValueError("defect_profiles needs the site-class labels or the centres_nm")
    distance = centre_distance(valid.shape, centres, (dy, dx))[0][valid]
    step = max(dy, dx)
    finite = np.isfinite(distance)
    top = float(distance[finite].max()) if finite.any() else step
    edges = np.arange(0.0, top + 2 * step, step)
    r = 0.5 * (edges[1:] + edges[:-1])
    median, spread, counts = binned_profile(distance, score, edges)
    spectra = binned_profile(distance, X, edges)[0]
    core_radius = float(np.median(np.sqrt(sizes / np.pi))) * step if len(centres) else 0.0
    surroundings = kind < 2
    fit_median, _, fit_counts = binned_profile(distance[surroundings], score[surroundings], edges)
    fit = fit_decay(r, fit_median, core_radius, weights=fit_counts)
    map_profiles = {
        name: _map_profile(values, valid, distance, surroundings, edges, r, core_radius, name)
        for name, values in (maps or {}).items()
    }
    if fit.ok:
        reach = core_radius + REACH_DECAY_LENGTHS * fit.decay_length
    else:
        reach = core_radius + 3 * step
    far = surroundings & (distance > reach)
    far_band = (
        float(np.quantile(score[far], FAR_BAND_QUANTILE))
        if far.sum() >= MIN_FAR_PIXELS
        else float("nan")
    )
    return DefectProfiles(
        centres=centres * [dy, dx],
        centre_kinds=centre_kinds,
        distance=distance,
        edges=edges,
        r=r,
        score_median=median,
        score_spread=spread,
        counts=counts,
        spectra=spectra,
        fit=fit,
        core_radius=core_radius,
        reach=float(reach),
        far_band=far_band,
        maps=map_profiles,
    )


def _map_profile(values, valid, distance, surroundings, edges, r, core_radius, name):
    """One map's :class:`MapProfile` (see :func:`defect_profiles`)."""
    units = str(getattr(values, "attrs", {}).get("units", ""))
    values = np.asarray(values, dtype=float)
    if values.shape == valid.shape:
        values = values[valid]
    if values.shape != distance.shape:
        raise ValueError(
            f"map {name!r} has shape {values.shape}; expected the map {valid.shape} or one "
            f"value per valid pixel ({distance.shape[0]})"
        )
    finite = np.isfinite(values)
    median, spread, counts = binned_profile(distance[finite], values[finite], edges)
    keep = finite & surroundings
    fit_median, _, fit_counts = binned_profile(distance[keep], values[keep], edges)
    fit = fit_either_way(r, fit_median, core_radius, fit_counts)
    return MapProfile(median, spread, counts, fit, units)


def fit_either_way(r, profile, core_radius, counts) -> DecayFit:
    """:func:`~stswidgets.analysis.profiles.fit_decay` of a profile that falls to its
    background, or of the negated profile when it rises to it (then the amplitude is
    negative); which way from the mean of the first and last quarter of the bins. A decay
    length beyond the distances profiled (a background the data never reach) is no fit."""
    r, profile = np.asarray(r, dtype=float), np.asarray(profile, dtype=float)
    points = np.flatnonzero((r >= core_radius) & np.isfinite(profile) & (counts > 0))
    if len(points) < 4:
        return fit_decay(r, profile, core_radius, weights=counts)
    quarter = max(len(points) // 4, 1)
    sign = 1.0 if profile[points[:quarter]].mean() >= profile[points[-quarter:]].mean() else -1.0
    fit = fit_decay(r, sign * profile, core_radius, weights=counts)
    if fit.ok and fit.decay_length > r[points[-1]] - core_radius:
        return DecayFit(np.nan, np.nan, np.nan, float(core_radius), False)
    return fit._replace(background=sign * fit.background, amplitude=sign * fit.amplitude)


def hug_defects(labels, score, profiles: DefectProfiles) -> np.ndarray:
    """The transition class kept to the defects: labels ``(n_spectra,)`` with every
    transition (1) pixel that lies beyond the profiles' ``reach`` of every centre, or whose
    score is within the far surface's band (``far_band``), moved to the majority (0).
    Without defect centres nothing is transition."""
    labels = np.asarray(labels).copy()
    transition = labels == 1
    if profiles.n_defects == 0:
        labels[transition] = 0
        return labels
    moved = transition & (profiles.distance > profiles.reach)
    if np.isfinite(profiles.far_band):
        moved |= transition & (np.asarray(score) <= profiles.far_band)
    labels[moved] = 0
    return labels


def draw_defect_profiles(ax_score, ax_waterfall, profiles: DefectProfiles, bias, units="a.u."):
    """Notebook 07's profile figure: the score against the distance from the nearest defect
    centre (median and interquartile range per bin, the fitted decay, the reach) on
    ``ax_score``, and the mean spectrum of each distance bin (distance in nm against sample
    bias in mV, a labelled colourbar) on ``ax_waterfall``."""
    good = profiles.counts > 0
    _draw_band(
        ax_score,
        profiles,
        profiles.score_median[good],
        profiles.score_spread[good],
        profiles.fit,
        good,
        colour="C0",
        label="median score (band: IQR)",
    )
    ax_score.axvline(profiles.reach, color="C2", lw=0.8, label="reach (core + 3 decay lengths)")
    ax_score.set(
        xlabel="distance from the nearest defect centre (nm)",
        ylabel="similarity score",
        yscale="log",
        title=f"score around {profiles.n_defects} defect(s)",
    )
    ax_score.legend(fontsize=8)
    draw_profile_waterfall(ax_waterfall, profiles, bias, units)


def draw_profile_waterfall(ax, profiles: DefectProfiles, bias, units="a.u.", reach=True):
    """The mean spectrum of each distance bin: distance from the nearest defect (nm) against
    sample bias (mV), a labelled colourbar; the reach dashed when ``reach``."""
    import matplotlib.pyplot as plt

    good = profiles.counts > 0
    bias = np.asarray(bias, dtype=float)
    mesh = ax.pcolormesh(
        bias,
        profiles.r[good],
        profiles.spectra[good],
        shading="nearest",
        cmap="viridis",
        rasterized=True,  # a vector export keeps the axes and text as vectors
    )
    plt.colorbar(mesh, ax=ax, label=f"mean dI/dV ({units})")
    if reach:
        ax.axhline(profiles.reach, color="w", lw=0.8, ls="--")
    ax.set(
        xlabel="sample bias (mV)",
        ylabel="distance from the nearest defect (nm)",
        title="mean spectrum against distance",
    )
    return mesh


def draw_map_profile(ax, profiles: DefectProfiles, name: str, label: str | None = None):
    """A profiled map (``profiles.maps[name]``) against the distance from the nearest defect:
    median and interquartile range per bin, the fitted decay and the core radius on ``ax``.
    ``label``: the y axis (default: the name and the map's units)."""
    profile = profiles.maps[name]
    good = profile.counts > 0
    _draw_band(
        ax,
        profiles,
        profile.median[good],
        profile.spread[good],
        profile.fit,
        good,
        colour="C1",
        label="median (band: IQR)",
    )
    units = f" ({profile.units})" if profile.units else ""
    ax.set(
        xlabel="distance from the nearest defect centre (nm)",
        ylabel=label or f"{name.replace('_', ' ')}{units}",
        title=f"{name.replace('_', ' ')} around {profiles.n_defects} defect(s)",
    )
    ax.legend(fontsize=8)


def _draw_band(ax, profiles: DefectProfiles, median, spread, fit, good, colour, label):
    """A profile against the distance from the nearest defect: the median per bin with its
    interquartile band, the fitted decay (where it holds) and the core radius."""
    r = profiles.r[good]
    ax.fill_between(r, median - spread, median + spread, color=colour, alpha=0.25, lw=0)
    ax.plot(r, median, "o-", color=colour, ms=3, label=label)
    if fit.ok:
        fine = np.linspace(profiles.core_radius, r.max(), 200)
        ax.plot(fine, fit(fine), "k--", lw=1, label=f"fit: decay length {fit.decay_length:.2f} nm")
    ax.axvline(profiles.core_radius, color="C3", lw=0.8, label="core radius")
