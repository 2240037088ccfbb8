"""Two normal components fitted to a binned distribution (paper Fig. 4c).

Public through :mod:`stswidgets.analysis.distances`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr


@dataclass(frozen=True)
class TwoGaussianFit:
    """Two normal components fitted to a binned distribution, sorted by mean.

    For a (rescaled) pairwise-distance distribution the first component holds the *near*
    pairs (two majority spectra, small distances) and the second the *far* pairs (a
    majority and a minority spectrum); :func:`minority_abundance` splits each spectrum's
    distances at the crossing of the two. The weights are not ordered: the far component may
    well hold more pairs than a Gaussian of the near ones when the majority is not one tight
    cluster (then its mean lies between the populations and is no place to read a minority).

    Attributes
    ----------
    weights : numpy.ndarray, shape ``(2,)``
        Fractions of the counts in each component (sum 1).
    means, widths : numpy.ndarray, shape ``(2,)``
        Centre (``means[0] <= means[1]``) and standard deviation of each component, in the
        units of the bin edges.
    n_total : int
        Number of counts fitted (e.g. pairs).
    converged : bool
        Whether the log-likelihood settled within ``tol`` before ``max_iter`` iterations.
    n_iter : int
    log_likelihood : float
        Per count, of the binned data under the fitted mixture.
    """

    weights: np.ndarray
    means: np.ndarray
    widths: np.ndarray
    n_total: int
    converged: bool
    n_iter: int
    log_likelihood: float

    @property
    def minority(self) -> int:
        """Index of the far (majority-minority pairs) component: 1, the larger mean."""
        return 1

    def component_densities(self, x) -> np.ndarray:
        """Weighted density of each component at ``x``: shape ``(2,) + x.shape``, area = weight."""
        x = np.asarray(x, dtype=float)
        z = (x[None] - self.means.reshape((2,) + (1,) * x.ndim)) / self.widths.reshape(
            (2,) + (1,) * x.ndim
        )
        norm = self.weights / (np.sqrt(2 * np.pi) * self.widths)
        return norm.reshape((2,) + (1,) * x.ndim) * np.exp(-0.5 * z**2)

    def density(self, x) -> np.ndarray:
        """Mixture probability density at ``x`` (area 1), as a ``density=True`` histogram."""
        return self.component_densities(x).sum(axis=0)

    def expected_counts(self, edges) -> np.ndarray:
        """Counts the fitted mixture puts in each bin of ``edges``: shape ``(len(edges) - 1,)``."""
        return self.n_total * np.diff(_mixture_cdf(np.asarray(edges, float), self), axis=-1)


def _mixture_cdf(x, fit_or_params) -> np.ndarray:
    weights, means, widths = (
        (fit_or_params.weights, fit_or_params.means, fit_or_params.widths)
        if isinstance(fit_or_params, TwoGaussianFit)
        else fit_or_params
    )
    return sum(w * ndtr((x - m) / s) for w, m, s in zip(weights, means, widths, strict=True))


def fit_two_gaussians(
    counts: np.ndarray,
    edges: np.ndarray,
    max_iter: int = 5000,
    tol: float = 1e-8,
    init: tuple | None = None,
) -> TwoGaussianFit:
    """Fit a mixture of two normal components to a binned distribution (Fig. 4c).

    Expectation-maximisation for grouped data: each bin's counts are shared between the
    components in proportion to the probability each component puts into the bin, and the
    M-step uses each component's exact mean and variance *within* the bin (truncated
    normal moments), so the fit is maximum likelihood for the binned counts and not biased
    by the bin width.

    Parameters
    ----------
    counts : array-like, shape ``(n_bins,)``
        Non-negative counts per bin, e.g. from :func:`distance_histogram`.
    edges : array-like, shape ``(n_bins + 1,)``
        Increasing bin edges (distance or rescaled distance units).
    max_iter : int
        EM iterations before giving up (with a warning).
    tol : float
        Convergence threshold on the change of the log-likelihood per count.
    init : ((w0, w1), (m0, m1), (s0, s1)) or None
        Starting point; None runs EM from four starts and keeps the best likelihood: the
        majority component at the histogram's mode (width from its half maximum) with the
        minority at the mean and spread of the remaining counts, and the distribution split at
        its lower quartile, median and upper quartile (one component per side). A broad,
        many-peaked distribution can trap a single start in two identical components.

    Returns
    -------
    TwoGaussianFit
        Sorted by mean: near pairs (majority-majority) first, far pairs second.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the fit has not converged after ``max_iter`` iterations or a component collapsed
        (weight or width near 0): the parameters are then unreliable.
    """
    from sklearn.exceptions import ConvergenceWarning

    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if counts.ndim != 1 or edges.shape != (counts.size + 1,):
        raise ValueError(
            f"counts must have shape (n_bins,) and edges (n_bins + 1,); got {counts.shape} "
            f"and {edges.shape}"
        )
    if counts.size < 4:
        raise ValueError(f"need at least 4 bins to fit 6 parameters, got {counts.size}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and non-negative")
    if not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
        raise ValueError("edges must be finite and strictly increasing")
    n_total = counts.sum()
    if np.count_nonzero(counts) < 2:
        raise ValueError("counts occupy fewer than 2 bins; a two-component fit is undefined")

    starts = _starting_points(counts, edges) if init is None else [tuple(map(np.array, init))]
    # EM from every start; the best likelihood wins (a converged run before one that is not)
    runs = [_em(counts, edges, n_total, start, max_iter, tol) for start in starts]
    weights, means, widths, converged, n_iter, log_likelihood = max(
        runs, key=lambda run: (run[3], run[5])
    )
    order = np.argsort(means, kind="stable")
    fit = TwoGaussianFit(
        weights=weights[order],
        means=means[order],
        widths=widths[order],
        n_total=int(round(n_total)),
        converged=converged,
        n_iter=n_iter,
        log_likelihood=log_likelihood,
    )
    if not converged:
        warnings.warn(
            f"fit_two_gaussians did not converge after {n_iter} of max_iter={max_iter} "
            f"iterations (weights {np.round(fit.weights, 4).tolist()}, widths "
            f"{np.round(fit.widths, 4).tolist()}): a component may have collapsed or the "
            "distribution may not be two-peaked; try more iterations, another `init`, "
            "another offset or fewer bins",
            ConvergenceWarning,
            stacklevel=2,
        )
    return fit


def _em(counts, edges, n_total, start, max_iter, tol):
    """EM for grouped data from one start: ``(weights, means, widths, converged, n_iter,
    log_likelihood)``."""
    weights, means, widths = start
    weights = np.asarray(weights, float) / np.sum(weights)
    means, widths = np.asarray(means, float), np.asarray(widths, float)
    min_width = 1e-3 * np.min(np.diff(edges))
    previous, converged, n_iter = -np.inf, False, 0
    while n_iter < max_iter:
        n_iter += 1
        lo = (edges[None, :-1] - means[:, None]) / widths[:, None]
        hi = (edges[None, 1:] - means[:, None]) / widths[:, None]
        mass = np.maximum(ndtr(hi) - ndtr(lo), 1e-300)  # (2, n_bins)
        joint = weights[:, None] * mass
        total = joint.sum(axis=0)
        log_likelihood = float(np.sum(counts * np.log(np.maximum(total, 1e-300))) / n_total)
        share = counts * joint / np.maximum(total, 1e-300)  # counts per component and bin
        # moments of a normal truncated to each bin, in units of the component
        pdf_lo, pdf_hi = _phi(lo), _phi(hi)
        first = (pdf_lo - pdf_hi) / mass
        second = 1 + (_times(lo, pdf_lo) - _times(hi, pdf_hi)) / mass
        x_mean = means[:, None] + widths[:, None] * first
        x_square = (
            means[:, None] ** 2
            + 2 * means[:, None] * widths[:, None] * first
            + widths[:, None] ** 2 * second
        )
        n_k = share.sum(axis=1)
        if np.any(n_k <= 1e-12 * n_total):
            break
        weights = n_k / n_total
        means = (share * x_mean).sum(axis=1) / n_k
        widths = np.sqrt(np.maximum((share * x_square).sum(axis=1) / n_k - means**2, 0))
        if np.any(widths < min_width):
            widths = np.maximum(widths, min_width)
            break
        if abs(log_likelihood - previous) < tol:
            converged = True
            break
        previous = log_likelihood
    return weights, means, widths, converged, n_iter, log_likelihood


def _starting_points(counts, edges):
    """The mode-based guess, and splits of the distribution at its quartiles and median (each
    side one component): a broad, many-peaked distribution can trap EM started at the mode in
    two identical components."""
    starts = [_initial_guess(counts, edges)]
    centres = 0.5 * (edges[:-1] + edges[1:])
    cumulative = np.cumsum(counts) / counts.sum()
    floor = np.min(np.diff(edges))
    for q in (0.25, 0.5, 0.75):
        k = int(np.searchsorted(cumulative, q)) + 1
        parts = [(counts[:k], centres[:k]), (counts[k:], centres[k:])]
        if any(c.sum() <= 0 for c, _ in parts):
            continue
        weights = np.array([c.sum() for c, _ in parts]) / counts.sum()
        means = np.array([np.sum(c * x) / c.sum() for c, x in parts])
        widths = np.array(
            [
                max(np.sqrt(np.sum(c * (x - m) ** 2) / c.sum()), floor)
                for (c, x), m in zip(parts, means, strict=True)
            ]
        )
        starts.append((weights, means, widths))
    return starts


def _phi(z):
    return (
        np.exp(-0.5 * np.square(np.where(np.isfinite(z), z, 0.0)))
        * np.isfinite(z)
        / np.sqrt(2 * np.pi)
    )


def _times(z, pdf):
    """``z * pdf`` with ``inf * 0 = 0`` at infinite edges."""
    return np.where(np.isfinite(z), z, 0.0) * pdf


def _initial_guess(counts, edges):
    centres = 0.5 * (edges[:-1] + edges[1:])
    n_total = counts.sum()
    peak = int(np.argmax(counts))
    above = np.flatnonzero(counts >= counts[peak] / 2)
    half_width = max(centres[above[-1]] - centres[above[0]], edges[1] - edges[0]) / 2.355
    majority = counts[peak] * half_width * np.sqrt(2 * np.pi) / (edges[1] - edges[0])
    w0 = float(np.clip(majority / n_total, 0.5, 0.95))
    model = n_total * w0 * np.diff(ndtr((edges - centres[peak]) / half_width))
    rest = np.maximum(counts - model, 0)
    if rest.sum() <= 0.01 * n_total:
        rest = counts * np.abs(centres - centres[peak])
    m1 = float(np.sum(rest * centres) / rest.sum())
    s1 = float(np.sqrt(max(np.sum(rest * (centres - m1) ** 2) / rest.sum(), half_width**2)))
    return np.array([w0, 1 - w0]), np.array([centres[peak], m1]), np.array([half_width, s1])


@dataclass(frozen=True)
class ModelComparison:
    """One against two normal components of a binned distribution, by the BIC.

    Attributes
    ----------
    log_likelihood_one, log_likelihood_two : float
        Binned log-likelihood per count of the best single normal and of the two-Gaussian fit.
    n_effective : float
        The sample size the BIC charges: the number of independent observations behind the
        counts (for pair distances the number of spectra, not of pairs).
    delta_bic : float
        ``BIC(one) - BIC(two) = 2 n_eff (ll_two - ll_one) - 3 ln(n_eff)``: positive favours
        two components (the mixture has 5 free parameters, one normal 2).
    mean_one, width_one : float
        The single normal's centre and standard deviation.
    """

    log_likelihood_one: float
    log_likelihood_two: float
    n_effective: float
    delta_bic: float
    mean_one: float
    width_one: float


def compare_one_two(
    counts: np.ndarray, edges: np.ndarray, fit: TwoGaussianFit, n_effective: float
) -> ModelComparison:
    """Delta BIC of one normal component against the two of ``fit``, for the binned ``counts``.

    Both models are maximum-likelihood fits to the same bins (grouped-data EM, so the bin
    width does not bias them); the log-likelihoods per count are scaled by ``n_effective``,
    the number of independent observations, not the number of counts: ``n`` spectra give
    ``n (n - 1) / 2`` pair distances, but those carry about as much information on the
    shape of their distribution as ``n`` independent draws (a mean over all pairs, a
    U-statistic, has a variance of order ``1 / n``, not ``2 / n^2``). With the pair count
    in its place, any departure from a normal shape (a skewed tail, a sharp onset at the
    noise floor) would make the BIC choose two components.

    Parameters
    ----------
    counts, edges : ndarray ``(n_bins,)``, ``(n_bins + 1,)``
    fit : TwoGaussianFit
        The two-component fit of the same counts and edges.
    n_effective : float
        Independent observations behind the counts (> 1).

    Returns
    -------
    ModelComparison
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if not n_effective > 1:
        raise ValueError(f"n_effective must be > 1, got {n_effective!r}")
    n_total = counts.sum()
    centres = 0.5 * (edges[:-1] + edges[1:])
    mean = float(np.sum(counts * centres) / n_total)
    width = float(
        max(np.sqrt(np.sum(counts * (centres - mean) ** 2) / n_total), np.min(np.diff(edges)))
    )
    start = (np.array([1.0]), np.array([mean]), np.array([width]))
    _, means, widths, _, _, log_likelihood_one = _em(counts, edges, n_total, start, 5000, 1e-10)
    # the last E-step's likelihood belongs to the parameters before the final update: redo it
    mass = np.diff(ndtr((edges - means[0]) / widths[0]))
    log_likelihood_one = float(np.sum(counts * np.log(np.maximum(mass, 1e-300))) / n_total)
    mass_two = np.diff(_mixture_cdf(edges, fit))
    log_likelihood_two = float(np.sum(counts * np.log(np.maximum(mass_two, 1e-300))) / n_total)
    delta = 2 * n_effective * (log_likelihood_two - log_likelihood_one) - 3 * np.log(n_effective)
    return ModelComparison(
        log_likelihood_one=log_likelihood_one,
        log_likelihood_two=log_likelihood_two,
        n_effective=float(n_effective),
        delta_bic=float(delta),
        mean_one=float(means[0]),
        width_one=float(widths[0]),
    )
