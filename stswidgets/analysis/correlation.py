"""Distance correlation between data space and a latent space (paper Fig. 5).

For every spectrum, its Euclidean distance from the mean spectrum (data space) is paired
with the distance of its latent coordinates from the mean of the latent coordinates. A good
latent space for finding rare spectra keeps the order of these distances; the 2D density of
the pairs shows how (Fig. 5a), the log-rescaled version spreads the crowded small distances
(Fig. 5b), and :func:`ideal_step_density` gives the shape a perfect two-population
separation would produce (Fig. 5c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DistanceCorrelation",
    "default_bins",
    "distance_correlation",
    "distances_from_mean",
    "ideal_step_density",
    "otsu_threshold",
]


@dataclass(frozen=True)
class DistanceCorrelation:
    """Data-space vs latent-space distances from the mean, and their 2D density.

    Attributes
    ----------
    data_distance : numpy.ndarray, shape ``(n_spectra,)``
        ``|x_i - mean(x)|`` (units of the spectra), or its log-rescaled value.
    latent_distance : numpy.ndarray, shape ``(n_spectra,)``
        ``|z_i - mean(z)|`` (units of the latent space), or its log-rescaled value.
    density : numpy.ndarray, shape ``(bins, bins)``
        Counts of spectra per (data bin, latent bin): ``density[i, j]`` counts the spectra with
        ``data_distance`` in bin ``i`` and ``latent_distance`` in bin ``j`` (``numpy.histogram2d``
        convention; plot ``density.T`` with ``origin="lower"``).
    data_edges, latent_edges : numpy.ndarray, shape ``(bins + 1,)``
    spearman : float
        Spearman rank correlation of the two distances (1 = the latent space keeps the order).
    pearson : float
        Pearson correlation of the two (possibly rescaled) distances.
    log : bool
        Whether the distances are ``log(d + offset)``.
    offset : tuple of float
        The offsets used for the data and latent distances (``(0, 0)`` when ``log`` is False).
    """

    data_distance: np.ndarray
    latent_distance: np.ndarray
    density: np.ndarray
    data_edges: np.ndarray
    latent_edges: np.ndarray
    spearman: float
    pearson: float
    log: bool
    offset: tuple[float, float]

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x0, x1, y0, y1)`` for ``imshow(density.T, origin="lower", extent=...)``."""
        return (
            float(self.data_edges[0]),
            float(self.data_edges[-1]),
            float(self.latent_edges[0]),
            float(self.latent_edges[-1]),
        )


def default_bins(n_spectra: int) -> int:
    """Bins per axis of a 2D distance-correlation density of ``n_spectra`` spectra:
    ``sqrt(n_spectra)`` (a few spectra per occupied bin), within 10-100."""
    return int(np.clip(round(np.sqrt(max(int(n_spectra), 0))), 10, 100))


