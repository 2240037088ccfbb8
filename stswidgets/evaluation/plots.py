"""The figures of notebook 08, drawn on the caller's matplotlib axes from the benchmark's
numbers (they compute nothing of the comparison): every draw of every method against its
target (:func:`draw_metric_panels`) and a categorical map with one named colour per category
(:func:`draw_category_map`, the truth regions and the site classes of one draw).
"""

from __future__ import annotations

import numpy as np

from stswidgets.evaluation.verdicts import LABELS, TARGETS

__all__ = ["PANELS", "REGION_NAMES", "class_names", "draw_category_map", "draw_metric_panels"]

#: The metrics drawn by :func:`draw_metric_panels`: the targets of issue 19, then the kNN
#: trustworthiness and the Spearman diagnostic (no target).
PANELS = [metric for _, metric, _ in TARGETS] + ["trustworthiness", "spearman_proximity"]
#: Names of the truth regions 0, 1, 2.
REGION_NAMES = ("far surface", "ring region", "defect core")


def class_names(classes) -> tuple[str, ...]:
    """Names of site classes 0 .. max: majority, transition, kind_1, kind_2, ..."""
    n = max(2, int(np.max(classes)) + 1) if len(classes) else 2
    return ("majority", "transition", *(f"kind_{k}" for k in range(1, n - 1)))


def draw_metric_panels(axes, table, methods):
    """One panel per metric of :data:`PANELS`: each draw a dot, the box from the 10th to the
    90th percentile with the median as a bar, the target (if any) dashed.

    ``axes``: at least ``len(PANELS)`` axes (extra ones are hidden); ``table``: the benchmark's
    per-draw DataFrame; ``methods``: the order of the rows (top = first).
    """
    targets = {metric: threshold for _, metric, threshold in TARGETS}
    statistic = {metric: stat for stat, metric, _ in TARGETS}
    axes = list(np.ravel(axes))
    for ax in axes[len(PANELS) :]:
        ax.set_visible(False)
    for ax, metric in zip(axes, PANELS, strict=False):
        values = [table.loc[table.method == m, metric].dropna().to_numpy() for m in methods]
        positions = np.arange(len(methods), 0, -1)
        ax.boxplot(
            values, positions=positions, orientation="horizontal", whis=(10, 90), showfliers=False
        )
        for k, v in zip(positions, values, strict=True):
            jitter = np.linspace(-0.15, 0.15, len(v)) if len(v) else []
            ax.plot(v, k + np.asarray(jitter), ".", ms=3, alpha=0.6)
        title = LABELS[metric]
        if metric in targets:
            ax.axvline(targets[metric], color="k", ls="--", lw=1)
            title += f"\n(target: {statistic[metric]} >= {targets[metric]})"
        low = -1.02 if metric == "spearman_proximity" else -0.02
        ax.set(title=title, xlabel="per draw (1 = perfect)", xlim=(low, 1.02))
        ax.set_yticks(positions, methods)
        ax.title.set_fontsize(9)


def draw_category_map(ax, grid, valid, codes, names, title: str = ""):
    """Integer ``codes`` ``(n_valid,)`` on the real-space map of ``grid`` (axes in nm), one
    colour per category and a legend naming them (``names[code]``), unmeasured pixels blank."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from stswidgets.grid import map_extent, to_map

    colours = [f"C{k % 10}" for k in range(len(names))]
    ax.imshow(
        np.asarray(to_map(np.asarray(codes, dtype=float), valid)),
        origin="lower",
        extent=map_extent(grid),
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=len(names) - 0.5,
        interpolation="nearest",
    )
    present = sorted({int(c) for c in np.asarray(codes)})
    handles = [Patch(color=colours[c], label=names[c]) for c in present]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set(xlabel="x (nm)", ylabel="y (nm)", title=title, aspect="equal")
