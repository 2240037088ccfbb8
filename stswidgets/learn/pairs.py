"""Pairs of spectra for similarity learning, drawn on the fly from the N^2 possible ones.

A pair ``(i, j)`` of spectra is labelled *similar* (``y = 1``) when the Euclidean distance of
the two (scaled) spectra is at most a threshold, *dissimilar* (``y = 0``) otherwise, as in
the paper. The threshold is a value or a quantile of the pair-distance distribution,
estimated from a seeded random sample of pairs.

The distance distribution of an STS grid is long-tailed: most pairs are two surface spectra,
and the rare minority spectra (vacancies, their surroundings) make up the tail. Drawing pairs
uniformly would give the network almost only similar surface-surface pairs. Each batch is
therefore *balanced*: half similar, half dissimilar pairs, each half drawn uniformly from the
pairs of its class. With a high quantile threshold (default 0.9) the dissimilar half is made of
the pairs in the tail, i.e. mostly pairs involving minority spectra, so the network sees the
minority spectra in a large fraction of its training pairs although they are a few percent of
the grid.

Sampling is blockwise and never materialises all pairs: for each batch a random block of
``a`` anchor spectra and ``a`` partner spectra is drawn, their ``a x a`` distance matrix is
computed with one matrix product (the candidates), and the similar and dissimilar halves are
drawn from the candidates of each class (another block is added while a class has too few).
"""

from __future__ import annotations

import math

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from stswidgets.grid import check_spectra
from stswidgets.learn._training import distributed_rank

#: Number of random pairs used to estimate a quantile threshold.
N_THRESHOLD_SAMPLES = 200_000


def _as_tensor(X, min_spectra: int = 1) -> torch.Tensor:
    """Spectra as a float32 tensor: a 2D float32 tensor as it is, anything else checked by
    :func:`stswidgets.grid.check_spectra`."""
    if isinstance(X, torch.Tensor) and X.dtype == torch.float32 and X.ndim == 2:
        return X
    return torch.as_tensor(check_spectra(X, min_spectra=min_spectra, min_bias=1, dtype=np.float32))


