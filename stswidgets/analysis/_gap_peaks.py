"""Coherence peaks of many spectra at once: the input of :func:`~stswidgets.analysis.gap_map`.

``_Spectra`` flattens a grid, a collection or a matrix into ``X`` ``(n, n_bias)`` on an ascending
uniform bias (complete spectra only) and puts per-spectrum results back on the input's dims.
``peaks`` smooths (Savitzky-Golay) and takes the largest local maximum on each side of zero bias
with a parabolic vertex through its three samples.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.signal import savgol_filter

_SMOOTHING_PER_GAP = 0.25  # default Savitzky-Golay window, in units of the mean spectrum's gap
_SEARCH_PER_GAP = 2.0  # default peak search reaches this many mean gaps


class _Spectra:
    """Flattened spectra ``X`` ``(n, n_bias)`` on an ascending uniform bias, and how to map back."""

    def __init__(self, obj, bias_mV=None):
        if isinstance(obj, xr.Dataset):
            names = [n for n, v in obj.data_vars.items() if "bias" in v.dims]
            if "didv" in names:
                names = ["didv"]
            if len(names) != 1:
                raise ValueError(
                    f"dataset {obj.attrs.get('source', '')!r} holds {len(names)} variables with "
                    f"a 'bias' dimension ({names}); pass the DataArray to analyse"
                )
            obj = obj[names[0]]
        if isinstance(obj, xr.DataArray):
            if "bias" not in obj.dims:
                raise ValueError(f"{obj.name!r} has dims {obj.dims}; a 'bias' dimension is needed")
            self.dims = tuple(d for d in obj.dims if d != "bias")
            obj = obj.transpose(*self.dims, "bias")
            self.coords = {
                k: c for k, c in obj.coords.items() if "bias" not in c.dims and k != "bias"
            }
            self.shape = obj.shape[:-1]
            bias = np.asarray(obj["bias"].values, dtype=float)
            if obj["bias"].attrs.get("units", "mV") == "V":
                bias = bias * 1e3
            values = np.asarray(obj.values, dtype=float).reshape(-1, len(bias))
            self.source = str(obj.attrs.get("source", ""))
            self.units = str(obj.attrs.get("units", "a.u."))
        else:
            values = np.asarray(obj, dtype=float)
            if values.ndim != 2 or bias_mV is None or len(bias_mV) != values.shape[1]:
                raise ValueError(
                    "a matrix needs shape (n_spectra, n_bias) and bias_mV of length n_bias, got "
                    f"{values.shape} and {None if bias_mV is None else len(bias_mV)} bias values"
                )
            self.dims, self.coords, self.shape = ("spectrum",), {}, values.shape[:1]
            bias = np.asarray(bias_mV, dtype=float)
            self.source, self.units = "", "a.u."
        order = np.argsort(bias)
        bias, values = bias[order], values[:, order]
        if len(bias) < 8:
            raise ValueError(f"{len(bias)} bias points; a gap needs at least 8")
        steps = np.diff(bias)
        self.step = float(np.median(steps))
        if np.any(np.abs(steps - self.step) > 1e-3 * self.step):  # onto a uniform axis
            uniform = np.linspace(bias[0], bias[-1], len(bias))
            values = np.stack([np.interp(uniform, bias, row) for row in values])
            bias = uniform
        self.bias = bias
        self.valid = np.isfinite(values).all(axis=1)
        if not self.valid.any():
            raise ValueError(f"no complete spectrum in {self.source or 'the input'}: all hold NaN")
        self.X = values[self.valid]

    def to_dataset(self, variables: dict, attrs: dict) -> xr.Dataset:
        out = {}
        for name, (values, var_attrs, *extra) in variables.items():
            values = np.asarray(values, dtype=float)
            full = np.full((len(self.valid),) + values.shape[1:], np.nan)
            full[self.valid] = values
            dims = self.dims + tuple(extra)
            out[name] = xr.DataArray(
                full.reshape(self.shape + values.shape[1:]), dims=dims, attrs=var_attrs
            )
        return xr.Dataset(out, coords=self.coords, attrs={"source": self.source, **attrs})


def _smooth(X, step, width_mV):
    n = max(5, int(round(width_mV / step)) | 1)
    n = min(n, (X.shape[1] - 1) | 1 if X.shape[1] % 2 == 0 else X.shape[1])
    if n % 2 == 0:
        n -= 1
    return savgol_filter(X, n, 3 if n >= 7 else 2, axis=-1, mode="interp"), n


def _side_peaks(S, bias, low, high):
    """Largest local maximum of each row of ``S`` with ``low <= |E| <= high`` on each side.

    ``low``/``high`` are ``(n,)``. Returns energies, heights and indices ``(n, 2)``
    (negative side first), parabolic vertices; NaN (index -1) where a side has none.
    """
    n, nb = S.shape
    local_max = np.zeros_like(S, dtype=bool)
    local_max[:, 1:-1] = (S[:, 1:-1] > S[:, :-2]) & (S[:, 1:-1] >= S[:, 2:])
    energies = np.full((n, 2), np.nan)
    heights = np.full((n, 2), np.nan)
    indices = np.full((n, 2), -1)
    rows = np.arange(n)
    for side, sign in enumerate((-1.0, 1.0)):
        distance = sign * bias[None, :]
        inside = local_max & (distance >= low[:, None]) & (distance <= high[:, None])
        candidate = np.where(inside, S, -np.inf)
        best = np.argmax(candidate, axis=1)
        found = np.isfinite(candidate[rows, best])
        i = np.clip(best, 1, nb - 2)
        left, centre, right = S[rows, i - 1], S[rows, i], S[rows, i + 1]
        curvature = left - 2 * centre + right
        with np.errstate(invalid="ignore", divide="ignore"):
            offset = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
        offset = np.clip(offset, -0.5, 0.5)
        step = bias[1] - bias[0]
        energies[found, side] = (bias[i] + offset * step)[found]
        heights[found, side] = (centre - 0.25 * (left - right) * offset)[found]
        indices[found, side] = i[found]
    return energies, heights, indices


def _mean_gap(data, width_mV=None):
    """Gap of the mean spectrum (for the default smoothing width and search window)."""
    mean = data.X.mean(axis=0, keepdims=True)
    edge = float(np.abs(data.bias).max())
    S, _ = _smooth(mean, data.step, width_mV or 5 * data.step)
    low, high = np.array([1.5 * data.step]), np.array([0.8 * edge])
    energies, _, _ = _side_peaks(S, data.bias, low, high)
    gap = 0.5 * (energies[0, 1] - energies[0, 0])
    return float(gap) if np.isfinite(gap) else 0.1 * edge


def peaks(data, smoothing_mV, search_mV):
    """The peaks method on ``data.X``: dict of per-spectrum arrays and the settings used."""
    mean_gap = _mean_gap(data)
    width = smoothing_mV if smoothing_mV is not None else _SMOOTHING_PER_GAP * mean_gap
    S, n_window = _smooth(data.X, data.step, width)
    if search_mV is None:
        search_mV = (1.5 * data.step, _SEARCH_PER_GAP * mean_gap)
    n = len(data.X)
    low, high = np.full(n, float(search_mV[0])), np.full(n, float(search_mV[1]))
    energies, heights, indices = _side_peaks(S, data.bias, low, high)
    noise = np.std(data.X - S, axis=1) + 1e-12
    # contrast: the lower coherence peak above the lowest smoothed value between the peaks
    between = (data.bias[None, :] > energies[:, :1]) & (data.bias[None, :] < energies[:, 1:])
    floor = np.where(between, S, np.inf).min(axis=1)
    floor = np.where(np.isfinite(floor), floor, np.nan)
    zero = np.array([np.interp(0.0, data.bias, row, left=np.nan, right=np.nan) for row in S])
    result = {
        "gap": 0.5 * (energies[:, 1] - energies[:, 0]),
        "peak_energy_neg": energies[:, 0],
        "peak_energy_pos": energies[:, 1],
        "peak_height_neg": heights[:, 0],
        "peak_height_pos": heights[:, 1],
        "zero_bias_conductance": zero,
        "fit_quality": (np.fmin(heights[:, 0], heights[:, 1]) - floor) / noise,
    }
    settings = {
        "smoothing_mV": float(n_window * data.step),
        "search_mV": [float(search_mV[0]), float(search_mV[1])],
        "mean_gap_mV": mean_gap,
    }
    return result, S, noise, settings
