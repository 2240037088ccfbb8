"""The notebook series as the pipeline runs it: where it lies, its order, its parameters.

The series ships inside the package (``stswidgets/notebooks``), read with
:mod:`importlib.resources`, so an installed wheel runs it too. :mod:`stswidgets.series`
re-exports these names for the notebooks and adds what they use (``save_results``, ...).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from stswidgets.pipeline.config import PROFILES

__all__ = [
    "COMMON_PARAMETERS",
    "NOTEBOOKS",
    "NOTEBOOK_DIR",
    "PROFILE_NAMES",
    "notebook_path",
    "parameters_for",
]

#: The series ships inside the package (``stswidgets/notebooks``; the top-level ``notebooks/``
#: of a checkout is a link to it), so an installed wheel runs it too.
NOTEBOOK_DIR = Path(str(importlib.resources.files("stswidgets") / "notebooks"))

#: The series in reading order (file stems in ``notebooks/``).
NOTEBOOKS = [
    "01_data_and_segmentation",
    "02_pca_and_clustering",
    "03_distance_statistics",
    "04_distance_correlation",
    "05_nonlinear_reduction",
    "06_similarity_learning",
    "07_spectral_weight_transfer",
    "08_method_benchmark",
    "09_physics_maps",
]

#: Parameters every notebook's ``parameters`` cell defines (with these defaults). Every
#: analysis setting lives in the profile's :class:`stswidgets.pipeline.PipelineConfig`;
#: ``settings`` overrides any of its fields by name.
COMMON_PARAMETERS = {
    "data_path": None,  # None: the embedded simulated FeSe-like grid
    "channel": None,  # None: the dI/dV (lock-in) channel, else d(Current)/dV
    "seed": 0,
    "profile": "full",  # full, quick or test (stswidgets.pipeline.PROFILES)
    "settings": {},  # overrides of the profile's settings, e.g. {"offsets": [0.01, 0.1]}
    "results_dir": None,  # where results.nc is shared between notebooks; None: nothing saved
}

#: Profiles (the settings of each live in :data:`stswidgets.pipeline.PROFILES`).
PROFILE_NAMES = tuple(PROFILES)


def notebook_path(name: str) -> Path:
    """Path of a notebook of the series by its stem, e.g. ``"01_data_and_segmentation"``."""
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"notebook {name!r} not found at {path}")
    return path


def parameters_for(name: str, profile: str = "full", **overrides) -> dict:
    """Parameters to inject into notebook ``name`` for a ``profile`` (full, quick or test):
    ``profile`` plus ``overrides`` (``data_path``, ``seed``, ``settings``, ...)."""
    if profile not in PROFILE_NAMES:
        raise ValueError(f"profile must be one of {PROFILE_NAMES}, got {profile!r}")
    notebook_path(name)  # an unknown notebook raises here
    return {"profile": profile, **overrides}
