"""From a file or a Dataset to a grid: :func:`open_grid`, and :func:`save_grid` to write one.

Files the toolkit writes with :func:`save_grid`:

- ``.npz`` (numpy ``savez``): ``didv`` float array ``(ny, nx, n_bias)``, ``bias_mV``
  ``(n_bias,)``, ``x_nm`` ``(nx,)``, ``y_nm`` ``(ny,)`` and ``attrs``, a JSON string with the
  grid's ``units``, ``channel`` and ``source``. Further ``(ny, nx, n_bias)`` arrays are read as
  more channels (pick them with ``channel=``).
- ``.nc`` (``to_netcdf``): a DataArray or Dataset holding a ``(y, x, bias)`` variable, bias
  with a ``units`` attr (``mV`` if absent).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import GRID_DIMS, make_grid, validate_grid
from stswidgets.io._header import split_unit
from stswidgets.io.errors import ChannelError, FormatError
from stswidgets.io.nanonis import read_3ds

__all__ = ["channel_rank", "open_grid", "save_grid"]

_BIAS_TO_MV = {"V": 1e3, "mV": 1.0, "uV": 1e-3, "µV": 1e-3}
_TAG = re.compile(r"\s*\[([^\]]*)\]")
_DIDV = re.compile(r"d\s*i\s*/?\s*d\s*v\b.*", re.IGNORECASE)
_LOCKIN = re.compile(r"lock-?in|demod|^LI[XYR]?\b|\bLI[XYR]\b", re.IGNORECASE)
_COMPONENTS = [  # lock-in output, best first: in-phase X, magnitude R, ..., quadrature Y, phase
    ("X", 0),
    ("R", 1),
    ("Y", 3),
]
_PHASE = re.compile(r"phi|phase|theta", re.IGNORECASE)


def _component_rank(base: str) -> int:
    for letter, rank in _COMPONENTS:
        pattern = rf"(lock-?in[-_ ]?{letter}\b|^LI{letter}\b|demod\s*\d*\s*{letter}\b|\b{letter}\b)"
        if re.search(pattern, base, re.IGNORECASE):
            return rank
    return 4 if _PHASE.search(base) else 2


def channel_rank(name: str) -> tuple[int, int, int] | None:
    """How good a dI/dV channel ``name`` is (lower is better), None when it is no dI/dV channel.

    ``(kind, component, direction)``: kind 0 for a ``didv``/``dI/dV`` channel, 1 for a
    lock-in output (``LIX 1 omega``, ``LockinX``, ``LI Demod 1 X``, ``7280DSP Lockin-X``);
    component X < R < other < Y < phase; direction: forward or ``[AVG]`` < a single sweep
    ``[00001]`` < ``[bwd]``.
    """
    base = split_unit(name)[0]
    tags = [tag.strip().lower() for tag in _TAG.findall(base)]
    base = _TAG.sub("", base).strip()
    direction = 2 if "bwd" in tags else 1 if any(tag.isdigit() for tag in tags) else 0
    if _DIDV.fullmatch(base):
        return 0, 0, direction
    if _LOCKIN.search(base):
        return 1, _component_rank(base), direction
    return None


def _current_rank(name: str) -> int | None:
    base = split_unit(name)[0]
    tags = [tag.strip().lower() for tag in _TAG.findall(base)]
    if not re.match(r"current\b", _TAG.sub("", base).strip(), re.IGNORECASE):
        return None
    return 2 if "bwd" in tags else 1 if any(tag.isdigit() for tag in tags) else 0


def _find_channel(names: list[str], full: dict[str, str], channel: str, source: str) -> str:
    listing = ", ".join(repr(name) for name in names)
    exact = [name for name in names if channel in (name, full[name])]
    if exact:
        return exact[0]
    lower = channel.lower()
    for candidates in (
        [name for name in names if lower in (name.lower(), full[name].lower())],
        [n for n in names if n.lower().startswith(lower) or full[n].lower().startswith(lower)],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise ChannelError(
                f"channel {channel!r} is ambiguous in {source}: it matches "
                f"{', '.join(map(repr, candidates))}; available channels: {listing}"
            )
    raise ChannelError(f"{source} has no channel {channel!r}; available channels: {listing}")


def _as_dataset(obj, source: str) -> xr.Dataset:
    if isinstance(obj, xr.DataArray):
        return obj.to_dataset(name=obj.name if obj.name is not None else "didv")
    if isinstance(obj, xr.Dataset):
        return obj
    path = Path(obj)
    suffix = path.suffix.lower()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if suffix == ".3ds":
        return read_3ds(path)
    if suffix == ".nc":
        return xr.load_dataset(path)
    if suffix == ".npz":
        return _load_npz(path)
    raise FormatError(
        f"{path}: unknown file type {suffix!r}; open_grid reads Nanonis .3ds and the .npz/.nc "
        "files written by stswidgets.io.save_grid"
    )


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


def _bias_mV(dataset: xr.Dataset, source: str) -> np.ndarray:
    units = str(dataset["bias"].attrs.get("units", "mV"))
    if units not in _BIAS_TO_MV:
        raise FormatError(
            f"{source}: bias units {units!r} not understood; expected one of {sorted(_BIAS_TO_MV)}"
        )
    return np.asarray(dataset["bias"].values, dtype=float) * _BIAS_TO_MV[units]


def _axis_nm(dataset: xr.Dataset, dim: str) -> np.ndarray | None:
    if dim not in dataset.coords:
        return None
    scale = {"m": 1e9, "um": 1e3, "µm": 1e3, "pm": 1e-3, "Å": 0.1}.get(
        str(dataset[dim].attrs.get("units", "nm")), 1.0
    )
    return np.asarray(dataset[dim].values, dtype=float) * scale


def open_grid(path_or_dataset, channel: str | None = None) -> xr.DataArray:
    """A ``(y, x, bias)`` grid of one channel, by default the dI/dV.

    Parameters
    ----------
    path_or_dataset : str, pathlib.Path, xarray.Dataset or xarray.DataArray
        A Nanonis ``.3ds`` file, an ``.npz``/``.nc`` file written by :func:`save_grid` (see the
        module docstring for their layout), or a Dataset such as :func:`read_3ds` returns.
    channel : str, optional
        A channel name (``"LockinX"`` or ``"LockinX (V)"``) or a unique case-insensitive prefix
        of one. By default the best dI/dV channel (see :func:`channel_rank`: a ``didv`` variable,
        else a lock-in output, X before Y, forward/averaged before single sweeps and ``[bwd]``);
        without any, the numerical derivative of ``Current`` along the bias (``np.gradient``,
        units A/V).

    Returns
    -------
    xarray.DataArray, dims ``("y", "x", "bias")``
        Values as measured (float32; a saturated lock-in, e.g. stuck at 10 V, is left as it is),
        bias in mV ascending (points recorded twice at the same bias are averaged), x/y in nm,
        attrs ``units``, ``channel`` and ``source`` (the file path). Unmeasured pixels are NaN.

    Raises
    ------
    ChannelError
        Unknown or ambiguous ``channel`` (the message lists the channels), or no dI/dV channel.
    FormatError
        A damaged file, or a sweep that is not the bias (e.g. Z spectroscopy, which
        :func:`read_3ds` reads but which is no grid of spectra against bias).
    """
    source = "" if isinstance(path_or_dataset, xr.Dataset | xr.DataArray) else str(path_or_dataset)
    dataset = _as_dataset(path_or_dataset, source)
    source = source or str(dataset.encoding.get("source", dataset.attrs.get("source", "")))
    label = source or "the dataset"
    spectra = [name for name, var in dataset.data_vars.items() if var.ndim == 3]
    if not spectra:
        raise FormatError(f"{label} holds no (y, x, bias) variable")
    sweep_dims = {dim for name in spectra for dim in dataset[name].dims} - {"y", "x"}
    if sweep_dims != {"bias"}:
        raise FormatError(
            f"{label} sweeps {', '.join(sorted(map(str, sweep_dims)))}, not the bias; open_grid "
            "needs a bias sweep (read the file with stswidgets.io.read_3ds instead)"
        )
    full = {name: str(dataset[name].attrs.get("channel", name)) for name in spectra}
    derivative = False
    if channel is not None:
        name = _find_channel(spectra, full, channel, label)
    else:
        ranked = sorted((rank, i) for i, n in enumerate(spectra) if (rank := channel_rank(n)))
        currents = sorted(
            (rank, i) for i, n in enumerate(spectra) if (rank := _current_rank(n)) is not None
        )
        if ranked:
            name = spectra[ranked[0][1]]
        elif currents:
            name, derivative = spectra[currents[0][1]], True
        elif len(spectra) == 1:
            name = spectra[0]
        else:
            raise ChannelError(
                f"{label} has no lock-in (dI/dV) or Current channel; choose one with channel=: "
                f"{', '.join(map(repr, spectra))}"
            )
    var = dataset[name].transpose(*GRID_DIMS)
    bias = _bias_mV(dataset, label)
    order = np.argsort(bias, kind="stable")
    bias = bias[order]
    values = np.asarray(var.values)[..., order]
    unique, first, counts = np.unique(bias, return_index=True, return_counts=True)
    if unique.size < bias.size:  # e.g. MLS segments that each keep their boundary point
        values = np.add.reduceat(values.astype(float), first, axis=-1) / counts
        bias = unique
    units = str(var.attrs.get("units", ""))
    if derivative:
        values = np.gradient(values.astype(float), bias / 1e3, axis=-1)
        units = f"{units or 'A'}/V"
    grid = make_grid(
        np.asarray(values, dtype=np.float32),
        bias,
        _axis_nm(dataset, "x"),
        _axis_nm(dataset, "y"),
        name="didv" if derivative or channel_rank(name) else str(name),
        units=units,
        channel=f"d({full[name]})/dV" if derivative else full[name],
        source=source or str(var.attrs.get("source", "")),
    )
    return grid


def save_grid(grid: xr.DataArray, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a grid as ``.npz`` or ``.nc`` (by the suffix), readable by :func:`open_grid`.

    Raises FileExistsError for an existing ``path`` unless ``overwrite=True``.
    """
    validate_grid(grid)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    suffix = path.suffix.lower()
    attrs = {key: str(grid.attrs.get(key, "")) for key in ("units", "channel", "source")}
    if suffix == ".npz":
        with open(path, "wb") as file:
            np.savez(
                file,
                didv=np.asarray(grid.values),
                bias_mV=np.asarray(grid["bias"].values, dtype=float),
                x_nm=np.asarray(grid["x"].values, dtype=float),
                y_nm=np.asarray(grid["y"].values, dtype=float),
                attrs=np.array(json.dumps(attrs)),
            )
    elif suffix == ".nc":
        grid.to_netcdf(path)
    else:
        raise ValueError(f"{path}: save_grid writes .npz or .nc, not {suffix!r}")
    return path
