"""Every method of the series scored against simulated ground truth (notebook 08,
``benchmarks/``): :mod:`stswidgets.evaluation.benchmark` on the FeSe-like grid,
:mod:`stswidgets.evaluation.generalization` on randomized grids nothing was tuned on (every
method on the same normalised input, :mod:`~stswidgets.evaluation.methods`; the metrics of a
draw, :mod:`~stswidgets.evaluation.metrics`; summaries, targets and the plain statement,
:mod:`~stswidgets.evaluation.verdicts`; notebook 08's step, :mod:`~stswidgets.evaluation.step`).

Evaluation sits above the analysis and the learning code: it calls them, never the reverse.
"""

from __future__ import annotations

import importlib

__all__ = ["benchmark", "generalization", "methods", "metrics", "plots", "step", "verdicts"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"stswidgets.evaluation.{name}")
    raise AttributeError(f"module 'stswidgets.evaluation' has no attribute {name!r}")
