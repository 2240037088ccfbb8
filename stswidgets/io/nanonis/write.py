"""Writing Nanonis grid spectroscopy files (``.3ds``) from Datasets shaped like ``read_3ds``'s."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _geometry
from stswidgets.io.nanonis.header import format_header, split_unit
from stswidgets.io.nanonis.reader import (
    FIXED_PARAMETERS,
    SEGMENT_KEY,
    STRUCTURE_KEYS,
    _segment_table,
    mls_sweep,
)

__all__ = ["write_3ds"]

_SI = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "m": 1.0, "nm": 1e-9, "pm": 1e-12}


def _channel_names(dataset: xr.Dataset, names: list[str]) -> list[str]:
    """Full Nanonis channel names (``"Current (A)"``) of the channel variables."""
    full = []
    for name in names:
        attrs = dataset[name].attrs
        channel = str(attrs.get("channel", ""))
        if channel and split_unit(channel)[0] in (name, channel):
            full.append(channel)
        else:
            unit = str(attrs.get("units", ""))
            full.append(f"{name} ({unit})" if unit else str(name))
    return full


def _sweep_signal(dataset: xr.Dataset, sweep_dim: str) -> tuple[str, np.ndarray]:
    """``Sweep Signal`` and the sweep values in that signal's unit."""
    coord = dataset[sweep_dim]
    coord_unit = str(coord.attrs.get("units", ""))
    signal = str(dataset.attrs.get("Sweep Signal", ""))
    name, unit = split_unit(signal)
    if not signal or ("bias" if name.lower().startswith("bias") else name) != sweep_dim:
        if sweep_dim == "bias":
            signal, unit = "Bias (V)", "V"
        else:
            unit = coord_unit
            signal = f"{sweep_dim} ({unit})" if unit else str(sweep_dim)
    values = np.asarray(coord.values, dtype=float)
    if coord_unit in _SI and unit in _SI:
        values = values * (_SI[coord_unit] / _SI[unit])
    return signal, values


def _sweep_layout(dataset: xr.Dataset, sweep: np.ndarray, sweep_dim: str) -> dict:
    """``Filetype`` (and segment table) that reproduce ``sweep``."""
    n = sweep.size
    found = _segment_table(dataset.attrs)
    if str(dataset.attrs.get("Filetype", "")).upper() == "MLS" and found is not None:
        try:
            if np.allclose(mls_sweep(found[1], n), sweep, rtol=1e-9, atol=0):
                return {"Filetype": "MLS", SEGMENT_KEY: found[1]}
        except ValueError:
            pass
    span = max(np.ptp(sweep), np.abs(sweep).max(), 1e-30)
    if np.allclose(sweep, np.linspace(sweep[0], sweep[-1], n), rtol=0, atol=1e-9 * span):
        return {"Filetype": "Linear"}
    if sweep_dim != "bias":
        raise ValueError(
            f"the {sweep_dim} sweep is not evenly spaced; only bias sweeps can be written "
            "with a segment table (Filetype=MLS)"
        )
    pairs = zip(sweep[:-1].tolist(), sweep[1:].tolist(), strict=True)
    segments = [f"{a!r},{b!r},0E+0,0E+0,2,0E+0,0E+0" for a, b in pairs]
    return {"Filetype": "MLS", SEGMENT_KEY: ";".join(segments)}


def _grid_settings(dataset: xr.Dataset, nx: int, ny: int) -> str:
    attrs = dataset.attrs
    previous = _geometry.frame_from_settings(attrs.get("Grid settings"))
    if previous is not None and str(attrs.get("Grid dim", "")) == f"{nx} x {ny}":
        return str(attrs["Grid settings"])
    if previous is None and all(key in attrs for key in _geometry.GEOMETRY_ATTRS[:3]):
        previous = _geometry.ScanFrame(  # e.g. a grid from another reader
            float(attrs["scan_center_x_nm"]), float(attrs["scan_center_y_nm"]), np.nan, np.nan,
            float(attrs["scan_angle_deg"]),
        )  # fmt: skip
    x_nm = dataset["x"].values if "x" in dataset.coords else np.arange(nx, dtype=float)
    y_nm = dataset["y"].values if "y" in dataset.coords else np.arange(ny, dtype=float)
    return ";".join(repr(float(v)) for v in _geometry.settings_from_axes(x_nm, y_nm, previous))


