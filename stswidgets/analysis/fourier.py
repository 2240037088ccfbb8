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
from stswidgets.grid import GRID_DIMS, GridError, validate_grid

__all__ = ["fourier_maps", "q_cut", "radial_average"]

Q_CONVENTION = "q = 2 pi / lambda"
FOURIER_DIMS = ("bias", "qy", "qx")
_WINDOWS = ("hann", "tukey", "none")


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
    grid = grid.sortby(["y", "x"])
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
    name = window if isinstance(window, str) else (window[0] if len(window) == 2 else None)
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
    return centred


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

    from scipy import fft

    values = np.asarray(grid.transpose("bias", "y", "x").values, dtype=float)
    finite = np.isfinite(values)
    prepared = _remove_background(values, finite, x, y, subtract_mean)
    prepared *= np.outer(_window(window, ny), _window(window, nx))[None]
    transform = fft.fft2(prepared, s=size, axes=(1, 2), workers=-1)  # zeros appended: padding
    transform = fft.fftshift(transform, axes=(1, 2)) / np.sqrt(ny * nx)
    qy, qx = _q_axis(size[0], step_y), _q_axis(size[1], step_x)
    if output == "power":
        result = transform.real**2 + transform.imag**2
        if group is not None:
            result = _symmetrize(result, qy, qx, group)
    else:
        result = transform
    grid_units = grid.attrs.get("units", "a.u.")
    return xr.DataArray(
        result,
        dims=FOURIER_DIMS,
        coords={
            "bias": grid["bias"].variable,
            "qy": ("qy", qy, {"units": "1/nm", "long_name": "wavevector q_y (2 pi / lambda)"}),
            "qx": ("qx", qx, {"units": "1/nm", "long_name": "wavevector q_x (2 pi / lambda)"}),
            "filled_pixels": ("bias", (~finite).sum(axis=(1, 2)), {"units": "1"}),
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


def _check_fmaps(fmaps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(power (n_bias, ny, nx), qy, qx)`` of Fourier maps; complex maps give ``|F|^2``."""
    if not isinstance(fmaps, xr.DataArray) or sorted(fmaps.dims) != sorted(FOURIER_DIMS):
        dims = tuple(fmaps.dims) if hasattr(fmaps, "dims") else type(fmaps).__name__
        raise ValueError(
            f"expected Fourier maps with dims {FOURIER_DIMS} (fourier_maps), got {dims}"
        )
    fmaps = fmaps.transpose(*FOURIER_DIMS)
    values = np.asarray(fmaps.values)
    power = values.real**2 + values.imag**2 if np.iscomplexobj(values) else values.astype(float)
    return power, np.asarray(fmaps.qy.values, float), np.asarray(fmaps.qx.values, float)


def _q_inside(qy, qx) -> float:
    """The largest ``|q|`` whose circle lies inside the q grid."""
    return float(min(qx.max(), -qx.min(), qy.max(), -qy.min()))


def _carry_coords(fmaps: xr.DataArray, values, second: tuple, attrs: dict) -> xr.DataArray:
    coords = {"bias": fmaps["bias"].variable, second[0]: second[1]}
    for name, coord in fmaps.coords.items():
        if coord.dims == ("bias",) and name != "bias":
            coords[name] = coord.variable
    units = fmaps.attrs.get("units", "")
    if np.iscomplexobj(fmaps.values):
        units = f"({units})^2"
    keep = {k: fmaps.attrs[k] for k in ("q_convention", "source", "channel") if k in fmaps.attrs}
    return xr.DataArray(
        values, dims=("bias", second[0]), coords=coords, attrs={**keep, "units": units, **attrs}
    )


def radial_average(
    fmaps: xr.DataArray, *, n_q: int | None = None, q_max: float | None = None, angle_range=None
) -> xr.DataArray:
    """Mean Fourier power in annuli of equal ``|q|``: the ring of a Friedel oscillation as a peak.

    Parameters
    ----------
    fmaps : xarray.DataArray, dims ``("bias", "qy", "qx")``
        Output of :func:`fourier_maps` (complex maps are averaged as ``|F|^2``).
    n_q : int or None
        Number of annuli from 0 to ``q_max``; None: one per q step (the coarser of qx, qy).
    q_max : float or None
        Outer edge in 1/nm; None: the largest circle inside the q grid.
    angle_range : None or (float, float)
        Only the sector between these angles (degrees from +qx towards +qy, wrapping at 360).
        The power of a real map is even, ``P(q) = P(-q)``: the opposite sector is the same.

    Returns
    -------
    xarray.DataArray, dims ``("bias", "q")``
        Mean power per annulus (NaN where an annulus holds no q pixel); ``q`` the annulus
        centres in 1/nm, with the coordinate ``n_pixels`` (q pixels averaged, dims ``q``).
    """
    power, qy, qx = _check_fmaps(fmaps)
    q_max = _q_inside(qy, qx) if q_max is None else float(q_max)
    step = max(qx[1] - qx[0], qy[1] - qy[0])
    n_q = max(1, int(round(q_max / step))) if n_q is None else int(n_q)
    if n_q < 1 or not q_max > 0:
        raise ValueError(f"radial_average needs n_q >= 1 and q_max > 0, got {n_q}, {q_max}")
    qxx, qyy = np.meshgrid(qx, qy)
    q = np.hypot(qxx, qyy).ravel()
    width = q_max / n_q
    ring = np.floor(q / width).astype(int)
    keep = q <= q_max
    if angle_range is not None:
        lo, hi = (float(a) for a in angle_range)
        angle = np.degrees(np.arctan2(qyy, qxx)).ravel()
        keep &= ((angle - lo) % 360 <= (hi - lo) % 360) | (q == 0)
    ring = np.minimum(ring, n_q - 1)[keep]
    from scipy import sparse

    members = sparse.csr_matrix(
        (np.ones(ring.size), (np.flatnonzero(keep), ring)), shape=(q.size, n_q)
    )
    counts = np.bincount(ring, minlength=n_q)
    sums = members.T @ power.reshape(power.shape[0], -1).T  # (n_q, n_bias)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums / counts[:, None]).T
    centres = (np.arange(n_q) + 0.5) * width
    q_coord = xr.Variable("q", centres, {"units": "1/nm", "long_name": "|q| (2 pi / lambda)"})
    out = _carry_coords(
        fmaps,
        mean,
        ("q", q_coord),
        {"long_name": "radially averaged Fourier power"}
        | ({"angle_range_deg": [lo, hi]} if angle_range is not None else {}),
    )
    return out.assign_coords(n_pixels=("q", counts, {"units": "1"}))


def q_cut(
    fmaps: xr.DataArray, angle_deg: float, *, n_q: int | None = None, q_max: float | None = None
) -> xr.DataArray:
    """Fourier power along a line through ``q = 0``: a dispersion image ``(bias, q_along)``.

    Parameters
    ----------
    fmaps : xarray.DataArray, dims ``("bias", "qy", "qx")``
        Output of :func:`fourier_maps` (complex maps are cut as ``|F|^2``).
    angle_deg : float
        Direction of the line, degrees from +qx towards +qy (0: along qx, 90: along qy).
    n_q : int or None
        Points along the line from ``-q_max`` to ``q_max``; None: one per the finer q step
        (an odd number, so ``q = 0`` is on it).
    q_max : float or None
        Half-length in 1/nm; None: as far as the line stays inside the q grid.

    Returns
    -------
    xarray.DataArray, dims ``("bias", "q_along")``
        Power interpolated bilinearly on the line; ``q_along`` signed, in 1/nm (positive
        towards ``angle_deg``); attr ``angle_deg``.
    """
    power, qy, qx = _check_fmaps(fmaps)
    c, s = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    reach = [
        bound / abs(t)
        for bound, t in ((min(qx.max(), -qx.min()), c), (min(qy.max(), -qy.min()), s))
        if abs(t) > 1e-12
    ]
    q_max = min(reach) if q_max is None else float(q_max)
    step = min(qx[1] - qx[0], qy[1] - qy[0])
    n_q = 2 * int(round(q_max / step)) + 1 if n_q is None else int(n_q)
    if n_q < 2 or not q_max > 0:
        raise ValueError(f"q_cut needs n_q >= 2 and q_max > 0, got {n_q}, {q_max}")
    along = np.linspace(-q_max, q_max, n_q)
    weights, inside = _q_geometry.bilinear_matrix(qy, qx, along * s, along * c)
    values = (weights @ power.reshape(power.shape[0], -1).T).T
    values[:, ~inside] = np.nan
    q_coord = xr.Variable(
        "q_along",
        along,
        {"units": "1/nm", "long_name": f"q along {angle_deg:g} deg (2 pi / lambda)"},
    )
    return _carry_coords(
        fmaps,
        values,
        ("q_along", q_coord),
        {"long_name": "Fourier power along a q line", "angle_deg": float(angle_deg)},
    )
