"""The similarity-learning and site-class steps: shapes, determinism, classes against the score,
results.nc variables and the map figure."""

import pickle

import numpy as np
import pytest

from stswidgets import pipeline


@pytest.fixture(scope="module")
def run():
    config = pipeline.config_for("test", ny=24, nx=24, n_bias=48, max_epochs=3, restarts=0)
    data = pipeline.load(None, config)
    projection = pipeline.similarity_score(data.X, config, progress=False)
    return config, data, projection


def test_projection_shapes_and_determinism(run):
    config, data, projection = run
    n = len(data.X)
    assert projection.Z.shape == (n, 2) and projection.score.shape == (n,)
    assert (projection.score >= 0).all() and projection.coordinate.shape == (n,)
    assert projection.epochs[0] == len(projection.history[0]["val_loss"]) <= config.max_epochs
    again = pipeline.similarity_score(data.X, config, progress=False)
    np.testing.assert_array_equal(again.score, projection.score)
    # what the run-folder cache stores must come back whole, the fitted scorer included
    back = pickle.loads(pickle.dumps(projection))
    np.testing.assert_array_equal(back.scorer.transform(data.X[:5]), projection.score[:5])


def test_site_classes_follow_the_score(run):
    config, data, projection = run
    classes = pipeline.site_classes(data.X, projection, config, simulated=True)
    assert classes.names[:2] == ("surface", "transition")
    assert classes.counts.sum() == len(data.X)
    majority = classes.labels == 0
    assert projection.score[majority].max() <= classes.majority_edge + 1e-9
    np.testing.assert_allclose(classes.mean[0], data.X[majority].mean(axis=0), rtol=1e-5)
    generic = pipeline.site_classes(data.X, projection, config, simulated=False)
    assert generic.names[0] == "majority"


def test_results_variables_and_maps(run):
    config, data, projection = run
    classes = pipeline.site_classes(data.X, projection, config, simulated=True)
    out = pipeline.results_variables(data.grid, data.valid, None, projection, classes)
    assert {"valid", "score", "tC1", "tC2", "site_class", "site_class_mean"} <= set(out)
    score_map = out["score"].values
    np.testing.assert_allclose(score_map[np.asarray(data.valid)], projection.score)
    png = pipeline.maps_png(data.grid, data.valid, projection.score, classes)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
