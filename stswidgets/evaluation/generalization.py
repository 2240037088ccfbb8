"""Every method on randomized grids it was not tuned for (notebook 08, issue 10).

Each draw is :func:`stswidgets.datasets.random_grid` with its own physics (1 to 3 defect kinds
with distinct signatures, drift, noise, bias window, shape). Every method turns the spectra
into a latent space and a label-free 1D score, and a pluggable *classifier* turns those into
kind classes; :func:`evaluate` compares both with the truth.

Methods (:data:`METHODS`), each label-free (no truth used to orient or choose anything):

- ``siamese_score``: :class:`stswidgets.learn.SimilarityScore` (its output is the score, its
  projection ``embedding_`` the latent space);
- ``siamese``: that same fitted projection (the score's first stage), score = distance from its
  median;
- ``pca``, ``kpca``, ``nmf``, ``umap``, ``autoencoder``: 2D latent spaces of
  :func:`stswidgets.pipeline.latent.embed`, score = distance from the latent median;
- ``abundance``: each spectrum's distance histogram read at the far (minority) component of the
  two-Gaussian fit of all pair distances (notebook 03, Fig. 4d); latent space = the score.

Truth classes (:func:`truth_classes`): 0 surface, 1 transition ring, 2.. the defect kinds
(``kind + 1``), the convention of ``site_class`` in ``results.nc``. The kind ARI (``ari``)
compares the predicted classes with these (transition as its own class); ``ari_merged``
first merges the transition into the surface, in the truth and in predicted class 1.

Seeds: defaults are chosen on :data:`TUNING_SEEDS` (0-29) only; figures are reported on
:data:`REPORTING_SEEDS` (1000-1029) only, which nothing was tuned on.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "METHODS",
    "REPORTING_SEEDS",
    "TARGETS",
    "TUNING_SEEDS",
    "abundance_score",
    "draw",
    "evaluate",
    "generalization_benchmark",
    "kind_classes",
    "method_outputs",
    "provisional_classes",
    "run_methods",
    "summarize",
    "target_report",
    "truth_classes",
]

METHODS = ["siamese_score", "siamese", "pca", "kpca", "nmf", "umap", "autoencoder", "abundance"]
TUNING_SEEDS = tuple(range(0, 30))
REPORTING_SEEDS = tuple(range(1000, 1030))

#: Draw settings of the benchmark: map sizes drawn in 24 ... 48 pixels per side (576 to 2,304
#: spectra, so that 30 draws x every method fit on 2 shared cores), the bias axis as drawn
#: (64 ... 1024 points) but resampled to at most 256 points (linear interpolation on an evenly
#: spaced axis over the same window).
SIZE_RANGE = (24, 48)
MAX_BIAS = 256

#: The targets of issue 10, on the reporting seeds: (statistic, metric, threshold).
TARGETS = [
    ("p10", "auc_defect_surface", 0.99),
    ("p10", "auc_defect_transition", 0.9),
    ("p10", "auc_transition_surface", 0.9),
    ("median", "ari", 0.9),
]

Classifier = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def draw(seed: int, size_range=SIZE_RANGE, max_bias: int | None = MAX_BIAS):
    """The benchmark grid of one seed: :func:`random_grid` with the documented resampling.

    Returns the Dataset of :func:`stswidgets.datasets.random_grid` (shape drawn in
    ``size_range``), its ``didv`` interpolated onto ``max_bias`` evenly spaced points over the
    same window when it has more (``attrs["resampled_from"]`` keeps the drawn count).
    """
    from stswidgets import datasets

    ds = datasets.random_grid(int(seed), size_range=size_range)
    n_bias = ds.sizes["bias"]
    if max_bias is not None and n_bias > max_bias:
        bias = ds["bias"].values
        ds = ds.interp(bias=np.linspace(bias[0], bias[-1], int(max_bias)))
        ds["didv"] = ds["didv"].astype(np.float32)
        ds.attrs["resampled_from"] = int(n_bias)
    return ds


def truth_classes(ds, valid) -> np.ndarray:
    """Truth per valid pixel (row-major, as :func:`stswidgets.to_matrix`): 0 surface,
    1 transition, 2.. defect kinds 1.. (``kind + 1``)."""
    kind = ds["kind"].values[np.asarray(valid)]
    transition = ds["transition"].values[np.asarray(valid)]
    return np.where(kind > 0, kind + 1, np.where(transition, 1, 0)).astype(int)


def kind_classes(latent, score, random_state: int = 0) -> np.ndarray:
    """Label-free kind classes by :func:`stswidgets.analysis.classify_kinds` (the default).

    ``latent`` of one column (the abundance) gets a zero second coordinate; ``random_state``
    is unused (the criterion is deterministic) and kept for the classifier signature.
    """
    from stswidgets.analysis import classify_kinds

    latent = np.asarray(latent, dtype=float).reshape(len(score), -1)
    if latent.shape[1] == 1:
        latent = np.column_stack([latent[:, 0], np.zeros(len(latent))])
    return np.asarray(classify_kinds(latent, np.asarray(score, dtype=float)).labels, dtype=int)


def provisional_classes(latent, score, random_state: int = 0, max_classes: int = 6) -> np.ndarray:
    """Label-free kind classes: a Gaussian mixture on the latent space, size chosen by BIC.

    The features are the latent coordinates (the score is not added: a distance from the
    median folds a compact majority into a skewed, non-Gaussian pile that BIC splits), each
    standardised by its median and its interquartile range; mixtures of 1 ... ``max_classes``
    full-covariance components are fitted and the lowest BIC wins. Class 0 is the largest
    component (the majority), the other components are numbered 2, 3, ... by decreasing size;
    this classifier has no transition class (1), a ring forms its own component or joins a
    neighbour.
    """
    from sklearn.mixture import GaussianMixture

    features = np.asarray(latent, dtype=float).reshape(len(score), -1)
    spread = np.subtract(*np.percentile(features, [75, 25], axis=0))
    features = (features - np.median(features, axis=0)) / np.where(spread > 0, spread, 1.0)
    best, best_bic = None, np.inf
    for k in range(1, max_classes + 1):
        if k > len(features):
            break
        model = GaussianMixture(k, covariance_type="full", random_state=random_state, n_init=1)
        model.fit(features)
        bic = model.bic(features)
        if bic < best_bic:
            best, best_bic = model, bic
    labels = best.predict(features)
    order = np.argsort(-np.bincount(labels, minlength=best.n_components), kind="stable")
    names = np.empty(best.n_components, dtype=int)
    names[order] = [0] + list(range(2, best.n_components + 1))
    return names[labels]


def abundance_score(X, bins: int = 200, fit_offset: float = 0.1) -> np.ndarray:
    """Per-spectrum minority abundance (notebook 03, Fig. 4d): high = unlike the majority.

    The abundance of :func:`stswidgets.pipeline.distance_statistics` (the one implementation
    of the distance statistics; ``config_for("full", bins=bins, fit_offset=fit_offset)``): the
    fraction of each spectrum's distances to all others, as ``log(d + offset)`` (``offset =
    fit_offset`` x the median pair distance), beyond the crossing of the two components
    fitted to all pairs. Where the pipeline finds one population (no abundance), the same
    per-spectrum histograms are split at the crossing, or the middle between the means where
    they do not cross (clipped to the histogram range), so that every draw gets a value.
    Oriented label-free so that the 5 % of spectra farthest from the median spectrum score
    high, minus its median, so that the majority sits near 0 (as :func:`kind_classes` expects).
    """
    from stswidgets.analysis.distances import crossing, minority_abundance
    from stswidgets.pipeline import config_for, distance_statistics

    # offsets=(): only the fitted offset's histograms, none of notebook 03's other rescalings
    config = config_for("full", bins=bins, fit_offset=fit_offset, offsets=())
    stats = distance_statistics(X, config, progress=lambda fraction, what: None)
    abundance = stats.abundance
    if abundance is None:  # one population: split anyway, between the components
        threshold = crossing(stats.fit)
        if not np.isfinite(threshold):
            threshold = float(np.mean(stats.fit.means))
        threshold = float(np.clip(threshold, stats.h_edges[0], stats.h_edges[-1]))
        abundance = minority_abundance(stats.H, stats.h_edges, stats.fit, threshold).values
    # label-free orientation, as SimilarityScore's sign: the spectra farthest from the median
    # spectrum score high (where the fit's far component sits inside the majority's own
    # spread, the raw abundance is high for the majority instead)
    X = np.asarray(X, dtype=np.float64)
    far = np.sqrt(((X - np.median(X, axis=0)) ** 2).sum(axis=1))
    outliers = far >= np.quantile(far, 0.95)
    if abundance[outliers].mean() < np.median(abundance):
        abundance = -abundance
    return abundance - np.median(abundance)  # the majority near 0, as the other scores


def _centre_distance(Z: np.ndarray) -> np.ndarray:
    return np.sqrt(((Z - np.median(Z, axis=0)) ** 2).sum(axis=1))


def _method_outputs(method, X, seed, learn_params, cache):
    """(score, latent) of one method; ``cache`` shares the fitted SimilarityScore."""
    if method in ("siamese_score", "siamese"):
        if "similarity" not in cache:
            from stswidgets.learn import SimilarityScore

            estimator = SimilarityScore(random_state=seed, **learn_params)
            start = time.perf_counter()
            score = estimator.fit_transform(X)
            cache["similarity"] = (score, estimator.embedding_, time.perf_counter() - start)
        score, Z, _ = cache["similarity"]
        return (score, Z) if method == "siamese_score" else (_centre_distance(Z), Z)
    if method == "abundance":
        score = abundance_score(X)
        return score, score[:, None]
    from stswidgets.pipeline.latent import embed

    params = learn_params if method == "autoencoder" else {}
    Z = embed(X, method, n_components=2, random_state=seed, **params)
    return _centre_distance(Z), Z


def evaluate(score, classes, truth) -> dict:
    """ROC AUCs of the score and ARIs of the classes against truth classes (0/1/2..)."""
    from sklearn.metrics import adjusted_rand_score

    from stswidgets.analysis.metrics import roc_auc

    score = np.asarray(score, dtype=float)
    defect, transition, surface = truth >= 2, truth == 1, truth == 0
    merged_truth = np.where(truth == 1, 0, truth)
    merged_pred = np.where(classes == 1, 0, classes)
    return {
        "auc_defect_surface": roc_auc(score[defect], score[surface]),
        "auc_defect_transition": roc_auc(score[defect], score[transition]),
        "auc_transition_surface": roc_auc(score[transition], score[surface]),
        "ari": float(adjusted_rand_score(truth, classes)),
        "ari_merged": float(adjusted_rand_score(merged_truth, merged_pred)),
        "n_classes_found": int(len(np.unique(classes))),
    }


_SOURCES = {  # what each method's output depends on (besides the simulator): the cache key
    "siamese_score": ("learn",),
    "siamese": ("learn",),
    "autoencoder": ("learn", "pipeline/latent.py"),
    "pca": ("analysis/decomposition.py", "pipeline/latent.py"),
    "kpca": ("analysis/decomposition.py", "pipeline/latent.py"),
    "nmf": ("analysis/decomposition.py", "pipeline/latent.py"),
    "umap": ("analysis/decomposition.py", "pipeline/latent.py"),
    "abundance": (
        "pipeline/distances.py",  # distance_statistics: the one implementation
        "pipeline/config.py",
        "analysis/distances.py",
        "analysis/_abundance.py",
        "analysis/_populations.py",
        "analysis/_pairs_kernel.py",
        "analysis/_two_gaussians.py",
        "evaluation/generalization.py",  # abundance_score lives here
    ),
}
_SIMULATOR = ("_random_physics.py", "_defect_signatures.py", "datasets.py", "grid.py")
_NOT_METHODS = {"benchmark.py", "generalization.py"}


def _fingerprint(method: str, settings: dict) -> str:
    """Hash of the settings and of the source files a method's output depends on."""
    root = Path(__file__).resolve().parent.parent
    files = []
    for entry in _SIMULATOR + _SOURCES[method]:
        path = root / entry
        if path.is_dir():  # a package: its modules, without the benchmark harnesses
            files += [p for p in sorted(path.glob("*.py")) if p.name not in _NOT_METHODS]
        else:
            files.append(path)
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def run_methods(
    X, methods: Iterable[str], seed: int = 0, learn_params: dict | None = None
) -> dict[str, dict]:
    """Score ``(n,)``, latent space ``(n, k)`` and runtime of each method on spectra ``X``.

    Needs no ground truth, so it runs on a measured grid too. ``learn_params`` go to the
    learned estimators (``SimilarityScore``, the autoencoder), with ``progress=False``.
    """
    methods = list(methods)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected a subset of {METHODS}")
    X = np.asarray(X, dtype=np.float32)
    learn_params = {**(learn_params or {}), "progress": False}
    shared: dict = {}
    out = {}
    for method in methods:
        start = time.perf_counter()
        score, latent = _method_outputs(method, X, int(seed), learn_params, shared)
        runtime = time.perf_counter() - start
        if method == "siamese_score":  # the projection's training belongs to the score
            runtime = shared["similarity"][2]
        out[method] = {"score": score, "latent": latent, "runtime_s": np.float64(runtime)}
    return out


