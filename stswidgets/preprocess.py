"""Preprocessing of STS spectra: normalisation, smoothing, derivative, bias window, valid pixels.

:func:`normalize` works on the matrix view ``X`` of shape ``(n_spectra, n_bias)`` and holds THE
per-spectrum normalisations of the package (:data:`NORMALIZATIONS`: one vocabulary for the
latent spaces, the learning estimators and the spectral weight); the other
functions take and return a grid (an :class:`xarray.DataArray` with dims ``("y", "x", "bias")``,
see :mod:`stswidgets.grid`) and keep its coordinates and attrs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from stswidgets.grid import GridError, check_spectra, validate_grid

__all__ = [
    "ALIASES",
    "NORMALIZATIONS",
    "OUTSIDE_FRACTION",
    "bias_window",
    "derivative",
    "invalid_mask",
    "normalization_name",
    "normalize",
    "smooth",
    "white_noise_sigma",
]

#: The per-spectrum normalisations of the matrix view, accepted by :func:`normalize` and by the
#: learning estimators (``normalize=``). See :func:`normalize` for the formulas. The pipeline
#: has ONE setting, ``PipelineConfig.normalize`` (``auto``, ``none``, ``setpoint``,
#: ``feenstra``, ``zscore``; :mod:`stswidgets.pipeline.normalization`, which builds on these),
#: applied once when the grid is loaded; its steps call the estimators with ``"none"``.
NORMALIZATIONS = ("zscore", "area", "max", "rms", "outside", "none")
#: Other names accepted for a normalisation: ``"integral"`` is ``"area"`` (the name the learning
#: estimators used first).
ALIASES = {"integral": "area"}
#: Fraction of the bias points at each end of a spectrum that ``"outside"`` averages over.
OUTSIDE_FRACTION = 0.1


def normalization_name(method: str) -> str:
    """The name in :data:`NORMALIZATIONS` of ``method`` (resolving :data:`ALIASES`).

    Raises
    ------
    ValueError
        For a name that is neither a normalisation nor an alias.
    """
    name = ALIASES.get(method, method)
    if name not in NORMALIZATIONS:
        raise ValueError(
            f"unknown normalisation method {method!r}; expected one of {NORMALIZATIONS} "
            f"(or the alias {', '.join(map(repr, ALIASES))})"
        )
    return name


def normalize(X: np.ndarray, method: str = "zscore", *, zero_norm: str = "raise") -> np.ndarray:
    """Normalise every spectrum (row) of ``X`` on its own.

    A change of the STM setpoint multiplies a whole spectrum by one factor; every method but
    ``"none"`` removes it, so that spectra compare by shape. With ``x`` one spectrum of ``n``
    bias points:

    - ``"zscore"``: ``(x - mean(x)) / std(x)`` (also removes an offset);
    - ``"area"`` (alias ``"integral"``): ``x / mean(|x|)``, the mean absolute value over the
      bias window (its integral divided by the window's width, for even bias steps);
    - ``"max"``: ``x / max(|x|)``;
    - ``"rms"``: ``x / sqrt(mean(x**2))``;
    - ``"outside"``: ``x / mean(|x[:m]|, |x[-m:]|)``, the mean absolute value over the outer
      ``m = max(1, round(0.1 n))`` bias points on each side (:data:`OUTSIDE_FRACTION`): far
      outside the gap when the bias runs across it, the usual normalisation of tunneling
      spectra at a bias where the density of states is featureless;
    - ``"none"``: ``x`` (a float copy).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Spectra as rows, checked by :func:`stswidgets.grid.check_spectra`.
    method : str
        One of :data:`NORMALIZATIONS` (or an alias of :data:`ALIASES`).
    zero_norm : {"raise", "keep"}
        A spectrum whose norm is zero (a constant one for ``"zscore"``, an all-zero one
        otherwise): ``"raise"`` a ValueError, or ``"keep"`` it by dividing by the smallest
        positive float instead (the learning estimators do that).

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_bias)``
        Float array (float32 input stays float32, anything else becomes float64).

    Raises
    ------
    ValueError
        For an unknown ``method``, an ``X`` that is not 2D, a row holding NaN or inf, or (with
        ``zero_norm="raise"``) a row whose norm is zero.
    """
    name = normalization_name(method)
    if zero_norm not in ("raise", "keep"):
        raise ValueError(f"zero_norm must be 'raise' or 'keep', got {zero_norm!r}")
    X = check_spectra(X, min_spectra=1, min_bias=1, dtype=None).copy()
    if name == "none":
        return X
    if name == "zscore":
        X -= X.mean(axis=1, keepdims=True)
        norm = X.std(axis=1, keepdims=True)
    elif name == "area":
        norm = np.abs(X).mean(axis=1, keepdims=True)
    elif name == "max":
        norm = np.abs(X).max(axis=1, keepdims=True)
    elif name == "rms":
        norm = np.sqrt(np.mean(X**2, axis=1, keepdims=True))
    else:  # outside
        n_end = max(1, int(round(OUTSIDE_FRACTION * X.shape[1])))
        ends = np.concatenate([X[:, :n_end], X[:, -n_end:]], axis=1)
        norm = np.abs(ends).mean(axis=1, keepdims=True)
    zero = ~(norm[:, 0] > 0)
    if zero.any() and zero_norm == "raise":
        rows = np.flatnonzero(zero)
        raise ValueError(
            f"cannot normalise with method {method!r}: {rows.size} spectra have zero norm "
            f"(rows {rows[:5].tolist()}{' ...' if rows.size > 5 else ''})"
        )
    X /= np.maximum(norm, np.finfo(X.dtype).tiny)
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


_MAD_NORMAL = 0.6744897501960817  # MAD of a standard normal distribution


def white_noise_sigma(spectra: np.ndarray) -> np.ndarray:
    """Each spectrum's robust white-noise sigma, from its fourth differences.

    The fourth difference ``x[k-2] - 4 x[k-1] + 6 x[k] - 4 x[k+1] + x[k+2]`` of white noise of
    standard deviation sigma has standard deviation ``sqrt(70) sigma``, while a smooth spectrum
    (a gap, coherence peaks a few points wide) nearly cancels in it; the median absolute
    deviation of the fourth differences then gives ``sigma = MAD / 0.6745 / sqrt(70)``.

    Parameters
    ----------
    spectra : numpy.ndarray, shape ``(n_spectra, n_bias)``, ``n_bias >= 5``, finite

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra,)``, float64, in the spectra's units
    """
    block = np.asarray(spectra, dtype=np.float64)
    if block.ndim != 2 or block.shape[1] < 5:
        raise ValueError(f"white_noise_sigma needs spectra (n, n_bias >= 5); got {block.shape}")
    if not np.all(np.isfinite(block)):
        raise ValueError("white_noise_sigma needs finite spectra (pass the valid spectra only)")
    fourth = block[:, :-4] - 4 * block[:, 1:-3] + 6 * block[:, 2:-2] - 4 * block[:, 3:-1]
    fourth += block[:, 4:]
    mad = np.median(np.abs(fourth - np.median(fourth, axis=1, keepdims=True)), axis=1)
    return mad / _MAD_NORMAL / np.sqrt(70.0)
