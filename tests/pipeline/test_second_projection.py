"""Fig. 7b's second projection: an independent, shorter training (issue 18, item 6)."""

from __future__ import annotations

import numpy as np

from stswidgets import learn, pipeline


class _Recorded:
    """Stands in for SiameseEmbedding: records its settings, returns a fixed projection."""

    settings: dict = {}

    def __init__(self, **settings):
        type(self).settings = settings

    def fit_transform(self, X):
        return np.zeros((len(X), 2), dtype=np.float32)


def test_the_second_projection_trains_shorter_with_its_own_seed_and_threshold(monkeypatch):
    monkeypatch.setattr(learn, "SiameseEmbedding", _Recorded)
    X = np.ones((5, 3))
    full = pipeline.config_for("full", seed=4)
    Z = pipeline.second_projection(X, full, progress=False)
    assert Z.shape == (5, 2) and Z.dtype == np.float64
    used = _Recorded.settings
    assert used["random_state"] == 5 and used["threshold_quantile"] == 0.97
    assert used["threshold_quantile"] != full.threshold_quantile
    assert (used["max_epochs"], used["pairs_per_epoch"]) == (20, 32768)  # full: 60 x 65536

    # never longer than the first projection (the test profile: 4 epochs of 8192 pairs) ...
    pipeline.second_projection(X, pipeline.config_for("test"), progress=False)
    assert (_Recorded.settings["max_epochs"], _Recorded.settings["pairs_per_epoch"]) == (4, 8192)
    # ... and None trains as long as the first
    same = full.replace(second_max_epochs=None, second_pairs_per_epoch=None)
    pipeline.second_projection(X, same, progress=False)
    assert (_Recorded.settings["max_epochs"], _Recorded.settings["pairs_per_epoch"]) == (60, 65536)
