"""The paper's analysis as steps: the ONLY implementation of each.

Every front end (the notebooks, the app, ``stswidgets run``, campaigns, the benchmarks and the
widgets) calls these functions; each takes the grid or its matrix view and one
:class:`PipelineConfig`, and returns a small dataclass:

============================  =======================  ===================================
step                          function                 result
============================  =======================  ===================================
input, checked once           :func:`load`             :class:`PipelineInput`
distance statistics (Fig. 4)  :func:`distance_statistics`  :class:`DistanceStatistics`
similarity learning (Fig. 7)  :func:`similarity_score`  :class:`Projection`
site classes (Fig. 8)         :func:`site_classes`     :class:`SiteClasses`
results.nc variables          :func:`results_variables`  dict of DataArrays
the series on one file        :func:`run_file`         :class:`RunResult`
report.html                   :func:`write_report`     the page's path
============================  =======================  ===================================

:func:`cached` keeps a step's result in the run folder so that a later notebook reuses it.
"""

from stswidgets.pipeline.assemble import results_variables
from stswidgets.pipeline.cache import cached, fingerprint
from stswidgets.pipeline.config import PROFILES, PipelineConfig, config_for
from stswidgets.pipeline.data import MIN_VALID_SPECTRA, InputError, PipelineInput, load
from stswidgets.pipeline.distances import DistanceStatistics, distance_statistics
from stswidgets.pipeline.figures import draw_class_map, draw_score_map, maps_png
from stswidgets.pipeline.report import write_report
from stswidgets.pipeline.run import RunError, RunResult, run_file
from stswidgets.pipeline.score import Projection, SiteClasses, similarity_score, site_classes

__all__ = [
    "MIN_VALID_SPECTRA",
    "PROFILES",
    "DistanceStatistics",
    "InputError",
    "PipelineConfig",
    "PipelineInput",
    "Projection",
    "RunError",
    "RunResult",
    "SiteClasses",
    "cached",
    "draw_class_map",
    "draw_score_map",
    "config_for",
    "distance_statistics",
    "fingerprint",
    "load",
    "maps_png",
    "results_variables",
    "run_file",
    "similarity_score",
    "site_classes",
    "write_report",
]
