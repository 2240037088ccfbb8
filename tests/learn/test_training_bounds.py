"""Training bounded by time (``max_time``) and the progress bar the estimators show."""

import time

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

from stswidgets import datasets, to_matrix  # noqa: E402
from stswidgets.learn import AutoencoderEmbedding, SiameseEmbedding, SimilarityScore  # noqa: E402
from stswidgets.learn._training import PROGRESS_ENV  # noqa: E402

#: Far more epochs than fit in the time bound, and no early stop: only the clock ends training.
ENDLESS = dict(pairs_per_epoch=4096, batch_size=512, max_epochs=100_000, patience=100_000)


@pytest.fixture(scope="module")
def X():
    data = datasets.condition("dense_vacancies", seed=0, shape=(16, 16), n_bias=32)
    return to_matrix(data["didv"])[0]


def test_max_time_ends_training_on_time(X):
    """Training stops once max_time has passed, long before max_epochs, with weights kept."""
    start = time.perf_counter()
    est = SiameseEmbedding(max_time=1.5, random_state=0, progress=False, **ENDLESS).fit(X)
    elapsed = time.perf_counter() - start
    epochs = len(est.history_["train_loss"])
    assert 1 <= epochs < ENDLESS["max_epochs"]
    assert elapsed < 1.5 + 10.0  # the bound plus set-up (pairs, Trainer), not 100 000 epochs
    assert np.isfinite(est.transform(X)).all()


def test_max_time_bounds_each_training_of_the_score_and_the_autoencoder(X):
    start = time.perf_counter()
    score = SimilarityScore(max_time=1.0, restarts=0, random_state=0, progress=False, **ENDLESS)
    score.fit(X)
    assert score.embedding_estimator_.max_time == 1.0  # passed on to the projection
    assert time.perf_counter() - start < 2 * 1.0 + 15.0  # two trainings of at most 1 s each
    assert len(score.history_["train_loss"]) < ENDLESS["max_epochs"]

    auto = AutoencoderEmbedding(
        max_time=1.0, max_epochs=100_000, patience=100_000, random_state=0, progress=False
    ).fit(X)
    assert 1 <= len(auto.history_["train_loss"]) < 100_000


def test_without_max_time_the_epoch_cap_holds(X):
    est = SiameseEmbedding(
        pairs_per_epoch=2048, batch_size=512, max_epochs=3, patience=100, random_state=0
    )
    est.set_params(progress=False).fit(X)
    assert est.max_time is None and len(est.history_["train_loss"]) == 3


@pytest.mark.parametrize("bad", [0, -2.0, float("nan"), "60", True])
def test_bad_max_time_is_refused_by_name(X, bad):
    with pytest.raises(ValueError, match="max_time"):
        SiameseEmbedding(max_time=bad, max_epochs=1, progress=False).fit(X)


def test_progress_bar_shows_epochs_but_no_validation_bar(X, capsys, monkeypatch):
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    settings = dict(pairs_per_epoch=2048, batch_size=512, max_epochs=2, random_state=0)
    SiameseEmbedding(progress=True, **settings).fit(X)
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Epoch 1" in printed
    assert "Validation" not in printed and "Sanity" not in printed

    monkeypatch.setenv(PROGRESS_ENV, "0")  # what ``stswidgets run`` sets for its notebooks
    SiameseEmbedding(progress=True, **settings).fit(X)
    captured = capsys.readouterr()
    assert "Epoch" not in captured.out + captured.err
