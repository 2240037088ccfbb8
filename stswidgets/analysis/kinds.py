"""Majority, transition and minority kinds, told apart without labels and without a count.

:func:`classify_kinds` takes a 2D projection of the spectra (e.g. ``SimilarityScore.embedding_``)
and a score that is about 0 on the majority and grows with how unlike the majority a
spectrum is (``SimilarityScore.fit_transform``), and returns one class per spectrum:
0 the majority, 1 the transition, 2 the most abundant minority kind, 3 the next, ... The
number of kinds is found from the data. :func:`class_names` and :func:`flag_meanings` name the
classes for plots and for CF-style ``flag_meanings`` attributes.

numpy / scipy only, like the rest of :mod:`stswidgets.analysis`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from stswidgets.analysis.score_statistics import far_mode, otsu_split, robust_core

__all__ = [
    "FESE_NAMES",
    "KindClasses",
    "class_names",
    "classify_kinds",
    "flag_meanings",
]

#: Class names on the simulated FeSe-like grid (its one minority kind is the Fe vacancy).
FESE_NAMES = ("surface", "transition", "vacancy")
#: Angular resolution of the branch directions (von Mises kernel, standard deviation).
DIRECTION_BANDWIDTH_DEG = 15.0
#: A direction peak less prominent than this fraction of the highest is not a branch.
MIN_DIRECTION_PROMINENCE = 0.1


class KindClasses(NamedTuple):
    """Result of :func:`classify_kinds`."""

    labels: np.ndarray
    """``(n_spectra,)`` int8: 0 majority, 1 transition, 2 + k the k-th most abundant kind."""
    n_kinds: int
    """Number of minority kinds found (0 when every non-majority spectrum is transition)."""
    majority_edge: float
    """Score above which a spectrum is not majority."""
    kind_edges: tuple[float, ...]
    """Per kind (in label order), the score above which a spectrum of its branch is that
    kind rather than transition."""
    kind_centres: np.ndarray
    """``(n_kinds, n_dims)``: median position of each kind in the projection."""


def _circular_peaks(angles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Branch index of each angle: the arc between density minima around each density peak.

    The density is a von Mises kernel sum (``DIRECTION_BANDWIDTH_DEG``) weighted by
    ``weights``, on 360 directions; peaks at least ``MIN_DIRECTION_PROMINENCE`` times as
    prominent as the highest are branches.
    """
    from scipy.signal import find_peaks

    grid = np.deg2rad(np.arange(360.0))
    kappa = 1.0 / np.deg2rad(DIRECTION_BANDWIDTH_DEG) ** 2
    kernel = np.exp(kappa * (np.cos(grid[:, None] - angles[None, :]) - 1.0))
    density = (weights[None, :] * kernel).sum(axis=1)
    tiled = np.tile(density, 3)  # so that a peak at 0 / 360 degrees is seen whole
    peaks, _ = find_peaks(tiled, prominence=MIN_DIRECTION_PROMINENCE * density.max())
    peaks = np.unique(peaks[(peaks >= 360) & (peaks < 720)] - 360)
    if peaks.size <= 1:
        return np.zeros(len(angles), dtype=int)
    # boundaries: the lowest density on the arc between consecutive peaks
    bounds = []
    for a, b in zip(peaks, np.roll(peaks, -1), strict=True):
        arc = np.arange(a, b if b > a else b + 360) % 360
        bounds.append(arc[np.argmin(density[arc])])
    degrees = np.rad2deg(angles) % 360
    branch = np.zeros(len(angles), dtype=int)
    for index, (lo, hi) in enumerate(zip(np.roll(bounds, 1), bounds, strict=True)):
        inside = (degrees >= lo) & (degrees < hi) if lo < hi else (degrees >= lo) | (degrees < hi)
        branch[inside] = index
    return branch


