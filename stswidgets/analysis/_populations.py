"""Two populations of pair distances, or one: the model selection of notebook 03 (Fig. 4c).

Public through :mod:`stswidgets.analysis.distances`.

A two-Gaussian fit of the rescaled distances (:func:`~stswidgets.analysis.distances.
fit_two_gaussians`) always finds two components; :func:`population_test` says whether they
are two populations: Delta BIC against one normal with the number of spectra as the sample
size, a dip of the measured histogram (not only of the fit), and a far weight that a minority
explains (:func:`fitted_minority_fraction`). :func:`crossing` is where the components cross.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.analysis._two_gaussians import TwoGaussianFit, compare_one_two

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


def fitted_minority_fraction(far_weight: float) -> float:
    """The fraction ``p`` of minority spectra that makes ``far_weight`` of the pairs far.

    Of all pairs, ``(1 - p)^2`` join two majority spectra; every other pair holds a minority
    spectrum. When the minority spectra are far from the majority *and* from each other
    (defects of several kinds, or one kind seen at varying distances), those pairs are the
    far ones: ``w_far = 1 - (1 - p)^2``, so ``p = 1 - sqrt(1 - w_far)``. (A minority that is
    one tight cluster puts its own ``p^2`` pairs among the near ones, ``w_far = 2 p (1 - p)``;
    both agree to first order, ``p ~ w_far / 2``.)
    """
    return float(1 - np.sqrt(max(1 - float(far_weight), 0.0)))


def histogram_dip(counts, edges, fit: TwoGaussianFit) -> float:
    """How deep the *measured* distribution dips between the fitted component means.

    The density (counts per bin width), smoothed over 3 bins, is searched for its lowest
    value between the two means; the dip is ``1 - lowest / min(highest left, highest
    right)`` of it, 0 when the density only falls (or only rises) from one mean to the other.
    A two-Gaussian mixture can have two maxima where the histogram has one (a skewed single
    population fitted by a narrow and a broad component): only the histogram can say.
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    density = np.convolve(counts / np.diff(edges), np.ones(3) / 3, mode="same")
    centres = 0.5 * (edges[:-1] + edges[1:])
    between = np.flatnonzero((centres >= fit.means[0]) & (centres <= fit.means[1]))
    if between.size < 1:
        return 0.0
    low = int(between[np.argmin(density[between])])
    left, right = density[: low + 1].max(), density[low:].max()
    peak = min(left, right)
    return float(1 - density[low] / peak) if peak > 0 else 0.0


@dataclass(frozen=True)
class PopulationTest:
    """The stated test for two populations of pair distances, and its verdict.

    Attributes
    ----------
    two : bool
        True when every criterion holds (see :func:`population_test`).
    reason : str
        The verdict in words, for the notebook and ``results.nc``.
    delta_bic : float
        BIC(one normal) - BIC(two), NaN when not computed.
    n_effective : float
        Sample size charged by the BIC (the number of spectra).
    dip : float
        Depth of the measured histogram's dip between the component means (0-1), NaN when
        not computed.
    near_distance : float
        The near component's centre as a distance (units of the spectra).
    near_over_floor : float
        ``near_distance`` / noise-floor distance (NaN without a floor).
    fitted_minority : float
        The minority fraction of spectra the far weight implies
        (:func:`fitted_minority_fraction`).
    """

    two: bool
    reason: str
    delta_bic: float = float("nan")
    n_effective: float = float("nan")
    dip: float = float("nan")
    near_distance: float = float("nan")
    near_over_floor: float = float("nan")
    fitted_minority: float = float("nan")


#: Delta BIC (one vs two normal components, sample size = number of spectra) above which the
#: second component counts: 10, "very strong" evidence on the Kass-Raftery scale.
MIN_DELTA_BIC = 10.0

#: The measured histogram must dip at least this much (relative) between the component means.
MIN_DIP = 0.1


