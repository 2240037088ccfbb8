"""The metrics of one draw: a method's score and site classes against the simulated truth.

Truth (the simulators' contract, :func:`stswidgets.datasets.truth_regions`): **core** = pixels
inside a defect core (``kind > 0``), **ring** = the ring region (``transition``: non-core
pixels within the core radius + 3 healing lengths of a defect centre), **far surface** = the
rest (``kind == 0`` and not ``transition``). Predicted site classes follow ``site_class``:
0 majority, 1 transition, 2, 3, ... the kinds.

Per draw (:func:`draw_metrics`):

- ``auc_core_far``, ``auc_ring_far``, ``auc_core_ring``: ROC AUC of the score, the first region
  scored above the second (Mann-Whitney; 0.5 chance, 1 perfect);
- ``kind_ari_cores``: adjusted Rand index of truth kind vs predicted class on core pixels only;
- ``far_in_majority``: fraction of far-surface pixels in the majority class;
- ``transition_in_ring``: fraction of the transition class inside the ring region (NaN when the
  class is empty); ``ring_in_transition`` the converse (diagnostic);
- ``kind_cores_own_class``: each kind's cores in their own class (the predicted kind class
  matched to it one-to-one, :func:`kind_core_fractions`), the worst kind of the draw;
- ``trustworthiness``: :func:`sklearn.manifold.trustworthiness` of the latent space against
  the normalised spectra (k nearest neighbours kept, :data:`KNN_NEIGHBOURS`, on a random
  subsample of :data:`KNN_SAMPLE` pixels);
- ``spearman_proximity``: Spearman rank correlation of the score with minus the distance to
  the nearest defect centre: a diagnostic only (it rewards a smooth decay, not a separation).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "KNN_NEIGHBOURS",
    "KNN_SAMPLE",
    "draw_metrics",
    "far_in_majority",
    "kind_ari_cores",
    "kind_core_fractions",
    "knn_preservation",
    "score_aucs",
    "transition_in_ring",
]

#: Neighbours and pixels of the kNN preservation (trustworthiness) of a latent space.
KNN_NEIGHBOURS = 10
KNN_SAMPLE = 500

FAR, RING, CORE = 0, 1, 2
MAJORITY, TRANSITION = 0, 1


def score_aucs(score, regions) -> dict[str, float]:
    """ROC AUCs of ``score`` ``(n,)`` between truth ``regions`` ``(n,)`` (0 far surface, 1 ring,
    2 core): ``auc_core_far``, ``auc_ring_far``, ``auc_core_ring``; NaN for an empty region."""
    from stswidgets.analysis.metrics import roc_auc

    score, regions = np.asarray(score, dtype=float), np.asarray(regions)
    far, ring, core = (score[regions == r] for r in (FAR, RING, CORE))
    return {
        "auc_core_far": roc_auc(core, far),
        "auc_ring_far": roc_auc(ring, far),
        "auc_core_ring": roc_auc(core, ring),
    }


def kind_ari_cores(kind, classes) -> float:
    """Adjusted Rand index of the truth ``kind`` ``(n,)`` (0 outside cores) and the predicted
    ``classes`` ``(n,)`` on the core pixels only (``kind > 0``); NaN without cores."""
    from sklearn.metrics import adjusted_rand_score

    kind, classes = np.asarray(kind), np.asarray(classes)
    core = kind > 0
    if not core.any():
        return float("nan")
    return float(adjusted_rand_score(kind[core], classes[core]))


def far_in_majority(classes, regions) -> float:
    """Fraction of far-surface pixels (region 0) in the majority class (0); NaN without any."""
    far = np.asarray(regions) == FAR
    return float(np.mean(np.asarray(classes)[far] == MAJORITY)) if far.any() else float("nan")


def transition_in_ring(classes, regions) -> tuple[float, float]:
    """``(precision, recall)`` of the transition class (1) against the ring region (1): the
    fraction of the class inside the ring (NaN for an empty class) and of the ring inside the
    class (NaN without a ring)."""
    predicted = np.asarray(classes) == TRANSITION
    ring = np.asarray(regions) == RING
    precision = float(np.mean(ring[predicted])) if predicted.any() else float("nan")
    recall = float(np.mean(predicted[ring])) if ring.any() else float("nan")
    return precision, recall


def kind_core_fractions(kind, classes) -> dict[int, float]:
    """For each truth kind, the fraction of its core pixels in its own predicted kind class.

    The kinds 1..k and the predicted kind classes (2, 3, ...) are matched one-to-one to keep
    the most cores in matched classes (the assignment problem,
    :func:`scipy.optimize.linear_sum_assignment`); a kind left without a class (fewer
    predicted kind classes than kinds) gets 0, so two kinds merged into one class cannot both
    count as found.

    Returns
    -------
    dict
        ``kind -> fraction`` for each kind with core pixels (empty without cores).
    """
    from scipy.optimize import linear_sum_assignment

    kind, classes = np.asarray(kind), np.asarray(classes)
    kinds = [int(k) for k in np.unique(kind[kind > 0])]
    found = [int(c) for c in np.unique(classes) if c > TRANSITION]
    out = dict.fromkeys(kinds, 0.0)
    if not kinds or not found:
        return out
    counts = np.array([[np.sum((kind == k) & (classes == c)) for c in found] for k in kinds])
    rows, cols = linear_sum_assignment(-counts)
    for r, c in zip(rows, cols, strict=True):
        out[kinds[r]] = float(counts[r, c] / np.sum(kind == kinds[r]))
    return out


def knn_preservation(
    X, latent, n_neighbors: int = KNN_NEIGHBOURS, sample: int = KNN_SAMPLE, seed: int = 0
) -> float:
    """Trustworthiness of ``latent`` ``(n, k)`` against ``X`` ``(n, n_bias)``: how far the
    ``n_neighbors`` nearest neighbours in the latent space are also near in ``X`` (1 =
    neighbourhoods kept), on ``sample`` pixels drawn without replacement (all when fewer)."""
    from sklearn.manifold import trustworthiness

    X = np.asarray(X, dtype=np.float64)
    latent = np.asarray(latent, dtype=np.float64).reshape(len(X), -1)
    if len(X) > sample:
        pick = np.sort(np.random.default_rng(seed).choice(len(X), sample, replace=False))
        X, latent = X[pick], latent[pick]
    n_neighbors = min(int(n_neighbors), len(X) // 2 - 1)
    if n_neighbors < 1:
        return float("nan")
    return float(trustworthiness(X, latent, n_neighbors=n_neighbors))


def draw_metrics(
    score, classes, latent, X, regions, kind, defect_distance=None, seed: int = 0
) -> dict[str, float]:
    """Every metric of one method on one draw (see the module docstring).

    Parameters
    ----------
    score : array-like, shape ``(n,)``
        The method's label-free score (high = unlike the majority).
    classes : array-like of int, shape ``(n,)``
        Its site classes (0 majority, 1 transition, 2.. kinds).
    latent : array-like, shape ``(n, k)``
        Its latent space.
    X : array-like, shape ``(n, n_bias)``
        The normalised spectra the method received.
    regions : array-like of int, shape ``(n,)``
        Truth: 0 far surface, 1 ring, 2 core.
    kind : array-like of int, shape ``(n,)``
        Truth kind of each pixel (0 outside cores).
    defect_distance : array-like, shape ``(n,)``, optional
        Distance to the nearest defect centre (nm), for the Spearman diagnostic.
    seed : int
        Seed of the trustworthiness subsample.
    """
    from scipy.stats import spearmanr

    score = np.asarray(score, dtype=float)
    classes = np.asarray(classes, dtype=int)
    precision, recall = transition_in_ring(classes, regions)
    fractions = kind_core_fractions(kind, classes)
    spearman = float("nan")
    if defect_distance is not None and np.ptp(score) > 0:
        spearman = float(spearmanr(score, -np.asarray(defect_distance, dtype=float)).statistic)
    return {
        **score_aucs(score, regions),
        "kind_ari_cores": kind_ari_cores(kind, classes),
        "far_in_majority": far_in_majority(classes, regions),
        "transition_in_ring": precision,
        "ring_in_transition": recall,
        "kind_cores_own_class": min(fractions.values()) if fractions else float("nan"),
        "trustworthiness": knn_preservation(X, latent, seed=seed),
        "spearman_proximity": spearman,
        "n_classes_found": int(len(np.unique(classes))),
    }
