"""The paper's analysis as steps: the ONLY implementation of each.

Every front end (the notebooks, the app, ``stswidgets run``, campaigns, the benchmarks and the
widgets) calls these functions; each takes the grid or its matrix view and one
:class:`PipelineConfig`, and returns a small dataclass:

============================  =======================  ===================================
step                          function                 result
============================  =======================  ===================================
input, checked once           :func:`load`             :class:`PipelineInput`
segmentation (Fig. 2)         :func:`segment`          :class:`Segmentation`
toy latent space (Fig. 1)     :func:`toy_family`       :class:`ToyFamily`
PCA + k-means (Fig. 3a-c)     :func:`linear_latent_space`  :class:`LinearLatentSpace`
Ward hierarchy (Fig. 3d)      :func:`ward_hierarchy`   :class:`WardHierarchy`
distance statistics (Fig. 4)  :func:`distance_statistics`  :class:`DistanceStatistics`
distance correlation (Fig. 5)  :func:`pca_distance_correlation`  :class:`DistanceCorrelations`
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
from stswidgets.pipeline.correlation import (
    DistanceCorrelations,
    distance_correlations,
    pca_distance_correlation,
)
from stswidgets.pipeline.data import MIN_VALID_SPECTRA, InputError, PipelineInput, load
from stswidgets.pipeline.distances import DistanceStatistics, distance_statistics, split_auc
from stswidgets.pipeline.figures import draw_class_map, draw_score_map, maps_png
from stswidgets.pipeline.linear import (
    KMEANS_K,
    LinearLatentSpace,
    NormalizationTrial,
    ToyFamily,
    WardHierarchy,
    compare_normalizations,
    linear_latent_space,
    toy_family,
    ward_hierarchy,
)
from stswidgets.pipeline.report import write_report
from stswidgets.pipeline.run import RunError, RunResult, run_file
from stswidgets.pipeline.score import Projection, SiteClasses, similarity_score, site_classes
from stswidgets.pipeline.segmentation import Segmentation, segment

__all__ = [
    "KMEANS_K",
    "MIN_VALID_SPECTRA",
    "PROFILES",
    "DistanceCorrelations",
    "DistanceStatistics",
    "InputError",
    "LinearLatentSpace",
    "NormalizationTrial",
    "PipelineConfig",
    "PipelineInput",
    "Projection",
    "Segmentation",
    "RunError",
    "RunResult",
    "SiteClasses",
    "ToyFamily",
    "WardHierarchy",
    "cached",
    "compare_normalizations",
    "config_for",
    "distance_correlations",
    "distance_statistics",
    "draw_class_map",
    "draw_score_map",
    "fingerprint",
    "linear_latent_space",
    "load",
    "maps_png",
    "pca_distance_correlation",
    "results_variables",
    "segment",
    "similarity_score",
    "site_classes",
    "split_auc",
    "toy_family",
    "ward_hierarchy",
    "run_file",
    "similarity_score",
    "site_classes",
    "write_report",
]
