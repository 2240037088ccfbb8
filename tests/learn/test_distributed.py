"""Data-parallel training: devices and strategy go to Lightning; each rank draws its share."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("pytorch_lightning")

import torch  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from stswidgets import datasets, to_matrix  # noqa: E402
from stswidgets.learn import SiameseEmbedding, autoencoder, pairs  # noqa: E402


def test_each_rank_draws_its_share_of_the_pairs(monkeypatch):
    X = torch.as_tensor(np.random.default_rng(0).normal(size=(60, 8)))
    single = [b[2] for b in pairs.BalancedPairs(X, 3.5, 5 * 16, 16, seed=1, shard=True)]
    assert len(single) == 5
    drawn = {}
    for rank in (0, 1):
        monkeypatch.setattr(pairs, "distributed_rank", lambda rank=rank: (rank, 2))
        data = pairs.BalancedPairs(X, 3.5, 5 * 16, 16, seed=1, shard=True)
        drawn[rank] = [torch.stack(b[:2]) for b in data]
        assert len(data) == len(drawn[rank]) == 3  # ceil(5 / 2): every rank steps equally
    # rank 0 continues the single-process stream, rank 1 draws a different one
    assert not torch.equal(drawn[0][0], drawn[1][0])
    monkeypatch.setattr(pairs, "distributed_rank", lambda: (0, 1))
    first = [torch.stack(b[:2]) for b in pairs.BalancedPairs(X, 3.5, 5 * 16, 16, seed=1)]
    assert all(torch.equal(a, b) for a, b in zip(drawn[0], first[:3], strict=True))


def test_autoencoder_batches_split_between_ranks(monkeypatch):
    X = torch.arange(10.0)[:, None]
    seen = []
    for rank in (0, 1):
        monkeypatch.setattr(autoencoder, "distributed_rank", lambda rank=rank: (rank, 2))
        batches = list(autoencoder._ShuffledBatches(X, 3, seed=0))
        assert len(batches) == 2  # 4 batches of 3, 3, 3, 1 rows: two each
        seen.append(torch.cat([b[0] for b in batches]).flatten())
    assert sorted(torch.cat(seen).tolist()) == list(range(10))  # every row exactly once


@pytest.mark.slow  # ~15 s on a quiet 2-core machine (spawning two torch processes), ~45 s loaded
def test_ddp_spawn_on_two_cpu_processes_gives_a_usable_projection(capfd):
    data = datasets.condition("dense_vacancies", seed=0, shape=(24, 24), n_bias=64)
    X, valid = to_matrix(data["didv"])
    vacancy = np.asarray(data["vacancy"])[np.asarray(valid)]
    est = SiameseEmbedding(
        random_state=0,
        pairs_per_epoch=4096,
        batch_size=256,
        max_epochs=6,
        patience=3,
        progress=True,  # the progress callback is pickled into the spawned processes
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",
    ).fit(X)
    # the history and best weights of the first process came back to this one
    assert len(est.history_["val_loss"]) == len(est.history_["train_loss"]) >= 1
    assert 0 <= est.history_["best_epoch"] < 6
    Z = est.transform(X)
    assert Z.shape == (len(X), 2) and np.isfinite(Z).all()
    distance = np.linalg.norm(Z - np.median(Z, axis=0), axis=1)
    assert roc_auc_score(vacancy, distance) > 0.9
    assert est.get_params()["strategy"] == "ddp_spawn"
    # output is not a terminal here: our one line per epoch, not a bar line per batch
    epochs = [line for line in capfd.readouterr().out.splitlines() if line.startswith("Epoch ")]
    assert 1 <= len(epochs) <= 6
