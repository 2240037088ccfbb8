"""The pipeline's core: one configuration (round trip, profiles, recorded in results.nc), the
checked input, the run-folder cache and the distance-statistics step against scipy."""

import json

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from stswidgets import pipeline
from stswidgets.results import load_config, load_results, save_results, start_results


def test_config_round_trips_through_json_and_results_nc(tmp_path):
    config = pipeline.config_for("quick", seed=7, offsets=[0.02, 0.2], class_edges=[0.5, 2.0])
    assert isinstance(config.offsets, tuple)  # lists from JSON / papermill become tuples
    assert pipeline.PipelineConfig.from_json(config.to_json()) == config
    start_results(tmp_path, config=config, source="test")
    assert load_config(tmp_path) == config
    attrs = load_results(tmp_path).attrs
    assert json.loads(attrs["pipeline_config"])["offsets"] == [0.02, 0.2]
    assert (attrs["seed"], attrs["profile"]) == (7, "quick")
    # a notebook's later save with another config replaces the record
    other = config.replace(seed=8)
    save_results(tmp_path, config=other)
    assert load_config(tmp_path).seed == 8


def test_profiles_and_unknown_settings():
    full, test = pipeline.config_for("full"), pipeline.config_for("test")
    assert (full.ny, full.nx, full.n_bias) == (100, 100, 512)
    assert (test.ny, test.n_bias) == (40, 128) and test.profile == "test"
    with pytest.raises(TypeError, match="offset_fractions"):
        full.replace(offset_fractions=(0.1,))
    with pytest.raises(ValueError, match="profile"):
        pipeline.config_for("fast")


def test_load_checks_the_input_once(tmp_path):
    config = pipeline.config_for("test", ny=12, nx=10, n_bias=32)
    data = pipeline.load(None, config)
    assert data.X.shape == (120, 32) and data.simulated
    assert data.valid.shape == (12, 10) and data.truth is not None
    with pytest.raises(pipeline.InputError, match="not found"):
        pipeline.load(tmp_path / "missing.3ds", config)
    with pytest.raises(pipeline.InputError, match="only 'didv'"):
        pipeline.load(None, config, channel="Current")
    with pytest.raises(pipeline.InputError, match="120 complete spectra"):
        pipeline.load(None, config, min_spectra=500)
    junk = tmp_path / "junk.3ds"
    junk.write_bytes(b"not a grid at all")
    with pytest.raises(pipeline.InputError, match="junk.3ds"):
        pipeline.load(junk, config)


def test_cache_returns_the_stored_result_and_recomputes_on_change(tmp_path):
    calls = []

    def compute(value):
        calls.append(value)
        return {"value": value}

    X = np.arange(12.0).reshape(3, 4)
    config = pipeline.config_for("test")
    first = pipeline.cached("step", lambda: compute(1), tmp_path, X, config)
    again = pipeline.cached("step", lambda: compute(2), tmp_path, X, config)
    assert first == again == {"value": 1} and calls == [1]
    pipeline.cached("step", lambda: compute(3), tmp_path, X + 1, config)  # other data
    pipeline.cached("step", lambda: compute(4), tmp_path, X, config.replace(seed=1))
    assert calls == [1, 3, 4]
    assert pipeline.cached("step", lambda: compute(5), None, X, config) == {"value": 5}
    # a damaged cache file is recomputed, never trusted
    for path in (tmp_path / ".pipeline").iterdir():
        path.write_bytes(b"garbage")
    assert pipeline.cached("step", lambda: compute(6), tmp_path, X, config) == {"value": 6}


@pytest.fixture(scope="module")
def spectra():
    data = pipeline.load(
        None, pipeline.config_for("test", ny=16, nx=16, n_bias=48, normalize="none")
    )
    return data.X.astype(np.float64)


def test_distance_statistics_against_scipy(spectra):
    config = pipeline.config_for("test", bins=40, offsets=(0.05, 0.5))
    stats = pipeline.distance_statistics(spectra, config)
    d = pdist(spectra)
    assert stats.n_pairs == d.size
    np.testing.assert_array_equal(stats.counts, np.histogram(d, bins=stats.edges)[0])
    width = stats.edges[1] - stats.edges[0]
    assert abs(stats.median_distance - np.median(d)) <= width
    assert stats.offset == pytest.approx(0.1 * stats.median_distance)
    assert set(stats.rescaled) == set(stats.offsets) and len(stats.offsets) == 3
    for offset, (counts, edges) in stats.rescaled.items():
        inside = np.log(d + offset)
        inside = inside[(inside >= edges[0]) & (inside <= edges[-1])]
        np.testing.assert_array_equal(counts, np.histogram(inside, bins=edges)[0])
    # per-spectrum histograms: each spectrum's log distances to all the others
    logs = np.log(squareform(d) + stats.offset)
    for i in (0, 17, len(spectra) - 1):
        row = np.delete(logs[i], i)
        row = row[(row >= stats.h_edges[0]) & (row <= stats.h_edges[-1])]
        np.testing.assert_array_equal(stats.H[i], np.histogram(row, bins=stats.h_edges)[0])
    # one population on this small grid: no abundance map, and the reason says so
    assert stats.abundance is None and not stats.bimodal and "one population" in stats.reason


def test_abundance_is_the_fraction_of_distances_beyond_the_split(spectra):
    """With a split at a bin edge, each spectrum's abundance is exactly the fraction of its
    distances to all the others beyond it (scipy, the full distance matrix)."""
    plain = pipeline.distance_statistics(spectra, pipeline.config_for("test", bins=40))
    edge = float(plain.h_edges[20])
    config = pipeline.config_for("test", bins=40, abundance_threshold=edge)
    stats = pipeline.distance_statistics(spectra, config)
    assert stats.threshold == pytest.approx(edge) and stats.abundance is not None
    logs = np.log(squareform(pdist(spectra)) + stats.offset)
    n = len(spectra)
    beyond = np.array([(np.delete(logs[i], i) > edge).mean() for i in range(n)])
    np.testing.assert_allclose(stats.abundance, beyond, atol=1e-12)


def test_distance_statistics_split_follows_the_config(spectra):
    stats = pipeline.distance_statistics(spectra, pipeline.config_for("test", bins=40))
    abundance = {}
    for k in (10, 25):  # a lower split leaves more distances beyond it
        config = pipeline.config_for("test", bins=40, abundance_threshold=float(stats.h_edges[k]))
        abundance[k] = pipeline.distance_statistics(spectra, config).abundance
    assert abundance[10].mean() > abundance[25].mean()
