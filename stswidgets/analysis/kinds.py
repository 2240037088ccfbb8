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
#: Spectra whose directions from the majority differ by less than this angle (average
#: linkage) go one way: one kind and its transition (45 degrees: tuning seeds of the
#: non-linear simulator, where a kind's spectra bend with the distance from its centre).
BRANCH_ANGLE_DEG = 45.0
#: A kind piles up: the density peak of its scores (the one farthest out) lies beyond this
#: fraction of the way from its edge to its highest score; a tail that only falls off has its
#: peak at the edge. (0.5 before the score stopped saturating: the demo's vacancies, spread
#: from 11 to 28 with their peak at 14, were then taken for a tail.)
PILE_FRACTION = 0.1


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


def _branch_directions(D: np.ndarray, score: np.ndarray, edge: float, min_size: int):
    """Unit directions of the kinds: the strong spectra (beyond Otsu's split of the log
    scores of the non-majority spectra) clustered by direction (average linkage of the
    cosine distance, cut at ``BRANCH_ANGLE_DEG``); clusters of at least ``min_size``."""
    from scipy.cluster.hierarchy import fcluster, linkage

    split = max(float(np.exp(otsu_split(np.log(score)))), edge)
    strong = score > split
    if strong.sum() < min_size:
        return np.empty((0, D.shape[1]))
    U = D[strong] / np.linalg.norm(D[strong], axis=1, keepdims=True)
    tree = linkage(U, method="average", metric="cosine")
    cluster = fcluster(tree, t=1.0 - np.cos(np.deg2rad(BRANCH_ANGLE_DEG)), criterion="distance")
    directions = []
    for c in np.unique(cluster):
        if (cluster == c).sum() >= min_size:
            v = U[cluster == c].mean(axis=0)
            directions.append(v / np.linalg.norm(v))
    return np.asarray(directions).reshape(-1, D.shape[1])


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
    2. **Branches**: the other spectra leave the majority (the median of the majority in
       ``Z``) in a few directions, one per kind, each kind's transition spectra on the way
       out to it. The directions: the strong spectra (beyond Otsu's threshold of the log
       scores of all non-majority spectra, at least ``majority_edge``) clustered by their
       direction from the majority (average linkage of the cosine distance, cut at
       ``BRANCH_ANGLE_DEG`` = 45 degrees), clusters of at least ``min_kind_size``; every
       non-majority spectrum belongs to the branch of the nearest direction. ``Z`` may have
       any number of dimensions (the pipeline gives the signal subspace of
       ``SimilarityScore.signal_``, where kinds of distinct signatures point different ways).
    3. **Kind or transition**: in each branch, the spectra beyond Otsu's threshold of its
       scores (at least ``majority_edge``) are the kind, the rest transition (the cores pile
       up far out, the ring between them and the majority). No kind, only transition, where
       fewer than ``min_kind_size`` spectra lie beyond, or where their scores pile up in the
       nearer part (the density peak farthest out lies within ``PILE_FRACTION`` of the way
       from the threshold to the highest score: a tail that only falls off, e.g. spectra off
       the majority by a drifting setpoint).
    4. Kinds are numbered by decreasing size from 2.

    Two kinds in the same direction from the majority at different distances are one
    branch: the nearer is labelled transition. Whether a transition spectrum lies near a
    defect is not asked here; :func:`stswidgets.pipeline.site_classes` checks it on the map
    (:func:`stswidgets.pipeline.defect_profiles`).

    Measured on :func:`stswidgets.evaluation.draw` tuning seeds (28 of 0-29; the non-linear
    simulator, spectra normalised as ``pipeline.load`` does, the signal subspace and score of
    ``SimilarityScore(random_state=seed)``, the map's transition rule of
    :func:`stswidgets.pipeline.site_classes`; ``benchmarks/tune_classes.py``), median / 10th
    percentile: far-surface pixels in the majority 1.000 / 0.917; transition class within
    the ring region 0.89 / 0.37; each kind's cores in a class of their own (worst kind) 0.80
    / 0.00; kind ARI among cores 0.80 / 0.00. Kinds the signal subspace puts in one
    direction end up in one class, kinds whose cores score below Otsu's split of their
    branch in the transition: the kind targets of issue 19 are missed.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(0, 0.1, (900, 2)), rng.normal([3, 0], 0.1, (60, 2)),
    ...                     rng.normal([-3, 0], 0.1, (40, 2))])
    >>> result = classify_kinds(Z, np.linalg.norm(Z, axis=1))
    >>> result.n_kinds, np.bincount(result.labels).tolist()
    (2, [892, 8, 60, 40])
    """
    Z = np.asarray(Z, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] < 1:
        raise ValueError(f"Z must have shape (n_spectra, n_dims), got {Z.shape}")
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
    none = KindClasses(labels, 0, float(majority_edge), (), np.empty((0, Z.shape[1])))
    if others.size < min_kind_size:
        return none
    origin = np.median(Z[majority], axis=0) if majority.any() else np.median(Z, axis=0)
    others = others[np.linalg.norm(Z[others] - origin, axis=1) > 0]  # a direction each
    if others.size < min_kind_size:
        return none
    D = Z[others] - origin
    length = np.linalg.norm(D, axis=1)
    directions = _branch_directions(D, score[others], majority_edge, min_kind_size)
    if len(directions) == 0:
        return none
    branch = np.argmax((D / length[:, None]) @ directions.T, axis=1)
    kinds = []
    for b in range(len(directions)):
        points = others[branch == b]
        if points.size < min_kind_size:
            continue
        edge = max(otsu_split(score[points]), majority_edge)
        core = points[score[points] > edge]
        if core.size < min_kind_size:
            continue
        peak, _ = far_mode(score[core])
        if not peak > edge + PILE_FRACTION * (score[core].max() - edge):
            continue  # no pile far out: a tail that only falls off (e.g. a drifting setpoint)
        kinds.append((core, edge))
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

    Generic by default: ``("majority", "transition", "kind 1", ...)``. ``names``
    replaces them from the start (e.g. :data:`FESE_NAMES` on the simulated FeSe grid:
    surface, transition, vacancy); classes beyond the names given keep the generic name.

    Examples
    --------
    >>> class_names(2)
    ('majority', 'transition', 'kind 1', 'kind 2')
    >>> class_names(2, FESE_NAMES)
    ('surface', 'transition', 'vacancy', 'kind 2')
    """
    if int(n_kinds) < 0:
        raise ValueError(f"n_kinds must be >= 0, got {n_kinds}")
    generic = ("majority", "transition") + tuple(f"kind {k}" for k in range(1, int(n_kinds) + 1))
    given = tuple(str(name) for name in (names or ()))
    return given[: len(generic)] + generic[len(given) :]


def flag_meanings(names: Sequence[str]) -> str:
    """CF ``flag_meanings``: the names joined by spaces, spaces inside a name as underscores.

    >>> flag_meanings(class_names(1))
    'majority transition kind_1'
    """
    return " ".join("_".join(str(name).split()) for name in names)
