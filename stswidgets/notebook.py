"""Small helpers the notebooks share: what is unreliable on a grid, plotting at true energies,
names of the populations, and the closing summary.

- :func:`grid_warnings` / :func:`show_warnings`: few bias points, few spectra, uneven bias
  spacing, a line instead of a map, a channel that agrees poorly with the dI/dV of the
  current, incomplete spectra; shown at the top of every notebook.
- :func:`bias_edges`: cell edges of an (uneven) bias axis for ``pcolormesh``, so every point
  is drawn at its true energy; :func:`line_marker`: markers on line plots with few points.
- :func:`plot_map`: a real-space map with ``imshow``, or a profile along the line when the
  grid is a single line of spectra.
- :func:`population_names`: FeSe words (vacancy, surface) on the simulated grid, generic
  words (minority, majority) on a data file; :func:`truth_rows`: the simulated ground truth
  as one flag per spectrum.
- :func:`plot_mean_spectra`, :func:`plot_density`, :func:`plot_channel_candidates`: figures
  several notebooks draw the same way.
- :func:`print_summary`: the data-driven "what this shows" lines and the run time.
"""

from __future__ import annotations

import time

import numpy as np
import xarray as xr

__all__ = [
    "MIN_BIAS_POINTS",
    "MIN_SPECTRA",
    "bias_edges",
    "grid_warnings",
    "line_marker",
    "plot_channel_candidates",
    "plot_density",
    "plot_map",
    "plot_mean_spectra",
    "population_names",
    "print_summary",
    "show_warnings",
    "truth_rows",
]

#: Fewer bias points than this: energy windows, bands and correlations rest on few points.
MIN_BIAS_POINTS = 32
#: Fewer complete spectra than this: statistics over spectra (fractions, clusters, learned
#: embeddings) are uncertain by ~1/sqrt(N) or more.
MIN_SPECTRA = 400
#: Bias steps differing by more than this factor count as uneven spacing.
MAX_STEP_RATIO = 1.5


def grid_warnings(
    grid: xr.DataArray,
    min_bias_points: int = MIN_BIAS_POINTS,
    min_spectra: int = MIN_SPECTRA,
    max_step_ratio: float = MAX_STEP_RATIO,
) -> list[str]:
    """What is unreliable on this grid, one sentence per problem (empty when nothing is).

    Parameters
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``
    min_bias_points : int
        Fewer bias points give a warning.
    min_spectra : int
        Fewer complete spectra (no NaN) give a warning.
    max_step_ratio : float
        Largest / smallest bias step above this gives a warning (uneven spacing, e.g. an
        MLS sweep).

    Returns
    -------
    list of str
    """
    from stswidgets.grid import validate_grid

    on_grid = "spectrum" not in grid.dims  # else a collection: a line, points, repeats
    if on_grid:
        validate_grid(grid)
    messages = []
    bias = np.asarray(grid["bias"].values, dtype=float)
    units = grid["bias"].attrs.get("units", "mV")
    values = np.asarray(grid.transpose(..., "bias").values)
    complete = np.isfinite(values).all(axis=-1)
    n_complete, n_pixels = int(complete.sum()), complete.size
    if bias.size < min_bias_points:
        messages.append(
            f"only {bias.size} bias points (< {min_bias_points}): spectra are coarse; energy "
            "windows, band means and energy-energy correlations rest on a few points each, and "
            "a feature narrower than the spacing can be missed"
        )
    if n_complete < min_spectra:
        messages.append(
            f"only {n_complete} complete spectra (< {min_spectra}): fractions, clusters, "
            "distance statistics and learned embeddings rest on few samples (a fraction is "
            f"uncertain by ~{1 / np.sqrt(max(n_complete, 1)):.0%} or more)"
        )
    if bias.size > 2:
        steps = np.abs(np.diff(bias))
        if steps.min() > 0 and steps.max() / steps.min() > max_step_ratio:
            messages.append(
                f"uneven bias spacing (steps from {steps.min():.3g} to {steps.max():.3g} "
                f"{units}): a point stands for a different energy width each; the plots draw "
                "points at their true energies, but means over bias weight the densely sampled "
                "energies more"
            )
    if on_grid and 1 in values.shape[:2]:
        messages.append(
            f"a line of {max(values.shape[:2])} spectra, not a map: real-space maps are one "
            "pixel wide and segmentation by shape (smoothing, small-object removal) is weak"
        )
    agreement = grid.attrs.get("channel_agreement")
    if agreement is not None and np.isfinite(agreement):
        from stswidgets.io.candidates import POOR_AGREEMENT

        shape = grid.attrs.get("channel_mean_agreement", np.nan)
        if agreement < POOR_AGREEMENT and not shape >= POOR_AGREEMENT:
            messages.append(
                f"the channel {grid.attrs.get('channel', grid.name)!r} agrees poorly with the "
                f"numerical dI/dV of the current (r = {agreement:.2f} < {POOR_AGREEMENT}, "
                f"{shape:.2f} on the smoothed mean spectra): it may be mostly noise; compare "
                "the candidate channels (notebook 01) and pass "
                "`channel=`"
            )
    if str(grid.attrs.get("positions", "")).startswith("pixel index"):
        messages.append(
            "the file records no tip positions: x/y are pixel indices (drawn as 1 nm per "
            "pixel), so distances and sizes on the maps are in pixels, not nm"
        )
    if n_complete < n_pixels:
        messages.append(
            f"{n_pixels - n_complete} of {n_pixels} pixels have no complete spectrum (an "
            "aborted grid?): they are left out of every analysis and drawn grey"
        )
    return messages


