"""Profiles of Fourier maps (:func:`~stswidgets.analysis.fourier.fourier_maps`): the radial
average over annuli of equal ``|q|``, a cut along a line through ``q = 0`` and the wavevector
of a ring. Public through :mod:`stswidgets.analysis.fourier`."""

from __future__ import annotations

import numpy as np
import xarray as xr

from stswidgets.analysis import _q_geometry
from stswidgets.analysis._q_geometry import FOURIER_DIMS


def _check_fmaps(fmaps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(power (n_bias, ny, nx), qy, qx)`` of Fourier maps; complex maps give ``|F|^2``."""
    if not isinstance(fmaps, xr.DataArray) or sorted(fmaps.dims) != sorted(FOURIER_DIMS):
        dims = tuple(fmaps.dims) if hasattr(fmaps, "dims") else type(fmaps).__name__
        raise ValueError(
            f"expected Fourier maps with dims {FOURIER_DIMS} (fourier_maps), got {dims}"
        )
    fmaps = fmaps.transpose(*FOURIER_DIMS)
    values = np.asarray(fmaps.values)
    power = (
        values.real**2 + values.imag**2
        if np.iscomplexobj(values)
        else values.astype(float, copy=False)
    )
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
    return out.assign_coords(
        n_pixels=("q", counts, {"units": "1", "long_name": "q pixels averaged in the annulus"})
    )


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


def _half_maximum_midpoint(q, profile, above) -> float:
    """Midpoint of the half-maximum crossings around the highest point of ``profile``."""
    usable = above & np.isfinite(profile)
    if usable.sum() < 3:
        return np.nan
    peak = int(np.flatnonzero(usable)[np.argmax(profile[usable])])
    half = 0.5 * (profile[peak] + np.median(profile[usable]))
    edges = []
    for step in (-1, 1):
        inner = peak
        while 0 <= inner + step < q.size and usable[inner + step] and profile[inner + step] > half:
            inner += step
        outer = inner + step
        if 0 <= outer < q.size and usable[outer]:
            t = (profile[inner] - half) / (profile[inner] - profile[outer])
            edges.append(q[inner] + t * (q[outer] - q[inner]))
        else:
            edges.append(q[inner])
    return 0.5 * (edges[0] + edges[1])


def ring_wavevector(radial: xr.DataArray, *, q_min: float = 0.0) -> xr.DataArray:
    """Wavevector of the strongest ring in a radial average: the midpoint at half maximum.

    The peak of a Friedel ring is lopsided: the 2D transform of ``cos(2 k_F r + phase)`` rises
    as ``1 / sqrt(q^2 - (2 k_F)^2)`` on one side of ``2 k_F`` or the other, by the phase, so
    its highest annulus can sit a q step or two off. The midpoint between the two half-maximum
    crossings (linearly interpolated; half of the height above the median of the profile) is
    centred on ``2 k_F`` whatever the phases.

    Parameters
    ----------
    radial : xarray.DataArray, dims ``("bias", "q")`` or ``("q",)``
        Output of :func:`radial_average` (or any profile on a ``q`` coordinate).
    q_min : float
        Ignore ``q < q_min`` (1/nm): the low-q power of the defects themselves.

    Returns
    -------
    xarray.DataArray
        ``q`` of the ring in 1/nm, one per bias (NaN where no profile is left).
    """
    if not isinstance(radial, xr.DataArray) or "q" not in radial.dims:
        raise ValueError("ring_wavevector needs a radial average with a 'q' dim (radial_average)")
    q = np.asarray(radial.q.values, float)
    rows = np.atleast_2d(radial.transpose(..., "q").values.reshape(-1, q.size))
    found = np.array([_half_maximum_midpoint(q, row, q >= q_min) for row in rows])
    dims = [d for d in radial.dims if d != "q"]
    coords = {d: radial[d].variable for d in dims if d in radial.coords}
    return xr.DataArray(
        found.reshape([radial.sizes[d] for d in dims]),
        dims=dims,
        coords=coords,
        name="ring_q",
        attrs={"units": "1/nm", "long_name": "ring wavevector |q| (2 pi / lambda)"},
    )