def population_test(
    fit: TwoGaussianFit,
    counts=None,
    edges=None,
    n_spectra: int | None = None,
    offset: float = 0.0,
    floor_distance: float | None = None,
    min_weight: float = MIN_WEIGHT,
    min_delta_bic: float = MIN_DELTA_BIC,
    min_dip: float = MIN_DIP,
) -> PopulationTest:
    """Two populations of pairs, or one: the model selection stated once.

    Criteria, in order (the first that fails is the reason): (1) the fit converged; (2) each
    component holds at least ``min_weight`` of the pairs; (3) the fitted mixture has two
    maxima. With the histogram given (``counts``, ``edges``, ``n_spectra``): (4) two normal
    components beat one by ``Delta BIC >= min_delta_bic``, with the sample size the number of
    *spectra*, not of pairs (:func:`~stswidgets.analysis.distances.compare_one_two`);
    (5) the measured histogram itself dips by at least ``min_dip`` between the two means;
    when the near component sits at the noise floor (its centre below ``sqrt(2)`` x
    ``floor_distance``: its pairs differ by less than the noise), this is what tells a near
    population from the sharp onset of the distances at the floor, which a narrow normal
    fits equally well; (6) the far weight implies a minority, ``p < 1/2`` of the spectra
    (:func:`fitted_minority_fraction`).

    Parameters
    ----------
    fit : TwoGaussianFit
        Of ``log(d + offset)``.
    counts, edges : array-like, optional
        The histogram that was fitted.
    n_spectra : int, optional
        Spectra behind the pairs (the BIC's sample size).
    offset : float
        The log offset, to turn the near component's centre into a distance.
    floor_distance : float, optional
        The noise-floor distance (:func:`stswidgets.pipeline.noise_floor`).

    Returns
    -------
    PopulationTest
    """
    weights = np.round(fit.weights, 3).tolist()
    near = float(np.exp(fit.means[0]) - offset)
    over = near / floor_distance if floor_distance else float("nan")
    minority = fitted_minority_fraction(fit.weights[1])
    facts = {"near_distance": near, "near_over_floor": over, "fitted_minority": minority}
    measured = counts is not None and edges is not None and n_spectra is not None
    if measured:  # computed whatever the verdict, for the notebook and results.nc
        comparison = compare_one_two(counts, edges, fit, n_spectra)
        dip = histogram_dip(counts, edges, fit)
        facts.update(delta_bic=comparison.delta_bic, n_effective=float(n_spectra), dip=dip)
    if not fit.converged:
        return PopulationTest(
            False,
            f"the two-Gaussian fit did not converge (weights {weights}): the distribution "
            "has no clear two-component shape",
            **facts,
        )
    if fit.weights.min() < min_weight:
        return PopulationTest(
            False,
            (
                f"one population: the smaller fitted component holds {fit.weights.min():.3f} "
                f"of the pairs (< {min_weight:g}, i.e. a minority of under "
                f"~{50 * min_weight:.0f} % of the spectra)"
            ),
            **facts,
        )
    if _n_modes(fit) < 2:
        return PopulationTest(
            False,
            (
                f"one population: the fitted mixture (weights {weights}, means "
                f"{np.round(fit.means, 3).tolist()}, widths {np.round(fit.widths, 3).tolist()}) "
                "has a single maximum, no dip between near and far pairs"
            ),
            **facts,
        )
    if measured:
        if comparison.delta_bic < min_delta_bic:
            return PopulationTest(
                False,
                (
                    f"one population: two normal components improve on one by Delta BIC "
                    f"{comparison.delta_bic:.1f} < {min_delta_bic:g} (sample size {n_spectra} "
                    "spectra)"
                ),
                **facts,
            )
        if dip < min_dip:
            at_floor = floor_distance is not None and over < np.sqrt(2)
            what = (
                f"the near component ({near:.3g}, {over:.2f} x the noise-floor distance) is "
                "the noise floor, where the distances start, "
                if at_floor
                else "the two components model the shape of one distribution, "
            )
            return PopulationTest(
                False,
                (
                    f"one population: the histogram has no dip between the components (dip "
                    f"{dip:.0%} < {min_dip:.0%}; Delta BIC {comparison.delta_bic:.0f} only says "
                    f"the shape is not one normal): {what}not a second population"
                ),
                **facts,
            )
        if minority >= 0.5:
            return PopulationTest(
                False,
                (
                    f"one population: the far component holds {fit.weights[1]:.1%} of the "
                    f"pairs, which a minority of {minority:.0%} of the spectra would give: it "
                    "is the bulk, not a minority"
                ),
                **facts,
            )
    bic = f", Delta BIC {facts['delta_bic']:.0f}" if "delta_bic" in facts else ""
    return PopulationTest(
        True,
        (
            f"two populations of pairs: near w={fit.weights[0]:.3f}, far w={fit.weights[1]:.3f} "
            f"(a minority of ~{minority:.1%} of the spectra), crossing at {crossing(fit):.3f}{bic}"
        ),
        **facts,
    )


def two_populations(fit: TwoGaussianFit, min_weight: float = MIN_WEIGHT) -> tuple[bool, str]:
    """Whether a two-Gaussian fit alone shows two populations of pairs, and why (not).

    The criteria (1)-(3) of :func:`population_test`, on the fit alone: necessary, not
    sufficient (a skewed single population passes them); the pipeline runs the whole test.

    Returns
    -------
    (bool, str)
        True and a one-line summary, or False and what failed, in words for the notebook.
    """
    test = population_test(fit, min_weight=min_weight)
    return test.two, test.reason
