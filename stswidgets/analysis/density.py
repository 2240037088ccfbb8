"""Densities of many spectra at once: the energy-resolved histogram of a grid (paper Fig. 2)."""

from __future__ import annotations

import numpy as np

__all__ = ["CLIP_PERCENT", "clipped_fraction", "energy_resolved_histogram", "histogram_range"]

#: Percent of the spectra at most left outside the default histogram range at any one bias,
#: split evenly between the low and the high side.
CLIP_PERCENT = 0.5


def histogram_range(X, clip_percent: float = CLIP_PERCENT) -> tuple[float, float]:
    """The conductance range that leaves at most ``clip_percent`` % of the spectra outside at
    every bias: from the lowest per-bias ``clip_percent / 2`` percentile to the highest per-bias
    ``100 - clip_percent / 2`` percentile.

    A range from the percentiles of all values pooled would cut off the energies where the
    conductance is highest (a coherence peak): there most spectra can lie above it.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
    clip_percent : float
        Percent of the spectra allowed outside at one bias (0 keeps every value).

    Returns
    -------
    (low, high) : tuple of float
    """
    X = np.asarray(X, dtype=float)
    if not np.isfinite(X).any():
        raise ValueError("X holds no finite value")
    half = float(clip_percent) / 2
    with np.errstate(all="ignore"):
        # measured values, not interpolated ones: with few spectra an interpolated
        # percentile would leave the lowest / highest spectrum outside
        low = np.nanpercentile(X, half, axis=0, method="lower")
        high = np.nanpercentile(X, 100 - half, axis=0, method="higher")
    lo, hi = float(np.nanmin(low)), float(np.nanmax(high))
    return (lo - 0.5, hi + 0.5) if hi <= lo else (lo, hi)


def clipped_fraction(X, value_edges) -> np.ndarray:
    """Fraction of the spectra outside ``value_edges`` at each bias, ``(n_bias,)``: what an
    energy-resolved histogram with these edges leaves out (NaN values not counted)."""
    X = np.asarray(X, dtype=float)
    lo, hi = float(value_edges[0]), float(value_edges[-1])
    outside = np.isfinite(X) & ((X < lo) | (X > hi))
    return outside.sum(axis=0) / max(X.shape[0], 1)


def energy_resolved_histogram(
    X,
    bias_mV,
    bins: int = 100,
    value_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the conductance of all spectra at every bias: a 2D density.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Spectra as rows (the matrix view of a grid).
    bias_mV : array-like, shape ``(n_bias,)``
        Bias of every column in mV (only its length is checked; it labels the rows of ``H``).
    bins : int
        Number of conductance bins.
    value_range : (float, float), optional
        Conductance range of the bins; default: :func:`histogram_range`, which leaves at most
        :data:`CLIP_PERCENT` % of the spectra outside at any bias, so that a few outliers do
        not squeeze the density while no energy loses its bulk. Values outside are not counted
        (:func:`clipped_fraction` says how many).

    Returns
    -------
    H : numpy.ndarray, shape ``(n_bias, bins)``, float
        ``H[j, k]``: fraction of the spectra whose value at bias ``j`` falls in bin ``k``
        (each row sums to at most 1; NaN values are not counted).
    value_edges : numpy.ndarray, shape ``(bins + 1,)``
        Conductance bin edges, in the units of ``X``.
    """
    X = np.asarray(X, dtype=float)
    bias_mV = np.asarray(bias_mV, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_spectra, n_bias), got shape {X.shape}")
    if bias_mV.shape != (X.shape[1],):
        raise ValueError(f"bias_mV has shape {bias_mV.shape}, expected ({X.shape[1]},)")
    if int(bins) < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    finite = np.isfinite(X)
    if not finite.any():
        raise ValueError("X holds no finite value")
    if value_range is None:
        lo, hi = histogram_range(X)
    else:
        lo, hi = (float(v) for v in value_range)
        if not hi > lo:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}")
    edges = np.linspace(lo, hi, int(bins) + 1)
    # bin index of every value; values outside [lo, hi] or NaN get dropped
    inside = finite & (X >= lo) & (X <= hi)
    clipped = np.where(inside, X, lo)
    index = np.minimum(np.floor((clipped - lo) / (hi - lo) * bins), bins - 1).astype(np.int64)
    columns = np.broadcast_to(np.arange(X.shape[1]), X.shape)
    flat = columns[inside] * bins + index[inside]
    H = np.bincount(flat, minlength=X.shape[1] * bins).reshape(X.shape[1], bins)
    return H / X.shape[0], edges
