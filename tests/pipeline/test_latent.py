"""pipeline.latent: embed (shapes, determinism, equal to the analysis functions it calls), the
methods a config asks for, the non-linear reduction step and its truth table."""

import numpy as np
import pytest

from stswidgets import pipeline
from stswidgets.analysis import decomposition
from stswidgets.pipeline.latent import embed


def _blobs(seed=0, n=120, d=30):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(3, 0.1, d)
    X[: n // 4] += 4.0
    return X.astype(np.float32)


@pytest.mark.parametrize(
    "method",
    ["pca", "kpca", "nmf"] + [pytest.param(m, marks=pytest.mark.slow) for m in ("umap", "tsne")],
)
def test_embed_shape_and_determinism(method):
    X = _blobs(2, n=60, d=20)
    params = {"umap": {"n_neighbors": 10}, "tsne": {"max_iter": 250}}.get(method, {})
    a = embed(X, method, n_components=2, random_state=3, **params)
    b = embed(X, method, n_components=2, random_state=3, **params)
    assert a.shape == (60, 2) and a.dtype == np.float64
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, b)


def test_embed_pca_equals_an_svd_projection():
    X = _blobs().astype(np.float64)
    Z = embed(X, "pca", 3)
    centred = X - X.mean(axis=0)
    vt = np.linalg.svd(centred, full_matrices=False)[2][:3]
    np.testing.assert_allclose(np.abs(Z), np.abs(centred @ vt.T), atol=1e-6)


def test_embed_dispatches_to_the_analysis_functions():
    X = _blobs(4, n=150, d=10)
    np.testing.assert_array_equal(
        embed(X, "kpca", fit_size=60, random_state=0),
        decomposition.kernel_pca(X, 2, 0, fit_size=60),
    )
    np.testing.assert_array_equal(
        embed(X, "nmf", random_state=0, negative="clip"),
        decomposition.nmf(X, 2, 0, negative="clip"),
    )


def test_unknown_method_lists_the_methods():
    with pytest.raises(ValueError, match="pca.*kpca.*nmf.*umap.*tsne.*autoencoder.*siamese"):
        embed(_blobs(), "ica")


@pytest.mark.slow
@pytest.mark.parametrize("method", ["autoencoder", "siamese"])
def test_embed_learned_methods(method):
    X = _blobs(6, n=200, d=24)
    params = {"max_epochs": 2, "progress": False}
    if method == "siamese":
        params.update(pairs_per_epoch=2048, batch_size=512)
    a = embed(X, method, n_components=2, random_state=0, **params)
    b = embed(X, method, n_components=2, random_state=0, **params)
    assert a.shape == (200, 2)
    np.testing.assert_array_equal(a, b)
    three = embed(X, method, n_components=3, random_state=0, **params)
    assert three.shape == (200, 3)


def test_method_settings_follow_the_config():
    config = pipeline.config_for("full", methods=["kpca", "nmf", "umap"], kpca_gamma_scales=[2.0])
    settings = pipeline.latent.method_settings(config)
    assert [method for method, _ in settings.values()] == ["kpca", "nmf", "umap"]
    (kpca_params,) = [p for m, p in settings.values() if m == "kpca"]
    assert kpca_params == {"gamma_scale": 2.0, "fit_size": config.kpca_fit_size}
    with pytest.raises(ValueError, match="unknown methods"):
        pipeline.latent.method_settings(config.replace(methods=("ica",)))


def test_correlation_bins_rule():
    assert pipeline.correlation_bins(10_000) == 100
    assert pipeline.correlation_bins(2_500) == 50
    assert pipeline.correlation_bins(20) == 10
    assert pipeline.correlation_bins(2_500, pipeline.config_for("full", correlation_bins=7)) == 7


@pytest.fixture(scope="module")
def reduction():
    config = pipeline.config_for("test", methods=["kpca", "nmf"], ny=24, nx=24, n_bias=64)
    data = pipeline.load(None, config)
    return data, config, pipeline.nonlinear_reduction(data.X, config, progress=False)


def test_nonlinear_reduction_against_the_functions_it_runs(reduction):
    data, config, spaces = reduction
    names = list(spaces.latent)
    assert len(names) == 1 + len(config.kpca_gamma_scales)
    first = decomposition.kernel_pca(
        data.X,
        2,
        config.seed,
        gamma_scale=config.kpca_gamma_scales[0],
        fit_size=config.kpca_fit_size,
    )
    np.testing.assert_allclose(spaces.latent[names[0]], first)
    np.testing.assert_allclose(
        spaces.latent["NMF"],
        decomposition.nmf(data.X, 2, config.seed, fit_size=config.nmf_fit_size),
        rtol=1e-10,
    )
    # the distance correlation of each space: Spearman of the two distance-from-mean vectors
    from scipy.stats import spearmanr

    data_distance = np.linalg.norm(data.X - data.X.mean(axis=0), axis=1)
    Z = spaces.latent["NMF"]
    latent_distance = np.linalg.norm(Z - Z.mean(axis=0), axis=1)
    expected = spearmanr(data_distance, latent_distance).statistic
    assert spaces.spearman["NMF"] == pytest.approx(expected, abs=1e-9)
    n_bins = pipeline.correlation_bins(len(data.X), config)
    assert spaces.correlation["NMF"].density.shape == (n_bins, n_bins)
    assert spaces.correlation["NMF"].density.sum() == len(data.X)
    assert all(t >= 0 for t in spaces.runtime_s.values())


def test_separation_table_against_roc_auc(reduction):
    data, _, spaces = reduction
    table = pipeline.separation_table(spaces, data)
    truth = pipeline.populations(data)
    assert truth.vacancy.sum() > 0 and truth.surface.sum() > 0
    Z = spaces.latent["NMF"]
    distance = np.linalg.norm(Z - np.median(Z, axis=0), axis=1)
    # independent Mann-Whitney AUC of vacancy vs surface on the distance from the median
    vac, surf = distance[truth.vacancy], distance[truth.surface]
    auc = (vac[:, None] > surf[None, :]).mean() + 0.5 * (vac[:, None] == surf[None, :]).mean()
    # separation_report orients a latent distance so that vacancies score high
    assert table.loc["NMF", "vac/surf"] == pytest.approx(max(auc, 1 - auc), abs=1e-9)
    assert list(table.index) == list(spaces.latent)


def test_populations_partition_the_spectra(reduction):
    data, _, _ = reduction
    truth = pipeline.populations(data)
    total = truth.vacancy.astype(int) + truth.transition + truth.surface
    assert np.all(total == 1) and len(total) == len(data.X)
    np.testing.assert_array_equal(truth.code[truth.vacancy], 2.0)


@pytest.mark.slow
def test_umap_with_exact_neighbours_keeps_the_neighbourhoods():
    from sklearn.manifold import trustworthiness

    X = _blobs(8, n=300, d=16)
    Z = embed(X, "umap", random_state=0, n_neighbors=10, n_epochs=200)
    # the fraction of each point's 5 nearest latent neighbours that are near in data space
    assert trustworthiness(X, Z, n_neighbors=5) > 0.85
    np.testing.assert_array_equal(Z, embed(X, "umap", random_state=0, n_neighbors=10, n_epochs=200))
