"""Spectra that are not on a grid, from files: :func:`open_spectra` (one file, a folder, a glob
or a list of files) and :func:`open_measurement` (a grid or spectra, whichever a file holds).

The channel is chosen exactly as :func:`stswidgets.io.open_grid` chooses it (the lock-in's
in-phase signal, an unpaired dI/dV output, or the numerical derivative of the current): the
spectra are seen as a one-row grid (:func:`stswidgets.io._load.spectra_view`) and turned back.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import SPECTRA_DIMS, GridError
from stswidgets.io import formats
from stswidgets.io._geometry import GEOMETRY_ATTRS
from stswidgets.io._load import (
    _BIAS_TO_MV,
    SPECTRA_VIEW,
    as_dataset,
    axis_nm,
    read_path,
    spectra_view,
)
from stswidgets.io.errors import FormatError
from stswidgets.io.open import grid_from_dataset
from stswidgets.spectra import average_spectra, make_spectra, spot_geometry

__all__ = ["open_measurement", "open_spectra", "series_files"]

_AVERAGES = ("repetition", "direction")
_GLOB_CHARACTERS = re.compile(r"[*?\[]")
# grid attrs that mean nothing for spectra off a grid (the view's pixel index is no scan)
_GRID_ONLY_ATTRS = (*GEOMETRY_ATTRS, "positions", "units", "channel", "source")


def open_spectra(path_or_paths, channel: str | None = None, average=None) -> xr.DataArray:
    """Spectra that are not on a grid, of one channel (by default the dI/dV).

    Parameters
    ----------
    path_or_paths : str, pathlib.Path, list of them, xarray.Dataset or xarray.DataArray
        One file (Nanonis bias spectroscopy ``.dat``, RHK ``.sm4`` point spectra, Createc
        ``.VERT``, Omicron MATRIX ``.mtrx``, recognised by content); a **series**: a folder,
        a glob (``"data/Bias-Spectroscopy000*.dat"``) or a list of files, ordered by the number
        in their names (``...00045.dat`` before ``...00046.dat``; :func:`series_files`), each
        file's spectra in turn with the positions from its header; or a Dataset with
        ``("spectrum", "bias")`` variables such as the readers return.
    channel : str, optional
        As for :func:`stswidgets.io.open_grid` (the default choice is the same).
    average : {None, "repetition", "direction"} or a list of both
        ``"direction"``: each channel averaged with its ``[bwd]`` sweep before the channel
        is chosen; ``"repetition"``: the repeated spectra at each spot averaged
        (:func:`stswidgets.spectra.average_spectra`).

    Returns
    -------
    xarray.DataArray, dims ``("spectrum", "bias")``
        Bias in mV ascending; coordinates ``x``, ``y`` (nm, NaN where no position is
        recorded), ``distance`` (nm from the first position, for geometry ``"line"``),
        ``repetition`` and ``file`` where given; attrs as a grid's (``units``, ``channel``,
        ``source``, ``lockin_phase_deg``, ``channel_agreement``, ``derived``,
        ``setpoint_bias_mV``, ...) plus ``geometry``: what the file records, else (and always
        for a series) ``"line"`` when the positions lie on a straight line with at least 3
        distinct positions, ``"repeats"`` when all are at one spot, else ``"points"``
        (:func:`stswidgets.spectra.spot_geometry`).

    Raises
    ------
    FormatError
        A damaged or unknown file (naming it), a grid (open it with ``open_grid``), or a
        series whose files do not share one bias axis or one set of channels (naming the odd
        file).
    ChannelError
        As for :func:`stswidgets.io.open_grid`.
    """
    averages = _averages(average)
    if isinstance(path_or_paths, xr.Dataset | xr.DataArray):
        dataset, source = as_dataset(path_or_paths)
        geometry = None
    else:
        paths, source = series_files(path_or_paths)
        if len(paths) == 1:
            dataset, source = as_dataset(paths[0])
            geometry = None
        else:
            dataset = spectra_view(_series_dataset(paths), source)
            geometry = "series"
    if SPECTRA_VIEW not in dataset.attrs:
        raise FormatError(
            f"{source or 'the dataset'} holds a (y, x, bias) grid, not spectra off a grid; "
            "open it with stswidgets.open_grid(...)"
        )
    if "direction" in averages:
        dataset = average_spectra(dataset, over="direction")
    spectra = _spectra_from_view(dataset, source, channel, recompute=geometry == "series")
    if "repetition" in averages and "repetition" in spectra.coords:
        spectra = average_spectra(spectra, over="repetition")
    return spectra


def open_measurement(path, channel: str | None = None) -> xr.DataArray:
    """A grid (dims ``("y", "x", "bias")``) or spectra (dims ``("spectrum", "bias")``),
    whichever the file (or the folder, glob, list of files, Dataset) holds; see
    :func:`stswidgets.io.open_grid` and :func:`open_spectra`."""
    if isinstance(path, list | tuple) or (
        isinstance(path, str | Path) and (Path(path).is_dir() or _is_glob(path))
    ):
        return open_spectra(path, channel)
    dataset, source = as_dataset(path)
    if SPECTRA_VIEW in dataset.attrs:
        return _spectra_from_view(dataset, source, channel)
    return _as_format_error(lambda: grid_from_dataset(dataset, source, channel), source)


def _averages(average) -> tuple[str, ...]:
    if average is None:
        return ()
    averages = (average,) if isinstance(average, str) else tuple(average)
    unknown = [a for a in averages if a not in _AVERAGES]
    if unknown:
        raise ValueError(f"average={average!r}: expected None, 'repetition' or 'direction'")
    return averages


def _as_format_error(make, source: str):
    """``make()``, a GridError (values no grid can hold) as a FormatError naming the file."""
    try:
        return make()
    except GridError as error:
        if not source:
            raise
        raise FormatError(f"{source}: {error}") from None


def _spectra_from_view(view: xr.Dataset, source: str, channel, recompute: bool = False):
    """The spectra of one channel of a :func:`spectra_view`."""
    label = source or "the dataset"
    grid = _as_format_error(lambda: grid_from_dataset(view, source, channel), source)
    x_nm, y_nm = (_nm(view, f"spectrum_{axis}", label) for axis in ("x", "y"))
    geometry = None if recompute else view.attrs.get(SPECTRA_VIEW) or None
    geometry = geometry or spot_geometry(x_nm, y_nm)
    attrs = {key: value for key, value in grid.attrs.items() if key not in _GRID_ONLY_ATTRS}
    repetition = view["repetition"].values if "repetition" in view.coords else None
    spectra = _as_format_error(
        lambda: make_spectra(
            np.asarray(grid.values)[0],
            grid["bias"].values,
            x_nm,
            y_nm,
            geometry=geometry,
            repetition=repetition,
            name=str(grid.name),
            units=grid.attrs.get("units", ""),
            channel=grid.attrs.get("channel", ""),
            source=grid.attrs.get("source", source),
            attrs=attrs,
        ),
        source,
    )
    if "file" in view.coords:
        spectra = spectra.assign_coords(file=("spectrum", view["file"].values.astype(str)))
    return spectra


def _nm(dataset: xr.Dataset, name: str, label: str) -> np.ndarray:
    """Coordinate ``name`` along the spectra in nm (NaN where the file records none)."""
    values = axis_nm(dataset, name, label)
    n = dataset.sizes["x" if "x" in dataset.dims else "spectrum"]
    return np.full(n, np.nan) if values is None else values


def _is_glob(path) -> bool:
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
    if _is_glob(path):
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


def _series_dataset(paths: list[Path]) -> xr.Dataset:
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
                axis: ("spectrum", _nm(dataset, axis, str(path)), {"units": "nm"})
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
