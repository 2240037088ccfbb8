"""Physics maps (issue 21): the gap, coherence-peak and bound-state maps and the Fourier
(quasiparticle-interference) maps of a grid, as one pipeline step beside the similarity analysis.

:func:`physics_maps` runs :func:`stswidgets.analysis.gap_map`, ``peak_map``, ``fourier_maps``
and ``radial_average`` with the choices of :class:`~stswidgets.pipeline.PipelineConfig`
(``gap_method``, ``n_gaps``, ``gap_smoothing_mV``, ``fourier_window``, ``fourier_symmetrize``)
on the grid as measured (divided by each spectrum's set-point conductance when the run
normalises so, which moves no energy: the heights then compare across the map), picks the key
energies (both coherence peaks, the bound states, the Fermi level) and is
cached in the run folder like every step. :func:`physics_profiles` profiles the gap, the
zero-bias conductance, the score and the spectra against the distance from the nearest defect
(:func:`stswidgets.pipeline.defect_profiles`). Figures: :mod:`stswidgets.pipeline.physics_plots`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from stswidgets.pipeline.cache import cached, stored
from stswidgets.pipeline.config import PipelineConfig, config_for
from stswidgets.pipeline.qpi import qpi_ring

__all__ = [
    "PHYSICS_SETTINGS",
    "PhysicsMaps",
    "contrast_energy",
    "gap_values",
    "gap_verdict",
    "key_energies",
    "mapped_grid",
    "physics_maps",
    "physics_profiles",
    "physics_variables",
]

#: The settings the physics maps depend on (the cache key: other settings leave them alone).
PHYSICS_SETTINGS = (
    "gap_method",
    "n_gaps",
    "gap_smoothing_mV",
    "gap_fit_range",
    "fourier_window",
    "fourier_symmetrize",
    "qpi_q_min",
)
#: A bound-state energy is a key energy when at least this fraction of all in-gap peaks found
#: (and 5 spectra) lie within its histogram bin: bound states sit at the defects (a few % of
#: the map), the scattered noise peaks elsewhere do not pile up at one energy.
BOUND_STATE_FRACTION = 0.2
#: The variables in the units of the spectra mapped (the others are energies or ratios).
HEIGHT_VARIABLES = (
    "peak_height_neg",
    "peak_height_pos",
    "zero_bias_conductance",
    "bound_state_height",
    "bound_state_prominence",
    "qpi_radial_average",
)
#: At most this many bound-state energies are key energies.
MAX_BOUND_STATES = 2


@dataclass
class PhysicsMaps:
    """The physics maps of one grid (or collection of spectra).

    Attributes
    ----------
    gap : xarray.Dataset
        :func:`stswidgets.analysis.gap_map`'s result on ``(y, x)`` (``spectrum`` for a
        collection): ``gap``, ``peak_energy_neg`` / ``_pos`` (mV), ``peak_height_neg`` /
        ``_pos``, ``zero_bias_conductance``, ``fit_quality`` (``gap_2`` for two gaps).
    peaks : xarray.Dataset or None
        :func:`stswidgets.analysis.peak_map`: ``bound_state_energy`` (mV) and
        ``bound_state_height``, dims ``(y, x, peak)``, NaN where none.
    fourier : xarray.DataArray or None
        Fourier power of the conductance map at every bias, dims ``(bias, qy, qx)``, q in 1/nm
        (``attrs["q_convention"]``); None for a collection of spectra.
    radial : xarray.DataArray or None
        Its radial average, dims ``(bias, q)``.
    ring : xarray.DataArray or None
        The QPI ring wavevector at every bias (1/nm, :func:`qpi_ring`; NaN where none).
    key_energies : dict of str to float
        Label to bias (mV, a bias of the grid): ``"coherence peak (-)"``, ``"coherence peak
        (+)"``, ``"bound state ..."``, ``"Fermi level"``; in ascending energy.
    geometry : str
        ``"grid"``, ``"line"``, ``"points"`` or ``"repeats"``.
    gap_note : str
        Why the gap map holds no superconducting gap (:func:`gap_verdict`), else empty.
    note : str
        Why a part is missing (a collection has no Fourier maps, ...), else empty.
    normalize : str
        ``"setpoint"`` when the heights are in units of each spectrum's set-point conductance,
        ``"none"`` when in the grid's units (see :func:`physics_maps`).
    """

    gap: xr.Dataset
    peaks: xr.Dataset | None
    fourier: xr.DataArray | None
    radial: xr.DataArray | None
    ring: xr.DataArray | None = None
    key_energies: dict[str, float] = field(default_factory=dict)
    geometry: str = "grid"
    note: str = ""
    normalize: str = "none"
    gap_note: str = ""

    @property
    def median_gap_mV(self) -> float:
        values = np.asarray(self.gap["gap"].values, dtype=float)
        return float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")


def mapped_grid(data) -> xr.DataArray:
    """The grid :func:`physics_maps` maps (see :func:`_grid_of`): the conductance maps of the
    notebook's gallery come from it, in the units of the peak heights."""
    return _grid_of(data)[0]