def write_3ds(dataset: xr.Dataset, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a Dataset shaped like :func:`read_3ds`'s output as a Nanonis ``.3ds`` file.

    Parameters
    ----------
    dataset : xarray.Dataset
        Channel variables with dims ``(y, x, <sweep>)`` (all the same, in dataset order),
        optional ``(y, x)`` parameter variables (``Sweep Start``/``Sweep End`` are filled from the
        sweep coordinate when absent; every other ``(y, x)`` variable but ``valid`` becomes an
        experiment parameter), coordinates ``x``/``y`` in nm and the sweep (units from its
        ``units`` attr: a ``bias`` in mV is written in V), ``attrs`` with header entries.
    path : str or pathlib.Path
        Destination file.
    overwrite : bool
        Replace an existing file; without it an existing ``path`` raises FileExistsError.

    Returns
    -------
    pathlib.Path
        ``path``. The header keeps every entry of ``dataset.attrs`` but rewrites the structural
        ones (grid size, channels, parameters, points, ``Filetype``); an evenly spaced sweep is
        written ``Linear``, any other bias sweep as ``MLS`` with a segment table.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    channels = [name for name, var in dataset.data_vars.items() if var.ndim == 3]
    if not channels:
        raise ValueError("the dataset has no channel variable with dims (y, x, <sweep>)")
    dims = dataset[channels[0]].dims
    if "y" not in dims or "x" not in dims:
        raise ValueError(f"channel {channels[0]!r} has dims {dims}; expected (y, x, <sweep>)")
    sweep_dim = next(dim for dim in dims if dim not in ("y", "x"))
    for name in channels:
        if set(dataset[name].dims) != set(dims):
            raise ValueError(f"channel {name!r} has dims {dataset[name].dims}, expected {dims}")
    ny, nx, n_points = dataset.sizes["y"], dataset.sizes["x"], dataset.sizes[sweep_dim]
    signal, sweep = _sweep_signal(dataset, sweep_dim)
    params = [
        name
        for name, var in dataset.data_vars.items()
        if set(var.dims) == {"y", "x"} and name != "valid" and name not in FIXED_PARAMETERS
    ]
    full_channels = _channel_names(dataset, channels)
    sweep_layout = _sweep_layout(dataset, sweep, sweep_dim)
    header = {
        "Grid dim": f"{nx} x {ny}",
        "Grid settings": _grid_settings(dataset, nx, ny),
        "Filetype": sweep_layout.pop("Filetype"),
        "Sweep Signal": signal,
        "Fixed parameters": ";".join(FIXED_PARAMETERS),
        "Experiment parameters": ";".join(
            str(dataset[name].attrs.get("parameter", name)) for name in params
        ),
        "# Parameters (4 byte)": len(FIXED_PARAMETERS) + len(params),
        "Experiment size (bytes)": 4 * n_points * len(channels),
        "Points": n_points,
        "Channels": ";".join(full_channels),
        **sweep_layout,
    }
    for key, value in dataset.attrs.items():
        grid_table = "Segment Start (V)" in key and ">" not in key  # rewritten above
        derived = key in _geometry.GEOMETRY_ATTRS  # read_3ds recomputes them
        if key not in STRUCTURE_KEYS and key not in header and not grid_table and not derived:
            header[key] = value

    n_params = len(FIXED_PARAMETERS) + len(params)
    block = np.empty((ny, nx, n_params + len(channels) * n_points), dtype=">f4")
    for k, (name, default) in enumerate(zip(FIXED_PARAMETERS, (sweep[0], sweep[-1]), strict=True)):
        block[..., k] = dataset[name].transpose("y", "x").values if name in dataset else default
    for k, name in enumerate(params, start=len(FIXED_PARAMETERS)):
        block[..., k] = dataset[name].transpose("y", "x").values
    for k, name in enumerate(channels):
        start = n_params + k * n_points
        block[..., start : start + n_points] = dataset[name].transpose("y", "x", sweep_dim).values
    with open(path, "wb") as file:
        file.write(format_header(header))
        file.write(block.tobytes())
    return path
