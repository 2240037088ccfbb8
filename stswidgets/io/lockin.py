"""Which channel carries the dI/dV: lock-in phase, agreement with the current, candidates.

A lock-in amplifier gives two outputs, ``X`` and ``Y``; only their projection on the phase of
the tunnelling signal, ``X cos(phi) + Y sin(phi)``, is the dI/dV, and a mis-set reference phase
(often the case: the issue's Pb files carry the signal in ``Lockin-Y``) leaves ``X`` as noise.
The functions here work on the Dataset any reader returns:

- :func:`numerical_didv`: the reference, ``np.gradient`` of the ``Current`` along the bias after
  a light ``[1, 2, 1] / 4`` smoothing (the derivative amplifies the current's noise);
- :func:`lockin_phase`: the phase whose projection best matches the reference (the largest
  covariance, or the largest Pearson r where that agrees clearly better; the signal then
  correlates positively), or, without a current, the principal axis of the ``(X, Y)`` cloud;
- :func:`rotate`: the in-phase signal.

:mod:`stswidgets.io.candidates` uses them to rank every channel of a file
(:func:`~stswidgets.io.candidates.channel_candidates`) and to choose
:func:`stswidgets.io.open_grid`'s default.

Spectra with a saturated amplifier (values stuck at the channel's extreme, e.g. +10 V) are kept
in the data but left out of the phase fit and of the agreement.
"""

from __future__ import annotations

import numpy as np

from stswidgets.preprocess import white_noise_sigma

__all__ = [
    "MIN_RAIL_POINTS",
    "RAIL_TOLERANCE",
    "PHASE_TOLERANCE",
    "lockin_phase",
    "numerical_didv",
    "pearson",
    "rail_spectra",
    "relative_noise",
    "rotate",
    "saturated_spectra",
]


def numerical_didv(current: np.ndarray, bias_mV: np.ndarray) -> np.ndarray:
    """dI/dV of a current, in the current's unit per volt.

    Parameters
    ----------
    current : numpy.ndarray, shape ``(..., n_bias)``
        Current on an ascending bias axis.
    bias_mV : numpy.ndarray, shape ``(n_bias,)``

    Returns
    -------
    numpy.ndarray, shape ``(..., n_bias)``
        ``np.gradient`` along the bias (in V) of the current smoothed with ``[1, 2, 1] / 4``
        (end points repeated), which damps the point-to-point noise the derivative amplifies.
    """
    current = np.asarray(current, dtype=float)
    if current.shape[-1] >= 3:
        padded = np.concatenate([current[..., :1], current, current[..., -1:]], axis=-1)
        current = (padded[..., :-2] + 2 * padded[..., 1:-1] + padded[..., 2:]) / 4
    return np.gradient(current, np.asarray(bias_mV, dtype=float) / 1e3, axis=-1)


