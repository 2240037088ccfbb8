"""``pipeline.load(None, ..., results_dir=)``: the simulated grid is simulated once per run
folder and read back by the later notebooks (issue 18, item 6)."""

from __future__ import annotations

import numpy as np
import pytest

from stswidgets import datasets, pipeline
from stswidgets.pipeline.cache import CACHE_DIR

CONFIG = pipeline.config_for("test", ny=12, nx=10, n_bias=32)


def _refuse(**kwargs):
    raise AssertionError("simulated again")


def test_the_simulated_grid_is_read_back_from_the_run_folder(tmp_path, monkeypatch):
    first = pipeline.load(None, CONFIG, results_dir=tmp_path)
    (kept,) = (tmp_path / CACHE_DIR).glob("simulated_grid-*.pkl")
    reference = datasets.fese_like(seed=CONFIG.seed, shape=(12, 10), n_bias=32)
    np.testing.assert_array_equal(first.grid.values, reference["didv"].values)

    monkeypatch.setattr(datasets, "fese_like", _refuse)
    again = pipeline.load(None, CONFIG, results_dir=tmp_path)
    np.testing.assert_array_equal(again.X, first.X)
    np.testing.assert_array_equal(again.valid.values, first.valid.values)
    np.testing.assert_array_equal(again.truth["vacancy"].values, reference["vacancy"].values)
    assert again.source == first.source
    assert list((tmp_path / CACHE_DIR).glob("simulated_grid-*.pkl")) == [kept]

    # another seed, or no run folder, simulates
    with pytest.raises(AssertionError, match="simulated again"):
        pipeline.load(None, CONFIG.replace(seed=1), results_dir=tmp_path)
    with pytest.raises(AssertionError, match="simulated again"):
        pipeline.load(None, CONFIG)
