"""Shared machinery of the learning estimators: input checks, scaling, the Trainer, save/load.

Private: the public face is the estimators of :mod:`stswidgets.learn.embedding` and
:mod:`stswidgets.learn.score`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

from stswidgets.learn import PROGRESS_ENV
from stswidgets.preprocess import normalization_name, normalize

#: Fewest spectra an estimator accepts in ``fit``.
MIN_SPECTRA = 8
#: Tag written into saved files, checked on load.
FILE_FORMAT = "stswidgets.learn"
FILE_VERSION = 1


class NotFittedError(_SklearnNotFittedError):
    """An estimator was used before ``fit`` (a :class:`sklearn.exceptions.NotFittedError`)."""


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run torch with ``n`` intra-op threads (None: leave torch's setting), restored after.

    The twin networks are so small that extra threads gain little, and on a machine shared
    with other work they spin against each other (a 30x slow-down measured on 2 busy cores).
    """
    import torch

    before = torch.get_num_threads()
    if n is not None:
        if int(n) < 1:
            raise ValueError(f"num_threads must be a positive integer or None, got {n!r}")
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seed_from(random_state) -> int:
    """An int seed from ``random_state`` (None: a fresh random one, as in scikit-learn)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    return int(random_state)


class SpectrumScaler:
    """Per-spectrum normalisation, then centring and one global scale.

    A change of the STM setpoint (current or bias) multiplies a whole dI/dV spectrum by one
    factor; the per-spectrum normalisation removes it, so that spectra are compared by shape.
    ``normalize`` is any name of :data:`stswidgets.preprocess.NORMALIZATIONS` (formulas in
    :func:`stswidgets.preprocess.normalize`; ``"integral"`` is an alias of ``"area"``): the
    estimators default to ``"outside"`` (the mean absolute value over the outer 10 % of the bias
    points on each side), this class to ``"rms"``. A spectrum of zero norm is kept (divided by
    the smallest positive float) rather than refused. The pipeline normalises its spectra once
    (:mod:`stswidgets.pipeline.normalization`) and passes ``"none"``: then only the centring
    and the one global scale below remain.

    Then the mean spectrum (``mean_``, per bias) is subtracted and everything is divided by
    one number (``scale_``, the RMS of the centred data) so that typical pair distances are
    of order 1, whatever the units. One global scale — not a per-bias standardisation — keeps
    the relative weight of the bias points of the Euclidean distance the pairs are labelled
    by; per-bias standardisation would blow up bias points that hold only noise.
    """

    def __init__(self, normalize: str = "rms"):
        normalization_name(normalize)  # refuses an unknown name now, not in fit
        self.normalize = normalize

    def _normalized(self, X: np.ndarray) -> np.ndarray:
        if self.normalize == "none":  # the spectra as given (the pipeline's, normalised once)
            return np.array(X, dtype=np.float64)
        return normalize(np.asarray(X, dtype=np.float64), self.normalize, zero_norm="keep")

    def fit(self, X: np.ndarray) -> SpectrumScaler:
        Xn = self._normalized(X)
        self.mean_ = Xn.mean(axis=0)
        scale = float(np.sqrt(np.mean((Xn - self.mean_) ** 2)))
        self.scale_ = scale if scale > 0 else 1.0
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((self._normalized(X) - self.mean_) / self.scale_).astype(np.float32)


def distributed_rank() -> tuple[int, int]:
    """``(rank, world_size)`` of this process in a torch.distributed group; ``(0, 1)`` outside.

    The training datasets draw a different share of the batches on each rank of a DDP run.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def make_history(path: str | None = None):
    """A Lightning callback recording per-epoch losses and keeping the best weights.

    ``path``: where the global-zero process writes its record at the end of the fit, so that
    a run in spawned processes (``strategy="ddp_spawn"``) can be read back here
    (:class:`stswidgets.learn._history.History`). Imported inside the function so that
    importing this module does not import Lightning.
    """
    from stswidgets.learn._history import History

    return History(path)


def show_progress(progress: bool) -> bool:
    """Whether training shows its progress: ``progress`` unless :data:`PROGRESS_ENV` says off.

    How it is shown depends on where the output goes (:func:`progress_style`).
    """
    setting = os.environ.get(PROGRESS_ENV, "").strip().lower()
    return bool(progress) and setting not in ("0", "false", "no", "off")


def progress_style(stream=None) -> str:
    """How training shows its progress where the output goes.

    Returns
    -------
    str
        ``"bar"``: a live bar redrawn in place, in a Jupyter kernel (a widget) or on a terminal
        (``stream``, default ``sys.stdout`` where Lightning's bar writes, is a tty);
        ``"epochs"``: one line per epoch,
        wherever the output is kept as text (a redirect to a file, a pipe, CI), where a
        redrawn bar would leave a line per batch.
    """
    if _in_jupyter_kernel():
        return "bar"
    stream = sys.stdout if stream is None else stream
    try:
        return "bar" if stream.isatty() else "epochs"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "epochs"


def _in_jupyter_kernel() -> bool:
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    return get_ipython is not None and type(get_ipython()).__name__ == "ZMQInteractiveShell"


