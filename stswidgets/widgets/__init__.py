"""Interactive explorers (ipywidgets + bqplot) linked through one :class:`Selection`.

The explorers display results computed beforehand by :mod:`stswidgets.pipeline` and
:mod:`stswidgets.analysis` (``DistanceDistributionExplorer(stats)`` of
``pipeline.distance_statistics``, ``DistanceCorrelationExplorer(correlations)`` of
``analysis.correlation.distance_correlation``, ``LatentExplorer`` of projections,
``LineCutExplorer`` of a line cut's spectra, ``FourierExplorer(grid, fmaps)`` of
``analysis.fourier_maps``); their
constructors and handlers do nothing heavy and never train a model.
``import stswidgets.widgets`` does not import torch: :class:`TrainingMonitor` (a PyTorch
Lightning callback) loads Lightning on first use.
"""

from __future__ import annotations

import importlib

from stswidgets.widgets._common import Selection
from stswidgets.widgets.distance import DistanceCorrelationExplorer, DistanceDistributionExplorer
from stswidgets.widgets.fourier import FourierExplorer
from stswidgets.widgets.grid_explorer import GridExplorer
from stswidgets.widgets.latent import LatentExplorer
from stswidgets.widgets.linecut import LineCutExplorer

__all__ = [
    "DistanceCorrelationExplorer",
    "DistanceDistributionExplorer",
    "FourierExplorer",
    "GridExplorer",
    "LatentExplorer",
    "LineCutExplorer",
    "Selection",
    "TrainingMonitor",
]


def __getattr__(name: str):
    if name == "TrainingMonitor":
        return importlib.import_module("stswidgets.widgets.training").TrainingMonitor
    raise AttributeError(f"module 'stswidgets.widgets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
