"""Gap and bound-state maps: the superconducting gap of every spectrum, and in-gap peaks.

:func:`gap_map` measures the gap of each spectrum of a grid ``(y, x, bias)``, of a collection
``(spectrum, bias)`` or of a matrix ``(n_spectra, n_bias)``, two ways:

``method="peaks"`` (fast, no model)
    The spectrum is smoothed with a Savitzky-Golay filter (polynomial order 3, window
    ``smoothing_mV``; by default a quarter of the gap of the MEAN spectrum, at least 5 samples).
    On each side of zero bias the largest local maximum with ``|E|`` inside ``search_mV`` is the
    coherence peak; its energy is the vertex of the parabola through the three highest samples
    (sub-sample accuracy). ``gap = (E_pos - E_neg) / 2``, half the peak-to-peak distance.
``method="fit"``
    A Dynes-broadened BCS DOS on a multiplicative quadratic (or linear) background, one or two
    gaps (``n_gaps=2``: ``(1 - w) N(Delta) + w N(Delta_2)``, shared Dynes ``Gamma``), optionally
    thermally broadened, fitted to ALL spectra at once (batched Levenberg-Marquardt,
    :mod:`~stswidgets.analysis._dynes_fit`), started from the peaks estimate, on ``|E| <=
    fit_range`` times each spectrum's peaks gap. ``gap`` is the fitted ``Delta``.

The two measure different things. The coherence peaks of a Dynes DOS sit at ``Delta`` only for
``Gamma << Delta``: broadening (Dynes, thermal, instrumental) moves them outwards, so the peaks
gap is ``>= Delta``, by a few percent at ``Gamma / Delta ~ 0.1``; a smaller second gap or an
anisotropic gap pulls the peak-to-peak distance too. The fit returns ``Delta`` itself (with the
instrumental broadening absorbed into ``Gamma``).

Accuracy on :func:`stswidgets.datasets.random_grid` grids with ``gap_variation=0.1`` (a gap that
varies by 10 % over a few nm), against the truth ``local_gap_mV`` on pixels outside the defect
cores (``kind == 0``), on the reporting seeds 1000-1009 (not tuned on; 48-64 pixels a side),
measured by ``benchmarks/bench_gap_map.py --accuracy``: ``fit`` correlation 10th percentile 0.989,
median 0.999, median |error| 0.088 mV (0.02-0.09 mV on isotropic gaps, 0.3-0.4 mV on V-shaped
ones, which the isotropic model does not describe); ``peaks`` 0.973, 0.996 and 0.248 mV (the
peaks sit outside Delta; 0.05-0.07 mV on V-shaped gaps).

:func:`peak_map` finds in-gap bound states: local maxima of the smoothed spectrum strictly
between the two coherence peaks, prominent above the noise.
"""

import numpy as np
import xarray as xr
from scipy.signal import find_peaks

from stswidgets.analysis._gap_fit import fit_gaps
from stswidgets.analysis._gap_peaks import _Spectra
from stswidgets.analysis._gap_peaks import peaks as _peaks

__all__ = ["gap_map", "peak_map"]

_ANGLES = 24  # angles of the anisotropic DOS average (as the simulator's superconductor_dos)


def _variable_attrs(units: str, method: str) -> dict:
    quality = (
        "R^2 of the fit over the fit window"
        if method == "fit"
        else "coherence-peak contrast over noise: lower peak above the gap floor / noise std"
    )
    return {
        "gap": (
            "mV",
            "superconducting gap"
            + (" Delta (fit)" if method == "fit" else " (half the peak-to-peak distance)"),
        ),
        "gamma": ("mV", "Dynes broadening Gamma"),
        "gap_2": ("mV", "second (smaller) gap Delta_2"),
        "gap_2_weight": ("1", "weight w of the second gap"),
        "gap_anisotropy": ("1", "gap anisotropy a: Delta (1 - a + a |cos 2 theta|)"),
        "peak_energy_neg": ("mV", "coherence peak energy, negative bias"),
        "peak_energy_pos": ("mV", "coherence peak energy, positive bias"),
        "peak_height_neg": (units, "coherence peak height, negative bias"),
        "peak_height_pos": (units, "coherence peak height, positive bias"),
        "zero_bias_conductance": (units, "conductance at zero bias"),
        "fit_quality": ("1", quality),
    }


