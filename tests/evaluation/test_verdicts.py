"""evaluation.verdicts: summaries over draws, the targets of issue 19 and the statement."""

import numpy as np
import pytest

from stswidgets.evaluation import verdicts


def _rows(method, values, **fixed):
    """One row per draw: every metric ``fixed`` or drawn from ``values``."""
    rows = []
    for i, v in enumerate(values):
        row = {"seed": i, "method": method}
        row.update({m: v for m in verdicts.METRICS})
        row.update(fixed)
        rows.append(row)
    return rows


def test_summary_is_the_median_and_10th_percentile_without_the_nan_draws():
    values = [0.5, 0.9, 0.7, np.nan, 1.0, 0.8]
    summary = verdicts.summarize(_rows("pca", values))
    (row,) = summary
    finite = np.array([v for v in values if np.isfinite(v)])
    assert row["n_draws"] == 6 and row["n_auc_core_far"] == 5
    assert row["median_auc_core_far"] == pytest.approx(np.median(finite))
    # numpy's linear percentile by hand: position 0.1 * 4 = 0.4 between the sorted 0.5 and 0.7
    assert row["p10_auc_core_far"] == pytest.approx(0.5 + 0.4 * (0.7 - 0.5))


def test_target_report_says_pass_fail_and_the_shortfall():
    rows = _rows("siamese_score", [0.97] * 10, kind_ari_cores=0.95, transition_in_ring=np.nan)
    report = {t["metric"]: t for t in verdicts.target_report(verdicts.summarize(rows))}
    assert [t[1] for t in verdicts.TARGETS] == list(report)
    assert report["auc_core_far"]["met"] is False
    assert report["auc_core_far"]["shortfall"] == pytest.approx(0.02)
    assert report["auc_ring_far"]["met"] and report["auc_ring_far"]["shortfall"] == 0.0
    assert report["kind_ari_cores"]["statistic"] == "median" and report["kind_ari_cores"]["met"]
    empty = report["transition_in_ring"]  # never defined: a fail, not a pass by default
    assert not empty["met"] and empty["n_draws"] == 0 and np.isnan(empty["shortfall"])
    with pytest.raises(ValueError, match="no rows for 'umap'"):
        verdicts.target_report(verdicts.summarize(rows), "umap")


def test_comparison_names_wins_ties_and_the_methods_ahead():
    rows = (
        _rows("siamese_score", [0.95] * 5, auc_core_far=1.0, auc_ring_far=0.90)
        + _rows("pca", [0.95] * 5, auc_core_far=0.80, auc_ring_far=0.995)
        + _rows("autoencoder", [0.945] * 5, auc_core_far=0.70, auc_ring_far=0.85)
        + _rows("siamese", [1.0] * 5)  # the score's own first stage: never "another method"
    )
    verdict = {v["metric"]: v for v in verdicts.comparison(verdicts.summarize(rows))}
    assert verdict["auc_core_far"]["verdict"] == "wins"
    assert verdict["auc_core_far"]["best_other"] == "pca"
    assert verdict["auc_ring_far"]["verdict"] == "behind"
    assert verdict["auc_ring_far"]["ahead"] == ["pca"]
    level = verdict["auc_core_ring"]
    assert level["verdict"] == "level" and set(level["level_with"]) == {"pca", "autoencoder"}
    text = verdicts.markdown_report(verdicts.summarize(rows))
    assert "| similarity score | 5 | 1.000 (1.000) |" in text
    assert "p10 AUC core/far >= 0.99: 1.000 over 5 draws, PASS" in text
    assert "p10 AUC ring/far >= 0.95: 0.900 over 5 draws, **FAIL**, short by 0.050" in text
    assert "**behind** on p10 AUC ring/far (0.900; PCA 0.995)" in text
