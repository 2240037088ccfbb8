"""Similarity learning with PyTorch Lightning (paper Figs. 6 and 7).

Estimators with the scikit-learn contract:

- :class:`SiameseEmbedding`: spectra -> 2D projection by a twin network (20 -> 5 -> 2).
- :class:`SimilarityScore`: spectra (or a fitted projection) -> continuous 1D score (10 -> 5 -> 1).
- :class:`AutoencoderEmbedding`: spectra -> 2D latent space of a deep autoencoder.

The estimators live in :mod:`stswidgets.learn.embedding` and :mod:`stswidgets.learn.score`
(shared base class in ``_base``, training helpers in ``_training``). The building blocks are
:mod:`stswidgets.learn.pairs` (the pair data module),
:mod:`stswidgets.learn.siamese` (twin networks, contrastive loss),
:mod:`stswidgets.learn.projection_checks` (majority position and fold check) and
:mod:`stswidgets.learn.autoencoder`; the methods are scored against simulated ground truth in
:mod:`stswidgets.evaluation` (notebook 08). Nothing here imports torch until a
model is fitted or loaded, so ``import stswidgets.learn`` stays fast.

Training runs in this process on the CPU by default (``accelerator="cpu"``: the same numbers
for the same ``random_state`` on every machine, GPU or not). GPUs on request: ``accelerator``
(``"auto"`` takes a GPU when there is one, ``"gpu"`` insists), ``devices`` and ``strategy`` of
the estimators go to Lightning's ``Trainer`` for GPUs and data-parallel runs, e.g.
``SiameseEmbedding(accelerator="gpu", devices=4, strategy="ddp")`` from a script, or
``accelerator="cpu", devices=2, strategy="ddp_spawn"`` (gloo) on a CPU.
"""

from __future__ import annotations

import importlib

__all__ = [
    "AutoencoderEmbedding",
    "NotFittedError",
    "PROGRESS_ENV",
    "SiameseEmbedding",
    "SimilarityScore",
    "autoencoder",
    "embedding",
    "pairs",
    "projection_checks",
    "score",
    "siamese",
]

#: Environment variable that turns the training progress bar off when set to ``0``, ``false``,
#: ``no`` or ``off``. ``stswidgets run`` sets it for the notebooks it executes, so executed
#: notebooks and the report hold no progress-bar lines; interactive sessions keep the bar.
PROGRESS_ENV = "STSWIDGETS_PROGRESS"

#: Public class -> the module defining it (imported on first access).
_CLASSES = {
    "AutoencoderEmbedding": "embedding",
    "NotFittedError": "_training",
    "SiameseEmbedding": "embedding",
    "SimilarityScore": "score",
}
_MODULES = {
    "autoencoder",
    "embedding",
    "estimators",
    "pairs",
    "projection_checks",
    "score",
    "siamese",
}


def __getattr__(name: str):
    if name in _CLASSES:
        return getattr(importlib.import_module(f"stswidgets.learn.{_CLASSES[name]}"), name)
    if name in _MODULES:
        return importlib.import_module(f"stswidgets.learn.{name}")
    raise AttributeError(f"module 'stswidgets.learn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
