"""Pair sampling of stswidgets.learn.pairs."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from stswidgets.learn.pairs import BalancedPairs, PairDataModule, quantile_threshold  # noqa: E402


def _two_populations(n_major=180, n_minor=20, n_features=16, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (n_major + n_minor, n_features))
    X[n_major:] += 4.0  # a far minority population: the long tail of the distances
    return X.astype(np.float32)


def _all_batches(dm, loader="train"):
    return list(getattr(dm, f"{loader}_dataloader")())


def test_labels_match_direct_distances_and_classes_are_balanced():
    X = _two_populations()
    dm = PairDataModule(X, threshold_quantile=0.9, pairs_per_epoch=4096, batch_size=512, seed=3)
    dm.setup()
    for x1, x2, y in _all_batches(dm):
        d = np.linalg.norm(x1.numpy().astype(np.float64) - x2.numpy(), axis=1)
        np.testing.assert_array_equal(y.numpy() == 1, d <= dm.threshold_)
        assert y.sum() == 256  # exactly half similar
        # the rows really are spectra of X
        assert all((X == row).all(axis=1).any() for row in x1.numpy()[:20])


def test_dissimilar_half_involves_the_minority():
    X = _two_populations()
    minority = {tuple(row) for row in X[180:]}
    dm = PairDataModule(X, threshold_quantile=0.9, pairs_per_epoch=2048, batch_size=512, seed=0)
    dm.setup()
    x1, x2, y = _all_batches(dm)[0]
    dissimilar = y.numpy() == 0
    involved = [
        tuple(a) in minority or tuple(b) in minority
        for a, b in zip(x1.numpy()[dissimilar], x2.numpy()[dissimilar], strict=True)
    ]
    # ~10 % of the spectra, but (nearly) every dissimilar training pair
    assert np.mean(involved) > 0.95


def test_quantile_threshold_matches_all_pairs():
    X = _two_populations(90, 10, 8)
    i, j = np.triu_indices(len(X), k=1)
    d = np.linalg.norm(X[i].astype(np.float64) - X[j], axis=1)
    for q in (0.5, 0.9):
        # 9,900 ordered pairs sampled 200,000 times: close to the exact quantile
        assert quantile_threshold(X, q, seed=1) == pytest.approx(np.quantile(d, q), rel=0.03)
    with pytest.raises(ValueError, match="quantile"):
        quantile_threshold(X, 1.5)


def test_explicit_threshold_and_unbalanced_sampling():
    X = _two_populations()
    dm = PairDataModule(X, threshold=3.0, balance=False, pairs_per_epoch=2048, batch_size=1024)
    dm.setup()
    assert dm.threshold_ == 3.0
    y = torch.cat([b[2] for b in _all_batches(dm)])
    assert 0 < y.mean() < 1  # uniform pairs: the natural (unbalanced) proportion


def test_same_seed_same_pairs_new_pairs_each_epoch():
    X = _two_populations()

    def epochs(seed):
        dm = PairDataModule(X, pairs_per_epoch=1024, batch_size=256, n_val_pairs=512, seed=seed)
        dm.setup()
        first, second = _all_batches(dm), _all_batches(dm)
        return first, second, _all_batches(dm, "val"), _all_batches(dm, "val")

    a, b = epochs(7), epochs(7)
    for batches_a, batches_b in zip(a, b, strict=True):
        for (p1, p2, py), (q1, q2, qy) in zip(batches_a, batches_b, strict=True):
            assert torch.equal(p1, q1) and torch.equal(p2, q2) and torch.equal(py, qy)
    # a new epoch draws new training pairs; validation pairs stay fixed
    assert not torch.equal(a[0][0][0], a[1][0][0])
    assert torch.equal(a[2][0][0], a[3][0][0])
    c = epochs(8)
    assert not torch.equal(a[0][0][0], c[0][0][0])


def test_len_and_errors():
    X = _two_populations()
    ds = BalancedPairs(torch.as_tensor(X), 6.0, n_pairs=1000, batch_size=256)
    assert len(ds) == 4 == len(list(ds))
    with pytest.raises(ValueError, match="at least 2 spectra"):
        PairDataModule(X[:1])
    dm = PairDataModule(X, threshold=1e9, pairs_per_epoch=256, batch_size=256)
    with pytest.raises(ValueError, match="no dissimilar pair"):
        dm.setup()


def test_inputs_are_fed_while_the_labels_come_from_X():
    """The score network's pairs: labelled by the spectra, carrying other rows (projections)."""
    X = _two_populations()
    index = np.arange(len(X), dtype=np.float32)[:, None]  # each row names its spectrum
    dm = PairDataModule(
        X, threshold_quantile=0.9, pairs_per_epoch=2048, batch_size=512, seed=1, inputs=index
    )
    dm.setup()
    for loader in ("train", "val"):
        for x1, x2, y in _all_batches(dm, loader):
            assert x1.shape == (512, 1)
            i, j = x1.numpy()[:, 0].astype(int), x2.numpy()[:, 0].astype(int)
            d = np.linalg.norm(X[i].astype(np.float64) - X[j], axis=1)
            np.testing.assert_array_equal(y.numpy() == 1, d <= dm.threshold_)
    with pytest.raises(ValueError, match="one row per spectrum"):
        PairDataModule(X, inputs=index[:-1])