def make_progress_bar(style: str | None = None):
    """The progress callback of the Trainer, in ``style`` (default :func:`progress_style`).

    ``"bar"``: Lightning's tqdm bar over the training batches of each epoch (a widget in
    JupyterLab), without a validation bar: Lightning's own bar opens a validation bar every
    epoch, which a notebook keeps as one more ``Validation: | 0/?`` line per epoch.
    ``"epochs"``: one line per epoch on stdout, ``Epoch 3/60: train_loss 0.12, val_loss
    0.15 (4.2 s)``. The classes are in :mod:`stswidgets.learn._progress` (module level, so a
    spawned data-parallel run can pickle them), imported here so that importing this module
    does not import Lightning.
    """
    style = progress_style() if style is None else style
    if style not in ("bar", "epochs"):
        raise ValueError(f"progress style must be 'bar' or 'epochs', got {style!r}")
    from stswidgets.learn._progress import EpochLines, EpochProgressBar

    return EpochProgressBar() if style == "bar" else EpochLines()


def check_max_time(max_time) -> float | None:
    """``max_time`` in seconds (None: no bound); a clear error for anything else."""
    if max_time is None:
        return None
    if isinstance(max_time, bool) or not isinstance(
        max_time, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"max_time must be a number of seconds or None, got {max_time!r}")
    if not (math.isfinite(max_time) and max_time > 0):
        raise ValueError(f"max_time must be a positive number of seconds, got {max_time!r}")
    return float(max_time)


def train(
    module,
    datamodule,
    *,
    seed: int,
    max_epochs: int,
    patience: int,
    progress: bool,
    accelerator: str,
    callbacks,
    max_time: float | None = None,
    devices=1,
    strategy="auto",
) -> dict:
    """Fit ``module`` on ``datamodule`` with early stopping on the validation loss.

    Training stops after ``max_epochs``, after ``patience`` epochs without improvement, or
    once ``max_time`` seconds have passed (checked after every batch; None: no time bound),
    whichever comes first. A time bound makes the number of epochs, and so the result,
    depend on the machine's speed.

    ``devices`` and ``strategy`` go to Lightning's ``Trainer`` as they are (e.g.
    ``devices=2, strategy="ddp_spawn"`` with ``accelerator="cpu"``: two processes joined by
    gloo; ``strategy="ddp"`` on GPUs from a script). In a data-parallel run each process
    draws its own share of every epoch's training batches (:func:`distributed_rank`), the
    validation pairs are the same everywhere, and the history and best weights come from the
    global-zero process.

    Deterministic on CPU: Lightning's ``seed_everything(seed, workers=True)`` right before
    ``Trainer(deterministic=True)`` (the global determinism flag is restored afterwards).
    Nothing is written to the working directory (no logger, no checkpoints). The best
    weights (lowest validation loss) are restored at the end; the module is left on the CPU
    in eval mode.

    Returns
    -------
    dict with ``train_loss``, ``val_loss`` (per-epoch lists), ``best_epoch``.
    """
    import datetime

    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import EarlyStopping

    max_time = check_max_time(max_time)
    progress = show_progress(progress)
    early = EarlyStopping(monitor="val_loss", mode="min", patience=patience, min_delta=1e-4)
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    pl_logger = logging.getLogger("pytorch_lightning")
    level_before = pl_logger.level
    pl_logger.setLevel(logging.WARNING)  # no "GPU available: ..." banner in notebooks
    try:
        with (
            tempfile.TemporaryDirectory(prefix="stswidgets-train-") as root,
            warnings.catch_warnings(),
        ):
            history = make_history(os.path.join(root, "history.pt"))
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*IterableDataset.*")
            warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            pl.seed_everything(seed, workers=True, verbose=False)
            trainer = pl.Trainer(
                max_epochs=max_epochs,
                max_time=None if max_time is None else datetime.timedelta(seconds=max_time),
                accelerator=accelerator,
                devices=devices,
                strategy=strategy,
                deterministic=True,
                logger=False,
                enable_checkpointing=False,
                enable_model_summary=False,
                enable_progress_bar=progress,
                num_sanity_val_steps=0,
                log_every_n_steps=1,
                callbacks=[
                    history,
                    early,
                    *([make_progress_bar()] if progress else []),
                    *(callbacks or []),
                ],
                default_root_dir=root,
            )
            trainer.fit(module, datamodule=datamodule)
            history.read_back()
    finally:
        torch.use_deterministic_algorithms(deterministic_before)
        pl_logger.setLevel(level_before)
    if history.best_state is not None:
        module.load_state_dict(history.best_state)
    module.cpu().eval()
    return {
        "train_loss": list(history.train_loss),
        "val_loss": list(history.val_loss),
        "best_epoch": int(history.best_epoch),
    }


def predict(module, X: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Forward pass of ``module`` over rows of ``X`` on the CPU, float64 output."""
    import torch

    module = module.cpu().eval()
    out = []
    with torch.no_grad():
        for start in range(0, X.shape[0], chunk):
            x = torch.as_tensor(np.ascontiguousarray(X[start : start + chunk], dtype=np.float32))
            out.append(module(x).double().numpy())
    return np.concatenate(out) if out else np.empty((0, 0))


def save_file(path, estimator: str, meta: dict, tensors: dict, overwrite: bool) -> Path:
    """Write ``meta`` (JSON) and named tensors / state dicts with :func:`torch.save`."""
    import torch

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    payload = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "estimator": estimator,
        "meta": json.dumps(meta),
        "tensors": tensors,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def load_file(path, estimator: str) -> tuple[dict, dict]:
    """Read a file written by :func:`save_file` safely (``torch.load(weights_only=True)``)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved model at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise ValueError(f"{path} is not a model saved by stswidgets.learn: {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ValueError(f"{path} is not a model saved by stswidgets.learn")
    if payload.get("estimator") != estimator:
        raise ValueError(
            f"{path} holds a {payload.get('estimator')}, not a {estimator}; load it with "
            f"{payload.get('estimator')}.load"
        )
    return json.loads(payload["meta"]), payload["tensors"]
