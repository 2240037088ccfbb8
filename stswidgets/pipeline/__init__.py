"""The paper's analysis as steps: the ONLY implementation of each.

Every front end (the notebooks, the app, ``stswidgets run``, campaigns, the benchmarks and the
widgets) calls these functions; each takes the grid or its matrix view and one
:class:`PipelineConfig`, and returns a small dataclass:

- input, checked and normalised once: :func:`load` -> :class:`PipelineInput` (a grid, or a
  collection of spectra: ``PipelineInput.geometry``; :func:`needs_map` and :func:`too_few`
  say why a step is skipped on one, :func:`draw_values` draws any per-spectrum value where it
  was measured, :func:`on_spectra` puts it back on the map or the ``spectrum`` dim; its ``X`` is
  normalised as ``PipelineConfig.normalize`` says: :func:`apply_normalization`,
  :func:`choose_normalization`, :class:`Normalization`; no step normalises again)
- segmentation (Fig. 2): :func:`segment` -> :class:`Segmentation`
- toy latent space (Fig. 1): :func:`toy_family` -> :class:`ToyFamily`
- PCA + k-means (Fig. 3a-c): :func:`linear_latent_space` -> :class:`LinearLatentSpace`
- Ward hierarchy (Fig. 3d): :func:`ward_hierarchy` -> :class:`WardHierarchy`
- noise floor: :func:`noise_floor` -> :class:`NoiseFloor`; :func:`denoise` -> :class:`Denoised`
- distance statistics (Fig. 4): :func:`distance_statistics` -> :class:`DistanceStatistics`
- distance correlation (Fig. 5): :func:`pca_distance_correlation` -> :class:`DistanceCorrelations`
- non-linear latent spaces (Fig. 6): :func:`nonlinear_reduction` -> :class:`LatentSpaces`
- similarity learning (Fig. 7): :func:`similarity_score` -> :class:`Projection`
- site classes (Fig. 8): :func:`site_classes` -> :class:`SiteClasses`; defect-centred radial
  profiles: :func:`defect_profiles` -> :class:`DefectProfiles`
- spectral weight (Fig. 8b, c): :func:`spectral_weight_transfer` -> :class:`SpectralWeight`
- physics maps (notebook 09): :func:`physics_maps` -> :class:`PhysicsMaps` (gap, peaks, bound
  states, Fourier maps, key energies); :func:`physics_profiles` (gap, score, any map around the
  defects); figures in :mod:`stswidgets.pipeline.physics_plots` (:func:`export_figure`,
  :func:`save_figures`: SVG / PDF)
- results.nc variables: :func:`results_variables` -> dict of DataArrays
- the series on one file: :func:`run_file` -> :class:`RunResult`; report.html: :func:`write_report`

:func:`cached` keeps a step's result in the run folder so that a later notebook reuses it.
"""

