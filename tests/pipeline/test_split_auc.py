"""pipeline.split_auc against the pair distances computed in full on a small set."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.metrics import roc_auc_score

from stswidgets import pipeline


def test_auc_at_every_split_matches_the_full_distance_matrix():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 12))
    minority = np.zeros(80, dtype=bool)
    minority[::10] = True
    X[minority] += 3.0
    stats = pipeline.distance_statistics(X, pipeline.config_for("test", bins=40))
    splits, auc = pipeline.split_auc(stats, minority)
    assert splits.shape == auc.shape == (stats.bins - 1,)
    logd = np.log(cdist(X, X) + stats.offset)
    np.fill_diagonal(logd, -np.inf)  # a spectrum is not its own partner
    for i in (5, 15, 25, 35):
        beyond = (logd > splits[i]).sum(axis=1) / (len(X) - 1)
        assert auc[i] == pytest.approx(roc_auc_score(minority, beyond), abs=1e-9)
    assert np.nanmax(auc) > 0.99
