"""Spectra -> 2D: the twin-network projection and the autoencoder latent space.

- :class:`SiameseEmbedding`: a twin MLP (20 -> 5 -> 2) trained with the contrastive loss on
  pairs labelled similar / dissimilar by a threshold on their distance (paper Fig. 7a, b).
- :class:`AutoencoderEmbedding`: the 2D bottleneck of a deep autoencoder (paper Fig. 6).

Both follow the scikit-learn contract (see :mod:`stswidgets.learn`). Training runs on the CPU
by default (``accelerator="cpu"``), where results are bitwise reproducible for a given
``random_state`` on every machine; ``accelerator="auto"`` takes a GPU when one is present (GPU
kernels may differ in the last digits between cards), ``accelerator="gpu"`` insists on one.
"""

from __future__ import annotations

import numpy as np

from stswidgets.learn._base import LightningEstimator, widths_tuple
from stswidgets.learn._training import SpectrumScaler, predict, seed_from

__all__ = ["AutoencoderEmbedding", "SiameseEmbedding"]


class SiameseEmbedding(LightningEstimator):
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
        The threshold as a quantile of the pair-distance distribution (default 0.85: the
        farthest 15 % of the pairs are dissimilar, in a long-tailed distribution the pairs
        involving minority spectra). At 0.9 the projection is a line with the transition
        ring folded into the surface cluster; 0.85 also makes most transition-surface pairs
        dissimilar, and the projection runs surface -> transition -> vacancy (on the four
        simulated conditions, three seeds each, 64 x 64 x 256: distance from the projection
        median, transition vs surface ROC AUC 0.995, 0.694, 0.990, 0.982 at 0.85 against
        0.956, 0.639, 0.966, 0.986 at 0.9; 0.8 bends the projection back on itself).
    pairs_per_epoch : int
        Training pairs drawn anew each epoch.
    batch_size : int
        Pairs per step.
    max_epochs : int
        Default 60 (with ``patience`` 10): on the four simulated conditions, three seeds each
        (64 x 64 x 256), the mean ROC AUC of the :class:`~stswidgets.learn.SimilarityScore`
        built on the projection rose from 0.9936 / 0.9950 / 0.9927 / 0.9931 at 30 epochs
        (patience 5) to 0.9965 / 0.9976 / 0.9972 / 0.9935; 100 epochs (patience 20) gained
        at most 0.001 more.
    max_time : float, optional
        Most seconds each training may run (Lightning's ``Trainer(max_time=...)``), besides
        ``max_epochs``: training stops at whichever comes first and keeps the best weights
        so far. None (default): no time bound. With a time bound the number of epochs
        depends on the machine's speed and load, so results are no longer bitwise
        reproducible for a given ``random_state`` (they are when ``max_epochs`` or early
        stopping ends the training first).
    patience : int
        Early stopping: epochs without improvement of the held-out pair loss.
    learning_rate : float
        Adam learning rate.
    normalize : str
        Per-spectrum normalisation before the common centring and scaling, removing setpoint
        variation: any name of :data:`stswidgets.preprocess.NORMALIZATIONS` (formulas in
        :func:`stswidgets.preprocess.normalize`). ``"outside"`` (default) divides each
        spectrum by its mean absolute value over the outer 10 % of the bias points at each end
        (far from the gap when the bias window spans it), ``"rms"`` by its RMS, ``"area"``
        (alias ``"integral"``) by its mean absolute value; ``"none"`` keeps absolute
        intensities. Chosen on :func:`stswidgets.datasets.random_grid` tuning seeds
        0-29 (40 x 40 pixels, :class:`~stswidgets.learn.SimilarityScore`,
        ``benchmarks/tune_score.py``), median / 10th percentile: defect-vs-surface AUC
        1.000 / 0.995 with ``"outside"`` against 1.000 / 0.980 with ``"rms"``; defect vs
        transition 0.969 / 0.876 against 0.951 / 0.888; transition vs surface 0.951 / 0.895
        against 0.954 / 0.864; kind ARI (:func:`stswidgets.analysis.classify_kinds`)
        0.81 / 0.43 against 0.70 / 0.39. ``"integral"`` (seeds 0-9) was no better than
        ``"rms"``.
    random_state : int, optional
        Seed of the pairs, the weights and the training; None: a fresh random seed.
    progress : bool
        Show a progress bar over each epoch's batches (no validation bar); the environment
        variable ``STSWIDGETS_PROGRESS=0`` turns it off (``stswidgets run`` sets it, so
        executed notebooks hold no progress-bar lines).
    accelerator : str
        ``"cpu"`` (default: bitwise reproducible results on every machine), ``"auto"`` (a GPU
        when one is present, else the CPU) or ``"gpu"``; passed to Lightning's ``Trainer``.
    num_threads : int, optional
        Torch intra-op threads while fitting and transforming (restored afterwards); default
        1, since networks this small gain little from threads and threads spinning against
        each other on a busy machine slow training many-fold. None: torch's own setting.
    callbacks : list of Lightning callbacks, optional
        Extra callbacks (e.g. :class:`stswidgets.widgets.TrainingMonitor`).
    devices : int, list of int or "auto"
        Lightning's ``Trainer(devices=...)``: how many (or which) devices of ``accelerator``
        train. 1 (default): one device (the CPU, or one GPU), in this process.
    strategy : str or Lightning strategy
        Lightning's ``Trainer(strategy=...)``: ``"auto"`` (default), or data-parallel training
        over ``devices``: ``"ddp_spawn"`` (processes spawned from here; works in notebooks
        and on the CPU with ``accelerator="cpu"``, joined by gloo), ``"ddp_notebook"``
        (forked, notebooks), ``"ddp"`` (from a script, e.g. on the GPUs of a cluster node).
        Each process draws its share of every epoch's training pairs (so an epoch holds the
        same pairs in ``world_size`` times larger steps); the validation pairs are the same in
        every process; ``history_`` and the kept weights come from the first process. Spawned
        processes must be able to pickle the ``callbacks``. Results depend on the number of
        processes; for one ``devices`` and ``strategy`` they are reproducible on the CPU.
        Neither is saved by :meth:`save` (a loaded model predicts in this process).

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
        threshold_quantile: float = 0.85,
        pairs_per_epoch: int = 65536,
        batch_size: int = 2048,
        max_epochs: int = 60,
        max_time: float | None = None,
        patience: int = 10,
        learning_rate: float = 1e-2,
        normalize: str = "outside",
        random_state: int | None = None,
        progress: bool = True,
        accelerator: str = "cpu",
        num_threads: int | None = 1,
        callbacks=None,
        devices=1,
        strategy="auto",
    ):
        self.widths = widths
        self.activation = activation
        self.margin = margin
        self.threshold = threshold
        self.threshold_quantile = threshold_quantile
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.patience = patience
        self.learning_rate = learning_rate
        self.normalize = normalize
        self.random_state = random_state
        self.progress = progress
        self.accelerator = accelerator
        self.num_threads = num_threads
        self.callbacks = callbacks
        self.devices = devices
        self.strategy = strategy

    def _fit(self, X) -> SiameseEmbedding:
        """Learn the projection from spectra ``X`` of shape ``(n_spectra, n_bias)``."""
        X = self._check_input(X, fitting=True)
        seed = seed_from(self.random_state)
        scaler = SpectrumScaler(self.normalize).fit(X)
        module, data, self.history_ = self._train_twin(
            scaler.transform(X), seed, threshold=self.threshold
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


class AutoencoderEmbedding(LightningEstimator):
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
    max_epochs, max_time, patience, learning_rate, normalize, random_state, progress,
    accelerator, num_threads, callbacks, devices, strategy : see :class:`SiameseEmbedding`
    (``normalize`` defaults to ``"rms"`` here: the choice of ``"outside"`` was measured for
    the twin networks only)
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
        max_time: float | None = None,
        patience: int = 8,
        learning_rate: float = 1e-3,
        val_fraction: float = 0.1,
        normalize: str = "rms",
        random_state: int | None = None,
        progress: bool = True,
        accelerator: str = "cpu",
        num_threads: int | None = 1,
        callbacks=None,
        devices=1,
        strategy="auto",
    ):
        self.widths = widths
        self.activation = activation
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.patience = patience
        self.learning_rate = learning_rate
        self.val_fraction = val_fraction
        self.normalize = normalize
        self.random_state = random_state
        self.progress = progress
        self.accelerator = accelerator
        self.num_threads = num_threads
        self.callbacks = callbacks
        self.devices = devices
        self.strategy = strategy

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
            X.shape[1], widths_tuple(self.widths), self.activation, self.learning_rate
        )
        self.history_ = self._train(module, data, seed)
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
