"""Similarity learning (paper Fig. 7) and the site classes (Fig. 8's score bands), once.

:func:`similarity_score` trains :class:`stswidgets.learn.SimilarityScore` (the Siamese
projection and the score network) with the config's bounds; :func:`site_classes` splits the
spectra into the majority, the transition and the minority kinds and gives each class's mean
spectrum. Notebooks 06 and 07, the app and ``stswidgets run`` call these two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = [
    "CoordinateField",
    "PairDistances",
    "Projection",
    "SiteClasses",
    "coordinate_field",
    "pair_distances",
    "score_separation",
    "score_summary",
    "second_projection",
    "similarity_score",
    "site_classes",
]


@dataclass
class Projection:
    """The Siamese projection ``Z`` ``(n_spectra, 2)``, the ``score`` ``(n_spectra,)`` (>= 0,
    distance from the majority), the signed ``coordinate`` of the score network, the
    ``monotonicity`` of the fold check, the ``epochs`` each network trained, the pair
    ``threshold`` (scaled units), both networks' loss ``history`` and the ``majority``'s
    position in the projection. ``signal`` ``(n_spectra, n_signal)``: the spectra in the
    signal subspace, from the majority's spectrum (the score is their length in the score's
    unit; the kinds are told apart there); ``projection_distance``: the distance from the
    majority in the projection (the score before issue 19; it saturates). ``scorer`` is the
    fitted estimator (for the coordinate field over the projection plane); it is None after
    a load from a cache that could not keep it.
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
    signal: np.ndarray | None = None
    projection_distance: np.ndarray | None = None


def similarity_score(
    X: np.ndarray, config: PipelineConfig | None = None, callbacks=None, progress: bool = True
) -> Projection:
    """Projection + 1D score of ``X`` by :class:`stswidgets.learn.SimilarityScore`.

    ``X`` is used as given (``PipelineInput.X``, normalised once by :func:`stswidgets.
    pipeline.load`): the estimators get ``normalize="none"`` (their one global scale stays).
    ``config`` sets ``seed``, ``threshold_quantile``, ``max_epochs``,
    ``max_time``, ``pairs_per_epoch`` and ``restarts``; ``callbacks`` (e.g. a
    :class:`stswidgets.widgets.TrainingMonitor`) are handed to both trainings.
    """
    from stswidgets.learn import SimilarityScore

    config = config or config_for("full")
    scorer = SimilarityScore(
        random_state=config.seed,
        embedding_threshold_quantile=config.threshold_quantile,
        normalize="none",
        max_epochs=config.max_epochs,
        max_time=config.max_time,
        pairs_per_epoch=config.pairs_per_epoch,
        restarts=config.restarts,
        progress=progress,
        callbacks=callbacks,
    )
    score = scorer.fit_transform(X)
    embedding = scorer.embedding_estimator_
    # the callbacks (a live TrainingMonitor widget) served the training only: the fitted
    # estimators keep none, so a Projection pickles into the run folder's cache
    for estimator in (scorer, embedding):
        estimator.callbacks = None
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
        signal=np.asarray(scorer.signal_),
        projection_distance=np.asarray(scorer.projection_distance_),
    )


