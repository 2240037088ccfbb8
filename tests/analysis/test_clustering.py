"""k-means and Ward helpers against independent computations."""

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from stswidgets.analysis.clustering import (
    cluster_centres,
    cluster_sizes_by_level,
    kmeans,
    ward_tree,
)


def _two_blobs(seed=0, n_major=150, n_minor=50):
    rng = np.random.default_rng(seed)
    Z = np.vstack(
        [rng.normal(0, 0.3, size=(n_major, 2)), rng.normal((6, -4), 0.3, size=(n_minor, 2))]
    )
    truth = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    return Z, truth


def test_kmeans_recovers_two_blobs_with_minority_label_1():
    Z, truth = _two_blobs()
    result = kmeans(Z, 2)
    assert adjusted_rand_score(truth, result.labels) == 1.0
    np.testing.assert_array_equal(result.labels, truth)  # label 1 = the smaller cluster
    np.testing.assert_allclose(result.centres[1], Z[truth == 1].mean(axis=0))
    inertia = sum(((Z[truth == k] - Z[truth == k].mean(0)) ** 2).sum() for k in (0, 1))
    assert result.inertia == pytest.approx(inertia)
    np.testing.assert_array_equal(kmeans(Z, 2).labels, result.labels)


def test_kmeans_labels_sorted_by_size_and_boundary_grid():
    rng = np.random.default_rng(1)
    Z = np.vstack(
        [rng.normal(c, 0.2, size=(m, 2)) for c, m in [((0, 5), 20), ((5, 0), 70), ((0, 0), 40)]]
    )
    result = kmeans(Z, 3)
    assert list(np.bincount(result.labels)) == [70, 40, 20]
    xx, yy, grid = result.boundary_grid((-1, 6), (-1, 6), resolution=50)
    assert xx.shape == yy.shape == grid.shape == (50, 50)
    # each mesh node has the label of its nearest centre
    d2 = (xx[..., None] - result.centres[:, 0]) ** 2 + (yy[..., None] - result.centres[:, 1]) ** 2
    np.testing.assert_array_equal(grid, d2.argmin(axis=-1))


def test_cluster_centres_mean_and_std():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 5))
    labels = rng.integers(0, 3, size=30)
    centres = cluster_centres(X, labels)
    for i, lab in enumerate(centres.labels):
        np.testing.assert_allclose(centres.mean[i], X[labels == lab].mean(axis=0))
        np.testing.assert_allclose(centres.std[i], X[labels == lab].std(axis=0))
        assert centres.size[i] == (labels == lab).sum()
    with pytest.raises(ValueError, match="one entry per spectrum"):
        cluster_centres(X, labels[:-1])


def test_ward_tree_is_scipy_ward():
    Z, _ = _two_blobs(3, 40, 10)
    np.testing.assert_allclose(ward_tree(Z), linkage(Z, "ward"))


def test_cluster_sizes_by_level_matches_fcluster():
    rng = np.random.default_rng(4)
    Z = np.vstack([rng.normal(c, 1.0, size=(60, 3)) for c in (0, 4, 9)])
    tree = ward_tree(Z)
    n_levels = 40
    sizes = cluster_sizes_by_level(tree, n_levels=n_levels)
    assert sizes.shape == (n_levels, n_levels)
    for level in range(1, n_levels + 1):
        flat = fcluster(tree, level, criterion="maxclust")
        expected = np.sort(np.bincount(flat)[1:])[::-1]
        assert len(expected) == level
        np.testing.assert_array_equal(sizes[level - 1, :level], expected)
        assert np.all(sizes[level - 1, level:] == 0)
        assert sizes[level - 1].sum() == len(Z)


def test_cluster_sizes_by_level_clips_to_n():
    tree = ward_tree(np.arange(5.0)[:, None] ** 2)
    sizes = cluster_sizes_by_level(tree, n_levels=300)
    assert sizes.shape == (5, 5)
    np.testing.assert_array_equal(sizes[-1], np.ones(5))
