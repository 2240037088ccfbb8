"""pipeline.score steps of notebooks 06 and 07: manual class edges, the Projection through the
run-folder cache (pickle, with a live callback given), the pair threshold, the coordinate
field and the truth table; pipeline.spectral_weight against numpy."""

import pickle
import threading

import numpy as np
import pytest

from stswidgets import pipeline
from stswidgets.analysis import spectral_weight as sw


class _Unpicklable:
    """A stand-in for a live widget callback: holds a lock, which pickle refuses."""

    def __init__(self):
        self.lock = threading.Lock()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import pytorch_lightning as pl

    class Monitor(pl.Callback, _Unpicklable):
        def __init__(self):
            _Unpicklable.__init__(self)
            self.epochs = 0

        def on_train_epoch_end(self, trainer, pl_module):
            self.epochs += 1

    config = pipeline.config_for(
        "test", ny=20, nx=20, n_bias=48, max_epochs=2, pairs_per_epoch=2048, restarts=0
    )
    data = pipeline.load(None, config)
    monitor = Monitor()
    run = tmp_path_factory.mktemp("run")
    projection = pipeline.cached(
        "similarity_score",
        lambda: pipeline.similarity_score(data.X, config, callbacks=[monitor], progress=False),
        run,
        data.X,
        config,
    )
    return data, config, projection, monitor, run


def test_projection_pickles_through_the_cache_with_its_scorer(trained):
    data, config, projection, monitor, run = trained
    assert monitor.epochs > 0  # the callback served the training
    with pytest.raises(TypeError):
        pickle.dumps(_Unpicklable())

    def must_not_train():
        raise AssertionError("notebook 07 trained although notebook 06 left its score")

    again = pipeline.cached("similarity_score", must_not_train, run, data.X, config)
    np.testing.assert_array_equal(again.score, projection.score)
    np.testing.assert_array_equal(again.Z, projection.Z)
    mesh = projection.Z[:25]
    np.testing.assert_allclose(
        again.scorer.coordinate_projection(mesh), projection.scorer.coordinate_projection(mesh)
    )
    # the score of the unpickled scorer on the spectra is the stored score
    np.testing.assert_allclose(again.scorer.transform(data.X), projection.score, rtol=1e-5)


def test_coordinate_field_is_the_score_network_on_a_mesh(trained):
    _, _, projection, _, _ = trained
    field = pipeline.coordinate_field(projection, size=30)
    assert field.t1.shape == field.t2.shape == field.coordinate.shape == (30, 30)
    Z = projection.Z
    span = Z.max(axis=0) - Z.min(axis=0)
    assert field.t1[0, 0] == pytest.approx(Z[:, 0].min() - 0.1 * span[0])
    assert field.t2[-1, 0] == pytest.approx(Z[:, 1].max() + 0.1 * span[1])
    point = np.array([[field.t1[4, 7], field.t2[4, 7]]])
    assert field.coordinate[4, 7] == pytest.approx(
        float(projection.scorer.coordinate_projection(point)[0]), rel=1e-6
    )
    # the score field: distance from the majority's position in units of the projection scale
    distance = np.linalg.norm(point - projection.majority)
    assert field.score[4, 7] == pytest.approx(
        distance / projection.scorer.projection_scale_, rel=1e-5
    )


def test_pair_distances_sit_around_the_training_threshold(trained):
    data, config, projection, _, _ = trained
    pairs = pipeline.pair_distances(data.X, projection, config, n_pairs=20_000)
    assert pairs.threshold == projection.threshold and pairs.quantile == config.threshold_quantile
    # the threshold is the quantile of pair distances of the same scaled spectra
    assert np.quantile(pairs.distances, pairs.quantile) == pytest.approx(pairs.threshold, rel=0.1)


def test_score_separation_against_a_direct_auc(trained):
    data, _, projection, _, _ = trained
    table = pipeline.score_separation(projection, data)
    truth = pipeline.populations(data)
    vac, surf = projection.score[truth.vacancy], projection.score[truth.surface]
    auc = (vac[:, None] > surf[None, :]).mean() + 0.5 * (vac[:, None] == surf[None, :]).mean()
    assert table.loc["score", "vac/surf"] == pytest.approx(auc, abs=1e-9)
    lines = pipeline.score_summary(projection, pipeline.site_classes(data.X, projection), table)
    assert any("AUC" in line for line in lines)


