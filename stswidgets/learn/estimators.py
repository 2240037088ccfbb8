"""Scikit-learn style estimators around the Lightning modules (paper Figs. 6 and 7).

- :class:`SiameseEmbedding`: spectra -> 2D projection learned by a twin MLP (20 -> 5 -> 2)
  from pairs labelled similar / dissimilar by a threshold on their distance.
- :class:`SimilarityScore`: 2D projection -> 1D score by a second twin network (10 -> 5 -> 1)
  trained the same way on the projection; fits the projection too when given spectra.
- :class:`AutoencoderEmbedding`: spectra -> 2D bottleneck of a deep autoencoder.

Each follows the scikit-learn contract: hyperparameters stored by ``__init__``, ``fit(X)``
learns (and returns ``self``), ``transform(X)``, ``fit_transform(X)``, learned state in
attributes ending in ``_``, ``random_state`` for identical results on the CPU. Torch and
Lightning are imported only when a model is fitted or loaded.

Training runs on the CPU by default (``accelerator="cpu"``), where results are bitwise
reproducible; ``accelerator="auto"`` uses a GPU when one is present, with the same code, but
GPU kernels may differ in the last digits between runs and cards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from stswidgets.learn._training import (
    MIN_SPECTRA,
    NotFittedError,
    SpectrumScaler,
    check_spectra,
    load_file,
    predict,
    save_file,
    seed_from,
    torch_threads,
    train,
)

__all__ = ["AutoencoderEmbedding", "NotFittedError", "SiameseEmbedding", "SimilarityScore"]

_NOT_SAVED = ("callbacks", "embedding")


class _LightningEstimator(TransformerMixin, BaseEstimator):
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
        who = f"{type(self).__name__}.{'fit' if fitting else 'transform'}"
        if fitting:
            return check_spectra(X, min_spectra=MIN_SPECTRA, who=who)
        self._check_fitted()
        return check_spectra(X, n_features=self.n_features_in_, who=who)

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


def _widths(value) -> tuple[int, ...]:
    return tuple(int(w) for w in value)


class SiameseEmbedding(_LightningEstimator):
    """2D projection of spectra learned by a twin (Siamese) network (paper Fig. 7a, b).

    Pairs of spectra are labelled similar when their Euclidean distance (after scaling) is at
    most ``threshold_`` and dissimilar otherwise; a twin MLP is trained with the contrastive
    loss so that similar pairs land close together and dissimilar ones at least ``margin``
    apart. Each batch holds half similar and half dissimilar pairs
    (:class:`stswidgets.learn.pairs.PairDataModule`), which is what lets the few minority
    spectra (vacancies) shape the projection.

    Parameters
    ----------
    widths : sequence of int
        Hidden and output widths after the input layer; default ``(20, 5, 2)`` as in the
        paper (the last is the dimension of the projection).
    activation : str
        ``tanh`` (default), ``relu``, ``elu``, ``gelu`` or ``sigmoid``.
    margin : float
        Contrastive margin, in units of the projection.
    threshold : float, optional
        Pair distance (in scaled units, see ``normalize``) below which a pair is similar.
        Overrides ``threshold_quantile``.
    threshold_quantile : float
        The threshold as a quantile of the pair-distance distribution (default 0.9: the
        farthest 10 % of the pairs are dissimilar, in a long-tailed distribution the pairs
        involving minority spectra).
    pairs_per_epoch : int
        Training pairs drawn anew each epoch.
    batch_size : int
        Pairs per step.
    max_epochs : int
    patience : int
        Early stopping: epochs without improvement of the held-out pair loss.
    learning_rate : float
        Adam learning rate.
    normalize : {"rms", "none"}
        ``"rms"`` (default) divides each spectrum by its RMS before the common centring and
        scaling, removing setpoint variation (see :class:`~stswidgets.learn._training.
        SpectrumScaler`); ``"none"`` keeps absolute intensities.
    random_state : int, optional
        Seed of the pairs, the weights and the training; None: a fresh random seed.
    progress : bool
        Show Lightning's progress bar.
    accelerator : str
        ``"cpu"`` (default, bitwise reproducible) or ``"auto"`` / ``"gpu"``.
    num_threads : int, optional
        Torch intra-op threads while fitting and transforming (restored afterwards); default
        1, since networks this small gain little from threads and threads spinning against
        each other on a busy machine slow training many-fold. None: torch's own setting.
    callbacks : list of Lightning callbacks, optional
        Extra callbacks (e.g. :class:`stswidgets.widgets.TrainingMonitor`).

    Attributes
    ----------
    n_features_in_ : int
    scaler_mean_ : numpy.ndarray, shape ``(n_features_in_,)``
        Mean normalised spectrum subtracted before the network.
    scaler_scale_ : float
        Global scale dividing the centred spectra.
    threshold_ : float
        Pair-distance threshold used (scaled units).
    history_ : dict
        ``train_loss`` and ``val_loss``: per-epoch lists; ``best_epoch``: the epoch whose
        weights were kept.
    module_ : stswidgets.learn.siamese.SiameseModule
        The trained network (on the CPU).

    Examples
    --------
    >>> from stswidgets import datasets, to_matrix
    >>> X, valid = to_matrix(datasets.fese_like(shape=(40, 40), n_bias=128)["didv"])
    >>> Z = SiameseEmbedding(random_state=0, progress=False).fit_transform(X)  # doctest: +SKIP
    >>> Z.shape  # doctest: +SKIP
    (1600, 2)
    """

    _saved_floats = ("scaler_scale_", "threshold_")
    _saved_arrays = ("scaler_mean_",)

    def __init__(
        self,
        widths=(20, 5, 2),
        activation: str = "tanh",
        margin: float = 1.0,
        threshold: float | None = None,
        threshold_quantile: float = 0.9,
        pairs_per_epoch: int = 65536,
        batch_size: int = 2048,
        max_epochs: int = 30,
        patience: int = 5,
        learning_rate: float = 1e-2,
        normalize: str = "rms",
        random_state: int | None = None,
        progress: bool = True,
        accelerator: str = "cpu",
        num_threads: int | None = 1,
        callbacks=None,
    ):
        self.widths = widths
        self.activation = activation
        self.margin = margin
        self.threshold = threshold
        self.threshold_quantile = threshold_quantile
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.learning_rate = learning_rate
        self.normalize = normalize
        self.random_state = random_state
        self.progress = progress
        self.accelerator = accelerator
        self.num_threads = num_threads
        self.callbacks = callbacks

    def _fit(self, X) -> SiameseEmbedding:
        """Learn the projection from spectra ``X`` of shape ``(n_spectra, n_bias)``."""
        from stswidgets.learn.pairs import PairDataModule
        from stswidgets.learn.siamese import SiameseModule

        X = self._check_input(X, fitting=True)
        seed = seed_from(self.random_state)
        scaler = SpectrumScaler(self.normalize).fit(X)
        data = PairDataModule(
            scaler.transform(X),
            threshold=self.threshold,
            threshold_quantile=self.threshold_quantile,
            pairs_per_epoch=self.pairs_per_epoch,
            batch_size=self.batch_size,
            n_val_pairs=max(self.batch_size, self.pairs_per_epoch // 8),
            seed=seed,
        )
        data.setup()
        import pytorch_lightning as pl

        pl.seed_everything(seed, workers=True, verbose=False)  # the initial weights
        module = SiameseModule(
            X.shape[1], _widths(self.widths), self.activation, self.margin, self.learning_rate
        )
        self.history_ = train(
            module,
            data,
            seed=seed,
            max_epochs=self.max_epochs,
            patience=self.patience,
            progress=self.progress,
            accelerator=self.accelerator,
            callbacks=self.callbacks,
        )
        self.n_features_in_ = X.shape[1]
        self.scaler_mean_ = scaler.mean_
        self.scaler_scale_ = scaler.scale_
        self.threshold_ = float(data.threshold_)
        self.seed_ = seed
        self.module_ = module
        return self

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        scaler = SpectrumScaler(self.normalize)
        scaler.mean_, scaler.scale_ = self.scaler_mean_, self.scaler_scale_
        return scaler.transform(X)

    def scale(self, X) -> np.ndarray:
        """The scaled spectra the pairs are labelled by, ``(n_spectra, n_bias)`` float32.

        Pair distances of these rows are compared with ``threshold_``.
        """
        return self._scaled(self._check_input(X, fitting=False))

    def _transform(self, X) -> np.ndarray:
        """Project spectra: ``(n_spectra, n_bias)`` -> ``(n_spectra, widths[-1])``, float64."""
        X = self._check_input(X, fitting=False)
        return predict(self.module_, self._scaled(X))


class SimilarityScore(_LightningEstimator):
    """A continuous 1D similarity score for every spectrum (paper Fig. 7c, d).

    A second, simpler twin network (default widths ``(10, 5, 1)``) is trained like the
    projection network, on the 2D projections: pairs of projected spectra are labelled by a
    threshold (``threshold_quantile``) on their distance in the projection. Its 1D output is
    the score. The sign is fixed without ground truth: the spectra farthest from the median
    spectrum (the 5 % largest distances in the scaled data space, i.e. the minority) get
    high scores; the median score is subtracted, so the majority sits near 0.

    ``SimilarityScore(random_state=0).fit_transform(X)`` goes from spectra to scores in one
    call, fitting a :class:`SiameseEmbedding` with ``embedding_threshold_quantile`` and the
    same ``pairs_per_epoch``, ``batch_size``, ``max_epochs``, ``patience``, ``random_state``,
    ``progress``, ``accelerator`` and ``callbacks`` first; or pass ``embedding=`` a
    :class:`SiameseEmbedding` (used as is when fitted, fitted on ``X`` when not).

    Parameters
    ----------
    embedding : SiameseEmbedding, optional
    widths : sequence of int
        Score network widths after its 2D input; default ``(10, 5, 1)``.
    activation, margin, learning_rate : see :class:`SiameseEmbedding`
    threshold_quantile : float
        Quantile of the pair distances in the projection that separates similar from
        dissimilar pairs for the score network. Default 0.3: the projection has already
        pulled similar spectra together, and a low threshold keeps the ordering
        surface < transition < vacancy in 1D (a high quantile such as 0.9 merges the
        transition ring with the surface; 0.3 was within 0.002 of 0.5 or better on all four
        simulated conditions over three seeds each, and fixed a seed where 0.5 ranked
        transition spectra above vacancies).
    embedding_threshold_quantile : float
        ``threshold_quantile`` of the :class:`SiameseEmbedding` fitted here (default 0.9).
    fold : bool
        Return ``|score|`` (the distance of the oriented output from its median). The score
        network may put unusual spectra on *both* sides of the majority when a grid holds
        minority populations that differ from it in different ways (seen on a measured
        grid); folding makes both high. Off by default: on the simulated conditions the
        signed score orders surface < transition < vacancy better (folding mixes the
        lower half of the surface with the transition ring when vacancies are dense).
    pairs_per_epoch, batch_size, max_epochs, patience, random_state, progress, accelerator,
    num_threads, callbacks : see :class:`SiameseEmbedding`

    Attributes
    ----------
    embedding_estimator_ : SiameseEmbedding
        The fitted projection.
    embedding_ : numpy.ndarray, shape ``(n_spectra, 2)``
        The projection of the training spectra.
    projection_center_ : numpy.ndarray, shape ``(2,)``, and ``projection_scale_`` : float
        Median and RMS spread of ``embedding_``, standardising the score network's input.
    threshold_ : float
        Pair-distance threshold in the standardised projection.
    sign_ : float
        +1 or -1, the orientation of the raw network output.
    offset_ : float
        Median oriented output over the training spectra (subtracted).
    history_ : dict
        Per-epoch losses of the score network.
    module_ : stswidgets.learn.siamese.SiameseModule
    n_features_in_ : int
    """

    _saved_floats = ("projection_scale_", "threshold_", "sign_", "offset_")
    _saved_arrays = ("embedding_", "projection_center_")

    def __init__(
        self,
        embedding: SiameseEmbedding | None = None,
        widths=(10, 5, 1),
        activation: str = "tanh",
        margin: float = 1.0,
        threshold_quantile: float = 0.3,
        embedding_threshold_quantile: float = 0.9,
        fold: bool = False,
        pairs_per_epoch: int = 65536,
        batch_size: int = 2048,
        max_epochs: int = 30,
        patience: int = 5,
        learning_rate: float = 1e-2,
        random_state: int | None = None,
        progress: bool = True,
        accelerator: str = "cpu",
        num_threads: int | None = 1,
        callbacks=None,
    ):
        self.embedding = embedding
        self.widths = widths
        self.activation = activation
        self.margin = margin
        self.threshold_quantile = threshold_quantile
        self.embedding_threshold_quantile = embedding_threshold_quantile
        self.fold = fold
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.progress = progress
        self.accelerator = accelerator
        self.num_threads = num_threads
        self.callbacks = callbacks

    def _fit_embedding(self, X: np.ndarray, seed: int) -> SiameseEmbedding:
        from sklearn.base import clone

        if self.embedding is None:
            return SiameseEmbedding(
                threshold_quantile=self.embedding_threshold_quantile,
                pairs_per_epoch=self.pairs_per_epoch,
                batch_size=self.batch_size,
                max_epochs=self.max_epochs,
                patience=self.patience,
                random_state=seed,
                progress=self.progress,
                accelerator=self.accelerator,
                num_threads=self.num_threads,
                callbacks=self.callbacks,
            ).fit(X)
        if not isinstance(self.embedding, SiameseEmbedding):
            raise TypeError(
                f"embedding must be a SiameseEmbedding or None, got {type(self.embedding).__name__}"
            )
        if hasattr(self.embedding, "module_"):
            return self.embedding
        return clone(self.embedding).fit(X)

    def _fit(self, X) -> SimilarityScore:
        """Learn the projection (if needed) and the score from spectra ``(n_spectra, n_bias)``."""
        from stswidgets.learn.pairs import PairDataModule
        from stswidgets.learn.siamese import SiameseModule

        X = self._check_input(X, fitting=True)
        seed = seed_from(self.random_state)
        embedding = self._fit_embedding(X, seed)
        Z = embedding.transform(X)
        center = np.median(Z, axis=0)
        scale = float(np.sqrt(np.mean((Z - center) ** 2)))
        scale = scale if scale > 0 else 1.0
        Zs = ((Z - center) / scale).astype(np.float32)
        data = PairDataModule(
            Zs,
            threshold_quantile=self.threshold_quantile,
            pairs_per_epoch=self.pairs_per_epoch,
            batch_size=self.batch_size,
            n_val_pairs=max(self.batch_size, self.pairs_per_epoch // 8),
            seed=seed + 1,
        )
        data.setup()
        import pytorch_lightning as pl

        pl.seed_everything(seed + 1, workers=True, verbose=False)
        module = SiameseModule(
            Zs.shape[1], _widths(self.widths), self.activation, self.margin, self.learning_rate
        )
        self.history_ = train(
            module,
            data,
            seed=seed + 1,
            max_epochs=self.max_epochs,
            patience=self.patience,
            progress=self.progress,
            accelerator=self.accelerator,
            callbacks=self.callbacks,
        )
        raw = predict(module, Zs)[:, 0]
        # Label-free orientation: the 5 % of spectra farthest from the median spectrum.
        scaled = embedding._scaled(X)
        far = np.sqrt(((scaled - np.median(scaled, axis=0)) ** 2).sum(axis=1))
        outliers = far >= np.quantile(far, 0.95)
        sign = 1.0 if raw[outliers].mean() >= np.median(raw) else -1.0
        self.embedding_estimator_ = embedding
        self.embedding_ = Z
        self.projection_center_ = center
        self.projection_scale_ = scale
        self.threshold_ = float(data.threshold_)
        self.sign_ = sign
        self.offset_ = float(np.median(sign * raw))
        self.n_features_in_ = X.shape[1]
        self.seed_ = seed
        self.module_ = module
        return self

    def score_projection(self, Z) -> np.ndarray:
        """Score of points of the 2D projection plane, shape ``(n_points, 2)`` -> ``(n_points,)``.

        Evaluates the score network anywhere in the plane, e.g. on a mesh to draw the score
        field over the projection (Fig. 7c).
        """
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.projection_center_.shape[0]:
            raise ValueError(
                f"Z must have shape (n_points, {self.projection_center_.shape[0]}), got {Z.shape}"
            )
        Zs = ((Z - self.projection_center_) / self.projection_scale_).astype(np.float32)
        score = self.sign_ * predict(self.module_, Zs)[:, 0] - self.offset_
        return np.abs(score) if self.fold else score

    def _transform(self, X) -> np.ndarray:
        """Score of spectra ``(n_spectra, n_bias)`` -> ``(n_spectra,)`` (high: minority-like)."""
        X = self._check_input(X, fitting=False)
        return self.score_projection(self.embedding_estimator_.transform(X))

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        """Fit, then the scores of the training spectra, shape ``(n_spectra,)``."""
        self.fit(X)
        with torch_threads(self.num_threads):
            return self.score_projection(self.embedding_)

    def _state(self) -> tuple[dict, dict]:
        meta, tensors = super()._state()
        meta["embedding"], tensors["embedding"] = self.embedding_estimator_._state()
        return meta, tensors

    @classmethod
    def _from_state(cls, meta: dict, tensors: dict) -> SimilarityScore:
        est = super()._from_state(meta, tensors)
        est.embedding_estimator_ = SiameseEmbedding._from_state(
            meta["embedding"], tensors["embedding"]
        )
        return est


class AutoencoderEmbedding(_LightningEstimator):
    """2D latent space of a deep fully connected autoencoder (paper Fig. 6).

    ``n_bias -> 128 -> 32 -> 2 -> 32 -> 128 -> n_bias`` by default, mean squared
    reconstruction error, Adam; 10 % of the spectra are held out for early stopping.

    Parameters
    ----------
    widths : sequence of int
        Encoder widths after the input; the last is the latent dimension.
    activation : str
        Default ``"elu"``.
    batch_size : int
        Spectra per step.
    max_epochs, patience, learning_rate, normalize, random_state, progress, accelerator,
    num_threads, callbacks : see :class:`SiameseEmbedding`
    val_fraction : float
        Fraction of spectra held out for validation.

    Attributes
    ----------
    n_features_in_, scaler_mean_, scaler_scale_, history_, module_ : see
    :class:`SiameseEmbedding` (``module_`` is an
    :class:`~stswidgets.learn.autoencoder.AutoencoderModule`)
    """

    _saved_floats = ("scaler_scale_",)
    _saved_arrays = ("scaler_mean_",)

    @classmethod
    def _module_class(cls):
        from stswidgets.learn.autoencoder import AutoencoderModule

        return AutoencoderModule

    def __init__(
        self,
        widths=(128, 32, 2),
        activation: str = "elu",
        batch_size: int = 256,
        max_epochs: int = 60,
        patience: int = 8,
        learning_rate: float = 1e-3,
        val_fraction: float = 0.1,
        normalize: str = "rms",
        random_state: int | None = None,
        progress: bool = True,
        accelerator: str = "cpu",
        num_threads: int | None = 1,
        callbacks=None,
    ):
        self.widths = widths
        self.activation = activation
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.learning_rate = learning_rate
        self.val_fraction = val_fraction
        self.normalize = normalize
        self.random_state = random_state
        self.progress = progress
        self.accelerator = accelerator
        self.num_threads = num_threads
        self.callbacks = callbacks

    def _fit(self, X) -> AutoencoderEmbedding:
        """Train the autoencoder on spectra ``(n_spectra, n_bias)``."""
        import pytorch_lightning as pl

        from stswidgets.learn.autoencoder import AutoencoderModule, SpectraDataModule

        X = self._check_input(X, fitting=True)
        seed = seed_from(self.random_state)
        scaler = SpectrumScaler(self.normalize).fit(X)
        data = SpectraDataModule(scaler.transform(X), self.batch_size, self.val_fraction, seed)
        pl.seed_everything(seed, workers=True, verbose=False)
        module = AutoencoderModule(
            X.shape[1], _widths(self.widths), self.activation, self.learning_rate
        )
        self.history_ = train(
            module,
            data,
            seed=seed,
            max_epochs=self.max_epochs,
            patience=self.patience,
            progress=self.progress,
            accelerator=self.accelerator,
            callbacks=self.callbacks,
        )
        self.n_features_in_ = X.shape[1]
        self.scaler_mean_ = scaler.mean_
        self.scaler_scale_ = scaler.scale_
        self.seed_ = seed
        self.module_ = module
        return self

    def _transform(self, X) -> np.ndarray:
        """Latent coordinates ``(n_spectra, widths[-1])``, float64."""
        X = self._check_input(X, fitting=False)
        scaler = SpectrumScaler(self.normalize)
        scaler.mean_, scaler.scale_ = self.scaler_mean_, self.scaler_scale_
        return predict(self.module_, scaler.transform(X))