def method_outputs(
    seed: int,
    methods: Iterable[str],
    learn_params: dict | None = None,
    cache: str | Path | None = None,
    size_range=SIZE_RANGE,
    max_bias: int | None = MAX_BIAS,
) -> dict[str, dict]:
    """Score, latent space and runtime of each method on the draw of ``seed``.

    With a ``cache`` folder, each output is stored as ``<method>_<seed>_<fingerprint>.npz``;
    the fingerprint hashes the settings and the source files the method depends on, so an
    output is reused only while neither changed (the run resumes where it stopped).
    """
    from stswidgets import to_matrix

    learn_params = {**(learn_params or {}), "progress": False}
    settings = {"size_range": list(size_range), "max_bias": max_bias, "learn": learn_params}
    out, todo = {}, []
    for method in methods:
        path = None
        if cache is not None:
            path = Path(cache) / f"{method}_{int(seed)}_{_fingerprint(method, settings)}.npz"
            if path.exists():
                with np.load(path) as stored:
                    out[method] = {key: stored[key] for key in stored.files}
                continue
        todo.append((method, path))
    if todo:
        X, _ = to_matrix(draw(seed, size_range, max_bias)["didv"])
        computed = run_methods(X, [method for method, _ in todo], int(seed), learn_params)
        for method, path in todo:
            out[method] = computed[method]
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path, **out[method])
    return out


