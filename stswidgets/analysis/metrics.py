"""One set of numbers to judge every method against ground truth (simulated grids).

:func:`separation_report` scores a 1D score or a latent space against the vacancy and
transition masks of :func:`stswidgets.datasets.fese_like`: ROC AUCs for the three steps
vacancy > transition > surface and a Fisher-type separation ratio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["SeparationReport", "roc_auc", "separation_report"]


def roc_auc(positive_scores, negative_scores) -> float:
    """Area under the ROC curve for ``positive`` scored above ``negative``.

    The Mann-Whitney form: the probability that a random positive scores higher than a random
    negative, ties counting one half. NaN when either group is empty.
    """
    from scipy.stats import rankdata

    pos = np.asarray(positive_scores, dtype=np.float64).ravel()
    neg = np.asarray(negative_scores, dtype=np.float64).ravel()
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    rank_sum = ranks[: pos.size].sum()
    return float((rank_sum - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


@dataclass(frozen=True)
class SeparationReport:
    """How well a score separates vacancy, transition and surface spectra.

    Attributes
    ----------
    auc_vacancy_surface, auc_vacancy_transition, auc_transition_surface : float
        ROC AUC of the first class scored above the second (0.5 = chance, 1 = perfect). NaN
        when a class is empty (e.g. a grid without transition pixels).
    mean_auc : float
        Mean of the three AUCs, ignoring NaN ones.
    fisher : float
        ``(mu_vac - mu_surf)**2 / (var_vac + var_surf)`` of the (1D) score.
    flipped : bool
        The score was multiplied by -1 so that vacancies score high.
    reduction : str
        How the values became one score: ``"score"`` (already 1D), ``"centre"`` (distance
        from the median point of the latent space) or ``"lda"`` (linear discriminant fitted
        on the truth: an optimistic, in-sample estimate for a linear read-out).
    n_vacancy, n_transition, n_surface : int
        Number of spectra in each class.
    """

    auc_vacancy_surface: float
    auc_vacancy_transition: float
    auc_transition_surface: float
    mean_auc: float
    fisher: float
    flipped: bool
    reduction: str
    n_vacancy: int
    n_transition: int
    n_surface: int

    def as_dict(self) -> dict:
        """The report as a plain dict (one row of a method table)."""
        return asdict(self)


def _truth_vectors(truth, valid, n: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(truth, Mapping) and not hasattr(truth, "data_vars"):
        raise TypeError(
            "truth must be an xarray.Dataset or a dict with a 'vacancy' mask "
            f"(and optionally 'transition'), got {type(truth).__name__}"
        )
    if "vacancy" not in truth:
        raise ValueError("truth has no 'vacancy' mask")
    masks = []
    for name in ("vacancy", "transition"):
        if name not in truth:
            masks.append(None)
            continue
        mask = np.asarray(truth[name]).astype(bool)
        if mask.ndim == 2:
            if valid is not None:
                valid_np = np.asarray(valid, dtype=bool)
                if valid_np.shape != mask.shape:
                    raise ValueError(
                        f"valid has shape {valid_np.shape}, truth[{name!r}] {mask.shape}"
                    )
                mask = mask[valid_np]
            elif mask.size == n:
                mask = mask.ravel()
            else:
                raise ValueError(
                    f"truth[{name!r}] is a {mask.shape} map but values hold {n} spectra; "
                    "pass valid= (the mask from to_matrix) to select the valid pixels"
                )
        mask = mask.ravel()
        if mask.shape != (n,):
            raise ValueError(
                f"truth[{name!r}] gives {mask.size} entries, but values hold {n} spectra"
            )
        masks.append(mask)
    vacancy = masks[0]
    transition = np.zeros(n, dtype=bool) if masks[1] is None else masks[1] & ~vacancy
    return vacancy, transition


def separation_report(
    values,
    truth,
    valid=None,
    reduce: str = "centre",
    orient: bool = True,
) -> SeparationReport:
    """ROC AUCs and a Fisher ratio of a score or latent space against ground-truth masks.

    Parameters
    ----------
    values : array-like, shape ``(n_spectra,)`` or ``(n_spectra, k)``
        A score (e.g. PC1, the Siamese score) or a latent space (e.g. UMAP coordinates).
    truth : xarray.Dataset or dict
        ``vacancy`` and optionally ``transition`` bool masks, either ``(y, x)`` maps (then
        ``valid`` selects the pixels of ``values``, in the row-major order of
        :func:`stswidgets.to_matrix`) or 1D arrays aligned with ``values``. A pixel that is
        both is counted as vacancy; *surface* is every pixel that is neither.
    valid : bool array or DataArray ``(y, x)``, optional
        The mask of the valid pixels, needed when ``truth`` holds maps and not every pixel is
        in ``values``.
    reduce : {"centre", "lda"}
        How a latent space (``k > 1``) becomes one score. ``"centre"``: the Euclidean
        distance of each point from the coordinate-wise median of all points, label-free (the
        majority, surface, sits near the median, so larger means more different).
        ``"lda"``: projection on the linear discriminant of vacancy vs surface fitted on the
        truth itself: an optimistic (in-sample) estimate of what a *linear* read-out of the
        latent space can achieve. It cannot use non-linear structure (e.g. vacancies in the
        middle of a ring of surface points), so there it can score below ``"centre"``.
    orient : bool
        Flip the sign of the score when vacancy-vs-surface AUC is below 0.5 (the sign of
        PC1 or of a learned score is arbitrary); the report says whether it was flipped.

    Returns
    -------
    SeparationReport
        Use ``.as_dict()`` for a table row.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim not in (1, 2):
        raise ValueError(f"values must have shape (n,) or (n, k), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("values hold NaN or inf; pass the valid spectra only")
    n = values.shape[0]
    vacancy, transition = _truth_vectors(truth, valid, n)
    surface = ~vacancy & ~transition
    if values.ndim == 1:
        score, reduction = values, "score"
    elif reduce == "centre":
        score = np.sqrt(((values - np.median(values, axis=0)) ** 2).sum(axis=1))
        reduction = "centre"
    elif reduce == "lda":
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        fit = vacancy | surface
        if vacancy.sum() < 2 or surface.sum() < 2:
            raise ValueError("reduce='lda' needs at least 2 vacancy and 2 surface spectra")
        lda = LinearDiscriminantAnalysis(n_components=1).fit(values[fit], vacancy[fit])
        score, reduction = lda.transform(values)[:, 0], "lda"
    else:
        raise ValueError(f"reduce must be 'centre' or 'lda', got {reduce!r}")

    flipped = False
    if orient and roc_auc(score[vacancy], score[surface]) < 0.5:
        score, flipped = -score, True
    aucs = [
        roc_auc(score[vacancy], score[surface]),
        roc_auc(score[vacancy], score[transition]),
        roc_auc(score[transition], score[surface]),
    ]
    finite = [a for a in aucs if np.isfinite(a)]
    if vacancy.any() and surface.any():
        spread = score[vacancy].var() + score[surface].var()
        diff2 = (score[vacancy].mean() - score[surface].mean()) ** 2
        fisher = float(diff2 / spread) if spread > 0 else float("inf") if diff2 > 0 else 0.0
    else:
        fisher = float("nan")
    return SeparationReport(
        auc_vacancy_surface=aucs[0],
        auc_vacancy_transition=aucs[1],
        auc_transition_surface=aucs[2],
        mean_auc=float(np.mean(finite)) if finite else float("nan"),
        fisher=fisher,
        flipped=flipped,
        reduction=reduction,
        n_vacancy=int(vacancy.sum()),
        n_transition=int(transition.sum()),
        n_surface=int(surface.sum()),
    )
