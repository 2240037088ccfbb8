"""A file or a Dataset as spectra on an ascending bias axis: shared by open_grid and the
channel tools.

A path is read by its content (:func:`read_path`): the ``.nc``/``.npz`` files below by their
netCDF/HDF5 or zip signature, instrument files by :func:`stswidgets.io.formats.detect_format`,
whatever their suffix. HyperSpy signals and DataArrays of other readers go through
:mod:`stswidgets.io.interop`.

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

from stswidgets.grid import GRID_DIMS, SPECTRA_DIMS
from stswidgets.io import _rules, formats, interop
from stswidgets.io.errors import FormatError

_BIAS_TO_MV = {"V": 1e3, "mV": 1.0, "uV": 1e-3, "µV": 1e-3}
_LENGTH_TO_NM = {
    "m": 1e9,
    "mm": 1e6,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "nm": 1.0,
    "pm": 1e-3,
    "Å": 0.1,
}


def read_path(path: str | Path, strict: bool = False) -> xr.Dataset:
    """The Dataset in the file at ``path``, recognised by its content (not its suffix).

    A netCDF/HDF5 file is read with :func:`xarray.load_dataset`, a zip (``.npz``) as the
    layout :func:`stswidgets.io.save_grid` writes, anything else by the reader
    :func:`stswidgets.io.formats.detect_format` finds (``strict`` as the readers take it).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    FormatError
        Unknown content (the message lists the supported formats) or a damaged file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    with open(path, "rb") as file:
        kind = formats.saved_grid_kind(file.read(formats.HEAD_BYTES))
    if kind == "netCDF":
        return _load_netcdf(path)
    if kind == "npz":
        return _load_npz(path)
    return formats.read_file(path, strict=strict)


def _damaged(path: Path, kind: str, error: Exception) -> FormatError:
    return FormatError(
        f"{path}: not a readable {kind} grid, the file is damaged or no grid "
        f"({type(error).__name__}: {error})"
    )


def _load_netcdf(path: Path) -> xr.Dataset:
    """A netCDF/HDF5 file, its variables' sizes checked against the file before loading."""
    try:
        with xr.open_dataset(path) as lazy:
            n_bytes = sum(int(var.size) * var.dtype.itemsize for var in lazy.variables.values())
            _rules.check_allocation(path, n_bytes, path.stat().st_size, "netCDF variables")
            return lazy.load()
    except FormatError:
        raise
    except Exception as error:  # netCDF4/h5py/scipy raise many kinds on damaged files
        raise _damaged(path, "netCDF", error) from None


def as_dataset(obj) -> tuple[xr.Dataset, str]:
    """The Dataset behind a path, Dataset, DataArray or HyperSpy signal, and its source path
    (``""`` if none); arrays whose dims are not ``(y, x, bias)`` go through
    :func:`stswidgets.io.interop.with_grid_dims`."""
    if interop.is_hyperspy_signal(obj):
        dataset = interop.from_hyperspy(obj)
        return dataset, dataset.attrs.get("source", "")
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None else "didv"
        dataset = obj.to_dataset(name=name)
    elif isinstance(obj, xr.Dataset):
        dataset = obj
    else:
        path = Path(obj)
        dataset = _with_grid_dims(read_path(path), str(path))
        return dataset, str(path)
    source = dataset.encoding.get("source", dataset.attrs.get("source", ""))
    if not source and isinstance(obj, xr.DataArray):
        source = obj.attrs.get("source", "")
    return _with_grid_dims(dataset, str(source) or "the array"), str(source)


def _with_grid_dims(dataset: xr.Dataset, label: str) -> xr.Dataset:
    """``dataset`` itself where a variable has dims ``(y, x, bias)`` or none is bias-like,
    spectra that are not on a grid as their :func:`spectra_view`, else renamed to
    ``(y, x, bias)`` (:func:`stswidgets.io.interop.with_grid_dims`)."""
    if any(set(var.dims) == set(GRID_DIMS) for var in dataset.data_vars.values()):
        return dataset
    if any(set(var.dims) == set(SPECTRA_DIMS) for var in dataset.data_vars.values()):
        return spectra_view(dataset, label)
    if any(str(dim).strip().lower() in interop.BIAS_DIMS for dim in dataset.dims):
        return interop.with_grid_dims(dataset, label)
    return dataset  # e.g. a Z sweep: Spectra says what is wrong