from stswidgets.pipeline.assemble import results_variables
from stswidgets.pipeline.cache import cached, fingerprint, stored
from stswidgets.pipeline.collection import (
    GEOMETRIES,
    MIN_COLLECTION_SPECTRA,
    needs_map,
    on_spectra,
    too_few,
)
from stswidgets.pipeline.config import PROFILES, PipelineConfig, config_for
from stswidgets.pipeline.correlation import (
    DistanceCorrelations,
    correlation_bins,
    distance_correlations,
    pca_distance_correlation,
)
from stswidgets.pipeline.data import MIN_VALID_SPECTRA, InputError, PipelineInput, load
from stswidgets.pipeline.distances import (
    DistanceStatistics,
    distance_attrs,
    distance_statistics,
    split_auc,
)
from stswidgets.pipeline.latent import (
    EMBED_METHODS,
    LatentSpaces,
    Populations,
    embed,
    latent_correlation,
    nonlinear_reduction,
    populations,
    reduction_summary,
    separation_table,
)
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
from stswidgets.pipeline.maps import (
    PhysicsMaps,
    contrast_energy,
    gap_values,
    gap_verdict,
    key_energies,
    mapped_grid,
    physics_maps,
    physics_profiles,
    physics_variables,
)
from stswidgets.pipeline.noise import Denoised, NoiseFloor, denoise, noise_floor
from stswidgets.pipeline.normalization import (
    Normalization,
    apply_normalization,
    choose_normalization,
    normalize_grid,
)
from stswidgets.pipeline.physics_plots import export_figure, save_figures
from stswidgets.pipeline.physics_text import physics_summary
from stswidgets.pipeline.plots import (
    draw_class_map,
    draw_class_spectra,
    draw_collection_spectra,
    draw_coordinate_field,
    draw_distance_correlation,
    draw_energy_correlation,
    draw_energy_distance,
    draw_latent,
    draw_pair_threshold,
    draw_score_map,
    draw_setpoint_map,
    draw_setpoint_spread,
    draw_training_curves,
    draw_values,
    maps_png,
)
from stswidgets.pipeline.profiles import (
    DefectProfiles,
    MapProfile,
    defect_profiles,
    draw_defect_profiles,
    draw_map_profile,
    draw_profile_waterfall,
    hug_defects,
)
from stswidgets.pipeline.qpi import friedel_wavevector, qpi_highpass, qpi_ring
from stswidgets.pipeline.report import write_report
from stswidgets.pipeline.run import RunError, RunResult, run_file
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
from stswidgets.pipeline.segmentation import Segmentation, segment
from stswidgets.pipeline.spectral_weight import (
    SpectralWeight,
    spectral_weight_transfer,
    weight_summary,
)

__all__ = [
    "EMBED_METHODS",
    "GEOMETRIES",
    "KMEANS_K",
    "MIN_COLLECTION_SPECTRA",
    "MIN_VALID_SPECTRA",
    "PROFILES",
    "CoordinateField",
    "DistanceCorrelations",
    "Denoised",
    "DistanceStatistics",
    "InputError",
    "LatentSpaces",
    "LinearLatentSpace",
    "NoiseFloor",
    "NormalizationTrial",
    "PairDistances",
    "PipelineConfig",
    "PipelineInput",
    "Populations",
    "Projection",
    "RunError",
    "RunResult",
    "Segmentation",
    "SiteClasses",
    "DefectProfiles",
    "MapProfile",
    "PhysicsMaps",
    "defect_profiles",
    "draw_defect_profiles",
    "draw_map_profile",
    "draw_profile_waterfall",
    "export_figure",
    "contrast_energy",
    "gap_values",
    "gap_verdict",
    "hug_defects",
    "key_energies",
    "mapped_grid",
    "physics_maps",
    "physics_profiles",
    "physics_summary",
    "physics_variables",
    "friedel_wavevector",
    "qpi_highpass",
    "qpi_ring",
    "save_figures",
    "stored",
    "SpectralWeight",
    "ToyFamily",
    "WardHierarchy",
    "cached",
    "compare_normalizations",
    "Normalization",
    "apply_normalization",
    "choose_normalization",
    "normalize_grid",
    "config_for",
    "coordinate_field",
    "correlation_bins",
    "distance_correlations",
    "denoise",
    "distance_attrs",
    "distance_statistics",
    "draw_class_map",
    "draw_class_spectra",
    "draw_collection_spectra",
    "draw_coordinate_field",
    "draw_distance_correlation",
    "draw_energy_correlation",
    "draw_energy_distance",
    "draw_latent",
    "draw_pair_threshold",
    "draw_score_map",
    "draw_setpoint_map",
    "draw_setpoint_spread",
    "draw_training_curves",
    "draw_values",
    "embed",
    "fingerprint",
    "latent_correlation",
    "linear_latent_space",
    "load",
    "maps_png",
    "needs_map",
    "on_spectra",
    "noise_floor",
    "nonlinear_reduction",
    "pair_distances",
    "pca_distance_correlation",
    "populations",
    "reduction_summary",
    "results_variables",
    "run_file",
    "score_separation",
    "score_summary",
    "second_projection",
    "segment",
    "separation_table",
    "similarity_score",
    "site_classes",
    "spectral_weight_transfer",
    "split_auc",
    "too_few",
    "toy_family",
    "ward_hierarchy",
    "weight_summary",
    "write_report",
]
