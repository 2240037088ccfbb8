"""The progress callbacks of :func:`stswidgets.learn._training.make_progress_bar`.

Module-level classes (not built inside a function) so that Lightning can pickle them into the
processes of a spawned data-parallel run (``strategy="ddp_spawn"``). Importing this module
imports Lightning; :mod:`stswidgets.learn._training` imports it only when training.
"""

from __future__ import annotations

import sys
import time

from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar
from pytorch_lightning.callbacks.progress.tqdm_progress import Tqdm


class EpochProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar over the training batches, without validation or sanity bars."""

    def init_validation_tqdm(self):
        return Tqdm(disable=True)

    def init_sanity_tqdm(self):
        return Tqdm(disable=True)


class EpochLines(ProgressBar):
    """One line per finished epoch, with the losses (the validation runs before it)."""

    def __init__(self):
        super().__init__()
        self._enabled = True
        self._start = time.perf_counter()

    def disable(self):
        self._enabled = False

    def enable(self):
        self._enabled = True

    def on_train_start(self, trainer, module):
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, module):
        if not self._enabled or trainer.sanity_checking:
            return
        losses = ", ".join(
            f"{name} {float(value):.4g}"
            for name, value in sorted(trainer.callback_metrics.items())
            if name.endswith("loss")
        )
        total = f"/{trainer.max_epochs}" if (trainer.max_epochs or 0) > 0 else ""
        elapsed = time.perf_counter() - self._start
        print(
            f"Epoch {trainer.current_epoch + 1}{total}: {losses} ({elapsed:.1f} s)",
            file=sys.stdout,
            flush=True,
        )
