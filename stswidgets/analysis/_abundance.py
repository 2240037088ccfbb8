"""Per-spectrum minority abundance from the two-Gaussian fit of the distances (paper Fig. 4d).

Public through :mod:`stswidgets.analysis.distances`.

The rescaled distribution of all pairwise distances is fitted with two normal components
(:func:`~stswidgets.analysis.distances.fit_two_gaussians`): *near* pairs (two spectra of the
majority) and *far* pairs (a pair with a minority spectrum in it). The two fitted densities
cross once between their means; a distance beyond that crossing is more likely a far pair than
a near one. A majority spectrum has most of its partners (the other majority spectra) near it,
a minority spectrum almost all of them beyond the crossing, so the **fraction of a spectrum's
distances beyond the crossing** is high on the minority. On the simulated FeSe-like grids
(:mod:`stswidgets.datasets`, every named condition, several seeds) it separates the true
vacancies with ROC AUC 0.96-0.995, while the earlier read-out of each histogram at the far
component's mean scored 0.002-0.6: the far component is broad (it also holds the slowly
varying majority), so its mean lies between the populations.

When the distribution shows one population (:func:`two_populations`), there is no minority to
map and :func:`minority_abundance` returns no values, with the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np

from stswidgets.analysis._two_gaussians import TwoGaussianFit

#: The smaller component must hold at least this fraction of the pairs to count as a population:
#: a fraction ``p`` of minority spectra makes ``2 p (1 - p)`` of the pairs far, so 0.02 means
#: a minority of about 1 % of the spectra or more.
MIN_WEIGHT = 0.02


def crossing(fit: TwoGaussianFit) -> float:
    """Where the two weighted component densities of ``fit`` are equal, between their means.

    Solves ``w0 N(x; m0, s0) = w1 N(x; m1, s1)`` (a quadratic in ``x`` after taking logs)
    for ``m0 < x < m1``. Beyond it a distance is more likely a far pair than a near one.

    Returns
    -------
    float
        The crossing in the units of the fit; NaN when the components do not cross between
        their means (one dominates everywhere there).
    """
    (w0, w1), (m0, m1), (s0, s1) = fit.weights, fit.means, fit.widths
    if not (w0 > 0 and w1 > 0 and m1 > m0):
        return float("nan")
    a = 1 / (2 * s1**2) - 1 / (2 * s0**2)
    b = m0 / s0**2 - m1 / s1**2
    c = np.log(w0 * s1 / (w1 * s0)) - m0**2 / (2 * s0**2) + m1**2 / (2 * s1**2)
    roots = np.roots([a, b, c]) if abs(a) > 1e-12 * abs(b) else np.array([-c / b])
    roots = roots[np.isreal(roots)].real
    inside = np.sort(roots[(roots > m0) & (roots < m1)])
    return float(inside[0]) if inside.size else float("nan")


def _n_modes(fit: TwoGaussianFit) -> int:
    lo = float(np.min(fit.means - 5 * fit.widths))
    hi = float(np.max(fit.means + 5 * fit.widths))
    d = fit.density(np.linspace(lo, hi, 4001))
    return int(np.count_nonzero((d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:])))


def two_populations(fit: TwoGaussianFit, min_weight: float = MIN_WEIGHT) -> tuple[bool, str]:
    """Whether a two-Gaussian fit shows two populations of pairs, and why (not).

    The documented criterion: (1) the fit converged, (2) each component holds at least
    ``min_weight`` of the pairs, (3) the fitted mixture density has two maxima, i.e. a dip
    between the near and the far pairs (a mixture of two normals with close means or very
    unequal weights is unimodal: one population, however the six parameters fall).

    Returns
    -------
    (bool, str)
        True and a one-line summary, or False and what failed, in words for the notebook.
    """
    weights = np.round(fit.weights, 3).tolist()
    if not fit.converged:
        return False, (
            f"the two-Gaussian fit did not converge (weights {weights}): the distribution has "
            "no clear two-component shape"
        )
    if fit.weights.min() < min_weight:
        return False, (
            f"one population: the smaller fitted component holds {fit.weights.min():.3f} of the "
            f"pairs (< {min_weight:g}, i.e. a minority of under ~{50 * min_weight:.0f} % of the "
            "spectra)"
        )
    if _n_modes(fit) < 2:
        return False, (
            f"one population: the fitted mixture (weights {weights}, means "
            f"{np.round(fit.means, 3).tolist()}, widths {np.round(fit.widths, 3).tolist()}) "
            "has a single maximum, no dip between near and far pairs"
        )
    return True, (
        f"two populations of pairs: near w={fit.weights[0]:.3f}, far w={fit.weights[1]:.3f}, "
        f"crossing at {crossing(fit):.3f}"
    )


def far_fraction(H: np.ndarray, edges: np.ndarray, threshold: float) -> np.ndarray:
    """Fraction of each spectrum's distances beyond ``threshold``.

    Parameters
    ----------
    H : array-like, shape ``(n_spectra, n_bins)``
        Per-spectrum histograms from :func:`per_spectrum_histograms`.
    edges : array-like, shape ``(n_bins + 1,)``
        Their bin edges.
    threshold : float
        In the units of ``edges``; inside ``[edges[0], edges[-1]]``. Bins above it count
        fully, the bin holding it by the part of its width above it (counts spread evenly
        within a bin).

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra,)``, float64
        In ``[0, 1]``; NaN for a spectrum with an empty histogram.
    """
    H, edges = _check_histograms(H, edges)
    threshold = float(threshold)
    if not (edges[0] <= threshold <= edges[-1]):
        raise ValueError(
            f"threshold={threshold:g} lies outside the histogram range "
            f"[{edges[0]:g}, {edges[-1]:g}]"
        )
    above = np.clip((edges[1:] - threshold) / np.diff(edges), 0.0, 1.0)
    totals = H.sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (H @ above) / totals
    return np.where(totals > 0, values, np.nan)


def _density_at(H, edges, at: float) -> np.ndarray:
    """Each row's normalised histogram density in the bin holding ``at`` (former read-out)."""
    H, edges = _check_histograms(H, edges)
    if not (edges[0] <= at <= edges[-1]):
        raise ValueError(
            f"at={at:g} lies outside the histogram range [{edges[0]:g}, {edges[-1]:g}]"
        )
    k = min(int(np.searchsorted(edges, at, side="right")) - 1, H.shape[1] - 1)
    totals = H.sum(axis=1, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = H[:, k] / (totals * (edges[k + 1] - edges[k]))
    return np.where(totals > 0, values, np.nan)


def _check_histograms(H, edges) -> tuple[np.ndarray, np.ndarray]:
    H = np.asarray(H)
    edges = np.asarray(edges, dtype=np.float64)
    if H.ndim != 2 or edges.shape != (H.shape[1] + 1,):
        raise ValueError(
            f"H must have shape (n_spectra, n_bins) and edges (n_bins + 1,); got {H.shape} "
            f"and {edges.shape}"
        )
    return H, edges


@dataclass(frozen=True)
class MinorityAbundance:
    """Result of :func:`minority_abundance`.

    Attributes
    ----------
    values : numpy.ndarray, shape ``(n_spectra,)``, or None
        Fraction (0-1) of each spectrum's distances to the others beyond ``threshold``;
        None when the distribution shows one population and no threshold was given.
    bimodal : bool
        Whether the fit shows two populations (:func:`two_populations`).
    reason : str
        Why (not), in words.
    threshold : float
        Where the distances were split, in the units of the histogram edges (the crossing
        of the two components unless given); NaN when there is none.
    fit : TwoGaussianFit
    """

    values: np.ndarray | None
    bimodal: bool
    reason: str
    threshold: float
    fit: TwoGaussianFit


def minority_abundance(
    H: np.ndarray,
    edges: np.ndarray,
    fit: TwoGaussianFit,
    threshold: float | None = None,
    min_weight: float = MIN_WEIGHT,
) -> MinorityAbundance:
    """Per-spectrum minority abundance: the fraction of its distances beyond the crossing.

    Parameters
    ----------
    H : array-like, shape ``(n_spectra, n_bins)``
        Per-spectrum histograms of the rescaled distances from
        :func:`per_spectrum_histograms`.
    edges : array-like, shape ``(n_bins + 1,)``
        Their bin edges (the same rescaling as ``fit``).
    fit : TwoGaussianFit
        The two-Gaussian fit of the global histogram of the same distances.
    threshold : float or None
        None: the crossing of the two fitted components (:func:`crossing`), and no values when
        the fit shows one population. A number: split the distances there, whatever the fit
        says (``bimodal`` and ``reason`` still report the fit).
    min_weight : float
        Smallest weight of a component that counts as a population (:func:`two_populations`).

    Returns
    -------
    MinorityAbundance
        ``values`` high (near 1) on minority spectra; put them on the map with
        :func:`stswidgets.to_map`.

    Examples
    --------
    >>> H, edges, counts = per_spectrum_histograms(X, offset=0.1, return_counts=True)
    >>> result = minority_abundance(H, edges, fit_two_gaussians(counts, edges))
    >>> abundance_map = to_map(result.values, valid) if result.bimodal else None
    """
    if isinstance(fit, Real):  # the former call minority_abundance(H, edges, at)
        warnings.warn(
            "minority_abundance(H, edges, at) with a number reads each histogram at `at` (the "
            "former Fig. 4d read-out: AUC 0.002 against the simulated vacancies when `at` is the "
            "far component's mean) and returns an array; pass the TwoGaussianFit instead for the "
            "fraction of distances beyond the crossing (a MinorityAbundance, .values None for "
            "one population). The number form will be removed.",
            DeprecationWarning,
            stacklevel=2,
        )
        return _density_at(H, edges, float(fit))
    edges = np.asarray(edges, dtype=np.float64)
    bimodal, reason = two_populations(fit, min_weight)
    if threshold is None:
        threshold = crossing(fit)
        if not bimodal:
            return MinorityAbundance(None, False, reason, threshold, fit)
        if not edges[0] <= threshold <= edges[-1]:
            return MinorityAbundance(
                None,
                False,
                f"the components cross at {threshold:g}, outside the histogram range "
                f"[{edges[0]:g}, {edges[-1]:g}]",
                threshold,
                fit,
            )
    values = far_fraction(H, edges, threshold)
    return MinorityAbundance(values, bimodal, reason, float(threshold), fit)