def distances_from_mean(X) -> np.ndarray:
    """Euclidean distance of every row of ``X`` (n, d) from the mean row, shape ``(n,)``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"expected a matrix (n, d), got shape {X.shape}")
    return np.sqrt(((X - X.mean(axis=0)) ** 2).sum(axis=1))


def _rescale(d: np.ndarray, offset: float | None, fraction: float) -> tuple[np.ndarray, float]:
    if offset is None:
        median = float(np.median(d))
        offset = fraction * median if median > 0 else 1.0
    offset = float(offset)
    if offset <= 0:
        raise ValueError(f"the log offset must be positive, got {offset}")
    return np.log(d + offset), offset


def _correlation_result(
    d_data: np.ndarray,
    d_latent: np.ndarray,
    bins: int,
    log: bool,
    offset,
    offset_fraction: float,
) -> DistanceCorrelation:
    from scipy.stats import spearmanr

    if log:
        offsets = offset if isinstance(offset, tuple | list) else (offset, offset)
        if len(offsets) != 2:
            raise ValueError(f"offset must be a float or a (data, latent) pair, got {offset!r}")
        d_data, off_data = _rescale(d_data, offsets[0], offset_fraction)
        d_latent, off_latent = _rescale(d_latent, offsets[1], offset_fraction)
        used = (off_data, off_latent)
    else:
        used = (0.0, 0.0)
    density, data_edges, latent_edges = np.histogram2d(d_data, d_latent, bins=int(bins))
    constant = np.ptp(d_data) == 0 or np.ptp(d_latent) == 0
    spearman = float("nan") if constant else float(spearmanr(d_data, d_latent).statistic)
    pearson = float("nan") if constant else float(np.corrcoef(d_data, d_latent)[0, 1])
    return DistanceCorrelation(
        data_distance=d_data,
        latent_distance=d_latent,
        density=density,
        data_edges=data_edges,
        latent_edges=latent_edges,
        spearman=spearman,
        pearson=pearson,
        log=bool(log),
        offset=used,
    )


def distance_correlation(
    X,
    Z,
    bins: int = 100,
    log: bool = False,
    offset: float | tuple[float, float] | None = None,
    offset_fraction: float = 0.05,
) -> DistanceCorrelation:
    """Distance from the mean in data space vs in a latent space (paper Fig. 5a, b).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        The spectra.
    Z : array-like, shape ``(n_spectra, n_components)``
        Their latent coordinates (PCA scores, UMAP, the Siamese projection, ...); a 1D score
        ``(n_spectra,)`` is taken as a one-dimensional latent space.
    bins : int
        Bins of the 2D density along each axis.
    log : bool
        Use ``log(d + offset)`` for both distances (Fig. 5b) instead of ``d``.
    offset : float, (float, float) or None
        Offset of the log rescaling, one value for both axes or ``(data, latent)``; ``None``
        takes ``offset_fraction`` times the median distance of each axis, because the data
        and a non-linear latent space have different units.
    offset_fraction : float
        See ``offset``.

    Returns
    -------
    DistanceCorrelation
        Both distances, their 2D density with edges, Spearman and Pearson correlations.
    """
    X = np.asarray(X)
    Z = np.asarray(Z)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_spectra, n_bias), got {X.shape}")
    if Z.shape[0] != X.shape[0]:
        raise ValueError(
            f"Z must have one row per spectrum: X has {X.shape[0]} rows, Z has shape {Z.shape}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Z))):
        raise ValueError("X and Z must be finite; pass only complete spectra (to_matrix)")
    return _correlation_result(
        distances_from_mean(X), distances_from_mean(Z), bins, log, offset, offset_fraction
    )


def otsu_threshold(values, bins: int = 256) -> float:
    """Threshold maximising the between-class variance of a 1D sample (Otsu's method).

    Values above the threshold form one class; when several thresholds are equally good
    (an empty gap between two modes) the middle of the gap is returned.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    counts, edges = np.histogram(values, bins=int(bins))
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(counts)
    w1 = w0[-1] - w0
    m0 = np.cumsum(counts * centres)
    mean0 = np.divide(m0, w0, out=np.zeros_like(m0), where=w0 > 0)
    mean1 = np.divide(m0[-1] - m0, w1, out=np.zeros_like(m0), where=w1 > 0)
    between = w0 * w1 * (mean0 - mean1) ** 2
    # Every threshold in an empty gap between the classes scores the same: take the middle.
    best = np.nonzero(between >= between.max() * (1 - 1e-12))[0]
    return float(0.5 * (edges[best[0] + 1] + edges[best[-1] + 1]))


def ideal_step_density(
    X,
    labels=None,
    threshold: float | None = None,
    bins: int = 100,
    log: bool = False,
    offset: float | tuple[float, float] | None = None,
    offset_fraction: float = 0.05,
) -> DistanceCorrelation:
    """The distance correlation a perfect two-population separation would give (Fig. 5c).

    The *ideal* latent space keeps only which population a spectrum belongs to: every
    spectrum is mapped onto the mean spectrum of its population, so the within-population
    variation disappears and the distance between the two population means is kept. In one
    dimension that is ``z_i = label_i * |mu_1 - mu_0|``, and the latent distance from the
    latent mean takes just two values, ``p |mu_1 - mu_0|`` for the majority and
    ``(1 - p) |mu_1 - mu_0|`` for the minority (``p`` its fraction): plotted against the
    data-space distance it is a step.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
    labels : array-like of bool, shape ``(n_spectra,)``, or None
        The two populations (e.g. the ground-truth vacancy mask of the valid pixels, or a
        segmentation). ``None``: spectra whose data-space distance from the mean exceeds
        ``threshold`` form the minority, so the step sits exactly at ``threshold``.
    threshold : float or None
        Data-space distance separating the populations when ``labels`` is None; ``None``
        takes Otsu's threshold of the distances.
    bins, log, offset, offset_fraction
        As in :func:`distance_correlation`.

    Returns
    -------
    DistanceCorrelation
        With ``latent_distance`` the ideal step values.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_spectra, n_bias), got {X.shape}")
    d_data = distances_from_mean(X)
    if labels is None:
        threshold = otsu_threshold(d_data) if threshold is None else float(threshold)
        labels = d_data > threshold
    labels = np.asarray(labels, dtype=bool).ravel()
    if labels.shape != (X.shape[0],):
        raise ValueError(
            f"labels must have one entry per spectrum ({X.shape[0]}), got {labels.shape}"
        )
    if labels.all() or not labels.any():
        raise ValueError("labels must contain both populations (some True and some False)")
    X64 = X.astype(np.float64, copy=False)
    separation = float(np.linalg.norm(X64[labels].mean(axis=0) - X64[~labels].mean(axis=0)))
    z = labels.astype(np.float64) * separation
    return _correlation_result(d_data, np.abs(z - z.mean()), bins, log, offset, offset_fraction)
