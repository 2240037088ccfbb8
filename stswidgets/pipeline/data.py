"""The first step: the grid to analyse, checked once, as a map and as a matrix.

:func:`load` gives the embedded simulated grid (with its ground truth) or a file read with
:func:`stswidgets.open_grid`, checks that it holds at least :data:`MIN_VALID_SPECTRA`
complete spectra, normalises every spectrum ONCE as ``config.normalize`` says
(:mod:`stswidgets.pipeline.normalization`), and returns both views (``grid`` ``(y, x, bias)``
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
    """The grid of one run and its two views.

    ``grid``: DataArray ``(y, x, bias)`` as measured; ``X``: ``(n_valid, n_bias)`` complete
    spectra, NORMALISED (``normalization`` says how and why); ``valid``: ``(y, x)`` bool
    DataArray, where ``X``'s rows sit on the map; ``truth``: the simulated grid's ground truth
    (``vacancy``, ``transition``, ...) or None for a file; ``source``: a one-line description
    of where the grid came from; ``normalization``: the
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
    data_path: str | Path | None = None,
    config: PipelineConfig | None = None,
    channel: str | None = None,
    min_spectra: int = MIN_VALID_SPECTRA,
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
    from stswidgets.grid import to_matrix

    config = config or config_for("full")
    if data_path is None:
        from stswidgets import datasets

        if channel not in (None, "didv"):
            raise InputError(f"unknown channel {channel!r}: the simulated grid has only 'didv'")
        data = datasets.fese_like(
            seed=config.seed, shape=(config.ny, config.nx), n_bias=config.n_bias
        )
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
    current = None
    if config.normalize == "feenstra" and data_path is not None:
        current = _recorded_current(path, grid, valid)
    try:
        X, normalization = normalize_grid(grid, X, config.normalize, current=current)
    except ValueError as error:
        raise InputError(f"{path}: {_one_line(error)}") from None
    return PipelineInput(grid, X, valid, truth, source, normalization)


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
