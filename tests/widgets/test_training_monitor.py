"""TrainingMonitor with a tiny real Lightning Trainer run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pl = pytest.importorskip("pytorch_lightning")
torch = pytest.importorskip("torch")


class _TinyRegression(pl.LightningModule):
    """y = 2 x + 1 with one linear layer; logs train_loss / val_loss like stswidgets.learn."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch), on_step=False, on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loaders():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, generator=g)
    data = torch.utils.data.TensorDataset(x, 2 * x + 1)
    return (
        torch.utils.data.DataLoader(data, batch_size=16),
        torch.utils.data.DataLoader(data, batch_size=64),
    )


def _trainer(monitor, max_epochs):
    return pl.Trainer(
        max_epochs=max_epochs,
        callbacks=[monitor],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=1,
    )


def test_monitor_draws_the_logged_losses_of_every_epoch():
    from stswidgets.widgets import TrainingMonitor

    pl.seed_everything(0, verbose=False)
    monitor = TrainingMonitor()
    trainer = _trainer(monitor, max_epochs=4)
    train, val = _loaders()
    trainer.fit(_TinyRegression(), train, val)
    assert monitor.train_epochs == [1, 2, 3, 4]
    assert monitor.val_epochs == [1, 2, 3, 4]  # the sanity check is not drawn
    assert monitor.train_losses[-1] < monitor.train_losses[0]
    np.testing.assert_allclose(monitor.train_line.y, monitor.train_losses)
    np.testing.assert_allclose(monitor.val_line.x, [1, 2, 3, 4])
    # the last validation loss is what Lightning reports at the end
    assert monitor.val_losses[-1] == pytest.approx(float(trainer.callback_metrics["val_loss"]))
    assert "finished" in monitor.status.value
    assert "application/vnd.jupyter.widget-view+json" in monitor._repr_mimebundle_()


def test_a_second_fit_continues_the_epoch_axis():
    from stswidgets.widgets import TrainingMonitor

    monitor = TrainingMonitor()
    train, val = _loaders()
    for _ in range(2):
        _trainer(monitor, max_epochs=2).fit(_TinyRegression(), train, val)
    assert monitor.train_epochs == [1, 2, 3, 4] and monitor.val_epochs == [1, 2, 3, 4]


def test_stop_button_stops_the_trainer():
    from stswidgets.widgets import TrainingMonitor

    monitor = TrainingMonitor()

    class _PressStop(pl.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            if trainer.current_epoch == 1:
                monitor.stop_button.click()  # what the user does in the notebook
                assert trainer.should_stop

    trainer = _trainer(monitor, max_epochs=20)
    trainer.callbacks.append(_PressStop())
    train, val = _loaders()
    trainer.fit(_TinyRegression(), train, val)
    assert len(monitor.train_losses) == 2
    assert trainer.current_epoch == 2  # stopped after two of twenty epochs
    assert "stopped" in monitor.status.value


def test_importing_widgets_does_not_import_torch():
    code = "import sys, stswidgets.widgets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_monitor_follows_a_siamese_embedding_fit():
    learn = pytest.importorskip("stswidgets.learn")
    from stswidgets import to_matrix
    from stswidgets.datasets import fese_like
    from stswidgets.widgets import TrainingMonitor

    X, _ = to_matrix(fese_like(seed=0, shape=(12, 12), n_bias=48)["didv"])
    monitor = TrainingMonitor(title="Siamese training")
    learn.SiameseEmbedding(
        pairs_per_epoch=1024,
        batch_size=256,
        max_epochs=3,
        random_state=0,
        progress=False,
        callbacks=[monitor],
    ).fit(X)
    assert monitor.train_epochs == [1, 2, 3] and len(monitor.val_losses) == 3
    assert all(np.isfinite(monitor.train_losses)) and "finished" in monitor.status.value
