"""A series of spectroscopy files read as one Dataset: which files (:func:`series_files`, ordered
by the number in their names) and their spectra along one ``spectrum`` dim
(:func:`series_dataset`), shared by :func:`stswidgets.io.open_spectra` and
:func:`stswidgets.io.channel_candidates`. Below both: it imports neither.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import SPECTRA_DIMS
from stswidgets.io import formats
from stswidgets.io._load import _BIAS_TO_MV, axis_nm, read_path
from stswidgets.io.errors import FormatError

__all__ = ["is_glob", "nm_along", "series_dataset", "series_files"]

_GLOB_CHARACTERS = re.compile(r"[*?\[]")


def nm_along(dataset: xr.Dataset, name: str, label: str) -> np.ndarray:
    """Coordinate ``name`` along the spectra in nm (NaN where the file records none)."""
    values = axis_nm(dataset, name, label)
    n = dataset.sizes["x" if "x" in dataset.dims else "spectrum"]
    return np.full(n, np.nan) if values is None else values


def is_glob(path) -> bool:
    """Whether ``path`` is a glob pattern (and no file of that name)."""
    return bool(_GLOB_CHARACTERS.search(str(path))) and not Path(path).exists()


def _file_number(path: Path) -> tuple:
    """Sort key: the name without its last number, then that number (``...00045.dat``)."""
    numbers = list(re.finditer(r"\d+", path.stem))
    if not numbers:
        return (path.stem, -1, path.name)
    last = numbers[-1]
    return (path.stem[: last.start()], int(last.group()), path.name)


def series_files(path_or_paths) -> tuple[list[Path], str]:
    """The files of a series, ordered by the number in their names, and the series' source.

    A folder gives every file in it that a reader recognises (hidden files and unrecognised
    ones, e.g. a README, are skipped); a glob the files matching it; a list its files; one
    file itself.

    Raises
    ------
    FileNotFoundError
        A file, folder or glob that names nothing.
    """
    if isinstance(path_or_paths, list | tuple):
        paths = [Path(p) for p in path_or_paths]
        if not paths:
            raise FileNotFoundError("open_spectra: the list of files is empty")
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{missing[0]} does not exist")
        parents = {str(p.parent) for p in paths}
        source = parents.pop() if len(parents) == 1 else str(paths[0])
        return sorted(paths, key=_file_number), source
    path = Path(path_or_paths)
    if path.is_dir():
        paths = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
        paths = [p for p in paths if _recognised(p)]
        if not paths:
            raise FormatError(
                f"{path}: the folder holds no spectroscopy file stswidgets can read. "
                f"Supported: {formats.supported()}"
            )
        return sorted(paths, key=_file_number), str(path)
    if is_glob(path):
        paths = [Path(p) for p in glob.glob(str(path)) if Path(p).is_file()]
        if not paths:
            raise FileNotFoundError(f"{path}: no file matches this pattern")
        return sorted(paths, key=_file_number), str(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    return [path], str(path)


def _recognised(path: Path) -> bool:
    """Whether a reader (or the netCDF/.npz loader) recognises the file by its content."""
    with open(path, "rb") as file:
        head = file.read(formats.HEAD_BYTES)
    return formats.saved_grid_kind(head) is not None or any(
        fmt.looks_like(head) for fmt in formats.FORMATS
    )


def series_dataset(paths: list[Path]) -> xr.Dataset:
    """The spectra of every file along one ``spectrum`` dim, with a ``file`` coordinate."""
    parts, first_bias, first_names = [], None, None
    for path in paths:
        dataset = read_path(path)
        names = [n for n, v in dataset.data_vars.items() if set(v.dims) == set(SPECTRA_DIMS)]
        if not names:
            raise FormatError(
                f"{path}: holds no spectra off a grid (a grid? open it with open_grid); a "
                "series needs one or more spectra per file"
            )
        bias = _bias_mV(dataset, path)
        if first_bias is None:
            first_bias, first_names, first_path = bias, names, path
        elif bias.shape != first_bias.shape or not np.allclose(
            bias, first_bias, rtol=1e-6, atol=1e-6 * np.ptp(first_bias)
        ):
            raise FormatError(
                f"{path}: its bias axis ({bias.size} points, {bias[0]:g} ... {bias[-1]:g} mV) "
                f"differs from the series' ({first_bias.size} points, {first_bias[0]:g} ... "
                f"{first_bias[-1]:g} mV, {first_path.name}); a series shares one bias axis"
            )
        elif set(names) != set(first_names):
            raise FormatError(
                f"{path}: its channels differ from the series' ({first_path.name}): "
                f"{sorted(set(names) ^ set(first_names))}"
            )
        part = dataset[first_names].assign_coords(bias=("bias", first_bias, {"units": "mV"}))
        part = part.assign_coords(
            {
                axis: ("spectrum", nm_along(dataset, axis, str(path)), {"units": "nm"})
                for axis in ("x", "y")
            }
        )
        part = part.assign_coords(file=("spectrum", [str(path)] * part.sizes["spectrum"]))
        parts.append(part)
    series = xr.concat(parts, dim="spectrum", combine_attrs="drop_conflicts")
    series.attrs.pop("geometry", None)
    return series


def _bias_mV(dataset: xr.Dataset, path: Path) -> np.ndarray:
    units = str(dataset["bias"].attrs.get("units", "mV")) if "bias" in dataset.coords else ""
    if units not in _BIAS_TO_MV:
        raise FormatError(f"{path}: bias units {units!r} not understood (or no bias coordinate)")
    return np.asarray(dataset["bias"].values, dtype=float) * _BIAS_TO_MV[units]