def pair_distances(X: torch.Tensor, i: np.ndarray, j: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Euclidean distances ``||X[i] - X[j]||`` of the given pairs, computed in chunks.

    Parameters
    ----------
    X : torch.Tensor, shape ``(n_spectra, n_features)``
    i, j : int arrays, shape ``(n_pairs,)``

    Returns
    -------
    numpy.ndarray, shape ``(n_pairs,)``, float64
    """
    out = np.empty(len(i), dtype=np.float64)
    for start in range(0, len(i), chunk):
        ii = torch.as_tensor(i[start : start + chunk])
        jj = torch.as_tensor(j[start : start + chunk])
        diff = X[ii].double() - X[jj].double()
        out[start : start + chunk] = diff.pow(2).sum(1).sqrt().numpy()
    return out


def random_pairs(n: int, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` uniformly random pairs ``(i, j)`` of distinct indices below ``n``."""
    i = rng.integers(0, n, n_pairs)
    j = (i + rng.integers(1, n, n_pairs)) % n  # j != i, uniform over the others
    return i, j


def sample_pair_distances(X, n_pairs: int = 100_000, seed: int = 0) -> np.ndarray:
    """Distances of ``n_pairs`` random pairs of distinct spectra (seeded), e.g. for a histogram.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_features)``
    n_pairs : int
    seed : int

    Returns
    -------
    numpy.ndarray, shape ``(n_pairs,)``, float64 (units of ``X``)
    """
    X = _as_tensor(X, min_spectra=2)
    i, j = random_pairs(X.shape[0], int(n_pairs), np.random.default_rng([seed, 0x7A1]))
    return pair_distances(X, i, j)


def quantile_threshold(
    X, quantile: float, n_samples: int = N_THRESHOLD_SAMPLES, seed: int = 0
) -> float:
    """The ``quantile`` of the pair-distance distribution, from a seeded sample of pairs.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_features)``
    quantile : float in (0, 1)
    n_samples : int
        Number of random pairs of distinct spectra (fewer if there are fewer pairs).
    seed : int

    Returns
    -------
    float
        The distance threshold (units of ``X``).
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"threshold_quantile must be in (0, 1), got {quantile!r}")
    X = _as_tensor(X, min_spectra=2)
    n = X.shape[0]
    n_samples = int(min(n_samples, n * (n - 1)))
    return float(np.quantile(sample_pair_distances(X, n_samples, seed), quantile))


class BalancedPairs(IterableDataset):
    """Balanced batches of labelled pairs, drawn anew at every pass (epoch).

    Each item is one whole batch ``(x1, x2, y)``: ``x1``, ``x2`` of shape
    ``(batch_size, n_features)`` gathered from the in-memory spectra, ``y`` float of shape
    ``(batch_size,)`` with 1 for similar and 0 for dissimilar pairs (half of each when
    ``balance``). Pass ``k`` (counted from 0) draws from ``numpy.random.default_rng([seed,
    stream, k])``, so a new dataset with the same seed yields the same sequence of batches.

    Parameters
    ----------
    X : torch.Tensor, shape ``(n_spectra, n_features)``
    threshold : float
        Pairs at distance ``<= threshold`` are similar.
    n_pairs : int
        Pairs per pass (rounded up to whole batches).
    batch_size : int
    seed : int
    stream : int
        Separates the training stream from the validation stream for the same seed.
    balance : bool
        Half similar, half dissimilar pairs per batch; else pairs uniformly at random.
    inputs : torch.Tensor, shape ``(n_spectra, n_inputs)``, optional
        What the batches carry for each member of a pair, when the network sees something
        else than the rows the pairs are labelled by (the score network: labelled by the
        spectra, fed their 2D projections); default ``X``.
    shard : bool
        In a data-parallel run (DDP), each rank draws ``ceil(n_batches / world_size)``
        batches of its own random stream per pass, so the ranks share the epoch's pairs.
    """

    def __init__(
        self,
        X: torch.Tensor,
        threshold: float,
        n_pairs: int,
        batch_size: int,
        seed: int = 0,
        stream: int = 0,
        balance: bool = True,
        inputs: torch.Tensor | None = None,
        shard: bool = False,
    ):
        super().__init__()
        self.shard = shard
        self.X = X
        self.inputs = X if inputs is None else inputs
        if self.inputs.shape[0] != X.shape[0]:
            raise ValueError(
                f"inputs must have one row per spectrum ({X.shape[0]}), got {self.inputs.shape[0]}"
            )
        self.threshold = float(threshold)
        self.batch_size = int(batch_size)
        self.n_batches = max(1, math.ceil(int(n_pairs) / self.batch_size))
        self.seed = int(seed)
        self.stream = int(stream)
        self.balance = balance
        self.sq_norms = X.double().pow(2).sum(1)
        self.passes = 0

    def _share(self) -> tuple[int, int]:
        """This process's rank and batches per pass: all of them, or with ``shard`` in a
        data-parallel run an equal share (every rank must step as often as the others)."""
        rank, world = distributed_rank() if self.shard else (0, 1)
        return rank, math.ceil(self.n_batches / world)

    def __len__(self) -> int:
        return self._share()[1]

    def __iter__(self):
        rank, n_batches = self._share()
        # rank 0 (and a single process) draws the same sequence as before data parallelism
        rng = np.random.default_rng(
            [self.seed, self.stream, self.passes, *([rank] if rank else [])]
        )
        self.passes += 1
        for _ in range(n_batches):
            i, j, y = self.draw_batch(rng)
            ii, jj = torch.as_tensor(i), torch.as_tensor(j)
            yield self.inputs[ii], self.inputs[jj], torch.as_tensor(y, dtype=torch.float32)

    def draw_batch(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Indices ``i``, ``j`` and labels ``y`` of one batch (shapes ``(batch_size,)``)."""
        n = self.X.shape[0]
        if not self.balance:
            i, j = random_pairs(n, self.batch_size, rng)
            y = (pair_distances(self.X, i, j) <= self.threshold).astype(np.float32)
            return i, j, y
        n_dissimilar = self.batch_size // 2
        n_similar = self.batch_size - n_dissimilar
        # A block of a x a candidate pairs holds ~4x the pairs one batch needs.
        a = int(min(n, max(32, math.ceil(math.sqrt(4 * self.batch_size)))))
        similar: list[np.ndarray] = []
        dissimilar: list[np.ndarray] = []
        n_sim = n_dis = 0
        for _ in range(64):
            anchors = rng.integers(0, n, a)
            partners = rng.integers(0, n, a)
            block = self._block_distances(anchors, partners)
            ia, ib = np.nonzero(anchors[:, None] != partners[None, :])
            is_similar = block[ia, ib] <= self.threshold
            pairs = np.stack([anchors[ia], partners[ib]], axis=1)
            similar.append(pairs[is_similar])
            dissimilar.append(pairs[~is_similar])
            n_sim += int(is_similar.sum())
            n_dis += int((~is_similar).sum())
            if n_sim >= n_similar and n_dis >= n_dissimilar:
                break
        sim, dis = np.concatenate(similar), np.concatenate(dissimilar)
        if len(sim) == 0 or len(dis) == 0:
            kind = "similar" if len(sim) == 0 else "dissimilar"
            raise ValueError(
                f"no {kind} pair found with threshold {self.threshold:.4g}: every sampled pair "
                "falls on one side of it; choose a threshold inside the pair-distance range"
            )
        # Sample each class uniformly (with replacement only when a class is rare).
        sim = sim[rng.choice(len(sim), n_similar, replace=len(sim) < n_similar)]
        dis = dis[rng.choice(len(dis), n_dissimilar, replace=len(dis) < n_dissimilar)]
        pairs = np.concatenate([sim, dis])
        y = np.concatenate([np.ones(n_similar), np.zeros(n_dissimilar)]).astype(np.float32)
        order = rng.permutation(len(pairs))
        return pairs[order, 0], pairs[order, 1], y[order]

    def _block_distances(self, anchors: np.ndarray, partners: np.ndarray) -> np.ndarray:
        a = torch.as_tensor(anchors)
        b = torch.as_tensor(partners)
        gram = self.X[a].double() @ self.X[b].double().T
        sq = self.sq_norms[a][:, None] + self.sq_norms[b][None, :] - 2.0 * gram
        return sq.clamp_min(0.0).sqrt().numpy()


class PairDataModule(pl.LightningDataModule):
    """Balanced, seeded pairs of spectra for a twin network.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_features)``
        The (already scaled) spectra; distances are Euclidean distances of these rows.
    threshold : float, optional
        Distance at or below which a pair is similar. Overrides ``threshold_quantile``.
    threshold_quantile : float
        Used when ``threshold`` is None: the threshold is this quantile of the pair-distance
        distribution, estimated from :data:`N_THRESHOLD_SAMPLES` random pairs (seeded).
    pairs_per_epoch : int
        Training pairs drawn anew at every epoch.
    batch_size : int
        Pairs per optimisation step (large batches keep the per-step overhead small).
    n_val_pairs : int
        Size of the held-out validation pair set, fixed for a given seed.
    seed : int
    balance : bool
        Half similar and half dissimilar pairs per batch (default); else uniform pairs.
    inputs : array-like, shape ``(n_spectra, n_inputs)``, optional
        The rows fed to the network, when they differ from the rows ``X`` the pairs are
        labelled by (see :class:`BalancedPairs`); default ``X``.

    Attributes
    ----------
    threshold_ : float
        The distance threshold in use (after :meth:`setup`).
    """

    def __init__(
        self,
        X,
        threshold: float | None = None,
        threshold_quantile: float = 0.9,
        pairs_per_epoch: int = 65536,
        batch_size: int = 2048,
        n_val_pairs: int = 8192,
        seed: int = 0,
        balance: bool = True,
        inputs=None,
    ):
        super().__init__()
        self.X = _as_tensor(X)
        if self.X.shape[0] < 2:
            raise ValueError(f"need at least 2 spectra to form pairs, got {self.X.shape[0]}")
        self.inputs = None if inputs is None else _as_tensor(inputs)
        if self.inputs is not None and self.inputs.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"inputs must have one row per spectrum ({self.X.shape[0]}), "
                f"got {self.inputs.shape[0]}"
            )
        if batch_size < 2:
            raise ValueError(f"batch_size must be at least 2, got {batch_size}")
        self.threshold = threshold
        self.threshold_quantile = threshold_quantile
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.n_val_pairs = n_val_pairs
        self.seed = seed
        self.balance = balance
        self.threshold_: float | None = None
        self._train: BalancedPairs | None = None
        self._val: list | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.threshold_ is not None:
            return
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
        else:
            self.threshold_ = quantile_threshold(self.X, self.threshold_quantile, seed=self.seed)
        self._train = BalancedPairs(
            self.X,
            self.threshold_,
            self.pairs_per_epoch,
            self.batch_size,
            self.seed,
            0,
            self.balance,
            self.inputs,
            shard=True,
        )
        val = BalancedPairs(
            self.X,
            self.threshold_,
            self.n_val_pairs,
            self.batch_size,
            self.seed,
            1,
            self.balance,
            self.inputs,
        )
        self._val = list(val)  # drawn once: the same held-out pairs at every validation

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self._train, batch_size=None, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return DataLoader(self._val, batch_size=None, shuffle=False, num_workers=0)
