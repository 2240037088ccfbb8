"""Distance statistics (paper Fig. 4), computed once: the noise floor, all pair distances,
their log-rescaled distributions, the two-Gaussian fit, the test for two populations and the
minority abundance.

:func:`distance_statistics` is the only implementation; notebook 03, the app, the
distance-distribution explorer and the method benchmark all take its
:class:`DistanceStatistics`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for
from stswidgets.pipeline.noise import Denoised, NoiseFloor, denoise, noise_floor

__all__ = ["DistanceStatistics", "distance_attrs", "distance_statistics", "split_auc"]


@dataclass
class DistanceStatistics:
    """Notebook 03 in numbers.

    Attributes
    ----------
    counts, edges : ndarray ``(bins,)``, ``(bins + 1,)``
        Histogram of all ``N (N - 1) / 2`` raw distances (units of the spectra).
    median_distance : float
        Median pair distance (bin centre of the raw histogram).
    offsets : tuple of float
        Absolute log offsets (``config.offsets`` x median) and, last, the fitted one.
    rescaled : dict offset -> (counts, edges)
        Histogram of ``log(d + offset)`` for every offset, over the distances that occur.
    offset : float
        The fitted distribution's offset (``config.fit_offset`` x median).
    fit : TwoGaussianFit
        Two Gaussians fitted to ``log(d + offset)``.
    H, h_edges : ndarray ``(n_spectra, bins)``, ``(bins + 1,)``
        Each spectrum's histogram of ``log(d + offset)`` to all the others (fit's bins).
    abundance : ndarray ``(n_spectra,)`` or None
        Fraction of each spectrum's distances beyond ``threshold``; None when the test shows
        one population (``reason`` says why).
    threshold : float
        Where the distances are split (crossing of the components, or the config's value).
    bimodal : bool
        Whether the stated test (``populations``) finds two populations.
    reason : str
    noise : NoiseFloor
        The white noise of the spectra as loaded, and its floor distance.
    denoised : Denoised
        What ``config.denoise`` did before the distances (its ``X`` left out).
    populations : PopulationTest
        The model selection: Delta BIC (sample size: the number of spectra), the measured
        dip, where the near component sits relative to the noise floor.
    """

    counts: np.ndarray
    edges: np.ndarray
    median_distance: float
    offsets: tuple[float, ...]
    rescaled: dict
    offset: float
    fit: object
    H: np.ndarray
    h_edges: np.ndarray
    abundance: np.ndarray | None
    threshold: float
    bimodal: bool
    reason: str
    noise: NoiseFloor | None = None
    denoised: Denoised | None = None
    populations: object = None

    @property
    def floor_distance(self) -> float:
        """The noise floor of the distances measured: after denoising, if any."""
        if self.denoised is not None:
            return self.denoised.floor_distance
        return self.noise.floor_distance if self.noise is not None else float("nan")

    @property
    def minority(self) -> np.ndarray | None:
        """Spectra called minority: more than half of their distances beyond the split.

        With a fraction ``p < 1/2`` of minority spectra, a majority spectrum has about ``p``
        of its partners beyond the split and a minority spectrum about ``1 - p`` (or more):
        one half separates them. None without an abundance.
        """
        return None if self.abundance is None else self.abundance > 0.5

    @property
    def minority_fraction(self) -> float:
        """Fraction of the spectra called minority (NaN without an abundance); compare with
        ``populations.fitted_minority``, the fraction the far weight implies."""
        return float("nan") if self.abundance is None else float(np.mean(self.minority))

    @property
    def n_pairs(self) -> int:
        return int(self.counts.sum())

    @property
    def bins(self) -> int:
        return len(self.counts)

    @property
    def fit_counts(self) -> np.ndarray:
        return self.rescaled[self.offset][0]

    @property
    def fit_edges(self) -> np.ndarray:
        return self.rescaled[self.offset][1]


def distance_statistics(
    X: np.ndarray,
    config: PipelineConfig | None = None,
    progress=None,
    client=None,
    device: str | None = None,
) -> DistanceStatistics:
    """All pair distances of ``X``, rescaled, fitted and split into a minority abundance.

    The white noise of ``X`` is estimated first (:func:`~stswidgets.pipeline.noise_floor`) and,
    with ``config.denoise = "pca"``, removed (:func:`~stswidgets.pipeline.denoise`). Then three
    blockwise passes over the pairs (memory ``O(N x block)``): the raw histogram, the
    log-rescaled histograms for every offset, and the per-spectrum histograms at the fitted
    offset. Two populations are claimed only when
    :func:`~stswidgets.analysis.distances.population_test` finds them (Delta BIC of one vs two
    normal components above ``config.min_delta_bic`` with the number of spectra as sample
    size, a dip in the measured histogram, a far component that a minority explains);
    otherwise ``abundance`` is None and ``reason`` says why.

    Parameters
    ----------
    X : ndarray, shape ``(n_spectra, n_bias)``
    config : PipelineConfig
        ``bins``, ``offsets``, ``fit_offset``, ``abundance_threshold``, ``denoise``,
        ``min_delta_bic``.
    progress : callable ``(fraction, what)``, optional
        Called after each pass (the app's progress bar).
    client, device
        Run the pair passes on a dask cluster or in torch (see
        :func:`stswidgets.analysis.distance_histogram`).
    """
    from stswidgets.analysis.distances import (
        default_bins,
        distance_histogram,
        fit_two_gaussians,
        median_distance,
        minority_abundance,
        occupied_range,
        per_spectrum_histograms,
        population_test,
    )

    config = config or config_for("full")
    noise = noise_floor(X)
    denoised = denoise(X, noise, config.denoise)
    if config.denoise != "none":
        X = denoised.X.astype(np.asarray(X).dtype, copy=False)
    denoised = dataclasses.replace(denoised, X=None)  # the statistics keep no copy of X
    report = progress or (lambda fraction, what: None)
    bins = config.bins or default_bins(len(X))
    # the app reports through `progress`; elsewhere the pair passes show their own bar
    where = {"client": client, "device": device, "progress": None if progress is None else False}
    counts, edges = distance_histogram(X, bins=bins, **where)
    report(0.3, "all pair distances")
    median = median_distance(counts, edges)
    offset = config.fit_offset * median
    offsets = tuple(sorted({fraction * median for fraction in config.offsets} - {offset}))
    ranges = [occupied_range(counts, edges, o) for o in offsets]
    rescaled = {}
    if offsets:
        histograms = distance_histogram(X, bins=bins, offset=list(offsets), range=ranges, **where)
        rescaled = dict(zip(offsets, histograms, strict=True))
    report(0.6, "log-rescaled distances")
    window = occupied_range(counts, edges, offset)
    H, h_edges, fit_counts = per_spectrum_histograms(
        X, bins=bins, range=window, offset=offset, return_counts=True, **where
    )
    rescaled[offset] = (fit_counts, h_edges)
    report(0.9, "per-spectrum histograms")
    fit = fit_two_gaussians(fit_counts, h_edges)
    test = population_test(
        fit,
        fit_counts,
        h_edges,
        n_spectra=len(X),
        offset=offset,
        floor_distance=denoised.floor_distance,
        min_delta_bic=config.min_delta_bic,
    )
    result = minority_abundance(H, h_edges, fit, threshold=config.abundance_threshold, test=test)
    report(1.0, "two-Gaussian fit")
    return DistanceStatistics(
        counts=counts,
        edges=edges,
        median_distance=float(median),
        offsets=(*offsets, offset),
        rescaled=rescaled,
        offset=float(offset),
        fit=fit,
        H=H,
        h_edges=h_edges,
        abundance=result.values,
        threshold=float(result.threshold),
        bimodal=bool(result.bimodal),
        reason=result.reason,
        noise=noise,
        denoised=denoised,
        populations=test,
    )


def distance_attrs(stats: DistanceStatistics) -> dict:
    """The global ``results.nc`` attributes of the distance statistics.

    ``noise_sigma`` and ``noise_floor_distance`` (units of the spectra: the white noise per
    bias point and ``sqrt(2 n_bias) sigma``), ``denoise`` and ``denoise_components``,
    ``distance_populations`` (1 or 2) with ``distance_populations_reason``, the test's
    ``delta_bic`` (with ``delta_bic_sample_size``, the number of spectra) and
    ``histogram_dip``, and with two populations ``minority_fraction`` (spectra called
    minority) beside ``fitted_minority_fraction`` (what the far weight implies).
    """
    test = stats.populations
    attrs = {
        "noise_sigma": stats.noise.sigma if stats.noise is not None else None,
        "noise_floor_distance": stats.noise.floor_distance if stats.noise is not None else None,
        "denoise": stats.denoised.method if stats.denoised is not None else "none",
        "distance_populations": 2 if stats.bimodal else 1,
        "distance_populations_reason": stats.reason,
    }
    if stats.denoised is not None and stats.denoised.method != "none":
        attrs["denoise_components"] = stats.denoised.n_components
        attrs["denoised_floor_distance"] = stats.denoised.floor_distance
    if test is not None:
        for name, value in (("delta_bic", test.delta_bic), ("histogram_dip", test.dip)):
            if np.isfinite(value):
                attrs[name] = float(value)
        if np.isfinite(test.n_effective):
            attrs["delta_bic_sample_size"] = int(test.n_effective)
        if stats.abundance is not None:
            attrs["fitted_minority_fraction"] = float(test.fitted_minority)
    if stats.abundance is not None:
        attrs["minority_fraction"] = stats.minority_fraction
    return attrs


def split_auc(stats: DistanceStatistics, labels) -> tuple[np.ndarray, np.ndarray]:
    """How well the fraction of distances beyond each split separates a known population.

    Parameters
    ----------
    stats : DistanceStatistics
    labels : bool array, shape ``(n_spectra,)``
        The population expected far from the others (e.g. the simulated vacancies).

    Returns
    -------
    splits : numpy.ndarray, shape ``(bins - 1,)``
        The inner edges of the per-spectrum histograms, ``log(d + stats.offset)``.
    auc : numpy.ndarray, shape ``(bins - 1,)``
        ROC AUC of each spectrum's fraction of distances beyond the split, ``labels`` vs the
        rest (0.5: no separation; NaN when one group is empty).
    """
    from stswidgets.analysis.distances import far_fraction
    from stswidgets.analysis.metrics import roc_auc

    labels = np.asarray(labels, dtype=bool)
    splits = stats.h_edges[1:-1]
    auc = []
    for split in splits:
        beyond = far_fraction(stats.H, stats.h_edges, split)
        auc.append(roc_auc(beyond[labels], beyond[~labels]))
    return splits, np.asarray(auc)
