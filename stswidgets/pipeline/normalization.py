"""THE normalisation of a run: one per-spectrum normalisation, chosen once, used by every step.

A change of the STM set-point (the tip height set by the feedback before each spectrum)
multiplies a whole dI/dV spectrum by one factor. Left in, this set-point landscape dominates
PCA, k-means, the distance statistics and the abundance map; so :func:`pipeline.load
<stswidgets.pipeline.load>` normalises every spectrum once and hands the normalised matrix
(``PipelineInput.X``) to every step. No step normalises per spectrum again (an estimator may
still divide the whole matrix by one number for its numerical range).

The methods (``PipelineConfig.normalize``; :data:`METHODS`), for one spectrum ``g(V)``:

- ``"none"``: ``g`` as measured;
- ``"setpoint"``: ``g / g_set``, ``g_set`` the conductance at the set-point bias (the mean of
  :data:`SETPOINT_POINTS` bias points nearest to it) when the grid's attrs record it
  (``setpoint_bias_mV``, filled by :func:`stswidgets.open_grid` from the vendor's header:
  Createc ``biasvoltage``, RHK ``bias``, Nanonis ``Bias>Bias (V)``) and it lies inside the
  bias window; else the mean ``g`` over the outer :data:`~stswidgets.preprocess.
  OUTSIDE_FRACTION` of the bias points at each end (featureless far from the gap);
- ``"feenstra"``: ``g / sqrt((I/V)^2 + c^2)`` (Feenstra's normalised conductance
  ``(dI/dV) / (I/V)``, regularised near zero bias where ``I/V`` vanishes in a gap), with
  ``c`` = :data:`FEENSTRA_C` times the spectrum's mean ``|I/V|`` (in the units of ``I/V``,
  whatever the current's units); ``I`` is the recorded
  current when given (a global scale between the two channels only scales every spectrum
  alike), else ``I(V) = integral_0^V g dV'`` (trapezoids, ``I(0) = 0``);
- ``"zscore"``: ``(g - mean(g)) / std(g)`` (removes an offset too).

``"auto"`` (the default) is :func:`choose_normalization`: ``setpoint`` when the robust
spread of the set-point conductance over the grid exceeds :data:`SPREAD_THRESHOLD`, ``none``
otherwise, ``zscore`` when the set-point conductance is not positive (a lock-in phase or an
offset problem), each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stswidgets import preprocess
from stswidgets.grid import check_spectra
from stswidgets.pipeline.config import NORMALIZE_CHOICES

__all__ = [
    "CONFIG_METHODS",
    "FEENSTRA_C",
    "METHODS",
    "SETPOINT_POINTS",
    "SPREAD_THRESHOLD",
    "Normalization",
    "apply_normalization",
    "choose_normalization",
    "normalize_grid",
    "normalize_input",
    "recorded_setpoint_bias_mV",
    "relative_spread",
    "setpoint_conductance",
]

#: The per-spectrum normalisations of the analysis (``PipelineConfig.normalize`` adds "auto").
METHODS = NORMALIZE_CHOICES[1:]  # ("none", "setpoint", "feenstra", "zscore")
#: What ``PipelineConfig.normalize`` accepts.
CONFIG_METHODS = NORMALIZE_CHOICES
#: ``"auto"`` normalises at the set-point when the robust relative spread of the set-point
#: conductance (:func:`relative_spread`) is above this: 2 %. Tuned on the tuning seeds 0-29 of
#: ``datasets.random_grid`` (spreads 0.6-3.4 %): PCA + k-means (k = 2) against the defect
#: cores gave mean ARI 0.447 / AUC 0.984 (10th percentile 0.965) with ``none`` everywhere,
#: 0.472 / 0.987 (0.982) with this threshold (13 of 30 grids normalised; 5 %: none). The
#: embedded grid has 8.7 %, its ``setpoint_drift`` condition 23 %.
SPREAD_THRESHOLD = 0.02
#: Bias points nearest the set-point bias whose mean is the set-point conductance.
SETPOINT_POINTS = 5
#: Feenstra regularisation: ``c`` is this fraction of each spectrum's mean ``|I/V|``.
FEENSTRA_C = 0.1
#: What one unit of a normalised spectrum is, for axis labels ("dI/dV (set-point conductance)").
LABEL_UNITS = {"setpoint": "set-point conductance", "feenstra": "I/V", "zscore": "std. dev."}


@dataclass
class Normalization:
    """What :func:`normalize_input` did to the spectra of a run.

    Attributes
    ----------
    method : str
        The method applied (one of :data:`METHODS`).
    reason : str
        One sentence: why this method (the measured spread for ``"auto"``) and how (set-point
        bias or outer window, Feenstra's ``c`` and where ``I`` came from).
    requested : str
        ``PipelineConfig.normalize`` (``"auto"`` or a method).
    reference : str
        Where the set-point conductance is read: ``"set-point bias 10 mV (5 bias points)"`` or
        ``"outer window (10 % of the bias points at each end)"``.
    spread_before, spread_after : float
        :func:`relative_spread` of the set-point conductance before and after (NaN where it
        is not defined: a median that is not positive).
    conductance_before, conductance_after : numpy.ndarray, shape ``(n_spectra,)``
        Each spectrum's set-point conductance before (units of the grid) and after (units of
        the normalised spectra).
    units : str
        Units of the normalised spectra for an axis label: the grid's for ``"none"``, else
        what one unit is (``"set-point conductance"``, ``"I/V"``, ``"std. dev."``); results.nc
        writes ``"1"`` for the latter.
    """

    method: str
    reason: str
    requested: str = "auto"
    reference: str = ""
    spread_before: float = float("nan")
    spread_after: float = float("nan")
    conductance_before: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    conductance_after: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    units: str = "a.u."

    def attrs(self) -> dict:
        """The global attributes of ``results.nc``: ``normalize``, ``normalize_reason``."""
        return {"normalize": self.method, "normalize_reason": self.reason}


def _check_method(method: str, allowed=METHODS) -> str:
    if method not in allowed:
        raise ValueError(f"unknown normalisation {method!r}; expected one of {allowed}")
    return method


def setpoint_conductance(
    X, bias_mV, setpoint_bias_mV: float | None = None
) -> tuple[np.ndarray, str]:
    """Each spectrum's conductance at the set-point, ``(n_spectra,)``, and where it was read.

    The mean of the :data:`SETPOINT_POINTS` bias points nearest ``setpoint_bias_mV`` when it is
    given and inside the bias window; else the mean ``g`` over the outer
    :data:`~stswidgets.preprocess.OUTSIDE_FRACTION` of the bias points at each end (what
    ``preprocess.normalize(X, "outside")`` divides by for positive spectra; signed here, so
    that a negative conductance, a lock-in phase or offset problem, shows).
    """
    X = np.asarray(X, dtype=np.float64)
    bias_mV = np.asarray(bias_mV, dtype=float)
    if X.ndim != 2 or bias_mV.shape != (X.shape[1],):
        raise ValueError(
            f"X must be (n_spectra, n_bias) with bias_mV (n_bias,), got {X.shape} and "
            f"{bias_mV.shape}"
        )
    # within one bias step of the window counts as inside (a sweep that stops one step short)
    step = float(np.abs(np.diff(bias_mV)).max()) if len(bias_mV) > 1 else 0.0
    inside = (
        setpoint_bias_mV is not None
        and np.isfinite(setpoint_bias_mV)
        and bias_mV.min() - step <= setpoint_bias_mV <= bias_mV.max() + step
    )
    if inside:
        n = min(SETPOINT_POINTS, len(bias_mV))
        nearest = np.sort(np.argsort(np.abs(bias_mV - setpoint_bias_mV), kind="stable")[:n])
        where = f"the set-point bias {setpoint_bias_mV:g} mV (mean of {n} bias points)"
        return X[:, nearest].mean(axis=1), where
    n_end = max(1, int(round(preprocess.OUTSIDE_FRACTION * X.shape[1])))
    ends = np.concatenate([X[:, :n_end], X[:, -n_end:]], axis=1)
    where = f"the outer {preprocess.OUTSIDE_FRACTION:.0%} of the bias points at each end" + (
        f" (the set-point bias {setpoint_bias_mV:g} mV lies outside the sweep)"
        if setpoint_bias_mV is not None and np.isfinite(setpoint_bias_mV)
        else " (no set-point bias recorded)"
    )
    return ends.mean(axis=1), where


def relative_spread(conductance) -> float:
    """Robust relative spread ``1.4826 MAD / median`` (the standard deviation relative to the
    mean for a normal distribution, insensitive to a few defect spectra); NaN when the median
    is not positive."""
    g = np.asarray(conductance, dtype=float)
    median = float(np.median(g)) if g.size else float("nan")
    if not median > 0:
        return float("nan")
    return float(1.4826 * np.median(np.abs(g - median)) / median)


def choose_normalization(X, bias_mV, setpoint_bias_mV: float | None = None) -> tuple[str, str]:
    """The data-driven normalisation (``normalize="auto"``) and why, in one sentence.

    ``"setpoint"`` when :func:`relative_spread` of the set-point conductance exceeds
    :data:`SPREAD_THRESHOLD`; ``"zscore"`` when the set-point conductance is not positive for
    some spectra (no set-point factor can be divided out of them); ``"none"`` otherwise.
    """
    g, where = setpoint_conductance(X, bias_mV, setpoint_bias_mV)
    spread = relative_spread(g)
    n_bad = int((~(g > 0)).sum())
    if n_bad and np.isfinite(spread):
        return "zscore", (
            f"auto: {n_bad} of {g.size} spectra have a set-point conductance, read at {where}, "
            "that is not positive (zero or negative), so no set-point factor can be divided "
            "out of them; z-score per spectrum"
        )
    if not np.isfinite(spread):
        return "zscore", (
            f"auto: the set-point conductance, read at {where}, has a median of "
            f"{np.median(g):.3g}, not positive, so no set-point factor can be divided out; "
            "z-score per spectrum"
        )
    if spread > SPREAD_THRESHOLD:
        return "setpoint", (
            f"auto: the set-point conductance, read at {where}, varies by {spread:.1%} from "
            f"spectrum to spectrum (1.4826 MAD / median), above the {SPREAD_THRESHOLD:.0%} "
            "threshold; each spectrum is divided by it"
        )
    return "none", (
        f"auto: the set-point conductance, read at {where}, varies by {spread:.1%} from "
        f"spectrum to spectrum (1.4826 MAD / median), below the {SPREAD_THRESHOLD:.0%} "
        "threshold; spectra as measured"
    )


def _integrated_current(X: np.ndarray, bias_mV: np.ndarray) -> np.ndarray:
    """``I(V) = integral_0^V g dV'`` per spectrum (trapezoids, linear interpolation to V=0)."""
    from scipy.integrate import cumulative_trapezoid

    if not bias_mV.min() <= 0 <= bias_mV.max():
        raise ValueError(
            f"feenstra without a recorded current integrates dI/dV from zero bias, but the bias "
            f"window {bias_mV.min():g} ... {bias_mV.max():g} mV does not hold 0 mV; give the "
            "current or choose normalize='setpoint'"
        )
    order = np.argsort(bias_mV)
    V = bias_mV[order]
    G = X[:, order]
    current = cumulative_trapezoid(G, V, axis=1, initial=0.0)
    # the integral from the first bias point to 0 mV: whole trapezoids up to the point k just
    # below 0 mV, then the part of the next one up to 0 mV (g(0) interpolated linearly)
    k = min(int(np.searchsorted(V, 0.0, side="right")) - 1, len(V) - 2)
    g0 = G[:, k] + (G[:, k + 1] - G[:, k]) * (0.0 - V[k]) / (V[k + 1] - V[k])
    current -= (current[:, k] + (0.0 - V[k]) * (G[:, k] + g0) / 2)[:, None]
    out = np.empty_like(current)
    out[:, order] = current
    return out


