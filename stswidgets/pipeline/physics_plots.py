"""Figures of the physics maps (notebook 09) and vector export of any figure.

Each ``draw_*`` draws on axes it is given (a map in nm with a labelled colourbar, energies in
mV); :func:`export_figure` writes a figure as SVG and PDF, :func:`save_figures` a set of them
into ``results_dir/figures/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.pipeline.maps import PhysicsMaps
from stswidgets.pipeline.plots import BIAS_LABEL

__all__ = [
    "FIGURE_FORMATS",
    "draw_bound_state_maps",
    "draw_conductance_gallery",
    "draw_fourier_gallery",
    "draw_gap_map",
    "draw_peak_maps",
    "draw_radial_average",
    "draw_value_map",
    "export_figure",
    "save_figures",
]

#: The vector formats :func:`export_figure` writes by default.
FIGURE_FORMATS = ("svg", "pdf")


def draw_value_map(ax, values: xr.DataArray, label: str, cmap="viridis", robust=True, **kw):
    """A ``(y, x)`` map on ``ax`` at its nm extent with a colourbar labelled ``label``;
    ``robust``: colour limits at the 1st and 99th percentiles (a few outliers do not wash the
    map out). A line of spectra (one pixel wide) is drawn as the values against the position
    along it (:func:`stswidgets.notebook.plot_map`). Returns the image (None for a line)."""
    from stswidgets.grid import map_extent
    from stswidgets.notebook import plot_map

    array = np.asarray(values, dtype=float)
    if min(array.shape) == 1:
        return plot_map(ax, array, values, label)
    finite = array[np.isfinite(array)]
    if robust and finite.size and "vmin" not in kw:
        kw["vmin"], kw["vmax"] = np.percentile(finite, [1, 99])
    image = ax.imshow(
        array, origin="lower", extent=map_extent(values), cmap=cmap, interpolation="none", **kw
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set(xlabel="x (nm)", ylabel="y (nm)", aspect="equal")
    return image


def _energy_title(label: str, energy: float) -> str:
    """``"Fermi level: -0.06 mV"``; a label naming its energy already stays as it is."""
    return label if label.endswith("mV)") else f"{label}: {energy:+.2f} mV"


def _units(values: xr.DataArray, fallback: str = "a.u.") -> str:
    return str(values.attrs.get("units", fallback))


def draw_gap_map(ax_map, ax_hist, maps: PhysicsMaps, truth_gap=None):
    """The gap map (mV) and the histogram of the gap over all spectra (with the true local gap
    of a simulated grid, ``truth_gap`` ``(y, x)`` in mV, as a second histogram)."""
    gap = maps.gap["gap"]
    draw_value_map(ax_map, gap, "gap (mV)", cmap="viridis")
    ax_map.set_title(f"gap map ({maps.gap.attrs.get('method', 'peaks')})")
    values = np.asarray(gap, dtype=float).ravel()
    values = values[np.isfinite(values)]
    bins = np.histogram_bin_edges(values, bins=50) if values.size else 10
    ax_hist.hist(values, bins=bins, color="C0", alpha=0.8, label="gap map")
    truth = None if truth_gap is None else np.asarray(truth_gap, dtype=float).ravel()
    truth = None if truth is None else truth[np.isfinite(truth)]
    if truth is not None and truth.size and np.ptp(truth) < 1e-9:  # a uniform gap: one line
        ax_hist.axvline(
            truth[0], color="k", ls="--", lw=1.2, label=f"simulated local gap {truth[0]:.2f} mV"
        )
    elif truth is not None and truth.size:
        ax_hist.hist(
            truth,
            bins=bins,
            histtype="step",
            color="k",
            lw=1.2,
            label="simulated local gap",
        )
    median = float(np.median(values)) if values.size else float("nan")
    ax_hist.axvline(median, color="C3", lw=1, label=f"median {median:.2f} mV")
    ax_hist.set(
        xlabel="gap (mV)",
        ylabel="number of spectra",
        yscale="log",  # the few spectra at the defects beside the many of the surface
        title="gap distribution",
    )
    ax_hist.legend(fontsize=8)


def draw_peak_maps(axes, maps: PhysicsMaps):
    """Coherence-peak energies (top: negative, positive bias; mV) and heights (bottom; the
    grid's units) on a 2 x 2 array of axes."""
    gap = maps.gap
    for column, (side, sign) in enumerate((("neg", "negative"), ("pos", "positive"))):
        energy, height = gap[f"peak_energy_{side}"], gap[f"peak_height_{side}"]
        draw_value_map(axes[0][column], energy, "peak energy (mV)", cmap="cividis")
        axes[0][column].set_title(f"coherence peak at {sign} bias: energy")
        draw_value_map(axes[1][column], height, f"peak height ({_units(height)})", cmap="magma")
        axes[1][column].set_title(f"coherence peak at {sign} bias: height")


def draw_bound_state_maps(ax_energy, ax_height, maps: PhysicsMaps):
    """The strongest in-gap bound state of each spectrum: its energy (mV, diverging around
    0 mV out to the median gap; blank where none) and its height (the grid's units; 0 where
    none)."""
    peaks = maps.peaks
    energy, height = peaks["bound_state_energy"], peaks["bound_state_height"]
    strongest = np.nanargmax(np.nan_to_num(np.asarray(height, float), nan=-np.inf), axis=-1)
    pick = {"peak": xr.DataArray(strongest, dims=energy.dims[:-1])}
    top_energy = energy.isel(pick).where(np.isfinite(height.isel(pick)))
    top_height = height.isel(pick).fillna(0.0)
    limit = maps.median_gap_mV  # bound states lie inside the gap
    if not np.isfinite(limit):
        limit = float(np.nanmax(np.abs(top_energy))) if np.isfinite(top_energy).any() else 1.0
    draw_value_map(
        ax_energy,
        top_energy,
        "bound-state energy (mV)",
        cmap="RdBu_r",
        robust=False,
        vmin=-limit,
        vmax=limit,
    )
    ax_energy.set_title("strongest in-gap bound state: energy")
    draw_value_map(ax_height, top_height, f"bound-state height ({_units(height)})", cmap="magma")
    ax_height.set_title("strongest in-gap bound state: height")


def draw_conductance_gallery(axes, grid: xr.DataArray, energies: dict, units="a.u."):
    """The conductance map at each key energy (``label -> mV``), one axes each, each with its
    own colourbar in ``units`` (``grid``: the grid the maps were made of,
    :func:`stswidgets.pipeline.mapped_grid`)."""
    axes = np.atleast_1d(axes).ravel()
    for ax, (label, energy) in zip(axes, energies.items(), strict=False):
        layer = grid.sel(bias=energy, method="nearest")
        draw_value_map(ax, layer, f"dI/dV ({units})", cmap="viridis")
        ax.set_title(_energy_title(label, float(layer["bias"])), fontsize=10)
    for ax in axes[len(energies) :]:
        ax.set_visible(False)


def draw_fourier_gallery(axes, maps: PhysicsMaps, energies: dict, q_max=None, friedel=None):
    """The Fourier power of the conductance map at each key energy (``label -> mV``), qx, qy
    in 1/nm, log colour scale with limits from the median to the 99.9th percentile of the
    power beyond the ring search's ``q_min`` (the defects' own power inside it saturates);
    the ring found there (:attr:`PhysicsMaps.ring`) as a white dotted circle and, on a
    simulated grid, ``friedel`` (a function of the bias in mV giving 2 k_F in 1/nm) dashed."""
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Circle

    axes = np.atleast_1d(axes).ravel()
    fourier = maps.fourier
    qx, qy = np.asarray(fourier["qx"], float), np.asarray(fourier["qy"], float)
    q = np.hypot(*np.meshgrid(qx, qy))
    q_min = float(maps.ring.attrs.get("q_min", 0.0)) if maps.ring is not None else 0.0
    for ax, (label, energy) in zip(axes, energies.items(), strict=False):
        layer = np.asarray(fourier.sel(bias=energy, method="nearest"), dtype=float)
        outer = layer[(layer > 0) & (q >= q_min) & (q <= (q_max or np.inf))]
        low, high = np.percentile(outer, [50, 99.9]) if outer.size else (1e-12, 1.0)
        image = ax.imshow(
            np.where(layer > 0, layer, np.nan),
            origin="lower",
            cmap="magma",
            extent=(qx[0], qx[-1], qy[0], qy[-1]),
            norm=LogNorm(low, max(high, low * 10)),
        )
        ax.figure.colorbar(image, ax=ax, label="Fourier power (a.u.)")
        if maps.ring is not None:
            found = float(maps.ring.sel(bias=energy, method="nearest"))
            if np.isfinite(found):
                ax.add_patch(Circle((0, 0), found, fill=False, color="w", ls=":", lw=1.2))
        if friedel is not None:
            ax.add_patch(Circle((0, 0), friedel(energy), fill=False, color="c", ls="--", lw=0.8))
        if q_max:
            ax.set(xlim=(-q_max, q_max), ylim=(-q_max, q_max))
        ax.set(xlabel="$q_x$ (1/nm)", ylabel="$q_y$ (1/nm)", aspect="equal")
        ax.set_title(_energy_title(label, energy), fontsize=10)
    for ax in axes[len(energies) :]:
        ax.set_visible(False)


def draw_radial_average(ax, maps: PhysicsMaps, friedel=None, q_max=None):
    """The QPI dispersion image: q (1/nm) against sample bias (mV) of the radial Fourier power
    with its smooth fall along q removed and averaged over the ring search's bias window
    (:func:`stswidgets.pipeline.qpi_highpass`: a ring is a red bump above 0, the defects' own
    power no longer fills the image), diverging colours
    clipped at the 99th percentile of ``|value|`` beyond ``q_min``; the ring found at every bias
    (white dots), ``q_min`` (dotted) and, on a simulated grid, ``friedel`` (a function of the
    bias in mV giving 2 k_F in 1/nm) dashed; q up to ``q_max`` (1/nm) when given. A map too
    coarse in q for the ring search (``maps.ring.attrs["note"]``) shows the radial power itself,
    each bias over its maximum, on a log scale."""
    from matplotlib.colors import LogNorm

    from stswidgets.pipeline.qpi import qpi_highpass

    ring = maps.ring
    searched = ring is not None and not ring.attrs.get("note")
    q_min = float(ring.attrs.get("q_min", 0.0)) if ring is not None else 0.0
    if searched:
        flat = qpi_highpass(maps.radial, bias_window_mV=ring.attrs.get("bias_window_mV"))
        values = np.asarray(flat, dtype=float)
        title = "QPI dispersion: radial Fourier power, smooth fall removed"
        label = "log Fourier power above its running median in q"
    else:  # too coarse in q for the high-pass: the power itself, per bias over its maximum
        flat = maps.radial.transpose("bias", "q")
        values = np.asarray(flat, dtype=float)
        values = values / np.nanmax(values, axis=1, keepdims=True)
        title = "radial Fourier power (q too coarse for a ring search)"
        label = "radial Fourier power / its maximum per bias"
    q, bias = np.asarray(flat["q"], float), np.asarray(flat["bias"], float)
    if searched:
        beyond = values[:, (q >= q_min) & (q <= (q_max or np.inf))]
        limit = float(np.nanpercentile(np.abs(beyond), 99)) if np.isfinite(beyond).any() else 1
        colours = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
    else:
        values = np.where(values > 0, values, np.nan)
        colours = {"cmap": "magma", "norm": LogNorm(1e-3, 1)}
    mesh = ax.pcolormesh(q, bias, values, shading="nearest", rasterized=True, **colours)
    ax.figure.colorbar(mesh, ax=ax, label=label)
    if searched:
        ax.plot(ring.values, bias, "k.", ms=1.5, label="ring found (per bias)")
        ax.axvline(q_min, color="0.4", ls=":", lw=1, label=f"q_min {q_min:.1f} 1/nm")
    if friedel is not None:
        ax.plot(friedel(bias), bias, "c--", lw=1.2, label="simulated 2 k_F(E)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right")
    if q_max:
        ax.set_xlim(0, q_max)
    convention = maps.radial.attrs.get("q_convention", "q = 2 pi / lambda")
    ax.set(xlabel=f"q (1/nm; {convention})", ylabel=BIAS_LABEL, title=title)


def export_figure(fig, path, formats=FIGURE_FORMATS) -> list[Path]:
    """Write ``fig`` as vector graphics: ``path`` with each suffix of ``formats`` (``svg``,
    ``pdf``, ``png``, ...; a ``path`` with a suffix writes that one format): axes, lines and
    text as vectors, the maps as embedded images (150 dpi). The folder is created. Returns the
    files written."""
    path = Path(path)
    if path.suffix:
        formats, path = (path.suffix.lstrip("."),), path.with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    engine = fig.get_layout_engine()
    try:
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            fig.savefig(target, format=fmt, dpi=150)  # the figures lay out themselves
            written.append(target)
            fig.set_layout_engine("none")  # laid out once: the next formats keep the positions
    finally:
        fig.set_layout_engine(engine)
    return written


def save_figures(results_dir, figures: dict, formats=FIGURE_FORMATS) -> list[Path]:
    """Every figure of ``figures`` (name -> matplotlib figure) as ``results_dir/figures/
    <name>.svg`` and ``.pdf``; nothing when ``results_dir`` is None. Returns the files."""
    if results_dir is None:
        return []
    folder = Path(results_dir) / "figures"
    return [
        target
        for name, fig in figures.items()
        for target in export_figure(fig, folder / name, formats)
    ]
