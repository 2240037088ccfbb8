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


def test_truth_classes_number_surface_transition_then_kinds():
    kind = np.array([[0, 0, 1], [2, 0, 0]])
    transition = np.array([[False, True, False], [False, False, True]])
    ds = xr.Dataset({"kind": (("y", "x"), kind), "transition": (("y", "x"), transition)})
    valid = np.array([[True, True, True], [True, True, False]])
    np.testing.assert_array_equal(gen.truth_classes(ds, valid), [0, 1, 2, 3, 0])


def test_evaluate_gives_perfect_numbers_for_a_perfect_score_and_classes():
    truth = np.array([0] * 50 + [1] * 20 + [2] * 10 + [3] * 5)
    score = truth + 0.1 * np.random.default_rng(0).random(truth.size)
    result = gen.evaluate(score, truth * 7, truth)  # class names do not matter for the ARI
    assert result["auc_defect_surface"] == 1.0
    assert result["auc_defect_transition"] == 1.0 and result["auc_transition_surface"] == 1.0
    assert result["ari"] == pytest.approx(1.0) and result["n_classes_found"] == 4
    reversed_ = gen.evaluate(-score, np.zeros_like(truth), truth)
    assert reversed_["auc_defect_surface"] == 0.0 and reversed_["ari"] == pytest.approx(0.0)


def test_merged_ari_counts_the_transition_as_surface():
    truth = np.array([0] * 40 + [1] * 10 + [2] * 10)
    merged_classes = np.array([0] * 50 + [2] * 10)  # no transition class predicted
    result = gen.evaluate(np.zeros(truth.size), merged_classes, truth)
    assert result["ari_merged"] == pytest.approx(1.0) and result["ari"] < 0.9


def test_provisional_classes_find_separated_blobs_and_call_the_largest_zero():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0], [6, 0], [0, 6]])
    sizes = [300, 60, 30]
    latent = np.concatenate(
        [c + rng.standard_normal((n, 2)) * 0.5 for c, n in zip(centres, sizes, strict=True)]
    )
    truth = np.repeat([0, 2, 3], sizes)
    classes = gen.provisional_classes(latent, np.linalg.norm(latent, axis=1))
    np.testing.assert_array_equal(classes, truth)


def test_target_report_states_met_targets_and_shortfalls():
    summary = [
        {"method": "siamese_score", "p10_auc_defect_surface": 0.95, "median_ari": 0.92}
        | {f"p10_auc_{k}": 0.91 for k in ("defect_transition", "transition_surface")}
        | {
            f"median_auc_{k}": 0.97
            for k in ("defect_surface", "defect_transition", "transition_surface")
        },
        {"method": "pca", "median_ari": 0.5}
        | {
            f"median_auc_{k}": 0.99
            for k in ("defect_surface", "defect_transition", "transition_surface")
        },
    ]
    report = {t["target"]: t for t in gen.target_report(summary)}
    first = report["p10 auc_defect_surface >= 0.99"]
    assert not first["met"] and first["shortfall"] == pytest.approx(0.04)
    assert report["median ari >= 0.9"]["met"] and report["median ari >= 0.9"]["shortfall"] == 0
    assert not report["median auc_defect_surface >= best other (pca)"]["met"]
    assert report["median ari >= best other (pca)"]["met"]


def test_benchmark_rows_and_the_cache_resume_without_recomputing(tmp_path, monkeypatch):
    rows = gen.generalization_benchmark(
        [3], ["pca", "abundance"], cache=tmp_path, size_range=(16, 20), progress=False
    )
    assert [r["method"] for r in rows] == ["pca", "abundance"]
    assert len(list(tmp_path.glob("*.npz"))) == 2
    pca = rows[0]
    assert pca["auc_defect_surface"] > 0.9  # PCA's latent distance finds defects on a draw
    assert 0 <= pca["n_classes_found"] <= 6 and pca["n_spectra"] <= 400

    def fail(*args, **kwargs):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(gen, "_method_outputs", fail)
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


def test_kind_classes_calls_two_kinds_on_opposite_sides_apart():
    rng = np.random.default_rng(2)
    latent = np.concatenate(
        [
            rng.normal(0, 0.1, (600, 2)),
            rng.normal([3, 0], 0.1, (60, 2)),
            rng.normal([-3, 0], 0.1, (30, 2)),
        ]
    )
    score = np.linalg.norm(latent, axis=1)
    classes = gen.kind_classes(latent, score)
    truth = np.repeat([0, 2, 3], [600, 60, 30])
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, classes) > 0.95
    assert np.bincount(classes[:600]).argmax() == 0
    one_column = gen.kind_classes(score[:, None], score)  # the abundance: a 1D latent space
    assert one_column.shape == score.shape and set(one_column[600:]) - {0}
    with pytest.raises(ValueError, match="unknown methods"):
        gen.run_methods(latent, ["nope"])


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
