"""One-dimensional statistics of a score: where its majority sits and where its tail splits.

Shared by the score bands of :mod:`stswidgets.analysis.spectral_weight` and the site classes of
:mod:`stswidgets.analysis.kinds`. Every function takes a 1D array of score values.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from stswidgets.analysis.segmentation import otsu_threshold

__all__ = [
    "MAD_TO_SIGMA",
    "density_peaks",
    "density_valley",
    "far_mode",
    "otsu_split",
    "robust_core",
]

#: The MAD of a Gaussian times this is its standard deviation.
MAD_TO_SIGMA = 1.4826


def robust_core(values: np.ndarray, clip: float = 3.0, max_iter: int = 20) -> tuple[float, float]:
    """Median and MAD-sigma of the majority population, with iterative ``clip``-sigma clipping."""
    core = values
    for _ in range(max_iter):
        center = float(np.median(core))
        sigma = MAD_TO_SIGMA * float(np.median(np.abs(core - center)))
        if sigma == 0.0:
            sigma = float(np.std(core))
        if sigma == 0.0:
            return center, 0.0
        kept = values[np.abs(values - center) <= clip * sigma]
        if kept.size == core.size:
            break
        core = kept
    return center, sigma


def density_peaks(values: np.ndarray, min_prominence: float):
    """Gaussian KDE of ``values`` on a 512-point grid and the indices of its peaks.

    Peaks are local maxima whose prominence is at least ``min_prominence`` times the highest
    density; one at either end of the grid counts. Returns ``(grid, density, peaks)``.
    """
    from scipy.signal import find_peaks

    grid = np.linspace(values.min(), values.max(), 512)
    density = stats.gaussian_kde(values)(grid)
    # zeros on both sides, so that a peak at either end of the grid counts
    peaks, _ = find_peaks(np.pad(density, 1), prominence=min_prominence * density.max())
    return grid, density, peaks - 1


def far_mode(tail: np.ndarray, min_prominence: float = 0.1) -> tuple[float, float]:
    """The density peak of ``tail`` farthest out and the MAD-sigma of its far side.

    Of the peaks of :func:`density_peaks` the one at the largest value is taken (a score
    that runs in steps piles the vacancies up at its end, beyond a plateau of transition
    spectra that may hold more spectra than the pile).
    """
    if tail.size < 2 or not tail.max() > tail.min():
        return float(np.median(tail)), 0.0
    grid, density, peaks = density_peaks(tail, min_prominence)
    peak = float(grid[peaks.max()]) if peaks.size else float(grid[np.argmax(density)])
    far = tail[tail >= peak]
    sigma = MAD_TO_SIGMA * float(np.median(far - peak))
    return peak, sigma


def density_valley(values: np.ndarray, min_prominence: float = 0.01) -> float | None:
    """The lowest density between the low end of ``values`` and the next density peak.

    ``None`` when the density (:func:`density_peaks`) has no peak beyond the one at the
    low end (a tail that only falls off).
    """
    if values.size < 3 or not values.max() > values.min():
        return None
    grid, density, peaks = density_peaks(values, min_prominence)
    first = int(np.argmax(density[: peaks[0] + 1])) if peaks.size else 0
    later = peaks[peaks > first]
    if later.size == 0:
        return None
    return float(grid[first + int(np.argmin(density[first : later[0] + 1]))])


def otsu_split(values: np.ndarray) -> float:
    """Otsu's threshold of ``values`` (their value itself when they are all equal)."""
    lo, hi = float(values.min()), float(values.max())
    return lo if not hi > lo else otsu_threshold(values)