def gap_map(
    grid,
    *,
    method: str = "peaks",
    n_gaps: int = 1,
    bias_mV=None,
    smoothing_mV: float | None = None,
    search_mV: tuple[float, float] | None = None,
    fit_range: float = 3.0,
    background_order: int = 2,
    temperature_K: float | None = None,
    anisotropic: bool = False,
    max_iter: int = 60,
) -> xr.Dataset:
    """Superconducting gap of every spectrum, by its coherence peaks or by a Dynes fit.

    Parameters
    ----------
    grid : xarray.DataArray, xarray.Dataset or numpy.ndarray
        A grid ``(y, x, bias)``, a collection ``(spectrum, bias)`` (any dims besides ``bias``
        are kept), a Dataset holding one such variable (``didv`` preferred) or a matrix
        ``(n_spectra, n_bias)`` with ``bias_mV``. Bias in mV (a ``units`` of "V" is converted).
    method : {"peaks", "fit"}
        "peaks": coherence peaks of the smoothed spectrum; "fit": Dynes BCS fit (see the module
        docstring for what each measures).
    n_gaps : {1, 2}
        Gaps of the fit (``method="fit"``); 2 adds ``gap_2`` and ``gap_2_weight`` (FeSe).
    bias_mV : array-like, optional
        Bias of a matrix input, length ``n_bias``.
    smoothing_mV : float, optional
        Savitzky-Golay window; default a quarter of the mean spectrum's gap (>= 5 samples).
    search_mV : (float, float), optional
        ``|E|`` range searched for the coherence peaks; default 1.5 bias steps to twice the
        mean spectrum's gap.
    fit_range : float
        The fit uses ``|E| <= fit_range`` times each spectrum's peaks gap.
    background_order : {1, 2}
        Order of the multiplicative background polynomial of the fit.
    temperature_K : float, optional
        Thermal broadening of the fitted DOS (Fermi-function derivative); None: none.
    anisotropic : bool
        Fit an anisotropic gap ``Delta (1 - a + a |cos 2 theta|)`` (adds ``gap_anisotropy``,
        ``a``: 0 U-shaped, near 1 V-shaped as FeSe); ``gap`` is then the largest gap on the
        Fermi surface. The DOS averages 24 angles: about 20 times slower.
    max_iter : int
        Levenberg-Marquardt iterations at most.

    Returns
    -------
    xarray.Dataset
        On the input's dims without ``bias`` (``(y, x)``, ``(spectrum,)``): ``gap``,
        ``peak_energy_neg``, ``peak_energy_pos`` (mV), ``peak_height_neg``,
        ``peak_height_pos``, ``zero_bias_conductance`` (grid units), ``fit_quality``; the fit
        adds ``gamma`` (mV) and for ``n_gaps=2`` ``gap_2`` (mV) and ``gap_2_weight``. NaN on
        incomplete spectra and where no peak was found. ``attrs`` record the settings.

    Examples
    --------
    >>> from stswidgets.datasets import random_grid
    >>> ds = random_grid(3, shape=(16, 16), n_bias=256, gap_variation=0.1)
    >>> gaps = gap_map(ds["didv"], method="fit")
    >>> sorted(gaps.data_vars)[:3]
    ['fit_quality', 'gamma', 'gap']
    """
    if method not in ("peaks", "fit"):
        raise ValueError(f"method must be 'peaks' or 'fit', got {method!r}")
    if n_gaps not in (1, 2) or (n_gaps == 2 and method != "fit"):
        raise ValueError(f"n_gaps must be 1, or 2 with method='fit'; got {n_gaps!r} ({method})")
    if background_order not in (1, 2):
        raise ValueError(f"background_order must be 1 or 2, got {background_order!r}")
    data = _Spectra(grid, bias_mV)
    peaks = _peaks(data, smoothing_mV, search_mV)
    result, settings = peaks[0], peaks[3]
    if method == "fit":
        result, fit_settings = fit_gaps(
            data,
            peaks,
            n_gaps,
            background_order,
            fit_range,
            temperature_K,
            max_iter,
            _ANGLES if anisotropic else 0,
        )
        settings = {**settings, **fit_settings, "background_order": background_order}
        if temperature_K is not None:
            settings["temperature_K"] = float(temperature_K)
        settings["anisotropic"] = int(bool(anisotropic))
    described = _variable_attrs(data.units, method)
    variables = {
        name: (values, {"units": described[name][0], "long_name": described[name][1]})
        for name, values in result.items()
    }
    attrs = {"method": method, "n_gaps": n_gaps}
    attrs.update({k: (str(v) if isinstance(v, list) else v) for k, v in settings.items()})
    return data.to_dataset(variables, attrs)


