"""Clustering in the latent space (paper Fig. 3): k-means and agglomerative Ward clustering.

k-means runs on the PCA scores (``Z``, usually PC1-PC2); its decision boundary is drawn by
predicting the cluster of every node of a mesh over the latent plane
(:meth:`KMeansResult.boundary_grid`). The Ward tree (:func:`ward_tree`) gives the dendrogram and
the cluster size vs hierarchy level statistics of Fig. 3d (:func:`cluster_sizes_by_level`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.grid import check_spectra

__all__ = [
    "ClusterCentres",
    "KMeansResult",
    "cluster_centres",
    "cluster_sizes_by_level",
    "kmeans",
    "ward_tree",
]


def _check_points(Z, name: str = "Z") -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim == 1:
        Z = Z[:, None]
    if Z.ndim != 2:
        raise ValueError(f"{name} must have shape (n_spectra, n_dims), got shape {Z.shape}")
    if not np.all(np.isfinite(Z)):
        raise ValueError(f"{name} holds NaN or inf values")
    return Z


@dataclass(frozen=True)
class KMeansResult:
    """k-means clusters of points in a latent space.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape ``(n_spectra,)``
        Cluster of every point, ``0 .. k-1``, numbered by decreasing cluster size (label 0 is
        the largest cluster; for ``k = 2`` label 1 is the minority).
    centres : numpy.ndarray, shape ``(k, n_dims)``
        Cluster centres in the latent space, in label order.
    inertia : float
        Sum of squared distances of the points to their centre.
    """

    labels: np.ndarray
    centres: np.ndarray
    inertia: float

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(self.centres.shape[0])

    def predict(self, Z) -> np.ndarray:
        """Label of the nearest centre for every point of ``Z`` (n, n_dims)."""
        Z = _check_points(Z)
        if Z.shape[1] != self.centres.shape[1]:
            raise ValueError(
                f"Z has {Z.shape[1]} dims, the clusters live in {self.centres.shape[1]}"
            )
        d2 = ((Z[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=-1)
        return d2.argmin(axis=1)

    def boundary_grid(
        self, xlim: tuple[float, float], ylim: tuple[float, float], resolution: int = 200
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cluster labels on a mesh over the plane of the first two latent dims.

        For plotting the decision boundary, e.g. ``ax.contourf(xx, yy, labels)``. When the
        clusters live in more than two dims, the other coordinates of the mesh are set to
        the mean of the centres (a slice through the latent space).

        Returns
        -------
        xx, yy : numpy.ndarray, shape ``(resolution, resolution)``
            Mesh coordinates (units of the latent space).
        labels : numpy.ndarray of int, shape ``(resolution, resolution)``
        """
        if self.centres.shape[1] < 2:
            raise ValueError("the decision boundary needs a latent space of at least 2 dims")
        xx, yy = np.meshgrid(
            np.linspace(xlim[0], xlim[1], int(resolution)),
            np.linspace(ylim[0], ylim[1], int(resolution)),
        )
        mesh = np.tile(self.centres.mean(axis=0), (xx.size, 1))
        mesh[:, 0] = xx.ravel()
        mesh[:, 1] = yy.ravel()
        return xx, yy, self.predict(mesh).reshape(xx.shape)


def kmeans(Z, k: int, random_state: int | None = 0, n_init: int = 10) -> KMeansResult:
    """k-means clustering of latent coordinates (scikit-learn ``KMeans``).

    Parameters
    ----------
    Z : array-like, shape ``(n_spectra, n_dims)``
        Latent coordinates, e.g. ``pca(X).scores[:, :2]``.
    k : int
        Number of clusters (the paper uses 2 and 3).
    random_state : int or None
        Seed of the initialisation; the same seed gives the same clusters.
    n_init : int
        Number of initialisations; the best (lowest inertia) is kept.

    Returns
    -------
    KMeansResult
        Labels numbered by decreasing cluster size, centres, inertia.
    """
    from sklearn.cluster import KMeans

    Z = _check_points(Z)
    if not 1 <= int(k) <= Z.shape[0]:
        raise ValueError(f"k must be between 1 and the number of points {Z.shape[0]}, got {k}")
    model = KMeans(n_clusters=int(k), n_init=n_init, random_state=random_state).fit(Z)
    sizes = np.bincount(model.labels_, minlength=int(k))
    order = np.lexsort((np.arange(int(k)), -sizes))  # largest first, ties by old label
    relabel = np.empty(int(k), dtype=int)
    relabel[order] = np.arange(int(k))
    return KMeansResult(
        labels=relabel[model.labels_],
        centres=model.cluster_centers_[order].copy(),
        inertia=float(model.inertia_),
    )


