"""xarray backend: ``xarray.open_dataset(path, engine="stswidgets")`` reads Nanonis ``.3ds``.

Registered in pyproject.toml under ``[project.entry-points."xarray.backends"]``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import xarray as xr
from xarray.backends import BackendEntrypoint

from stswidgets.io.nanonis import read_3ds


class NanonisBackendEntrypoint(BackendEntrypoint):
    """Open Nanonis grid spectroscopy files (``.3ds``) with :func:`stswidgets.io.read_3ds`."""

    description = "Nanonis grid spectroscopy (.3ds) files, read by stswidgets"
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
                f"the stswidgets engine reads .3ds files from a path, got {type(filename_or_obj)}"
            )
        dataset = read_3ds(filename_or_obj, strict=strict)
        if drop_variables is not None:
            names = [drop_variables] if isinstance(drop_variables, str) else list(drop_variables)
            dataset = dataset.drop_vars(names, errors="ignore")
        return dataset

    def guess_can_open(self, filename_or_obj) -> bool:
        if not isinstance(filename_or_obj, str | os.PathLike):
            return False
        return os.fspath(filename_or_obj).lower().endswith(".3ds")
