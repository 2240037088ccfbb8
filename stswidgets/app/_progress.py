"""A Lightning callback that moves an ipywidgets progress bar (imports Lightning: load lazily)."""

from __future__ import annotations

import time

import pytorch_lightning as pl

__all__ = ["EpochProgress"]


class EpochProgress(pl.Callback):
    """After each training epoch, call ``report(fraction, text)`` of the current training.

    ``fraction`` is the larger of epochs / ``max_epochs`` and elapsed / ``max_time`` (the
    training stops at whichever bound comes first; early stopping may end it sooner). A
    :class:`~stswidgets.learn.SimilarityScore` trains two networks (and restarts the first
    when it folds): each ``fit`` counts as one training, numbered in the text.
    """

    def __init__(self, report, max_epochs: int, max_time: float | None):
        self.report = report
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.trainings = 0
        self._start = time.monotonic()

    def on_train_start(self, trainer, pl_module):
        self.trainings += 1
        self._start = time.monotonic()
        self.report(0.0, f"training {self.trainings}: starting")

    def on_train_epoch_end(self, trainer, pl_module):
        epoch = trainer.current_epoch + 1
        fraction = epoch / self.max_epochs
        if self.max_time:
            fraction = max(fraction, (time.monotonic() - self._start) / self.max_time)
        loss = trainer.callback_metrics.get("val_loss")
        text = f"training {self.trainings}: epoch {epoch}"
        if loss is not None:
            text += f", held-out loss {float(loss):.4f}"
        self.report(min(fraction, 1.0), text)