#: The attr marking a :func:`spectra_view`: the geometry of the spectra ("" if not recorded).
SPECTRA_VIEW = "spectra_view_geometry"
#: Coordinates along ``spectrum`` a view keeps (``x``/``y`` renamed, as the view's x/y are
#: the spectrum index).
SPECTRUM_COORDS = {"x": "spectrum_x", "y": "spectrum_y", "repetition": "repetition", "file": "file"}


def spectra_view(dataset: xr.Dataset, label: str = "the dataset") -> xr.Dataset:
    """Spectra that are not on a grid (variables with dims ``("spectrum", "bias")``) seen as
    a one-row grid ``(y=1, x=n_spectra, bias)``, so that the grid's channel choice runs on them
    unchanged.

    x/y of the view are the spectrum index (units ``"pixel"``); the positions along
    ``spectrum`` are kept as coordinates along ``x``: ``spectrum_x``, ``spectrum_y`` (their
    units as recorded), ``repetition`` and ``file`` where given. ``attrs[SPECTRA_VIEW]`` holds
    the recorded ``geometry`` (``""`` if none): :func:`stswidgets.io.open_grid` refuses such a
    view, :func:`stswidgets.io.open_spectra` turns it back into spectra.
    """
    names = [name for name, var in dataset.data_vars.items() if set(var.dims) == set(SPECTRA_DIMS)]
    view = dataset[names]
    drop = [
        name
        for name, coord in view.coords.items()
        if name != "bias" and (name not in SPECTRUM_COORDS or coord.dims != ("spectrum",))
    ]
    view = view.drop_vars(drop)
    view = view.rename({old: new for old, new in SPECTRUM_COORDS.items() if old in view.coords})
    if "bias" not in view.coords:
        raise FormatError(f"{label}: the spectra have no 'bias' coordinate (with units)")
    view = view.rename_dims({"spectrum": "x"}).expand_dims("y").transpose(*GRID_DIMS, ...)
    view = view.assign_coords(
        x=("x", np.arange(view.sizes["x"], dtype=float), {"units": "pixel"}),
        y=("y", np.zeros(1), {"units": "pixel"}),
    )
    view.attrs = {**dataset.attrs, SPECTRA_VIEW: str(dataset.attrs.get("geometry", ""))}
    return view


def _load_npz(path: Path) -> xr.Dataset:
    try:
        with np.load(path, allow_pickle=False) as npz:
            _check_npz_sizes(npz, path)
            arrays = {key: npz[key] for key in npz.files}
        return _npz_dataset(arrays, path)
    except FormatError:
        raise
    except Exception as error:  # zipfile, zlib, numpy and json errors on damaged files
        raise _damaged(path, ".npz", error) from None


def _check_npz_sizes(npz, path: Path) -> None:
    """Refuse members whose ``.npy`` headers declare more than the file can hold."""
    n_bytes = 0
    for name in npz.zip.namelist():
        with npz.zip.open(name) as member:
            version = np.lib.format.read_magic(member)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(member)
            n_bytes += int(np.prod(shape, dtype=object)) * dtype.itemsize
    _rules.check_allocation(path, n_bytes, path.stat().st_size, ".npz arrays")


def _npz_dataset(arrays: dict, path: Path) -> xr.Dataset:
    if "bias_mV" not in arrays:
        raise FormatError(f"{path}: .npz grid has no 'bias_mV' array (keys: {sorted(arrays)})")
    attrs = json.loads(str(arrays["attrs"])) if "attrs" in arrays else {}
    if not isinstance(attrs, dict):
        raise FormatError(f"{path}: .npz 'attrs' is no JSON object ({str(attrs)[:60]!r})")
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


