"""The first step: the measurement to analyse, checked once, as measured and as a matrix.

:func:`load` gives the embedded simulated grid (with its ground truth) or a measurement read
with :func:`stswidgets.io.open_measurement`: a grid, or a collection of spectra that are not
on a grid (a line, points, repeats at one spot; one file, a folder, a glob or a list of a
series; ``PipelineInput.geometry`` says which). It checks that it holds at least
:data:`MIN_VALID_SPECTRA` complete spectra (a collection
:data:`~stswidgets.pipeline.collection.MIN_COLLECTION_SPECTRA`), normalises every
spectrum ONCE as ``config.normalize`` says (:mod:`stswidgets.pipeline.normalization`), and
returns both views (``grid`` ``(y, x, bias)`` or ``(spectrum, bias)``
as measured and ``X`` ``(n_valid, n_bias)`` normalised, with its ``valid`` mask) in a
:class:`PipelineInput`. ``X`` is the one input of every step: none normalises again. The
segmentation of notebook 01 keeps reading the measured grid (an iso-energy map of the
conductance as measured). Every front end (notebooks, app, CLI, campaigns) starts here, so a
file is refused, and a grid normalised, the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.pipeline.config import PipelineConfig, config_for
from stswidgets.pipeline.normalization import Normalization, normalize_grid

__all__ = ["MIN_VALID_SPECTRA", "InputError", "PipelineInput", "first_line", "load"]

#: A grid needs at least this many complete spectra for the statistics of the analysis.
MIN_VALID_SPECTRA = 16


class InputError(ValueError):
    """Bad input: a missing or unreadable file, an unknown channel, too few spectra. The
    message names the file and the problem in one line."""


@dataclass
class PipelineInput:
    """The measurement of one run and its two views.

    ``grid``: DataArray ``(y, x, bias)`` as measured, or ``(spectrum, bias)`` for a collection
    of spectra (:attr:`geometry`); ``X``: ``(n_valid, n_bias)`` complete spectra, NORMALISED
    (``normalization`` says how and why); ``valid``: ``(y, x)`` (a collection:
    ``(spectrum,)``) bool DataArray, where ``X``'s rows sit; ``truth``: the simulated grid's
    ground truth (``vacancy``, ``transition``, ...) or None for a file; ``source``: a one-line
    description of where the data came from; ``normalization``: the
    :class:`~stswidgets.pipeline.normalization.Normalization` applied to ``X``.
    """

    grid: xr.DataArray
    X: np.ndarray
    valid: xr.DataArray
    truth: xr.Dataset | None
    source: str
    normalization: Normalization | None = None

    @property
    def simulated(self) -> bool:
        return self.truth is not None

    @property
    def geometry(self) -> str:
        """``"grid"`` for a ``(y, x, bias)`` grid; ``"line"``, ``"points"`` or ``"repeats"``
        for a collection of spectra on a ``spectrum`` dim (``valid`` then has dims
        ``("spectrum",)``). Steps that need a 2D map run only on ``"grid"``."""
        from stswidgets.pipeline.collection import geometry_of

        return geometry_of(self.grid)

    @property
    def units(self) -> str:
        """Units of ``X`` (the normalised spectra): ``"1"`` unless the normalisation is none."""
        if self.normalization is not None:
            return self.normalization.units
        return self.grid_units

    @property
    def grid_units(self) -> str:
        """Units of the measured grid."""
        return str(self.grid.attrs.get("units", "a.u."))

    @property
    def bias_mV(self) -> np.ndarray:
        """``(n_bias,)`` the sample bias of ``X``'s columns, mV."""
        return np.asarray(self.grid["bias"].values, dtype=float)

    @property
    def raw_X(self) -> np.ndarray:
        """``(n_valid, n_bias)`` the complete spectra as measured (float64), rows as ``X``'s."""
        return np.asarray(self.grid.values, dtype=np.float64)[np.asarray(self.valid)]


def first_line(message) -> str:
    """The first line of ``str(message)`` (an error or a text), "" when it is empty."""
    lines = str(message).strip().splitlines()
    return lines[0] if lines else ""


def _one_line(error: BaseException) -> str:
    return first_line(error) or type(error).__name__


