"""The scikit-learn style estimators of stswidgets.learn (tiny grids, few epochs)."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from stswidgets import datasets, to_matrix  # noqa: E402
from stswidgets.learn import (  # noqa: E402
    AutoencoderEmbedding,
    NotFittedError,
    SiameseEmbedding,
    SimilarityScore,
)

FAST = dict(pairs_per_epoch=4096, batch_size=512, max_epochs=6, patience=3, progress=False)


def _grid(seed):
    data = datasets.condition("dense_vacancies", seed=seed, shape=(24, 24), n_bias=64)
    X, valid = to_matrix(data["didv"])
    mask = np.asarray(valid)
    return X, np.asarray(data["vacancy"])[mask], np.asarray(data["transition"])[mask]


@pytest.fixture(scope="module")
def grid():
    return _grid(0)


@pytest.fixture(scope="module")
def fitted_score(grid):
    X = grid[0]
    return SimilarityScore(random_state=0, **FAST).fit(X)


def test_import_does_not_load_torch():
    code = (
        "import sys, stswidgets.learn as L; L.SiameseEmbedding; L.SimilarityScore; "
        "print('torch' in sys.modules, 'pytorch_lightning' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_modules_and_former_path():
    """The estimators live in embedding.py / score.py; the old module path still works."""
    code = (
        "import sys; from stswidgets.learn import embedding, score, estimators; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
    from stswidgets.learn import embedding, estimators, score

    assert SiameseEmbedding is embedding.SiameseEmbedding is estimators.SiameseEmbedding
    assert AutoencoderEmbedding is embedding.AutoencoderEmbedding
    assert SimilarityScore is score.SimilarityScore is estimators.SimilarityScore


def test_score_separates_vacancies_over_seeds(grid, fitted_score):
    """Label-free score: vacancies high, no sign flip using the truth."""
    aucs = []
    for seed in (0, 1):
        X, vacancy, transition = grid if seed == 0 else _grid(seed)
        est = fitted_score if seed == 0 else SimilarityScore(random_state=seed, **FAST).fit(X)
        score = est.score_projection(est.embedding_)
        surface = ~vacancy & ~transition
        truth = np.r_[np.ones(vacancy.sum()), np.zeros(surface.sum())]
        aucs.append(roc_auc_score(truth, np.r_[score[vacancy], score[surface]]))
    assert min(aucs) > 0.9, aucs


def test_fitted_attributes_and_shapes(grid, fitted_score):
    X = grid[0]
    est = fitted_score
    emb = est.embedding_estimator_
    assert emb.n_features_in_ == est.n_features_in_ == X.shape[1]
    assert emb.scaler_mean_.shape == (X.shape[1],)
    assert emb.threshold_ > 0 and est.threshold_ > 0
    assert est.embedding_.shape == (len(X), 2)
    for history in (emb.history_, est.history_):
        assert 1 <= len(history["val_loss"]) <= FAST["max_epochs"]
        assert len(history["train_loss"]) == len(history["val_loss"])
        assert all(np.isfinite(history["train_loss"]))
    assert est.transform(X[:10]).shape == (10,)
    # transform of the training spectra gives their fitted score; the projection distance is
    # score_projection's (the score before issue 19)
    np.testing.assert_allclose(
        est.transform(X), np.linalg.norm(est.signal_, axis=1) / est.score_unit_, atol=1e-6
    )
    np.testing.assert_allclose(
        est.projection_distance_, est.score_projection(est.embedding_), atol=1e-6
    )
    assert est.signal_.shape == (len(X), len(est.signal_axes_))
    assert emb.transform(X[:10]).shape == (10, 2)


def test_same_seed_identical_different_seed_differs(grid):
    X = grid[0][:300]
    a = SiameseEmbedding(random_state=5, **FAST).fit_transform(X)
    b = SiameseEmbedding(random_state=5, **FAST).fit_transform(X)
    c = SiameseEmbedding(random_state=6, **FAST).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_save_load_round_trip(tmp_path, grid, fitted_score):
    X = grid[0]
    path = fitted_score.save(tmp_path / "score.pt")
    loaded = SimilarityScore.load(path)
    np.testing.assert_array_equal(loaded.transform(X), fitted_score.transform(X))
    assert loaded.history_ == fitted_score.history_
    assert loaded.get_params()["widths"] == (10, 5, 1)
    emb_path = fitted_score.embedding_estimator_.save(tmp_path / "emb.pt")
    emb = SiameseEmbedding.load(emb_path)
    np.testing.assert_array_equal(emb.transform(X), fitted_score.embedding_estimator_.transform(X))
    with pytest.raises(FileExistsError, match="overwrite"):
        fitted_score.save(path)
    fitted_score.save(path, overwrite=True)
    with pytest.raises(ValueError, match="SimilarityScore"):
        SiameseEmbedding.load(path)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a model"):
        SiameseEmbedding.load(tmp_path / "junk.pt")


def test_given_fitted_embedding_is_reused(grid, fitted_score):
    X = grid[0]
    emb = fitted_score.embedding_estimator_
    est = SimilarityScore(embedding=emb, random_state=0, **FAST).fit(X)
    assert est.embedding_estimator_ is emb
    np.testing.assert_array_equal(est.embedding_, emb.transform(X))


def test_errors():
    X = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    for est in (SiameseEmbedding(), SimilarityScore(), AutoencoderEmbedding()):
        with pytest.raises(NotFittedError, match="not fitted"):
            est.transform(X)
        assert issubclass(NotFittedError, SklearnNotFittedError)
        with pytest.raises(ValueError, match="NaN"):
            est.fit(np.where(np.eye(50, 16) > 0, np.nan, X))
        with pytest.raises(ValueError, match="at least 8 spectra"):
            est.fit(X[:3])
        with pytest.raises(ValueError, match="n_spectra, n_bias"):
            est.fit(X[0])
    est = SiameseEmbedding(random_state=0, **{**FAST, "max_epochs": 1}).fit(X)
    with pytest.raises(ValueError, match="fitted on 16"):
        est.transform(X[:, :10])
    with pytest.raises(TypeError, match="SiameseEmbedding"):
        SimilarityScore(embedding=AutoencoderEmbedding()).fit(X)


def test_autoencoder_latent_space_and_round_trip(tmp_path, grid):
    X, vacancy, transition = grid
    est = AutoencoderEmbedding(random_state=0, max_epochs=4, progress=False)
    Z = est.fit_transform(X)
    assert Z.shape == (len(X), 2) and np.isfinite(Z).all()
    assert len(est.history_["val_loss"]) == len(est.history_["train_loss"]) >= 1
    loaded = AutoencoderEmbedding.load(est.save(tmp_path / "ae.pt"))
    np.testing.assert_array_equal(loaded.transform(X), Z)


def test_nothing_written_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X = np.random.default_rng(1).normal(size=(40, 12)).astype(np.float32)
    SiameseEmbedding(random_state=0, **{**FAST, "max_epochs": 1}).fit(X)
    AutoencoderEmbedding(random_state=0, max_epochs=1, progress=False).fit(X)
    assert list(tmp_path.iterdir()) == []


def test_score_is_the_distance_from_the_majority(grid, fitted_score):
    X = grid[0]
    est = fitted_score
    score = est.transform(X)
    from stswidgets.learn.score import majority_position

    np.testing.assert_allclose(est.majority_, majority_position(est.embedding_))
    Z = est.embedding_estimator_.transform(X)
    projection = np.linalg.norm(Z - est.majority_, axis=1) / est.projection_scale_
    np.testing.assert_allclose(est.score_projection(Z), projection, rtol=1e-6)
    # the score (issue 19): the whitened distance from the majority's median spectrum in the
    # signal subspace, in units of the majority's median distance; the majority: the band of
    # the projection distance
    from stswidgets.analysis.score_statistics import robust_core

    centre, sigma = robust_core(est.projection_distance_)
    majority = est.projection_distance_ <= centre + 3 * sigma
    scaled = est.embedding_estimator_._scaled(X).astype(np.float64)
    assert np.allclose(est.majority_spectrum_, np.median(scaled[majority], axis=0))
    axes = est.signal_axes_
    np.testing.assert_allclose(axes @ axes.T, np.eye(len(axes)), atol=1e-9)
    signal = (scaled - est.majority_spectrum_) @ axes.T @ est.signal_metric_.T
    distance = np.linalg.norm(signal, axis=1)
    expected = distance / np.median(distance[majority])
    np.testing.assert_allclose(score, expected, rtol=1e-6)
    assert score.min() >= 0 and np.median(score[majority]) == pytest.approx(1.0, rel=1e-6)
    assert np.median(score) < 0.5 * np.quantile(score, 0.99)
    # the signed coordinate: the score network's output, 0 at the majority's position
    np.testing.assert_allclose(est.coordinate(X), est.coordinate_, atol=1e-6)
    assert est.coordinate_projection(est.majority_[None, :])[0] == pytest.approx(0.0, abs=1e-6)
    assert est.coordinate_.shape == (len(X),)


def test_extra_callbacks_are_called():
    import pytorch_lightning as pl

    class CountEpochs(pl.Callback):
        def __init__(self):
            self.epochs = 0

        def on_train_epoch_end(self, trainer, module):
            self.epochs += 1

    counter = CountEpochs()
    X = np.random.default_rng(2).normal(size=(60, 12)).astype(np.float32)
    est = SiameseEmbedding(random_state=0, callbacks=[counter], **{**FAST, "max_epochs": 2})
    est.fit(X)
    assert counter.epochs == len(est.history_["train_loss"]) == 2


def test_restarts_refit_a_folded_projection(grid, monkeypatch):
    """A folded projection (monotonicity < 0.95) is trained again with a new seed."""
    X = grid[0][:300]
    real = SimilarityScore._check_projection
    seeds, outcomes = [], iter([0.5, 0.9, 0.97, 1.0])
    real_fit = SimilarityScore._fit_embedding

    def fit_embedding(self, X, seed):
        seeds.append(seed)
        return real_fit(self, X, seed)

    def check(Z):
        return {**real(Z), "monotonicity": next(outcomes)}

    monkeypatch.setattr(SimilarityScore, "_fit_embedding", fit_embedding)
    monkeypatch.setattr(SimilarityScore, "_check_projection", staticmethod(check))
    small = {**FAST, "max_epochs": 2}
    est = SimilarityScore(random_state=0, **small).fit(X)
    assert est.restarts_ == 2 and len(seeds) == 3 and len(set(seeds)) == 3
    assert est.monotonicity_ == 0.97
    assert est.embedding_estimator_.random_state == seeds[2]
    # none passes: the most monotone run is kept
    outcomes, seeds[:] = iter([0.5, 0.9, 0.7]), []
    est = SimilarityScore(random_state=0, restarts=2, **small).fit(X)
    assert est.restarts_ == 1 and len(seeds) == 3 and est.monotonicity_ == 0.9
    assert est.embedding_estimator_.random_state == seeds[1]
    # a given fitted projection is used as it is
    outcomes, seeds[:] = iter([0.1]), []
    given = SimilarityScore(embedding=est.embedding_estimator_, random_state=0, **small).fit(X)
    assert given.restarts_ == 0 and given.embedding_estimator_ is est.embedding_estimator_
    with pytest.raises(ValueError, match="restarts"):
        SimilarityScore(restarts=-1, **small).fit(X)


def test_fold_check_on_a_real_fit(grid, fitted_score, tmp_path):
    """The kept run's orientation and monotonicity, recomputed independently from its scores."""
    from stswidgets.learn.score import monotonicity, projection_graph

    X = grid[0]
    est = fitted_score
    assert 0 <= est.restarts_ <= est.restarts
    # the fold check is of the distance in the projection (score_projection), not the score
    score = est.score_projection(est.embedding_estimator_.transform(X))
    scaled = est.embedding_estimator_.scale(X)
    far = np.linalg.norm(scaled - np.median(scaled, axis=0), axis=1)
    outliers = far >= np.quantile(far, 0.95)
    assert est.coordinate_[outliers].mean() > np.median(est.coordinate_)
    Zs = (est.embedding_ - est.projection_center_) / est.projection_scale_
    anchor = score <= np.quantile(score, 0.05)
    assert monotonicity(score, projection_graph(Zs), anchor=anchor) == pytest.approx(
        est.monotonicity_, abs=1e-6
    )
    # the default labels the score network's pairs like the projection network's
    assert est.threshold_ == est.embedding_estimator_.threshold_
    path = est.save(tmp_path / "s.pt")
    loaded = SimilarityScore.load(path)
    assert loaded.restarts_ == est.restarts_ and loaded.monotonicity_ == est.monotonicity_
    np.testing.assert_array_equal(loaded.coordinate_, est.coordinate_)
    # a file written before the monotonicity was recorded still loads and scores the same
    from stswidgets.learn._training import load_file

    meta, tensors = load_file(path, "SimilarityScore")
    del meta["monotonicity_"]
    older = SimilarityScore._from_state(meta, tensors)
    assert np.isnan(older.monotonicity_)
    np.testing.assert_array_equal(older.transform(X), est.transform(X))
    np.testing.assert_array_equal(loaded.transform(X), est.transform(X))
    # one written before the score was measured in the signal subspace (issue 19), or
    # before it was the distance from the majority: a clear error
    for name in ("signal_metric_", "majority_"):
        del tensors[name]
        with pytest.raises(ValueError, match="fit the model again"):
            SimilarityScore._from_state(meta, tensors)


