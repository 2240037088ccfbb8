"""Tuning run of the score and the site classes (issue 19) on the TUNING seeds 0-29 only.

Per seed: :func:`stswidgets.evaluation.draw` (24-48 px), the spectra normalised as
``pipeline.load`` does (``normalize="auto"``), ``SimilarityScore(random_state=seed,
normalize="none")``, then ``pipeline.site_classes`` with the map. Against the truth (core =
``kind > 0``, ring = ``transition``, far = the rest): score ROC AUC core/far, ring/far,
core/ring; far-surface pixels in the majority class; fraction of the transition class in the
ring region; per kind the fraction of its cores in its own class (0 where its class is shared
with another kind or is not a kind class; the worst kind per seed); ARI of the classes among
the cores. Fits are cached in ``--cache`` (``.npz``), so the classes can be re-tuned without
training again.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/tune_classes.py --cache /tmp/classes-tune
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def fit_seed(seed: int, cache: Path) -> dict:
    from stswidgets import pipeline, to_matrix
    from stswidgets.evaluation.generalization import draw
    from stswidgets.learn import SimilarityScore

    path = cache / f"{seed}.npz"
    if not path.exists():
        ds = draw(seed)
        X, _ = to_matrix(ds["didv"])
        X, _ = pipeline.normalize_grid(ds["didv"], X, "auto")
        est = SimilarityScore(random_state=seed, progress=False, normalize="none").fit(X)
        np.savez(
            path,
            Z=est.embedding_,
            pscore=est.projection_distance_,
            Xs=est.embedding_estimator_._scaled(X),
        )
    return dict(np.load(path))


def evaluate(seed: int, fit: dict) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from stswidgets import pipeline, to_matrix
    from stswidgets.analysis.metrics import roc_auc
    from stswidgets.evaluation.generalization import draw
    from stswidgets.learn import SimilarityScore

    est = SimilarityScore()
    est._fit_signal(np.asarray(fit["Xs"], float), fit["pscore"])  # the score from the cache
    score = np.sqrt((est.signal_**2).sum(axis=1)) / est.score_unit_
    ds = draw(seed)
    X, valid = to_matrix(ds["didv"])
    X, _ = pipeline.normalize_grid(ds["didv"], X, "auto")
    projection = SimpleNamespace(score=score, Z=fit["Z"], signal=est.signal_)
    labels = pipeline.site_classes(X, projection, grid=ds["didv"], valid=valid).labels
    m = np.asarray(valid)
    kind, ring = ds["kind"].values[m], ds["transition"].values[m]
    core = kind > 0
    ring &= ~core
    far = ~core & ~ring
    own = []
    kinds = np.unique(kind[core])
    for k in kinds:
        found = labels[kind == k]
        top = np.bincount(found).argmax()
        shared = any(np.bincount(labels[kind == j]).argmax() == top for j in kinds if j != k)
        own.append(0.0 if shared or top < 2 else float((found == top).mean()))
    transition = labels == 1
    return {
        "auc_core_far": roc_auc(score[core], score[far]),
        "auc_ring_far": roc_auc(score[ring], score[far]),
        "auc_core_ring": roc_auc(score[core], score[ring]),
        "far_in_majority": float((labels[far] == 0).mean()),
        "transition_in_ring": float(ring[transition].mean()) if transition.any() else np.nan,
        "kind_cores_own_class": min(own) if own else np.nan,
        "kind_ari_cores": float(adjusted_rand_score(kind[core], labels[core])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/classes-tune"))
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(30)))
    args = parser.parse_args()
    if any(seed >= 1000 for seed in args.seeds):
        raise SystemExit("tune_classes: seeds 1000-1029 are the reporting seeds; tune on 0-29")
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = [evaluate(seed, fit_seed(seed, args.cache)) for seed in args.seeds]
    for key in rows[0]:
        values = np.array([row[key] for row in rows], dtype=float)
        print(
            f"{key:22s} median {np.nanmedian(values):.3f}  10th percentile "
            f"{np.nanpercentile(values, 10):.3f}  min {np.nanmin(values):.3f}"
        )


if __name__ == "__main__":
    main()
