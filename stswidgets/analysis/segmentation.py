"""Reference defect masks from an iso-energy slice (paper Fig. 2).

The conventional way to find defects in an STS grid: take the conductance map at one energy
where the defects stand out (e.g. the in-gap bound states at about -1 mV in FeSe), smooth it a
little in real space, split it in two with Otsu's threshold and drop specks smaller than a
defect. The mask is the reference the similarity methods are compared with.

Which energy? :func:`segmentation_energy` chooses it from the data: the bias where the
smoothed conductance map has the largest relative contrast among the energies where it varies
more than its pixel-to-pixel noise (:func:`segmentation_contrast`). On the simulated FeSe-like
grids it finds the in-gap bound states (-0.8 ... -1.1 mV).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy import ndimage

from stswidgets.grid import validate_grid

__all__ = [
    "iou",
    "iso_energy_mask",
    "otsu_threshold",
    "remove_small_objects",
    "segmentation_contrast",
    "segmentation_energy",
]


def otsu_threshold(values, bins: int = 256) -> float:
    """Otsu's threshold: the value splitting ``values`` into two classes of maximal
    between-class variance.

    Parameters
    ----------
    values : array-like
        Any shape; NaN and inf are ignored.
    bins : int
        Number of histogram bins between the smallest and largest finite value.

    Returns
    -------
    float
        The threshold, an inner edge of the histogram: ``values < t`` form the lower class,
        ``values >= t`` the upper one.

    Raises
    ------
    ValueError
        When fewer than two finite values are given or all are equal.
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size < 2 or values.min() == values.max():
        raise ValueError(
            f"Otsu's threshold needs at least two distinct finite values, got {values.size} "
            "finite value(s)" + ("" if values.size < 2 else f", all equal to {values[0]:g}")
        )
    counts, edges = np.histogram(values, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(counts)[:-1]  # class 0: bins 0..i, for a split after bin i
    w1 = values.size - w0
    s0 = np.cumsum(counts * centres)[:-1]
    total = float(np.sum(counts * centres))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = w0 * w1 * (s0 / w0 - (total - s0) / w1) ** 2
    between = np.where((w0 > 0) & (w1 > 0), between, -1.0)
    return float(edges[1:-1][np.argmax(between)])


def remove_small_objects(mask, min_size: int) -> np.ndarray:
    """Drop connected regions (4-connectivity) of ``mask`` with fewer than ``min_size`` pixels.

    Parameters
    ----------
    mask : bool array-like, shape ``(ny, nx)``
    min_size : int
        Smallest region kept, in pixels.

    Returns
    -------
    numpy.ndarray of bool, shape ``(ny, nx)``
    """
    mask = np.asarray(mask, dtype=bool)
    labels, n = ndimage.label(mask)
    if n == 0 or min_size <= 1:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_size
    keep[0] = False
    return keep[labels]


def iso_energy_mask(
    grid: xr.DataArray,
    energy_mV: float,
    sigma_px: float = 1.0,
    min_size: int = 4,
    polarity: str = "auto",
    bins: int = 256,
) -> xr.DataArray:
    """Defect mask from the conductance map at the bias nearest ``energy_mV``.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
    energy_mV : float
        Energy of the slice in mV (``grid.sel(bias=energy_mV, method="nearest")``).
    sigma_px : float
        Gaussian smoothing of the slice in real space, in pixels (0: none). NaN pixels are
        left out of the smoothing (normalised convolution).
    min_size : int
        Regions smaller than this many pixels (4-connectivity) are dropped.
    polarity : {"auto", "high", "low"}
        Whether defects are where the slice is above (``"high"``) or below (``"low"``) Otsu's
        threshold; ``"auto"`` takes the side holding fewer pixels (defects are the minority).
    bins : int
        Histogram bins of :func:`otsu_threshold`.

    Returns
    -------
    xarray.DataArray of bool, dims ``("y", "x")``
        True on defects; False on NaN pixels. ``attrs``: ``energy_mV`` (the bias used),
        ``threshold``, ``polarity`` (the side chosen).
    """
    validate_grid(grid)
    if polarity not in ("auto", "high", "low"):
        raise ValueError(f"polarity must be 'auto', 'high' or 'low', got {polarity!r}")
    if not sigma_px >= 0:
        raise ValueError(f"sigma_px must be >= 0, got {sigma_px!r}")
    layer = grid.sel(bias=energy_mV, method="nearest")
    used_mV = float(layer["bias"])
    values = np.asarray(layer.values, dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(f"the slice at {used_mV:g} mV of grid {grid.name!r} holds no finite value")
    values = _smooth(values, sigma_px)
    threshold = otsu_threshold(values, bins=bins)
    high = finite & (values >= threshold)
    low = finite & (values < threshold)
    if polarity == "auto":
        polarity = "high" if high.sum() <= low.sum() else "low"
    mask = remove_small_objects(high if polarity == "high" else low, min_size)
    coords = {name: grid.coords[name] for name in ("y", "x") if name in grid.coords}
    return xr.DataArray(
        mask,
        dims=("y", "x"),
        coords=coords,
        name="segmentation",
        attrs={"energy_mV": used_mV, "threshold": threshold, "polarity": polarity},
    )


def _smooth(values: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian smoothing over the last two axes, leaving NaN pixels out (normalised
    convolution); NaN stays NaN."""
    finite = np.isfinite(values)
    if sigma_px <= 0:
        return values
    sigma = (0,) * (values.ndim - 2) + (sigma_px, sigma_px)
    filled = np.where(finite, values, 0.0)
    norm = ndimage.gaussian_filter(finite.astype(float), sigma, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        smooth = ndimage.gaussian_filter(filled, sigma, mode="nearest") / norm
    return np.where(finite, smooth, np.nan)


def _signal_to_noise(layers: np.ndarray, sigma_px: float):
    """Per layer of ``(n_bias, ny, nx)``: ``var(S) / var(L - S)``, ``var(S)``, ``mean(S)``."""
    smooth = _smooth(layers, sigma_px)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN layers give NaN, then 0
        signal = np.nanvar(smooth, axis=(1, 2))
        snr = signal / np.nanvar(layers - smooth, axis=(1, 2))
        mean = np.nanmean(smooth, axis=(1, 2))
    return np.where(np.isfinite(snr), snr, 0.0), signal, mean


def segmentation_contrast(grid: xr.DataArray, sigma_px: float = 1.0) -> xr.DataArray:
    """How well the conductance map at each bias shows features above its noise.

    For every bias layer ``L`` the map is smoothed in real space (``S``, Gaussian of
    ``sigma_px`` pixels); ``L - S`` is mostly pixel-to-pixel noise. The layer's contrast is
    ``var(S) / mean(S)**2`` (squared coefficient of variation: independent of the overall
    conductance at that energy, so an in-gap energy with a few bright defects scores above the
    coherence peaks, where a smooth setpoint variation dominates), and it counts only where
    the map varies more than its noise: ``var(S) / var(L - S)`` above 1 and above 1.5 times
    the largest value the same maps reach with their pixels shuffled (no spatial structure:
    what noise alone gives on a map of this shape and size, over all the energies; a fixed
    seed, so the result is deterministic). Elsewhere it is 0.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
    sigma_px : float
        Real-space smoothing in pixels (> 0).

    Returns
    -------
    xarray.DataArray, dims ``("bias",)``
        The contrast (dimensionless); ``attrs["signal_to_noise"]``: ``var(S) / var(L - S)``
        per bias as a list; ``attrs["noise_gate"]``: the ratio a layer had to exceed.
    """
    validate_grid(grid)
    if not sigma_px > 0:
        raise ValueError(f"sigma_px must be > 0, got {sigma_px!r}")
    layers = np.moveaxis(np.asarray(grid.transpose("y", "x", "bias").values, float), -1, 0)
    snr, signal, mean = _signal_to_noise(layers, sigma_px)
    # the same maps with their pixels shuffled have no spatial structure: the largest ratio
    # they reach is what noise alone gives on a map of this shape (e.g. ~0.1 on a square map,
    # up to ~3 on a line of 32 spectra)
    shuffled = np.random.default_rng(0).permuted(layers.reshape(layers.shape[0], -1), axis=1)
    null, _, _ = _signal_to_noise(shuffled.reshape(layers.shape), sigma_px)
    gate = max(1.0, 1.5 * float(np.max(null)))
    with np.errstate(invalid="ignore", divide="ignore"):
        contrast = np.where(snr > gate, signal / mean**2, 0.0)
    contrast = np.where(np.isfinite(contrast), contrast, 0.0)
    return xr.DataArray(
        contrast,
        dims=("bias",),
        coords={"bias": grid["bias"]},
        name="segmentation_contrast",
        attrs={
            "long_name": "relative contrast of the smoothed conductance map above its noise",
            "units": "1",
            "sigma_px": float(sigma_px),
            "signal_to_noise": snr.tolist(),
            "noise_gate": gate,
        },
    )


def segmentation_energy(grid: xr.DataArray, sigma_px: float = 1.0) -> float:
    """The bias (mV) whose conductance map shows features best: argmax of
    :func:`segmentation_contrast`.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
    sigma_px : float
        Real-space smoothing in pixels, as in :func:`iso_energy_mask`.

    Returns
    -------
    float
        A bias of the grid, in its bias units (mV).

    Raises
    ------
    ValueError
        When no bias layer varies more than its noise (nothing to segment); the message
        gives the best signal-to-noise ratio found.

    Examples
    --------
    >>> energy = segmentation_energy(grid)
    >>> mask = iso_energy_mask(grid, energy)
    """
    contrast = segmentation_contrast(grid, sigma_px)
    if not np.any(contrast.values > 0):
        snr = np.asarray(contrast.attrs["signal_to_noise"])
        raise ValueError(
            f"no bias layer of grid {grid.name!r} varies more than its pixel-to-pixel noise "
            f"(best signal/noise {snr.max():.2f} at {float(grid['bias'][int(np.argmax(snr))]):g} "
            "mV): there is nothing to segment; give the energy by hand"
        )
    return float(contrast["bias"][int(np.argmax(contrast.values))])


def iou(a, b) -> float:
    """Intersection over union of two boolean masks of the same shape (1.0 when both are empty)."""
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"masks have different shapes {a.shape} and {b.shape}")
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)
