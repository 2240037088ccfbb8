"""The QPI ring of the physics maps (notebook 09): the radial Fourier power with the smooth
fall of the defects' own power removed, the ring wavevector at every bias, and the simulated
Friedel wavevector to compare it with."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = [
    "QPI_BIAS_WINDOW_MV",
    "QPI_HIGHPASS_WIDTH",
    "friedel_wavevector",
    "qpi_highpass",
    "qpi_ring",
]

#: The QPI ring search averages the radial profiles over this bias window (mV): one map's ring
#: is weak beside the noise, and a Friedel ring moves by less than a q step over 1 mV.
QPI_BIAS_WINDOW_MV = 1.0
#: Width (q steps) of the running median along q that :func:`qpi_highpass` removes.
QPI_HIGHPASS_WIDTH = 9
#: The ring search needs at least this many q steps above ``q_min``.
QPI_MIN_BINS = 3 * QPI_HIGHPASS_WIDTH


def qpi_highpass(
    radial: xr.DataArray, *, width: int = QPI_HIGHPASS_WIDTH, bias_window_mV: float | None = None
) -> xr.DataArray:
    """The radial Fourier power with its smooth fall along q removed, dims ``(bias, q)``.

    ``log(P / median_q P)`` minus its running median over ``width`` q steps, then (when
    ``bias_window_mV`` is given) its running mean over that bias window. The power of the
    defects themselves falls smoothly from q = 0 and drowns a weak ring in the raw profile;
    here a ring is a positive bump above 0.
    """
    from scipy import ndimage

    radial = radial.transpose("bias", "q")
    power = np.asarray(radial.values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(power / np.nanmedian(power, axis=1, keepdims=True))
    log_p[~np.isfinite(log_p)] = np.nan
    filled = np.where(np.isfinite(log_p), log_p, np.nanmedian(log_p))
    flat = log_p - ndimage.median_filter(filled, size=(1, int(width)), mode="nearest")
    if bias_window_mV:
        bias = np.asarray(radial["bias"].values, dtype=float)
        step = float(np.median(np.abs(np.diff(bias)))) if bias.size > 1 else 1.0
        window = max(1, int(round(bias_window_mV / step)))
        empty = ~np.isfinite(flat).any(axis=0)
        flat = ndimage.uniform_filter1d(np.nan_to_num(flat, nan=0.0), window, axis=0)
        flat[:, empty] = np.nan
    return radial.copy(data=flat).assign_attrs(
        units="1",
        long_name="log radial Fourier power above its running median along q",
        bias_window_mV=float(bias_window_mV or 0.0),
    )


def qpi_ring(
    radial: xr.DataArray, *, q_min: float = 1.5, bias_window_mV: float = QPI_BIAS_WINDOW_MV
) -> xr.DataArray:
    """The QPI ring wavevector at every bias (1/nm, dims ``bias``).

    :func:`qpi_highpass` of the radial average (averaged over ``bias_window_mV``), then
    :func:`stswidgets.analysis.ring_wavevector` (the midpoint at half maximum of the
    strongest bump) above ``q_min`` (1/nm: the defects' own power below) and past the first
    local minimum there (where that power still falls at ``q_min``). NaN where the
    profile above ``q_min`` is too short.
    """
    from stswidgets.analysis import ring_wavevector

    flat = qpi_highpass(radial, bias_window_mV=bias_window_mV)
    q = np.asarray(flat["q"].values, dtype=float)
    attrs = {"q_min": float(q_min), "bias_window_mV": float(bias_window_mV)}
    if (q >= q_min).sum() < QPI_MIN_BINS:  # a running median over 9 of fewer than 27 steps
        step = float(np.median(np.diff(q))) if q.size > 1 else np.nan
        reason = (
            f"{int((q >= q_min).sum())} q steps of {step:.2f} 1/nm above q_min: too few for a "
            f"ring search (>= {QPI_MIN_BINS}; a larger map gives finer q steps)"
        )
        empty = xr.full_like(flat.isel(q=0, drop=True), np.nan).rename("ring_q")
        return empty.assign_attrs(units="1/nm", long_name="ring wavevector", **attrs, note=reason)
    ring = ring_wavevector(flat.copy(data=_past_the_fall(flat.values, q >= q_min)), q_min=q_min)
    return ring.assign_attrs(**attrs, note="")


def _past_the_fall(flat: np.ndarray, above: np.ndarray) -> np.ndarray:
    """``flat`` ``(n_bias, n_q)`` with each row blanked (NaN) up to its first local minimum at
    or beyond ``q_min`` (``above``): where the defects' own power still falls there, its
    remainder would be the strongest point beside ``q_min`` and pass for a ring."""
    out = flat.copy()
    start = int(np.argmax(above))
    for row in out:
        i = start
        while i + 1 < row.size and np.isfinite(row[i + 1]) and row[i + 1] < row[i]:
            i += 1
        row[:i] = np.nan
    return out


def friedel_wavevector(truth, bias_mV) -> np.ndarray | None:
    """The simulated Friedel wavevector ``2 k(E) = (2 pi / lambda) (1 + E / 2 E_F)`` (1/nm) at
    ``bias_mV`` from a simulated grid's truth attrs (``friedel_wavelength_nm``,
    ``friedel_fermi_energy_mV``); None when the truth records none."""
    attrs = getattr(truth, "attrs", None) or {}
    wavelength = attrs.get("friedel_wavelength_nm")
    if not wavelength:
        return None
    fermi = attrs.get("friedel_fermi_energy_mV")
    bias = np.asarray(bias_mV, dtype=float)
    return (
        2 * np.pi / float(wavelength) * (1 + bias / (2 * float(fermi)) if fermi else 1 + 0 * bias)
    )
