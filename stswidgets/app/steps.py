"""The app's analysis steps, without widgets: load a grid, distance statistics, score, bands.

Each step calls the library the notebooks call (notebooks 03, 06 and 07) and returns its
numbers; :class:`stswidgets.app.Dashboard` shows them. :func:`results_variables` turns them
into the ``results.nc`` variables of :mod:`stswidgets.results`, :func:`maps_png` draws the
score and band maps.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import map_extent, to_map

__all__ = [
    "PROFILES",
    "AppProfile",
    "Bands",
    "DistanceStatistics",
    "Projection",
    "band_classes",
    "distance_statistics",
    "fit_score",
    "load_grid",
    "maps_png",
    "results_variables",
]


@dataclass(frozen=True)
class AppProfile:
    """Size of the simulated grid and bounds of the training, for one use of the app.

    ``ny``, ``nx``, ``n_bias`` size the simulated grid (ignored for a file); ``max_time``
    (seconds) bounds each training, ``max_epochs``, ``pairs_per_epoch`` and ``restarts`` are
    :class:`stswidgets.learn.SimilarityScore`'s.
    """

    name: str
    ny: int
    nx: int
    n_bias: int
    max_time: float
    max_epochs: int
    pairs_per_epoch: int
    restarts: int


#: ``full``: what ``stswidgets app`` uses (a 64 x 64 x 256 simulated grid, each training
#: bounded at 60 s, as ``stswidgets run --quick``); ``test``: a 24 x 24 x 64 grid and a few
#: seconds of training, for the browser test and the Binder check.
PROFILES = {
    "full": AppProfile("full", 64, 64, 256, 60.0, 60, 32768, 2),
    "test": AppProfile("test", 24, 24, 64, 4.0, 8, 4096, 0),
}


def load_grid(
    source: str | Path | None,
    channel: str | None = None,
    profile: AppProfile | None = None,
    seed: int = 0,
) -> tuple[xr.DataArray, xr.Dataset | None]:
    """The grid to analyse and its ground truth (simulated grid only; None for a file).

    ``source=None`` gives the embedded simulated FeSe-like grid of the ``profile``'s size;
    a path is read (never written) with :func:`stswidgets.open_grid` and ``channel``.
    """
    from stswidgets import series

    profile = profile or PROFILES["full"]
    if source is None:
        return series.load_input(None, channel, seed, profile.ny, profile.nx, profile.n_bias)
    return series.load_input(Path(source), channel)


@dataclass
class DistanceStatistics:
    """Notebook 03 in numbers: all pair distances, their two-Gaussian fit, the abundance.

    ``counts``/``edges``: histogram of all ``N (N - 1) / 2`` distances (units of the spectra);
    ``offset``: the log offset (0.1 x the median distance); ``fit``: the two Gaussians fitted
    to ``log(d + offset)``; ``abundance`` ``(n_spectra,)``: each spectrum's fraction of
    distances beyond the crossing, or None when the fit shows one population (``reason``).
    """

    counts: np.ndarray
    edges: np.ndarray
    median_distance: float
    offset: float
    fit: object
    abundance: np.ndarray | None
    threshold: float
    reason: str

    @property
    def n_pairs(self) -> int:
        return int(self.counts.sum())


def distance_statistics(X: np.ndarray, bins: int | None = None, progress=None):
    """Pair-distance histogram, two-Gaussian fit of ``log(d + offset)`` and the abundance.

    ``progress(fraction, what)``, when given, is called after each of the four passes.
    """
    from stswidgets.analysis.distances import (
        default_bins,
        distance_histogram,
        fit_two_gaussians,
        median_distance,
        minority_abundance,
        occupied_range,
        per_spectrum_histograms,
    )

    report = progress or (lambda fraction, what: None)
    if bins is None:  # as notebook 03
        bins = default_bins(len(X))
    counts, edges = distance_histogram(X, bins=bins, progress=False)
    report(0.25, "all pair distances")
    median = median_distance(counts, edges)
    offset = 0.1 * median
    window = occupied_range(counts, edges, offset)
    H, log_edges, log_counts = per_spectrum_histograms(
        X, bins=bins, range=window, offset=offset, progress=False, return_counts=True
    )
    report(0.75, "per-spectrum histograms")
    fit = fit_two_gaussians(log_counts, log_edges)
    result = minority_abundance(H, log_edges, fit)
    report(1.0, "two-Gaussian fit")
    return DistanceStatistics(
        counts, edges, median, offset, fit, result.values, float(result.threshold), result.reason
    )


@dataclass
class Projection:
    """Notebook 06 in numbers: the Siamese projection ``Z`` ``(n_spectra, 2)``, the score
    ``(n_spectra,)`` (>= 0, distance from the majority), the signed ``coordinate``, the
    ``monotonicity`` of the fold check and the epochs each network trained."""

    Z: np.ndarray
    score: np.ndarray
    coordinate: np.ndarray
    monotonicity: float
    epochs: tuple[int, int]


def fit_score(X: np.ndarray, profile: AppProfile, seed: int = 0, callbacks=None) -> Projection:
    """Projection + 1D score of ``X`` by :class:`stswidgets.learn.SimilarityScore`."""
    from stswidgets.learn import SimilarityScore

    scorer = SimilarityScore(
        random_state=seed,
        max_epochs=profile.max_epochs,
        max_time=profile.max_time,
        pairs_per_epoch=profile.pairs_per_epoch,
        restarts=profile.restarts,
        progress=False,
        callbacks=callbacks,
    )
    score = scorer.fit_transform(X)
    epochs = (
        len(scorer.embedding_estimator_.history_["val_loss"]),
        len(scorer.history_["val_loss"]),
    )
    return Projection(
        scorer.embedding_, score, scorer.coordinate_, float(scorer.monotonicity_), epochs
    )


@dataclass
class Bands:
    """Notebook 07's classes: ``labels`` ``(n_spectra,)`` (0 majority, 1 transition, 2 + k
    the k-th minority kind), their ``names``, score ``edges`` and mean / std spectra
    ``(n_classes, n_bias)``."""

    labels: np.ndarray
    n_kinds: int
    names: tuple[str, ...]
    edges: list[float]
    mean: np.ndarray
    std: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.names))


def band_classes(X: np.ndarray, Z: np.ndarray, score: np.ndarray, simulated: bool) -> Bands:
    """Majority, transition and minority kinds from the projection and the score."""
    from stswidgets.analysis import FESE_NAMES, class_names, classify_kinds
    from stswidgets.analysis.spectral_weight import band_spectra

    classes = classify_kinds(Z, score)
    names = class_names(classes.n_kinds, FESE_NAMES if simulated else None)
    mean, std = band_spectra(X, classes.labels, n_classes=len(names))
    edges = [float(classes.majority_edge), *map(float, classes.kind_edges)]
    return Bands(classes.labels.astype(np.int8), classes.n_kinds, names, edges, mean, std)


def results_variables(
    grid: xr.DataArray,
    valid,
    stats: DistanceStatistics | None = None,
    projection: Projection | None = None,
    bands: Bands | None = None,
) -> dict[str, xr.DataArray]:
    """The ``results.nc`` variables of the steps run so far (names as the notebooks save)."""
    from stswidgets.analysis import flag_meanings

    out = {"valid": to_map(np.ones(int(np.asarray(valid).sum())), valid).fillna(0).astype(np.int8)}
    if stats is not None and stats.abundance is not None:
        out["abundance"] = to_map(stats.abundance, valid).assign_attrs(
            offset=stats.offset, threshold=stats.threshold
        )
    if projection is not None:
        out["tC1"] = to_map(projection.Z[:, 0], valid)
        out["tC2"] = to_map(projection.Z[:, 1], valid)
        out["score"] = to_map(projection.score, valid)
        out["coordinate"] = to_map(projection.coordinate, valid)
    if bands is not None:
        codes = np.asarray(to_map(bands.labels.astype(float), valid))
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int8)
        bias = np.asarray(grid["bias"].values)
        out["band"] = xr.DataArray(
            codes,
            dims=("y", "x"),
            coords={"y": grid["y"], "x": grid["x"]},
            attrs={
                "flag_values": list(range(len(bands.names))),
                "flag_meanings": flag_meanings(bands.names),
                "comment": "-1: pixel not measured",
                "score_edges": bands.edges,
            },
        )
        coords = {"band_name": list(bands.names), "bias": ("bias", bias, {"units": "mV"})}
        out["band_mean"] = xr.DataArray(bands.mean, dims=("band_name", "bias"), coords=coords)
        out["band_std"] = xr.DataArray(
            bands.std,
            dims=("band_name", "bias"),
            coords=coords,
            attrs={"long_name": "standard deviation of the spectra of each class"},
        )
    return {name: value.rename(name) for name, value in out.items() if value is not None}


def maps_png(grid: xr.DataArray, valid, score: np.ndarray, bands: Bands | None = None) -> bytes:
    """A PNG of the score map and (when given) the class map, axes in nm."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    n_panels = 1 if bands is None else 2
    fig = Figure(figsize=(5.2 * n_panels, 4.2), layout="constrained")
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    extent = map_extent(grid)
    image = axes[0].imshow(
        np.asarray(to_map(score, valid)), origin="lower", extent=extent, cmap="inferno"
    )
    fig.colorbar(image, ax=axes[0], label="score (distance from the majority)")
    axes[0].set_title("similarity score")
    if bands is not None:
        n = len(bands.names)
        image = axes[1].imshow(
            np.asarray(to_map(bands.labels.astype(float), valid)),
            origin="lower",
            extent=extent,
            cmap=ListedColormap([f"C{k}" for k in range(n)]),
            vmin=-0.5,
            vmax=n - 0.5,
            interpolation="nearest",
        )
        bar = fig.colorbar(image, ax=axes[1], ticks=range(n))
        bar.ax.set_yticklabels(bands.names)
        axes[1].set_title("classes")
    for ax in axes:
        ax.set(xlabel="x (nm)", ylabel="y (nm)", aspect="equal")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
