"""Reference defect masks from an iso-energy slice (paper Fig. 2).

The conventional way to find defects in an STS grid: take the conductance map at one energy
where the defects stand out (e.g. the in-gap bound states at about -1 mV in FeSe), smooth it a
little in real space, split it in two with Otsu's threshold and drop specks smaller than a
defect. The mask is the reference the similarity methods are compared with.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

from stswidgets.grid import validate_grid

__all__ = ["iou", "iso_energy_mask", "otsu_threshold", "remove_small_objects"]


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
    if sigma_px > 0:
        filled = np.where(finite, values, 0.0)
        norm = ndimage.gaussian_filter(finite.astype(float), sigma_px, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            values = ndimage.gaussian_filter(filled, sigma_px, mode="nearest") / norm
        values[~finite] = np.nan
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
