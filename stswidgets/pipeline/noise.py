"""The white-noise floor of a grid and an optional noise-based denoising before distances.

Every measured spectrum carries white noise of some standard deviation ``sigma`` per bias
point. Two spectra that are *identical* apart from that noise still lie a distance

    d_floor = sqrt(2 n_bias) sigma

apart (``|e1 - e2|^2`` sums ``n_bias`` squares of variance ``2 sigma^2``), and no pair of
spectra can come much closer. On a grid whose spectra differ little, the pair-distance
distribution therefore starts sharply at ``d_floor``: a "near pairs" peak there is the noise,
not a population. :func:`noise_floor` estimates ``sigma`` from the data alone and gives
``d_floor``; notebook 03 draws it on the distance distributions and ``results.nc`` records it
(global attributes ``noise_sigma``, ``noise_floor_distance``).

:func:`denoise` (``PipelineConfig.denoise = "pca"``) removes most of that noise before the
distances: it keeps the principal components whose variance rises above the largest
eigenvalue pure noise of that ``sigma`` can produce (the Marchenko-Pastur edge) and projects
every spectrum on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stswidgets.preprocess import white_noise_sigma

__all__ = ["DENOISE_METHODS", "Denoised", "NoiseFloor", "denoise", "noise_floor"]

#: Values of ``PipelineConfig.denoise``.
DENOISE_METHODS = ("none", "pca")

#: Spectra per block (memory ``O(block x n_bias)`` beside ``X``, for grids of 10^5 spectra).
_BLOCK = 8192


@dataclass(frozen=True)
class NoiseFloor:
    """The white noise of a grid and the distance it puts between identical spectra.

    Attributes
    ----------
    sigma : float
        Standard deviation of the white noise per bias point (units of the spectra): the
        median over spectra of each spectrum's robust estimate.
    n_bias : int
        Bias points per spectrum.
    floor_distance : float
        ``sqrt(2 n_bias) sigma``: the Euclidean distance two spectra that differ only by
        that noise lie apart (the median of such distances, within ``1 / (3 n_bias)``).
    spread : float
        Relative spread (interquartile range / median) of the per-spectrum estimates: small
        when the noise is the same everywhere on the grid.
    """

    sigma: float
    n_bias: int
    floor_distance: float
    spread: float

    def describe(self, units: str = "") -> str:
        """One line for a notebook or a report."""
        unit = f" {units}" if units else ""
        return (
            f"white-noise sigma {self.sigma:.3g}{unit} per bias point (spread over spectra "
            f"{self.spread:.0%}); noise-floor distance sqrt(2 x {self.n_bias}) x sigma = "
            f"{self.floor_distance:.3g}{unit}"
        )


def noise_floor(X: np.ndarray) -> NoiseFloor:
    """Estimate the white noise of the spectra from differences of neighbouring bias points.

    For each spectrum the fourth differences ``x[k-2] - 4 x[k-1] + 6 x[k] - 4 x[k+1] +
    x[k+2]`` are formed. White noise of standard deviation ``sigma`` gives them the variance
    ``(1 + 16 + 36 + 16 + 1) sigma^2 = 70 sigma^2``, whatever the spectrum. A smooth spectral
    feature (a gap edge, a coherence peak, a background) that varies on a scale of ``w``
    bias points contributes only about ``amplitude / w^4`` (a polynomial of degree 3 nothing
    at all), and the few points where it does more (a sharp peak) are outliers that the
    median absolute deviation (MAD) ignores: ``sigma = MAD / 0.6745 / sqrt(70)`` per
    spectrum, then the median over spectra. (Second differences, ``/ sqrt(6)``, pick up
    ``amplitude / w^2``: on gap spectra with coherence peaks 6 points wide they overestimate a
    small noise by 5-25 %; fourth differences stay within 1 %.) Noise that is correlated
    between neighbouring bias points (a lock-in time constant longer than the time per point,
    a smoothed export) is underestimated: the estimate is the *white* part of the noise.

    Parameters
    ----------
    X : ndarray, shape ``(n_spectra, n_bias)``
        The spectra as the steps see them (normalised by :func:`stswidgets.pipeline.load`).

    Returns
    -------
    NoiseFloor

    Raises
    ------
    ValueError
        ``X`` is not 2D, has fewer than 5 bias points or non-finite values.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] < 5 or X.shape[0] < 1:
        raise ValueError(
            f"noise_floor needs spectra of shape (n_spectra, n_bias >= 5); got {X.shape}"
        )
    per_spectrum = np.concatenate(
        [white_noise_sigma(X[start : start + _BLOCK]) for start in range(0, len(X), _BLOCK)]
    )
    sigma = float(np.median(per_spectrum))
    q25, q75 = np.quantile(per_spectrum, [0.25, 0.75])
    n_bias = X.shape[1]
    return NoiseFloor(
        sigma=sigma,
        n_bias=n_bias,
        floor_distance=float(np.sqrt(2 * n_bias) * sigma),
        spread=float((q75 - q25) / sigma) if sigma > 0 else 0.0,
    )