def test_projection_labels_option(grid, fitted_score):
    """threshold_quantile labels the score network's pairs by their projection distance."""
    X = grid[0]
    emb = fitted_score.embedding_estimator_
    est = SimilarityScore(embedding=emb, random_state=0, threshold_quantile=0.3, **FAST).fit(X)
    Zs = (est.embedding_ - est.projection_center_) / est.projection_scale_
    i, j = np.triu_indices(len(Zs), 1)
    d = np.linalg.norm(Zs[i] - Zs[j], axis=1)
    assert np.mean(d <= est.threshold_) == pytest.approx(0.3, abs=0.02)


@pytest.mark.slow  # trains the default score: ~19 s on 2 busy cores
def test_default_score_orders_the_classes_under_setpoint_drift():
    """The grid where the former default folded the transition ring below the surface.

    Setpoint drift, simulation seed 1, 64 x 64 x 256: the score trained on the projection's
    own distances (threshold quantile 0.3, restarts judged by the outliers) reached
    transition/surface AUC 0.67; the default now orders all three classes.
    """
    data = datasets.condition("setpoint_drift", seed=1, shape=(64, 64), n_bias=256)
    X, valid = to_matrix(data["didv"])
    mask = np.asarray(valid)
    vacancy, transition = np.asarray(data["vacancy"])[mask], np.asarray(data["transition"])[mask]
    surface = ~vacancy & ~transition
    est = SimilarityScore(random_state=1, progress=False)
    score = est.fit_transform(X)
    for high, low in [(vacancy, surface), (vacancy, transition), (transition, surface)]:
        truth = np.r_[np.ones(high.sum()), np.zeros(low.sum())]
        assert roc_auc_score(truth, np.r_[score[high], score[low]]) >= 0.95
    assert est.monotonicity_ >= 0.95  # the drift does not fold the score


