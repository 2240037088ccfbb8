"""Analysis on the matrix view ``X`` of shape ``(n_spectra, n_bias)``: numpy in, numpy out.

Submodules: ``decomposition``, ``clustering``, ``distances``, ``incremental``, ``correlation``,
``density``, ``segmentation``, ``spectral_weight``, ``kinds``, ``metrics``, ``score_statistics``
(the 1D statistics of a score that ``spectral_weight`` and ``kinds`` share), ``gap`` (gap and
bound-state maps: :func:`gap_map`, :func:`peak_map`, on grids or collections), ``fourier`` (QPI
maps of a grid). Nothing here imports widgets, and nothing imports torch at import time: the one
exception is the optional torch pair pass (``device=`` of the pairwise-distance functions,
``_torch_pairs``), which imports it inside the call that asks for it. The names of
:mod:`~stswidgets.analysis.kinds` (:func:`classify_kinds`, :func:`class_names`,
:func:`flag_meanings`, :class:`KindClasses`, ``FESE_NAMES``),
:class:`~stswidgets.analysis.incremental.PairHistogram` and those of
:mod:`~stswidgets.analysis.fourier` (:func:`fourier_maps`, :func:`radial_average`,
:func:`q_cut`, :func:`ring_wavevector`) are importable from here; they load on first use.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "FESE_NAMES": "kinds",
    "KindClasses": "kinds",
    "class_names": "kinds",
    "classify_kinds": "kinds",
    "flag_meanings": "kinds",
    "PairHistogram": "incremental",
    "gap_map": "gap",
    "peak_map": "gap",
    "fourier_maps": "fourier",
    "q_cut": "fourier",
    "radial_average": "fourier",
    "ring_wavevector": "fourier",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"stswidgets.analysis.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'stswidgets.analysis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
