"""Spectral-weight transfer between the majority and the minority kinds (paper Fig. 8).

:func:`spectral_weight_transfer` takes the site classes of :func:`~stswidgets.pipeline.
site_classes` and gives, on the spectra as given (``PipelineInput.X``, normalised once by
:func:`stswidgets.pipeline.load`): the
energy-resolved distance between majority and minority-kind-1 spectra (Fig. 8b), the
energy-energy correlation over the whole grid (Fig. 8c) and its anti-correlated window
pairs; on a simulated grid also the windows the simulation put in and how well the best
window pair found matches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for
from stswidgets.pipeline.score import SiteClasses

__all__ = ["SpectralWeight", "WindowMatch", "spectral_weight_transfer", "weight_summary"]

#: Bins of the |difference| axis of the energy-resolved distance density (Fig. 8b).
DIFFERENCE_BINS = 80


@dataclass
class WindowMatch:
    """The window pair found that best matches the simulated (suppressed, enhanced) windows:
    its ``rank`` (1 = strongest), the pair and the intersection over union of each of its
    windows with the simulated one (``iou_a`` with the lower-energy window)."""

    rank: int
    pair: object
    iou_a: float
    iou_b: float


@dataclass
class SpectralWeight:
    """Fig. 8b, c of one grid.

    ``distance_density``: :class:`~stswidgets.analysis.spectral_weight.DistanceDensity` of
    |x_kind(E) - x_majority(E)| over pairs, or None when the majority or the first minority
    kind is empty; ``correlation``: ``(n_bias, n_bias)`` Pearson correlation over all
    spectra; ``windows``: the anti-correlated window pairs, strongest first (mV);
    ``planted``: the simulated (suppressed, enhanced) windows in mV, or None;
    ``match``: the best :class:`WindowMatch` with them, or None.
    """

    distance_density: object
    correlation: np.ndarray
    windows: list
    planted: tuple | None = None
    match: WindowMatch | None = None


def _planted_windows(truth) -> tuple | None:
    if truth is None or "suppressed_window_mV" not in truth.attrs:
        return None
    return (
        tuple(map(float, truth.attrs["suppressed_window_mV"])),
        tuple(map(float, truth.attrs["enhanced_window_mV"])),
    )


def _best_match(windows, planted) -> WindowMatch | None:
    from stswidgets.analysis.spectral_weight import window_iou

    if planted is None or not windows:
        return None
    low, high = sorted(planted)
    matches = [
        WindowMatch(rank, w, window_iou(w.window_a_mV, low), window_iou(w.window_b_mV, high))
        for rank, w in enumerate(windows, start=1)
    ]
    return max(matches, key=lambda m: min(m.iou_a, m.iou_b))


def spectral_weight_transfer(
    X,
    bias_mV,
    classes: SiteClasses,
    config: PipelineConfig | None = None,
    truth=None,
) -> SpectralWeight:
    """Where in energy the conductance goes between the majority and the minority kinds.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Complete spectra, already normalised (``PipelineInput.X``), used as given.
    bias_mV : array-like, shape ``(n_bias,)``
    classes : SiteClasses
        0 majority, 1 transition, 2 the first minority kind, ...
    config : PipelineConfig
        ``corr_threshold``, ``min_width_mV``, ``max_pairs``,
        ``seed``.
    truth : xarray.Dataset, optional
        A simulated grid's ground truth (``PipelineInput.truth``): its planted windows are
        compared with those found.
    """
    from stswidgets.analysis import spectral_weight as sw

    config = config or config_for("full")
    bias_mV = np.asarray(bias_mV, dtype=float)
    X_norm = np.asarray(X, dtype=np.float64)
    density = None
    labels = np.asarray(classes.labels)
    if (labels == 0).any() and classes.n_kinds > 0 and (labels == 2).any():
        density = sw.energy_resolved_distance_density(
            X_norm[labels == 0],
            X_norm[labels == 2],
            bias_mV,
            bins=DIFFERENCE_BINS,
            max_pairs=config.max_pairs,
            random_state=config.seed,
        )
    correlation = sw.energy_correlation(X_norm)
    windows = sw.anticorrelated_windows(
        correlation, bias_mV, threshold=config.corr_threshold, min_width_mV=config.min_width_mV
    )
    planted = _planted_windows(truth)
    return SpectralWeight(
        density,
        correlation,
        windows,
        planted,
        _best_match(windows, planted),
    )


def weight_summary(bias_mV, classes: SiteClasses, weight: SpectralWeight, units: str) -> list[str]:
    """The "what this shows" sentences of notebook 07 from its numbers."""
    from stswidgets.notebook import MIN_BIAS_POINTS

    bias_mV = np.asarray(bias_mV, dtype=float)
    counts = ", ".join(f"{n} {name}" for name, n in zip(classes.names, classes.counts, strict=True))
    lines = [
        f"{int(classes.counts.sum())} spectra in {len(classes.names)} classes: {counts} "
        f"({classes.n_kinds} minority kind(s))"
    ]
    if classes.n_kinds and classes.counts[0] and classes.counts[2]:
        difference = classes.mean[2] - classes.mean[0]
        low, high = int(np.argmin(difference)), int(np.argmax(difference))
        lines.append(
            f"{classes.names[2]} vs {classes.names[0]}: largest loss of conductance at "
            f"{bias_mV[low]:.3g} mV ({difference[low]:.3g} {units}), largest gain at "
            f"{bias_mV[high]:.3g} mV ({difference[high]:.3g} {units})"
        )
    if weight.windows:
        w = weight.windows[0]
        lines.append(
            f"strongest anti-correlated windows: {w.window_a_mV[0]:.3g} to "
            f"{w.window_a_mV[1]:.3g} mV and {w.window_b_mV[0]:.3g} to {w.window_b_mV[1]:.3g} mV "
            f"(strength {w.strength:.2f})"
        )
    else:
        lines.append("no anti-correlated energy windows below the correlation threshold")
    if weight.match is not None:
        lines.append(
            f"the best window pair found matches the simulated ones with IoU "
            f"{weight.match.iou_a:.2f} and {weight.match.iou_b:.2f}"
        )
    if len(bias_mV) < MIN_BIAS_POINTS:
        lines.append(f"only {len(bias_mV)} bias points: the energies above are coarse")
    return lines