@pytest.mark.slow  # ~13 s on 2 busy cores
def test_two_kinds_on_opposite_sides_both_score_high(two_kind_grid):
    """Issue 10: two defect kinds whose spectra differ from the surface in opposite ways.

    The score network puts them on opposite sides of the surface on its signed line (the
    former score); the score, the distance from the majority, is high for both, and
    classify_kinds puts them in different classes.
    """
    from sklearn.metrics import adjusted_rand_score

    from stswidgets.analysis import classify_kinds

    grid, kind, transition = two_kind_grid(seed=0)
    X, valid = to_matrix(grid)
    kind, transition = kind[np.asarray(valid)], transition[np.asarray(valid)]
    est = SimilarityScore(random_state=0, progress=False)
    score = est.fit_transform(X)
    surface = (kind == 0) & ~transition
    coordinate = [np.median(est.coordinate_[kind == k]) for k in (1, 2)]
    assert coordinate[0] * coordinate[1] < 0  # opposite sides of the majority's 0
    for k in (1, 2):
        truth = np.r_[np.ones((kind == k).sum()), np.zeros(surface.sum())]
        assert roc_auc_score(truth, np.r_[score[kind == k], score[surface]]) > 0.99
    classes = classify_kinds(est.embedding_, score)
    assert classes.n_kinds == 2
    defects = kind > 0
    assert (classes.labels[defects] >= 2).mean() > 0.9
    assert adjusted_rand_score(kind[defects], classes.labels[defects]) > 0.9


@pytest.mark.parametrize("cls", [SiameseEmbedding, SimilarityScore, AutoencoderEmbedding])
def test_estimators_train_on_the_cpu_unless_asked(cls):
    # The CPU by default (reproducible on every machine); "auto" and GPUs on request.
    assert cls().get_params()["accelerator"] == "cpu"
    assert cls(accelerator="auto").get_params()["accelerator"] == "auto"
