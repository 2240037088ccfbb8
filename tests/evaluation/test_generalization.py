"""The randomized benchmark harness (evaluation.generalization): truth, metrics, cache."""

import numpy as np
import pytest
import xarray as xr

from stswidgets.evaluation import generalization as gen


def test_draw_resamples_long_bias_axes_over_the_same_window():
    seed = next(s for s in range(50) if gen.draw(s, (8, 8), None).sizes["bias"] > 300)
    full = gen.draw(seed, (8, 8), None)
    capped = gen.draw(seed, (8, 8), 256)
    assert capped.sizes["bias"] == 256 and capped.attrs["resampled_from"] == full.sizes["bias"]
    assert capped["bias"].values[[0, -1]] == pytest.approx(full["bias"].values[[0, -1]])
    assert capped["didv"].dtype == np.float32
    np.testing.assert_array_equal(capped["kind"].values, full["kind"].values)
    # linear interpolation: a resampled point lies between its two neighbours on the drawn axis
    b = capped["bias"].values[100]
    i = np.searchsorted(full["bias"].values, b)
    lo, hi = full["didv"].values[3, 3, i - 1], full["didv"].values[3, 3, i]
    assert min(lo, hi) - 1e-5 <= capped["didv"].values[3, 3, 100] <= max(lo, hi) + 1e-5


def test_draw_truth_follows_the_contract_core_ring_far():
    kind = np.array([[0, 0, 1], [2, 0, 0]])
    transition = np.array([[False, True, False], [False, False, True]])
    distance = np.array([[3.0, 1.0, 0.0], [0.0, 4.0, 1.5]])
    ds = xr.Dataset(
        {
            "kind": (("y", "x"), kind),
            "transition": (("y", "x"), transition),
            "defect_distance_nm": (("y", "x"), distance),
        }
    )
    valid = np.array([[True, True, True], [True, True, False]])
    truth = gen.draw_truth(ds, valid)
    np.testing.assert_array_equal(truth["regions"], [0, 1, 2, 2, 0])
    np.testing.assert_array_equal(truth["kind"], [0, 0, 1, 2, 0])
    np.testing.assert_array_equal(truth["defect_distance"], [3.0, 1.0, 0.0, 0.0, 4.0])


def test_every_method_receives_the_same_normalised_spectra(monkeypatch):
    from stswidgets import to_matrix

    seen = {}

    def record(X, methods, seed, learn_params):
        seen["X"], seen["methods"] = np.array(X), list(methods)
        return {
            m: {"score": np.zeros(len(X)), "latent": np.zeros((len(X), 2)), "runtime_s": 0.0}
            for m in methods
        }

    monkeypatch.setattr(gen, "run_methods", record)
    gen.method_outputs(3, ["pca", "siamese_score", "abundance"], size_range=(12, 14))
    from stswidgets.pipeline.normalization import apply_normalization, choose_normalization

    grid = gen.draw(3, (12, 14))["didv"]
    X, _ = to_matrix(grid)
    method, _ = choose_normalization(X, grid["bias"].values)  # auto, as pipeline.load
    expected = apply_normalization(X, method, grid["bias"].values)
    np.testing.assert_allclose(seen["X"], expected, rtol=1e-5)
    assert seen["methods"] == ["pca", "siamese_score", "abundance"]


def test_learned_estimators_do_not_normalise_each_spectrum_again(monkeypatch):
    from stswidgets.evaluation import methods
    from stswidgets.pipeline import latent

    calls = []

    def fake_embed(X, method, n_components=2, random_state=0, **params):
        calls.append((method, params))
        return np.asarray(X)[:, :n_components]

    monkeypatch.setattr(latent, "embed", fake_embed)
    X = np.random.default_rng(0).normal(size=(20, 6))
    out = methods.run_methods(X, ["pca", "autoencoder"], learn_params={"max_epochs": 1})
    assert calls[0] == ("pca", {})
    assert calls[1][0] == "autoencoder" and calls[1][1]["normalize"] == "none"
    # the latent distance from the median is the score
    Z = X[:, :2]
    np.testing.assert_allclose(
        out["pca"]["score"], np.linalg.norm(Z - np.median(Z, axis=0), axis=1), rtol=1e-6
    )


def test_the_similarity_score_is_the_pipelines_step(monkeypatch):
    from types import SimpleNamespace

    from stswidgets.evaluation import methods
    from stswidgets.pipeline import score as score_step

    seen = []

    def fake_similarity_score(X, config, progress=True):
        seen.append((np.array(X), config))
        Z = np.asarray(X)[:, :2] * 2.0
        return SimpleNamespace(score=np.abs(Z[:, 0]), Z=Z)

    monkeypatch.setattr(score_step, "similarity_score", fake_similarity_score)
    X = np.random.default_rng(1).normal(size=(30, 5))
    out = methods.run_methods(X, ["siamese_score", "siamese"], 7, {"max_epochs": 3})
    assert len(seen) == 1  # one training serves the score and its projection
    config = seen[0][1]
    assert config.seed == 7 and config.max_epochs == 3 and config.profile == "full"
    np.testing.assert_allclose(seen[0][0], X, rtol=1e-6)  # the spectra as given
    Z = X[:, :2] * 2.0
    np.testing.assert_allclose(out["siamese_score"]["score"], np.abs(Z[:, 0]), rtol=1e-6)
    np.testing.assert_allclose(
        out["siamese"]["score"], np.linalg.norm(Z - np.median(Z, axis=0), axis=1), rtol=1e-5
    )
    np.testing.assert_allclose(out["siamese_score"]["latent"], Z, rtol=1e-6)

    def with_signal(X, config, progress=True):  # a step that reads the kinds in a subspace
        result = fake_similarity_score(X, config, progress)
        result.signal = np.asarray(X)[:, :4]
        return result

    monkeypatch.setattr(score_step, "similarity_score", with_signal)
    out = methods.run_methods(X, ["siamese_score", "siamese"], 7, {"max_epochs": 3})
    np.testing.assert_allclose(out["siamese_score"]["latent"], X[:, :4], rtol=1e-6)
    np.testing.assert_allclose(out["siamese"]["latent"], Z, rtol=1e-6)  # the projection