def generalization_benchmark(
    seeds: Iterable[int] = REPORTING_SEEDS,
    methods: Iterable[str] | None = None,
    classify: Classifier | None = None,
    learn_params: dict | None = None,
    cache: str | Path | None = None,
    size_range=SIZE_RANGE,
    max_bias: int | None = MAX_BIAS,
    progress: bool = True,
) -> list[dict]:
    """Every method on every draw: one row per (seed, method).

    Parameters
    ----------
    seeds : iterable of int
        :func:`draw` seeds; report on :data:`REPORTING_SEEDS`, tune on :data:`TUNING_SEEDS`.
    methods : iterable of str, optional
        Subset of :data:`METHODS` (default: all).
    classify : callable ``(latent (n, k), score (n,), seed) -> classes (n,)``, optional
        Label-free kind classes (0 majority, 1 transition, 2.. kinds); default
        :func:`kind_classes` (:func:`stswidgets.analysis.classify_kinds`), the alternative
        :func:`provisional_classes` (a Gaussian mixture with BIC). Classes are computed from
        the (cached) outputs, so a new classifier costs no retraining.
    learn_params : dict, optional
        Extra keywords of the learned estimators (``SimilarityScore``, the autoencoder).
    cache : path, optional
        Folder of the method outputs (see :func:`method_outputs`): a run resumes.
    size_range, max_bias
        As :func:`draw`.
    progress : bool
        A progress bar over the draws.

    Returns
    -------
    list of dict
        ``seed``, ``method``, ``runtime_s``, ``n_spectra``, ``n_bias``, ``n_kinds``,
        ``setpoint_drift``, ``noise`` and the fields of :func:`evaluate`.
    """
    from tqdm.auto import tqdm

    methods = list(METHODS) if methods is None else list(methods)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected a subset of {METHODS}")
    classify = kind_classes if classify is None else classify
    rows = []
    for seed in tqdm(list(seeds), desc="draws", disable=not progress):
        outputs = method_outputs(seed, methods, learn_params, cache, size_range, max_bias)
        ds = draw(seed, size_range, max_bias)
        valid = ds["valid"].values
        truth = truth_classes(ds, valid)
        for method in methods:
            output = outputs[method]
            classes = np.asarray(classify(output["latent"], output["score"], int(seed)))
            rows.append(
                {
                    "seed": int(seed),
                    "method": method,
                    "runtime_s": float(output["runtime_s"]),
                    "n_spectra": int(valid.sum()),
                    "n_bias": int(ds.sizes["bias"]),
                    "n_kinds": int(ds.attrs["n_kinds"]),
                    "setpoint_drift": float(ds.attrs["setpoint_drift"]),
                    "noise": float(ds.attrs["noise"]),
                    **evaluate(output["score"], classes, truth),
                }
            )
    return rows