def _merge_close(centres: list[np.ndarray], radii: list[float]) -> list[int]:
    """Group index per kind: kinds closer than the sum of their radii are one kind."""
    group = list(range(len(centres)))
    for i in range(len(centres)):
        for j in range(i):
            if np.linalg.norm(centres[i] - centres[j]) < radii[i] + radii[j]:
                old, new = group[i], group[j]
                group = [new if g == old else g for g in group]
    return group


def classify_kinds(
    Z,
    score,
    *,
    n_sigma: float = 3.0,
    min_kind_size: int = 3,
) -> KindClasses:
    """Majority (0), transition (1) and minority kinds (2, 3, ...) of every spectrum.

    Parameters
    ----------
    Z : array-like, shape ``(n_spectra, n_dims)``
        A projection of the spectra (e.g. ``SimilarityScore.embedding_``, 2D).
    score : array-like, shape ``(n_spectra,)``
        How unlike the majority each spectrum is: about 0 on the majority, larger farther
        from it (``SimilarityScore.fit_transform``; any non-negative distance from the
        majority works).
    n_sigma : float
        Width, in robust standard deviations, of the majority's score band and of each
        kind's score pile.
    min_kind_size : int
        Fewest spectra a kind holds.

    Returns
    -------
    KindClasses
        ``labels (n_spectra,)`` int8 (0 majority, 1 transition, 2 the most abundant kind, 3
        the next, ...), ``n_kinds``, ``majority_edge``, ``kind_edges``, ``kind_centres``.

    Notes
    -----
    The criterion, label-free and without a given number of kinds:

    1. **Majority**: the score's low population, median + ``n_sigma`` robust (MAD-based,
       iteratively 3-sigma-clipped) standard deviations: ``majority_edge``.
    2. **Branches**: the other spectra leave the majority's position (the median of the
       majority in ``Z``) in a few directions, one per kind, each kind's transition spectra
       on the way out to it. The directions are the peaks of the score-weighted density of
       their angles around the majority (von Mises kernel of 15 degrees; peaks at least a
       tenth as prominent as the highest); each spectrum belongs to the arc, between density
       minima, of its direction. In more than two dimensions only the first two are used.
    3. **Kind or transition**: in each branch, Otsu's threshold of its scores (at least
       ``majority_edge``) leaves the far part; the kind is the pile farthest out there: the
       density peak of those scores farthest out (at least a tenth as prominent as the
       highest, as in :func:`~stswidgets.analysis.spectral_weight.score_bands`), from that
       peak minus ``n_sigma`` robust standard deviations of its far side (but not below
       Otsu's threshold) upwards. A branch has no kind, only transition, when that peak lies
       in the nearer half of the far part (its scores only fall off: e.g. spectra off the
       majority by a drifting setpoint) or its pile holds fewer than ``min_kind_size``
       spectra.
    4. **One kind, one class**: kinds of two branches whose centres in ``Z`` are closer than
       the sum of their radii (median distance of their spectra from their centre) are one
       kind (a kind spread over an arc wide enough to show two direction peaks).
    5. Kinds are numbered by decreasing size from 2.

    Two kinds in the same direction from the majority at different distances are one
    branch: the nearer is labelled transition.

    Measured on :func:`stswidgets.datasets.random_grid` tuning seeds 0-29 (40 x 40 pixels,
    1-3 kinds, with ``SimilarityScore(random_state=seed)``; ``benchmarks/tune_score.py``):
    adjusted Rand index of the kinds found against the true kinds (all spectra; 0 for
    neither) median 0.70, 10th percentile 0.39. Kinds the projection puts on top of the
    majority or of one another cannot be told apart here.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(0, 0.1, (900, 2)), rng.normal([3, 0], 0.1, (60, 2)),
    ...                     rng.normal([-3, 0], 0.1, (40, 2))])
    >>> result = classify_kinds(Z, np.linalg.norm(Z, axis=1))
    >>> result.n_kinds, np.bincount(result.labels).tolist()
    (2, [900, 0, 60, 40])
    """
    Z = np.asarray(Z, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] < 2:
        raise ValueError(f"Z must have shape (n_spectra, n_dims >= 2), got {Z.shape}")
    if score.shape != (Z.shape[0],):
        raise ValueError(f"score has shape {score.shape}, expected ({Z.shape[0]},) to match Z")
    if not (np.isfinite(Z).all() and np.isfinite(score).all()):
        raise ValueError("Z and score must be finite (drop unmeasured spectra first)")
    center, sigma = robust_core(score)
    majority_edge = center + n_sigma * sigma
    labels = np.ones(len(score), dtype=np.int8)
    majority = score <= majority_edge
    labels[majority] = 0
    others = np.flatnonzero(~majority)
    if others.size < min_kind_size:
        return KindClasses(labels, 0, float(majority_edge), (), np.empty((0, Z.shape[1])))
    origin = np.median(Z[majority], axis=0) if majority.any() else np.median(Z, axis=0)
    offset = Z[others, :2] - origin[:2]
    angles = np.arctan2(offset[:, 1], offset[:, 0])
    weights = score[others] - majority_edge
    branch = _circular_peaks(angles, weights / max(weights.max(), np.finfo(float).tiny))
    members, edges, centres, radii = [], [], [], []
    for b in np.unique(branch):
        points = others[branch == b]
        if points.size < min_kind_size:
            continue
        split = max(otsu_split(score[points]), majority_edge)
        beyond = score[points][score[points] > split]
        if beyond.size < min_kind_size:
            continue
        peak, far_sigma = far_mode(beyond)
        if not peak > split + 0.5 * (beyond.max() - split):
            continue  # no pile far out: a tail that falls off
        edge = max(peak - n_sigma * far_sigma, split)
        core = points[score[points] >= edge]  # >=: a saturated pile sits at one value
        if core.size < min_kind_size:
            continue
        centre = np.median(Z[core], axis=0)
        members.append(core)
        edges.append(edge)
        centres.append(centre)
        radii.append(float(np.median(np.linalg.norm(Z[core] - centre, axis=1))))
    group = _merge_close(centres, radii)
    kinds = []
    for g in sorted(set(group)):
        parts = [i for i in range(len(group)) if group[i] == g]
        core = np.concatenate([members[i] for i in parts])
        kinds.append((core, min(edges[i] for i in parts)))
    kinds.sort(key=lambda kind: -kind[0].size)
    for code, (core, _) in enumerate(kinds, start=2):
        labels[core] = code
    return KindClasses(
        labels,
        len(kinds),
        float(majority_edge),
        tuple(float(edge) for _, edge in kinds),
        np.array([np.median(Z[core], axis=0) for core, _ in kinds]).reshape(-1, Z.shape[1]),
    )


