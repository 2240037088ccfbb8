"""Similarity learning (paper Fig. 7) and the site classes (Fig. 8's bands), once.

:func:`similarity_score` trains :class:`stswidgets.learn.SimilarityScore` (the Siamese
projection and the score network) with the config's bounds; :func:`site_classes` splits the
spectra into the majority, the transition and the minority kinds and gives each class's mean
spectrum. Notebooks 06 and 07, the app and ``stswidgets run`` call these two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = ["Projection", "SiteClasses", "similarity_score", "site_classes"]


@dataclass
class Projection:
    """The Siamese projection ``Z`` ``(n_spectra, 2)``, the ``score`` ``(n_spectra,)`` (>= 0,
    distance from the majority), the signed ``coordinate`` of the score network, the
    ``monotonicity`` of the fold check, the ``epochs`` each network trained, the pair
    ``threshold`` (scaled units), both networks' loss ``history`` and the ``majority``'s
    position in the projection. ``scorer`` is the fitted estimator (for the coordinate field
    over the projection plane); it is None after a load from a cache that could not keep it.
    """

    Z: np.ndarray
    score: np.ndarray
    coordinate: np.ndarray
    monotonicity: float
    epochs: tuple[int, int]
    threshold: float
    history: tuple[dict, dict]
    majority: np.ndarray
    scorer: object = None


def similarity_score(
    X: np.ndarray, config: PipelineConfig | None = None, callbacks=None, progress: bool = True
) -> Projection:
    """Projection + 1D score of ``X`` by :class:`stswidgets.learn.SimilarityScore`.

    ``config`` sets ``seed``, ``threshold_quantile``, ``learn_normalization``, ``max_epochs``,
    ``max_time``, ``pairs_per_epoch`` and ``restarts``; ``callbacks`` (e.g. a
    :class:`stswidgets.widgets.TrainingMonitor`) are handed to both trainings.
    """
    from stswidgets.learn import SimilarityScore

    config = config or config_for("full")
    scorer = SimilarityScore(
        random_state=config.seed,
        embedding_threshold_quantile=config.threshold_quantile,
        normalize=config.learn_normalization,
        max_epochs=config.max_epochs,
        max_time=config.max_time,
        pairs_per_epoch=config.pairs_per_epoch,
        restarts=config.restarts,
        progress=progress,
        callbacks=callbacks,
    )
    score = scorer.fit_transform(X)
    embedding = scorer.embedding_estimator_
    return Projection(
        Z=scorer.embedding_,
        score=score,
        coordinate=scorer.coordinate_,
        monotonicity=float(scorer.monotonicity_),
        epochs=(len(embedding.history_["val_loss"]), len(scorer.history_["val_loss"])),
        threshold=float(embedding.threshold_),
        history=(dict(embedding.history_), dict(scorer.history_)),
        majority=np.asarray(scorer.majority_),
        scorer=scorer,
    )


@dataclass
class SiteClasses:
    """The classes of each spectrum: ``labels`` ``(n_spectra,)`` (0 majority, 1 transition,
    2 + k the k-th minority kind), their ``names``, the score ``edges`` between them and the
    mean / std spectra of each class ``(n_classes, n_bias)``."""

    labels: np.ndarray
    n_kinds: int
    names: tuple[str, ...]
    edges: list[float]
    mean: np.ndarray
    std: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.names))

    @property
    def majority_edge(self) -> float:
        return self.edges[0]


def site_classes(
    X: np.ndarray,
    projection: Projection,
    config: PipelineConfig | None = None,
    simulated: bool = False,
) -> SiteClasses:
    """Majority, transition and minority kinds from the projection and the score.

    ``simulated`` names the classes in FeSe words (surface, transition, vacancy); a data file
    gets generic ones (majority, transition, minority).
    """
    from stswidgets.analysis import FESE_NAMES, class_names, classify_kinds
    from stswidgets.analysis.spectral_weight import band_spectra

    config = config or config_for("full")
    classes = classify_kinds(projection.Z, projection.score)
    names = class_names(classes.n_kinds, FESE_NAMES if simulated else None)
    mean, std = band_spectra(X, classes.labels, n_classes=len(names))
    edges = [float(classes.majority_edge), *map(float, classes.kind_edges)]
    return SiteClasses(classes.labels.astype(np.int8), classes.n_kinds, names, edges, mean, std)
