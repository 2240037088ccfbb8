"""What a publishable matplotlib figure needs, checked on the drawn figure itself.

:func:`layout_problems` draws the figure with the Agg renderer and compares the bounding
boxes of its texts (``fig.canvas.get_renderer()``): no two texts overlap (tick labels,
axis labels, titles, colour-bar labels, legends), none is cut by the figure's edge; every
axis of a panel is labelled and every colour bar carries a label.
"""

from __future__ import annotations

from itertools import combinations

#: Boxes are shrunk by this many pixels before comparing: texts that only touch pass.
TOUCH_PX = 1.0


def _texts(fig, renderer):
    """``(description, owner, bbox)`` of every visible, non-empty text of ``fig``."""
    found = []

    def add(text, what, owner):
        if text is None or not text.get_visible() or not text.get_text().strip():
            return
        box = text.get_window_extent(renderer)
        if box.width > 0 and box.height > 0:
            found.append((f"{what} {text.get_text()!r}", owner, box))

    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        for axis, name in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            lo, hi = sorted(axis.get_view_interval())
            slack = 1e-9 * (hi - lo)
            for tick in axis.get_major_ticks():
                if lo - slack <= tick.get_loc() <= hi + slack:  # others are not drawn
                    add(tick.label1, f"axes {i} {name} tick", (i, name, "tick"))
                    add(tick.label2, f"axes {i} {name} tick", (i, name, "tick"))
            add(axis.label, f"axes {i} {name} label", (i, name, "label"))
        for title in (ax.title, ax._left_title, ax._right_title):
            add(title, f"axes {i} title", (i, "title"))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            found.append((f"axes {i} legend", (i, "legend"), legend.get_window_extent(renderer)))
    for legend in fig.legends:
        found.append(("figure legend", ("figure", "legend"), legend.get_window_extent(renderer)))
    return found


def layout_problems(fig) -> list[str]:
    """Every overlap of two texts and every text cut by the figure edge, as sentences."""
    if not hasattr(fig.canvas, "get_renderer"):  # a bare Figure(): draw it with Agg
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [(what, owner, box.padded(-TOUCH_PX)) for what, owner, box in _texts(fig, renderer)]
    problems = []
    frame = fig.bbox.padded(1.0)
    for what, _, box in texts:
        if not (frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)):
            problems.append(f"{what} is cut by the figure edge")
    for (what_a, _, a), (what_b, _, b) in combinations(texts, 2):
        if a.overlaps(b):
            problems.append(f"{what_a} overlaps {what_b}")
    return problems


def colourbar_axes(fig) -> list:
    """The axes of ``fig`` that hold a colour bar."""
    return [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def unlabelled(fig) -> list[str]:
    """Panels without an x or y label and colour bars without a label, as sentences."""
    problems = []
    bars = colourbar_axes(fig)
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        if ax in bars:
            bar = ax._colorbar
            vertical = bar.orientation == "vertical"
            label = (ax.get_ylabel() if vertical else ax.get_xlabel()).strip()
            if not label:
                problems.append(f"colour bar (axes {i}) has no label")
            continue
        # a twin axes shares the other axis (and its label) with its sibling
        for name, label, siblings in (
            ("x", ax.get_xlabel, ax.get_shared_x_axes().get_siblings(ax)),
            ("y", ax.get_ylabel, ax.get_shared_y_axes().get_siblings(ax)),
        ):
            get = "get_xlabel" if name == "x" else "get_ylabel"
            if not any(getattr(other, get)().strip() for other in siblings) and not label():
                problems.append(f"axes {i} has no {name} label")
    return problems
