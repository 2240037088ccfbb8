"""Geometry on the regular q grid of :mod:`stswidgets.analysis.fourier`: bilinear
interpolation as a sparse matrix (so one matrix product resamples every bias at once) and the
finite point groups of the symmetrisation (mirrors and n-fold rotations).

Conventions: a point of the q plane is ``(qx, qy)`` in 1/nm; an angle is in degrees,
counter-clockwise from the +qx axis towards +qy. A mirror "about the axis at angle theta" is the
reflection across the line through q = 0 at that angle, so ``"x"`` (0 deg) maps
``(qx, qy) -> (qx, -qy)`` and ``"y"`` (90 deg) maps ``(qx, qy) -> (-qx, qy)``. Because the
Fourier transform commutes with rotations and reflections, an axis given in real space (a
lattice direction on the topograph) is the same axis in q space.
"""

from __future__ import annotations

import numpy as np

#: The q convention of every Fourier map (its ``q_convention`` attribute).
Q_CONVENTION = "q = 2 pi / lambda"
#: Dims of a Fourier map.
FOURIER_DIMS = ("bias", "qy", "qx")
#: Rotational orders that tile a lattice (crystallographic restriction).
ROTATION_ORDERS = (2, 3, 4, 6)
_MAX_GROUP = 24  # the largest crystallographic point group of the plane, D6, has 12 elements


def bilinear_matrix(qy_grid, qx_grid, qy_points, qx_points):
    """Sparse matrix that interpolates a map on a regular grid at arbitrary points.

    Parameters
    ----------
    qy_grid, qx_grid : numpy.ndarray, shapes ``(ny,)`` and ``(nx,)``
        Ascending, evenly spaced coordinates of the map's rows and columns (>= 2 each).
    qy_points, qx_points : numpy.ndarray, same shape ``(n_points,)``
        Where to interpolate.

    Returns
    -------
    weights : scipy.sparse.csr_matrix, shape ``(n_points, ny * nx)``
        ``weights @ map.ravel()`` is the bilinear interpolation (at most four non-zero weights per
        row, summing to 1); rows of points outside the grid are empty.
    inside : numpy.ndarray of bool, shape ``(n_points,)``
        Whether each point lies on the grid (within a millionth of a step of its border).
    """
    from scipy import sparse

    ny, nx = qy_grid.size, qx_grid.size
    u = (np.asarray(qy_points, float) - qy_grid[0]) / (qy_grid[1] - qy_grid[0])
    v = (np.asarray(qx_points, float) - qx_grid[0]) / (qx_grid[1] - qx_grid[0])
    tol = 1e-6
    inside = (u >= -tol) & (u <= ny - 1 + tol) & (v >= -tol) & (v <= nx - 1 + tol)
    u, v = u[inside], v[inside]
    row0 = np.clip(np.floor(u), 0, ny - 2).astype(int)
    col0 = np.clip(np.floor(v), 0, nx - 2).astype(int)
    t = np.clip(u - row0, 0.0, 1.0)
    s = np.clip(v - col0, 0.0, 1.0)
    rows = np.repeat(np.flatnonzero(inside), 4)
    cols = np.stack(
        [
            row0 * nx + col0,
            row0 * nx + col0 + 1,
            (row0 + 1) * nx + col0,
            (row0 + 1) * nx + col0 + 1,
        ],
        axis=-1,
    ).ravel()
    data = np.stack([(1 - t) * (1 - s), (1 - t) * s, t * (1 - s), t * s], axis=-1).ravel()
    weights = sparse.csr_matrix((data, (rows, cols)), shape=(inside.size, ny * nx))
    return weights, inside


def _rotation(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s], [s, c]])


def _mirror(axis_deg: float) -> np.ndarray:
    """Reflection across the line through the origin at ``axis_deg`` from the +qx axis."""
    c, s = np.cos(np.deg2rad(2 * axis_deg)), np.sin(np.deg2rad(2 * axis_deg))
    return np.array([[c, s], [s, -c]])


def _axis_angles(axes) -> list[float]:
    """Mirror axes in degrees from ``"x"``, ``"y"``, ``"both"``, a number or a sequence."""
    names = {"x": [0.0], "y": [90.0], "both": [0.0, 90.0], "xy": [0.0, 90.0]}
    if axes is None:
        return names["both"]
    if isinstance(axes, str):
        if axes.lower() not in names:
            raise ValueError(
                f"axes={axes!r}: expected 'x', 'y', 'both', an angle in degrees or a sequence"
            )
        return names[axes.lower()]
    if np.ndim(axes) == 0:
        angle = float(axes)
        if not np.isfinite(angle):
            raise ValueError(f"axes={axes!r}: a mirror axis angle must be a finite number")
        return [angle]
    return [a for item in axes for a in _axis_angles(item)]


def parse_symmetrize(symmetrize, axes) -> tuple[int | None, bool]:
    """``(rotation order or None, mirror?)`` from the ``symmetrize`` argument."""
    items = [] if symmetrize is None else symmetrize
    if isinstance(items, (str, int, np.integer)):
        items = [items]
    order, mirror = None, False
    for item in items:
        if isinstance(item, str) and item.lower() == "mirror":
            mirror = True
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if int(item) not in ROTATION_ORDERS:
                raise ValueError(
                    f"symmetrize={symmetrize!r}: an n-fold rotation needs n in {ROTATION_ORDERS}"
                )
            order = int(item)
        else:
            raise ValueError(
                f"symmetrize={symmetrize!r}: expected None, 'mirror', an order n in "
                f"{ROTATION_ORDERS}, or a pair such as ('mirror', 4)"
            )
    if axes is not None and not mirror:
        raise ValueError(f"axes={axes!r} names mirror axes: add 'mirror' to symmetrize")
    return order, mirror


def symmetry_group(order: int | None, mirror: bool, axes=None) -> list[np.ndarray]:
    """Every 2 x 2 matrix of the point group generated by the n-fold rotation and the mirrors.

    Averaging a map over all elements of a finite group makes it invariant under each of them
    (the average over a group is invariant under every element). Mirrors whose axes make an
    angle that is not a multiple of 180 / n degrees generate no finite group; they are refused.
    """
    generators = []
    if order is not None:
        generators.append(_rotation(2 * np.pi / order))
    if mirror:
        generators.extend(_mirror(a) for a in _axis_angles(axes))
    group = [np.eye(2)]
    frontier = list(group)
    while frontier:
        new = []
        for element in frontier:
            for gen in generators:
                product = gen @ element
                if not any(np.allclose(product, g, atol=1e-9) for g in group):
                    group.append(product)
                    new.append(product)
        if len(group) > _MAX_GROUP:
            raise ValueError(
                f"the mirror axes {_axis_angles(axes)} deg (with rotation order {order}) generate "
                "no finite symmetry group: choose axes that differ by a multiple of 180 / n deg"
            )
        frontier = new
    return group


def describe_group(order: int | None, mirror: bool, axes=None) -> str:
    """A short text for the ``symmetrize`` attribute, e.g. ``"4-fold, mirror about 0, 90 deg"``."""
    parts = []
    if order is not None:
        parts.append(f"{order}-fold")
    if mirror:
        parts.append("mirror about " + ", ".join(f"{a:g}" for a in _axis_angles(axes)) + " deg")
    return ", ".join(parts) if parts else "none"
