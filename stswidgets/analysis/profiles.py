"""Defect-centred radial profiles: where the defects sit and how far their influence reaches.

Label-free: the defect centres are the centroids of the connected regions of the kind classes
on the map (:func:`defect_centres`), or positions given by hand; :func:`centre_distance` gives
every pixel's distance to the nearest centre, :func:`binned_profile` a quantity's median in
distance bins, and :func:`fit_decay` fits an exponential decay on a constant background,

    ``s(r) = background + amplitude * exp(-(r - r0) / decay_length)``  for ``r >= r0``,

to a profile (``r0``: the core radius, where the fit starts). numpy / scipy only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "DecayFit",
    "binned_profile",
    "centre_distance",
    "defect_centres",
    "fit_decay",
]


def defect_centres(
    labels_map: np.ndarray, min_pixels: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres of the connected regions of every kind on a class map.

    Parameters
    ----------
    labels_map : array-like of int, shape ``(ny, nx)``
        Site classes on the map: ``>= 2`` a kind (the codes of
        :func:`stswidgets.analysis.classify_kinds`), anything else not a defect core.
    min_pixels : int
        Fewest pixels a region holds to count as a defect (single pixels are often noise).

    Returns
    -------
    centres : numpy.ndarray, shape ``(n_defects, 2)``
        ``(row, column)`` of each region's centroid, in pixels.
    kinds : numpy.ndarray of int, shape ``(n_defects,)``
        The class code of each region.
    sizes : numpy.ndarray of int, shape ``(n_defects,)``
        Pixels per region.
    """
    from scipy import ndimage

    labels_map = np.asarray(labels_map)
    if labels_map.ndim != 2:
        raise ValueError(f"labels_map must be a (y, x) map, got shape {labels_map.shape}")
    centres, kinds, sizes = [], [], []
    for code in np.unique(labels_map[labels_map >= 2]):
        regions, n = ndimage.label(labels_map == code, structure=np.ones((3, 3)))
        if n == 0:
            continue
        index = np.arange(1, n + 1)
        counts = ndimage.sum_labels(np.ones_like(regions), regions, index)
        where = ndimage.center_of_mass(np.ones_like(regions), regions, index)
        for centre, count in zip(where, counts, strict=True):
            if count >= min_pixels:
                centres.append(centre)
                kinds.append(int(code))
                sizes.append(int(count))
    return (
        np.asarray(centres, dtype=float).reshape(-1, 2),
        np.asarray(kinds, dtype=int),
        np.asarray(sizes, dtype=int),
    )


def centre_distance(
    shape: tuple[int, int], centres: np.ndarray, pixel_nm=1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Distance of every pixel of a ``shape`` map to the nearest centre, and which centre.

    ``centres`` ``(n, 2)`` in pixels (row, column); the distance is in nm, ``pixel_nm`` the
    pixel size (one number, or ``(dy, dx)``). Without centres the distance is ``inf`` and the
    index ``-1``.
    """
    centres = np.asarray(centres, dtype=float).reshape(-1, 2)
    dy, dx = np.broadcast_to(np.asarray(pixel_nm, dtype=float), (2,))
    rows, cols = np.indices(shape, dtype=float)
    if len(centres) == 0:
        return np.full(shape, np.inf), np.full(shape, -1, dtype=int)
    d2 = ((rows[..., None] - centres[:, 0]) * dy) ** 2 + (
        (cols[..., None] - centres[:, 1]) * dx
    ) ** 2
    nearest = np.argmin(d2, axis=-1)
    return np.sqrt(np.min(d2, axis=-1)), nearest


def binned_profile(
    distance: np.ndarray, values: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, interquartile half-range and count of ``values`` in distance bins ``edges``.

    ``values`` ``(n,)``: median and half the interquartile range per bin; ``(n, n_bias)``
    (spectra): mean and standard deviation per bin and bias point. Empty bins are NaN.
    """
    distance = np.asarray(distance, dtype=float)
    values = np.asarray(values, dtype=float)
    which = np.digitize(distance, edges) - 1
    n_bins = len(edges) - 1
    shape = (n_bins,) + values.shape[1:]
    centre, spread = np.full(shape, np.nan), np.full(shape, np.nan)
    counts = np.zeros(n_bins, dtype=int)
    for b in range(n_bins):
        members = values[which == b]
        counts[b] = len(members)
        if len(members) == 0:
            continue
        if values.ndim == 1:
            q25, q50, q75 = np.percentile(members, [25, 50, 75])
            centre[b], spread[b] = q50, (q75 - q25) / 2
        else:
            centre[b], spread[b] = members.mean(axis=0), members.std(axis=0)
    return centre, spread, counts


class DecayFit(NamedTuple):
    """Exponential decay on a background:
    ``background + amplitude * exp(-(r - r0) / decay_length)``."""

    background: float
    amplitude: float
    decay_length: float
    """In the units of the distance (nm)."""
    r0: float
    """Where the fit starts (the core radius), same units."""
    ok: bool
    """False where the fit failed or the profile does not decay (then the values are NaN)."""

    def __call__(self, r) -> np.ndarray:
        r = np.asarray(r, dtype=float)
        return self.background + self.amplitude * np.exp(-(r - self.r0) / self.decay_length)


def fit_decay(r: np.ndarray, s: np.ndarray, r0: float, weights=None) -> DecayFit:
    """Least-squares fit of ``s(r) = b + A exp(-(r - r0) / xi)`` to the points ``r >= r0``.

    ``weights`` (e.g. pixel counts per bin) weight the squared residuals. The decay length
    is bounded to (0.05, 10) times the span of ``r``; ``ok`` is False where fewer than four
    points remain, the fit fails or the amplitude is not positive (no decay).
    """
    from scipy.optimize import curve_fit

    r, s = np.asarray(r, dtype=float), np.asarray(s, dtype=float)
    w = np.ones_like(r) if weights is None else np.asarray(weights, dtype=float)
    keep = (r >= r0) & np.isfinite(s) & (w > 0)
    nan = DecayFit(np.nan, np.nan, np.nan, float(r0), False)
    if keep.sum() < 4:
        return nan
    r, s, w = r[keep], s[keep], w[keep]
    span = max(float(r.max() - r0), 1e-9)

    def model(x, b, a, xi):
        return b + a * np.exp(-(x - r0) / xi)

    guess = [float(s[-3:].mean()), max(float(s[0] - s[-3:].mean()), 1e-6), 0.3 * span]
    try:
        params, _ = curve_fit(
            model,
            r,
            s,
            p0=guess,
            sigma=1.0 / np.sqrt(w),
            bounds=([-np.inf, 0.0, 0.05 * span], [np.inf, np.inf, 10 * span]),
            maxfev=5000,
        )
    except (RuntimeError, ValueError):
        return nan
    b, a, xi = map(float, params)
    if not a > 0:
        return nan
    return DecayFit(b, a, xi, float(r0), True)