def _grid_of(data) -> tuple[xr.DataArray, str]:
    """The grid (or spectra) to map and the geometry of a PipelineInput or a DataArray.

    The grid as measured, divided pixel by pixel by its set-point conductance when the run's
    normalisation is ``"setpoint"`` (a factor per spectrum moves no energy, and the peak
    heights and the zero-bias conductance then compare across the map instead of showing the
    set-point variations); other normalisations change the shape of a spectrum (Feenstra) or
    its zero (z-score), so the grid stays as measured."""
    if isinstance(data, xr.DataArray):
        geometry = "grid" if {"y", "x"} <= set(data.dims) else str(data.attrs.get("geometry"))
        return data, geometry
    grid, geometry = data.grid, getattr(data, "geometry", "grid")
    normalization = getattr(data, "normalization", None)
    if normalization is not None and normalization.method == "setpoint":
        from stswidgets.grid import to_map

        conductance = to_map(np.asarray(normalization.conductance_before), data.valid)
        scaled = (grid / conductance).transpose(*grid.dims)
        grid = scaled.assign_attrs(grid.attrs, units=normalization.units, normalize="setpoint")
    return grid, geometry


def _gap_options(config: PipelineConfig) -> dict:
    options = {"method": config.gap_method, "n_gaps": config.n_gaps}
    if config.gap_method == "fit":
        options["fit_range"] = config.gap_fit_range
    if config.gap_smoothing_mV is not None:
        options["smoothing_mV"] = config.gap_smoothing_mV
    return options


def gap_verdict(gap: xr.Dataset, bias) -> str:
    """Why the gap map holds no superconducting gap, in words ("" when it does).

    A gap is not resolved when its median lies within two bias steps of 0 mV, beyond 45 % of
    the largest ``|bias|`` (the peaks at the end of the sweep), or when the spectra fit badly
    (median ``fit_quality`` below 0.8 for the fit's R^2, below 3 for the peaks' height over
    the noise)."""
    bias = np.sort(np.asarray(bias, dtype=float))
    values = np.asarray(gap["gap"].values, dtype=float)
    if not np.isfinite(values).any():
        return "no gap found in any spectrum"
    median = float(np.nanmedian(values))
    step = float(np.median(np.diff(bias))) if bias.size > 1 else 0.0
    quality = np.asarray(gap["fit_quality"].values, dtype=float) if "fit_quality" in gap else []
    quality = float(np.nanmedian(quality)) if np.isfinite(quality).any() else np.nan
    fit = gap.attrs.get("method", "peaks") == "fit"
    if median < 2 * step:
        return f"the median gap {median:.2g} mV is within two bias steps ({2 * step:.3g} mV)"
    if median > 0.45 * np.abs(bias).max():
        return f"the median gap {median:.3g} mV reaches the end of the sweep"
    if np.isfinite(quality) and quality < (0.8 if fit else 3.0):
        what = "fit R^2" if fit else "peak height over the noise"
        return f"the spectra do not look like a gap (median {what} {quality:.2f})"
    return ""


def contrast_energy(grid: xr.DataArray) -> float:
    """The bias (mV) whose conductance map varies most relative to its mean: the energy to
    map first when the spectra hold no gap."""
    values = np.asarray(grid.transpose(..., "bias").values, dtype=float)
    values = values.reshape(-1, values.shape[-1])
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.nanstd(values, axis=0) / np.abs(np.nanmean(values, axis=0))
    relative[~np.isfinite(relative)] = -np.inf
    return float(grid["bias"].values[int(np.argmax(relative))])


