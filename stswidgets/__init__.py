"""stswidgets: similarity analysis of hyperspectral scanning tunneling spectroscopy grids.

The public names are importable from here; the readers, the simulated data and the heavier
subpackages (``analysis``, ``learn``, ``widgets``) load on first use so that
``import stswidgets`` stays fast.
"""

from __future__ import annotations

import importlib

from stswidgets.grid import GridError, make_grid, map_extent, to_map, to_matrix, validate_grid

__version__ = "0.1.0"

_LAZY_NAMES = {
    "open_grid": "stswidgets.io",
    "open_spectra": "stswidgets.io",
    "read_3ds": "stswidgets.io",
    "write_3ds": "stswidgets.io",
    "FormatError": "stswidgets.io",
    "ChannelError": "stswidgets.io",
    "save_grid": "stswidgets.io",
    "channel_candidates": "stswidgets.io",
    "follow": "stswidgets.io",
    "GridFollower": "stswidgets.io",
    "to_hyperspy": "stswidgets.io",
}
_LAZY_MODULES = {
    "analysis",
    "campaign",
    "datasets",
    "io",
    "learn",
    "preprocess",
    "series",
    "spectra",
    "widgets",
}

__all__ = [
    "ChannelError",
    "FormatError",
    "GridError",
    "GridFollower",
    "analysis",
    "campaign",
    "channel_candidates",
    "datasets",
    "follow",
    "io",
    "learn",
    "make_grid",
    "map_extent",
    "open_grid",
    "open_spectra",
    "preprocess",
    "read_3ds",
    "save_grid",
    "series",
    "spectra",
    "to_hyperspy",
    "to_map",
    "to_matrix",
    "validate_grid",
    "widgets",
    "write_3ds",
]


def __getattr__(name: str):
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"stswidgets.{name}")
    raise AttributeError(f"module 'stswidgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