@dataclass(frozen=True)
class Denoised:
    """Result of :func:`denoise`.

    Attributes
    ----------
    X : ndarray, shape ``(n_spectra, n_bias)``
        The spectra projected on the kept components (the mean spectrum added back).
    method : str
        ``"none"`` or ``"pca"``.
    n_components : int or None
        Principal components kept (None for ``"none"``).
    edge : float or None
        The Marchenko-Pastur edge ``sigma^2 (1 + sqrt(n_bias / n_spectra))^2`` the
        component variances were compared with (units of the spectra, squared).
    eigenvalues : ndarray or None
        Variance of each principal component, largest first (for a scree plot).
    floor_distance : float
        Distance two spectra identical but for the noise keep after the denoising:
        ``sqrt(2 n_components) sigma`` (the noise left lies in the kept components only);
        the input's floor for ``"none"``.
    """

    X: np.ndarray
    method: str
    n_components: int | None
    edge: float | None
    eigenvalues: np.ndarray | None
    floor_distance: float

    def describe(self) -> str:
        """One line for a notebook or a report."""
        if self.method == "none":
            return "no denoising: distances between the spectra as loaded"
        return (
            f"PCA denoising: kept {self.n_components} of {len(self.eigenvalues)} principal "
            f"components with a variance above the Marchenko-Pastur edge {self.edge:.3g}; "
            f"noise floor left {self.floor_distance:.3g}"
        )


def denoise(X: np.ndarray, noise: NoiseFloor, method: str = "none") -> Denoised:
    """Remove the white noise before the distances (``PipelineConfig.denoise``).

    ``"pca"``: the principal components of ``X`` whose variance exceeds the largest variance
    that pure white noise of standard deviation ``noise.sigma`` produces in a sample of
    ``n_spectra`` spectra of ``n_bias`` points, the Marchenko-Pastur edge
    ``sigma^2 (1 + sqrt(n_bias / n_spectra))^2``, are kept; every spectrum is replaced by its
    projection on them. A component under the edge cannot be told from noise; the ones above
    it carry the spectral variations (plus the noise that falls in them, so the noise floor
    drops from ``sqrt(2 n_bias) sigma`` to ``sqrt(2 k) sigma`` for ``k`` components kept).
    ``"none"``: ``X`` unchanged.

    Parameters
    ----------
    X : ndarray, shape ``(n_spectra, n_bias)``
    noise : NoiseFloor
        From :func:`noise_floor` of the same ``X``.
    method : {"none", "pca"}

    Returns
    -------
    Denoised

    Raises
    ------
    ValueError
        Unknown ``method``.
    """
    if method not in DENOISE_METHODS:
        raise ValueError(f"denoise must be one of {DENOISE_METHODS}, got {method!r}")
    if method == "none":
        return Denoised(np.asarray(X), "none", None, None, None, noise.floor_distance)
    X = np.asarray(X)
    n_spectra, n_bias = X.shape
    blocks = range(0, n_spectra, _BLOCK)
    mean = np.asarray(X.mean(axis=0, dtype=np.float64))
    covariance = np.zeros((n_bias, n_bias))
    for start in blocks:  # blockwise: no float64 copy of a large X
        centred = np.asarray(X[start : start + _BLOCK], dtype=np.float64) - mean
        covariance += centred.T @ centred
    covariance /= max(n_spectra - 1, 1)
    eigenvalues, vectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    edge = noise.sigma**2 * (1 + np.sqrt(n_bias / n_spectra)) ** 2
    k = int(np.count_nonzero(eigenvalues > edge))
    basis = vectors[:, :k]
    projector = basis @ basis.T
    denoised = np.empty(X.shape, dtype=np.result_type(X.dtype, np.float32))
    for start in blocks:
        centred = np.asarray(X[start : start + _BLOCK], dtype=np.float64) - mean
        denoised[start : start + _BLOCK] = mean + centred @ projector
    return Denoised(
        X=denoised,
        method="pca",
        n_components=k,
        edge=float(edge),
        eigenvalues=eigenvalues,
        floor_distance=float(np.sqrt(2 * k) * noise.sigma),
    )
