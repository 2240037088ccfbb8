"""Spectra -> one continuous similarity score per spectrum (paper Fig. 7c, d).

:class:`SimilarityScore` trains a second, small twin network (10 -> 5 -> 1) with the
contrastive loss on pairs of points of the 2D projection of a
:class:`~stswidgets.learn.embedding.SiameseEmbedding`; its 1D output is the score.
"""

from __future__ import annotations

import numpy as np

from stswidgets.learn._base import LightningEstimator
from stswidgets.learn._training import predict, seed_from, torch_threads
from stswidgets.learn.embedding import SiameseEmbedding

__all__ = ["SimilarityScore", "monotonicity", "projection_graph"]

#: Fraction of spectra farthest from the median spectrum that orient the score.
OUTLIER_FRACTION = 0.05
#: A score less monotone than this along the projection is folded (see :func:`monotonicity`).
MIN_MONOTONICITY = 0.95
#: Seed offset between restarts of the score network.
RESTART_SEED_STEP = 1000


def projection_graph(Z, n_neighbors: int = 10):
    """The k-nearest-neighbour graph of the points of a projection, made connected.

    Symmetric, weighted by Euclidean distance (a ``scipy.sparse`` CSR matrix). Separate
    groups of points (a tight cluster of vacancies away from the rest) are joined one at a
    time by the shortest edge from the largest connected part to any point outside it (as in
    Prim's minimum spanning tree), so that every point has a distance along the graph from
    every other and groups are chained in the order they lie in.
    """
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree
    from sklearn.neighbors import kneighbors_graph

    Z = np.asarray(Z, dtype=np.float64)
    graph = kneighbors_graph(Z, min(n_neighbors, len(Z) - 1), mode="distance")
    graph = graph.maximum(graph.T).tolil()
    while True:
        n_groups, group = connected_components(graph, directed=False)
        if n_groups == 1:
            return graph.tocsr()
        inside = group == np.bincount(group).argmax()
        main, rest = np.flatnonzero(inside), np.flatnonzero(~inside)
        distance, nearest = cKDTree(Z[main]).query(Z[rest])
        k = int(np.argmin(distance))
        weight = max(float(distance[k]), np.finfo(np.float64).tiny)
        graph[rest[k], main[nearest[k]]] = weight
        graph[main[nearest[k]], rest[k]] = weight