def show_warnings(grid: xr.DataArray, **limits) -> list[str]:
    """Print :func:`grid_warnings` as a visible block (nothing when there is none).

    Returns the messages, so a notebook can repeat them in its summary.
    """
    messages = grid_warnings(grid, **limits)
    if messages:
        print("!" * 78)
        print("WARNING - what is unreliable in these spectra:")
        for message in messages:
            print(f"  * {message}")
        print("!" * 78)
    return messages


def bias_edges(bias) -> np.ndarray:
    """Cell edges of a bias axis for ``pcolormesh``: midpoints between neighbouring points,
    the outer edges half a step outside.

    Parameters
    ----------
    bias : array-like, shape ``(n,)``
        Monotonic (ascending or descending), possibly unevenly spaced.

    Returns
    -------
    numpy.ndarray, shape ``(n + 1,)``
    """
    bias = np.asarray(bias, dtype=float)
    if bias.ndim != 1 or bias.size < 1:
        raise ValueError(f"bias must be a non-empty 1D array, got shape {bias.shape}")
    if bias.size == 1:
        return np.array([bias[0] - 0.5, bias[0] + 0.5])
    middle = 0.5 * (bias[1:] + bias[:-1])
    return np.concatenate([[2 * bias[0] - middle[0]], middle, [2 * bias[-1] - middle[-1]]])


def line_marker(n_points: int, max_points: int = 64) -> str:
    """Marker for a line plot: ``"o"`` with few points (each one visible), else ``""``."""
    return "o" if n_points <= max_points else ""


def plot_map(ax, values, grid: xr.DataArray, label: str, **imshow_kwargs):
    """Draw a ``(ny, nx)`` map of ``grid``'s pixels on ``ax``: ``imshow`` at the pixels' nm
    extent, or, for a single line of spectra, the values against the position along the line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array-like, shape ``(ny, nx)``
    grid : xarray.DataArray
        The grid the map belongs to (its ``x``/``y`` in nm).
    label : str
        What the values are, with units (the colour bar's or the profile's y label).
    **imshow_kwargs
        Passed to ``imshow`` (e.g. ``cmap``, ``vmin``).

    Returns
    -------
    The ``AxesImage`` to give a colour bar, or None for a line profile (already labelled).
    """
    from stswidgets.grid import map_extent

    values = np.asarray(values, dtype=float)
    ny, nx = values.shape
    if min(ny, nx) > 1:
        image = ax.imshow(values, origin="lower", extent=map_extent(grid), **imshow_kwargs)
        ax.set(xlabel="x (nm)", ylabel="y (nm)")
        return image
    x = np.asarray(grid["x"].values, float)
    y = np.asarray(grid["y"].values, float)
    position = np.abs(x - x[0]) if ny == 1 else np.abs(y - y[0])
    ax.plot(position, values.ravel(), marker=line_marker(values.size), ms=4)
    ax.set(xlabel="position along the line (nm)", ylabel=label)
    return None


def population_names(simulated: bool) -> dict[str, str]:
    """Words for the populations: FeSe terms on the simulated grid, generic ones on data.

    Returns
    -------
    dict with keys ``"minority"``, ``"majority"``, ``"transition"``.
    """
    if simulated:
        return {"minority": "vacancy", "majority": "surface", "transition": "transition"}
    return {"minority": "minority", "majority": "majority", "transition": "transition"}


def truth_rows(truth: xr.Dataset | None, valid) -> dict[str, np.ndarray] | None:
    """The simulated ground truth as one flag per spectrum (row of ``X``), or None for data.

    Parameters
    ----------
    truth : xarray.Dataset or None
        ``vacancy`` and ``transition`` ``(y, x)`` masks (``PipelineInput.truth``).
    valid : bool array ``(y, x)``
        Where the rows of ``X`` sit on the map.

    Returns
    -------
    dict with bool arrays ``(n_spectra,)``: ``"vacancy"``, ``"transition"`` (the rings, without
    the vacancy cores), ``"surface"`` (neither) and ``"defect"`` (vacancy or transition); None
    when ``truth`` is None.
    """
    if truth is None:
        return None
    valid = np.asarray(valid, dtype=bool)
    vacancy = np.asarray(truth["vacancy"], dtype=bool)[valid]
    transition = np.asarray(truth["transition"], dtype=bool)[valid] & ~vacancy
    return {
        "vacancy": vacancy,
        "transition": transition,
        "surface": ~vacancy & ~transition,
        "defect": vacancy | transition,
    }


