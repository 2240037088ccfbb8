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


def _u_projection(seed=0):
    """A U-shaped projection: a dense majority at the top of the left arm, then a thinning
    trail down the arm, across the bottom and up the right arm to the minority at its top.
    Returns the points and their position along the U (0 at the majority, 1 at the far tip).
    """
    rng = np.random.default_rng(seed)
    t = np.concatenate([rng.uniform(0.0, 0.05, 1500), rng.uniform(0.0, 1.0, 600)])
    left, bottom = 0.4, 0.2  # arm lengths 0.4 each, bottom 0.2: the tips are 0.2 apart
    x = np.where(t < left, 0.0, np.where(t < left + bottom, t - left, bottom))
    y = np.where(t < left, left - t, np.where(t < left + bottom, 0.0, t - left - bottom))
    Z = np.stack([x, y], axis=1) + 0.003 * rng.standard_normal((len(t), 2))
    return Z, t


def test_u_shaped_projection_is_caught():
    """Issue 14: a U-shaped projection scored by the distance from its majority folds.

    Along the U the far tip comes back within 0.2 of the majority: its distance from the
    majority's position (the score of SimilarityScore) rises down the arm and falls back up
    the other, and the check, measured from the majority, sees the fall.
    """
    from stswidgets.learn.score import majority_position

    Z, t = _u_projection()
    majority = majority_position(Z)
    assert np.linalg.norm(majority - [0.0, 0.4]) < 0.05  # the dense tip
    score = np.linalg.norm(Z - majority, axis=1)
    graph = projection_graph(Z)
    anchor = score <= np.quantile(score, 0.05)
    assert monotonicity(score, graph, anchor=anchor) < 0.8
    # the position along the U itself is monotone, and so is a straight (L-free) projection
    assert monotonicity(t, graph, anchor=anchor) > 0.95
    straight = np.stack([t, 0.003 * np.random.default_rng(1).standard_normal(len(t))], axis=1)
    s_straight = np.linalg.norm(straight - majority_position(straight), axis=1)
    assert monotonicity(s_straight, projection_graph(straight), anchor=s_straight <= 0.01) > 0.95


def test_branches_are_checked_one_by_one():
    """Two kinds on opposite sides: each side grows from the majority; one side folding is
    caught even when the other side is fine."""
    Z, group = _groups_on_a_line([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], n=10)
    graph = projection_graph(Z)
    anchor = group == 3
    distance = np.abs(Z[:, 0])
    sides = np.sign(Z[:, 0])
    assert monotonicity(distance, graph, anchor=anchor, branches=sides) == 1.0
    folded = distance.copy()
    folded[group == 0] = 0.5  # the far left kind scored like the majority
    assert monotonicity(folded, graph, anchor=anchor, branches=sides) < 0.7
    with pytest.raises(ValueError, match="anchor"):
        monotonicity(distance, graph, anchor=np.zeros(len(Z), bool))
    with pytest.raises(ValueError, match="branches"):
        monotonicity(distance, graph, anchor=anchor, branches=sides[:5])


def test_spectrum_scaler_normalisations():
    """Each per-spectrum normalisation removes a setpoint factor, computed by hand."""
    from stswidgets import preprocess
    from stswidgets.learn._training import SpectrumScaler

    rng = np.random.default_rng(2)
    shape = 1.0 + rng.random((5, 40))
    factor = np.array([0.5, 1.0, 2.0, 3.0, 7.0])[:, None]
    expected = {
        "rms": shape / np.sqrt(np.mean(shape**2, axis=1, keepdims=True)),
        "integral": shape / shape.mean(axis=1, keepdims=True),
        "outside": shape / np.c_[shape[:, :4], shape[:, -4:]].mean(axis=1, keepdims=True),
        "none": shape * factor,
    }
    for normalize, normalized in expected.items():
        scaler = SpectrumScaler(normalize).fit(shape * factor)
        np.testing.assert_allclose(scaler.mean_, normalized.mean(axis=0), rtol=1e-10)
        centred = normalized - normalized.mean(axis=0)
        np.testing.assert_allclose(scaler.scale_, np.sqrt(np.mean(centred**2)), rtol=1e-10)
    # one vocabulary: the scaler divides by exactly what preprocess.normalize divides by
    for normalize in ("zscore", "area", "max"):
        scaler = SpectrumScaler(normalize).fit(shape * factor)
        normalized = preprocess.normalize(shape, normalize)
        np.testing.assert_allclose(scaler.mean_, normalized.mean(axis=0), rtol=1e-10)
    zero = SpectrumScaler("outside").fit(np.vstack([shape, np.zeros(40)]))
    assert np.isfinite(zero.mean_).all()  # an all-zero spectrum is kept, not refused
    with pytest.raises(ValueError, match="unknown normalisation method 'l2'"):
        SpectrumScaler("l2")