def peak_map(
    grid,
    *,
    window_mV=None,
    bias_mV=None,
    smoothing_mV: float | None = None,
    min_prominence: float = 4.0,
    margin: float = 0.15,
    max_peaks: int = 4,
) -> xr.Dataset:
    """In-gap bound states: peaks inside the gap, beside the coherence peaks.

    Each spectrum is smoothed as in :func:`gap_map` (``method="peaks"``); its local maxima with a
    prominence above ``min_prominence`` times its noise (std of spectrum minus smoothed) and
    above 0.3 % of its mean level, inside the window, are bound states. The coherence peaks of a
    second, smaller gap are in-gap peaks too: pass ``window_mV`` inside the ``gap_2`` of a
    two-gap fit to leave them out.

    Parameters
    ----------
    grid : xarray.DataArray, xarray.Dataset or numpy.ndarray
        As for :func:`gap_map`.
    window_mV : float or (float, float), optional
        Energies searched: ``|E| < window_mV`` or ``low < E < high``. Default: between each
        spectrum's coherence peaks, ``margin`` gaps away from each of them.
    bias_mV, smoothing_mV
        As for :func:`gap_map`.
    min_prominence : float
        Prominence threshold in units of the spectrum's noise.
    margin : float
        Distance kept from the coherence peaks, in units of the spectrum's gap (default window).
    max_peaks : int
        Bound states kept per spectrum (the most prominent), length of the ``peak`` dim.

    Returns
    -------
    xarray.Dataset
        ``bound_state_energy`` (mV), ``bound_state_height`` (grid units) and
        ``bound_state_prominence`` with dims ``(..., peak)`` sorted by energy, NaN where none;
        ``n_bound_states`` (int count per spectrum).
    """
    data = _Spectra(grid, bias_mV)
    peaks, S, noise, settings = _peaks(data, smoothing_mV, None)
    n = len(S)
    if window_mV is None:
        gap = peaks["gap"]
        low = peaks["peak_energy_neg"] + margin * gap
        high = peaks["peak_energy_pos"] - margin * gap
    elif np.ndim(window_mV) == 0:
        low, high = np.full(n, -abs(float(window_mV))), np.full(n, abs(float(window_mV)))
    else:
        low, high = np.full(n, float(window_mV[0])), np.full(n, float(window_mV[1]))
    energy = np.full((n, max_peaks), np.nan)
    height = np.full((n, max_peaks), np.nan)
    prominence = np.full((n, max_peaks), np.nan)
    step = data.bias[1] - data.bias[0]
    floor = 3e-3 * np.abs(S).mean(axis=1)
    for i in range(n):
        if not (np.isfinite(low[i]) and np.isfinite(high[i])):
            continue
        found, props = find_peaks(S[i], prominence=max(min_prominence * noise[i], floor[i]))
        keep = (data.bias[found] > low[i]) & (data.bias[found] < high[i])
        found, prom = found[keep], props["prominences"][keep]
        if len(found) > max_peaks:
            top = np.sort(np.argsort(prom)[::-1][:max_peaks])
            found, prom = found[top], prom[top]
        j = np.clip(found, 1, len(data.bias) - 2)
        left, centre, right = S[i, j - 1], S[i, j], S[i, j + 1]
        curvature = left - 2 * centre + right
        with np.errstate(invalid="ignore", divide="ignore"):
            offset = np.clip(
                np.where(curvature < 0, 0.5 * (left - right) / curvature, 0), -0.5, 0.5
            )
        m = len(found)
        energy[i, :m] = data.bias[j] + offset * step
        height[i, :m] = centre - 0.25 * (left - right) * offset
        prominence[i, :m] = prom
    units = data.units
    variables = {
        "bound_state_energy": (energy, {"units": "mV", "long_name": "bound state energy"}, "peak"),
        "bound_state_height": (height, {"units": units, "long_name": "bound state height"}, "peak"),
        "bound_state_prominence": (
            prominence,
            {"units": units, "long_name": "bound state prominence"},
            "peak",
        ),
        "n_bound_states": (
            np.isfinite(energy).sum(axis=1),
            {"units": "1", "long_name": "bound states found"},
        ),
    }
    attrs = {
        "min_prominence_per_noise": min_prominence,
        "margin_per_gap": margin,
        "smoothing_mV": settings["smoothing_mV"],
    }
    return data.to_dataset(variables, attrs)
