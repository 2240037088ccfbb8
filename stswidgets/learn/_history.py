"""The training-history callback of :func:`stswidgets.learn._training.train`.

A module-level class (not one built inside a function) so that Lightning can pickle it into
the processes of a spawned data-parallel run (``strategy="ddp_spawn"``). Importing this module
imports Lightning; :mod:`stswidgets.learn._training` imports it only when training.
"""

from __future__ import annotations

import math
import multiprocessing
import os

import pytorch_lightning as pl
import torch


class History(pl.Callback):
    """Per-epoch training and validation losses, and the weights of the best epoch.

    Parameters
    ----------
    path : str or None
        Where the global-zero process writes what it recorded when the fit ends; a run in
        spawned processes, whose callbacks live in the children, is read back from it in the
        calling process with :meth:`read_back`.
    """

    def __init__(self, path: str | None = None):
        self.train_loss: list[float] = []
        self.val_loss: list[float] = []
        self.best = math.inf
        self.best_epoch = -1
        self.best_state = None
        self.path = path

    def on_train_epoch_end(self, trainer, module):
        loss = trainer.callback_metrics.get("train_loss")
        if loss is not None:
            self.train_loss.append(float(loss))

    def on_validation_epoch_end(self, trainer, module):
        if trainer.sanity_checking:
            return
        loss = trainer.callback_metrics.get("val_loss")
        if loss is None:
            return
        loss = float(loss)
        self.val_loss.append(loss)
        if loss < self.best:
            self.best = loss
            self.best_epoch = trainer.current_epoch
            self.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()
            }

    def on_fit_end(self, trainer, module):
        if self.path is not None and trainer.is_global_zero:
            record = {
                "train_loss": self.train_loss,
                "val_loss": self.val_loss,
                "best": self.best,
                "best_epoch": self.best_epoch,
                "best_state": self.best_state,
            }
            torch.save(record, self.path)

    def teardown(self, trainer, module, stage):
        """In a spawned process of a data-parallel run, take down the process group.

        A spawned process ends with ``os._exit``, which skips the ``atexit`` handler that
        Lightning registers to destroy it; gloo's threads then abort the process now and then
        as it exits ("terminate called without an active exception", SIGABRT; 1 run in 6 of
        ``tests/learn/test_distributed.py``). Every process meets at a barrier first, so none
        leaves while another still communicates.
        """
        distributed = torch.distributed
        if (
            multiprocessing.parent_process() is not None
            and distributed.is_available()
            and distributed.is_initialized()
        ):
            distributed.barrier()
            distributed.destroy_process_group()

    def read_back(self) -> None:
        """Take the global-zero process's record when the fit ran in other processes."""
        if self.best_state is None and self.path is not None and os.path.exists(self.path):
            for name, value in torch.load(self.path, weights_only=True).items():
                setattr(self, name, value)
