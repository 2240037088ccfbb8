"""The conventional reference (paper Fig. 2): an iso-energy slice segmented into a defect mask.

:func:`segment` chooses the energy from the data (the bias where the smoothed conductance map
has the largest contrast above its noise, :func:`stswidgets.analysis.segmentation_energy`)
unless ``config.energy_mV`` gives it, thresholds the slice there with Otsu's method and drops
small specks. Notebook 01 draws its result; the grid explorer opens at its energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = ["Segmentation", "segment"]


@dataclass
class Segmentation:
    """The iso-energy segmentation of one grid.

    Attributes
    ----------
    energy_mV : float
        Bias of the segmented slice, mV (a bias of the grid: the nearest to the chosen or
        given energy).
    chosen : bool
        True when the energy was chosen from the data, False when ``config.energy_mV`` gave it.
    contrast : xarray.DataArray, dims ``("bias",)``
        Relative contrast ``var(S) / mean(S)**2`` of the smoothed map ``S`` at every bias,
        0 where the map does not vary more than its noise (dimensionless).
    signal_to_noise : numpy.ndarray, shape ``(n_bias,)``
        ``var(S) / var(L - S)`` at every bias (dimensionless).
    mask : xarray.DataArray of bool, dims ``("y", "x")``
        True on the minority side of Otsu's threshold (the defects).
    threshold : float
        Otsu's threshold of the smoothed slice, units of the spectra.
    polarity : str
        ``"high"`` or ``"low"``: the side of the threshold the mask is on.
    note : str
        Empty, or why the energy is a fallback (no layer above its noise: the layer of best
        signal/noise is segmented).
    """

    energy_mV: float
    chosen: bool
    contrast: xr.DataArray
    signal_to_noise: np.ndarray
    mask: xr.DataArray
    threshold: float
    polarity: str
    note: str = ""

    @property
    def fraction(self) -> float:
        """Fraction of the pixels in the mask."""
        return float(np.asarray(self.mask).mean())

    def rows(self, valid) -> np.ndarray:
        """The mask as one flag per row of ``X`` (the valid pixels), shape ``(n_valid,)``."""
        return np.asarray(self.mask)[np.asarray(valid, dtype=bool)]


def segment(grid: xr.DataArray, config: PipelineConfig | None = None) -> Segmentation:
    """Segment the conductance map at one energy into a defect mask.

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
        Bias in mV.
    config : PipelineConfig
        ``energy_mV`` (None: chosen from the data), ``sigma_px`` (real-space Gaussian
        smoothing, pixels), ``min_size`` (smallest region kept, pixels).

    Returns
    -------
    Segmentation

    Examples
    --------
    >>> result = segment(data.grid, config)
    >>> result.energy_mV, result.fraction
    """
    from stswidgets.analysis.segmentation import iso_energy_mask, segmentation_contrast

    config = config or config_for("full")
    contrast = segmentation_contrast(grid, sigma_px=config.sigma_px)
    snr = np.asarray(contrast.attrs["signal_to_noise"], dtype=float)
    bias = np.asarray(grid["bias"].values, dtype=float)
    note = ""
    if config.energy_mV is not None:
        energy = float(config.energy_mV)
    elif np.any(contrast.values > 0):
        energy = float(bias[int(np.argmax(contrast.values))])
    else:  # nothing above its noise: the least noisy layer, said in the note
        energy = float(bias[int(np.argmax(snr))])
        note = (
            f"no bias layer varies more than its pixel-to-pixel noise (best signal/noise "
            f"{snr.max():.2f}): the layer of best signal/noise, {energy:.3g} mV, is segmented"
        )
    mask = iso_energy_mask(grid, energy, sigma_px=config.sigma_px, min_size=config.min_size)
    return Segmentation(
        energy_mV=float(mask.attrs["energy_mV"]),
        chosen=config.energy_mV is None,
        contrast=contrast,
        signal_to_noise=snr,
        mask=mask,
        threshold=float(mask.attrs["threshold"]),
        polarity=str(mask.attrs["polarity"]),
        note=note,
    )