def key_energies(
    gap: xr.Dataset, peaks: xr.Dataset | None, bias, *, resolved: bool = True
) -> dict[str, float]:
    """The energies a physicist maps first, as biases of the grid (mV), ascending.

    Both coherence peaks (the median of the peak energies), the most common bound-state
    energies (histogram bins, two bias steps wide, holding at least
    :data:`BOUND_STATE_FRACTION` of the in-gap peaks found, at most :data:`MAX_BOUND_STATES`)
    and the Fermi level (0 mV, when the bias range holds it); only the Fermi level when the
    gap is not ``resolved`` (:func:`gap_verdict`: no coherence peaks, no gap to hold bound
    states).
    """
    bias = np.sort(np.asarray(bias, dtype=float))

    def nearest(energy):
        return float(bias[int(np.argmin(np.abs(bias - energy)))])

    found = {}
    if not resolved:
        gap, peaks = xr.Dataset(), None
    for side, name in (("-", "peak_energy_neg"), ("+", "peak_energy_pos")):
        values = np.asarray(gap[name].values, dtype=float) if name in gap else np.array([])
        if np.isfinite(values).any():
            found[f"coherence peak ({side})"] = nearest(np.nanmedian(values))
    if peaks is not None and "bound_state_energy" in peaks:
        energies = np.asarray(peaks["bound_state_energy"].values, dtype=float)
        energies = energies[np.isfinite(energies)]
        step = float(np.median(np.diff(bias))) if bias.size > 1 else 1.0
        if energies.size:
            edges = np.arange(energies.min() - step, energies.max() + 2 * step, 2 * step)
            counts, edges = np.histogram(energies, edges)
            order = np.argsort(counts)[::-1]
            chosen: list[int] = []
            for b in order:
                if counts[b] < max(5, BOUND_STATE_FRACTION * energies.size):
                    break
                if all(abs(b - c) > 1 for c in chosen):
                    chosen.append(int(b))
                if len(chosen) == MAX_BOUND_STATES:
                    break
            for b in chosen:
                inside = energies[(energies >= edges[b]) & (energies < edges[b + 1])]
                energy = nearest(np.median(inside))
                found[f"bound state ({energy:+.2f} mV)"] = energy
    if bias.size and bias[0] <= 0 <= bias[-1]:
        found["Fermi level"] = nearest(0.0)
    return dict(sorted(found.items(), key=lambda item: item[1]))


def _compute(grid: xr.DataArray, geometry: str, config: PipelineConfig) -> PhysicsMaps:
    from stswidgets.analysis import fourier_maps, gap_map, peak_map, radial_average

    gap = gap_map(grid, **_gap_options(config))
    smoothing = {} if config.gap_smoothing_mV is None else {"smoothing_mV": config.gap_smoothing_mV}
    peaks = peak_map(grid, **smoothing)
    fourier = radial = ring = None
    note = ""
    if geometry != "grid":
        note = (
            f"a collection of spectra ({geometry}), not a map: gap and bound states per "
            "spectrum, no Fourier maps (they need a (y, x) map)"
        )
    elif min(grid.sizes["y"], grid.sizes["x"]) < 4:
        note = f"a map of {grid.sizes['y']} x {grid.sizes['x']} pixels: too small for Fourier maps"
    else:
        fourier = fourier_maps(
            grid, window=config.fourier_window, symmetrize=config.fourier_symmetrize
        )
        radial = radial_average(fourier)
        ring = qpi_ring(radial, q_min=config.qpi_q_min)
        fourier = fourier.astype(np.float32)  # the cache holds every bias: half the bytes
    gap_note = gap_verdict(gap, grid["bias"].values)
    energies = key_energies(gap, peaks, grid["bias"].values, resolved=not gap_note)
    if gap_note:
        energies["strongest contrast"] = contrast_energy(grid)
        energies = dict(sorted(energies.items(), key=lambda item: item[1]))
    normalize = str(grid.attrs.get("normalize", "none"))
    return PhysicsMaps(
        gap, peaks, fourier, radial, ring, energies, geometry, note, normalize, gap_note
    )


def physics_maps(data, config: PipelineConfig | None = None, results_dir=None) -> PhysicsMaps:
    """The gap, peak, bound-state and Fourier maps of a grid, with its key energies.

    Parameters
    ----------
    data : PipelineInput or xarray.DataArray
        :func:`stswidgets.pipeline.load`'s result (its measured ``grid``, divided by each
        spectrum's set-point conductance when the run normalises by it; its ``geometry``
        when it is a collection of spectra), or a grid ``(y, x, bias)`` itself.
    config : PipelineConfig, optional
        ``gap_method``, ``n_gaps``, ``gap_smoothing_mV``, ``fourier_window``,
        ``fourier_symmetrize`` (default: the full profile's).
    results_dir : str or Path, optional
        The run folder: the result is cached there (:func:`stswidgets.pipeline.cached`).

    Returns
    -------
    PhysicsMaps
        Fourier maps for a ``"grid"`` only: a collection (``"line"``, ``"points"``,
        ``"repeats"``) gets the gap and bound states per spectrum and a ``note`` saying so.

    Examples
    --------
    >>> maps = pipeline.physics_maps(data, config, results_dir)
    >>> maps.gap["gap"].plot(); maps.key_energies
    """
    config = config or config_for("full")
    grid, geometry = _grid_of(data)
    settings = tuple(getattr(config, name) for name in PHYSICS_SETTINGS)
    return cached(
        "physics_maps",
        lambda: _compute(grid, geometry, config),
        results_dir,
        np.asarray(grid.values),
        np.asarray(grid["bias"].values),
        geometry,
        settings,
    )


