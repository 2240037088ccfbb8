"""Densities of many spectra at once: the energy-resolved histogram of a grid (paper Fig. 2)."""

from __future__ import annotations

import numpy as np

__all__ = ["energy_resolved_histogram"]


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
        Conductance range of the bins; default: the 0.1th to 99.9th percentile of all finite
        values, so that a few outliers do not squeeze the density. Values outside are not counted.

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
        lo, hi = np.percentile(X[finite], [0.1, 99.9])
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
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