def _fake_projection(score, n_dims=2, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(len(score), n_dims))
    return pipeline.Projection(
        Z=Z,
        score=np.asarray(score, dtype=float),
        coordinate=np.asarray(score, dtype=float),
        monotonicity=1.0,
        epochs=(1, 1),
        threshold=1.0,
        history=({}, {}),
        majority=np.zeros(n_dims),
    )


def test_manual_class_edges_cut_the_score():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 12))
    score = rng.uniform(0, 3, size=300)
    config = pipeline.config_for("test", class_edges=(1.0, 2.0))
    classes = pipeline.site_classes(X, _fake_projection(score), config, simulated=True)
    expected = np.digitize(score, [1.0, 2.0], right=True)  # <= 1: 0, (1, 2]: 1, > 2: 2
    np.testing.assert_array_equal(classes.labels, expected)
    assert classes.names == ("surface", "transition", "vacancy") and classes.n_kinds == 1
    assert classes.edges == [1.0, 2.0]
    for code in range(3):
        np.testing.assert_allclose(classes.mean[code], X[expected == code].mean(axis=0))
        np.testing.assert_allclose(classes.std[code], X[expected == code].std(axis=0))
    for bad in [(2.0, 1.0), (1.0,), (0.5, float("nan"))]:
        with pytest.raises(ValueError, match="class_edges"):
            pipeline.site_classes(X, _fake_projection(score), config.replace(class_edges=bad))


def test_spectral_weight_transfer_against_numpy():
    config = pipeline.config_for("test", ny=24, nx=24, n_bias=64)
    data = pipeline.load(None, config)
    bias = data.grid["bias"].values
    truth = pipeline.populations(data)
    score = truth.code  # 0 surface, 1 transition, 2 vacancy: edges at 0.5 and 1.5
    classes = pipeline.site_classes(
        data.X, _fake_projection(score), config.replace(class_edges=(0.5, 1.5))
    )
    weight = pipeline.spectral_weight_transfer(data.X, bias, classes, config, truth=data.truth)
    X_norm = data.X.astype(np.float64)  # normalised once by load, used as given
    np.testing.assert_allclose(weight.correlation, np.corrcoef(X_norm, rowvar=False), atol=1e-6)
    expected = sw.anticorrelated_windows(
        weight.correlation, bias, threshold=config.corr_threshold, min_width_mV=config.min_width_mV
    )
    assert weight.windows == expected
    # the median |difference| at each bias of all (surface, vacancy) pairs
    a, b = X_norm[truth.surface], X_norm[truth.vacancy]
    if len(a) * len(b) <= config.max_pairs:
        median = np.median(np.abs(a[:, None, :] - b[None, :, :]).reshape(-1, len(bias)), axis=0)
        np.testing.assert_allclose(weight.distance_density.median, median, rtol=1e-6)
    assert weight.planted == (
        tuple(data.truth.attrs["suppressed_window_mV"]),
        tuple(data.truth.attrs["enhanced_window_mV"]),
    )
    if weight.windows:
        low, high = sorted(weight.planted)
        best = max(
            min(sw.window_iou(w.window_a_mV, low), sw.window_iou(w.window_b_mV, high))
            for w in weight.windows
        )
        assert min(weight.match.iou_a, weight.match.iou_b) == pytest.approx(best)
    lines = pipeline.weight_summary(bias, classes, weight, data.units)
    assert lines[0].startswith(f"{len(data.X)} spectra in 3 classes")


def test_spectral_weight_without_a_minority_kind():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 20)) + 5
    classes = pipeline.site_classes(
        X, _fake_projection(np.zeros(50)), pipeline.config_for("test", class_edges=(0.5, 1.5))
    )
    weight = pipeline.spectral_weight_transfer(X, np.linspace(-10, 10, 20), classes)
    assert weight.distance_density is None and weight.planted is None and weight.match is None