@dataclass
class SiteClasses:
    """The classes of each spectrum: ``labels`` ``(n_spectra,)`` (0 majority, 1 transition,
    2 + k the k-th kind), their ``names``, the score ``edges`` between them, the mean / std
    spectra of each class ``(n_classes, n_bias)`` and, where the map was given, the
    ``profiles`` (:class:`~stswidgets.pipeline.profiles.DefectProfiles`) that kept the
    transition to the defects and how many above-band spectra they ``moved`` to the majority
    (far from every defect, or within the far surface's band)."""

    labels: np.ndarray
    n_kinds: int
    names: tuple[str, ...]
    edges: list[float]
    mean: np.ndarray
    std: np.ndarray
    profiles: object = None
    moved: int = 0

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
    grid=None,
    valid=None,
) -> SiteClasses:
    """Majority, transition and the defect kinds from the score, label-free.

    Automatic (``config.class_edges`` None): :func:`stswidgets.analysis.classify_kinds` finds
    the majority's score band and as many kinds as the signal subspace shows
    (``projection.signal``; the 2D projection where a cached projection lacks it). With the
    map (``grid`` and ``valid``), the transition must hug the defects: the defect centres
    are the kind regions' centroids, the score's radial profile around them gives a decay
    length, and a transition spectrum farther than the core radius plus 3 decay lengths
    from every centre, or within the far surface's score band, is majority
    (:func:`stswidgets.pipeline.profiles.hug_defects`); without a kind, no transition. Manual
    (``config.class_edges = (majority_edge, kind_edge)``, score units): score <=
    ``majority_edge`` is majority, > ``kind_edge`` the one minority kind, between them
    transition.

    ``simulated`` names the classes in FeSe words (surface, transition, vacancy); a data file
    gets generic ones (majority, transition, minority). The class means and standard
    deviations are of ``X`` as given ``(n_classes, n_bias)``, NaN for an empty class.

    Raises
    ------
    ValueError
        ``config.class_edges`` not two increasing finite numbers.
    """
    from stswidgets.analysis import FESE_NAMES, class_names, classify_kinds
    from stswidgets.analysis.spectral_weight import class_spectra

    config = config or config_for("full")
    score = np.asarray(projection.score, dtype=float)
    if config.class_edges is None:
        space = projection.Z if projection.signal is None else projection.signal
        classes = classify_kinds(space, score)
        labels, n_kinds = classes.labels.astype(np.int8), classes.n_kinds
        edges = [float(classes.majority_edge), *map(float, classes.kind_edges)]
    else:
        edges = [float(edge) for edge in config.class_edges]
        if len(edges) != 2 or not np.all(np.isfinite(edges)) or edges[0] >= edges[1]:
            raise ValueError(
                "class_edges must be (majority_edge, kind_edge) with majority_edge < kind_edge "
                f"(score units), got {config.class_edges!r}"
            )
        labels = np.ones(len(score), dtype=np.int8)
        labels[score <= edges[0]] = 0
        labels[score > edges[1]] = 2
        n_kinds = 1
    profiles, moved = None, 0
    if grid is not None and valid is not None and "y" in grid.dims:  # a map, not a collection
        from stswidgets.pipeline.profiles import defect_profiles, hug_defects

        profiles = defect_profiles(score, X, grid, valid, labels=labels)
        hugged = hug_defects(labels, score, profiles)
        moved = int(np.count_nonzero(hugged != labels))
        labels = hugged.astype(np.int8)
    names = class_names(n_kinds, FESE_NAMES if simulated else None)
    mean, std = class_spectra(X, labels, n_classes=len(names))
    return SiteClasses(labels, n_kinds, names, edges, mean, std, profiles, moved)


@dataclass
class PairDistances:
    """Distances of random pairs of scaled spectra ``(n_pairs,)`` (the units the pairs are
    labelled in) and the ``threshold`` at the ``quantile`` beyond which a pair is dissimilar
    (Fig. 7a)."""

    distances: np.ndarray
    threshold: float
    quantile: float


def pair_distances(
    X, projection: Projection, config: PipelineConfig | None = None, n_pairs: int = 100_000
) -> PairDistances:
    """``n_pairs`` random pair distances of ``X`` scaled as the projection's training saw them.

    Raises
    ------
    ValueError
        ``projection`` has no fitted ``scorer`` (a cache that could not keep it).
    """
    from stswidgets.learn.pairs import sample_pair_distances

    config = config or config_for("full")
    embedding = _fitted(projection).embedding_estimator_
    distances = sample_pair_distances(embedding.scale(X), n_pairs=n_pairs, seed=config.seed)
    return PairDistances(distances, projection.threshold, config.threshold_quantile)


def second_projection(X, config: PipelineConfig | None = None, progress: bool = True):
    """A second Siamese projection ``(n_spectra, 2)``, with ``second_threshold_quantile`` and
    seed ``seed + 1`` (Fig. 7b: the arrangement should not hinge on either).

    An independent training (its own seed, threshold and initial weights), shorter than the
    first: at most ``second_max_epochs`` epochs of ``second_pairs_per_epoch`` pairs (each
    bounded by the first's ``max_epochs`` and ``pairs_per_epoch``). On the demo grid, seeds
    0-2, that took 8.0-8.4 s of CPU against 22-29 s with the first's settings (60 epochs of
    65536 pairs, early stopping after 31-40), and the projection kept the vacancies apart from
    the surface as well (ROC AUC of the distance from its median 0.9999-1.0, against
    0.9984-1.0; transition vs surface 0.92-0.99, against 0.96-0.99).
    """
    from stswidgets.learn import SiameseEmbedding

    config = config or config_for("full")
    embedding = SiameseEmbedding(
        threshold_quantile=config.second_threshold_quantile,
        random_state=config.seed + 1,
        normalize="none",
        max_epochs=_bounded(config.max_epochs, config.second_max_epochs),
        max_time=config.max_time,
        pairs_per_epoch=_bounded(config.pairs_per_epoch, config.second_pairs_per_epoch),
        progress=progress,
    )
    return np.asarray(embedding.fit_transform(X), dtype=np.float64)