def test_site_classes_are_the_pipelines_on_every_latent_space():
    from stswidgets.analysis import classify_kinds

    rng = np.random.default_rng(2)
    latent = np.concatenate(
        [
            rng.normal(0, 0.1, (600, 2)),
            rng.normal([3, 0], 0.1, (60, 2)),
            rng.normal([-3, 0], 0.1, (30, 2)),
        ]
    )
    score = np.linalg.norm(latent, axis=1)
    X = rng.normal(size=(len(latent), 4))
    classes = gen.site_class_labels(latent, score, X)
    np.testing.assert_array_equal(classes, classify_kinds(latent, score).labels)
    truth = np.repeat([0, 2, 3], [600, 60, 30])
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, classes) > 0.95
    one_column = gen.site_class_labels(score[:, None], score, X)  # the abundance: 1D
    assert one_column.shape == score.shape and set(one_column[600:]) - {0}
    with pytest.raises(ValueError, match="unknown methods"):
        gen.run_methods(latent, ["nope"])


def test_benchmark_rows_and_the_cache_resume_without_recomputing(tmp_path, monkeypatch):
    rows = gen.generalization_benchmark(
        [3], ["pca", "abundance"], cache=tmp_path, size_range=(16, 20), progress=False
    )
    assert [r["method"] for r in rows] == ["pca", "abundance"]
    assert len(list(tmp_path.glob("*.npz"))) == 2
    pca = rows[0]
    assert pca["auc_core_far"] > 0.9  # PCA's latent distance finds defects on a draw
    assert 0 <= pca["n_classes_found"] <= 6 and pca["n_spectra"] <= 400
    assert 0.5 < pca["trustworthiness"] <= 1.0 and pca["normalize"]

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(gen, "run_methods", fail)
    again = gen.generalization_benchmark(
        [3], ["pca", "abundance"], cache=tmp_path, size_range=(16, 20), progress=False
    )
    assert again == rows
    with pytest.raises(AssertionError, match="recomputed"):  # other settings: not reused
        gen.generalization_benchmark(
            [3], ["pca"], cache=tmp_path, size_range=(16, 21), progress=False
        )
    with pytest.raises(ValueError, match="unknown methods"):
        gen.generalization_benchmark([3], ["nope"], progress=False)


def _abundance_by_hand(X, bins=200, fit_offset=0.1):
    """The abundance computed step by step from the analysis functions (independent of the
    pipeline), oriented and centred as abundance_score documents."""
    from stswidgets.analysis import distances as d

    counts, edges = d.distance_histogram(X, bins=bins, progress=False)
    offset = fit_offset * d.median_distance(counts, edges)
    H, log_edges, log_counts = d.per_spectrum_histograms(
        X,
        bins=bins,
        range=d.occupied_range(counts, edges, offset),
        offset=offset,
        progress=False,
        return_counts=True,
    )
    fit = d.fit_two_gaussians(log_counts, log_edges)
    threshold = d.crossing(fit)
    if not np.isfinite(threshold):
        threshold = float(np.mean(fit.means))
    threshold = float(np.clip(threshold, log_edges[0], log_edges[-1]))
    values = d.minority_abundance(H, log_edges, fit, threshold=threshold).values
    far = np.linalg.norm(X - np.median(X, axis=0), axis=1)
    if values[far >= np.quantile(far, 0.95)].mean() < np.median(values):
        values = -values
    return values - np.median(values)


@pytest.mark.parametrize("populations", [1, 2])
def test_abundance_score_is_the_pipeline_abundance(populations):
    from stswidgets.pipeline import config_for, distance_statistics

    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 16))
    if populations == 2:
        X[:20] += 4.0  # a far minority
    stats = distance_statistics(X, config_for("full", bins=200, offsets=()), lambda f, w: None)
    # both paths: the pipeline's abundance, and the split forced on one population
    assert (stats.abundance is None) == (populations == 1)
    score = gen.abundance_score(X)
    np.testing.assert_allclose(score, _abundance_by_hand(X), atol=1e-12)
    assert np.median(score) == pytest.approx(0.0)
    if populations == 2:
        expected = stats.abundance - np.median(stats.abundance)
        np.testing.assert_allclose(np.abs(score), np.abs(expected), atol=1e-12)
        assert score[:20].mean() > score[20:].mean()  # the minority scores high


def test_the_cache_key_follows_the_similarity_steps_source_and_settings(monkeypatch):
    from stswidgets.evaluation import methods

    key = methods.step_key("siamese_score")
    assert "def similarity_score" in key and '"max_epochs": 60' in key
    assert methods.step_key("pca") == ""
    settings = {"size_range": [24, 48]}
    before = gen._fingerprint("siamese_score", settings)
    pca = gen._fingerprint("pca", settings)
    monkeypatch.setattr(gen, "step_key", lambda method: "changed" if "siamese" in method else "")
    assert gen._fingerprint("siamese_score", settings) != before
    assert gen._fingerprint("pca", settings) == pca  # other methods keep their outputs
