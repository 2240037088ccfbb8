"""Grids from and to other tools: HyperSpy signals and xarray arrays of other readers.

- :func:`from_hyperspy`: a HyperSpy ``Signal1D`` (navigation axes y, x; signal axis the bias)
  as a reader ``Dataset`` that :func:`stswidgets.io.open_grid` reads;
- :func:`with_grid_dims`: a DataArray or Dataset with a bias-like dimension (``bias``, ``V``,
  ``voltage``, ``energy``, ``sample_bias``, ...) and one or two spatial dimensions, renamed and
  transposed to ``(y, x, bias)``;
- :func:`to_hyperspy`: a grid as a ``hyperspy.signals.Signal1D`` with calibrated axes.

HyperSpy is optional: it is imported only by :func:`to_hyperspy`; a signal is recognised
without importing it.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import xarray as xr

from stswidgets.grid import GRID_DIMS, validate_grid
from stswidgets.io.errors import FormatError

__all__ = ["BIAS_DIMS", "from_hyperspy", "is_hyperspy_signal", "to_hyperspy", "with_grid_dims"]

#: Dimension names taken as the bias axis (compared case-insensitively).
BIAS_DIMS = ("bias", "v", "voltage", "energy", "sample_bias", "bias_voltage", "e", "sample bias")
_BIAS_UNITS = {"V": "V", "mV": "mV", "eV": "V", "meV": "mV", "uV": "uV", "µV": "uV", "μV": "uV"}
_LENGTH_UNITS = {
    "m": "m",
    "mm": "mm",
    "um": "um",
    "µm": "um",
    "μm": "um",
    "nm": "nm",
    "pm": "pm",
    "Å": "Å",
    "A": "Å",
    "angstrom": "Å",
}
_METADATA_KEY = "stswidgets"  # where to_hyperspy keeps the grid's attrs


def is_hyperspy_signal(obj) -> bool:
    """Whether ``obj`` is a HyperSpy signal (checked without importing HyperSpy)."""
    return type(obj).__module__.startswith("hyperspy") and hasattr(obj, "axes_manager")


def _units(value, table: dict, what: str, label: str) -> str:
    text = str(value or "").strip()
    if text in table:
        return table[text]
    if text.lower() in table:
        return table[text.lower()]
    raise FormatError(
        f"{label}: {what} units {text or '(none)'!r} not understood; expected one of "
        f"{sorted(set(table))}"
    )


def from_hyperspy(signal, label: str = "the HyperSpy signal") -> xr.Dataset:
    """A HyperSpy ``Signal1D`` as a reader ``Dataset`` (one channel, dims ``(y, x, bias)``).

    Navigation axes are y (rows) and x (columns), a single navigation axis is a 1 x N line,
    none a single spectrum; the signal axis is the bias, in V or mV (eV/meV read as V/mV);
    navigation units m, um/µm, nm, pm or Å (none: pixel indices, marked by ``open_grid``).
    The channel is named after the signal's ``metadata.Signal.quantity`` (``"Current (A)"``
    -> ``Current``, with units ``A``), else ``didv``. A signal written by
    :func:`to_hyperspy` gets its grid's attrs back.

    Raises
    ------
    FormatError
        More than two navigation axes, not one signal axis, or units not understood.
    """
    manager = signal.axes_manager
    if len(manager.signal_axes) != 1:
        raise FormatError(f"{label} has {len(manager.signal_axes)} signal axes; a grid needs 1")
    navigation = list(manager.navigation_axes)  # HyperSpy's order: x first, then y
    if len(navigation) > 2:
        raise FormatError(
            f"{label} has {len(navigation)} navigation axes; a grid needs at most 2 (y, x)"
        )
    data = np.asarray(signal.data)
    data = data.reshape((1,) * (3 - data.ndim) + data.shape)
    bias_axis = manager.signal_axes[0]
    bias_units = _units(bias_axis.units, _BIAS_UNITS, "signal (bias) axis", label)
    coords = {"bias": ("bias", np.asarray(bias_axis.axis, dtype=float), {"units": bias_units})}
    for dim, axis in zip(("x", "y"), navigation, strict=False):
        units = str(axis.units or "").strip()
        if units in ("", "<undefined>"):  # no calibration: pixel indices, open_grid says so
            units = "pixel"
        else:
            units = _units(units, _LENGTH_UNITS, f"navigation axis {axis.name!r}", label)
        coords[dim] = (dim, np.asarray(axis.axis, dtype=float), {"units": units})
    for dim, size in (("y", data.shape[0]), ("x", data.shape[1])):
        coords.setdefault(dim, (dim, np.zeros(size), {"units": "nm"}))
    saved = _saved_attrs(signal)
    quantity = str(signal.metadata.get_item("Signal.quantity", "") or "")
    base, units = _split_quantity(quantity)
    name = str(saved.pop("name", "") or _variable_name(base))
    attrs = {"units": str(saved.get("units", units)), "channel": str(saved.get("channel", base))}
    if not attrs["channel"]:
        attrs["channel"] = name
    grid_attrs = {k: v for k, v in saved.items() if k not in ("units", "channel")}
    dataset = xr.Dataset({name: (GRID_DIMS, data, {**grid_attrs, **attrs})}, coords=coords)
    dataset.attrs["source"] = str(saved.get("source", ""))
    return dataset


def _saved_attrs(signal) -> dict:
    node = signal.original_metadata.get_item(_METADATA_KEY, None)
    return dict(node.as_dictionary()) if node is not None else {}


def _split_quantity(quantity: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*(.*?)\s*\(([^()]*)\)\s*", quantity)
    return (match[1], match[2]) if match else (quantity.strip(), "")


def _variable_name(base: str) -> str:
    return base if base else "didv"


def _bias_dim(dims, label: str) -> str:
    found = [dim for dim in dims if str(dim).strip().lower() in BIAS_DIMS]
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} ({', '.join(map(repr, found))})"
        raise FormatError(
            f"{label} has {what} bias dimension among {tuple(map(str, dims))}; name one of "
            f"{BIAS_DIMS} (case-insensitive)"
        )
    return found[0]


def with_grid_dims(obj: xr.DataArray | xr.Dataset, label: str = "the array") -> xr.Dataset:
    """A DataArray or Dataset of another reader as a ``Dataset`` with dims ``(y, x, bias)``.

    The bias-like dimension (one of :data:`BIAS_DIMS`, any case) becomes ``bias`` (its
    coordinate must have a ``units`` attr: V, mV, eV or meV, uV); the other
    dimensions are the positions: dims named ``y`` and ``x`` (any case) are taken as such,
    otherwise the first is y and the second x, one alone is a 1 x N line. Position
    coordinates keep their ``units`` (m, um, nm, ...); a dimension without a coordinate gets
    the pixel index, with a warning (the positions are then not in nm).

    Raises
    ------
    FormatError
        No or several bias-like dimensions, more than two other dimensions, a bias without
        units, or units not understood.
    """
    dataset = obj.to_dataset(name=obj.name or "didv") if isinstance(obj, xr.DataArray) else obj
    variables = [name for name, var in dataset.data_vars.items() if var.ndim >= 1]
    dims = list(dict.fromkeys(dim for name in variables for dim in dataset[name].dims))
    bias = _bias_dim(dims, label)
    spatial = [dim for dim in dims if dim != bias]
    if len(spatial) > 2:
        raise FormatError(
            f"{label} has {len(spatial)} dimensions besides the bias {bias!r} "
            f"({', '.join(map(repr, spatial))}); a grid has at most two (y, x)"
        )
    by_name = {str(dim).lower(): dim for dim in spatial}
    if set(by_name) >= {"y", "x"} or len(spatial) == 1 and set(by_name) & {"x", "y"}:
        order = [by_name.get("y"), by_name.get("x")]
    else:
        order = [None] * (2 - len(spatial)) + spatial
    renames = {bias: "bias"} | {dim: new for dim, new in zip(order, ("y", "x"), strict=True) if dim}
    dataset = dataset.rename({old: new for old, new in renames.items() if old != new})
    if "bias" not in dataset.coords or "units" not in dataset["bias"].attrs:
        raise FormatError(
            f"{label}: the bias dimension {bias!r} needs a coordinate with a 'units' attr "
            f"(one of {sorted(set(_BIAS_UNITS))}), so that its values are not misread"
        )
    dataset["bias"].attrs["units"] = _units(
        dataset["bias"].attrs["units"], _BIAS_UNITS, "bias", label
    )
    for dim in ("y", "x"):
        if dim not in dataset.dims:
            dataset = dataset.expand_dims(dim)
        if dim not in dataset.coords:
            dataset = dataset.assign_coords(
                {dim: (dim, np.arange(dataset.sizes[dim], dtype=float))}
            )
            if dataset.sizes[dim] > 1:
                warnings.warn(
                    f"{label}: no {dim} coordinate; the pixel index is used as the {dim} "
                    "position (not in nm)",
                    stacklevel=3,
                )
            dataset[dim].attrs["units"] = "nm"
        else:
            units = dataset[dim].attrs.get("units", "nm")
            dataset[dim].attrs["units"] = _units(units, _LENGTH_UNITS, f"{dim} position", label)
    keep = [name for name in dataset.data_vars if "bias" in dataset[name].dims]
    return dataset[keep].transpose(*GRID_DIMS, ...)


def to_hyperspy(grid: xr.DataArray):
    """A grid as a HyperSpy ``Signal1D`` with calibrated axes.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
        As :func:`stswidgets.io.open_grid` returns (x/y in nm, bias in mV).

    Returns
    -------
    hyperspy.signals.Signal1D
        Data ``(ny, nx, n_bias)``; navigation axes ``x`` and ``y`` (nm), signal axis ``bias``
        (mV; a non-uniform axis where the bias spacing is uneven);
        ``metadata.Signal.quantity`` is ``"<channel> (<units>)"``, ``metadata.General.title``
        the channel; the grid's attrs are kept in ``original_metadata.stswidgets``, so that
        ``open_grid(to_hyperspy(grid))`` gives the grid back.

    Raises
    ------
    ImportError
        HyperSpy is not installed (``pip install hyperspy``).
    """
    try:
        from hyperspy.signals import Signal1D
    except ImportError as error:
        raise ImportError(
            "stswidgets.to_hyperspy needs HyperSpy, which is not installed: "
            "pip install hyperspy (or install stswidgets[test])"
        ) from error
    validate_grid(grid)
    grid = grid.transpose(*GRID_DIMS)
    axes = [
        _axis(grid["y"].values, "y", str(grid["y"].attrs.get("units", "nm")), navigate=True),
        _axis(grid["x"].values, "x", str(grid["x"].attrs.get("units", "nm")), navigate=True),
        _axis(grid["bias"].values, "bias", str(grid["bias"].attrs.get("units", "mV"))),
    ]
    channel = str(grid.attrs.get("channel", grid.name or "didv"))
    units = str(grid.attrs.get("units", ""))
    saved = {str(key): _plain(value) for key, value in grid.attrs.items()}
    saved["name"] = str(grid.name or "didv")
    signal = Signal1D(
        np.asarray(grid.values),
        axes=axes,
        metadata={"General": {"title": channel}, "Signal": {"quantity": f"{channel} ({units})"}},
        original_metadata={_METADATA_KEY: saved},
    )
    return signal


def _axis(values: np.ndarray, name: str, units: str, navigate: bool = False) -> dict:
    values = np.asarray(values, dtype=float)
    axis = {"name": name, "units": units, "navigate": navigate, "size": values.size}
    steps = np.diff(values)
    if values.size == 1 or np.allclose(steps, steps[0], rtol=1e-9, atol=0):
        step = float(steps[0]) if values.size > 1 else 1.0
        return axis | {"offset": float(values[0]), "scale": step}
    return axis | {"axis": values}


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | str | bool) else str(value)