def class_names(n_kinds: int, names: Sequence[str] | None = None) -> tuple[str, ...]:
    """Names of the classes 0 .. ``n_kinds + 1`` of :func:`classify_kinds`.

    Generic by default: ``("majority", "transition", "minority kind 1", ...)``. ``names``
    replaces them from the start (e.g. :data:`FESE_NAMES` on the simulated FeSe grid:
    surface, transition, vacancy); classes beyond the names given keep the generic name.

    Examples
    --------
    >>> class_names(2)
    ('majority', 'transition', 'minority kind 1', 'minority kind 2')
    >>> class_names(2, FESE_NAMES)
    ('surface', 'transition', 'vacancy', 'minority kind 2')
    """
    if int(n_kinds) < 0:
        raise ValueError(f"n_kinds must be >= 0, got {n_kinds}")
    generic = ("majority", "transition") + tuple(
        f"minority kind {k}" for k in range(1, int(n_kinds) + 1)
    )
    given = tuple(str(name) for name in (names or ()))
    return given[: len(generic)] + generic[len(given) :]


def flag_meanings(names: Sequence[str]) -> str:
    """CF ``flag_meanings``: the names joined by spaces, spaces inside a name as underscores.

    >>> flag_meanings(class_names(1))
    'majority transition minority_kind_1'
    """
    return " ".join("_".join(str(name).split()) for name in names)