def _feenstra(X, bias_mV, current=None) -> tuple[np.ndarray, str]:
    X = np.asarray(X, dtype=np.float64)
    if current is None:
        current = _integrated_current(X, bias_mV)
        source = "I integrated from dI/dV with I(0) = 0"
    else:
        current = np.asarray(current, dtype=np.float64)
        if current.shape != X.shape:
            raise ValueError(f"current must have the shape of X {X.shape}, got {current.shape}")
        source = "I the recorded current"
    with np.errstate(divide="ignore", invalid="ignore"):
        conductance = current / bias_mV[None, :]
    at_zero = bias_mV == 0  # the limit of I/V at 0 mV is dI/dV there, in the current's units
    if at_zero.any():
        slope = np.gradient(current, bias_mV, axis=1) if len(bias_mV) > 1 else X
        conductance[:, at_zero] = slope[:, at_zero]
    c = FEENSTRA_C * np.abs(conductance).mean(axis=1, keepdims=True)  # the units of I/V
    denominator = np.sqrt(conductance**2 + c**2)
    denominator = np.maximum(denominator, np.finfo(float).tiny)
    how = (
        f"(dI/dV) / sqrt((I/V)^2 + c^2), c = {FEENSTRA_C:g} x each spectrum's mean |I/V|, {source}"
    )
    return X / denominator, how