def saturated_spectra(values: np.ndarray) -> np.ndarray:
    """Spectra ``(ny, nx)`` holding a saturated value of ``values`` ``(ny, nx, n_bias)``.

    A value is saturated when it equals the channel's maximum or minimum and that extreme occurs
    at least twice (a clipped amplifier repeats its limit); an extreme shared by half of the
    spectra or more is taken as the data's own level, not saturation.
    """
    flagged = np.zeros(values.shape[:2], dtype=bool)
    if np.isnan(values).all():
        return flagged
    for extreme in (np.nanmax(values), np.nanmin(values)):
        hits = values == extreme
        spectra = hits.any(axis=-1)
        if hits.sum() >= 2 and spectra.sum() < 0.5 * spectra.size:
            flagged |= spectra
    return flagged


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally shaped arrays over all values (NaN if undefined)."""
    a, b = a - a.mean(), b - b.mean()
    norm = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / norm) if norm > 0 else float("nan")


PHASE_TOLERANCE = 0.01  # r the covariance phase may give up against the least-squares phase


def lockin_phase(x: np.ndarray, y: np.ndarray, reference: np.ndarray | None = None) -> float:
    """Lock-in phase in degrees, ``(-180, 180]``: ``X cos(phi) + Y sin(phi)`` is the signal.

    Parameters
    ----------
    x, y : numpy.ndarray, shape ``(n_spectra, n_bias)``
        The lock-in outputs of the spectra to fit (finite, not saturated).
    reference : numpy.ndarray, same shape, optional
        The numerical dI/dV. Two phases are compared:

        - the **covariance phase** ``atan2(cov(Y, ref), cov(X, ref))``, the rotation whose
          signal has the largest covariance with the reference. Noise uncorrelated with the
          reference drops out of both covariances, so it is precise and unbiased when X and Y
          are the signal at some phase plus noise;
        - the **least-squares phase**, of the coefficients of the centred reference on the
          centred X and Y: the rotation with the largest Pearson r. It fits the quadrature's
          noise too (a few degrees off on the synthetic grids of the tests) but does not
          follow structure of Y that is no signal (the shared 30 x 30 grid, whose LockinY is
          large where LockinX is small: covariance phase -41 deg, r = 0.87; least squares
          -2 deg, r = 0.96).

        The covariance phase is taken unless its signal's Pearson r with the reference falls
        more than :data:`PHASE_TOLERANCE` short of the least-squares one. Either way the
        signal correlates positively with the reference. Without a reference, the principal
        axis of the centred ``(X, Y)`` cloud (this assumes equal noise on X and Y), turned so
        that the mean signal is positive.

    Returns
    -------
    float
        NaN when there is nothing to fit (X and Y constant, or no covariance with the
        reference).
    """
    mean = np.array([x.mean(), y.mean()])
    x, y = x.ravel() - mean[0], y.ravel() - mean[1]
    gram = np.array([[x @ x, x @ y], [x @ y, y @ y]])
    if reference is None:
        eigenvalues, eigenvectors = np.linalg.eigh(gram)
        direction = eigenvectors[:, -1] if eigenvalues[-1] > 0 else np.zeros(2)
        return _angle(-direction if direction @ mean < 0 else direction)
    reference = reference.ravel() - reference.mean()
    covariance = np.array([x @ reference, y @ reference])
    try:
        least_squares = np.linalg.solve(gram, covariance)
    except np.linalg.LinAlgError:
        return _angle(covariance)

    def agreement(direction):  # Pearson r of X d0 + Y d1 with the reference
        norm = np.sqrt(direction @ gram @ direction * (reference @ reference))
        return direction @ covariance / norm if norm > 0 else -np.inf

    if agreement(covariance) >= agreement(least_squares) - PHASE_TOLERANCE:
        return _angle(covariance)
    return _angle(least_squares)


def _angle(direction: np.ndarray) -> float:
    if not np.all(np.isfinite(direction)) or not np.any(direction):
        return float("nan")
    return float(np.degrees(np.arctan2(direction[1], direction[0])))


def rotate(x: np.ndarray, y: np.ndarray, phase_deg: float) -> np.ndarray:
    """The in-phase signal ``X cos(phi) + Y sin(phi)``."""
    phase = np.deg2rad(phase_deg)
    return x * np.cos(phase) + y * np.sin(phase)


MIN_RAIL_POINTS = 3  # a current this many points at its extreme is clipped at the rail
RAIL_TOLERANCE = 1e-4  # of the channel's range: how close to its extreme a value is "at" it


def rail_spectra(values: np.ndarray, min_points: int = MIN_RAIL_POINTS) -> np.ndarray:
    """Spectra ``(ny, nx)`` of a current ``(ny, nx, n_bias)`` stuck at the channel's maximum or
    minimum for at least ``min_points`` points (a clipped current amplifier: its rail).

    "At" the extreme is within :data:`RAIL_TOLERANCE` of the channel's range (an amplifier's
    rail wanders by a few ADC codes). Unlike :func:`~stswidgets.io.lockin.saturated_spectra`,
    a rail reached by most spectra still counts (a current clips at the sweep ends of many
    spectra at once). On the shared Nanosurf map: 140 of 225 forward spectra.
    """
    flagged = np.zeros(values.shape[:2], dtype=bool)
    if np.isnan(values).all():
        return flagged
    high, low = float(np.nanmax(values)), float(np.nanmin(values))
    tolerance = RAIL_TOLERANCE * (high - low)
    with np.errstate(invalid="ignore"):
        for extreme in (high, low):
            flagged |= (np.abs(values - extreme) <= tolerance).sum(axis=-1) >= min_points
    return flagged


def relative_noise(values: np.ndarray) -> float:
    """Median over spectra of the white-noise sigma over the spectrum's standard deviation.

    The sigma is :func:`stswidgets.preprocess.white_noise_sigma`'s. Scale-free, so a lock-in in V
    and a derivative in A/V compare; NaN with fewer than 5 bias points or no finite spectrum.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values).all(axis=-1)]
    if values.shape[0] == 0 or values.shape[-1] < 5:
        return float("nan")
    spread = values.std(axis=-1)
    keep = spread > 0
    if not keep.any():
        return float("nan")
    return float(np.median(white_noise_sigma(values[keep]) / spread[keep]))
