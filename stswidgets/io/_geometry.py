"""Scan geometry of a reader's Dataset: raster order, x/y coordinates in nm and ``scan_*`` attrs.

Every reader returns its pixels in the order the file stores them, with the measured tip
positions (per-pixel ``X (m)``/``Y (m)`` variables, where the file records them) and the
nominal scan frame (centre, size, angle) from its header. :func:`scan_geometry` turns that into
the toolkit's layout, the same way for every vendor:

- **serpentine (boustrophedon) scans** are detected from the measured positions (the fast axis
  runs one way on even rows and the other way on odd rows) and brought back into raster order:
  every ``(y, x, ...)`` variable has its odd rows reversed along ``x``;
- **x/y** are straight-line fits of the measured positions against the pixel index along the
  grid axes (the nominal ``linspace`` layout where no positions are recorded), so they are
  unique and ascending (an axis scanned backwards is reversed, data with it);
- **attrs** ``scan_angle_deg``, ``scan_center_x_nm``, ``scan_center_y_nm``, ``scan_width_nm``,
  ``scan_height_nm`` (floats) and ``scan_pattern`` (``"raster"`` or ``"serpentine"``).
  ``scan_width_nm``/``scan_height_nm`` mean the same for every reader: the **scan frame**, the
  size the file records for it (Nanonis ``Grid settings``, the MATRIX note's width), else the
  number of pixels times the pixel pitch (the span of the pixel centres plus one pitch; NaN
  along an axis of one pixel, and where the file records no positions at all);

The angle turns the grid clockwise (Nanonis convention, checked against real files): a pixel at
``(u, v)`` along the grid axes, measured from the centre, sits at

    X = cx + u cos(a) + v sin(a),    Y = cy - u sin(a) + v cos(a).

The x/y coordinates are ``u``/``v`` in nm, plus the centre when the grid is not rotated (then
x/y are absolute positions); :func:`absolute_positions` maps them back for any grid.
Nanonis versions place pixels differently (from the corner in steps of ``width / nx``, or
``linspace(-width/2, width/2, nx)`` for lines), hence the fit of the measured positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

NM = 1e9  # nm per m
GEOMETRY_ATTRS = (
    "scan_angle_deg",
    "scan_center_x_nm",
    "scan_center_y_nm",
    "scan_width_nm",
    "scan_height_nm",
    "scan_pattern",
)
_MIN_PITCH_NM = 1e-5  # fitted pixel steps below this are no usable axis


@dataclass(frozen=True)
class ScanFrame:
    """The nominal scan frame a header records: centre and size in nm, angle in degrees."""

    center_x_nm: float
    center_y_nm: float
    width_nm: float
    height_nm: float
    angle_deg: float


def parse_settings(value) -> tuple[float, float, float, float, float] | None:
    """Nanonis ``Grid settings`` as ``(cx, cy, width, height, angle)`` in m, m, m, m, deg."""
    if value is None:
        return None
    try:
        numbers = [float(item) for item in str(value).split(";") if item.strip()]
    except ValueError:
        return None
    if len(numbers) != 5 or not np.all(np.isfinite(numbers)):
        return None
    return tuple(numbers)


def frame_from_settings(value) -> ScanFrame | None:
    """A :class:`ScanFrame` from Nanonis ``Grid settings`` (None when absent or unreadable)."""
    settings = parse_settings(value)
    if settings is None:
        return None
    return ScanFrame(*(number * NM for number in settings[:4]), settings[4])


def _rotation(angle_deg: float) -> tuple[float, float]:
    angle = np.deg2rad(angle_deg)
    return float(np.cos(angle)), float(np.sin(angle))


def _row_steps(x_nm: np.ndarray, y_nm: np.ndarray) -> np.ndarray:
    """Per row, the fitted position step (dX, dY) per column in nm; NaN for < 2 measured pixels."""
    steps = np.full((x_nm.shape[0], 2), np.nan)
    cols = np.arange(x_nm.shape[1], dtype=float)
    for row, (xs, ys) in enumerate(zip(x_nm, y_nm, strict=True)):
        finite = np.isfinite(xs) & np.isfinite(ys)
        if finite.sum() >= 2:
            steps[row] = [np.polyfit(cols[finite], values[finite], 1)[0] for values in (xs, ys)]
    return steps


def serpentine_rows(x_nm: np.ndarray, y_nm: np.ndarray) -> bool:
    """Whether measured positions ``(ny, nx)`` come from a serpentine scan.

    True when the fast-axis step of every row with two or more measured pixels points one way
    on even rows and the opposite way on odd rows (at least one row of each parity measured).
    """
    steps = _row_steps(x_nm, y_nm)
    length = np.hypot(steps[:, 0], steps[:, 1])
    known = np.flatnonzero(length >= _MIN_PITCH_NM)  # rows whose pixels moved (NaN: no)
    if known.size < 2:
        return False
    reference = steps[known[0]]
    forward = steps[known] @ reference > 0
    same_parity = (known % 2) == (known[0] % 2)
    return bool(np.all(forward == same_parity)) and not np.all(same_parity)


def _flip_rows(dataset: xr.Dataset, rows: np.ndarray) -> xr.Dataset:
    """Reverse along ``x`` the ``rows`` (bool per y) of every ``(y, x, ...)`` variable."""
    flipped = dataset.copy()
    for name, var in dataset.data_vars.items():
        if "y" in var.dims and "x" in var.dims:
            values = var.transpose("y", "x", ...).values.copy()
            values[rows] = values[rows, ::-1]
            flipped[name] = var.transpose("y", "x", ...).copy(data=values).transpose(*var.dims)
    return flipped


def _fit_axis(values: np.ndarray, along: int, fallback: np.ndarray) -> np.ndarray:
    """Pixel centres along axis ``along`` (1: columns, 0: rows) of ``values`` ``(ny, nx)``.

    A plane ``a + b col + c row`` fitted to the finite values (so missing pixels and a slight
    tilt of the grid do not bias the step), evaluated along the axis through the grid's middle;
    ``fallback`` when the axis has one pixel or the fitted step is below 1e-5 nm.
    """
    rows, cols = np.indices(values.shape, dtype=float)
    finite = np.isfinite(values)
    index = (rows, cols)[along][finite]
    if fallback.size < 2 or np.unique(index).size < 2:
        return fallback
    design = np.stack([np.ones(index.size), cols[finite], rows[finite]], axis=1)
    (intercept, col_step, row_step), *_ = np.linalg.lstsq(design, values[finite], rcond=None)
    step, other = (col_step, row_step) if along == 1 else (row_step, col_step)
    if not abs(step) >= _MIN_PITCH_NM:
        return fallback
    middle = (values.shape[1 - along] - 1) / 2  # the other axis's middle pixel
    return intercept + other * middle + step * np.arange(fallback.size)


def _nominal(size_nm: float, n: int) -> np.ndarray:
    """Pixel centres along one grid axis from the frame size, ``n`` pitches of ``size / n``
    (1 nm per pixel without one)."""
    if n == 1:
        return np.zeros(1)
    pitch = size_nm / n if np.isfinite(size_nm) and size_nm > 0 else 1.0
    return (np.arange(n) - (n - 1) / 2) * pitch


def frame_size(centres_nm: np.ndarray) -> float:
    """The frame's size along one axis from its pixel centres: pixels x pitch (the span of the
    centres plus one pitch); NaN for one pixel (no pitch)."""
    centres_nm = np.asarray(centres_nm, dtype=float)
    n = centres_nm.size
    return float(abs(centres_nm[-1] - centres_nm[0]) * n / (n - 1)) if n > 1 else np.nan


def _positions(dataset: xr.Dataset, x_var: str, y_var: str):
    if x_var not in dataset or y_var not in dataset:
        return None, None
    x_nm, y_nm = (
        np.asarray(dataset[name].transpose("y", "x").values, dtype=float) * NM
        for name in (x_var, y_var)
    )
    if not np.any(np.isfinite(x_nm) & np.isfinite(y_nm)):
        return None, None
    return x_nm, y_nm


def _estimated_frame(x_nm: np.ndarray, y_nm: np.ndarray) -> ScanFrame:
    """Centre (mean position) and angle (of the fast axis) of positions in raster order."""
    row_step = np.nanmean(_row_steps(x_nm, y_nm), axis=0)
    column_step = np.nanmean(_row_steps(x_nm.T, y_nm.T), axis=0)
    if np.all(np.isfinite(row_step)) and np.any(row_step != 0):
        angle = np.degrees(np.arctan2(-row_step[1], row_step[0]))
    elif np.all(np.isfinite(column_step)) and np.any(column_step != 0):
        angle = np.degrees(np.arctan2(column_step[0], column_step[1]))
    else:
        angle = 0.0
    return ScanFrame(float(np.nanmean(x_nm)), float(np.nanmean(y_nm)), np.nan, np.nan, angle)


def scan_geometry(
    dataset: xr.Dataset,
    frame: ScanFrame | None = None,
    x_var: str = "X (m)",
    y_var: str = "Y (m)",
) -> xr.Dataset:
    """A reader's Dataset in raster order with x/y in nm and the ``scan_*`` attrs.

    Parameters
    ----------
    dataset : xarray.Dataset
        Variables with dims ``y`` and ``x`` (any others after them) in the file's pixel order;
        ``x_var``/``y_var``, where present, are the measured positions ``(y, x)`` in m.
    frame : ScanFrame, optional
        The header's scan frame. Without one, centre and angle come from the measured positions
        (mean position; direction of the fast axis) and the size from the pixel span, or, with no
        positions either, x/y are pixel indices (1 nm per pixel).

    Returns
    -------
    xarray.Dataset
        Serpentine rows reversed into raster order, axes scanned backwards reversed, ``x``/``y``
        coordinates in nm (unique, ascending; see the module docstring for their frame) and
        ``attrs`` with :data:`GEOMETRY_ATTRS` added.
    """
    ny, nx = dataset.sizes["y"], dataset.sizes["x"]
    x_nm, y_nm = _positions(dataset, x_var, y_var)
    pattern = "raster"
    if x_nm is not None and serpentine_rows(x_nm, y_nm):
        pattern = "serpentine"
        dataset = _flip_rows(dataset, np.arange(ny) % 2 == 1)
        x_nm, y_nm = _positions(dataset, x_var, y_var)
    if frame is None and x_nm is not None:
        frame = _estimated_frame(x_nm, y_nm)
    elif frame is None:  # pixel indices
        frame = ScanFrame((nx - 1) / 2, (ny - 1) / 2, np.nan, np.nan, 0.0)
    u, v = _nominal(frame.width_nm, nx), _nominal(frame.height_nm, ny)
    if x_nm is not None:
        cos, sin = _rotation(frame.angle_deg)
        dx, dy = x_nm - frame.center_x_nm, y_nm - frame.center_y_nm
        u = _fit_axis(cos * dx - sin * dy, 1, u)
        v = _fit_axis(sin * dx + cos * dy, 0, v)
    if nx > 1 and u[-1] < u[0]:
        dataset, u = dataset.isel(x=slice(None, None, -1)), u[::-1]
    if ny > 1 and v[-1] < v[0]:
        dataset, v = dataset.isel(y=slice(None, None, -1)), v[::-1]
    width = frame.width_nm if np.isfinite(frame.width_nm) else frame_size(u)
    height = frame.height_nm if np.isfinite(frame.height_nm) else frame_size(v)
    rotated = frame.angle_deg != 0
    if not rotated:
        u, v = u + frame.center_x_nm, v + frame.center_y_nm
    where = "offset from the grid centre along the grid axis" if rotated else "position"
    dataset = dataset.assign_coords(
        y=("y", np.round(v, 6), {"units": "nm", "long_name": f"y {where}"}),
        x=("x", np.round(u, 6), {"units": "nm", "long_name": f"x {where}"}),
    )
    numbers = (frame.angle_deg, frame.center_x_nm, frame.center_y_nm, width, height)
    for key, value in zip(GEOMETRY_ATTRS[:5], numbers, strict=True):
        dataset.attrs[key] = float(np.round(value, 9))
    dataset.attrs["scan_pattern"] = pattern
    return dataset


def scan_attrs(grid: xr.DataArray | xr.Dataset) -> dict:
    """The scan geometry attrs of a grid (netCDF-storable floats and a string).

    Those the grid carries (see :func:`scan_geometry`); any missing are derived from the x/y
    coordinates of a grid without recorded geometry (e.g. a simulated one): angle 0, centre
    the middle of x/y, width/height pixels x pitch (:func:`frame_size`), pattern ``"raster"``.
    """
    x, y = (np.asarray(grid[dim].values, dtype=float) for dim in ("x", "y"))
    derived = (0.0, (x[0] + x[-1]) / 2, (y[0] + y[-1]) / 2, frame_size(x), frame_size(y))
    attrs = {}
    for key, value in zip(GEOMETRY_ATTRS[:5], derived, strict=True):
        attrs[key] = float(grid.attrs.get(key, np.round(value, 9)))
    attrs["scan_pattern"] = str(grid.attrs.get("scan_pattern", "raster"))
    return attrs


def absolute_positions(grid: xr.DataArray | xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Absolute tip positions ``(X, Y)`` in nm, each ``(ny, nx)``, of a grid's pixels.

    Uses the x/y coordinates and ``scan_angle_deg``/``scan_center_*_nm`` attrs (an unrotated
    grid, or one without these attrs, has absolute x/y already).
    """
    u, v = np.meshgrid(grid["x"].values, grid["y"].values)
    angle = float(grid.attrs.get("scan_angle_deg", 0.0))
    if angle == 0:
        return u, v
    cos, sin = _rotation(angle)
    cx, cy = float(grid.attrs["scan_center_x_nm"]), float(grid.attrs["scan_center_y_nm"])
    return cx + u * cos + v * sin, cy - u * sin + v * cos


def settings_from_axes(
    x_nm: np.ndarray, y_nm: np.ndarray, previous: ScanFrame | None
) -> tuple[float, float, float, float, float]:
    """Nanonis ``Grid settings`` (m, m, m, m, deg) for x/y coordinates (``linspace`` layout).

    A rotated grid keeps the angle of ``previous`` and its x/y are taken as offsets from the
    previous centre along the grid axes; an unrotated grid's x/y are absolute positions.
    """
    x_nm, y_nm = np.asarray(x_nm, dtype=float), np.asarray(y_nm, dtype=float)
    angle = previous.angle_deg if previous is not None else 0.0
    mid_u, mid_v = (x_nm[0] + x_nm[-1]) / 2, (y_nm[0] + y_nm[-1]) / 2
    width, height = (np.nan_to_num(frame_size(axis)) for axis in (x_nm, y_nm))  # 0: a line
    if angle == 0:
        cx, cy = mid_u, mid_v
    else:
        cos, sin = _rotation(angle)
        cx = previous.center_x_nm + cos * mid_u + sin * mid_v
        cy = previous.center_y_nm - sin * mid_u + cos * mid_v
    return cx / NM, cy / NM, width / NM, height / NM, float(angle)
