"""Spectral-weight transfer between the surface and the vacancies (paper Fig. 8).

The 1D similarity score puts every spectrum on a line from "surface-like" to "vacancy-like".
This module cuts that line into three bands (surface, transition, vacancy; for any number of
minority kinds see :mod:`stswidgets.analysis.kinds`), averages the spectra of each band or
class (Fig. 8a), describes how far apart the surface and vacancy spectra are
at every energy (Fig. 8b), and finds pairs of energy windows whose conductances move in
opposite directions over the grid (Fig. 8c): where spectral weight removed from one window
reappears in another.

All functions take the matrix view ``X`` of shape ``(n_spectra, n_bias)`` and return numpy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from stswidgets.analysis.score_statistics import density_valley, far_mode, otsu_split, robust_core
from stswidgets.grid import check_spectra

__all__ = [
    "CLASS_NAMES",
    "DistanceDensity",
    "EnergyWindowPair",
    "anticorrelated_windows",
    "class_spectra",
    "energy_correlation",
    "energy_resolved_distance_density",
    "score_classes",
    "window_iou",
]

#: Band labels in the order of their integer codes 0, 1, 2.
CLASS_NAMES = ("surface", "transition", "vacancy")

#: A surface band narrower than this fraction of the way to the vacancy cut is a saturated
#: pile (a score network's output stuck at its end), see :func:`score_classes`.
SATURATED_SURFACE = 0.01


def score_classes(
    score: np.ndarray,
    thresholds: tuple[float, float] | None = None,
    *,
    n_sigma: float = 3.0,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Split spectra into surface (0), transition (1) and vacancy (2) bands by their 1D score.

    One minority kind only; :func:`stswidgets.analysis.classify_kinds` finds any number of
    kinds from the projection and the score (notebook 07 uses it).

    Parameters
    ----------
    score : array-like, shape ``(n_spectra,)``
        The 1D similarity score (e.g. ``stswidgets.learn.SimilarityScore().fit_transform(X)``).
        Its sign convention does not matter: the vacancy side is found from the data.
    thresholds : (surface_edge, vacancy_edge), optional
        Score values of the two cuts. Spectra on the far side of ``surface_edge`` from
        ``vacancy_edge`` are surface, those beyond ``vacancy_edge`` are vacancy, the rest are
        transition; so ``surface_edge < vacancy_edge`` means vacancies have high scores, and
        ``surface_edge > vacancy_edge`` means they have low ones. ``None`` chooses them from
        the score distribution (see Notes).
    n_sigma : float
        Width of the surface band in robust standard deviations (automatic rule only).

    Returns
    -------
    bands : numpy.ndarray of int, shape ``(n_spectra,)``
        0 = surface, 1 = transition, 2 = vacancy (names in :data:`CLASS_NAMES`).
    thresholds_used : (surface_edge, vacancy_edge)
        The cuts applied, in score units, in the convention of ``thresholds``.

    Notes
    -----
    The automatic rule assumes the surface is the majority population and the vacancies a
    minority (a few percent up to about a third of the spectra) at one end of the score, the
    surface roughly Gaussian near its centre, with transition spectra spread between them. A
    network score that saturates piles the vacancies up at its end; that pile is their peak.

    1. Otsu's threshold of the score histogram (the cut maximising the between-class variance)
       splits the spectra into two groups; the vacancy side is the side of the smaller group
       (ties: high scores).
    2. The surface population is described by the median and the MAD-based standard deviation
       ``sigma`` (``1.4826 * MAD``) of the larger group, iterated with 3-sigma clipping so
       that transition spectra do not widen it.
    3. ``surface_edge = median + n_sigma * sigma`` towards the vacancy side.
    4. The vacancy population is the peak farthest out of a Gaussian kernel density estimate
       of the scores beyond both ``surface_edge`` and Otsu's threshold (of the peaks at least
       a tenth as prominent as the highest: a score running in steps puts a plateau of
       transition spectra, which may outnumber the vacancies, before their pile at its end,
       and a surface pile with a long tail would dwarf both without Otsu's cut); its width
       ``sigma_v`` is the MAD-based standard deviation of the scores on the far side of that
       peak (the side the transition spectra cannot contaminate), and
       ``vacancy_edge = peak - n_sigma * sigma_v``, mirroring step 3.
    5. When that cut does not lie beyond ``surface_edge`` (the scores beyond the surface fall
       off continuously, with no separate vacancy peak), ``vacancy_edge`` is Otsu's threshold
       of the scores beyond ``surface_edge``: the cut splitting them into the two groups of
       largest between-class variance (transition and vacancy).
    6. A surface band narrower than 1 % of the way to ``vacancy_edge``
       (:data:`SATURATED_SURFACE`) is a saturated pile: a score network's output stuck at its
       end, with a tail of slightly perturbed surface spectra. Then ``surface_edge`` moves
       out to the lowest density between the pile and the next population (a plateau of
       transition spectra), when the density has such a peak.

    ``vacancy_edge`` is never closer to the surface than ``surface_edge``; the transition band
    is what lies between them and is empty when they coincide.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> score = np.concatenate([rng.normal(0, 1, 970), rng.normal(12, 1, 30)])
    >>> bands, (surface_edge, vacancy_edge) = score_classes(score)
    >>> int((bands == 2).sum())
    30
    """
    score = np.asarray(score, dtype=float)
    if score.ndim != 1 or score.size == 0:
        raise ValueError(
            f"score must be a non-empty 1D array (n_spectra,), got shape {score.shape}"
        )
    if not np.all(np.isfinite(score)):
        raise ValueError(f"score holds {int((~np.isfinite(score)).sum())} non-finite values")
    if thresholds is not None:
        if len(thresholds) != 2:
            raise ValueError(f"thresholds must be (surface_edge, vacancy_edge), got {thresholds!r}")
        surface_edge, vacancy_edge = (float(t) for t in thresholds)
        side = 1.0 if vacancy_edge >= surface_edge else -1.0
    else:
        split = otsu_split(score)
        above = score > split
        side = 1.0 if above.sum() <= (~above).sum() else -1.0  # vacancies: the minority side
        center, sigma = robust_core(score[~above] if side > 0 else score[above])
        oriented = side * score
        surface_cut = side * center + n_sigma * sigma
        tail = oriented[oriented > surface_cut]
        beyond_split = oriented[oriented > max(surface_cut, side * split)]
        vacancy_cut = surface_cut
        if beyond_split.size >= 2:
            peak, far_sigma = far_mode(beyond_split)
            vacancy_cut = peak - n_sigma * far_sigma
        if vacancy_cut <= surface_cut and tail.size >= 2:
            vacancy_cut = otsu_split(tail)  # no separate vacancy peak: a continuous tail
        if surface_cut - side * center < SATURATED_SURFACE * (vacancy_cut - side * center):
            # a saturated surface pile: it reaches the valley before the next population
            valley = density_valley(oriented[(oriented > side * center) & (oriented < vacancy_cut)])
            if valley is not None:
                surface_cut = max(surface_cut, valley)
        vacancy_cut = max(vacancy_cut, surface_cut)
        surface_edge, vacancy_edge = side * surface_cut, side * vacancy_cut
    oriented = side * score
    bands = np.ones(score.shape, dtype=np.int64)
    bands[oriented <= side * surface_edge] = 0
    bands[oriented > side * vacancy_edge] = 2
    return bands, (surface_edge, vacancy_edge)