def apply_normalization(
    X,
    method: str,
    bias_mV,
    current=None,
    setpoint_bias_mV: float | None = None,
) -> np.ndarray:
    """Normalise every spectrum (row) of ``X`` by ``method`` (:data:`METHODS`).

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        dI/dV spectra, complete (no NaN).
    method : {"none", "setpoint", "feenstra", "zscore"}
        See the module's docstring for the formulas.
    bias_mV : array-like, shape ``(n_bias,)``
        Sample bias of the columns.
    current : array-like, shape ``(n_spectra, n_bias)``, optional
        Recorded tunnelling current (``"feenstra"`` only; None: integrated from ``X``).
    setpoint_bias_mV : float, optional
        Set-point bias (``"setpoint"`` only; None or outside the window: the outer window).

    Returns
    -------
    numpy.ndarray, shape ``(n_spectra, n_bias)``, float64

    Raises
    ------
    ValueError
        An unknown method, mismatched shapes, NaN in ``X``, a zero set-point conductance, or
        ``"feenstra"`` without a current on a bias window that does not hold 0 mV.
    """
    return _normalized(X, method, bias_mV, current, setpoint_bias_mV)[0]


def _normalized(X, method, bias_mV, current=None, setpoint_bias_mV=None):
    """``(normalised X, how)``."""
    _check_method(method)
    X = check_spectra(X, min_spectra=1, min_bias=1, dtype=np.float64)
    bias_mV = np.asarray(bias_mV, dtype=float)
    if bias_mV.shape != (X.shape[1],):
        raise ValueError(
            f"bias_mV must have {X.shape[1]} values (X's columns), got {bias_mV.shape}"
        )
    if method == "none":
        return X.copy(), "the spectra as measured"
    if method == "zscore":
        # a constant spectrum (a dead pixel) becomes zeros instead of stopping the run
        out = preprocess.normalize(X, "zscore", zero_norm="keep")
        return out, "(g - mean(g)) / std(g) of each spectrum"
    if method == "feenstra":
        return _feenstra(X, bias_mV, current)
    g, where = setpoint_conductance(X, bias_mV, setpoint_bias_mV)
    zero = ~(np.abs(g) > 0)
    if zero.any():
        rows = np.flatnonzero(zero)
        raise ValueError(
            f"cannot normalise at the set-point: {rows.size} spectra have zero conductance at "
            f"{where} (rows {rows[:5].tolist()})"
        )
    return X / g[:, None], f"each spectrum divided by its conductance at {where}"


