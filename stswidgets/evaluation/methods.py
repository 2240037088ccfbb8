"""Every method of the comparison on the same input (notebook 08, issue 19 item 5).

:func:`normalized_input` is the ONE normalisation every method receives (the pipeline's
:func:`~stswidgets.pipeline.normalization.apply_normalization` with the run's ``normalize``,
``"auto"`` choosing per grid); :func:`run_methods` turns those spectra into a label-free score
``(n,)`` and a latent space ``(n, k)`` per method. No method normalises per spectrum again: the
learned estimators get ``normalize="none"`` (they still centre and apply one global scale).

Methods (:data:`METHODS`), each label-free (no truth used to orient or choose anything):

- ``siamese_score``: the pipeline's :func:`stswidgets.pipeline.similarity_score` (the paper's
  Siamese projection + score network, :class:`stswidgets.learn.SimilarityScore`, with the full
  profile's training settings); its score, and as latent space the space the pipeline reads
  the kinds in (the step's ``signal`` subspace where it gives one, else its projection);
- ``siamese``: that same fitted projection (the score's first stage), score = distance from its
  median;
- ``pca``, ``kpca``, ``nmf``, ``umap``, ``autoencoder``: 2D latent spaces of
  :func:`stswidgets.pipeline.latent.embed`, score = distance from the latent median;
- ``abundance``: each spectrum's distance histogram read at the far (minority) component of the
  two-Gaussian fit of all pair distances (notebook 03, Fig. 4d); latent space = the score.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "METHODS",
    "NormalizedInput",
    "abundance_score",
    "normalized_input",
    "run_methods",
]

METHODS = ["siamese_score", "siamese", "pca", "kpca", "nmf", "umap", "autoencoder", "abundance"]

#: Source files (relative to the package) each method's output depends on, besides this
#: module, the simulator and the normalisation: the evaluation cache key.
SOURCES = {
    # and the pipeline step's own source with the settings it reads (:func:`step_key`), not
    # the whole of pipeline/score.py (the site classes beside it do not change the score)
    "siamese_score": ("learn",),
    "siamese": ("learn",),
    "autoencoder": (
        "learn/_base.py",
        "learn/_training.py",
        "learn/autoencoder.py",
        "learn/embedding.py",
        "pipeline/latent.py",
    ),
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
    ),
}
#: What every method's output depends on: the normalisation and this module.
COMMON_SOURCES = ("preprocess.py", "pipeline/normalization.py", "evaluation/methods.py")


def step_key(method: str) -> str:
    """What else a method's output depends on, as text for the cache key: for the similarity
    score, the source of :func:`stswidgets.pipeline.similarity_score` and the full profile's
    value of every setting it reads (``config.<name>``); empty for the other methods."""
    import inspect
    import re

    if method not in ("siamese_score", "siamese"):
        return ""
    from stswidgets.pipeline import config_for
    from stswidgets.pipeline.score import similarity_score

    source = inspect.getsource(similarity_score)
    settings = config_for("full").to_dict()
    read = sorted(set(re.findall(r"config\.(\w+)", source)) & set(settings))
    return source + json.dumps({name: settings[name] for name in read}, sort_keys=True)


@dataclass
class NormalizedInput:
    """The spectra every method receives ``X`` ``(n_spectra, n_bias)``, the normalisation
    ``method`` applied and the ``reason`` it was chosen."""

    X: np.ndarray
    method: str
    reason: str


def normalized_input(
    X, bias_mV, normalize: str = "auto", current=None, setpoint_bias_mV: float | None = None
) -> NormalizedInput:
    """The one normalisation of the comparison: the same spectra for every method.

    The pipeline's own :func:`~stswidgets.pipeline.normalization.normalize_input` (what
    :func:`stswidgets.pipeline.load` applies to a grid), so that the benchmark sees what a run
    sees.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Raw spectra (dI/dV), one per row.
    bias_mV : array-like, shape ``(n_bias,)``
        Sample bias of the columns, mV.
    normalize : str
        ``"auto"`` (chosen from the data, with its reason) or a method of the pipeline
        (``none``, ``setpoint``, ``feenstra``, ``zscore``).
    current : array-like, optional
        The recorded current ``(n_spectra, n_bias)`` for ``feenstra``.
    setpoint_bias_mV : float, optional
        The set-point bias, where the grid records it (``setpoint``).
    """
    from stswidgets.pipeline.normalization import normalize_input

    X = np.asarray(X, dtype=np.float64)
    out, record = normalize_input(X, bias_mV, normalize, current, setpoint_bias_mV)
    return NormalizedInput(np.asarray(out, dtype=np.float64), record.method, record.reason)


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
    high, minus its median, so that the majority sits near 0.
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


def centre_distance(Z: np.ndarray) -> np.ndarray:
    """Distance of each row of a latent space ``Z`` from its median: the label-free score of
    a latent space."""
    Z = np.asarray(Z, dtype=np.float64)
    return np.sqrt(((Z - np.median(Z, axis=0)) ** 2).sum(axis=1))


def _similarity(X, seed: int, learn_params: dict):
    """The pipeline's projection + score of ``X`` (the full profile, ``seed``; keywords of
    ``learn_params`` that name config fields, e.g. ``max_epochs``, override it)."""
    from stswidgets.pipeline import config_for
    from stswidgets.pipeline.score import similarity_score

    fields = set(config_for("full").to_dict())
    overrides = {k: v for k, v in learn_params.items() if k in fields and k != "seed"}
    config = config_for("full", seed=int(seed), **overrides)
    return similarity_score(X, config, progress=False)


def _method_outputs(method, X, seed, learn_params, cache):
    """(score, latent) of one method; ``cache`` shares the fitted SimilarityScore."""
    if method in ("siamese_score", "siamese"):
        if "similarity" not in cache:
            start = time.perf_counter()
            projection = _similarity(X, seed, learn_params)
            cache["similarity"] = (projection, time.perf_counter() - start)
        projection = cache["similarity"][0]
        if method == "siamese":
            return centre_distance(projection.Z), projection.Z
        signal = getattr(projection, "signal", None)  # where the pipeline reads the kinds
        return projection.score, projection.Z if signal is None else signal
    if method == "abundance":
        score = abundance_score(X)
        return score, score[:, None]
    from stswidgets.pipeline.latent import embed

    params = {**learn_params, "normalize": "none"} if method == "autoencoder" else {}
    Z = embed(X, method, n_components=2, random_state=seed, **params)
    return centre_distance(Z), Z


def run_methods(
    X, methods: Iterable[str], seed: int = 0, learn_params: dict | None = None
) -> dict[str, dict]:
    """Score ``(n,)``, latent space ``(n, k)`` and runtime of each method on spectra ``X``.

    ``X`` is used as given: pass :func:`normalized_input`'s spectra so that every method sees
    the same input. Needs no ground truth, so it runs on a measured grid too.
    ``learn_params`` go to the learned estimators (``SimilarityScore``, the autoencoder), with
    ``progress=False``.

    Raises
    ------
    ValueError
        A method not in :data:`METHODS`.
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
            runtime = shared["similarity"][1]
        out[method] = {
            "score": np.asarray(score, dtype=np.float64),
            "latent": np.asarray(latent, dtype=np.float64),
            "runtime_s": np.float64(runtime),
        }
    return out
