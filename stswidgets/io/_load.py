"""A file or a Dataset as spectra on an ascending bias axis: shared by open_grid and the
channel tools.

Files the toolkit writes with :func:`stswidgets.io.save_grid`:

- ``.npz`` (numpy ``savez``): ``didv`` float array ``(ny, nx, n_bias)``, ``bias_mV``
  ``(n_bias,)``, ``x_nm`` ``(nx,)``, ``y_nm`` ``(ny,)`` and ``attrs``, a JSON string with the
  grid's attrs (``units``, ``channel``, ``source``, lock-in phase, scan geometry). Further
  ``(ny, nx, n_bias)`` arrays are read as more channels (pick them with ``channel=``).
- ``.nc`` (``to_netcdf``): a DataArray or Dataset holding a ``(y, x, bias)`` variable, bias
  with a ``units`` attr (``mV`` if absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import GRID_DIMS
from stswidgets.io.errors import FormatError
from stswidgets.io.nanonis import read_3ds

_BIAS_TO_MV = {"V": 1e3, "mV": 1.0, "uV": 1e-3, "µV": 1e-3}
_LENGTH_TO_NM = {"m": 1e9, "um": 1e3, "µm": 1e3, "nm": 1.0, "pm": 1e-3, "Å": 0.1}


def as_dataset(obj) -> tuple[xr.Dataset, str]:
    """The Dataset behind a path, Dataset or DataArray, and its source path (``""`` if none)."""
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None else "didv"
        dataset = obj.to_dataset(name=name)
    elif isinstance(obj, xr.Dataset):
        dataset = obj
    else:
        path = Path(obj)
        suffix = path.suffix.lower()
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if suffix == ".3ds":
            return read_3ds(path), str(path)
        if suffix == ".nc":
            return xr.load_dataset(path), str(path)
        if suffix == ".npz":
            return _load_npz(path), str(path)
        raise FormatError(
            f"{path}: unknown file type {suffix!r}; open_grid reads Nanonis .3ds and the .npz/.nc "
            "files written by stswidgets.io.save_grid"
        )
    source = dataset.encoding.get("source", dataset.attrs.get("source", ""))
    if not source and isinstance(obj, xr.DataArray):
        source = obj.attrs.get("source", "")
    return dataset, str(source)


def _load_npz(path: Path) -> xr.Dataset:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    if "bias_mV" not in arrays:
        raise FormatError(f"{path}: .npz grid has no 'bias_mV' array (keys: {sorted(arrays)})")
    attrs = json.loads(str(arrays["attrs"])) if "attrs" in arrays else {}
    bias = np.asarray(arrays["bias_mV"], dtype=float)
    data_vars = {
        key: (GRID_DIMS, value, dict(attrs))
        for key, value in arrays.items()
        if value.ndim == 3 and value.shape[-1] == bias.size
    }
    if not data_vars:
        raise FormatError(
            f"{path}: .npz grid has no (ny, nx, n_bias={bias.size}) array (keys: {sorted(arrays)})"
        )
    ny, nx = next(iter(data_vars.values()))[1].shape[:2]
    coords = {
        "bias": ("bias", bias, {"units": "mV"}),
        "x": ("x", arrays.get("x_nm", np.arange(nx, dtype=float)), {"units": "nm"}),
        "y": ("y", arrays.get("y_nm", np.arange(ny, dtype=float)), {"units": "nm"}),
    }
    return xr.Dataset(data_vars, coords=coords)


def axis_nm(dataset: xr.Dataset, dim: str) -> np.ndarray | None:
    """Coordinate ``dim`` in nm (from its ``units`` attr, nm if absent), None if there is none."""
    if dim not in dataset.coords:
        return None
    scale = _LENGTH_TO_NM.get(str(dataset[dim].attrs.get("units", "nm")), 1.0)
    return np.asarray(dataset[dim].values, dtype=float) * scale


class Spectra:
    """The ``(y, x, bias)`` channels of a Dataset, on an ascending bias axis in mV.

    Points recorded twice at the same bias (e.g. MLS segments that each keep their boundary
    point) are averaged.

    Attributes
    ----------
    names : list of str
        The channel variables, in Dataset order.
    full : dict
        Full channel names (``"LockinX (V)"``, the ``channel`` attr) by variable name.
    bias_mV : numpy.ndarray, shape ``(n_bias,)``
    """

    def __init__(self, dataset: xr.Dataset, label: str):
        self.dataset, self.label = dataset, label
        self.names = [name for name, var in dataset.data_vars.items() if var.ndim == 3]
        if not self.names:
            raise FormatError(f"{label} holds no (y, x, bias) variable")
        sweep_dims = {dim for name in self.names for dim in dataset[name].dims} - {"y", "x"}
        if sweep_dims != {"bias"}:
            raise FormatError(
                f"{label} sweeps {', '.join(sorted(map(str, sweep_dims)))}, not the bias; "
                "open_grid needs a bias sweep (read the file with stswidgets.io.read_3ds instead)"
            )
        self.full = {name: str(dataset[name].attrs.get("channel", name)) for name in self.names}
        units = str(dataset["bias"].attrs.get("units", "mV"))
        if units not in _BIAS_TO_MV:
            raise FormatError(
                f"{label}: bias units {units!r} not understood; expected one of "
                f"{sorted(_BIAS_TO_MV)}"
            )
        bias = np.asarray(dataset["bias"].values, dtype=float) * _BIAS_TO_MV[units]
        self._order = np.argsort(bias, kind="stable")
        self.bias_mV, self._first, self._counts = np.unique(
            bias[self._order], return_index=True, return_counts=True
        )

    def units(self, name: str) -> str:
        return str(self.dataset[name].attrs.get("units", ""))

    def values(self, name: str, pixels: np.ndarray | None = None) -> np.ndarray:
        """Channel ``name`` as float64 on :attr:`bias_mV`: ``(ny, nx, n_bias)``, or
        ``(n_pixels, n_bias)`` for the flat pixel indices ``pixels`` (row after row)."""
        values = self.dataset[name].transpose(*GRID_DIMS).values
        n = values.shape[-1]
        if pixels is not None:
            values = values.reshape(-1, n)[pixels]
        if np.array_equal(self._order, np.arange(n)):
            values = values.astype(float)
        elif np.array_equal(self._order, np.arange(n)[::-1]):  # a sweep from + to -
            values = values[..., ::-1].astype(float)
        else:
            values = values.astype(float)[..., self._order]
        if self.bias_mV.size < n:
            values = np.add.reduceat(values, self._first, axis=-1) / self._counts
        return values
