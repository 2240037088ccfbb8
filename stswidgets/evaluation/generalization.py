"""Every method on randomized grids it was not tuned for (notebook 08, issues 10 and 19).

Each draw is :func:`stswidgets.datasets.random_grid` with its own physics. Every method of
:data:`METHODS` (:mod:`stswidgets.evaluation.methods`) receives the SAME normalised spectra
(:func:`~stswidgets.evaluation.methods.normalized_input`) and gives a label-free score and a
latent space; the SAME classifier, the pipeline's site-class logic
(:func:`site_class_labels`, i.e. :func:`stswidgets.pipeline.site_classes`), turns each
method's latent space and score into site classes; :func:`stswidgets.evaluation.metrics.
draw_metrics` compares both with the truth regions (core, ring, far surface) and kinds.
:mod:`stswidgets.evaluation.verdicts` summarises the draws and checks the targets.

Seeds: defaults are chosen on :data:`TUNING_SEEDS` (0-29) only; figures are reported on
:data:`REPORTING_SEEDS` (1000-1029) only, which nothing was tuned on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from stswidgets.evaluation.methods import (
    COMMON_SOURCES,
    METHODS,
    SOURCES,
    abundance_score,
    normalized_input,
    run_methods,
    step_key,
)
from stswidgets.evaluation.metrics import draw_metrics
from stswidgets.evaluation.verdicts import TARGETS, summarize, target_report

__all__ = [
    "METHODS",
    "NORMALIZE",
    "REPORTING_SEEDS",
    "TARGETS",
    "TUNING_SEEDS",
    "abundance_score",
    "draw",
    "draw_spectra",
    "draw_truth",
    "generalization_benchmark",
    "method_outputs",
    "run_methods",
    "site_class_labels",
    "summarize",
    "target_report",
]

TUNING_SEEDS = tuple(range(0, 30))
REPORTING_SEEDS = tuple(range(1000, 1030))

#: Draw settings of the benchmark: map sizes drawn in 24 ... 48 pixels per side (576 to 2,304
#: spectra, so that 30 draws x every method fit on 2 shared cores), the bias axis as drawn
#: (64 ... 1024 points) but resampled to at most 256 points (linear interpolation on an evenly
#: spaced axis over the same window).
SIZE_RANGE = (24, 48)
MAX_BIAS = 256
#: The normalisation every method receives (the pipeline's default: chosen per grid).
NORMALIZE = "auto"

Classifier = Callable[..., np.ndarray]


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


def draw_truth(ds, valid) -> dict[str, np.ndarray]:
    """Truth per valid pixel (row-major, as :func:`stswidgets.to_matrix`): ``regions``
    (0 far surface, 1 ring, 2 core; :func:`stswidgets.datasets.truth_regions`), ``kind``
    (0 outside cores) and ``defect_distance`` (nm, NaN where the draw has none)."""
    from stswidgets import datasets

    valid = np.asarray(valid, dtype=bool)
    regions = np.asarray(datasets.truth_regions(ds))
    distance = (
        ds["defect_distance_nm"].values[valid]
        if "defect_distance_nm" in ds
        else np.full(int(valid.sum()), np.nan)
    )
    return {
        "regions": regions[valid].astype(int),
        "kind": ds["kind"].values[valid].astype(int),
        "defect_distance": np.asarray(distance, dtype=float),
    }


def site_class_labels(latent, score, X, valid=None, grid=None) -> np.ndarray:
    """Site classes of one method: the pipeline's own logic (:func:`stswidgets.pipeline.
    site_classes`, automatic edges) on the method's ``latent`` ``(n, k)`` and ``score``
    ``(n,)``; ``X`` ``(n, n_bias)`` the spectra the method received; with the map (``grid``,
    the draw's ``didv`` DataArray, and ``valid``, its ``(y, x)`` mask) the transition class
    is held to the defects as in a run. 0 majority, 1 transition, 2.. kinds.

    The latent space is where the kinds are told apart (the step's ``signal``); a latent
    space of one column (the abundance) gets a zero second coordinate.
    """
    from stswidgets.pipeline import config_for
    from stswidgets.pipeline.score import Projection, site_classes

    score = np.asarray(score, dtype=float)
    latent = np.asarray(latent, dtype=float).reshape(len(score), -1)
    if latent.shape[1] == 1:
        latent = np.column_stack([latent[:, 0], np.zeros(len(latent))])
    projection = Projection(
        Z=latent,
        score=score,
        coordinate=score,
        monotonicity=float("nan"),
        epochs=(0, 0),
        threshold=float("nan"),
        history=({}, {}),
        majority=np.median(latent, axis=0),
        signal=latent,
    )
    valid = None if valid is None else np.asarray(valid, dtype=bool)
    classes = site_classes(
        np.asarray(X, dtype=float), projection, config_for("full"), grid=grid, valid=valid
    )
    return np.asarray(classes.labels, dtype=int)


def draw_spectra(ds, normalize: str = NORMALIZE):
    """The spectra every method receives from a draw ``ds``: ``(spectra, valid)``, the
    :class:`~stswidgets.evaluation.methods.NormalizedInput` of its valid pixels (row-major,
    :func:`stswidgets.to_matrix`) by :func:`normalized_input`, with the set-point bias where
    the grid records it, and the ``(y, x)`` valid mask."""
    from stswidgets import to_matrix
    from stswidgets.pipeline.normalization import recorded_setpoint_bias_mV

    grid = ds["didv"]
    X, valid = to_matrix(grid)
    setpoint = recorded_setpoint_bias_mV(grid.attrs)
    spectra = normalized_input(X, grid["bias"].values, normalize, setpoint_bias_mV=setpoint)
    return spectra, valid


def _package_files(entries) -> list[Path]:
    root = Path(__file__).resolve().parent.parent
    files = []
    for entry in entries:
        path = root / entry
        if path.is_dir():
            files += sorted(path.glob("*.py"))
        elif path.exists():
            files.append(path)
    return files


def _simulator_files() -> list[Path]:
    root = Path(__file__).resolve().parent.parent
    names = ["datasets.py", "datasets", "grid.py"]
    names += [p.name for p in sorted(root.glob("_random*.py")) + sorted(root.glob("_defect*.py"))]
    return _package_files(names)


def _fingerprint(method: str, settings: dict) -> str:
    """Hash of the settings and of the source files a method's output depends on (the
    simulator, the normalisation, :mod:`~stswidgets.evaluation.methods` and the method's own
    modules, :data:`~stswidgets.evaluation.methods.SOURCES`, and
    :func:`~stswidgets.evaluation.methods.step_key`)."""
    files = _simulator_files() + _package_files(COMMON_SOURCES + SOURCES[method])
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode())
    digest.update(step_key(method).encode())
    for path in files:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def method_outputs(
    seed: int,
    methods: Iterable[str],
    learn_params: dict | None = None,
    cache: str | Path | None = None,
    size_range=SIZE_RANGE,
    max_bias: int | None = MAX_BIAS,
    normalize: str = NORMALIZE,
) -> dict[str, dict]:
    """Score, latent space and runtime of each method on the normalised draw of ``seed``.

    With a ``cache`` folder, each output is stored as ``<method>_<seed>_<fingerprint>.npz``;
    the fingerprint hashes the settings and the source files the method depends on, so an
    output is reused only while neither changed (the run resumes where it stopped).
    """

    learn_params = {**(learn_params or {}), "progress": False}
    settings = {
        "size_range": list(size_range),
        "max_bias": max_bias,
        "learn": learn_params,
        "normalize": normalize,
    }
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
        spectra, _ = draw_spectra(draw(seed, size_range, max_bias), normalize)
        computed = run_methods(spectra.X, [m for m, _ in todo], int(seed), learn_params)
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
    normalize: str = NORMALIZE,
) -> list[dict]:
    """Every method on every draw: one row per (seed, method).

    Parameters
    ----------
    seeds : iterable of int
        :func:`draw` seeds; report on :data:`REPORTING_SEEDS`, tune on :data:`TUNING_SEEDS`.
    methods : iterable of str, optional
        Subset of :data:`METHODS` (default: all).
    classify : callable ``(latent, score, X, valid, grid) -> classes``, optional
        Site classes (0 majority, 1 transition, 2.. kinds) from a method's latent space
        ``(n, k)``, score ``(n,)``, the normalised spectra ``(n, n_bias)``, the valid mask and
        the draw's ``didv`` DataArray;
        default :func:`site_class_labels` (the pipeline's logic), the same for every method.
        Classes are computed from the (cached) outputs: a new classifier costs no retraining.
    learn_params : dict, optional
        Extra keywords of the learned estimators (``SimilarityScore``, the autoencoder).
    cache : path, optional
        Folder of the method outputs (see :func:`method_outputs`): a run resumes.
    size_range, max_bias
        As :func:`draw`.
    progress : bool
        A progress bar over the draws.
    normalize : str
        The normalisation every method receives (:func:`~stswidgets.evaluation.methods.
        normalized_input`; ``"auto"`` chooses per draw).

    Returns
    -------
    list of dict
        ``seed``, ``method``, ``runtime_s``, ``n_spectra``, ``n_bias``, ``n_kinds``,
        ``normalize`` (the method applied), ``setpoint_drift``, ``noise`` and the metrics of
        :func:`~stswidgets.evaluation.metrics.draw_metrics`.
    """
    from tqdm.auto import tqdm

    methods = list(METHODS) if methods is None else list(methods)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; expected a subset of {METHODS}")
    classify = site_class_labels if classify is None else classify
    rows = []
    for seed in tqdm(list(seeds), desc="draws", disable=not progress):
        outputs = method_outputs(
            seed, methods, learn_params, cache, size_range, max_bias, normalize
        )
        ds = draw(seed, size_range, max_bias)
        spectra, valid = draw_spectra(ds, normalize)
        truth = draw_truth(ds, valid)
        for method in methods:
            output = outputs[method]
            classes = np.asarray(
                classify(output["latent"], output["score"], spectra.X, valid, ds["didv"])
            )
            metrics = draw_metrics(
                output["score"],
                classes,
                output["latent"],
                spectra.X,
                truth["regions"],
                truth["kind"],
                truth["defect_distance"],
                seed=int(seed),
            )
            rows.append(
                {
                    "seed": int(seed),
                    "method": method,
                    "runtime_s": float(output["runtime_s"]),
                    "n_spectra": int(valid.sum()),
                    "n_bias": int(ds.sizes["bias"]),
                    "n_kinds": int(ds.attrs["n_kinds"]),
                    "normalize": spectra.method,
                    "setpoint_drift": float(ds.attrs.get("setpoint_drift", np.nan)),
                    "noise": float(ds.attrs.get("noise", np.nan)),
                    **metrics,
                }
            )
    return rows
