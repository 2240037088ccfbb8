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

When the distribution shows one population (:func:`~stswidgets.analysis.distances.
population_test`), there is no minority to map and :func:`minority_abundance` returns no
values, with the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np

from stswidgets.analysis._populations import (
    MIN_WEIGHT,
    PopulationTest,
    crossing,
    two_populations,
)
from stswidgets.analysis._two_gaussians import TwoGaussianFit


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
    test: PopulationTest | None = None,
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
    test : PopulationTest, optional
        The verdict of the whole stated test (:func:`population_test` with the histogram, the
        number of spectra and the noise floor); None: the fit-only :func:`two_populations`.

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
    bimodal, reason = (
        (test.two, test.reason) if test is not None else two_populations(fit, min_weight)
    )
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
