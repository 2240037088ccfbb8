"""The Dynes fit of :func:`~stswidgets.analysis.gap_map` (``method="fit"``) on flattened spectra.

Builds each spectrum's fit window and start (from the coherence peaks), runs the batched
Levenberg-Marquardt of :mod:`~stswidgets.analysis._dynes_fit` and reads the coherence peaks and
zero-bias value off the fitted curves.
"""

from __future__ import annotations

import numpy as np

from stswidgets.analysis import _dynes_fit
from stswidgets.analysis._gap_peaks import _side_peaks

_CHUNK = 2048  # spectra fitted together


def fit_gaps(data, peaks, n_gaps, background_order, fit_range, temperature_K, max_iter, n_angles=0):
    """The Dynes fit on ``data.X`` started from the peaks result.

    Each spectrum's window is ``|E| <= fit_range`` times its peaks gap. The start: ``Delta`` the
    peaks gap (less ``1.7 kT`` with thermal broadening, which moves the coherence peaks out by
    about that much; started at the peaks the fit can stall with ``Gamma`` at its floor),
    ``Gamma = 0.1 Delta``, the background by linear least squares.
    """
    mean_gap = peaks[3]["mean_gap_mV"]
    start_gap = np.where(np.isfinite(peaks[0]["gap"]), peaks[0]["gap"], mean_gap)
    start_gap = np.clip(start_gap, 2 * data.step, np.abs(data.bias).max())
    reach = fit_range * start_gap
    n_params = (2 if n_gaps == 1 else 4) + (1 if n_angles else 0) + background_order + 1
    few = (np.abs(data.bias)[None, :] <= reach[:, None]).sum(axis=1) < 2 * n_params
    reach[few] = np.inf  # too few points inside: the whole spectrum
    if temperature_K is not None:
        shift = 1.7 * _dynes_fit.KB_MEV_PER_K * float(temperature_K)
        start_gap = np.maximum(start_gap - shift, 0.5 * start_gap)
    # rows in order of their window, in chunks: each chunk computes only the bias columns its
    # widest window needs (one wide window would otherwise cost every row all columns)
    order = np.argsort(reach, kind="stable")
    result, iterations = {}, np.zeros(len(reach), dtype=int)
    size = _CHUNK // 8 if n_angles else _CHUNK  # the angle average holds 24 DOS per spectrum
    for chunk in np.array_split(order, max(1, int(np.ceil(len(order) / size)))):
        part, steps = _fit_rows(
            data,
            chunk,
            reach[chunk],
            start_gap[chunk],
            n_gaps,
            background_order,
            temperature_K,
            max_iter,
            n_angles,
        )
        for name, values in part.items():
            result.setdefault(name, np.full(len(reach), np.nan))[chunk] = values
        iterations[chunk] = steps
    settings = {"fit_range_per_gap": fit_range, "median_iterations": float(np.median(iterations))}
    return result, settings


def _fit_rows(
    data, rows, reach, start_gap, n_gaps, background_order, temperature_K, max_iter, n_angles
):
    """Fit the spectra ``data.X[rows]``, each on ``|E| <= reach``; result arrays, iterations."""
    top = np.abs(data.bias).max()
    columns = slice(None)
    if temperature_K is None and np.isfinite(reach.max()):
        used = np.flatnonzero(np.abs(data.bias) <= reach.max())
        columns = slice(used[0], used[-1] + 1)
    bias = data.bias[columns]
    weights = (np.abs(bias)[None, :] <= reach[:, None]).astype(np.float32)
    model = _dynes_fit._Model(bias, n_gaps, background_order, temperature_K, n_angles)
    X = data.X[rows][:, columns]
    n, n_params = len(X), model.n_nonlinear + background_order + 1
    gamma_min = 0.1 * data.step
    theta = np.zeros((n, n_params))
    theta[:, 0], theta[:, 1] = start_gap, np.maximum(0.1 * start_gap, 2 * gamma_min)
    lower = np.full((n, n_params), -np.inf)
    upper = np.full((n, n_params), np.inf)
    lower[:, 0], lower[:, 1] = data.step * 0.1, gamma_min
    upper[:, 0] = upper[:, 1] = top
    if n_gaps == 2:
        theta[:, 2], theta[:, 3] = 0.6 * start_gap, 0.25
        lower[:, 2], upper[:, 2] = data.step * 0.1, top
        lower[:, 3], upper[:, 3] = 0.0, 1.0
    k = model.n_nonlinear
    if n_angles:  # the anisotropy, started between a U- and a V-shaped gap
        theta[:, k - 1], lower[:, k - 1], upper[:, k - 1] = 0.3, 0.0, 0.99
    theta[:, k:] = _dynes_fit.linear_background(model, theta, X, weights)
    ordered = (0, 2) if n_gaps == 2 else None  # gap_2 <= gap
    theta, iterations = _dynes_fit.fit(
        model, X, weights, theta, lower, upper, max_iter, ordered=ordered
    )
    fitted = model(theta)
    residual = np.sum(weights * (X - fitted) ** 2, axis=1, dtype=float)
    mean = np.sum(weights * X, axis=1, dtype=float) / weights.sum(axis=1)
    total = np.sum(weights * (X - mean[:, None]) ** 2, axis=1, dtype=float)
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
    if n_angles:
        result["gap_anisotropy"] = theta[:, k - 1]
    return result, iterations


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
        curve = background * model.mixture(theta, energy=energy)
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
    zero = theta[:, k] * model.mixture(theta, energy=np.zeros((n, 1)))[:, 0]
    return energies, heights, zero
