"""Fourier-transform (quasiparticle-interference, QPI) maps of a conductance grid.

:func:`fourier_maps` Fourier-transforms the conductance map at every bias at once (one batched
FFT), :func:`radial_average` averages the result over annuli of equal ``|q|`` (the ring of a
Friedel oscillation becomes a peak), :func:`q_cut` samples it along a line through ``q = 0``
(an energy-dispersion image). numpy / scipy only.

**Convention**: ``q = 2 pi / lambda`` (in 1/nm): a modulation ``cos(2 pi x / lambda)`` puts its
peaks at ``qx = +-2 pi / lambda``; a Friedel oscillation ``cos(2 k_F r)`` its ring at
``q = 2 k_F``. The q axes are ``fftshift``-ed (``q = 0`` in the middle, ascending); each output
records this in its ``q_convention`` attribute.

**Steps, in order, per bias map**: invalid (NaN) pixels are filled with the map's mean (their
number is recorded); the mean (or a fitted plane) is subtracted; the map is multiplied by a
window that falls to zero at its edges; the map is zero-padded to the chosen size; FFT;
``|F|^2``; optional symmetrisation. The padding is *drift-free*: it comes after mean subtraction
and windowing, so the map already goes to zero at its border and the zeros continue it without
an edge step (a step would add streaks along ``qx = 0`` and ``qy = 0``). With ``window="none"``
the border is not zero and padding does introduce a step.

**Normalisation**: ``power = |sum_r f(r) exp(-i q r)|^2 / N`` with ``N`` the map's pixel count
(before padding), so the mean of the power over the q grid equals the mean square of the
prepared map over its pixels, whatever the padding (Parseval).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from stswidgets.analysis import _q_geometry
from stswidgets.analysis._fourier_profiles import q_cut, radial_average, ring_wavevector
from stswidgets.analysis._q_geometry import FOURIER_DIMS, Q_CONVENTION
from stswidgets.grid import GRID_DIMS, GridError, validate_grid

__all__ = ["fourier_maps", "q_cut", "radial_average", "ring_wavevector"]
_WINDOWS = ("hann", "tukey", "none")
_BLOCK_VALUES = 2**22  # q pixels x maps per FFT block (64 MiB of complex128)


def _describe(grid) -> str:
    source = grid.attrs.get("source")
    return f"grid {grid.name!r}" + (f" from {source}" if source else "")


def _map_grid(grid) -> xr.DataArray:
    """The grid with ascending ``x``, ``y``, dims ``(y, x, bias)``; refuses what has no 2D map."""
    if isinstance(grid, xr.DataArray) and "spectrum" in grid.dims:
        raise GridError(
            f"{_describe(grid)} is a collection of spectra (dims {tuple(grid.dims)}): a line, "
            "point set or series has no 2D conductance map to Fourier-transform; "
            "fourier_maps needs a grid with dims ('y', 'x', 'bias')"
        )
    if isinstance(grid, xr.DataArray) and sorted(grid.dims) == sorted(GRID_DIMS):
        grid = grid.transpose(*GRID_DIMS)
    grid = validate_grid(grid)
    for axis in ("y", "x"):
        if grid.sizes[axis] < 2:
            raise GridError(
                f"{_describe(grid)} has {grid.sizes[axis]} pixel(s) along {axis}: a line grid has "
                "no 2D map to Fourier-transform (use a grid of at least 2 x 2 pixels)"
            )
        if axis not in grid.coords:
            raise GridError(f"{_describe(grid)} has no {axis!r} coordinate (pixel centres in nm)")
    descending = [a for a in ("y", "x") if np.any(np.diff(np.asarray(grid[a].values, float)) < 0)]
    if descending:
        grid = grid.sortby(descending)
    for axis in ("y", "x"):
        coord = np.asarray(grid[axis].values, dtype=float)
        steps = np.diff(coord)
        if not np.all(np.isfinite(steps)) or steps.min() <= 0:
            raise GridError(f"{_describe(grid)} has repeated or non-finite {axis} coordinates")
        if steps.max() - steps.min() > 1e-3 * steps.mean():
            raise GridError(
                f"{_describe(grid)} has {axis} coordinates that are not evenly spaced (steps "
                f"{steps.min():.4g} ... {steps.max():.4g} nm): Fourier maps need a regular grid; "
                f"interpolate it first, e.g. grid.interp({axis}=numpy.linspace(...))"
            )
    return grid


def _select_bias(grid: xr.DataArray, bias) -> xr.DataArray:
    if bias is None:
        return grid
    if isinstance(bias, slice):
        chosen = grid.sel(bias=bias)
    else:
        chosen = grid.sel(bias=np.atleast_1d(np.asarray(bias, dtype=float)), method="nearest")
    if chosen.sizes["bias"] == 0:
        raise ValueError(
            f"bias={bias!r} selects no bias of {_describe(grid)} "
            f"({float(grid.bias[0]):g} ... {float(grid.bias[-1]):g} mV)"
        )
    return chosen


def _window(window, n: int) -> np.ndarray:
    from scipy.signal import windows

    name, alpha = (window, 0.5) if isinstance(window, str) else tuple(window)
    if name == "hann":
        return windows.hann(n, sym=True)
    if name == "tukey":
        return windows.tukey(n, alpha=float(alpha), sym=True)
    return np.ones(n)


def _check_window(window) -> None:
    try:
        name = window if isinstance(window, str) else (window[0] if len(window) == 2 else None)
    except TypeError:  # neither a name nor a (name, alpha) pair
        name = None
    if name not in _WINDOWS or (name != "tukey" and not isinstance(window, str)):
        raise ValueError(f"window={window!r}: expected 'hann', 'tukey', ('tukey', alpha) or 'none'")


def _padded_shape(pad, ny: int, nx: int) -> tuple[int, int]:
    if pad is None:
        return ny, nx
    size = (int(pad), int(pad)) if np.ndim(pad) == 0 else tuple(int(p) for p in pad)
    if len(size) != 2 or size[0] < ny or size[1] < nx:
        raise ValueError(
            f"pad={pad!r}: the padded size (ny, nx) must be at least the map's ({ny}, {nx})"
        )
    return size


def _remove_background(values, finite, x, y, subtract_mean):
    """Fill invalid pixels and remove the per-map mean or plane; ``values`` ``(n_bias, ny, nx)``."""
    counts = finite.sum(axis=(1, 2))
    sums = np.where(finite, values, 0.0).sum(axis=(1, 2))
    mean = np.divide(sums, counts, out=np.full(counts.shape, np.nan), where=counts > 0)
    if not subtract_mean:
        return np.where(finite, values, mean[:, None, None])
    centred = np.where(finite, values - mean[:, None, None], 0.0)
    if subtract_mean == "plane":  # least squares a + b x + c y on each map's finite pixels
        xx, yy = np.meshgrid(x - x.mean(), y - y.mean())
        basis = np.stack([np.ones(xx.size), xx.ravel(), yy.ravel()], axis=-1)  # (n_pixels, 3)
        mask = finite.reshape(len(values), -1).astype(float)
        normal = np.einsum("bp,pi,pj->bij", mask, basis, basis)
        rhs = np.einsum("bp,pi->bi", centred.reshape(len(values), -1), basis)
        coeffs = np.einsum("bij,bj->bi", np.linalg.pinv(normal), rhs)
        plane = (coeffs @ basis.T).reshape(values.shape)
        centred = np.where(finite, centred - plane, 0.0)
    centred[counts == 0] = np.nan  # a map with no valid pixel stays NaN
    return centred


def _transform(values, x, y, subtract_mean, window_2d, size):
    """Transform ``F / sqrt(N)`` (not yet shifted) of maps ``(n, ny, nx)``, invalid-pixel counts."""
    from scipy import fft

    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    prepared = _remove_background(values, finite, x, y, subtract_mean)
    prepared *= window_2d[None]
    transform = fft.fft2(prepared, s=size, axes=(1, 2), workers=-1)  # zeros appended: padding
    n_pixels = window_2d.size
    transform /= np.sqrt(n_pixels)
    return transform, (~finite).sum(axis=(1, 2))


def _q_axis(n: int, step_nm: float) -> np.ndarray:
    return 2 * np.pi * np.fft.fftshift(np.fft.fftfreq(n, d=step_nm))


def _symmetrize(power: np.ndarray, qy, qx, group) -> np.ndarray:
    """Average ``power`` ``(n_bias, ny, nx)`` over the point group, interpolating bilinearly."""
    qxx, qyy = np.meshgrid(qx, qy)
    points = np.stack([qxx.ravel(), qyy.ravel()])
    total, count = None, np.zeros(points.shape[1])
    for op in group:
        moved = op @ points
        weights, inside = _q_geometry.bilinear_matrix(qy, qx, moved[1], moved[0])
        total = weights if total is None else total + weights
        count += inside
    flat = power.reshape(power.shape[0], -1)
    averaged = (total @ flat.T).T / count[None, :]
    return averaged.reshape(power.shape)


def fourier_maps(
    grid: xr.DataArray,
    *,
    bias=None,
    subtract_mean: bool | str = True,
    window="hann",
    pad=None,
    symmetrize=None,
    axes=None,
    output: str = "power",
) -> xr.DataArray:
    """Fourier transform of the conductance map at every bias (QPI maps).

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
        A grid on a regular x/y raster (x, y in nm, evenly spaced; the two steps may differ).
        A line grid (one pixel wide) or a collection of spectra is refused with a
        :class:`~stswidgets.grid.GridError`.
    bias : None, float, sequence of float or slice
        Which maps: None all; a value or values in mV (nearest bias each); a ``slice`` of mV.
    subtract_mean : bool or "plane"
        True subtracts each map's mean (removes the huge ``q = 0`` peak); ``"plane"`` also a
        fitted plane (a slope from drift or tip height gives streaks along the q axes);
        False keeps the map as it is.
    window : "hann", "tukey", ("tukey", alpha) or "none"
        Apodisation, the outer product of two 1D windows; ``"tukey"`` uses ``alpha = 0.5``
        (flat over the central half). Windows reduce the leakage of the map's edges into
        streaks; "none" keeps the sharpest peaks.
    pad : None, int or (int, int)
        Zero-pad each prepared map to this size ``(ny, nx)`` (drift-free: after mean
        subtraction and windowing, see the module text). Padding samples the transform on a
        finer q grid; it does not add resolution.
    symmetrize : None, "mirror", n or a pair like ("mirror", 4)
        Average the power over a point group: ``n`` in (2, 3, 4, 6) the n-fold rotations
        about ``q = 0``, ``"mirror"`` the reflections across ``axes``; both together the
        dihedral group they generate. Each element resamples the map on the q grid by bilinear
        interpolation (a sparse matrix, all biases at once; what
        ``scipy.ndimage.map_coordinates(order=1)`` computes); a q pixel whose image falls
        outside the grid averages the elements that stay inside. Needs ``output="power"``.
    axes : None, "x", "y", "both", float or sequence
        Mirror axes, as angles from the +qx axis in degrees (``"x"`` = 0: ``qy -> -qy``;
        ``"y"`` = 90: ``qx -> -qx``); None means ``"both"``. Real-space lattice directions are
        the same angles in q space. Mirrors at angles that differ by other than a multiple of
        180 / n deg generate no finite group and are refused.
    output : "power" or "complex"
        ``|F|^2 / N`` (real, ``units`` the square of the grid's) or ``F / sqrt(N)`` (complex,
        phase relative to the first pixel; cannot be symmetrised).

    Returns
    -------
    xarray.DataArray, dims ``("bias", "qy", "qx")``
        Coordinates ``bias`` (mV), ``qx``, ``qy`` (1/nm, ascending, ``q = 0`` at index
        ``n // 2``), ``filled_pixels`` along bias (invalid pixels filled with the map mean);
        attrs ``q_convention``, ``units``, ``window``, ``subtract_mean``, ``pad``,
        ``symmetrize``, ``pixel_nm`` (y, x) and the grid's ``source`` and ``channel``.

    Examples
    --------
    >>> from stswidgets.datasets import random_grid
    >>> fmaps = fourier_maps(random_grid(3, shape=(32, 32), n_bias=32)["didv"], bias=0.0)
    >>> fmaps.dims, fmaps.attrs["q_convention"]
    (('bias', 'qy', 'qx'), 'q = 2 pi / lambda')
    """
    if output not in ("power", "complex"):
        raise ValueError(f"output={output!r}: expected 'power' or 'complex'")
    if subtract_mean not in (True, False, "plane"):
        raise ValueError(f"subtract_mean={subtract_mean!r}: expected True, False or 'plane'")
    _check_window(window)
    order, mirror = _q_geometry.parse_symmetrize(symmetrize, axes)
    if (order or mirror) and output != "power":
        raise ValueError(
            "symmetrize averages the power over rotated / mirrored copies; the phases of "
            "output='complex' would cancel: use output='power'"
        )
    group = _q_geometry.symmetry_group(order, mirror, axes) if (order or mirror) else None
    grid = _select_bias(_map_grid(grid), bias)
    ny, nx = grid.sizes["y"], grid.sizes["x"]
    size = _padded_shape(pad, ny, nx)
    x, y = (np.asarray(grid[a].values, dtype=float) for a in ("x", "y"))
    step_x, step_y = (x[-1] - x[0]) / (nx - 1), (y[-1] - y[0]) / (ny - 1)

    values = grid.transpose("bias", "y", "x").values
    qy, qx = _q_axis(size[0], step_y), _q_axis(size[1], step_x)
    window_2d = np.outer(_window(window, ny), _window(window, nx))
    result = np.empty((values.shape[0], *size), dtype=float if output == "power" else complex)
    filled = np.empty(values.shape[0], dtype=int)
    # blocks of maps: the complex transform of a block, not of the whole grid, is held at once
    block = max(1, _BLOCK_VALUES // (size[0] * size[1]))
    for start in range(0, values.shape[0], block):
        maps = slice(start, start + block)
        transform, filled[maps] = _transform(values[maps], x, y, subtract_mean, window_2d, size)
        if output == "power":
            transform = transform.real**2 + transform.imag**2
        result[maps] = np.fft.fftshift(transform, axes=(1, 2))
    if group is not None:
        result = _symmetrize(result, qy, qx, group)
    grid_units = grid.attrs.get("units", "a.u.")
    return xr.DataArray(
        result,
        dims=FOURIER_DIMS,
        coords={
            "bias": grid["bias"].variable,
            "qy": ("qy", qy, {"units": "1/nm", "long_name": "wavevector q_y (2 pi / lambda)"}),
            "qx": ("qx", qx, {"units": "1/nm", "long_name": "wavevector q_x (2 pi / lambda)"}),
            "filled_pixels": (
                "bias",
                filled,
                {"units": "1", "long_name": "invalid pixels filled with the map mean"},
            ),
        },
        name="fourier_power" if output == "power" else "fourier_transform",
        attrs={
            "long_name": "Fourier power" if output == "power" else "Fourier transform",
            "units": f"({grid_units})^2" if output == "power" else grid_units,
            "q_convention": Q_CONVENTION,
            "window": window if isinstance(window, str) else f"tukey(alpha={window[1]})",
            "subtract_mean": str(subtract_mean),
            "pad": f"{size[0]} x {size[1]}",
            "symmetrize": _q_geometry.describe_group(order, mirror, axes),
            "pixel_nm": [float(step_y), float(step_x)],
            "source": grid.attrs.get("source", ""),
            "channel": grid.attrs.get("channel", ""),
        },
    )