_METRICS = [
    "auc_defect_surface",
    "auc_defect_transition",
    "auc_transition_surface",
    "ari",
    "ari_merged",
    "runtime_s",
]


def summarize(rows: list[dict]) -> list[dict]:
    """Median and 10th percentile over the draws of every metric, one row per method."""
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        row = {"method": method, "n_draws": len(mine)}
        for metric in _METRICS:
            values = np.array([r[metric] for r in mine], dtype=float)
            row[f"median_{metric}"] = float(np.nanmedian(values))
            row[f"p10_{metric}"] = float(np.nanpercentile(values, 10))
        out.append(row)
    return out


def target_report(summary: list[dict], method: str = "siamese_score") -> list[dict]:
    """Each target of issue 10 for ``method``: value, threshold, met, and the shortfall.

    The last target compares the method's median of every AUC and of the ARI with the best
    other method's median (the Siamese projection, the score's own first stage, is not
    counted as another method).
    """
    by_method = {row["method"]: row for row in summary}
    if method not in by_method:
        raise ValueError(f"no rows for {method!r} in the summary")
    mine = by_method[method]
    out = []
    for statistic, metric, threshold in TARGETS:
        value = mine[f"{statistic}_{metric}"]
        out.append(
            {
                "target": f"{statistic} {metric} >= {threshold}",
                "value": value,
                "threshold": threshold,
                "met": bool(value >= threshold),
                "shortfall": max(0.0, threshold - value),
            }
        )
    others = [m for m in by_method if m not in (method, "siamese")]
    for metric in _METRICS[:4]:
        key = f"median_{metric}"
        if not others:
            break
        best = max(others, key=lambda m: by_method[m][key])
        threshold = by_method[best][key]
        out.append(
            {
                "target": f"median {metric} >= best other ({best})",
                "value": mine[key],
                "threshold": threshold,
                "met": bool(mine[key] >= threshold),
                "shortfall": max(0.0, threshold - mine[key]),
            }
        )
    return out
