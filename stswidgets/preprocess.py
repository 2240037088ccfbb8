"""Preprocessing of STS spectra: normalisation, smoothing, derivative, bias window, valid pixels.

:func:`normalize` works on the matrix view ``X`` of shape ``(n_spectra, n_bias)``; the other
functions take and return a grid (an :class:`xarray.DataArray` with dims ``("y", "x", "bias")``,
see :mod:`stswidgets.grid`) and keep its coordinates and attrs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from stswidgets.grid import GridError, validate_grid

__all__ = ["NORMALIZATIONS", "bias_window", "derivative", "invalid_mask", "normalize", "smooth"]

#: Methods accepted by :func:`normalize`.
NORMALIZATIONS = ("zscore", "area", "max", "none")


def normalize(X: np.ndarray, method: str = "zscore") -> np.ndarray:
    """Normalise every spectrum (row) of ``X`` on its own.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Spectra as rows.
    method : {"zscore", "area", "max", "none"}
        ``"zscore"``: subtract the row mean, divide by the row standard deviation (shape only);
        ``"area"``: divide by the sum of absolute values (unit spectral weight, per bias point);
        ``"max"``: divide by the largest absolute value;
        ``"none"``: a float copy of ``X``.

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_bias)``
        Float array (float32 input stays float32, anything else becomes float64).

    Raises
    ------
    ValueError
        For an unknown ``method``, an ``X`` that is not 2D, a row holding NaN or inf, or a row
        whose norm is zero (a constant spectrum for ``"zscore"``, an all-zero one for
        ``"area"``/``"max"``).
    """
    if method not in NORMALIZATIONS:
        raise ValueError(
            f"unknown normalisation method {method!r}; expected one of {NORMALIZATIONS}"
        )
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n_spectra, n_bias), got shape {X.shape}")
    dtype = X.dtype if X.dtype == np.float32 else np.float64
    X = X.astype(dtype, copy=True)
    incomplete = ~np.isfinite(X).all(axis=1)
    if incomplete.any():
        rows = np.flatnonzero(incomplete)
        raise ValueError(
            f"cannot normalise: {rows.size} spectra hold NaN or inf (rows {rows[:5].tolist()}"
            f"{' ...' if rows.size > 5 else ''}); take the complete spectra with to_matrix(grid)"
        )
    if method == "none":
        return X
    if method == "zscore":
        X -= X.mean(axis=1, keepdims=True)
        norm = X.std(axis=1, keepdims=True)
    elif method == "area":
        norm = np.abs(X).sum(axis=1, keepdims=True)
    else:
        norm = np.abs(X).max(axis=1, keepdims=True)
    zero = ~(norm[:, 0] > 0)
    if zero.any():
        rows = np.flatnonzero(zero)
        raise ValueError(
            f"cannot normalise with method {method!r}: {rows.size} spectra have zero norm "
            f"(rows {rows[:5].tolist()}{' ...' if rows.size > 5 else ''})"
        )
    X /= norm
    return X


def _bias_step(grid: xr.DataArray) -> float:
    bias = np.asarray(grid["bias"].values, dtype=float)
    steps = np.diff(bias)
    if not np.allclose(steps, steps.mean(), rtol=1e-3, atol=0):
        raise GridError(
            f"grid {grid.name!r} has an unevenly spaced bias axis (steps {steps.min():g} ... "
            f"{steps.max():g} mV); resample it with grid.interp(bias=...) before smoothing"
        )
    return float(steps.mean())


def smooth(grid: xr.DataArray, sigma_mV: float) -> xr.DataArray:
    """Gaussian smoothing of every spectrum along bias.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
        Needs an evenly spaced bias axis.
    sigma_mV : float
        Standard deviation of the Gaussian kernel in mV (>= 0; 0 returns a copy).

    Returns
    -------
    xarray.DataArray
        Same dims, coords and attrs; NaN pixels stay NaN. Spectra are reflected at the ends
        (:func:`scipy.ndimage.gaussian_filter1d` ``mode="reflect"``).
    """
    validate_grid(grid)
    if not sigma_mV >= 0:
        raise ValueError(f"sigma_mV must be >= 0, got {sigma_mV!r}")
    if sigma_mV == 0:
        return grid.copy()
    sigma_steps = sigma_mV / _bias_step(grid)
    values = np.asarray(grid.values, dtype=float)
    out = gaussian_filter1d(values, sigma_steps, axis=-1, mode="reflect")
    out[~np.isfinite(values).all(axis=-1)] = np.nan
    return grid.copy(data=out.astype(np.result_type(grid.dtype, np.float32)))


def derivative(grid: xr.DataArray) -> xr.DataArray:
    """Numerical derivative of every spectrum with respect to bias (per mV).

    Uses :func:`numpy.gradient` with the bias coordinate (second-order central differences inside,
    one-sided at the ends), so uneven bias steps are handled.

    Returns
    -------
    xarray.DataArray
        Same dims and coords; ``attrs["units"]`` becomes ``"<units>/mV"`` and the name
        ``<name>_derivative``. NaN pixels stay NaN.
    """
    validate_grid(grid)
    bias = np.asarray(grid["bias"].values, dtype=float)
    out = np.gradient(np.asarray(grid.values, dtype=float), bias, axis=-1)
    units = grid.attrs.get("units", "")
    result = grid.copy(data=out.astype(np.result_type(grid.dtype, np.float32)))
    result.attrs = {**grid.attrs, "units": f"{units}/mV" if units else "1/mV"}
    result.name = f"{grid.name}_derivative" if grid.name else None
    return result


def bias_window(grid: xr.DataArray, lo_mV: float, hi_mV: float) -> xr.DataArray:
    """The part of every spectrum with ``lo_mV <= bias <= hi_mV`` (label selection).

    Raises
    ------
    ValueError
        When ``lo_mV > hi_mV`` or the window holds fewer than two bias points.
    """
    validate_grid(grid)
    if lo_mV > hi_mV:
        raise ValueError(
            f"bias window must be (lo_mV, hi_mV) with lo <= hi, got ({lo_mV}, {hi_mV})"
        )
    window = grid.sel(bias=slice(lo_mV, hi_mV))
    if window.sizes["bias"] < 2:
        bias = grid["bias"].values
        raise ValueError(
            f"bias window [{lo_mV}, {hi_mV}] mV holds {window.sizes['bias']} bias point(s) of "
            f"grid {grid.name!r} (bias {bias[0]:g} ... {bias[-1]:g} mV); need at least 2"
        )
    return window


def invalid_mask(grid: xr.DataArray) -> xr.DataArray:
    """Pixels whose spectrum is incomplete (any NaN or inf), as a bool ``(y, x)`` DataArray."""
    validate_grid(grid)
    bad = ~np.isfinite(np.asarray(grid.values)).all(axis=-1)
    coords = {name: grid.coords[name] for name in ("y", "x") if name in grid.coords}
    return xr.DataArray(bad, dims=("y", "x"), coords=coords, name="invalid")
