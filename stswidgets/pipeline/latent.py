"""Latent spaces (paper Fig. 6): one entry point for every method, and the non-linear reductions.

:func:`embed` gives an ``(n_spectra, n_components)`` latent space for any method of the
paper's Figs. 3, 6 and 7 (``pca``, ``kpca``, ``nmf``, ``umap``, ``tsne``, ``autoencoder``,
``siamese``): the numpy ones from :mod:`stswidgets.analysis.decomposition`, the learned ones
from :mod:`stswidgets.learn` (torch, imported inside the call). :func:`nonlinear_reduction`
runs the methods a :class:`~stswidgets.pipeline.PipelineConfig` names (notebook 05) and pairs
each latent space with its distance correlation (Fig. 5 style); :func:`separation_table`
scores each against a simulated grid's ground truth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from stswidgets.pipeline.collection import STEP_MIN_SPECTRA
from stswidgets.pipeline.config import PipelineConfig, config_for
from stswidgets.pipeline.correlation import correlation_bins

__all__ = [
    "EMBED_METHODS",
    "LatentSpaces",
    "Populations",
    "embed",
    "latent_correlation",
    "method_settings",
    "nonlinear_reduction",
    "populations",
    "reduction_summary",
    "separation_table",
]

#: The methods :func:`embed` knows, in the order of the paper.
EMBED_METHODS = ("pca", "kpca", "nmf", "umap", "tsne", "autoencoder", "siamese")


def embed(
    X, method: str, n_components: int = 2, random_state: int | None = 0, **params
) -> np.ndarray:
    """Latent space of the spectra by any method of the paper, one call for all.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        One spectrum per row.
    method : {"pca", "kpca", "nmf", "umap", "tsne", "autoencoder", "siamese"}
        ``pca``: :func:`~stswidgets.analysis.decomposition.pca` scores; ``kpca``, ``nmf``,
        ``umap``, ``tsne``: :func:`~stswidgets.analysis.decomposition.kernel_pca`,
        :func:`~stswidgets.analysis.decomposition.nmf`,
        :func:`~stswidgets.analysis.decomposition.umap_embedding`,
        :func:`~stswidgets.analysis.decomposition.tsne_embedding` (see them for ``params``);
        ``autoencoder`` / ``siamese``: :class:`stswidgets.learn.AutoencoderEmbedding` /
        :class:`stswidgets.learn.SiameseEmbedding` built with ``random_state`` and ``params``,
        their output width set to ``n_components``, then ``fit_transform(X)``.
    n_components : int
        Dimension of the latent space.
    random_state : int or None
        Seed; the same seed gives the same latent space on CPU.
    **params
        Method-specific settings.

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_components)``, float64

    Raises
    ------
    ValueError
        An unknown ``method`` (the message lists the known ones) or unusable input.
    """
    from stswidgets.analysis import decomposition

    key = str(method).lower()
    if key not in EMBED_METHODS:
        raise ValueError(f"unknown embedding method {method!r}; expected one of {EMBED_METHODS}")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be a matrix (n_spectra >= 2, n_bias), got shape {X.shape}")
    if int(n_components) < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components}")
    n_components = int(n_components)
    numpy_methods = {
        "kpca": decomposition.kernel_pca,
        "nmf": decomposition.nmf,
        "umap": decomposition.umap_embedding,
        "tsne": decomposition.tsne_embedding,
    }
    if key == "pca":
        Z = decomposition.pca(X, n_components=n_components, random_state=random_state).scores
    elif key in numpy_methods:
        Z = numpy_methods[key](X, n_components, random_state, **params)
    else:
        from stswidgets import learn

        cls = learn.AutoencoderEmbedding if key == "autoencoder" else learn.SiameseEmbedding
        model = cls(random_state=random_state, **_latent_size(cls, n_components, params))
        Z = model.fit_transform(X)
    Z = np.asarray(Z, dtype=np.float64)
    if Z.shape != (X.shape[0], n_components):
        raise RuntimeError(
            f"method {key!r} returned shape {Z.shape}, expected {(X.shape[0], n_components)}"
        )
    return Z


def _latent_size(cls, n_components: int, params: dict) -> dict:
    """Keywords giving a learned estimator an ``n_components``-dimensional output (its
    ``n_components``, or the last entry of its ``widths``)."""
    import inspect

    accepted = inspect.signature(cls.__init__).parameters
    if "n_components" in accepted:
        return {"n_components": n_components, **params}
    if "widths" not in accepted:
        return dict(params)
    widths = list(params.get("widths", accepted["widths"].default))
    if "widths" in params and widths[-1] != n_components:
        raise ValueError(
            f"widths={tuple(widths)} ends in {widths[-1]}, but n_components={n_components}; "
            "the last width is the dimension of the latent space"
        )
    widths[-1] = n_components
    return {**params, "widths": tuple(widths)}


def method_settings(config: PipelineConfig) -> dict[str, tuple[str, dict]]:
    """The latent spaces ``config.methods`` asks for: ``display name -> (method, params)``.

    Kernel PCA gives one space per ``kpca_gamma_scales`` entry; the autoencoder trains with
    ``max_epochs`` / ``max_time`` (early stopping on held-out spectra). The learned methods
    get ``normalize="none"``: the pipeline's spectra are normalised once, by
    :func:`stswidgets.pipeline.load`.
    """
    known = {"kpca", "nmf", "umap", "autoencoder", "tsne", "pca", "siamese"}
    unknown = sorted(set(config.methods) - known)
    if unknown:
        raise ValueError(f"unknown methods {unknown} in config.methods; expected {sorted(known)}")
    settings: dict[str, tuple[str, dict]] = {}
    for method in config.methods:
        if method == "kpca":
            for scale in config.kpca_gamma_scales:
                name = f"kernel PCA (RBF, {scale:g} x median gamma)"
                settings[name] = (
                    "kpca",
                    {"gamma_scale": float(scale), "fit_size": config.kpca_fit_size},
                )
        elif method == "nmf":
            settings["NMF"] = ("nmf", {"negative": "shift", "fit_size": config.nmf_fit_size})
        elif method == "umap":
            settings[f"UMAP ({config.umap_neighbors} neighbours)"] = (
                "umap",
                {
                    "n_neighbors": config.umap_neighbors,
                    "min_dist": config.umap_min_dist,
                    "n_epochs": config.umap_epochs,
                },
            )
        elif method in ("autoencoder", "siamese"):
            settings[method] = (
                method,
                {
                    "max_epochs": config.max_epochs,
                    "max_time": config.max_time,
                    "normalize": "none",
                },
            )
        else:
            settings[method] = (method, {})
    return settings


def latent_correlation(X, Z, config: PipelineConfig | None = None, log: bool = False):
    """Distance of each spectrum from the mean in data space (``X``) against the same in the
    latent space ``Z`` (:func:`stswidgets.analysis.correlation.distance_correlation`), with
    :func:`correlation_bins` bins and, for ``log``, ``config.correlation_offset``."""
    from stswidgets.analysis.correlation import distance_correlation

    config = config or config_for("full")
    options = {"offset_fraction": config.correlation_offset} if log else {}
    return distance_correlation(X, Z, bins=correlation_bins(len(X), config), log=log, **options)


@dataclass
class LatentSpaces:
    """Each method's latent space of the same spectra (notebook 05).

    ``latent``: ``name -> Z`` ``(n_spectra, 2)`` (arbitrary units of each method);
    ``runtime_s``: wall-clock seconds of each; ``correlation``: ``name ->``
    :class:`~stswidgets.analysis.correlation.DistanceCorrelation` against the data (the
    spectra as given: ``PipelineInput.X``, normalised once by :func:`stswidgets.pipeline.load`).
    """

    latent: dict[str, np.ndarray]
    runtime_s: dict[str, float]
    correlation: dict = field(default_factory=dict)
    #: ``name -> sentence``: methods left out because ``X`` holds too few spectra for them.
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def spearman(self) -> dict[str, float]:
        return {name: float(c.spearman) for name, c in self.correlation.items()}

    @property
    def data_distance(self) -> np.ndarray:
        """``(n_spectra,)`` distance of each (normalised) spectrum from the mean spectrum."""
        return next(iter(self.correlation.values())).data_distance


def nonlinear_reduction(
    X, config: PipelineConfig | None = None, progress: bool = True
) -> LatentSpaces:
    """The latent spaces of ``config.methods`` (Fig. 6), each with its distance correlation.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        Complete spectra, already normalised (``PipelineInput.X``); used as given (the
        learned methods get ``normalize="none"``).
    config : PipelineConfig
        ``methods``, ``seed``, ``kpca_*``, ``umap_*``, ``max_epochs``,
        ``max_time``, ``correlation_bins``.
    progress : bool
        A line per method (and the autoencoder's progress bar).
    """
    from stswidgets.analysis import decomposition

    config = config or config_for("full")
    X = np.asarray(X, dtype=np.float64)
    latent, runtime, skipped = {}, {}, {}
    median_gamma = None
    for name, (method, params) in method_settings(config).items():
        need = STEP_MIN_SPECTRA["autoencoder"] if method in ("autoencoder", "siamese") else 0
        if len(X) < need:  # a small collection of spectra: the networks need more
            skipped[name] = f"{name} needs at least {need} spectra; {len(X)} given: left out"
            continue
        start = time.perf_counter()
        if method in ("autoencoder", "siamese"):
            params = {**params, "progress": progress}
        elif method == "kpca":  # the median heuristic once for every kernel width
            if median_gamma is None:
                median_gamma = decomposition.median_gamma(X, random_state=config.seed)
            scale = params["gamma_scale"]
            params = {"fit_size": params["fit_size"], "gamma": scale * median_gamma}
        latent[name] = embed(X, method, n_components=2, random_state=config.seed, **params)
        runtime[name] = time.perf_counter() - start
        if progress:
            print(f"{name}: {runtime[name]:.1f} s", flush=True)
    correlation = {name: latent_correlation(X, Z, config) for name, Z in latent.items()}
    return LatentSpaces(latent, runtime, correlation, skipped)


@dataclass
class Populations:
    """Ground truth of a simulated grid per spectrum (rows of ``X``): boolean ``vacancy``,
    ``transition`` (not vacancy) and ``surface`` masks, each ``(n_spectra,)``."""

    vacancy: np.ndarray
    transition: np.ndarray
    surface: np.ndarray

    @property
    def code(self) -> np.ndarray:
        """0 surface, 1 transition, 2 vacancy, ``(n_spectra,)`` float."""
        return 2.0 * self.vacancy + self.transition

    label = "truth (0 surface, 1 transition, 2 vacancy)"


def populations(data) -> Populations | None:
    """The simulated populations of a :class:`~stswidgets.pipeline.PipelineInput`, or None
    for a data file (no ground truth)."""
    if data.truth is None:
        return None
    valid = np.asarray(data.valid)
    vacancy = np.asarray(data.truth["vacancy"])[valid]
    transition = np.asarray(data.truth["transition"])[valid] & ~vacancy
    return Populations(vacancy, transition, ~vacancy & ~transition)


def separation_table(spaces: LatentSpaces, data):
    """Each latent space against the simulated truth, one row per method (a DataFrame).

    Columns: ROC AUCs vacancy/surface, vacancy/transition, transition/surface and their
    mean, the Fisher ratio (all on the label-free distance of each point from the latent
    median), ``LDA v/s`` (vacancy/surface AUC on the linear discriminant fitted on the truth:
    an optimistic, in-sample estimate for a linear read-out), the Spearman correlation of
    the distances from the mean and the runtime (s). For a data file (no truth) only the
    last two.
    """
    import pandas as pd

    from stswidgets.analysis.metrics import separation_report

    rows = []
    for name, Z in spaces.latent.items():
        row = {"method": name}
        if data.truth is not None:
            centre = separation_report(Z, data.truth, data.valid, reduce="centre")
            lda = separation_report(Z, data.truth, data.valid, reduce="lda")
            row.update(
                {
                    "vac/surf": centre.auc_vacancy_surface,
                    "vac/tr": centre.auc_vacancy_transition,
                    "tr/surf": centre.auc_transition_surface,
                    "mean AUC": centre.mean_auc,
                    "Fisher": centre.fisher,
                    "LDA v/s": lda.auc_vacancy_surface,
                }
            )
        row["Spearman"] = spaces.correlation[name].spearman
        row["time (s)"] = spaces.runtime_s[name]
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def reduction_summary(spaces: LatentSpaces, table) -> list[str]:
    """The "what this shows" sentences of notebook 05 from :func:`separation_table`."""
    best, worst = table["Spearman"].idxmax(), table["Spearman"].idxmin()
    n_spectra = len(next(iter(spaces.latent.values())))
    lines = [
        f"{n_spectra} spectra reduced to 2D by {len(spaces.latent)} methods in "
        f"{table['time (s)'].sum():.0f} s",
    ]
    if "vac/surf" in table:  # the methods are ranked by their separation, not by Spearman
        top = table["mean AUC"].idxmax()
        lines.append(
            f"against the simulated truth, {top} separates the populations best (mean AUC "
            f"{table.loc[top, 'mean AUC']:.3f}; vacancy/surface "
            f"{table.loc[top, 'vac/surf']:.3f}, label-free distance from the centre)"
        )
    lines.append(
        f"diagnostic only (a monotone curve, not a separation): the order of the distances "
        f"from the mean survives best in {best} (Spearman {table.loc[best, 'Spearman']:.3f}), "
        f"worst in {worst} ({table.loc[worst, 'Spearman']:.3f})"
    )
    return lines
