"""Bin ranges whose edges lie away from every pair distance, for exact comparisons of passes
that round differently (torch vs numpy matrix products, a different centring)."""

import numpy as np
from scipy.spatial.distance import pdist


def range_away_from_edges(values, bins, margin):
    """A ``(lo, hi)`` of ``bins`` equal bins covering ``values`` with every value at least
    ``margin`` (absolute) away from every edge; found by sliding the edges (deterministic)."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    width = (values[-1] - values[0]) / (bins - 1)
    for shift in np.linspace(0.05, 0.95, 91):
        lo = values[0] - shift * width
        edges = lo + width * np.arange(bins + 1)
        nearest = np.abs(values[:, None] - edges[None, :]).min()
        if nearest > margin:
            return float(edges[0]), float(edges[-1])
    raise AssertionError(f"no range with all {values.size} values {margin} away from the edges")


def pair_values(X, offset=None):
    """float64 pair distances of ``X`` (``log(d + offset)`` with an offset)."""
    d = pdist(np.asarray(X, dtype=np.float64))
    return d if offset is None else np.log(d + offset)