def monotonicity(score, graph, n_bins: int = 20, end_fraction: float = 0.01) -> float:
    """How monotone ``score`` is along a projection, from 0 to 1 (1: monotone).

    The distance along ``graph`` (:func:`projection_graph`) from the ``end_fraction`` of the
    points that score lowest is cut into ``n_bins`` equal-width bins and the median score of
    each bin is taken (bins with fewer than 3 points are left out); the rise of these medians
    over their total variation, ``sum(max(step, 0)) / sum(|step|)``, is 1 when the score only
    grows with the distance from its low end and lower when it falls back somewhere (a
    *fold*: e.g. the vacancies, at the far end of the projection, scored below the
    transition ring). The same is done from the highest-scoring end, where the score must
    only fall; the result is the smaller of the two, which also catches a fold whose low
    (or high) end lies in the middle of the projection. Equal-width bins give a small,
    distant group of points (the vacancies) a bin of its own rather than drowning it in the
    majority.
    """
    from scipy.sparse.csgraph import dijkstra

    score = np.asarray(score, dtype=np.float64).ravel()
    n_end = max(1, int(round(end_fraction * len(score))))
    order = np.argsort(score, kind="stable")
    result = 1.0
    for sign, end in ((1.0, order[:n_end]), (-1.0, order[::-1][:n_end])):
        along = dijkstra(graph, directed=False, indices=end, min_only=True)
        edges = np.linspace(along.min(), along.max(), n_bins + 1)
        bins = np.clip(np.searchsorted(edges, along, side="right") - 1, 0, n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        medians = [np.median(sign * score[bins == b]) for b in range(n_bins) if counts[b] >= 3]
        steps = np.diff(medians)
        total = np.abs(steps).sum()
        if total > 0:
            result = min(result, float(np.clip(steps, 0, None).sum() / total))
    return result


class SimilarityScore(LightningEstimator):
    """A continuous 1D similarity score for every spectrum (paper Fig. 7c, d).

    A second, simpler twin network (default widths ``(10, 5, 1)``) is trained the same way as
    the projection network, on the same pairs, but fed the 2D projections: a pair is similar
    when the distance of its two (scaled) spectra is at most the projection network's
    threshold, dissimilar otherwise, and the contrastive loss pulls similar pairs together
    and pushes dissimilar ones ``margin`` apart on the line. Its 1D output is the score. The
    sign is fixed without ground truth: the spectra farthest from the median spectrum (the
    5 % largest distances in the scaled data space, i.e. the minority) get high scores; the
    median score is subtracted, so the majority sits near 0.

    The contrastive loss does not fix the order of groups that are all dissimilar from one
    another, so a 1D output may *fold*: score the vacancies, at the far end of the projection,
    below the transition ring around them, or the ring below the surface. Each trained score
    is checked without ground truth by its :func:`monotonicity` along the projection (the
    score must grow with the distance along the projection's neighbour graph from its low
    end); below 0.95 the score network is trained again with a new seed, at most
    ``restarts`` times, and the most monotone run is kept (``restarts_``, ``monotonicity_``).

    ``SimilarityScore(random_state=0).fit_transform(X)`` goes from spectra to scores in one
    call, fitting a :class:`SiameseEmbedding` with ``embedding_threshold_quantile`` and the
    same ``pairs_per_epoch``, ``batch_size``, ``max_epochs``, ``max_time``, ``patience``,
    ``random_state``,
    ``progress``, ``accelerator`` and ``callbacks`` first; or pass ``embedding=`` a
    :class:`SiameseEmbedding` (used as is when fitted, fitted on ``X`` when not).

    Parameters
    ----------
    embedding : SiameseEmbedding, optional
    widths : sequence of int
        Score network widths after its 2D input; default ``(10, 5, 1)``.
    activation, margin, learning_rate : see :class:`SiameseEmbedding`
    threshold_quantile : float, optional
        None (default): pairs are labelled by the distance of their spectra at the
        projection's ``threshold_``, as for the projection network. A float in (0, 1): pairs
        are labelled instead by their distance *in the projection*, at this quantile of the
        pair distances there (the previous default, 0.3, folded the transition ring below the
        surface on strong setpoint drift; measured in notebook 08).
    embedding_threshold_quantile : float
        ``threshold_quantile`` of the :class:`SiameseEmbedding` fitted here (default 0.85,
        as :class:`SiameseEmbedding`).
    restarts : int
        Most restarts of the score network when its output folds (see above); 0: none.
    fold : bool
        Return ``|score|`` (the distance of the oriented output from its median), for grids
        whose minority spectra differ from the majority in opposite ways and land on both
        sides of it. Off by default: on the simulated conditions the signed score orders
        surface < transition < vacancy better.
    pairs_per_epoch, batch_size, max_epochs, max_time, patience, random_state, progress,
    accelerator, num_threads, callbacks : see :class:`SiameseEmbedding` (``max_time`` bounds
    each training: the projection's and each run of the score network)

    Attributes
    ----------
    embedding_estimator_ : SiameseEmbedding
        The fitted projection.
    embedding_ : numpy.ndarray, shape ``(n_spectra, 2)``
        The projection of the training spectra.
    projection_center_ : numpy.ndarray, shape ``(2,)``, and ``projection_scale_`` : float
        Median and RMS spread of ``embedding_``, standardising the score network's input.
    threshold_ : float
        Pair-distance threshold of the score network's pairs: in scaled spectrum units (the
        projection's ``threshold_``) by default, in standardised projection units with a
        ``threshold_quantile``.
    sign_ : float
        +1 or -1, the orientation of the raw network output.
    offset_ : float
        Median oriented output over the training spectra (subtracted).
    history_ : dict
        Per-epoch losses of the score network (the run kept).
    restarts_ : int
        Restarts of the score network the fold check needed (0: the first run passed).
    monotonicity_ : float
        :func:`monotonicity` of the kept score along the projection (1: no fold).
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
        threshold_quantile: float | None = None,
        embedding_threshold_quantile: float = 0.85,
        fold: bool = False,
        restarts: int = 3,
        pairs_per_epoch: int = 65536,
        batch_size: int = 2048,
        max_epochs: int = 60,
        max_time: float | None = None,
        patience: int = 10,
        learning_rate: float = 1e-2,
        random_state: int | None = None,
        progress: bool = True,
        accelerator: str = "auto",
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
        self.restarts = restarts
        self.pairs_per_epoch = pairs_per_epoch
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_time = max_time
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
                max_time=self.max_time,
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
        X = self._check_input(X, fitting=True)
        if isinstance(self.restarts, bool) or not isinstance(self.restarts, (int, np.integer)):
            raise ValueError(f"restarts must be a non-negative integer, got {self.restarts!r}")
        if self.restarts < 0:
            raise ValueError(f"restarts must be a non-negative integer, got {self.restarts!r}")
        seed = seed_from(self.random_state)
        embedding = self._fit_embedding(X, seed)
        Z = embedding.transform(X)
        center = np.median(Z, axis=0)
        scale = float(np.sqrt(np.mean((Z - center) ** 2)))
        scale = scale if scale > 0 else 1.0
        Zs = ((Z - center) / scale).astype(np.float32)
        scaled = embedding._scaled(X)
        # Label-free reference for the orientation: the distance of each spectrum from the
        # median spectrum in the scaled data space.
        far = np.sqrt(((scaled - np.median(scaled, axis=0)) ** 2).sum(axis=1))
        graph = projection_graph(Zs)
        best = None
        for attempt in range(self.restarts + 1):
            fit = self._fit_network(
                Zs, scaled, embedding.threshold_, far, graph, seed + 1 + RESTART_SEED_STEP * attempt
            )
            if best is None or fit["monotonicity"] > best[1]["monotonicity"]:
                best = (attempt, fit)
            if fit["monotonicity"] >= MIN_MONOTONICITY:
                break
        attempt, fit = best
        module, data, raw, sign = fit["module"], fit["data"], fit["raw"], fit["sign"]
        self.history_ = fit["history"]
        self.restarts_ = attempt
        self.monotonicity_ = float(fit["monotonicity"])
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

    def _fit_network(self, Zs, scaled, embedding_threshold, far, graph, seed: int) -> dict:
        """Train the score network once on the standardised projection ``Zs`` and check it.

        Pairs are labelled by the scaled spectra at the projection's threshold (the default)
        or, with a ``threshold_quantile``, by their distance in ``Zs``. Returns the module, its
        data module, history, raw output ``(n_spectra,)``, the sign orienting it (the spectra
        farthest from the median spectrum, ``far``, score high) and the monotonicity of the
        oriented score along the projection (:func:`monotonicity`).
        """
        if self.threshold_quantile is None:
            module, data, history = self._train_twin(
                Zs, seed, threshold=embedding_threshold, labels=scaled
            )
        else:
            module, data, history = self._train_twin(Zs, seed)
        raw = predict(module, Zs)[:, 0]
        outliers = far >= np.quantile(far, 1.0 - OUTLIER_FRACTION)
        sign = 1.0 if raw[outliers].mean() >= np.median(raw) else -1.0
        return {
            "module": module,
            "data": data,
            "history": history,
            "raw": raw,
            "sign": sign,
            "monotonicity": monotonicity(sign * raw, graph),
        }

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
        meta["restarts_"] = int(self.restarts_)
        meta["monotonicity_"] = float(self.monotonicity_)
        return meta, tensors

    @classmethod
    def _from_state(cls, meta: dict, tensors: dict) -> SimilarityScore:
        est = super()._from_state(meta, tensors)
        est.restarts_ = int(meta.get("restarts_", 0))
        # NaN: a file saved before the fold check measured the monotonicity
        est.monotonicity_ = float(meta.get("monotonicity_", float("nan")))
        est.embedding_estimator_ = SiameseEmbedding._from_state(
            meta["embedding"], tensors["embedding"]
        )
        return est
