"""The estimator base class shared by :mod:`~stswidgets.learn.embedding` and
:mod:`~stswidgets.learn.score`: input and fitted-state checks, ``fit``/``transform`` under a
torch thread setting, and saving / loading a fitted model to one file.

Training, scaling and file helpers live in :mod:`stswidgets.learn._training`. Nothing here
imports torch at module level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from stswidgets.grid import check_spectra
from stswidgets.learn._training import (
    MIN_SPECTRA,
    NotFittedError,
    load_file,
    save_file,
    torch_threads,
    train,
)

__all__ = ["LightningEstimator", "NotFittedError", "widths_tuple"]

#: Constructor parameters that are not written to a saved file.
_NOT_SAVED = ("callbacks", "embedding", "devices", "strategy")


class LightningEstimator(TransformerMixin, BaseEstimator):
    """What the three estimators share: checks, the fitted-state check, save and load."""

    _fitted_attr = "module_"
    #: Learned scalars and arrays saved besides the network weights (see :meth:`save`).
    _saved_floats: tuple[str, ...] = ()
    _saved_arrays: tuple[str, ...] = ()

    @classmethod
    def _module_class(cls):
        from stswidgets.learn.siamese import SiameseModule

        return SiameseModule

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attr):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X) first "
                f"(or load a saved model with {type(self).__name__}.load(path))"
            )

    def _check_input(self, X, fitting: bool) -> np.ndarray:
        name = f"{type(self).__name__}.{'fit' if fitting else 'transform'}: X"
        if fitting:
            return check_spectra(X, min_spectra=MIN_SPECTRA, name=name, dtype=np.float32)
        self._check_fitted()
        X = check_spectra(X, min_spectra=1, name=name, dtype=np.float32)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name} has {X.shape[1]} features (bias points) per spectrum, but the "
                f"estimator was fitted on {self.n_features_in_}"
            )
        return X

    def _train_twin(
        self,
        features: np.ndarray,
        seed: int,
        threshold: float | None = None,
        labels: np.ndarray | None = None,
    ):
        """Train a twin network with the contrastive loss on pairs of the rows of ``features``.

        The one recipe of both stages of the paper's method: pairs drawn on the fly and labelled
        by ``threshold`` (or the estimator's ``threshold_quantile``) on the distance of the rows
        of ``labels`` (default: of ``features`` themselves), a :class:`SiameseModule` of the
        estimator's ``widths``/``activation``/``margin`` fed ``features``, trained with early
        stopping. Returns ``(module, datamodule, history)``.
        """
        import pytorch_lightning as pl

        from stswidgets.learn.pairs import PairDataModule
        from stswidgets.learn.siamese import SiameseModule

        data = PairDataModule(
            features if labels is None else labels,
            threshold=threshold,
            threshold_quantile=self.threshold_quantile,
            pairs_per_epoch=self.pairs_per_epoch,
            batch_size=self.batch_size,
            n_val_pairs=max(self.batch_size, self.pairs_per_epoch // 8),
            seed=seed,
            inputs=None if labels is None else features,
        )
        data.setup()
        pl.seed_everything(seed, workers=True, verbose=False)  # the initial weights
        module = SiameseModule(
            features.shape[1],
            widths_tuple(self.widths),
            self.activation,
            self.margin,
            self.learning_rate,
        )
        return module, data, self._train(module, data, seed)

    def _train(self, module, datamodule, seed: int) -> dict:
        """Train ``module`` with the estimator's epochs, time bound, patience and callbacks."""
        return train(
            module,
            datamodule,
            seed=seed,
            max_epochs=self.max_epochs,
            max_time=self.max_time,
            patience=self.patience,
            progress=self.progress,
            accelerator=self.accelerator,
            callbacks=self.callbacks,
            devices=self.devices,
            strategy=self.strategy,
        )

    def fit(self, X, y=None):
        """Learn from spectra ``X`` of shape ``(n_spectra, n_bias)``; returns ``self``.

        ``y`` is ignored (present for scikit-learn pipelines).
        """
        with torch_threads(self.num_threads):
            return self._fit(X)

    def transform(self, X) -> np.ndarray:
        """Apply the fitted model to spectra ``X`` of shape ``(n_spectra, n_bias)``."""
        with torch_threads(self.num_threads):
            return self._transform(X)

    # -- save / load -------------------------------------------------------------------
    def _json_params(self) -> dict:
        params = {}
        for name, value in self.get_params(deep=False).items():
            if name in _NOT_SAVED:
                continue
            params[name] = list(value) if isinstance(value, tuple) else value
        return params

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Save the fitted model (weights, scaler, threshold, history) to one file.

        The file is written with :func:`torch.save` and holds only tensors and a JSON
        string, so :meth:`load` reads it with ``torch.load(weights_only=True)`` (no pickled
        code). Extra ``callbacks`` are not saved.

        Parameters
        ----------
        path : str or Path
            File to write, e.g. ``"siamese.pt"``.
        overwrite : bool
            Replace an existing file; otherwise an existing file raises FileExistsError.

        Returns
        -------
        Path
        """
        self._check_fitted()
        meta, tensors = self._state()
        return save_file(path, type(self).__name__, meta, tensors, overwrite)

    @classmethod
    def load(cls, path: str | Path):
        """A fitted estimator from a file written by :meth:`save`."""
        meta, tensors = load_file(path, cls.__name__)
        return cls._from_state(meta, tensors)

    def _state(self) -> tuple[dict, dict]:
        """JSON-able metadata and tensors holding everything ``transform`` needs."""
        import torch

        hparams = {**self.module_.hparams, "widths": list(self.module_.hparams.widths)}
        meta = {
            "params": self._json_params(),
            "n_features_in_": self.n_features_in_,
            "history_": self.history_,
            "seed_": self.seed_,
            "module_hparams": hparams,
            **{name: float(getattr(self, name)) for name in self._saved_floats},
        }
        tensors = {
            "module_": self.module_.state_dict(),
            **{name: torch.as_tensor(getattr(self, name)) for name in self._saved_arrays},
        }
        return meta, tensors

    @classmethod
    def _from_state(cls, meta: dict, tensors: dict):
        est = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in meta["params"].items()})
        est.n_features_in_ = int(meta["n_features_in_"])
        est.history_ = meta["history_"]
        est.seed_ = int(meta["seed_"])
        for name in cls._saved_floats:
            setattr(est, name, float(meta[name]))
        for name in cls._saved_arrays:
            setattr(est, name, tensors[name].numpy())
        est.module_ = cls._module_class()(**meta["module_hparams"])
        est.module_.load_state_dict(tensors["module_"])
        est.module_.eval()
        return est


def widths_tuple(value) -> tuple[int, ...]:
    """Layer widths as a tuple of ints (a list read back from a saved file included)."""
    return tuple(int(w) for w in value)
