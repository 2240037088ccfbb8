"""The paper's analysis as steps: the ONLY implementation of each.

Every front end (the notebooks, the app, ``stswidgets run``, campaigns, the benchmarks and the
widgets) calls these functions; each takes the grid or its matrix view and one
:class:`PipelineConfig`, and returns a small dataclass:

============================  =======================  ===================================
step                          function                 result
============================  =======================  ===================================
input, checked once           :func:`load`             :class:`PipelineInput`
distance statistics (Fig. 4)  :func:`distance_statistics`  :class:`DistanceStatistics`
non-linear latent spaces      :func:`nonlinear_reduction`  :class:`LatentSpaces`
(Fig. 6)
similarity learning (Fig. 7)  :func:`similarity_score`  :class:`Projection`
site classes (Fig. 8)         :func:`site_classes`     :class:`SiteClasses`
spectral weight (Fig. 8b, c)  :func:`spectral_weight_transfer`  :class:`SpectralWeight`
results.nc variables          :func:`results_variables`  dict of DataArrays
============================  =======================  ===================================

:func:`cached` keeps a step's result in the run folder so that a later notebook reuses it.
"""

from stswidgets.pipeline.assemble import results_variables
from stswidgets.pipeline.cache import cached, fingerprint
from stswidgets.pipeline.config import PROFILES, PipelineConfig, config_for
from stswidgets.pipeline.data import MIN_VALID_SPECTRA, InputError, PipelineInput, load
from stswidgets.pipeline.distances import DistanceStatistics, distance_statistics
from stswidgets.pipeline.figures import draw_class_map, draw_score_map, maps_png
from stswidgets.pipeline.latent import (
    EMBED_METHODS,
    LatentSpaces,
    Populations,
    correlation_bins,
    embed,
    latent_correlation,
    nonlinear_reduction,
    populations,
    reduction_summary,
    separation_table,
)
from stswidgets.pipeline.plots import (
    draw_class_spectra,
    draw_coordinate_field,
    draw_distance_correlation,
    draw_energy_correlation,
    draw_energy_distance,
    draw_latent,
    draw_pair_threshold,
    draw_training_curves,
)
from stswidgets.pipeline.score import (
    CoordinateField,
    PairDistances,
    Projection,
    SiteClasses,
    coordinate_field,
    pair_distances,
    score_separation,
    score_summary,
    second_projection,
    similarity_score,
    site_classes,
)
from stswidgets.pipeline.spectral_weight import (
    SpectralWeight,
    spectral_weight_transfer,
    weight_summary,
)

__all__ = [
    "EMBED_METHODS",
    "MIN_VALID_SPECTRA",
    "CoordinateField",
    "LatentSpaces",
    "PairDistances",
    "Populations",
    "SpectralWeight",
    "coordinate_field",
    "correlation_bins",
    "draw_class_spectra",
    "draw_coordinate_field",
    "draw_distance_correlation",
    "draw_energy_correlation",
    "draw_energy_distance",
    "draw_latent",
    "draw_pair_threshold",
    "draw_training_curves",
    "embed",
    "latent_correlation",
    "nonlinear_reduction",
    "pair_distances",
    "populations",
    "reduction_summary",
    "score_separation",
    "score_summary",
    "second_projection",
    "separation_table",
    "spectral_weight_transfer",
    "weight_summary",
    "PROFILES",
    "DistanceStatistics",
    "InputError",
    "PipelineConfig",
    "PipelineInput",
    "Projection",
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
    "similarity_score",
    "site_classes",
]
