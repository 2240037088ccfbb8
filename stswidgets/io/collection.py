"""Spectra that are not on a grid, from files: :func:`open_spectra` (one file, a folder, a glob
or a list of files) and :func:`open_measurement` (a grid or spectra, whichever a file holds).

The channel is chosen exactly as :func:`stswidgets.io.open_grid` chooses it (the lock-in's
in-phase signal, an unpaired dI/dV output, or the numerical derivative of the current): the
spectra are seen as a one-row grid (:func:`stswidgets.io._load.spectra_view`) and turned back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import GridError
from stswidgets.io._geometry import GEOMETRY_ATTRS
from stswidgets.io._load import (
    SPECTRA_VIEW,
    as_dataset,
    spectra_view,
)
from stswidgets.io._series import is_glob, nm_along, series_dataset, series_files
from stswidgets.io.errors import FormatError
from stswidgets.io.open import grid_from_dataset
from stswidgets.spectra import average_spectra, make_spectra, spot_geometry

__all__ = ["open_measurement", "open_spectra", "series_files"]

_AVERAGES = ("repetition", "direction")
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
            dataset = spectra_view(series_dataset(paths), source)
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
        isinstance(path, str | Path) and (Path(path).is_dir() or is_glob(path))
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
    x_nm, y_nm = (nm_along(view, f"spectrum_{axis}", label) for axis in ("x", "y"))
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