def class_spectra(
    X: np.ndarray, classes: np.ndarray, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the spectra of each class (Fig. 8a).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
    classes : array-like of int, shape ``(n_spectra,)``
        Codes 0, 1, 2, ...: the bands of :func:`score_classes` or the classes of
        :func:`stswidgets.analysis.classify_kinds` (negative codes are left out).
    n_classes : int, optional
        Rows of the result; default: 3 (:data:`CLASS_NAMES`) or ``max(classes) + 1`` if larger.

    Returns
    -------
    mean, std : numpy.ndarray, shape ``(n_classes, n_bias)``
        Row ``k`` describes code ``k``; NaN rows for an empty one. ``std`` is the population
        standard deviation (``ddof=0``).
    """
    X = check_spectra(X, min_spectra=1)
    classes = np.asarray(classes)
    if classes.shape != (X.shape[0],):
        raise ValueError(f"classes has shape {classes.shape}, expected ({X.shape[0]},) to match X")
    if n_classes is None:
        n_classes = max(len(CLASS_NAMES), int(classes.max(initial=-1)) + 1)
    mean = np.full((int(n_classes), X.shape[1]), np.nan)
    std = np.full_like(mean, np.nan)
    for code in range(int(n_classes)):
        members = X[classes == code]
        if len(members):
            mean[code] = members.mean(axis=0)
            std[code] = members.std(axis=0)
    return mean, std


class DistanceDensity(NamedTuple):
    """Result of :func:`energy_resolved_distance_density`."""

    density: np.ndarray
    """``(n_bins, n_bias)``: probability density of the difference at each bias (columns
    integrate to 1 over the bins)."""
    edges: np.ndarray
    """``(n_bins + 1,)``: bin edges of the difference, in the units of ``X``."""
    median: np.ndarray
    """``(n_bias,)``: median difference at each bias."""
    n_pairs: int
    """Number of (surface, vacancy) pairs used."""


def energy_resolved_distance_density(
    X_surface: np.ndarray,
    X_vacancy: np.ndarray,
    bias_mV: np.ndarray,
    bins: int | np.ndarray = 64,
    *,
    signed: bool = False,
    max_pairs: int = 20_000,
    random_state: int | None = 0,
) -> DistanceDensity:
    """Energy-resolved distance between the surface and vacancy collections (Fig. 8b).

    For every pair ``(s, v)`` of one surface spectrum and one vacancy spectrum and every bias
    ``E``, the difference is ``d(E) = |x_s(E) - x_v(E)|`` (or ``x_v(E) - x_s(E)`` with
    ``signed=True``: positive where the vacancy has more conductance). The result is the
    distribution of ``d(E)`` over the pairs at each bias: its Euclidean norm over ``E`` is the
    ordinary distance between the two spectra, so this shows at which energies that distance
    builds up.

    Parameters
    ----------
    X_surface : array-like, shape ``(n_surface, n_bias)``
    X_vacancy : array-like, shape ``(n_vacancy, n_bias)``
    bias_mV : array-like, shape ``(n_bias,)``
        Bias of each column, in mV (checked against the column count).
    bins : int or array-like
        Number of bins over the range of the differences, or the bin edges.
    signed : bool
        Signed difference ``x_v - x_s`` instead of its absolute value.
    max_pairs : int
        All ``n_surface * n_vacancy`` pairs when that is at most ``max_pairs``; otherwise
        ``max_pairs`` pairs drawn uniformly with replacement using ``random_state``.
    random_state : int or None
        Seed of the pair subsampling.

    Returns
    -------
    DistanceDensity
        ``density (n_bins, n_bias)``, ``edges (n_bins + 1,)``, ``median (n_bias,)``, ``n_pairs``.
    """
    X_surface = check_spectra(X_surface, min_spectra=1, name="X_surface")
    X_vacancy = check_spectra(X_vacancy, min_spectra=1, name="X_vacancy")
    bias_mV = np.asarray(bias_mV, dtype=float)
    n_bias = X_surface.shape[1]
    if X_vacancy.shape[1] != n_bias or bias_mV.shape != (n_bias,):
        raise ValueError(
            f"X_surface {X_surface.shape}, X_vacancy {X_vacancy.shape} and bias_mV "
            f"{bias_mV.shape} must share the number of bias points"
        )
    if len(X_surface) == 0 or len(X_vacancy) == 0:
        raise ValueError(
            f"need at least one spectrum in each collection, got {len(X_surface)} surface and "
            f"{len(X_vacancy)} vacancy spectra"
        )
    n_s, n_v = len(X_surface), len(X_vacancy)
    if n_s * n_v <= max_pairs:
        i_s, i_v = np.divmod(np.arange(n_s * n_v), n_v)
    else:
        rng = np.random.default_rng(random_state)
        i_s = rng.integers(0, n_s, size=max_pairs)
        i_v = rng.integers(0, n_v, size=max_pairs)
    diff = X_vacancy[i_v] - X_surface[i_s]
    if not signed:
        diff = np.abs(diff)
    if np.ndim(bins) == 0:
        lo, hi = float(diff.min()), float(diff.max())
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, int(bins) + 1)
    else:
        edges = np.asarray(bins, dtype=float)
    density = np.empty((len(edges) - 1, n_bias))
    for column in range(n_bias):
        density[:, column] = np.histogram(diff[:, column], bins=edges, density=True)[0]
    return DistanceDensity(density, edges, np.median(diff, axis=0), len(diff))


def energy_correlation(X: np.ndarray) -> np.ndarray:
    """Pearson correlation of the conductance at every pair of energies (Fig. 8c).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        All spectra of the grid.

    Returns
    -------
    numpy.ndarray, shape ``(n_bias, n_bias)``
        ``C[i, j]`` is the correlation over the spectra of the conductance at bias ``i`` with
        that at bias ``j`` (the same as ``np.corrcoef(X, rowvar=False)``). Rows and columns of
        a bias with no variation are NaN.
    """
    X = check_spectra(X, min_spectra=2)
    centered = X - X.mean(axis=0)
    norm = np.sqrt((centered**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        standardized = centered / norm
    C = standardized.T @ standardized
    C[:, norm == 0] = np.nan
    C[norm == 0, :] = np.nan
    return np.clip(C, -1.0, 1.0)


class EnergyWindowPair(NamedTuple):
    """Two energy windows whose conductances are anti-correlated over the grid."""

    window_a_mV: tuple[float, float]
    """(lo, hi) of the lower-energy window, in mV."""
    window_b_mV: tuple[float, float]
    """(lo, hi) of the higher-energy window, in mV."""
    strength: float
    """Mean of ``-C`` over the anti-correlated region, in (-threshold, 1]."""


def anticorrelated_windows(
    C: np.ndarray,
    bias_mV: np.ndarray,
    threshold: float = -0.5,
    min_width_mV: float = 0.0,
) -> list[EnergyWindowPair]:
    """Pairs of energy windows where suppression in one goes with enhancement in the other.

    The anti-correlated regions are the connected regions (8-connectivity) of
    ``C[i, j] < threshold`` above the diagonal (``bias_i < bias_j``). Each region is reported
    by the bias range it spans along each axis.

    Parameters
    ----------
    C : array-like, shape ``(n_bias, n_bias)``
        Energy-energy correlation matrix (:func:`energy_correlation`); NaN counts as 0.
    bias_mV : array-like, shape ``(n_bias,)``
        Bias of each row/column, ascending, in mV.
    threshold : float
        Correlation below which two energies count as anti-correlated (negative).
    min_width_mV : float
        Regions narrower than this along either axis are dropped (noise).

    Returns
    -------
    list of EnergyWindowPair
        ``(window_a_mV, window_b_mV, strength)`` with ``window_a`` the lower-energy window,
        sorted by decreasing strength (mean anti-correlation inside the region).
    """
    C = np.asarray(C, dtype=float)
    bias_mV = np.asarray(bias_mV, dtype=float)
    n = len(bias_mV)
    if C.shape != (n, n):
        raise ValueError(f"C has shape {C.shape}, expected ({n}, {n}) to match bias_mV")
    if not -1.0 <= threshold < 0.0:
        raise ValueError(f"threshold must be a negative correlation in [-1, 0), got {threshold}")
    if n > 1 and not np.all(np.diff(bias_mV) > 0):
        raise ValueError("bias_mV must be strictly ascending")
    C = np.nan_to_num(C, nan=0.0)
    region_mask = (C < threshold) & np.triu(np.ones((n, n), dtype=bool), k=1)
    labels, n_regions = ndimage.label(region_mask, structure=np.ones((3, 3), dtype=int))
    windows = []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        rows, cols = found
        window_a = (float(bias_mV[rows.start]), float(bias_mV[rows.stop - 1]))
        window_b = (float(bias_mV[cols.start]), float(bias_mV[cols.stop - 1]))
        if min(window_a[1] - window_a[0], window_b[1] - window_b[0]) < min_width_mV:
            continue
        strength = float(-C[found][labels[found] == index].mean())
        windows.append(EnergyWindowPair(window_a, window_b, strength))
    return sorted(windows, key=lambda w: -w.strength)


def window_iou(window: tuple[float, float], other: tuple[float, float]) -> float:
    """Intersection over union of two energy windows ``(lo, hi)`` in mV (0 when disjoint).

    Examples
    --------
    >>> window_iou((-12.0, -4.0), (-10.0, -2.0))
    0.6
    """
    (lo_a, hi_a), (lo_b, hi_b) = sorted(window), sorted(other)
    intersection = max(0.0, min(hi_a, hi_b) - max(lo_a, lo_b))
    union = max(hi_a, hi_b) - min(lo_a, lo_b)
    return float(intersection / union) if union > 0 else float(lo_a == lo_b)
