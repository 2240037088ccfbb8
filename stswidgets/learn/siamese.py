"""Twin (Siamese) networks and the contrastive loss (paper Fig. 7).

Two copies of one MLP with shared weights map the two spectra of a pair to points of a
low-dimensional space; the Euclidean distance ``d`` of the two points enters the contrastive
loss of Chopra, Hadsell and LeCun (2005),

    L = y * d^2 / 2 + (1 - y) * max(0, m - d)^2 / 2,

with the convention ``y = 1`` for a *similar* pair (pulled together) and ``y = 0`` for a
*dissimilar* one (pushed at least the margin ``m`` apart). The projection network maps a
spectrum to 2D (widths 20 -> 5 -> 2 after the input, as in the paper); the score network,
trained the same way on the 2D projections, maps them to 1D (10 -> 5 -> 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytorch_lightning as pl
import torch
from torch import nn

ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
}


def make_mlp(n_in: int, widths: Sequence[int], activation: str = "tanh") -> nn.Sequential:
    """A fully connected network ``n_in -> widths[0] -> ... -> widths[-1]``.

    The activation follows every layer but the last (a linear output).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1 or n_in < 1:
        raise ValueError(f"layer widths must be positive integers, got n_in={n_in}, {widths}")
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip([n_in, *widths[:-1]], widths, strict=True)):
        layers.append(nn.Linear(a, b))
        if k < len(widths) - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class TwinMLP(nn.Module):
    """One MLP applied to both members of a pair (shared weights).

    Parameters
    ----------
    n_in : int
        Input features (bias points of a spectrum, or 2 for the score network).
    widths : sequence of int
        Hidden and output widths after the input; the last is the output dimension.
        Default ``(20, 5, 2)`` as in the paper.
    activation : str
        One of ``tanh``, ``relu``, ``elu``, ``gelu``, ``sigmoid``.
    """

    def __init__(self, n_in: int, widths: Sequence[int] = (20, 5, 2), activation: str = "tanh"):
        super().__init__()
        self.net = make_mlp(n_in, widths, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project ``x`` of shape ``(n, n_in)`` to ``(n, widths[-1])``."""
        return self.net(x)

    def pair_distance(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Euclidean distance of the two projections, shape ``(n,)``."""
        diff = self.net(x1) - self.net(x2)
        # A tiny epsilon keeps the gradient of sqrt finite for identical projections.
        return torch.sqrt(diff.pow(2).sum(dim=1) + 1e-12)


def contrastive_loss(d: torch.Tensor, y: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Contrastive loss of Chopra, Hadsell and LeCun (2005), averaged over the pairs.

    ``L = y * d^2 / 2 + (1 - y) * max(0, margin - d)^2 / 2`` with ``y = 1`` for similar and
    ``y = 0`` for dissimilar pairs.

    Parameters
    ----------
    d : torch.Tensor, shape ``(n_pairs,)``
        Distances between the projections of the two members of each pair.
    y : torch.Tensor, shape ``(n_pairs,)``
        1 for similar, 0 for dissimilar.
    margin : float
        Dissimilar pairs farther apart than this cost nothing.

    Returns
    -------
    torch.Tensor, scalar
    """
    y = y.to(d.dtype)
    similar = y * d.pow(2)
    dissimilar = (1.0 - y) * torch.clamp(margin - d, min=0.0).pow(2)
    return 0.5 * (similar + dissimilar).mean()


class LossModule(pl.LightningModule):
    """Training and validation steps shared by the modules of :mod:`stswidgets.learn`.

    Subclasses define ``_loss(batch)``; the per-epoch means are logged as ``train_loss`` and
    ``val_loss``; the optimiser is Adam with ``hparams.learning_rate``.
    """

    def _loss(self, batch) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        # sync_dist: the mean over the processes of a data-parallel run (no-op in one process)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.learning_rate)


class SiameseModule(LossModule):
    """A twin MLP trained with the contrastive loss on batches ``(x1, x2, y)``.

    Used for both the 2D projection (``widths=(20, 5, 2)``) and the 1D score network
    (``n_in=2, widths=(10, 5, 1)``). Logs ``train_loss`` and ``val_loss`` per epoch.

    Parameters
    ----------
    n_in : int
    widths : sequence of int
    activation : str
    margin : float
        Margin of the contrastive loss (units of the projection space).
    learning_rate : float
        Adam learning rate.
    """

    def __init__(
        self,
        n_in: int,
        widths: Sequence[int] = (20, 5, 2),
        activation: str = "tanh",
        margin: float = 1.0,
        learning_rate: float = 1e-2,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.twin = TwinMLP(n_in, widths, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.twin(x)

    def _loss(self, batch) -> torch.Tensor:
        x1, x2, y = batch
        return contrastive_loss(self.twin.pair_distance(x1, x2), y, self.hparams.margin)
