"""Grid geometry of Nanonis grids: ``Grid settings`` <-> x/y pixel coordinates in nm.

``Grid settings`` holds ``centre x; centre y; width; height; angle`` in m, m, m, m, deg. The
angle turns the grid clockwise (checked against the per-pixel ``X (m)``/``Y (m)`` of real
files): a pixel at ``(u, v)`` along the grid axes, measured from the centre, sits at

    X = cx + u cos(a) + v sin(a),    Y = cy - u sin(a) + v cos(a).

Pixels run along x first (row 0 first) and ``v`` grows with the row index.

The x/y coordinates returned are ``u``/``v`` in nm, plus the centre when the grid is not
rotated (then x/y are the absolute positions). When the file records ``X (m)``/``Y (m)`` per
pixel, ``u``/``v`` are a straight-line fit of the measured positions against the pixel index,
because Nanonis versions place the pixels differently (from the corner in steps of
``width / nx``, or ``linspace(-width/2, width/2, nx)`` for lines); without them the
``linspace`` layout is used.
"""

from __future__ import annotations

import numpy as np

NM = 1e9  # nm per m


def parse_settings(value) -> tuple[float, float, float, float, float] | None:
    """``Grid settings`` as ``(cx, cy, width, height, angle)`` in m, m, m, m, deg, or None."""
    if value is None:
        return None
    try:
        numbers = [float(item) for item in str(value).split(";") if item.strip()]
    except ValueError:
        return None
    if len(numbers) != 5 or not np.all(np.isfinite(numbers)):
        return None
    return tuple(numbers)


def _rotation(angle_deg: float) -> tuple[float, float]:
    angle = np.deg2rad(angle_deg)
    return float(np.cos(angle)), float(np.sin(angle))


def _fit_axis(values: np.ndarray, index: np.ndarray, n: int, fallback: np.ndarray) -> np.ndarray:
    """Straight-line fit of ``values`` against the pixel ``index``; ``fallback`` if < 2 indices."""
    finite = np.isfinite(values)
    if n < 2 or np.unique(index[finite]).size < 2:
        return fallback
    slope, intercept = np.polyfit(index[finite], values[finite], 1)
    return intercept + slope * np.arange(n)


def pixel_axes(
    settings: tuple[float, ...] | None,
    nx: int,
    ny: int,
    x_m: np.ndarray | None = None,
    y_m: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """x and y coordinates in nm for an ``nx x ny`` grid.

    Parameters
    ----------
    settings : tuple or None
        From :func:`parse_settings`; None gives pixel indices (1 nm per pixel).
    x_m, y_m : numpy.ndarray, shape ``(ny, nx)``, optional
        Measured absolute positions in m (NaN where not measured).
    """
    if settings is None:
        return np.arange(nx, dtype=float), np.arange(ny, dtype=float)
    cx, cy, width, height = (value * NM for value in settings[:4])
    angle = settings[4]
    u = np.linspace(-width / 2, width / 2, nx) if nx > 1 else np.zeros(1)
    v = np.linspace(-height / 2, height / 2, ny) if ny > 1 else np.zeros(1)
    if x_m is not None and y_m is not None:
        cos, sin = _rotation(angle)
        dx = np.asarray(x_m, dtype=float) * NM - cx
        dy = np.asarray(y_m, dtype=float) * NM - cy
        rows, cols = np.indices((ny, nx))
        u = _fit_axis((cos * dx - sin * dy).ravel(), cols.ravel(), nx, u)
        v = _fit_axis((sin * dx + cos * dy).ravel(), rows.ravel(), ny, v)
    if angle == 0:
        u, v = u + cx, v + cy
    return np.round(u, 6), np.round(v, 6)


def settings_from_axes(
    x_nm: np.ndarray, y_nm: np.ndarray, previous: tuple[float, ...] | None
) -> tuple[float, float, float, float, float]:
    """Inverse of :func:`pixel_axes` (linspace layout): ``Grid settings`` for given coordinates.

    A rotated grid keeps the angle of ``previous`` and its x/y are taken as offsets from the
    previous centre along the grid axes; an unrotated grid's x/y are absolute positions.
    """
    x_nm, y_nm = np.asarray(x_nm, dtype=float), np.asarray(y_nm, dtype=float)
    angle = previous[4] if previous is not None else 0.0
    mid_u, mid_v = (x_nm[0] + x_nm[-1]) / 2, (y_nm[0] + y_nm[-1]) / 2
    width, height = abs(x_nm[-1] - x_nm[0]), abs(y_nm[-1] - y_nm[0])
    if angle == 0:
        cx, cy = mid_u, mid_v
    else:
        cos, sin = _rotation(angle)
        cx = previous[0] * NM + cos * mid_u + sin * mid_v
        cy = previous[1] * NM - sin * mid_u + cos * mid_v
    return cx / NM, cy / NM, width / NM, height / NM, float(angle)