def plot_mean_spectra(ax, bias, centres, names, units: str, colours=None) -> None:
    """Mean spectra with a band of +-1 standard deviation, one line per group.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    bias : array-like, shape ``(n_bias,)``
        mV.
    centres : ClusterCentres
        ``mean``, ``std`` ``(k, n_bias)`` and ``size`` ``(k,)``
        (:func:`stswidgets.analysis.clustering.cluster_centres`).
    names : list of str
        What each group is, in the order of ``centres.labels``.
    units : str
        Units of the spectra (the y label).
    colours : list, optional
        One matplotlib colour per group; default: ``tab10`` by label.
    """
    import matplotlib.pyplot as plt

    bias = np.asarray(bias, dtype=float)
    marker = line_marker(bias.size)
    for i, name in enumerate(names):
        colour = plt.cm.tab10(int(centres.labels[i])) if colours is None else colours[i]
        mean, std = centres.mean[i], centres.std[i]
        label = f"{name} ({centres.size[i]} spectra)"
        ax.plot(bias, mean, color=colour, marker=marker, ms=3, label=label)
        ax.fill_between(bias, mean - std, mean + std, color=colour, alpha=0.2)
    ax.set(xlabel="sample bias (mV)", ylabel=f"dI/dV ({units})")
    ax.legend(fontsize=8)


def plot_density(ax, result, title: str, xlabel: str, ylabel: str):
    """A distance-correlation density (:class:`stswidgets.analysis.correlation.
    DistanceCorrelation`) as an image, log colour scale from one spectrum per bin, with its
    Spearman correlation in the title. Returns the image for a colour bar."""
    from matplotlib.colors import LogNorm

    image = ax.imshow(
        result.density.T,
        origin="lower",
        extent=result.extent,
        aspect="auto",
        norm=LogNorm(vmin=1, vmax=max(float(result.density.max()), 1.0)),
        cmap="magma",
        interpolation="nearest",
    )
    ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{title}\nSpearman {result.spearman:.3f}")
    return image


def plot_channel_candidates(ax, candidates: xr.Dataset) -> list[str]:
    """The mean spectrum of every candidate channel, standardised, against the numerical
    dI/dV of the current (:func:`stswidgets.io.channel_candidates`).

    Currents and unknown channels are listed, not drawn. Returns one line per candidate
    (name, kind, agreement r, whether it is the chosen one) for printing.
    """
    import matplotlib.pyplot as plt

    bias = np.asarray(candidates["bias"].values, dtype=float)
    colours = iter(plt.cm.tab20(np.linspace(0, 1, 20)))
    lines = []
    for label in candidates["candidate"].values:
        row = candidates.sel(candidate=label)
        r, kind, chosen = float(row["agreement"]), str(row["kind"].values), bool(row["chosen"])
        lines.append(f"{label:45s} {kind:16s} r = {r:6.2f}" + ("  <- chosen" if chosen else ""))
        if kind in ("current", "other"):  # not a dI/dV shape
            continue
        reference = kind == "numerical dI/dV"
        ax.plot(
            bias,
            row["mean_standardised"],
            color="k" if reference else next(colours),
            ls="--" if reference else "-",
            lw=2.2 if chosen else 1.0,
            marker=line_marker(bias.size),
            ms=3,
            label=f"{label}: r = {r:.2f}" + (" (chosen)" if chosen else ""),
        )
    ax.set(
        xlabel="sample bias (mV)",
        ylabel="mean spectrum, standardised (1)",
        title="candidate channels and their agreement with dI/dV of the current",
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return lines


def print_summary(lines: list[str], t0: float, warnings: list[str] | None = None) -> None:
    """Print the notebook's closing "what this shows" block and its run time.

    Parameters
    ----------
    lines : list of str
        Sentences built from the numbers the notebook computed.
    t0 : float
        ``time.perf_counter()`` at the start of the notebook.
    warnings : list of str, optional
        The grid's warnings (:func:`show_warnings`), repeated as a reminder.
    """
    print("What this shows:")
    for line in lines:
        print(f"  - {line}")
    if warnings:
        print(f"  ! read with care: {len(warnings)} warning(s) about this grid at the top")
    print(f"run time {time.perf_counter() - t0:.1f} s")
