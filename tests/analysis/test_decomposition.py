"""PCA against a numpy SVD; embed shapes, determinism and lazy imports."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from stswidgets.analysis import decomposition
from stswidgets.analysis.decomposition import embed, pca


def _blobs(seed=0, n=120, d=30):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.linspace(3, 0.1, d)
    X[: n // 4] += 4.0
    return X.astype(np.float32)


def test_pca_matches_numpy_svd():
    X = _blobs().astype(np.float64)
    result = pca(X)
    centred = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    ratio = s**2 / (s**2).sum()
    np.testing.assert_allclose(result.explained_variance_ratio, ratio, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(result.explained_variance, s**2 / (len(X) - 1), rtol=1e-6)
    # the same axes up to sign
    for k in range(5):
        assert abs(abs(result.components[k] @ vt[k]) - 1) < 1e-6
    np.testing.assert_allclose(result.scores, centred @ result.components.T, atol=1e-8)
    np.testing.assert_allclose(result.mean, X.mean(axis=0))
    np.testing.assert_allclose(result.cumulative, np.cumsum(ratio), rtol=1e-6)
    assert result.n_components_for(ratio[0] + ratio[1] - 1e-9) == 2
    number, scree = result.scree()
    assert number[0] == 1 and len(scree) == min(X.shape)


def test_pca_truncated_is_deterministic_and_sign_fixed():
    X = _blobs(1, n=300, d=40)
    a = pca(X, n_components=3, random_state=0)
    b = pca(X, n_components=3, random_state=0)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.scores.shape == (300, 3) and a.components.shape == (3, 40)
    largest = a.components[np.arange(3), np.abs(a.components).argmax(axis=1)]
    assert np.all(largest > 0)
    np.testing.assert_allclose(a.transform(X), a.scores, atol=1e-8)
    centred = X.astype(np.float64) - X.mean(axis=0)
    vt = np.linalg.svd(centred, full_matrices=False)[2][:3]
    projected = centred @ vt.T @ vt + X.mean(axis=0)
    np.testing.assert_allclose(a.reconstruct(a.scores), projected, atol=1e-4)


def test_pca_rejects_bad_input():
    with pytest.raises(ValueError, match="n_components"):
        pca(_blobs(), n_components=0)
    X = _blobs()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pca(X)


@pytest.mark.parametrize(
    "method",
    # umap and t-SNE (250 iterations) take ~6 s each on 2 busy cores
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


def test_embed_pca_equals_pca_scores():
    X = _blobs()
    np.testing.assert_allclose(embed(X, "pca", 3), pca(X, 3).scores)


def test_kpca_subsample_fit_and_median_gamma():
    X = _blobs(4, n=150, d=10).astype(np.float64)
    from scipy.spatial.distance import pdist

    assert decomposition.median_gamma(X) == pytest.approx(1 / (2 * np.median(pdist(X)) ** 2))
    Z = embed(X, "kpca", fit_size=60, random_state=0)
    assert Z.shape == (150, 2)
    # a linear kernel fitted on all rows spans the same plane as PCA
    Z_lin = embed(X, "kpca", kernel="linear")
    P = pca(X, 2).scores
    for k in range(2):
        assert abs(np.corrcoef(Z_lin[:, k], P[:, k])[0, 1]) > 0.999


def test_nmf_negative_input_handling():
    X = _blobs(5, n=60, d=12).astype(np.float64)
    assert X.min() < 0
    with pytest.raises(ValueError, match="non-negative"):
        embed(X, "nmf", negative="error")
    with pytest.raises(ValueError, match="negative must be"):
        embed(X, "nmf", negative="abs")
    from sklearn.decomposition import NMF

    shifted = embed(X, "nmf", random_state=0)  # default: subtract the global minimum
    ref = NMF(2, init="nndsvda", random_state=0, max_iter=500).fit_transform(X - X.min())
    np.testing.assert_allclose(shifted, ref)
    clipped = embed(X, "nmf", negative="clip", random_state=0)
    ref = NMF(2, init="nndsvda", random_state=0, max_iter=500).fit_transform(np.clip(X, 0, None))
    np.testing.assert_allclose(clipped, ref)
    assert np.all(shifted >= 0)
    # non-negative input is used as it is, whatever `negative` says
    positive = X - X.min()
    np.testing.assert_allclose(
        embed(positive, "nmf", negative="error"), embed(positive, "nmf", negative="shift")
    )


def test_unknown_method_lists_the_methods():
    with pytest.raises(ValueError, match="pca.*kpca.*nmf.*umap.*tsne.*autoencoder.*siamese"):
        embed(_blobs(), "ica")


def _learn_has(name):
    if importlib.util.find_spec("stswidgets.learn") is None:
        return False
    try:
        import stswidgets.learn as learn
    except ImportError:
        return False
    return hasattr(learn, name)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "cls"), [("autoencoder", "AutoencoderEmbedding"), ("siamese", "SiameseEmbedding")]
)
def test_embed_learned_methods(method, cls):
    if not _learn_has(cls):
        pytest.skip(f"stswidgets.learn.{cls} is not importable yet")
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


def test_import_does_not_load_torch_or_umap():
    code = (
        "import sys, stswidgets.analysis.decomposition, stswidgets.analysis.clustering, "
        "stswidgets.analysis.correlation, stswidgets.analysis.metrics\n"
        "heavy = ('torch', 'umap', 'pytorch_lightning', 'lightning')\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
