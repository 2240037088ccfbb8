"""pipeline.linear (notebook 02) against numpy's SVD, scikit-learn and scipy called directly."""

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from stswidgets import datasets, pipeline, to_matrix
from stswidgets.pipeline.normalization import METHODS, apply_normalization


@pytest.fixture(scope="module")
def simulated():
    data = datasets.fese_like(seed=3, shape=(24, 24), n_bias=64)
    X, valid = to_matrix(data["didv"])
    return X.astype(np.float64), valid, data.drop_vars("didv")


def test_pca_scores_and_scree_match_numpy_svd(simulated):
    X, _, _ = simulated
    space = pipeline.linear_latent_space(X, pipeline.config_for("test"))
    centred = X - X.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    ratio = s**2 / (s**2).sum()
    np.testing.assert_allclose(space.pca.explained_variance_ratio[:10], ratio[:10], rtol=1e-8)
    for k in range(3):  # each axis up to its sign
        sign = np.sign(space.pca.scores[:, k] @ (u[:, k] * s[k]))
        np.testing.assert_allclose(space.pca.scores[:, k], sign * u[:, k] * s[k], atol=1e-8)
    assert space.latent.shape == (len(X), 2)


def test_the_pca_takes_the_spectra_as_given_whatever_the_config_says(simulated):
    # the spectra are normalised once, by pipeline.load; the step must not normalise again
    X, _, _ = simulated
    factors = np.random.default_rng(0).uniform(0.5, 2.0, size=(len(X), 1))
    for normalize in ("zscore", "setpoint", "none"):
        config = pipeline.config_for("test", normalize=normalize)
        space = pipeline.linear_latent_space(X * factors, config)
        centred = X * factors - (X * factors).mean(axis=0)
        s = np.linalg.svd(centred, compute_uv=False)
        ratio = (s**2 / (s**2).sum())[:5]
        np.testing.assert_allclose(space.pca.explained_variance_ratio[:5], ratio)


def test_kmeans_labels_and_centres_match_sklearn_directly(simulated):
    X, _, _ = simulated
    config = pipeline.config_for("test", seed=4)
    space = pipeline.linear_latent_space(X, config)
    for k in pipeline.KMEANS_K:
        direct = KMeans(n_clusters=k, n_init=10, random_state=4).fit(space.latent)
        assert adjusted_rand_score(direct.labels_, space.kmeans[k].labels) == pytest.approx(1.0)
        sizes = space.sizes(k)
        assert sorted(sizes, reverse=True) == list(sizes)  # label 0 the largest
        assert sorted(sizes) == sorted(np.bincount(direct.labels_))
        for label in range(k):
            rows = space.kmeans[k].labels == label
            np.testing.assert_allclose(space.centres[k].mean[label], X[rows].mean(axis=0))


def test_ward_tree_and_cluster_sizes_match_scipy(simulated):
    X, _, _ = simulated
    config = pipeline.config_for("test", ward_components=4, n_levels=1000)
    space = pipeline.linear_latent_space(X, config)
    ward = pipeline.ward_hierarchy(space.pca, config)
    direct = linkage(space.pca.scores[:, :4], method="ward")
    np.testing.assert_allclose(ward.tree[:, 2], direct[:, 2])
    assert ward.n_components == 4
    assert ward.sizes.shape == (len(X) - 1, len(X) - 1)  # n_levels clipped to n_spectra - 1
    for level in (1, 2, 3, 7):
        counts = np.bincount(fcluster(direct, level, criterion="maxclust"))[1:]
        assert ward.sizes[level - 1, :level].tolist() == sorted(counts.tolist(), reverse=True)
        assert np.array_equal(np.sort(np.bincount(ward.flat(level))[1:]), np.sort(counts))
    np.testing.assert_array_equal(ward.levels[:3], [1, 2, 3])


def test_toy_family_recovers_its_two_clusters():
    config = pipeline.config_for("test", n_toy=400, seed=2)
    toy = pipeline.toy_family(config)
    assert toy.curves.shape[0] == 400 and toy.params.shape == (400, 2)
    assert toy.pca.cumulative[1] > 0.9  # a 2D latent space in 100 dimensions
    assert toy.ari == pytest.approx(adjusted_rand_score(toy.labels, toy.kmeans.labels))
    assert toy.ari > 0.9


def test_compare_normalizations_repeats_the_main_analysis():
    config = pipeline.config_for("test", ny=24, nx=24, n_bias=64, seed=3, normalize="none")
    data = pipeline.load(None, config)
    X, valid, truth = data.raw_X, data.valid, data.truth
    trials = pipeline.compare_normalizations(data, config)
    assert [t.normalization for t in trials] == list(METHODS)
    space = pipeline.linear_latent_space(X, config)
    np.testing.assert_allclose(trials[0].cumulative, space.pca.cumulative[:3])
    assert trials[0].sizes.tolist() == space.sizes(2).tolist()
    vacancy = np.asarray(truth["vacancy"])[np.asarray(valid)]
    expected = adjusted_rand_score(vacancy, space.kmeans[2].labels)
    assert trials[0].ari == pytest.approx(expected)
    zscored = pipeline.linear_latent_space(apply_normalization(X, "zscore", data.bias_mV), config)
    zscore_ari = adjusted_rand_score(vacancy, zscored.kmeans[2].labels)
    assert trials[METHODS.index("zscore")].ari == pytest.approx(zscore_ari)
    assert all(0.0 <= t.auc_pc1 <= 1.0 for t in trials)
    reused = pipeline.compare_normalizations(data, config, space=space)
    assert [t.ari for t in reused] == pytest.approx([t.ari for t in trials])
