"""A deep fully connected autoencoder with a 2D latent space (paper Fig. 6).

``n_bias -> 128 -> 32 -> 2 -> 32 -> 128 -> n_bias`` by default, trained with the mean squared
reconstruction error; the 2D bottleneck is the latent space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from stswidgets.grid import check_spectra
from stswidgets.learn._training import distributed_rank
from stswidgets.learn.siamese import LossModule, make_mlp


class AutoencoderModule(LossModule):
    """Encoder ``n_in -> widths`` and mirrored decoder ``widths[-1] -> ... -> n_in``; MSE loss.

    Parameters
    ----------
    n_in : int
        Bias points per spectrum.
    widths : sequence of int
        Encoder widths after the input; the last is the latent dimension. Default
        ``(128, 32, 2)``.
    activation : str
    learning_rate : float
        Adam learning rate.
    """

    def __init__(
        self,
        n_in: int,
        widths: Sequence[int] = (128, 32, 2),
        activation: str = "elu",
        learning_rate: float = 1e-3,
    ):
        super().__init__()
        self.save_hyperparameters()
        widths = [int(w) for w in widths]
        self.encoder = make_mlp(n_in, widths, activation)
        self.decoder = make_mlp(widths[-1], [*widths[-2::-1], n_in], activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Latent coordinates, shape ``(n, widths[-1])``."""
        return self.encoder(x)

    def _loss(self, batch) -> torch.Tensor:
        (x,) = batch
        return torch.nn.functional.mse_loss(self.decoder(self.encoder(x)), x)


class _ShuffledBatches(IterableDataset):
    """Batches of rows of an in-memory tensor, reshuffled at each pass (seeded).

    A shuffled (training) pass in a data-parallel run gives each rank every ``world_size``-th
    batch, wrapping around so that all ranks step equally often.
    """

    def __init__(self, X: torch.Tensor, batch_size: int, seed: int, shuffle: bool = True):
        super().__init__()
        self.X, self.batch_size, self.seed, self.shuffle = X, int(batch_size), int(seed), shuffle
        self.passes = 0

    def _batch_starts(self) -> list[int]:
        starts = list(range(0, self.X.shape[0], self.batch_size))
        rank, world = distributed_rank() if self.shuffle else (0, 1)
        share = math.ceil(len(starts) / world)
        return [starts[(rank + world * k) % len(starts)] for k in range(share)]

    def __len__(self) -> int:
        return len(self._batch_starts())

    def __iter__(self):
        n = self.X.shape[0]
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.passes]).permutation(n)
        else:
            order = np.arange(n)
        self.passes += 1
        for start in self._batch_starts():
            yield (self.X[torch.as_tensor(order[start : start + self.batch_size])],)


class SpectraDataModule(pl.LightningDataModule):
    """The spectra split once (seeded) into training and held-out validation spectra.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_features)``
    batch_size : int
    val_fraction : float
        Fraction of the spectra held out (at least one).
    seed : int
    """

    def __init__(self, X, batch_size: int = 256, val_fraction: float = 0.1, seed: int = 0):
        super().__init__()
        X = torch.as_tensor(check_spectra(X, min_spectra=2, dtype=np.float32))
        order = np.random.default_rng([seed, 0xAE]).permutation(X.shape[0])
        n_val = min(X.shape[0] - 1, max(1, round(val_fraction * X.shape[0])))
        self.train_X = X[torch.as_tensor(order[n_val:])]
        self.val_X = X[torch.as_tensor(order[:n_val])]
        self.batch_size = batch_size
        self.seed = seed
        self._train = _ShuffledBatches(self.train_X, batch_size, seed)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self._train, batch_size=None, num_workers=0)

    def val_dataloader(self) -> DataLoader:
        val = _ShuffledBatches(self.val_X, max(self.batch_size, 4096), self.seed, shuffle=False)
        return DataLoader(val, batch_size=None, num_workers=0)
