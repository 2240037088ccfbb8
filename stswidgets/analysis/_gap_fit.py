"""The Dynes fit of :func:`~stswidgets.analysis.gap_map` (``method="fit"``) on flattened spectra.

Builds each spectrum's fit window and start (from the coherence peaks), runs the batched
Levenberg-Marquardt of :mod:`~stswidgets.analysis._dynes_fit` and reads the coherence peaks and
zero-bias value off the fitted curves.
"""

from __future__ import annotations

import numpy as np

from stswidgets.analysis import _dynes_fit
from stswidgets.analysis._gap_peaks import _side_peaks


def fit_gaps(data, peaks, n_gaps, background_order, fit_range, temperature_K, max_iter):
    """The Dynes fit on ``data.X`` started from the peaks result."""
    mean_gap = peaks[3]["mean_gap_mV"]
    start_gap = np.where(np.isfinite(peaks[0]["gap"]), peaks[0]["gap"], mean_gap)
    start_gap = np.clip(start_gap, 2 * data.step, np.abs(data.bias).max())
    reach = fit_range * start_gap
    weights = (np.abs(data.bias)[None, :] <= reach[:, None]).astype(float)
    n_params = (2 if n_gaps == 1 else 4) + background_order + 1
    few = weights.sum(axis=1) < 2 * n_params
    weights[few] = 1.0
    columns = slice(None)
    if temperature_K is None:  # only the bias columns some window uses
        used = np.flatnonzero(weights.any(axis=0))
        columns = slice(used[0], used[-1] + 1)
    bias = data.bias[columns]
    kernel = None if temperature_K is None else _dynes_fit.thermal_kernel(bias, temperature_K)
    model = _dynes_fit._Model(bias, n_gaps, background_order, kernel)
    X, weights = data.X[:, columns], weights[:, columns]
    n = len(X)
    gamma_min = 0.1 * data.step
    theta = np.zeros((n, n_params))
    theta[:, 0], theta[:, 1] = start_gap, np.maximum(0.1 * start_gap, 2 * gamma_min)
    lower = np.full((n, n_params), -np.inf)
    upper = np.full((n, n_params), np.inf)
    lower[:, 0], lower[:, 1] = data.step * 0.1, gamma_min
    upper[:, 0] = upper[:, 1] = np.abs(data.bias).max()
    if n_gaps == 2:
        theta[:, 2], theta[:, 3] = 0.6 * start_gap, 0.25
        lower[:, 2], upper[:, 2] = data.step * 0.1, np.abs(data.bias).max()
        lower[:, 3], upper[:, 3] = 0.0, 1.0
    k = model.n_nonlinear
    theta[:, k:] = _dynes_fit.linear_background(model, theta, X, weights)
    ordered = (0, 2) if n_gaps == 2 else None  # gap_2 <= gap
    theta, iterations = _dynes_fit.fit(
        model, X, weights, theta, lower, upper, max_iter, ordered=ordered
    )
    fitted = model(theta)
    residual = np.sum(weights * (X - fitted) ** 2, axis=1)
    mean = np.sum(weights * X, axis=1) / weights.sum(axis=1)
    total = np.sum(weights * (X - mean[:, None]) ** 2, axis=1)
    delta, gamma = theta[:, 0], theta[:, 1]
    energies, heights, zero = _fitted_peaks(model, theta, bias, fitted, delta)
    result = {
        "gap": delta,
        "gamma": gamma,
        "peak_energy_neg": energies[:, 0],
        "peak_energy_pos": energies[:, 1],
        "peak_height_neg": heights[:, 0],
        "peak_height_pos": heights[:, 1],
        "zero_bias_conductance": zero,
        "fit_quality": 1 - residual / np.maximum(total, 1e-300),
    }
    if n_gaps == 2:
        result["gap_2"], result["gap_2_weight"] = theta[:, 2], theta[:, 3]
    settings = {"fit_range_per_gap": fit_range, "median_iterations": float(np.median(iterations))}
    return result, settings


def _mixture_at(theta, energy, n_gaps):
    """The fitted DOS mixture at each row's own energies ``energy`` ``(n, n_energy)``."""
    mix = _dynes_fit.dynes(energy, theta[:, 0], theta[:, 1])
    if n_gaps == 2:
        w = theta[:, 3:4]
        mix = (1 - w) * mix + w * _dynes_fit.dynes(energy, theta[:, 2], theta[:, 1])
    return mix


def _fitted_peaks(model, theta, bias, fitted, delta):
    """Coherence peaks (energies, heights ``(n, 2)``) and zero-bias value of the fitted curves.

    Without thermal broadening the fitted curve is evaluated on ``|E| = t Delta``, ``t`` in
    0.7 ... 2.5 (181 points, parabolic vertex); with it, on the measured bias axis.
    """
    n, k = len(theta), model.n_nonlinear
    if model.kernel is not None:
        low = np.maximum(0.5 * delta, bias[1] - bias[0])
        energies, heights, _ = _side_peaks(fitted, bias, low, np.full(n, np.abs(bias).max()))
        zero = np.array([np.interp(0.0, bias, row, left=np.nan, right=np.nan) for row in fitted])
        return energies, heights, zero
    t = np.linspace(0.7, 2.5, 181)
    scale = max(float(np.abs(bias).max()), 1e-12)
    energies = np.full((n, 2), np.nan)
    heights = np.full((n, 2), np.nan)
    rows = np.arange(n)
    for side, sign in enumerate((-1.0, 1.0)):
        energy = sign * delta[:, None] * t[None, :]
        background = sum(
            theta[:, k + j, None] * (energy / scale) ** j for j in range(len(theta[0]) - k)
        )
        curve = background * _mixture_at(theta, energy, model.n_gaps)
        top = np.argmax(curve, axis=1)
        inside = (top > 0) & (top < len(t) - 1)
        best = np.clip(top, 1, len(t) - 2)
        left, centre, right = curve[rows, best - 1], curve[rows, best], curve[rows, best + 1]
        curvature = left - 2 * centre + right
        with np.errstate(invalid="ignore", divide="ignore"):
            offset = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
        offset = np.clip(offset, -1.0, 1.0)
        energies[inside, side] = (sign * delta * (t[best] + offset * (t[1] - t[0])))[inside]
        heights[inside, side] = (centre - 0.25 * (left - right) * offset)[inside]
    zero = theta[:, k] * _mixture_at(theta, np.zeros((n, 1)), model.n_gaps)[:, 0]
    return energies, heights, zero
