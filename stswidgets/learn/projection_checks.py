"""The label-free checks of a 2D projection: where its majority sits and whether it folds.

:func:`majority_position` finds the majority's position (the density peak);
:func:`projection_graph` and :func:`monotonicity` measure whether a score grows along the
projection away from it. Used by :class:`stswidgets.learn.SimilarityScore`; numpy and scipy
only, no torch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["majority_position", "monotonicity", "projection_graph"]

#: Most points the density estimate of :func:`majority_position` is built on.
MAX_DENSITY_POINTS = 4000


def projection_graph(Z, n_neighbors: int = 10):
    """The k-nearest-neighbour graph of the points of a projection, made connected.

    Symmetric, weighted by Euclidean distance (a ``scipy.sparse`` CSR matrix). Separate
    groups of points (a tight cluster of vacancies away from the rest) are joined one at a
    time by the shortest edge from the largest connected part to any point outside it (as in
    Prim's minimum spanning tree), so that every point has a distance along the graph from
    every other and groups are chained in the order they lie in.
    """
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    from sklearn.neighbors import kneighbors_graph

    Z = np.asarray(Z, dtype=np.float64)
    graph = kneighbors_graph(Z, min(n_neighbors, len(Z) - 1), mode="distance")
    graph = graph.maximum(graph.T).tolil()
    while True:
        n_groups, group = connected_components(graph, directed=False)
        if n_groups == 1:
            return graph.tocsr()
        inside = group == np.bincount(group).argmax()
        main, rest = np.flatnonzero(inside), np.flatnonzero(~inside)
        distance, nearest = cKDTree(Z[main]).query(Z[rest])
        k = int(np.argmin(distance))
        weight = max(float(distance[k]), np.finfo(np.float64).tiny)
        graph[rest[k], main[nearest[k]]] = weight
        graph[main[nearest[k]], rest[k]] = weight


def _rise_fraction(score: np.ndarray, along: np.ndarray, n_bins: int) -> float | None:
    """Rise over total variation of the median ``score`` in equal-width bins of ``along``.

    ``None`` when the medians do not vary (fewer than two bins of 3 points, or all equal).
    """
    edges = np.linspace(along.min(), along.max(), n_bins + 1)
    bins = np.clip(np.searchsorted(edges, along, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    medians = [np.median(score[bins == b]) for b in range(n_bins) if counts[b] >= 3]
    steps = np.diff(medians)
    total = np.abs(steps).sum()
    return float(np.clip(steps, 0, None).sum() / total) if total > 0 else None


def monotonicity(
    score,
    graph,
    anchor=None,
    branches=None,
    n_bins: int = 20,
    end_fraction: float = 0.01,
) -> float:
    """How monotone ``score`` is along a projection, from 0 to 1 (1: monotone).

    The distance along ``graph`` (:func:`projection_graph`) from the ``anchor`` points is cut
    into ``n_bins`` equal-width bins and the median score of each bin is taken (bins with
    fewer than 3 points are left out); the rise of these medians over their total variation,
    ``sum(max(step, 0)) / sum(|step|)``, is 1 when the score only grows with the distance
    from the anchor and lower when it falls back somewhere (a *fold*: e.g. the vacancies, at
    the far end of the projection, scored below the transition ring, or a U-shaped projection
    whose far arm comes back to the majority's score). Equal-width bins give a small, distant
    group of points (the vacancies) a bin of its own rather than drowning it in the majority.

    Parameters
    ----------
    score : array-like, shape ``(n_points,)``
    graph : scipy.sparse matrix, shape ``(n_points, n_points)``
        From :func:`projection_graph`.
    anchor : array-like of bool ``(n_points,)`` or of int, optional
        The majority, from which the score must grow (for :class:`SimilarityScore`: the
        spectra nearest the median spectrum in data space, chosen without looking at the
        score, so that a score whose low end is not the majority is caught). None: the
        ``end_fraction`` of the points that score lowest, and, as a second check, the
        ``end_fraction`` that score highest, from where the score must only fall; the result
        is the smaller of the two.
    branches : array-like of int, shape ``(n_points,)``, optional
        Labels of branches leaving the anchor (e.g. the two sides of the majority on the
        learned line, where minority kinds may lie in opposite directions); each branch,
        with the anchor points, is checked on its own and the result is the smallest.
    n_bins : int
    end_fraction : float
        Only with ``anchor=None``.

    Returns
    -------
    float
        In [0, 1]; 1 also when the score does not vary at all.
    """
    from scipy.sparse.csgraph import dijkstra

    score = np.asarray(score, dtype=np.float64).ravel()
    if anchor is None:
        n_end = max(1, int(round(end_fraction * len(score))))
        order = np.argsort(score, kind="stable")
        ends = ((1.0, order[:n_end]), (-1.0, order[::-1][:n_end]))
    else:
        anchor = np.asarray(anchor)
        anchor = np.flatnonzero(anchor) if anchor.dtype == bool else anchor.astype(int).ravel()
        if anchor.size == 0:
            raise ValueError("anchor selects no points")
        ends = ((1.0, anchor),)
    labels = np.zeros(len(score), int) if branches is None else np.asarray(branches).ravel()
    if labels.shape != score.shape:
        raise ValueError(f"branches has shape {labels.shape}, expected {score.shape}")
    result = 1.0
    for sign, end in ends:
        along = dijkstra(graph, directed=False, indices=end, min_only=True)
        start = np.zeros(len(score), bool)
        start[end] = True
        for branch in np.unique(labels):
            members = (labels == branch) | start
            rise = _rise_fraction(sign * score[members], along[members], n_bins)
            if rise is not None:
                result = min(result, rise)
    return result


def majority_position(Z) -> np.ndarray:
    """Where the majority sits in a projection: the peak of its point density.

    A Gaussian kernel density estimate (Scott's bandwidth) of the points of ``Z``
    (``(n_points, n_dims)``; at most :data:`MAX_DENSITY_POINTS`, evenly spaced, when there are
    more) evaluated at those points; the densest one is returned, shape ``(n_dims,)``. Unlike
    the median it stays on the majority when the minority and the transition spectra pull to
    one side (on dense defects the median of the projection lies in the transition ring).
    """
    from scipy.stats import gaussian_kde

    Z = np.asarray(Z, dtype=np.float64)
    step = max(1, -(-len(Z) // MAX_DENSITY_POINTS))
    points = Z[::step]
    try:
        density = gaussian_kde(points.T)(points.T)
    except np.linalg.LinAlgError:  # all points on a line or a point: fall back to the median
        return np.median(Z, axis=0)
    return points[int(np.argmax(density))].copy()
