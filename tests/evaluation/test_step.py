"""evaluation.step: the notebook-08 benchmark driven by a PipelineConfig."""

import numpy as np
import pandas as pd
import pytest

from stswidgets import pipeline
from stswidgets.evaluation import generalization as gen
from stswidgets.evaluation import step


def test_benchmark_settings_defaults_and_overrides():
    full = step.benchmark_settings(pipeline.config_for("full"))
    assert full.seeds == list(gen.REPORTING_SEEDS) and full.methods == list(gen.METHODS)
    assert full.size_range == tuple(gen.SIZE_RANGE) and full.max_bias == gen.MAX_BIAS
    assert full.learn_params == {} and full.normalize == "auto"
    config = pipeline.config_for(
        "full", benchmark_seeds=[5], benchmark_methods=["pca"], benchmark_max_epochs=2
    )
    mine = step.benchmark_settings(config)
    assert mine.seeds == [5] and mine.methods == ["pca"]
    assert mine.learn_params == {"max_epochs": 2}


def test_method_benchmark_step_table_summary_and_csv(tmp_path):
    config = pipeline.config_for(
        "test",
        benchmark_seeds=[1000, 1001],
        benchmark_methods=["pca", "abundance"],
        size_range=[12, 14],
        max_bias=32,
    )
    result = step.method_benchmark_step(config, tmp_path, progress=False)
    table = result.table
    assert len(table) == 4 and set(table.method) == {"pca", "abundance"}
    assert result.targets is None  # the similarity score did not run
    written = pd.read_csv(result.csv_path)
    np.testing.assert_allclose(written["auc_core_far"], table["auc_core_far"])
    pca_rows = table[table.method == "pca"]
    assert result.summary.loc["pca", "median_auc_core_far"] == pytest.approx(
        np.nanmedian(pca_rows["auc_core_far"])
    )
    assert "| PCA | 2 |" in result.report  # the Markdown report of these numbers
    example = step.example_draw(result)
    assert example.method == "pca"
    grid = gen.draw(1000, (12, 14), 32)
    np.testing.assert_array_equal(example.valid, grid["valid"].values)
    truth = gen.draw_truth(grid, example.valid)
    np.testing.assert_array_equal(example.regions, truth["regions"])
    np.testing.assert_array_equal(example.kind, truth["kind"])
    assert example.classes.shape == example.score.shape
    assert example.score.shape == (int(example.valid.sum()),)
