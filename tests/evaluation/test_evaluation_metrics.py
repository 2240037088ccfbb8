"""evaluation.metrics: every metric of a draw against a hand count or an independent formula."""

import itertools

import numpy as np
import pytest

from stswidgets.evaluation import metrics

# a hand-made draw: 6 far, 4 ring, 3 cores of kind 1, 2 cores of kind 2
REGIONS = np.array([0] * 6 + [1] * 4 + [2] * 5)
KIND = np.array([0] * 10 + [1, 1, 1, 2, 2])


def _auc_by_pairs(pos, neg):
    """Fraction of (positive, negative) pairs ordered right, ties one half."""
    wins = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    return float(np.mean(wins))


def test_score_aucs_count_ordered_pairs_between_the_regions():
    rng = np.random.default_rng(0)
    score = np.round(rng.normal(size=REGIONS.size) + REGIONS, 1)  # rounded: some ties
    aucs = metrics.score_aucs(score, REGIONS)
    far, ring, core = (score[REGIONS == r] for r in (0, 1, 2))
    assert aucs["auc_core_far"] == pytest.approx(_auc_by_pairs(core, far))
    assert aucs["auc_ring_far"] == pytest.approx(_auc_by_pairs(ring, far))
    assert aucs["auc_core_ring"] == pytest.approx(_auc_by_pairs(core, ring))
    no_ring = metrics.score_aucs(score[REGIONS != 1], REGIONS[REGIONS != 1])
    assert np.isnan(no_ring["auc_ring_far"]) and np.isnan(no_ring["auc_core_ring"])


def _ari_by_pairs(a, b):
    """Adjusted Rand index from the pair-counting contingency formula (Hubert & Arabie)."""
    from math import comb

    a, b = np.asarray(a), np.asarray(b)
    table = np.array([[np.sum((a == i) & (b == j)) for j in np.unique(b)] for i in np.unique(a)])
    index = sum(comb(int(n), 2) for n in table.ravel())
    rows = sum(comb(int(n), 2) for n in table.sum(axis=1))
    cols = sum(comb(int(n), 2) for n in table.sum(axis=0))
    expected = rows * cols / comb(len(a), 2)
    return (index - expected) / (0.5 * (rows + cols) - expected)


def test_kind_ari_looks_at_the_cores_only():
    classes = np.array([0, 1, 3, 4, 5, 6, 0, 1, 2, 0] + [7, 7, 7, 9, 9])  # noise off the cores
    assert metrics.kind_ari_cores(KIND, classes) == pytest.approx(1.0)
    mixed = np.array([0] * 10 + [2, 2, 3, 3, 2])
    assert metrics.kind_ari_cores(KIND, mixed) == pytest.approx(
        _ari_by_pairs([1, 1, 1, 2, 2], [2, 2, 3, 3, 2])
    )
    assert np.isnan(metrics.kind_ari_cores(np.zeros(4, int), np.zeros(4, int)))


def test_far_surface_in_majority_and_transition_in_ring_by_hand():
    classes = np.array([0, 0, 0, 0, 1, 2] + [1, 1, 0, 0] + [2, 2, 1, 3, 3])
    assert metrics.far_in_majority(classes, REGIONS) == pytest.approx(4 / 6)
    precision, recall = metrics.transition_in_ring(classes, REGIONS)
    # transition class: pixels 4 (far), 6, 7 (ring), 12 (core): 2 of 4 in the ring
    assert precision == pytest.approx(2 / 4) and recall == pytest.approx(2 / 4)
    precision, recall = metrics.transition_in_ring(np.zeros_like(classes), REGIONS)
    assert np.isnan(precision) and recall == 0.0


def test_each_kind_is_matched_to_one_class_and_a_merge_cannot_count_twice():
    # renamed classes: kind 1 in class 5, kind 2 in class 2, one kind-1 core in transition
    classes = np.array([0] * 10 + [5, 5, 1, 2, 2])
    assert metrics.kind_core_fractions(KIND, classes) == pytest.approx({1: 2 / 3, 2: 1.0})
    merged = np.array([0] * 10 + [2, 2, 2, 2, 2])  # both kinds in one class
    assert metrics.kind_core_fractions(KIND, merged) == pytest.approx({1: 1.0, 2: 0.0})
    # three predicted kind classes for two kinds: the best one-to-one assignment
    split = np.array([0] * 10 + [2, 3, 3, 4, 4])
    assert metrics.kind_core_fractions(KIND, split) == pytest.approx({1: 2 / 3, 2: 1.0})
    assert metrics.kind_core_fractions(KIND, np.zeros(15, int)) == {1: 0.0, 2: 0.0}


def _trustworthiness_by_ranks(X, Z, k):
    """Venna & Kaski's trustworthiness from the rank formula, O(n^2) loops."""
    n = len(X)
    dx = np.linalg.norm(X[:, None] - X[None], axis=-1)
    dz = np.linalg.norm(Z[:, None] - Z[None], axis=-1)
    penalty = 0.0
    for i in range(n):
        order_x = [j for j in np.argsort(dx[i], kind="stable") if j != i]
        rank = {j: r + 1 for r, j in enumerate(order_x)}
        near_z = [j for j in np.argsort(dz[i], kind="stable") if j != i][:k]
        penalty += sum(max(0, rank[j] - k) for j in near_z)
    return 1 - 2 / (n * k * (2 * n - 3 * k - 1)) * penalty


def test_knn_preservation_is_the_trustworthiness_of_the_latent_space():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 8))
    Z = X[:, :2] + 0.3 * rng.normal(size=(60, 2))
    value = metrics.knn_preservation(X, Z, n_neighbors=5, sample=100)
    assert value == pytest.approx(_trustworthiness_by_ranks(X, Z, 5), abs=1e-9)
    assert metrics.knn_preservation(X, X, 5) == pytest.approx(1.0)  # nothing lost
    # a subsample: the same formula on the chosen rows
    sub = metrics.knn_preservation(X, Z, n_neighbors=5, sample=30, seed=1)
    pick = np.sort(np.random.default_rng(1).choice(60, 30, replace=False))
    assert sub == pytest.approx(_trustworthiness_by_ranks(X[pick], Z[pick], 5), abs=1e-9)


def test_draw_metrics_of_a_perfect_method_meet_every_target():
    rng = np.random.default_rng(5)
    score = REGIONS + 0.1 * rng.random(REGIONS.size)
    classes = np.where(KIND > 0, KIND + 1, REGIONS)  # far 0, ring 1, kinds 2, 3
    X = rng.normal(size=(REGIONS.size, 6))
    distance = 5.0 - 2.0 * REGIONS + 0.01 * rng.random(REGIONS.size)
    result = metrics.draw_metrics(score, classes, X[:, :2], X, REGIONS, KIND, distance)
    for key in ("auc_core_far", "auc_ring_far", "auc_core_ring", "kind_ari_cores"):
        assert result[key] == pytest.approx(1.0)
    assert result["far_in_majority"] == 1.0 and result["transition_in_ring"] == 1.0
    assert result["kind_cores_own_class"] == 1.0 and result["n_classes_found"] == 4
    assert result["spearman_proximity"] > 0.8  # score falls with the distance to a defect
    assert 0.0 < result["trustworthiness"] < 1.0