def _bounded(first: int, second: int | None) -> int:
    """The second projection's setting: ``second`` but never above ``first`` (None: ``first``)."""
    return first if second is None else min(first, second)


@dataclass
class CoordinateField:
    """The score network's signed ``coordinate`` and the ``score`` on a mesh of the projection
    plane: ``t1``, ``t2`` ``(size, size)`` in projection units (``meshgrid`` order)."""

    t1: np.ndarray
    t2: np.ndarray
    coordinate: np.ndarray
    score: np.ndarray


def coordinate_field(projection: Projection, size: int = 200, pad: float = 0.1) -> CoordinateField:
    """The coordinate and score fields over the projection's extent plus ``pad`` of it on each
    side (Fig. 7c).

    Raises
    ------
    ValueError
        ``projection`` has no fitted ``scorer``.
    """
    scorer = _fitted(projection)
    Z = projection.Z
    low, high = Z.min(axis=0), Z.max(axis=0)
    margin = pad * (high - low)
    t1, t2 = np.meshgrid(
        np.linspace(low[0] - margin[0], high[0] + margin[0], size),
        np.linspace(low[1] - margin[1], high[1] + margin[1], size),
    )
    mesh = np.column_stack([t1.ravel(), t2.ravel()])
    return CoordinateField(
        t1,
        t2,
        np.asarray(scorer.coordinate_projection(mesh)).reshape(t1.shape),
        np.asarray(scorer.score_projection(mesh)).reshape(t1.shape),
    )


def _fitted(projection: Projection):
    if projection.scorer is None:
        raise ValueError(
            "this Projection keeps no fitted scorer (it was loaded from a cache that could not "
            "keep it); run pipeline.similarity_score again"
        )
    return projection.scorer


def score_separation(projection: Projection, data):
    """ROC AUCs (vacancy/surface, vacancy/transition, transition/surface) and the Fisher ratio
    of the score and of the signed coordinate (both as they are: no sign flip from the truth)
    and of the projection (distance from its median), one row each (a DataFrame); None for a
    grid without ground truth (``data``: a :class:`~stswidgets.pipeline.PipelineInput`)."""
    import pandas as pd

    from stswidgets.analysis.metrics import separation_report

    if data.truth is None:
        return None
    rows = []
    for name, values, orient in [
        ("score", projection.score, False),
        ("coordinate", projection.coordinate, False),
        ("projection", projection.Z, True),
    ]:
        report = separation_report(values, data.truth, data.valid, orient=orient)
        rows.append(
            {
                "values": name,
                "vac/surf": report.auc_vacancy_surface,
                "vac/tr": report.auc_vacancy_transition,
                "tr/surf": report.auc_transition_surface,
                "Fisher": report.fisher,
            }
        )
    return pd.DataFrame(rows).set_index("values")


def score_summary(projection: Projection, classes: SiteClasses, separation=None) -> list[str]:
    """The "what this shows" sentences of notebook 06 from its numbers."""
    score = projection.score
    counts = ", ".join(f"{n} {name}" for name, n in zip(classes.names, classes.counts, strict=True))
    lines = [
        f"{len(score)} spectra; {(score > classes.majority_edge).mean():.1%} score beyond the "
        f"majority's band (score > {classes.majority_edge:.2f}); classes: {counts}",
        f"the score grows along the projection away from the majority with monotonicity "
        f"{projection.monotonicity:.2f} (1: no fold"
        + (
            "; below 0.95 it may fold: read the classes with care)"
            if projection.monotonicity < 0.95
            else ")"
        ),
    ]
    if classes.n_kinds > 1:
        sides = {
            float(np.sign(np.median(projection.coordinate[classes.labels == 2 + k])))
            for k in range(classes.n_kinds)
        }
        where = "opposite sides" if len(sides) > 1 else "the same side"
        lines.append(
            f"{classes.n_kinds} minority kinds; on the signed coordinate they lie on {where} "
            "of the majority, all with high scores"
        )
    if separation is not None:
        lines.append(
            f"against the simulated truth: vacancy/surface AUC "
            f"{separation.loc['score', 'vac/surf']:.3f}, transition/surface "
            f"{separation.loc['score', 'tr/surf']:.3f}"
        )
    return lines
