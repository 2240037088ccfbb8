"""Analysis on the matrix view ``X`` of shape ``(n_spectra, n_bias)``: numpy in, numpy out.

Submodules: ``decomposition``, ``clustering``, ``distances``, ``correlation``, ``density``,
``segmentation``, ``spectral_weight``, ``kinds``, ``metrics``. Nothing here imports torch or
widgets. The names of :mod:`~stswidgets.analysis.kinds` (:func:`classify_kinds`,
:func:`class_names`, :func:`flag_meanings`, :class:`KindClasses`, ``FESE_NAMES``) are
importable from here; they load on first use.
"""

from __future__ import annotations

import importlib

__all__ = ["FESE_NAMES", "KindClasses", "class_names", "classify_kinds", "flag_meanings"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("stswidgets.analysis.kinds"), name)
    raise AttributeError(f"module 'stswidgets.analysis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
