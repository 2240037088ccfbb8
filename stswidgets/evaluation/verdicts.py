"""Summaries, targets and the plain statement of the method comparison, from the numbers.

:func:`summarize` gives each metric's median and 10th percentile over the draws per method;
:func:`target_report` checks a method against the targets of issue 19 item 6
(:data:`TARGETS`); :func:`comparison` says per target which methods do best and whether the
similarity score wins or others do as well; :func:`markdown_report` writes the table and
those sentences for the README and notebook 08 (nothing typed in by hand).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LABELS",
    "METRICS",
    "TARGETS",
    "TIE",
    "comparison",
    "markdown_report",
    "markdown_table",
    "summarize",
    "target_report",
]

#: (statistic, metric, threshold) of issue 19 item 6, on the reporting seeds.
TARGETS = [
    ("p10", "far_in_majority", 0.95),
    ("p10", "transition_in_ring", 0.80),
    ("p10", "kind_cores_own_class", 0.90),
    ("median", "kind_ari_cores", 0.90),
    ("p10", "auc_core_far", 0.99),
    ("p10", "auc_ring_far", 0.95),
    ("p10", "auc_core_ring", 0.90),
]

#: Words for each metric (table headers, sentences).
LABELS = {
    "auc_core_far": "AUC core/far",
    "auc_ring_far": "AUC ring/far",
    "auc_core_ring": "AUC core/ring",
    "kind_ari_cores": "kind ARI among cores",
    "far_in_majority": "far surface in majority",
    "transition_in_ring": "transition class in ring",
    "ring_in_transition": "ring in transition class",
    "kind_cores_own_class": "cores in own kind class (worst kind)",
    "trustworthiness": "kNN trustworthiness",
    "spearman_proximity": "Spearman with proximity (diagnostic)",
    "runtime_s": "runtime per draw (s)",
}
METRICS = list(LABELS)

#: Two medians or percentiles closer than this count as "as well" in :func:`comparison`.
TIE = 0.01

NAMES = {
    "siamese_score": "similarity score",
    "siamese": "Siamese projection",
    "pca": "PCA",
    "kpca": "kernel PCA",
    "nmf": "NMF",
    "umap": "UMAP",
    "autoencoder": "autoencoder",
    "abundance": "distance-histogram abundance",
}


def summarize(rows: list[dict]) -> list[dict]:
    """Median and 10th percentile over the draws of every metric, one row per method.

    NaN draws (an empty region or class) are left out of both; ``n_<metric>`` counts the
    draws that had a value.
    """
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        row = {"method": method, "n_draws": len(mine)}
        for metric in METRICS:
            values = np.array([r.get(metric, np.nan) for r in mine], dtype=float)
            defined = values[np.isfinite(values)]
            row[f"n_{metric}"] = int(defined.size)
            row[f"median_{metric}"] = float(np.median(defined)) if defined.size else np.nan
            row[f"p10_{metric}"] = float(np.percentile(defined, 10)) if defined.size else np.nan
        out.append(row)
    return out


def target_report(summary: list[dict], method: str = "siamese_score") -> list[dict]:
    """Each target of :data:`TARGETS` for ``method``: value, threshold, met, shortfall and
    the number of draws the value is over (a NaN value fails).

    Raises
    ------
    ValueError
        ``method`` has no row in ``summary``.
    """
    by_method = {row["method"]: row for row in summary}
    if method not in by_method:
        raise ValueError(f"no rows for {method!r} in the summary; it has {sorted(by_method)}")
    mine = by_method[method]
    out = []
    for statistic, metric, threshold in TARGETS:
        value = float(mine.get(f"{statistic}_{metric}", np.nan))
        met = bool(np.isfinite(value) and value >= threshold)
        out.append(
            {
                "target": f"{statistic} {metric} >= {threshold}",
                "metric": metric,
                "statistic": statistic,
                "value": value,
                "threshold": threshold,
                "met": met,
                "shortfall": 0.0 if met else (threshold - value if np.isfinite(value) else np.nan),
                "n_draws": int(mine.get(f"n_{metric}", 0)),
            }
        )
    return out


def comparison(summary: list[dict], method: str = "siamese_score", tie: float = TIE) -> list[dict]:
    """Per target metric (at the target's statistic): ``method``'s value, the best other
    method and its value, ``verdict`` ``"wins"`` (ahead of every other by more than ``tie``),
    ``"level"`` (within ``tie`` of the best other; ``level_with`` names who) or ``"behind"``.
    The Siamese projection (the score's own first stage) is not counted as another method."""
    by_method = {row["method"]: row for row in summary}
    others = [m for m in by_method if m not in (method, "siamese")]
    out = []
    for statistic, metric, _ in TARGETS:
        key = f"{statistic}_{metric}"
        value = float(by_method[method].get(key, np.nan))
        values = {m: float(by_method[m].get(key, np.nan)) for m in others}
        values = {m: v for m, v in values.items() if np.isfinite(v)}
        if not values or not np.isfinite(value):
            continue
        best = max(values, key=values.get)
        if value > values[best] + tie:
            verdict = "wins"
        elif value >= values[best] - tie:
            verdict = "level"
        else:
            verdict = "behind"
        out.append(
            {
                "metric": metric,
                "statistic": statistic,
                "value": value,
                "best_other": best,
                "best_other_value": values[best],
                "verdict": verdict,
                "level_with": [m for m, v in values.items() if abs(v - value) <= tie],
                "ahead": [m for m, v in values.items() if v > value + tie],
            }
        )
    return out


def _cell(row: dict, metric: str) -> str:
    median, p10 = row.get(f"median_{metric}", np.nan), row.get(f"p10_{metric}", np.nan)
    if metric == "runtime_s":
        return f"{median:.1f}"
    return "n/a" if not np.isfinite(median) else f"{median:.3f} ({p10:.3f})"


def markdown_table(summary: list[dict]) -> str:
    """The comparison as a Markdown table: one row per method, median (10th percentile)."""
    header = ["method", "draws", *(LABELS[m] for m in METRICS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in summary:
        cells = [NAMES.get(row["method"], row["method"]), str(row["n_draws"])]
        lines.append("| " + " | ".join(cells + [_cell(row, m) for m in METRICS]) + " |")
    return "\n".join(lines)


def markdown_report(summary: list[dict], method: str = "siamese_score") -> str:
    """The table, the targets of ``method`` with PASS/FAIL and shortfall, and the plain
    statement of where it wins and where other methods do as well (Markdown)."""
    parts = [
        "Median (10th percentile) over the draws. Truth: core = inside a defect core, ring = "
        "within the core radius + 3 healing lengths, far = the rest; classes from the "
        "pipeline's site-class logic on each method's latent space and score.",
        "",
        markdown_table(summary),
    ]
    if method not in {row["method"] for row in summary}:
        return "\n".join(parts)
    name = NAMES.get(method, method)
    parts += ["", f"Targets of the {name} (issue 19 item 6):", ""]
    for t in target_report(summary, method):
        verdict = "PASS" if t["met"] else f"**FAIL**, short by {t['shortfall']:.3f}"
        parts.append(
            f"- {t['statistic']} {LABELS[t['metric']]} >= {t['threshold']}: "
            f"{t['value']:.3f} over {t['n_draws']} draws, {verdict}"
        )
    verdicts = comparison(summary, method)
    wins = [v for v in verdicts if v["verdict"] == "wins"]
    level = [v for v in verdicts if v["verdict"] == "level"]
    behind = [v for v in verdicts if v["verdict"] == "behind"]

    def said(v, who):
        return f"{v['statistic']} {LABELS[v['metric']]} ({v['value']:.3f}; {who})"

    parts += ["", f"Where the {name} stands against the other methods (ties within {TIE}):", ""]
    if wins:
        parts.append(
            "- it **wins** on "
            + "; ".join(
                said(v, f"next {NAMES[v['best_other']]} {v['best_other_value']:.3f}") for v in wins
            )
        )
    if level:
        parts.append(
            "- others do **as well** on "
            + "; ".join(said(v, ", ".join(NAMES[m] for m in v["level_with"])) for v in level)
        )
    if behind:
        parts.append(
            "- it is **behind** on "
            + "; ".join(
                said(v, f"{NAMES[v['best_other']]} {v['best_other_value']:.3f}") for v in behind
            )
        )
    return "\n".join(parts)
