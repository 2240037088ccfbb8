"""Latent spaces of the spectra: PCA (paper Figs. 1, 3) and one entry point for every method.

:func:`pca` gives the linear latent space with its scree (explained-variance ratios);
:func:`embed` gives an ``(n_spectra, n_components)`` latent space for any of the methods of the
paper's Fig. 6 and Fig. 7 (``pca``, ``kpca``, ``nmf``, ``umap``, ``tsne``, ``autoencoder``,
``siamese``). The heavy libraries (``umap``, ``torch`` through :mod:`stswidgets.learn`) are
imported only inside the branches that need them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.grid import check_spectra

__all__ = ["EMBED_METHODS", "PCAResult", "embed", "median_gamma", "pca"]

#: The methods :func:`embed` knows, in the order of the paper.
EMBED_METHODS = ("pca", "kpca", "nmf", "umap", "tsne", "autoencoder", "siamese")


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


def embed(
    X, method: str, n_components: int = 2, random_state: int | None = 0, **params
) -> np.ndarray:
    """Latent space of the spectra by any method of the paper, one call for all.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        One spectrum per row.
    method : {"pca", "kpca", "nmf", "umap", "tsne", "autoencoder", "siamese"}
        - ``"pca"``: :func:`pca` scores.
        - ``"kpca"``: scikit-learn ``KernelPCA``; ``kernel="rbf"`` by default with ``gamma``
          from :func:`median_gamma` times ``gamma_scale`` (default 1; pass ``gamma`` to fix it).
          The kernel matrix is ``O(n**2)``, so for more than ``fit_size`` spectra (default
          2000) it is fitted on a random subsample of ``fit_size`` spectra and the others are
          projected with ``transform`` (the Nystroem-like out-of-sample extension).
        - ``"nmf"``: scikit-learn ``NMF`` with ``init="nndsvda"``. NMF needs non-negative
          input; ``negative`` says what to do with negative values: ``"shift"`` (default)
          subtracts the global minimum of ``X`` when it is negative, ``"clip"`` sets them to
          0, ``"error"`` raises ``ValueError``.
        - ``"umap"``: ``umap.UMAP`` (imported here), ``n_neighbors`` default 15,
          ``min_dist`` 0.1; with a ``random_state`` UMAP runs single-threaded and deterministic.
        - ``"tsne"``: scikit-learn ``TSNE`` with PCA initialisation; ``perplexity`` default
          ``min(30, (n_spectra - 1) / 3)``.
        - ``"autoencoder"`` / ``"siamese"``: :class:`stswidgets.learn.AutoencoderEmbedding` /
          :class:`stswidgets.learn.SiameseEmbedding` (imported here, they need torch)
          constructed with ``random_state`` and ``params``, their output width set to
          ``n_components`` (the last entry of ``widths``), then ``fit_transform(X)``.
    n_components : int
        Dimension of the latent space.
    random_state : int or None
        Seed; the same seed gives the same latent space on CPU.
    **params
        Method-specific settings, passed to the underlying estimator.

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_components)``, float64

    Raises
    ------
    ValueError
        For an unknown ``method`` (the message lists the known ones) or unusable input.
    """
    key = str(method).lower()
    if key not in EMBED_METHODS:
        raise ValueError(f"unknown embedding method {method!r}; expected one of {EMBED_METHODS}")
    X = check_spectra(X, dtype=None)
    if int(n_components) < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components}")
    n_components = int(n_components)
    if key == "pca":
        Z = pca(X, n_components=n_components, random_state=random_state).scores
    elif key == "kpca":
        Z = _kernel_pca(X, n_components, random_state, **params)
    elif key == "nmf":
        Z = _nmf(X, n_components, random_state, **params)
    elif key == "umap":
        import umap

        options = {"n_neighbors": 15, "min_dist": 0.1, **params}
        if random_state is not None:
            options.setdefault("n_jobs", 1)  # umap is only reproducible single-threaded
        options["n_neighbors"] = min(int(options["n_neighbors"]), X.shape[0] - 1)
        model = umap.UMAP(n_components=n_components, random_state=random_state, **options)
        Z = model.fit_transform(X.astype(np.float32))
    elif key == "tsne":
        from sklearn.manifold import TSNE

        options = {"perplexity": min(30.0, (X.shape[0] - 1) / 3.0), "init": "pca", **params}
        Z = TSNE(n_components=n_components, random_state=random_state, **options).fit_transform(
            X.astype(np.float32)
        )
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
    """Keywords giving a learned estimator an ``n_components``-dimensional output.

    The estimators of :mod:`stswidgets.learn` take either ``n_components`` or a ``widths``
    sequence whose last entry is the output dimension.
    """
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


def _kernel_pca(
    X: np.ndarray,
    n_components: int,
    random_state: int | None,
    kernel: str = "rbf",
    gamma: float | None = None,
    gamma_scale: float = 1.0,
    fit_size: int = 2000,
    **params,
) -> np.ndarray:
    from sklearn.decomposition import KernelPCA

    X = X.astype(np.float64, copy=False)
    if gamma is None and kernel in ("rbf", "laplacian", "sigmoid", "poly"):
        gamma = float(gamma_scale) * median_gamma(X, random_state=random_state)
    rng = np.random.default_rng(random_state)
    fit_rows = (
        np.sort(rng.choice(X.shape[0], size=int(fit_size), replace=False))
        if X.shape[0] > int(fit_size)
        else slice(None)
    )
    model = KernelPCA(
        n_components=n_components,
        kernel=kernel,
        gamma=gamma,
        random_state=random_state,
        eigen_solver="dense",
        **params,
    )
    model.fit(X[fit_rows])
    Z = model.transform(X)
    # Fix the arbitrary sign of each axis (largest absolute coordinate positive).
    flip = np.sign(Z[np.abs(Z).argmax(axis=0), np.arange(Z.shape[1])])
    flip[flip == 0] = 1
    return Z * flip


def _nmf(
    X: np.ndarray,
    n_components: int,
    random_state: int | None,
    negative: str = "shift",
    max_iter: int = 500,
    **params,
) -> np.ndarray:
    from sklearn.decomposition import NMF

    X = X.astype(np.float64, copy=False)
    minimum = float(X.min())
    if minimum < 0:
        if negative == "shift":
            X = X - minimum
        elif negative == "clip":
            X = np.clip(X, 0, None)
        elif negative == "error":
            raise ValueError(
                f"NMF needs non-negative spectra, but X has values down to {minimum:g}; "
                "pass negative='shift' or negative='clip', or shift the spectra yourself"
            )
        else:
            raise ValueError(f"negative must be 'shift', 'clip' or 'error', got {negative!r}")
    elif negative not in ("shift", "clip", "error"):
        raise ValueError(f"negative must be 'shift', 'clip' or 'error', got {negative!r}")
    model = NMF(
        n_components=n_components,
        init="nndsvda",
        random_state=random_state,
        max_iter=max_iter,
        **params,
    )
    return model.fit_transform(X)
