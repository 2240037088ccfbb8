"""Distance correlation (paper Fig. 5): does a latent space keep who is far from the mean?

:func:`distance_correlations` pairs every spectrum's distance from the mean spectrum with the
distance of its latent coordinates from their mean, linear and log-rescaled, and adds the
idealised step a perfect two-population separation would give; :func:`pca_distance_correlation`
does it for the PCA latent space of :mod:`stswidgets.pipeline.linear` (notebook 04). The bins
and the log offset come from the config (``correlation_bins``, ``correlation_offset``), so the
widget and the figures show the same densities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = [
    "DistanceCorrelations",
    "correlation_bins",
    "distance_correlations",
    "pca_distance_correlation",
]


def correlation_bins(n_spectra: int, config: PipelineConfig | None = None) -> int:
    """Bins per axis of a distance-correlation density: ``config.correlation_bins``, or the one
    rule :func:`stswidgets.analysis.correlation.default_bins` (notebooks 04, 05, explorers)."""
    from stswidgets.analysis.correlation import default_bins

    if config is not None and config.correlation_bins is not None:
        return int(config.correlation_bins)
    return default_bins(n_spectra)


@dataclass
class DistanceCorrelations:
    """One latent space's distance correlation, linear and log-rescaled, and the ideal step.

    Attributes
    ----------
    name : str
        What the latent space is (e.g. ``"PCA (2 components)"``).
    Z : numpy.ndarray, shape ``(n_spectra, n_components)``
        The latent coordinates.
    bins : int
        Bins per axis of every density.
    linear, rescaled : DistanceCorrelation
        Distances from the mean (data space: units of the spectra; latent space: its units)
        and their 2D density; ``rescaled`` uses ``log(d + offset)``, the offsets being
        ``config.correlation_offset`` times the median distance of each axis.
    ideal, ideal_log : DistanceCorrelation
        The same for the ideal step (every spectrum replaced by its population's mean).
    minority : numpy.ndarray of bool, shape ``(n_spectra,)``
        The population of the ideal step.
    minority_source : str
        Where ``minority`` comes from (the labels given, or Otsu's threshold of the
        data-space distance).
    """

    name: str
    Z: np.ndarray
    bins: int
    linear: object
    rescaled: object
    ideal: object
    ideal_log: object
    minority: np.ndarray
    minority_source: str


def distance_correlations(
    X: np.ndarray,
    Z: np.ndarray,
    config: PipelineConfig | None = None,
    labels=None,
    name: str = "latent",
) -> DistanceCorrelations:
    """Distance from the mean in data space vs in the latent space ``Z``, and the ideal step.

    Parameters
    ----------
    X : numpy.ndarray, shape ``(n_spectra, n_bias)``
        The spectra the latent space was built from (normalised as it was).
    Z : numpy.ndarray, shape ``(n_spectra, n_components)``
        Latent coordinates.
    config : PipelineConfig
        ``correlation_bins`` (None: :func:`stswidgets.analysis.correlation.default_bins`),
        ``correlation_offset`` (log offset, fraction of each axis' median distance).
    labels : bool array ``(n_spectra,)``, optional
        The two populations of the ideal step (e.g. the true vacancies); None: the spectra
        beyond Otsu's threshold of the data-space distance.
    name : str
        What ``Z`` is, for titles.
    """
    from stswidgets.analysis.correlation import distance_correlation, ideal_step_density

    config = config or config_for("full")
    bins = correlation_bins(len(X), config)
    rescale = {"log": True, "offset_fraction": config.correlation_offset}
    ideal = ideal_step_density(X, labels=labels, bins=bins)
    return DistanceCorrelations(
        name=name,
        Z=np.asarray(Z),
        bins=bins,
        linear=distance_correlation(X, Z, bins=bins),
        rescaled=distance_correlation(X, Z, bins=bins, **rescale),
        ideal=ideal,
        ideal_log=ideal_step_density(X, labels=labels, bins=bins, **rescale),
        minority=ideal.latent_distance > ideal.latent_distance.min(),
        minority_source=(
            "the labels given"
            if labels is not None
            else "spectra beyond Otsu's threshold of the data-space distance"
        ),
    )


def pca_distance_correlation(
    X: np.ndarray, config: PipelineConfig | None = None, labels=None, space=None
) -> DistanceCorrelations:
    """:func:`distance_correlations` of the PCA latent space (notebook 04, Fig. 5a-c).

    The latent space is :func:`stswidgets.pipeline.linear.linear_latent_space`'s: the first
    ``config.n_components`` PCA scores of ``X`` (the spectra as given, ``(n_spectra, n_bias)``,
    ``PipelineInput.X``: normalised once by :func:`stswidgets.pipeline.load`), the same numbers
    as notebook 02.

    Parameters
    ----------
    X : numpy.ndarray, shape ``(n_spectra, n_bias)``
    config : PipelineConfig
    labels : bool array ``(n_spectra,)``, optional
        The populations of the ideal step (see :func:`distance_correlations`).
    space : LinearLatentSpace, optional
        Notebook 02's result for the same ``X`` and ``config`` (e.g. from
        :func:`stswidgets.pipeline.cached`); None: computed here.
    """
    from stswidgets.pipeline.linear import linear_latent_space

    config = config or config_for("full")
    if space is None:
        space = linear_latent_space(X, config, ks=())
    elif len(space.pca.scores) != len(X):
        raise ValueError(
            f"space was computed for {len(space.pca.scores)} spectra; this call has {len(X)}"
        )
    spectra = np.asarray(X, dtype=np.float64)
    n_components = min(int(config.n_components), space.pca.n_components)
    name = f"PCA ({n_components} components)"
    Z = space.pca.scores[:, :n_components]
    return distance_correlations(spectra, Z, config, labels=labels, name=name)
