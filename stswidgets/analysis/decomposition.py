"""Latent spaces of the spectra by numpy / scikit-learn / umap: PCA (paper Figs. 1, 3) and the
non-linear reductions of Fig. 6.

:func:`pca` gives the linear latent space with its scree (explained-variance ratios);
:func:`kernel_pca`, :func:`nmf`, :func:`umap_embedding` and :func:`tsne_embedding` give an
``(n_spectra, n_components)`` latent space each. The learned latent spaces (autoencoder,
Siamese projection) and the one entry point for every method,
:func:`stswidgets.pipeline.latent.embed`, live in :mod:`stswidgets.pipeline`, since they
train torch networks. ``umap`` is imported only inside :func:`umap_embedding`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.grid import check_spectra

__all__ = [
    "PCAResult",
    "kernel_pca",
    "median_gamma",
    "nmf",
    "pca",
    "tsne_embedding",
    "umap_embedding",
]


@dataclass(frozen=True)
class PCAResult:
    """Principal components of a set of spectra.

    Attributes
    ----------
    scores : numpy.ndarray, shape ``(n_spectra, k)``
        Coordinates of every spectrum in the latent space (same units as the spectra).
    components : numpy.ndarray, shape ``(k, n_bias)``
        Orthonormal principal axes, sorted by decreasing variance; the sign of each is
        fixed (largest absolute loading positive) so results are reproducible.
    mean : numpy.ndarray, shape ``(n_bias,)``
        The mean spectrum subtracted before the decomposition.
    explained_variance : numpy.ndarray, shape ``(k,)``
        Variance along each component (units of the spectra squared).
    explained_variance_ratio : numpy.ndarray, shape ``(k,)``
        Fraction of the total variance along each component (the scree).
    """

    scores: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def n_components(self) -> int:
        """Number of components kept, ``k``."""
        return int(self.components.shape[0])

    @property
    def cumulative(self) -> np.ndarray:
        """Cumulative explained-variance ratio, shape ``(k,)``: entry ``i`` is the fraction of
        the variance held by the first ``i + 1`` components."""
        return np.cumsum(self.explained_variance_ratio)

    def scree(self) -> tuple[np.ndarray, np.ndarray]:
        """The scree plot's data: component numbers ``1..k`` and their variance ratios."""
        return np.arange(1, self.n_components + 1), self.explained_variance_ratio

    def n_components_for(self, fraction: float) -> int:
        """Smallest number of components holding at least ``fraction`` of the variance.

        Returns ``k + 1`` when the kept components do not reach ``fraction``.
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        reached = np.nonzero(self.cumulative >= fraction - 1e-12)[0]
        return int(reached[0]) + 1 if reached.size else self.n_components + 1

    def transform(self, X) -> np.ndarray:
        """Project new spectra ``X`` (n, n_bias) onto the components -> scores (n, k)."""
        X = check_spectra(X, min_spectra=1, dtype=None)
        if X.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} bias points, the PCA was fitted on {self.mean.shape[0]}"
            )
        return (X - self.mean) @ self.components.T

    def reconstruct(self, scores) -> np.ndarray:
        """Spectra (n, n_bias) from latent coordinates (n, k)."""
        return np.asarray(scores) @ self.components + self.mean


def pca(X, n_components: int | None = None, random_state: int | None = 0) -> PCAResult:
    """Principal component analysis of the spectra.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        One spectrum per row (the matrix view of a grid, :func:`stswidgets.to_matrix`).
    n_components : int or None
        Components to keep; ``None`` keeps all ``min(n_spectra, n_bias)`` (exact SVD,
        about 1 s for 10,000 x 512). A small ``n_components`` on a large matrix uses
        scikit-learn's randomised SVD, seeded by ``random_state``.
    random_state : int or None
        Seed of the randomised solver; the result is deterministic for a given seed.

    Returns
    -------
    PCAResult
        Scores ``(n_spectra, k)``, components ``(k, n_bias)``, mean and explained variance.

    Examples
    --------
    >>> result = pca(X, n_components=3)
    >>> result.cumulative[1]  # fraction of the variance in the first two components
    """
    from sklearn.decomposition import PCA

    X = check_spectra(X, dtype=None)
    n_max = min(X.shape)
    if n_components is not None and not (1 <= int(n_components) <= n_max):
        raise ValueError(
            f"n_components must be between 1 and min(n_spectra, n_bias) = {n_max}, "
            f"got {n_components}"
        )
    X64 = X.astype(np.float64, copy=False)
    model = PCA(n_components=n_components, svd_solver="auto", random_state=random_state)
    scores = model.fit_transform(X64)
    components = model.components_.copy()
    # Fix the sign of each axis: the largest absolute loading is positive.
    flip = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    flip[flip == 0] = 1
    components *= flip[:, None]
    scores = scores * flip[None, :]
    return PCAResult(
        scores=scores,
        components=components,
        mean=model.mean_.copy(),
        explained_variance=model.explained_variance_.copy(),
        explained_variance_ratio=model.explained_variance_ratio_.copy(),
    )


def median_gamma(X, max_samples: int = 2000, random_state: int | None = 0) -> float:
    """RBF kernel width by the median heuristic: ``gamma = 1 / (2 * median(d)**2)``.

    ``d`` are the Euclidean distances between pairs of spectra of a random subsample of at
    most ``max_samples`` rows (memory ``O(max_samples**2)``).
    """
    from scipy.spatial.distance import pdist

    X = check_spectra(X, dtype=None)
    rng = np.random.default_rng(random_state)
    if X.shape[0] > max_samples:
        X = X[rng.choice(X.shape[0], size=max_samples, replace=False)]
    d = pdist(X.astype(np.float64))
    median = float(np.median(d[d > 0])) if np.any(d > 0) else 1.0
    return 1.0 / (2.0 * median**2)


def kernel_pca(
    X,
    n_components: int = 2,
    random_state: int | None = 0,
    kernel: str = "rbf",
    gamma: float | None = None,
    gamma_scale: float = 1.0,
    fit_size: int = 2000,
    eigen_solver: str = "arpack",
    **params,
) -> np.ndarray:
    """Kernel PCA latent space of the spectra (scikit-learn ``KernelPCA``).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
    n_components : int
    random_state : int or None
        Seeds the subsample, the median heuristic and the eigen solver's start vector.
    kernel : str
        ``"rbf"`` (default), or any kernel of ``KernelPCA``.
    gamma : float, optional
        Kernel width in 1 / (units of the spectra)**2; None: :func:`median_gamma` times
        ``gamma_scale``.
    gamma_scale : float
        Multiple of the median-heuristic gamma (larger: a narrower kernel).
    fit_size : int
        The kernel matrix is ``O(n**2)``: with more spectra than this the model is fitted on a
        random subsample of ``fit_size`` spectra and the others are projected with
        ``transform`` (the Nystroem-like out-of-sample extension).
    eigen_solver : str
        ``"arpack"`` (default: only the ``n_components`` leading eigenvectors, the same as
        ``"dense"`` to rounding, several times faster) or any solver of ``KernelPCA``.
    **params
        Passed to ``KernelPCA``.

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_components)``, float64
        The sign of each axis is fixed (largest absolute coordinate positive).
    """
    from sklearn.decomposition import KernelPCA

    X = check_spectra(X, dtype=None).astype(np.float64, copy=False)
    if gamma is None and kernel in ("rbf", "laplacian", "sigmoid", "poly"):
        gamma = float(gamma_scale) * median_gamma(X, random_state=random_state)
    rng = np.random.default_rng(random_state)
    fit_rows = (
        np.sort(rng.choice(X.shape[0], size=int(fit_size), replace=False))
        if X.shape[0] > int(fit_size)
        else slice(None)
    )
    n_fit = len(X[fit_rows])
    model = KernelPCA(
        n_components=int(n_components),
        kernel=kernel,
        gamma=gamma,
        random_state=random_state,
        # arpack needs n_components < n_fit - 1; tiny inputs take the dense solver
        eigen_solver=eigen_solver if int(n_components) < n_fit - 1 else "dense",
        **params,
    )
    model.fit(X[fit_rows])
    Z = model.transform(X)
    # Fix the arbitrary sign of each axis (largest absolute coordinate positive).
    flip = np.sign(Z[np.abs(Z).argmax(axis=0), np.arange(Z.shape[1])])
    flip[flip == 0] = 1
    return np.asarray(Z * flip, dtype=np.float64)


def nmf(
    X,
    n_components: int = 2,
    random_state: int | None = 0,
    negative: str = "shift",
    max_iter: int = 500,
    fit_size: int | None = None,
    **params,
) -> np.ndarray:
    """Non-negative matrix factorisation: the weights ``W`` of ``X ~ W H`` (scikit-learn ``NMF``,
    ``init="nndsvda"``).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
    n_components : int
    random_state : int or None
    negative : {"shift", "clip", "error"}
        NMF needs non-negative input: ``"shift"`` subtracts the global minimum of ``X`` when
        it is negative, ``"clip"`` sets negative values to 0, ``"error"`` raises.
    max_iter : int
    fit_size : int, optional
        With more spectra than this, the factors ``H`` are fitted on a random subsample of
        ``fit_size`` spectra (seeded by ``random_state``) and the weights of every spectrum
        found with ``H`` fixed (``NMF.transform``, a convex problem per spectrum). On the
        10,000 x 512 simulated grid 2,000 spectra give the reconstruction error of the full
        fit to 0.02 % in 40 % of its time. None: fit on every spectrum.
    **params
        Passed to ``NMF`` (``tol``, ``solver``, ...).

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_components)``, float64, >= 0
    """
    from sklearn.decomposition import NMF

    if negative not in ("shift", "clip", "error"):
        raise ValueError(f"negative must be 'shift', 'clip' or 'error', got {negative!r}")
    X = check_spectra(X, dtype=None).astype(np.float64, copy=False)
    minimum = float(X.min())
    if minimum < 0:
        if negative == "shift":
            X = X - minimum
        elif negative == "clip":
            X = np.clip(X, 0, None)
        else:
            raise ValueError(
                f"NMF needs non-negative spectra, but X has values down to {minimum:g}; "
                "pass negative='shift' or negative='clip', or shift the spectra yourself"
            )
    model = NMF(
        n_components=int(n_components),
        init="nndsvda",
        random_state=random_state,
        max_iter=max_iter,
        **params,
    )
    if fit_size is None or X.shape[0] <= int(fit_size):
        return np.asarray(model.fit_transform(X), dtype=np.float64)
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(X.shape[0], size=int(fit_size), replace=False))
    model.fit(X[rows])
    return np.asarray(model.transform(X), dtype=np.float64)


#: Up to this many spectra :func:`umap_embedding` finds the exact nearest neighbours by brute
#: force (scikit-learn, BLAS; about 4 s for 10,000 x 512 on one core) instead of UMAP's
#: approximate NN-descent, whose numba compilation alone costs about 30 s per process.
EXACT_NEIGHBOURS_MAX = 50_000


def umap_embedding(
    X,
    n_components: int = 2,
    random_state: int | None = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    **params,
) -> np.ndarray:
    """UMAP latent space (``umap.UMAP``, imported here).

    With a ``random_state`` UMAP runs single-threaded and deterministic (``n_jobs=1``).
    ``n_neighbors`` is capped at ``n_spectra - 1``. Up to :data:`EXACT_NEIGHBOURS_MAX`
    spectra (and the default Euclidean metric) the neighbour graph is exact, found by brute
    force and handed to UMAP as ``precomputed_knn``; larger inputs use UMAP's approximate
    NN-descent. ``params`` go to ``umap.UMAP`` (``n_epochs``, ``metric``, ...).

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_components)``, float64
    """
    import warnings

    import umap

    X = check_spectra(X, dtype=None).astype(np.float32)
    options = dict(params)
    if random_state is not None:
        options.setdefault("n_jobs", 1)  # umap is only reproducible single-threaded
    n_neighbors = min(int(n_neighbors), X.shape[0] - 1)
    exact = options.get("metric", "euclidean") == "euclidean" and len(X) <= EXACT_NEIGHBOURS_MAX
    if exact and "precomputed_knn" not in options:
        from sklearn.neighbors import NearestNeighbors

        search = NearestNeighbors(n_neighbors=n_neighbors, algorithm="brute").fit(X)
        distances, indices = search.kneighbors(X)  # each spectrum is its own first neighbour
        options["precomputed_knn"] = (indices, distances.astype(np.float32), None)
    model = umap.UMAP(
        n_components=int(n_components),
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        random_state=random_state,
        **options,
    )
    with warnings.catch_warnings():  # "transform will be unavailable": only fit_transform here
        warnings.filterwarnings("ignore", message="precomputed_knn", category=UserWarning)
        return np.asarray(model.fit_transform(X), dtype=np.float64)


def tsne_embedding(X, n_components: int = 2, random_state: int | None = 0, **params) -> np.ndarray:
    """t-SNE latent space (scikit-learn ``TSNE``, PCA initialisation; ``perplexity`` default
    ``min(30, (n_spectra - 1) / 3)``).

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_components)``, float64
    """
    from sklearn.manifold import TSNE

    X = check_spectra(X, dtype=None)
    options = {"perplexity": min(30.0, (X.shape[0] - 1) / 3.0), "init": "pca", **params}
    model = TSNE(n_components=int(n_components), random_state=random_state, **options)
    return np.asarray(model.fit_transform(X.astype(np.float32)), dtype=np.float64)
