"""A live loss plot with a stop button, as a PyTorch Lightning callback.

This module imports Lightning (and so torch); :mod:`stswidgets.widgets` loads it only when
``TrainingMonitor`` is first used.
"""

from __future__ import annotations

import math

import bqplot as bq
import ipywidgets as ipw
import numpy as np
import pytorch_lightning as pl

from stswidgets.widgets._common import REST_COLOR, SELECTION_COLOR, axis, figure
from stswidgets.widgets._static import with_static_png

__all__ = ["TrainingMonitor"]


def _metric(metrics, name: str) -> float | None:
    value = metrics.get(name)
    if value is None:
        return None
    value = float(value.detach().cpu()) if hasattr(value, "detach") else float(value)
    return value if math.isfinite(value) else None


#: Legend words for the metrics the estimators of stswidgets.learn log.
_READABLE = {"train_loss": "training (per epoch)", "val_loss": "held-out (per epoch)"}


class TrainingMonitor(pl.Callback):
    """Draw the training and validation loss live while a model trains; stop it on demand.

    Pass it to a Lightning ``Trainer`` (``callbacks=[monitor]``) or to an estimator that
    forwards callbacks, and display it in the notebook (``monitor`` as the last line of a cell
    or ``display(monitor)``). It reads ``trainer.callback_metrics`` at the end of every
    training and validation epoch.

    Parameters
    ----------
    train_metric, val_metric : str
        Names the LightningModule logs (``self.log("train_loss", ...)``).
    title : str
        Figure title.

    Attributes
    ----------
    train_epochs, train_losses, val_epochs, val_losses : list
        The values drawn so far (epoch numbers start at 1; a second ``fit`` with the same
        monitor continues the epoch count).
    stop_button : ipywidgets.Button
        Sets ``trainer.should_stop = True``; the Trainer stops after the current batch.
    widget : ipywidgets.VBox
        The display (the monitor itself displays as this widget).
    """

    def __init__(
        self,
        train_metric: str = "train_loss",
        val_metric: str = "val_loss",
        title: str = "training",
    ):
        super().__init__()
        self.train_metric, self.val_metric = train_metric, val_metric
        self.train_epochs: list[int] = []
        self.train_losses: list[float] = []
        self.val_epochs: list[int] = []
        self.val_losses: list[float] = []
        self.stop_requested = False
        self._trainer = None
        self._display = None
        self._epoch_offset = 0
        self.x_scale, self.y_scale = bq.LinearScale(min=0.0), bq.LinearScale()
        self.train_line = bq.Lines(
            x=np.zeros(0),
            y=np.zeros(0),
            scales={"x": self.x_scale, "y": self.y_scale},
            colors=[REST_COLOR],
            labels=[_READABLE.get(train_metric, train_metric)],
            marker="circle",
            marker_size=16,
            display_legend=True,
        )
        self.val_line = bq.Lines(
            x=np.zeros(0),
            y=np.zeros(0),
            scales={"x": self.x_scale, "y": self.y_scale},
            colors=[SELECTION_COLOR],
            labels=[_READABLE.get(val_metric, val_metric)],
            marker="square",
            marker_size=16,
            display_legend=True,
        )
        self.figure = figure(
            [self.train_line, self.val_line],
            [axis(self.x_scale, "epoch"), axis(self.y_scale, "loss (a.u.)", "vertical")],
            title=title,
            width=460,
            height=300,
            legend_location="top-right",
        )
        self.stop_button = ipw.Button(description="stop", icon="stop", button_style="danger")
        self.stop_button.on_click(lambda _: self.stop())
        self.status = ipw.HTML("waiting for the first epoch")
        self.status.add_class("sts-status")
        self.widget = ipw.VBox([ipw.HBox([self.stop_button, self.status]), self.figure])

    # -- display --------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return with_static_png(self.widget._repr_mimebundle_(**kwargs), self.widget)

    def _ipython_display_(self) -> None:
        # displayed with an id, so that the end of training can refresh the static picture
        # (shown where no widget can be: an executed notebook's HTML report, read offline)
        from IPython.display import display

        self._display = display(self._repr_mimebundle_(), raw=True, display_id=True)

    # -- control --------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the running Trainer to stop (it finishes the current batch first)."""
        self.stop_requested = True
        if self._trainer is not None:
            self._trainer.should_stop = True
        self.status.value = "<b>stop requested</b>"

    # -- Lightning hooks ------------------------------------------------------------------
    def on_fit_start(self, trainer, pl_module) -> None:
        self._trainer = trainer
        # a second fit with the same monitor continues along the epoch axis
        self._epoch_offset = max(self.train_epochs[-1:] + self.val_epochs[-1:], default=0)
        self.stop_requested = False
        self.stop_button.disabled = False

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.stop_requested:
            trainer.should_stop = True

    def _record(self, trainer, metric: str, epochs: list, losses: list, line) -> None:
        """Append this epoch's ``metric`` (when logged) to one curve, then refresh the status."""
        value = _metric(trainer.callback_metrics, metric)
        if value is not None:
            epochs.append(self._epoch_offset + trainer.current_epoch + 1)
            losses.append(value)
            with line.hold_sync():
                line.x = np.asarray(epochs, dtype=float)
                line.y = np.asarray(losses)
        self._show(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._record(
            trainer, self.train_metric, self.train_epochs, self.train_losses, self.train_line
        )

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        self._record(trainer, self.val_metric, self.val_epochs, self.val_losses, self.val_line)

    def on_fit_end(self, trainer, pl_module) -> None:
        self.stop_button.disabled = True
        reason = "stopped" if self.stop_requested else "finished"
        self.status.value = f"<b>{reason}</b> after {len(self.train_losses)} epoch(s)"
        self._trainer = None
        if self._display is not None:
            self._display.update(self._repr_mimebundle_(), raw=True)

    def _show(self, trainer) -> None:
        parts = [f"epoch {self._epoch_offset + trainer.current_epoch + 1}"]
        if self.train_losses:
            parts.append(f"{self.train_metric} {self.train_losses[-1]:.4g}")
        if self.val_losses:
            parts.append(f"{self.val_metric} {self.val_losses[-1]:.4g}")
        self.status.value = " &nbsp;·&nbsp; ".join(parts)
