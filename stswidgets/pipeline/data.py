"""The first step: the grid to analyse, checked once, as a map and as a matrix.

:func:`load` gives the embedded simulated grid (with its ground truth) or a file read with
:func:`stswidgets.open_grid`, checks that it holds at least :data:`MIN_VALID_SPECTRA`
complete spectra, and returns both views (``grid`` ``(y, x, bias)`` and ``X``
``(n_valid, n_bias)`` with its ``valid`` mask) in a :class:`PipelineInput`. Every front end
(notebooks, app, CLI, campaigns) starts here, so a file is refused with the same sentence
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = ["MIN_VALID_SPECTRA", "InputError", "PipelineInput", "first_line", "load"]

#: A grid needs at least this many complete spectra for the statistics of the analysis.
MIN_VALID_SPECTRA = 16


class InputError(ValueError):
    """Bad input: a missing or unreadable file, an unknown channel, too few spectra. The
    message names the file and the problem in one line."""


@dataclass
class PipelineInput:
    """The grid of one run and its two views.

    ``grid``: DataArray ``(y, x, bias)``; ``X``: ``(n_valid, n_bias)`` complete spectra;
    ``valid``: ``(y, x)`` bool DataArray, where ``X``'s rows sit on the map; ``truth``: the
    simulated grid's ground truth (``vacancy``, ``transition``, ...) or None for a file;
    ``source``: a one-line description of where the grid came from.
    """

    grid: xr.DataArray
    X: np.ndarray
    valid: xr.DataArray
    truth: xr.Dataset | None
    source: str

    @property
    def simulated(self) -> bool:
        return self.truth is not None

    @property
    def units(self) -> str:
        return str(self.grid.attrs.get("units", "a.u."))


def first_line(message) -> str:
    """The first line of ``str(message)`` (an error or a text), "" when it is empty."""
    lines = str(message).strip().splitlines()
    return lines[0] if lines else ""


def _one_line(error: BaseException) -> str:
    return first_line(error) or type(error).__name__


def load(
    data_path: str | Path | None = None,
    config: PipelineConfig | None = None,
    channel: str | None = None,
    min_spectra: int = MIN_VALID_SPECTRA,
    results_dir: str | Path | None = None,
) -> PipelineInput:
    """The grid of ``data_path`` (None: the embedded simulated grid of ``config``), checked.

    Parameters
    ----------
    data_path : str, Path or None
        A grid file of any supported format, a saved ``.nc``/``.npz``, or None for
        :func:`stswidgets.datasets.fese_like` with ``config.seed`` and its ``ny, nx, n_bias``.
    config : PipelineConfig, optional
        Default: the ``full`` profile.
    channel : str, optional
        Channel to analyse; None: the dI/dV (lock-in) channel.
    min_spectra : int
        Fewest complete spectra accepted.
    results_dir : str, Path or None
        The run folder: the simulated grid is kept in its step cache (``.pipeline/``), so the
        later notebooks of a series read it instead of simulating it again. None: simulate.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown channel, or fewer than ``min_spectra`` complete
        spectra; the message names the file.
    """
    from stswidgets.grid import to_matrix

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
        from stswidgets.io import ChannelError, open_grid

        path = Path(data_path).expanduser()
        if not path.exists():
            raise InputError(f"grid file not found: {path}")
        if not path.is_file():
            raise InputError(f"not a file: {path}")
        try:
            grid = open_grid(path, channel=channel)
        except ChannelError as error:
            what = f"unknown channel {channel!r}" if channel is not None else "no dI/dV channel"
            raise InputError(f"{what}: {_one_line(error)}") from None
        except Exception as error:
            message = _one_line(error)
            where = "" if str(path) in message else f" {path}"
            raise InputError(f"cannot read{where} as a grid: {message}") from None
        truth, source = None, str(path.resolve())
    try:
        X, valid = to_matrix(grid)
    except Exception as error:
        raise InputError(f"{path}: {_one_line(error)}") from None
    if len(X) < min_spectra:
        raise InputError(
            f"{path} has {len(X)} complete spectra; the analysis needs at least {min_spectra}"
        )
    return PipelineInput(grid, X, valid, truth, source)


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