PIXEL_UNITS = ("pixel", "pixels", "px", "index")


def axis_nm(dataset: xr.Dataset, dim: str, label: str = "the dataset") -> np.ndarray | None:
    """Coordinate ``dim`` in nm (from its ``units`` attr, nm if absent), None if there is none.

    A pixel index (units in :data:`PIXEL_UNITS`, a file that records no positions) is kept as
    it is, 1 nm per pixel (see :func:`stswidgets.grid.make_grid`).
    """
    if dim not in dataset.coords:
        return None
    units = str(dataset[dim].attrs.get("units", "nm"))
    if units.lower() in PIXEL_UNITS:
        scale = 1.0
    elif units in _LENGTH_TO_NM:
        scale = _LENGTH_TO_NM[units]
    else:
        raise FormatError(
            f"{label}: {dim} units {units!r} not understood; expected one of "
            f"{sorted(_LENGTH_TO_NM)} or a pixel index ({', '.join(PIXEL_UNITS)})"
        )
    return np.asarray(dataset[dim].values, dtype=float) * scale


def pixel_positions(dataset: xr.Dataset) -> bool:
    """Whether the Dataset's x/y are pixel indices rather than positions."""
    return any(
        str(dataset[dim].attrs.get("units", "")).lower() in PIXEL_UNITS
        for dim in ("x", "y")
        if dim in dataset.coords
    )


class Spectra:
    """The ``(y, x, bias)`` channels of a Dataset, on an ascending bias axis in mV.

    Points recorded twice at the same bias (e.g. MLS segments that each keep their boundary
    point, or a settling hold a reader kept) are averaged. A channel that is all zeros or all
    NaN (an empty slot, e.g. Createc's unused dI/dV channels) is no data: it is left out of
    :attr:`names` and listed in :attr:`empty`.

    Attributes
    ----------
    names : list of str
        The channel variables holding data, in Dataset order.
    empty : list of str
        The channel variables that are all zeros or all NaN.
    full : dict
        Full channel names (``"LockinX (V)"``, the ``channel`` attr) by variable name.
    bias_mV : numpy.ndarray, shape ``(n_bias,)``
    """

    def __init__(self, dataset: xr.Dataset, label: str):
        self.dataset, self.label = dataset, label
        names = [name for name, var in dataset.data_vars.items() if var.ndim == 3]
        if not names:
            raise FormatError(f"{label} holds no (y, x, bias) variable")
        self.empty = [name for name in names if _is_empty(dataset[name].values)]
        self.names = [name for name in names if name not in self.empty]
        if not self.names:
            raise FormatError(
                f"{label}: every channel is all zeros or NaN ({', '.join(map(repr, names))}); "
                "no spectra were recorded"
            )
        sweep_dims = {dim for name in names for dim in dataset[name].dims} - {"y", "x"}
        if sweep_dims != {"bias"}:
            raise FormatError(
                f"{label} sweeps {', '.join(sorted(map(str, sweep_dims)))}, not the bias; "
                "open_grid needs a bias sweep (read the file with stswidgets.io.read_3ds instead)"
            )
        self.full = _full_names(dataset, self.names)
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


def _full_names(dataset: xr.Dataset, names: list[str]) -> dict[str, str]:
    """Full channel names (the ``channel`` attr) by variable; where two variables share one
    (a reader naming forward and ``[bwd]`` alike), the variable names."""
    full = {name: str(dataset[name].attrs.get("channel", name)) for name in names}
    shared = {text for text in full.values() if list(full.values()).count(text) > 1}
    return {name: name if text in shared else text for name, text in full.items()}


def _is_empty(values: np.ndarray) -> bool:
    """Whether a channel ``(ny, nx, n_bias)`` holds no data: every value zero or NaN (checked
    row by row, so a channel with data is told after its first such row)."""
    return not any(np.any(np.nan_to_num(row, nan=0.0)) for row in values)
