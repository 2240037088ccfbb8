"""The label-free fold check of the similarity score: projection_graph and monotonicity."""

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from stswidgets.learn.score import monotonicity, projection_graph


def _groups_on_a_line(positions, n=10, seed=0):
    """``n`` points at each position along x (tiny jitter in y), and their group index."""
    rng = np.random.default_rng(seed)
    x = np.repeat(np.asarray(positions, dtype=float), n)
    Z = np.stack([x, 1e-3 * rng.standard_normal(x.size)], axis=1)
    return Z, np.repeat(np.arange(len(positions)), n)


def test_graph_is_symmetric_connected_and_weighted_by_distance():
    Z, group = _groups_on_a_line([0.0, 0.1, 5.0, 9.0])  # far groups: a kNN graph alone splits
    Z = Z[group != 1]  # the group at 0.1 joins the one at 0 (20 points: the largest)
    Z = np.concatenate([Z, Z[:10] + [0.1, 0.0]])
    graph = projection_graph(Z, n_neighbors=5)
    assert connected_components(graph, directed=False)[0] == 1
    assert (graph != graph.T).nnz == 0
    i, j = graph.nonzero()
    np.testing.assert_allclose(graph[i, j].A1, np.linalg.norm(Z[i] - Z[j], axis=1), rtol=1e-12)
    # chained in order: 0.1 -> 5 -> 9 (not 9 -> 0.1), one bridge (both directions) each
    long = np.sort(graph.data[graph.data > 1])
    np.testing.assert_allclose(long, [4.0, 4.0, 4.9, 4.9], atol=0.01)


def test_monotonicity_by_hand():
    Z, group = _groups_on_a_line([0.0, 1.0, 2.0, 3.0])
    graph = projection_graph(Z)
    assert monotonicity(group.astype(float), graph) == 1.0
    # medians 0, 1, 3, 2 along the line: rises 1 + 2, fall 1 -> 3 / 4
    assert monotonicity(np.array([0.0, 1.0, 3.0, 2.0])[group], graph) == pytest.approx(0.75)
    # the far end scored below the middle (a fold) on a curved, continuous projection
    t = np.linspace(0, np.pi, 400)
    arc = np.stack([np.cos(t), np.sin(t)], axis=1)
    arc_graph = projection_graph(arc)
    assert monotonicity(t, arc_graph) == 1.0
    fold = np.minimum(t, 2 * (np.pi - t)) + 0.05 * t  # rises to 2/3 of the arc, falls back
    assert monotonicity(fold, arc_graph) < 0.7
    assert monotonicity(-fold, arc_graph) < 0.7  # its low end in the middle: seen from the top
    assert monotonicity(np.zeros(len(t)), arc_graph) == 1.0  # flat: nothing falls back