def load(
    data_path: str | Path | list | None = None,
    config: PipelineConfig | None = None,
    channel: str | None = None,
    min_spectra: int | None = None,
    results_dir: str | Path | None = None,
) -> PipelineInput:
    """The measurement of ``data_path`` (None: the embedded simulated grid), checked.

    Parameters
    ----------
    data_path : str, Path, list or None
        A grid file of any supported format, a saved ``.nc``/``.npz``, a file of spectra that
        are not on a grid (a line, points, repeats), a folder or a glob of a series of
        spectroscopy files, a list of such files, or None for
        :func:`stswidgets.datasets.fese_like` with ``config.seed`` and its ``ny, nx, n_bias``.
        Files are opened with :func:`stswidgets.io.open_measurement` (a grid or a collection
        of spectra, whichever they hold; a saved ``.nc`` of spectra too).
    config : PipelineConfig, optional
        Default: the ``full`` profile.
    channel : str, optional
        Channel to analyse; None: the dI/dV (lock-in) channel.
    min_spectra : int, optional
        Fewest complete spectra accepted; None: :data:`MIN_VALID_SPECTRA` for a grid,
        :data:`~stswidgets.pipeline.collection.MIN_COLLECTION_SPECTRA` for a collection (the
        steps that need more say so and are skipped).
    results_dir : str, Path or None
        The run folder: the simulated grid is kept in its step cache (``.pipeline/``), so the
        later notebooks of a series read it instead of simulating it again. None: simulate.

    Returns
    -------
    PipelineInput
        ``X`` normalised as ``config.normalize`` says (``"auto"``: chosen from the data), with
        the method and its reason in ``normalization``. ``"feenstra"`` divides by the file's
        recorded ``Current`` channel when it has one, else by the current integrated from
        the dI/dV.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown channel, fewer than ``min_spectra`` complete
        spectra, or spectra the normalisation cannot divide (a zero set-point conductance);
        the message names the file.
    """
    from stswidgets.pipeline.collection import MIN_COLLECTION_SPECTRA, geometry_of, matrix_view

    config = config or config_for("full")
    if data_path is None:
        from stswidgets import datasets

        if channel not in (None, "didv"):
            raise InputError(f"unknown channel {channel!r}: the simulated grid has only 'didv'")
        data = _simulated(datasets, config, results_dir)
        grid, truth = data["didv"], data.drop_vars("didv")
        source = f"simulated fese_like(seed={config.seed})"
        path = "the simulated grid"
    else:
        grid, path, source = _open(data_path, channel)
        truth = None
    try:
        X, valid = matrix_view(grid)
    except Exception as error:
        raise InputError(f"{path}: {_one_line(error)}") from None
    if min_spectra is None:
        min_spectra = MIN_VALID_SPECTRA if geometry_of(grid) == "grid" else MIN_COLLECTION_SPECTRA
    if len(X) < min_spectra:
        raise InputError(
            f"{path} has {len(X)} complete spectra; the analysis needs at least {min_spectra}"
        )
    current = None
    if config.normalize == "feenstra" and data_path is not None and geometry_of(grid) == "grid":
        current = _recorded_current(path, grid, valid)
    try:
        X, normalization = normalize_grid(grid, X, config.normalize, current=current)
    except ValueError as error:
        raise InputError(f"{path}: {_one_line(error)}") from None
    return PipelineInput(grid, X, valid, truth, source, normalization)


def resolve_input(data_path) -> str | list[str]:
    """``data_path`` as absolute text: a file, a folder or a glob (its folder part made
    absolute), or a list of such; what the notebooks of a run are given, whatever their
    working folder."""
    if isinstance(data_path, list | tuple):
        return [str(resolve_input(p)) for p in data_path]
    text = str(Path(data_path).expanduser())
    if any(c in text for c in "*?["):
        return text if Path(text).is_absolute() else str(Path.cwd() / text)
    return str(Path(text).resolve())


def _open(data_path, channel) -> tuple[xr.DataArray, str, str]:
    """The grid or spectra of ``data_path``, the path as the messages name it, and the
    source line (absolute path, glob or list)."""
    from stswidgets.io import ChannelError

    paths = list(data_path) if isinstance(data_path, list | tuple) else [data_path]
    if not paths:
        raise InputError("no files given")
    for one in paths:
        text = str(Path(one).expanduser())
        if not any(c in text for c in "*?[") and not Path(text).exists():
            raise InputError(f"file not found: {text}")
    path = Path(paths[0]).expanduser() if len(paths) == 1 else Path(paths[0]).expanduser().parent
    source = resolve_input(data_path)
    source = source if isinstance(source, str) else ", ".join(source)
    from stswidgets.io import open_measurement

    try:
        grid = open_measurement(data_path, channel=channel)
    except ChannelError as error:
        what = f"unknown channel {channel!r}" if channel is not None else "no dI/dV channel"
        raise InputError(f"{what}: {_one_line(error)}") from None
    except InputError:
        raise
    except Exception as error:
        message = _one_line(error)
        where = "" if str(path) in message else f" {path}"
        raise InputError(f"cannot read{where}: {message}") from None
    return grid, str(path), source


def _recorded_current(path: Path, grid: xr.DataArray, valid) -> np.ndarray | None:
    """The file's tunnelling current at the complete spectra, in the grid's bias order, or
    None when it records none (Feenstra then integrates the dI/dV)."""
    import warnings

    from stswidgets.io import open_grid

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            current = open_grid(path, channel="Current")
    except Exception:
        return None
    if current.shape != grid.shape or not np.allclose(current["bias"], grid["bias"]):
        return None
    values = np.asarray(current.values, dtype=np.float64)[np.asarray(valid)]
    return values if np.isfinite(values).all() else None


def _simulated(datasets, config: PipelineConfig, results_dir) -> xr.Dataset:
    """``datasets.fese_like`` for ``config``, kept in ``results_dir``'s step cache; the key
    holds the simulator's source (``datasets.py`` and the package's private ``_*.py`` modules,
    where its physics lives), so an edited simulator is never answered from the cache."""
    import hashlib

    from stswidgets.pipeline.cache import cached

    shape = (config.ny, config.nx)
    module = Path(datasets.__file__)
    sources = [module, *sorted(module.parent.glob("_*.py"))]
    code = [hashlib.sha1(p.read_bytes()).hexdigest() for p in sources]
    return cached(
        "simulated_grid",
        lambda: datasets.fese_like(seed=config.seed, shape=shape, n_bias=config.n_bias),
        results_dir,
        config.seed,
        shape,
        config.n_bias,
        *code,
    )