@dataclass(frozen=True)
class ClusterCentres:
    """Mean spectrum of every cluster.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape ``(k,)``
        The cluster labels, sorted.
    mean, std : numpy.ndarray, shape ``(k, n_bias)``
        Mean and standard deviation of the spectra of each cluster (units of the spectra).
    size : numpy.ndarray of int, shape ``(k,)``
        Number of spectra in each cluster.
    """

    labels: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    size: np.ndarray


def cluster_centres(X, labels) -> ClusterCentres:
    """Mean and standard deviation of the spectra of each cluster.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
    labels : array-like of int, shape ``(n_spectra,)``

    Returns
    -------
    ClusterCentres
    """
    X = check_spectra(X, min_spectra=1, min_bias=1)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(
            f"labels must have one entry per spectrum: X has shape {X.shape}, "
            f"labels shape {labels.shape}"
        )
    unique = np.unique(labels)
    mean = np.stack([X[labels == u].mean(axis=0) for u in unique])
    std = np.stack([X[labels == u].std(axis=0) for u in unique])
    size = np.array([(labels == u).sum() for u in unique])
    return ClusterCentres(labels=unique, mean=mean, std=std, size=size)


def ward_tree(Z) -> np.ndarray:
    """Agglomerative Ward clustering: the merge tree (scipy linkage matrix).

    Cluster on latent coordinates (e.g. the first few PCA scores), not on the full spectra:
    the result is nearly the same and it is much faster.

    Memory: scipy computes the condensed matrix of all ``n (n - 1) / 2`` pairwise distances,
    ``O(n**2)``: 10,000 spectra take 10,000**2 / 2 * 8 B = 400 MB (measured peak: about
    0.75 GB above the input, 5-16 s on 2 shared cores for 10 PCA components), so a
    100 x 100 grid fits a 24 GiB machine with room to spare; 65,536 spectra would need 17 GB.

    Parameters
    ----------
    Z : array-like, shape ``(n_spectra, n_dims)``

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra - 1, 4)``
        scipy linkage matrix: merged clusters, merge height, size of the new cluster. Plot it
        with ``scipy.cluster.hierarchy.dendrogram(tree, truncate_mode="lastp", p=30)``.
    """
    from scipy.cluster.hierarchy import linkage

    Z = _check_points(Z)
    if Z.shape[0] < 2:
        raise ValueError(f"Ward clustering needs at least 2 points, got {Z.shape[0]}")
    return linkage(Z, method="ward")


def cluster_sizes_by_level(tree, n_levels: int = 300) -> np.ndarray:
    """Cluster sizes at each of the top levels of a hierarchy (paper Fig. 3d).

    Level ``L`` (1-based) cuts the tree into ``L`` clusters by undoing its last ``L - 1``
    merges (the same partition as ``scipy.cluster.hierarchy.fcluster(tree, L, "maxclust")``
    when merge heights are distinct). The tree is walked once from the root, so all levels
    cost ``O(n_levels**2 log n_levels)``, independent of the number of spectra.

    Parameters
    ----------
    tree : numpy.ndarray, shape ``(n_spectra - 1, 4)``
        scipy linkage matrix (:func:`ward_tree`), merges in increasing height.
    n_levels : int
        Number of levels; clipped to ``n_spectra``.

    Returns
    -------
    numpy.ndarray of int, shape ``(n_levels, n_levels)``
        Row ``L - 1`` holds the sizes (numbers of spectra) of the ``L`` clusters at level
        ``L``, sorted in decreasing order and padded with zeros.
    """
    tree = np.asarray(tree, dtype=np.float64)
    if tree.ndim != 2 or tree.shape[1] != 4:
        raise ValueError(f"tree must be a scipy linkage matrix (n - 1, 4), got shape {tree.shape}")
    n = tree.shape[0] + 1
    n_levels = min(int(n_levels), n)
    if n_levels < 1:
        raise ValueError(f"n_levels must be at least 1, got {n_levels}")

    def size(node: int) -> int:
        return 1 if node < n else int(tree[node - n, 3])

    out = np.zeros((n_levels, n_levels), dtype=np.int64)
    clusters = {2 * n - 2: n}  # node id -> size; starts at the root
    out[0, 0] = n
    for level in range(1, n_levels):
        node = n + (n - 1 - level)  # the merge undone to go from `level` to `level + 1`
        if clusters.pop(node, None) is None:
            raise ValueError(
                "tree is not monotone (a merge comes before one of its parts); "
                "cluster_sizes_by_level needs a Ward/single/complete/average linkage"
            )
        left, right = int(tree[node - n, 0]), int(tree[node - n, 1])
        clusters[left] = size(left)
        clusters[right] = size(right)
        sizes = sorted(clusters.values(), reverse=True)
        out[level, : len(sizes)] = sizes
    return out