def physics_profiles(
    data,
    config: PipelineConfig,
    maps: PhysicsMaps,
    results_dir=None,
    centres_nm=None,
):
    """The gap, zero-bias conductance, score and spectra against the distance from the
    nearest defect (:func:`stswidgets.pipeline.defect_profiles`), without training anything.

    The defect centres: ``centres_nm`` when given; else the site classes of the similarity
    score that notebook 06 stored in the run folder (``results_dir``, same grid and
    config); else the defect mask of the iso-energy segmentation (notebook 01's step). The
    score is profiled only when it was stored.

    Returns
    -------
    profiles : DefectProfiles or None
        None for a collection of spectra (no map to measure distances on).
    origin : str
        Where the centres came from, in words.
    """
    from stswidgets.pipeline.profiles import defect_profiles

    if maps.geometry != "grid":
        return None, "a collection of spectra: no defect-centred profiles"
    grid, valid = data.grid, np.asarray(data.valid, dtype=bool)
    projection = stored("similarity_score", results_dir, data.X, config)
    score = labels = None
    if centres_nm is not None:
        origin = f"{len(np.atleast_2d(centres_nm))} given position(s)"
    elif projection is not None:
        from stswidgets.pipeline.score import site_classes

        classes = site_classes(
            data.X, projection, config, simulated=data.simulated, grid=grid, valid=data.valid
        )
        labels, origin = classes.labels, "the site classes of the stored similarity score"
    else:
        from stswidgets.pipeline.segmentation import segment

        mask = np.asarray(segment(grid, config).mask, dtype=bool)
        labels = np.where(mask[valid], 2, 0)
        origin = (
            "the iso-energy segmentation (no similarity score stored in the run folder: "
            "run notebook 06 first for the score profile)"
        )
    if projection is not None:
        score = projection.score
    map_values = {name: maps.gap[name] for name in ("gap", "zero_bias_conductance")}
    profiles = defect_profiles(
        score, data.X, grid, valid, labels=labels, centres_nm=centres_nm, maps=map_values
    )
    return profiles, origin


def physics_variables(maps: PhysicsMaps) -> dict[str, xr.DataArray]:
    """The ``results.nc`` variables of the physics maps: every variable of the gap map,
    ``bound_state_energy`` / ``bound_state_height`` (dim ``peak``), ``qpi_radial_average``
    (dims ``bias``, ``q`` in 1/nm) and ``qpi_ring_q`` (the ring wavevector at each bias, 1/nm),
    each with ``units`` and ``long_name``."""
    out = {name: maps.gap[name] for name in maps.gap.data_vars}
    if maps.peaks is not None:
        out.update({name: maps.peaks[name] for name in maps.peaks.data_vars})
    if maps.radial is not None:
        radial = maps.radial.astype(np.float64)
        radial = radial.assign_attrs(
            {
                "long_name": "radial average of the Fourier power of the conductance maps",
                **maps.radial.attrs,
                "units": maps.radial.attrs.get("units", "a.u."),
            }
        )
        out["qpi_radial_average"] = radial.assign_coords(
            q=radial["q"].assign_attrs(
                units="1/nm",
                long_name="wavevector magnitude",
                q_convention=str(maps.radial.attrs.get("q_convention", "q = 2 pi / lambda")),
            ),
            bias=radial["bias"].assign_attrs(units="mV", long_name="sample bias"),
        )
    if maps.ring is not None:
        out["qpi_ring_q"] = maps.ring.assign_attrs(
            long_name="QPI ring wavevector |q| (2 pi / lambda) at each bias"
        ).assign_coords(bias=maps.ring["bias"].assign_attrs(units="mV", long_name="sample bias"))
    for name in HEIGHT_VARIABLES:  # in the units of the (scaled) spectra: say which
        if name in out:
            out[name] = out[name].assign_attrs(normalize=maps.normalize)
    return {name: value.rename(name) for name, value in out.items()}


def gap_values(grid: xr.DataArray, valid, config: PipelineConfig | None = None) -> np.ndarray:
    """The gap (mV) of every valid pixel, ``(n_valid,)`` in the row order of
    :func:`stswidgets.to_matrix` (NaN where no gap is found): the app's gap colour. Only the gap
    map (``config.gap_method``, ``n_gaps``, ``gap_smoothing_mV``), none of the Fourier maps."""
    from stswidgets.analysis import gap_map

    gap = gap_map(grid, **_gap_options(config or config_for("full")))["gap"]
    return np.asarray(gap.values, dtype=float)[np.asarray(valid, dtype=bool)]
