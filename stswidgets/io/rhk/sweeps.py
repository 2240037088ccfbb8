"""The sweeps at one tip position in an SM4 file: which spectra share a spot, and whether
two sweeps at a spot are a forward and a backward sweep or two repeats.

RHK stores every spectrum of a measurement one after the other, the sweeps at one spot
consecutively, with each spectrum's tip position in the spec-drift object; the file does not
say whether the spectroscopy alternated the sweep direction (XPMPro's "alternate" option) or
repeated it, and it stores every sweep against the page's one sweep axis. So:

- **spots** (:func:`spot_runs`): consecutive spectra whose recorded positions lie within
  :data:`SAME_SPOT_M` (or ``1e-4`` of the positions' span) of the run's first one;
- **direction** (:func:`alternating`): with an even number of sweeps at every spot, sweeps
  ``2k`` and ``2k + 1`` are a forward and a backward sweep when they differ *systematically*:
  over the pairs, the mean difference of the two at each bias point is tested against its
  standard error (Student's t), and the pairs alternate when, in some channel, more than
  :data:`ALTERNATING_FRACTION` of the bias points differ at ``p <`` :data:`ALTERNATING_P`
  (a current's capacitive offset ``+-C dV/dt`` and the lock-in's lag make forward and backward
  differ at every spot; repeats differ only by noise and slow drift). Fewer than
  :data:`MIN_PAIRS` complete pairs cannot tell, and are read as repeats;
- **order of a backward sweep** (:func:`backward_reversed`): stored against the axis (RHK), or
  in the order measured (then reversed on reading).
"""

from __future__ import annotations

import warnings

import numpy as np

SAME_SPOT_M = 1e-12  # recorded positions this close (or 1e-4 of the span) are one spot
MIN_PAIRS = 3  # complete (sweep 2k, sweep 2k + 1) pairs needed to test for alternation
ALTERNATING_P = 1e-3  # a bias point differs systematically below this p-value ...
ALTERNATING_FRACTION = 0.25  # ... and the pairs alternate when this fraction of points does


def spot_runs(positions: np.ndarray | None, n_spectra: int) -> np.ndarray:
    """Spot index of each spectrum ``(n_spectra,)``: a new spot starts where a recorded
    position leaves the current spot; spectra with no recorded position (NaN, or no
    positions at all) stay at the spot before them."""
    spot = np.zeros(n_spectra, dtype=np.int64)
    if positions is None:
        return spot
    known = np.isfinite(positions).all(axis=1)
    if not known.any():
        return spot
    extent = float(np.ptp(positions[known], axis=0).max())
    tolerance = max(SAME_SPOT_M, 1e-4 * extent)
    current, anchor = 0, None
    for k in range(n_spectra):
        if known[k]:
            if anchor is not None and np.hypot(*(positions[k] - anchor)) > tolerance:
                current += 1
                anchor = positions[k]
            elif anchor is None:
                anchor = positions[k]
        spot[k] = current
    return spot


def repetition_index(spot: np.ndarray) -> np.ndarray:
    """Index of each spectrum among the sweeps of its spot (0, 1, ... at each spot)."""
    starts = np.r_[True, np.diff(spot) != 0]
    first = np.maximum.accumulate(np.where(starts, np.arange(spot.size), 0))
    return np.arange(spot.size) - first


def alternating(values: list[np.ndarray], spot: np.ndarray, complete: np.ndarray) -> dict:
    """Whether sweeps ``2k``/``2k + 1`` at each spot alternate direction (module docstring).

    Parameters
    ----------
    values : list of numpy.ndarray, each ``(n_spectra, n_points)``
        The channels (physical values; NaN where not measured).
    spot : numpy.ndarray, int, ``(n_spectra,)``
        Spot index of each spectrum (:func:`spot_runs`).
    complete : numpy.ndarray, bool, ``(n_spectra,)``
        Spectra measured to the end.

    Returns
    -------
    dict
        ``possible`` (every spot holds an even number of sweeps), ``alternating`` (bool),
        ``pairs`` (complete pairs tested) and ``fraction`` (largest fraction of bias points
        that differ systematically, over the channels; NaN when not tested).
    """
    counts = np.bincount(spot)
    found = {"possible": bool(spot.size and np.all(counts % 2 == 0)), "alternating": False}
    found.update(pairs=0, fraction=float("nan"))
    if not found["possible"]:
        return found
    pair_ok = complete[0::2] & complete[1::2]
    found["pairs"] = int(pair_ok.sum())
    if found["pairs"] < MIN_PAIRS:
        return found
    from scipy import stats

    fraction = 0.0
    for channel in values:
        diff = (channel[1::2] - channel[0::2])[pair_ok]
        spread = diff.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.abs(diff.mean(axis=0)) / (spread / np.sqrt(len(diff)))
        t = np.where(spread > 0, t, 0.0)
        p = 2 * stats.t.sf(t, df=len(diff) - 1)
        fraction = max(fraction, float(np.mean(p < ALTERNATING_P)))
    found["fraction"] = fraction
    found["alternating"] = fraction > ALTERNATING_FRACTION
    return found


def backward_reversed(sweeps: list[np.ndarray]) -> bool:
    """Whether backward sweeps (odd sweeps of ``(ny, nx, sweeps, points)``) run against the axis.

    RHK stores every sweep against the page's one sweep axis, so the mean forward and backward
    spectra correlate; if instead the backward sweeps were stored in the order measured, they
    correlate with the forward ones only when reversed (Pearson r -1 against +1 for a current,
    monotonic in bias). True when reversing gains more than 1 in r summed over the channels.
    """
    gain = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN points of aborted sweeps
        for values in sweeps:
            forward, backward = (np.nanmean(values[:, :, k::2], axis=(0, 1, 2)) for k in (0, 1))
            if np.all(np.isfinite(forward + backward)) and np.ptp(forward) and np.ptp(backward):
                same, flipped = (np.corrcoef(forward, b)[0, 1] for b in (backward, backward[::-1]))
                gain += flipped - same
    return gain > 1.0
