"""xarray backend: ``xarray.open_dataset(path, engine="stswidgets")`` reads every supported
instrument format (:data:`stswidgets.io.formats.FORMATS`), recognised by content.

Registered in pyproject.toml under ``[project.entry-points."xarray.backends"]`` as
``stswidgets``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import xarray as xr
from xarray.backends import BackendEntrypoint

from stswidgets.io import formats
from stswidgets.io._load import read_path
from stswidgets.io.errors import FormatError


class StswidgetsBackendEntrypoint(BackendEntrypoint):
    """Open STS grid files of every supported instrument with the stswidgets readers.

    ``open_dataset`` gives the reader's ``Dataset`` (see :func:`stswidgets.io.read_3ds` for
    the model; spectra that are not on a grid, e.g. a Nanonis ``.dat``, have dims
    ``("spectrum", "bias")``, see :func:`stswidgets.io.nanonis.read_dat`); the ``.npz``/``.nc``
    grids :func:`stswidgets.io.save_grid` writes open too when the engine is named.
    ``guess_can_open`` claims a file by its first bytes
    (:func:`stswidgets.io.formats.detect_format`), never by its name, and leaves netCDF files
    to xarray's own engines.
    """

    description = "STS grid files read by stswidgets: " + formats.supported()
    url = "https://github.com/stswidgets/stswidgets"
    open_dataset_parameters = ("filename_or_obj", "drop_variables", "strict")

    def open_dataset(
        self,
        filename_or_obj,
        *,
        drop_variables: str | Iterable[str] | None = None,
        strict: bool = False,
    ) -> xr.Dataset:
        if not isinstance(filename_or_obj, str | os.PathLike):
            raise TypeError(
                f"the stswidgets engine reads grid files from a path, got {type(filename_or_obj)}"
            )
        dataset = read_path(filename_or_obj, strict=strict)
        if drop_variables is not None:
            names = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
            dataset = dataset.drop_vars(names, errors="ignore")
        return dataset

    def guess_can_open(self, filename_or_obj) -> bool:
        if not isinstance(filename_or_obj, str | os.PathLike):
            return False
        try:
            formats.detect_format(filename_or_obj)
        except (OSError, FormatError):
            return False
        return True


#: The name the entry point had when only Nanonis files were read (kept for installs made then).
NanonisBackendEntrypoint = StswidgetsBackendEntrypoint
