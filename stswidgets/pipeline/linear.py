"""The linear latent space (paper Figs. 1 and 3): PCA, k-means, the Ward hierarchy, the toy.

- :func:`toy_family`: the two-centroid polynomial curves of Fig. 1, their PCA and k-means.
- :func:`linear_latent_space`: PCA of the (normalised) spectra with its scree, k-means with
  ``k = 2, 3`` in the plane of the first ``config.n_components`` scores, each cluster's mean
  spectrum.
- :func:`ward_hierarchy`: the agglomerative Ward tree on the first ``config.ward_components``
  scores and the cluster sizes at each of its top ``config.n_levels`` levels (Fig. 3d).
- :func:`compare_normalizations`: the same latent space under every per-spectrum
  normalisation, scored against a ground truth.

Built on :mod:`stswidgets.analysis.decomposition` and :mod:`stswidgets.analysis.clustering`;
notebook 02 draws the results, notebook 04 reuses the PCA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = [
    "KMEANS_K",
    "LinearLatentSpace",
    "NormalizationTrial",
    "ToyFamily",
    "WardHierarchy",
    "compare_normalizations",
    "linear_latent_space",
    "toy_family",
    "ward_hierarchy",
]

#: Numbers of k-means clusters of the paper's Fig. 3b, c.
KMEANS_K = (2, 3)


@dataclass
class ToyFamily:
    """The toy of Fig. 1: curves ``y(t) = a t + b t**2`` from two clusters of ``(a, b)``.

    Attributes
    ----------
    t : numpy.ndarray, shape ``(n_points,)``
        Curve parameter (a.u.).
    curves : numpy.ndarray, shape ``(n_toy, n_points)``
        ``y(t)`` of every curve (a.u.).
    params : numpy.ndarray, shape ``(n_toy, 2)``
        The true ``(a, b)`` of every curve.
    labels : numpy.ndarray of int, shape ``(n_toy,)``
        True cluster: 0 majority, 1 minority.
    pca : PCAResult
        Two components of the curves.
    kmeans : KMeansResult
        ``k = 2`` on the two PCA scores.
    ari : float
        Adjusted Rand index of the k-means labels against ``labels`` (1: identical).
    """

    t: np.ndarray
    curves: np.ndarray
    params: np.ndarray
    labels: np.ndarray
    pca: object
    kmeans: object
    ari: float


def toy_family(config: PipelineConfig | None = None) -> ToyFamily:
    """Draw ``config.n_toy`` toy curves (seed ``config.seed``), their PCA and k-means (k = 2).

    Examples
    --------
    >>> toy = toy_family(config_for("test"))
    >>> toy.pca.cumulative[1], toy.ari
    """
    from sklearn.metrics import adjusted_rand_score

    from stswidgets import datasets
    from stswidgets.analysis import clustering, decomposition

    config = config or config_for("full")
    toy = datasets.polynomial_family(seed=config.seed, n_samples=config.n_toy)
    curves = np.asarray(toy["curves"].values)
    labels = np.asarray(toy["labels"].values)
    pca = decomposition.pca(curves, n_components=2, random_state=config.seed)
    kmeans = clustering.kmeans(pca.scores, 2, random_state=config.seed)
    return ToyFamily(
        t=np.asarray(toy["t"].values),
        curves=curves,
        params=np.asarray(toy["params"].values),
        labels=labels,
        pca=pca,
        kmeans=kmeans,
        ari=float(adjusted_rand_score(labels, kmeans.labels)),
    )


@dataclass
class LinearLatentSpace:
    """PCA of the spectra and k-means in its plane.

    Attributes
    ----------
    pca : PCAResult
        Every component (``k = min(n_spectra, n_bias)``): scores ``(n_spectra, k)`` in the
        units of the spectra given (normalised by :func:`stswidgets.pipeline.load`),
        components ``(k, n_bias)``, explained variance.
    n_components : int
        Dimension of the latent space k-means runs in (the first scores).
    kmeans : dict k -> KMeansResult
        Labels ``(n_spectra,)`` numbered by decreasing size, centres ``(k, n_components)``.
    centres : dict k -> ClusterCentres
        Mean and standard deviation ``(k, n_bias)`` of the spectra of each cluster.
    """

    pca: object
    n_components: int
    kmeans: dict
    centres: dict

    @property
    def latent(self) -> np.ndarray:
        """The latent coordinates k-means runs on, shape ``(n_spectra, n_components)``."""
        return self.pca.scores[:, : self.n_components]

    def sizes(self, k: int) -> np.ndarray:
        """Spectra per cluster of the k-means with ``k`` clusters, largest first."""
        return np.bincount(self.kmeans[k].labels, minlength=k)


def linear_latent_space(
    X: np.ndarray, config: PipelineConfig | None = None, ks: tuple[int, ...] = KMEANS_K
) -> LinearLatentSpace:
    """PCA of ``X`` as given, k-means for every ``k`` in ``ks``.

    Parameters
    ----------
    X : numpy.ndarray, shape ``(n_spectra, n_bias)``
        Complete spectra, already normalised (``PipelineInput.X``).
    config : PipelineConfig
        ``n_components`` (the k-means plane, at least 2), ``seed``.
    ks : tuple of int
        Numbers of clusters.

    Returns
    -------
    LinearLatentSpace
    """
    from stswidgets.analysis import clustering, decomposition
    from stswidgets.grid import check_spectra

    config = config or config_for("full")
    if config.n_components < 1:
        raise ValueError(f"n_components must be at least 1, got {config.n_components}")
    spectra = check_spectra(X, min_spectra=1, min_bias=1)
    pca = decomposition.pca(spectra, random_state=config.seed)
    n_components = min(int(config.n_components), pca.n_components)
    latent = pca.scores[:, :n_components]
    kmeans = {k: clustering.kmeans(latent, k, random_state=config.seed) for k in ks}
    centres = {k: clustering.cluster_centres(spectra, kmeans[k].labels) for k in ks}
    return LinearLatentSpace(pca, n_components, kmeans, centres)


@dataclass
class WardHierarchy:
    """The agglomerative Ward tree of the spectra and its cluster sizes (Fig. 3d).

    Attributes
    ----------
    tree : numpy.ndarray, shape ``(n_spectra - 1, 4)``
        scipy linkage matrix (merge height in the units of the PCA scores).
    sizes : numpy.ndarray of int, shape ``(n_levels, n_levels)``
        Row ``L - 1``: the sizes (spectra) of the ``L`` clusters at level ``L``, largest first,
        padded with zeros.
    n_components : int
        PCA scores the tree is built on.
    """

    tree: np.ndarray
    sizes: np.ndarray
    n_components: int

    @property
    def levels(self) -> np.ndarray:
        """Hierarchy levels ``1 .. n_levels`` (number of clusters), shape ``(n_levels,)``."""
        return np.arange(1, self.sizes.shape[0] + 1)

    def flat(self, n_clusters: int) -> np.ndarray:
        """Cluster of every spectrum when the tree is cut into ``n_clusters``, ``(n_spectra,)``."""
        from scipy.cluster.hierarchy import fcluster

        return fcluster(self.tree, int(n_clusters), criterion="maxclust")


def ward_hierarchy(pca, config: PipelineConfig | None = None) -> WardHierarchy:
    """Ward tree on the first ``config.ward_components`` scores of ``pca`` and the cluster
    sizes at its top ``config.n_levels`` levels (at most ``n_spectra - 1``).

    Memory: the tree needs all ``n (n - 1) / 2`` pair distances (400 MB for 10,000 spectra;
    see :func:`stswidgets.analysis.clustering.ward_tree`).
    """
    from stswidgets.analysis import clustering

    config = config or config_for("full")
    n_components = min(int(config.ward_components), pca.n_components)
    tree = clustering.ward_tree(pca.scores[:, :n_components])
    n_spectra = tree.shape[0] + 1
    sizes = clustering.cluster_sizes_by_level(tree, n_levels=min(config.n_levels, n_spectra - 1))
    return WardHierarchy(tree, sizes, n_components)


@dataclass
class NormalizationTrial:
    """The linear latent space under one normalisation, against the ground truth.

    ``cumulative``: variance fraction held by 1, 2, 3 components; ``sizes``: k-means (k = 2)
    cluster sizes; ``ari``: their adjusted Rand index against the minority mask;
    ``auc_pc1``: ROC AUC of PC1 (sign oriented), minority vs majority.
    """

    normalization: str
    cumulative: np.ndarray
    sizes: np.ndarray
    ari: float
    auc_pc1: float


def compare_normalizations(
    data, config: PipelineConfig | None = None, space=None
) -> list[NormalizationTrial]:
    """:func:`linear_latent_space` (k = 2) under every normalisation, scored against the truth.

    The run itself uses one normalisation (``data.normalization``); this diagnostic repeats
    the linear latent space on the measured spectra (``data.raw_X``) normalised by each method
    of :data:`stswidgets.pipeline.normalization.METHODS` in turn.

    Parameters
    ----------
    data : PipelineInput
        A simulated grid's input (``truth`` with ``vacancy``), from :func:`stswidgets.
        pipeline.load`.
    config : PipelineConfig
    space : LinearLatentSpace, optional
        :func:`linear_latent_space` of ``data.X`` already computed: reused for the run's own
        normalisation.
    """
    from sklearn.metrics import adjusted_rand_score

    from stswidgets.analysis.metrics import separation_report
    from stswidgets.pipeline.normalization import METHODS, normalize_grid

    config = config or config_for("full")
    truth, valid = data.truth, data.valid
    minority = np.asarray(truth["vacancy"], dtype=bool)[np.asarray(valid, dtype=bool)]
    raw = data.raw_X
    used = data.normalization.method if data.normalization is not None else None
    trials = []
    for method in METHODS:
        if space is not None and method == used and 2 in space.kmeans:
            trial_space = space
        else:
            X = data.X if method == used else normalize_grid(data.grid, raw, method)[0]
            trial_space = linear_latent_space(X, config, ks=(2,))
        report = separation_report(trial_space.pca.scores[:, 0], truth, valid)
        trials.append(
            NormalizationTrial(
                normalization=method,
                cumulative=trial_space.pca.cumulative[:3],
                sizes=trial_space.sizes(2),
                ari=float(adjusted_rand_score(minority, trial_space.kmeans[2].labels)),
                auc_pc1=float(report.auc_vacancy_surface),
            )
        )
    return trials
