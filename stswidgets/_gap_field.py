"""A spatially varying gap for :func:`stswidgets.datasets.random_grid` (keyword ``gap_variation``).

Each pixel's local spectrum is stretched in energy by a factor ``c(r) = 1 + v f(r)``: ``f`` is a
smooth Gaussian random field of unit standard deviation over the map (white noise from
``default_rng([seed, 3])`` filtered with a Gaussian of std ``correlation_nm``), ``v`` the
relative amplitude. Stretching the whole local spectrum ``G(E) -> G(E / c)`` scales every energy
of the local physics together (gap, Dynes broadening, instrumental broadening, bound states), so
the result is still an exact local spectrum whose main gap is ``c`` times the unstretched one:
the truth ``local_gap_mV`` and ``local_gamma_mV`` are multiplied by ``c``. The stream
``[seed, 3]`` is new, so grids drawn without the keyword are unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

_FIELD_STREAM = 3
_LIMITS = (0.5, 1.5)  # the stretch factor is clipped to this range


def gap_factor(
    seed: int, shape: tuple[int, int], pixel_nm: float, variation: float, correlation_nm: float
) -> np.ndarray:
    """Stretch factor ``c = 1 + variation f`` on the ``(ny, nx)`` map, clipped to 0.5 ... 1.5."""
    if variation < 0 or correlation_nm <= 0:
        raise ValueError(
            f"gap_variation must be >= 0 and gap_correlation_nm > 0, got {variation!r}, "
            f"{correlation_nm!r}"
        )
    white = np.random.default_rng([int(seed), _FIELD_STREAM]).standard_normal(shape)
    field = gaussian_filter(white, correlation_nm / pixel_nm, mode="wrap")
    field = (field - field.mean()) / max(float(field.std()), 1e-12)
    return np.clip(1 + variation * field, *_LIMITS)


def stretched_from_table(table, axis, strength, which, bias, factor, chunk=4096):
    """Spectra interpolated between strength levels AND stretched in energy by ``factor``.

    ``table`` ``(n_kinds, n_levels, n_axis)`` tabulated on the uniform ``axis`` (mV), which must
    cover ``bias / factor``; ``strength``, ``which`` and ``factor`` are per pixel. Returns
    float32 ``(n_pixels, n_bias)``: each pixel's spectrum at the energies ``bias / factor``.
    """
    table = np.asarray(table, dtype=np.float32)
    n_levels, n_axis = table.shape[1], table.shape[2]
    flat = table.reshape(-1, n_axis)
    step = (axis[-1] - axis[0]) / (n_axis - 1)
    position = np.clip(np.asarray(strength, dtype=float), 0.0, 1.0) * (n_levels - 1)
    below = np.minimum(np.floor(position).astype(int), n_levels - 2)
    above_share = (position - below).astype(np.float32)
    rows = np.asarray(which) * n_levels + below
    out = np.empty((len(rows), len(bias)), dtype=np.float32)
    for start in range(0, len(rows), chunk):
        part = slice(start, start + chunk)
        where = (bias[None, :] / factor[part, None] - axis[0]) / step
        left = np.clip(np.floor(where).astype(int), 0, n_axis - 2)
        share = np.clip(where - left, 0.0, 1.0).astype(np.float32)
        row = rows[part, None]
        lower = flat[row, left] * (1 - share) + flat[row, left + 1] * share
        upper = flat[row + 1, left] * (1 - share) + flat[row + 1, left + 1] * share
        above = above_share[part, None]
        out[part] = lower * (1 - above) + upper * above
    return out