def normalize_input(
    X,
    bias_mV,
    method: str = "auto",
    current=None,
    setpoint_bias_mV: float | None = None,
    units: str = "a.u.",
) -> tuple[np.ndarray, Normalization]:
    """Normalise the spectra of a run as ``method`` (``"auto"``: :func:`choose_normalization`)
    says; the normalised ``X`` and a :class:`Normalization` recording what and why."""
    _check_method(method, CONFIG_METHODS)
    if method == "auto":
        chosen, why = choose_normalization(X, bias_mV, setpoint_bias_mV)
    else:
        chosen, why = method, f"normalize={method!r} set by the configuration"
    out, how = _normalized(X, chosen, bias_mV, current, setpoint_bias_mV)
    if method != "auto" or chosen == "feenstra":
        why = f"{why}: {how}"
    before, reference = setpoint_conductance(X, bias_mV, setpoint_bias_mV)
    after, _ = setpoint_conductance(out, bias_mV, setpoint_bias_mV)
    record = Normalization(
        method=chosen,
        reason=why,
        requested=method,
        reference=reference,
        spread_before=relative_spread(before),
        spread_after=relative_spread(after),
        conductance_before=before,
        conductance_after=after,
        units=LABEL_UNITS.get(chosen, units),
    )
    return out, record


def recorded_setpoint_bias_mV(attrs) -> float | None:
    """The set-point bias (mV) a grid's ``attrs`` record as ``setpoint_bias_mV`` (what
    :func:`stswidgets.open_grid` fills from the vendor's header), or None."""
    value = attrs.get("setpoint_bias_mV")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def normalize_grid(grid, X, method: str = "auto", current=None):
    """:func:`normalize_input` of the complete spectra ``X`` ``(n_valid, n_bias)`` of ``grid``
    (a ``(y, x, bias)`` DataArray): its bias axis, its recorded set-point bias
    (:func:`recorded_setpoint_bias_mV`) and its units; ``(normalised X, Normalization)``."""
    return normalize_input(
        X,
        np.asarray(grid["bias"].values, dtype=float),
        method,
        current=current,
        setpoint_bias_mV=recorded_setpoint_bias_mV(grid.attrs),
        units=str(grid.attrs.get("units", "a.u.")),
    )
