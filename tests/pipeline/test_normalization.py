"""The one normalisation of a run (pipeline.normalization, pipeline.load, results.nc), against
formulas written out here and a spy on every per-spectrum normalisation the steps could call."""

import json

import numpy as np
import pytest

from stswidgets import datasets, pipeline, preprocess, to_matrix
from stswidgets.pipeline.normalization import (
    FEENSTRA_C,
    SPREAD_THRESHOLD,
    apply_normalization,
    choose_normalization,
    normalize_grid,
)
from stswidgets.results import load_results, save_results, start_results


def _shapes(n=200, n_bias=81, seed=0):
    """Positive spectra of a few shapes on -20 ... 20 mV, and per-spectrum factors."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(-20.0, 20.0, n_bias)
    gap = 1.0 - 0.7 * np.exp(-(bias**2) / 20.0)
    shapes = gap * (1.0 + rng.uniform(-0.2, 0.2, (n, 1)) * np.tanh(bias / 5.0))
    factors = np.exp(rng.normal(0.0, 0.3, (n, 1)))
    return bias, shapes, factors


def test_setpoint_removes_per_spectrum_factors_exactly():
    bias, shapes, factors = _shapes()
    for setpoint in (None, 10.0, 50.0):  # outer window; at the set-point; set-point outside
        before = apply_normalization(shapes, "setpoint", bias, setpoint_bias_mV=setpoint)
        after = apply_normalization(shapes * factors, "setpoint", bias, setpoint_bias_mV=setpoint)
        np.testing.assert_allclose(after, before, rtol=1e-12)
    # at the set-point bias: the mean of the 5 bias points nearest 10 mV is 1 afterwards
    out = apply_normalization(shapes * factors, "setpoint", bias, setpoint_bias_mV=10.0)
    nearest = np.argsort(np.abs(bias - 10.0))[:5]
    np.testing.assert_allclose(out[:, nearest].mean(axis=1), 1.0, rtol=1e-12)
    # without one: the mean g of the outer 10 % of the points at each end
    out = apply_normalization(shapes * factors, "setpoint", bias)
    ends = np.r_[0:8, 73:81]
    np.testing.assert_allclose(out[:, ends].mean(axis=1), 1.0, rtol=1e-12)


def test_feenstra_against_the_formula_on_a_synthetic_current():
    bias = np.linspace(-10.0, 10.0, 2001)
    a, b = np.array([[1.0], [2.5]]), np.array([[0.01], [0.002]])
    current = a * bias + b * bias**3  # I(V), V in mV
    didv = a + 3 * b * bias**2
    c = FEENSTRA_C * np.abs(didv).mean(axis=1, keepdims=True)
    expected = didv / np.sqrt((a + b * bias**2) ** 2 + c**2)  # I/V = a + b V^2, also at 0
    recorded = apply_normalization(didv, "feenstra", bias, current=current)
    np.testing.assert_allclose(recorded, expected, rtol=1e-10)
    integrated = apply_normalization(didv, "feenstra", bias)  # I(0) = 0, trapezoids
    np.testing.assert_allclose(integrated, expected, rtol=1e-4)
    # an uneven bias window that does not start at 0 still integrates from 0 mV
    uneven = np.sort(np.r_[np.linspace(-7.3, 9.1, 300), 0.77])
    didv_u = a + 3 * b * uneven**2
    c_u = FEENSTRA_C * np.abs(didv_u).mean(axis=1, keepdims=True)
    expected_u = didv_u / np.sqrt((a + b * uneven**2) ** 2 + c_u**2)
    out = apply_normalization(didv_u, "feenstra", uneven)
    np.testing.assert_allclose(out, expected_u, rtol=2e-3)
    with pytest.raises(ValueError, match="does not hold 0 mV"):
        apply_normalization(didv[:, 1200:], "feenstra", bias[1200:])


def test_zscore_and_none_and_unknown():
    bias, shapes, factors = _shapes(n=20)
    X = shapes * factors
    np.testing.assert_allclose(apply_normalization(X, "none", bias), X)
    z = apply_normalization(X, "zscore", bias)
    np.testing.assert_allclose(z, (X - X.mean(1, keepdims=True)) / X.std(1, keepdims=True))
    with pytest.raises(ValueError, match="unknown normalisation 'outside'"):
        apply_normalization(X, "outside", bias)
    with pytest.raises(ValueError, match="bias_mV must have 81"):
        apply_normalization(X, "setpoint", bias[:-1])


def test_auto_chooses_setpoint_on_a_drifting_set_point_and_says_why():
    drift = datasets.condition("setpoint_drift", seed=1, shape=(32, 32), n_bias=96)
    X, _ = to_matrix(drift["didv"])
    method, reason = choose_normalization(X, drift["bias"].values)
    assert method == "setpoint"
    # the reason quotes the spread measured independently here
    ends = np.r_[0:10, 86:96]
    g = np.asarray(X, float)[:, ends].mean(axis=1)
    spread = 1.4826 * np.median(np.abs(g - np.median(g))) / np.median(g)
    assert spread > 0.15
    assert f"{spread:.1%}" in reason and f"{SPREAD_THRESHOLD:.0%}" in reason
    assert "no set-point bias recorded" in reason
    # without set-point factors the same grid keeps its spectra as measured
    flat = datasets.fese_like(seed=1, shape=(32, 32), n_bias=96, setpoint_variation=0.0)
    method, reason = choose_normalization(to_matrix(flat["didv"])[0], flat["bias"].values)
    assert method == "none" and "below" in reason
    # no positive set-point conductance (an offset lock-in): z-score
    method, reason = choose_normalization(X - 2 * X.max(), drift["bias"].values)
    assert method == "zscore" and "not positive" in reason


def test_load_returns_the_normalised_matrix_with_its_record():
    config = pipeline.config_for("test", ny=20, nx=20, n_bias=64)
    data = pipeline.load(None, config)
    record = data.normalization
    assert record.requested == "auto" and record.method in ("setpoint", "none")
    expected = apply_normalization(data.raw_X, record.method, data.bias_mV)
    np.testing.assert_allclose(data.X, expected)
    assert record.spread_before > 0
    if record.method == "setpoint":
        assert record.spread_after == pytest.approx(0.0, abs=1e-12)
        assert data.units == "set-point conductance"
    forced = pipeline.load(None, config.replace(normalize="zscore"))
    np.testing.assert_allclose(forced.X, preprocess.normalize(data.raw_X, "zscore"))
    assert (
        forced.normalization.method == "zscore" and "configuration" in forced.normalization.reason
    )
    assert forced.grid_units == data.grid_units


def test_a_recorded_set_point_bias_is_used(tmp_path):
    config = pipeline.config_for("test", ny=16, nx=16, n_bias=64, normalize="setpoint")
    grid = pipeline.load(None, config).grid
    grid.attrs["setpoint_bias_mV"] = 12.0
    X, _ = to_matrix(grid)
    out, record = normalize_grid(grid, X, "setpoint")
    nearest = np.argsort(np.abs(grid["bias"].values - 12.0))[:5]
    np.testing.assert_allclose(out[:, nearest].mean(axis=1), 1.0)
    assert "set-point bias 12 mV" in record.reason


def test_config_round_trip_and_old_settings():
    config = pipeline.config_for("quick", normalize="feenstra")
    assert pipeline.PipelineConfig.from_json(config.to_json()) == config
    assert pipeline.config_for("full").normalize == "auto"
    with pytest.raises(ValueError, match="normalize must be one of"):
        pipeline.config_for("test", normalize="area")
    old = {**json.loads(config.to_json()), "normalization": "none", "learn_normalization": "area"}
    old.pop("normalize")
    with pytest.raises(ValueError, match="learn_normalization='area'.*normalize"):
        pipeline.PipelineConfig.from_json(json.dumps(old))


def test_results_nc_records_the_normalisation(tmp_path):
    config = pipeline.config_for("test", ny=16, nx=16, n_bias=48)
    data = pipeline.load(None, config)
    record = data.normalization
    start_results(tmp_path, grid=data.grid, config=config, **record.attrs())
    pc1 = pipeline.results_variables(data.grid, data.valid)["valid"].astype(float) * 2.0
    save_results(tmp_path, grid=data.grid, config=config, valid=data.valid, pc1=pc1)
    results = load_results(tmp_path)
    assert results.attrs["normalize"] == record.method
    assert results.attrs["normalize_reason"] == record.reason
    assert results["pc1"].attrs["normalize"] == record.method
    assert "normalize" not in results["valid"].attrs  # the measured mask is not normalised
    expected_units = "1" if record.method != "none" else data.grid_units
    assert results["pc1"].attrs["units"] == expected_units
    # a notebook run on its own passes the record itself
    other = tmp_path / "alone"
    save_results(other, grid=data.grid, config=config, normalization=record, score=pc1)
    alone = load_results(other)
    assert alone.attrs["normalize"] == record.method and alone["score"].attrs["normalize"]


def test_no_step_normalises_per_spectrum_again(monkeypatch):
    """Every step takes PipelineInput.X as given: a spy on every per-spectrum normalisation
    (preprocess.normalize, the estimators' SpectrumScaler, apply_normalization) records each
    call the steps make; only the identity ("none") may appear."""
    from stswidgets.learn import _training
    from stswidgets.pipeline import normalization

    config = pipeline.config_for(
        "test", ny=14, nx=14, n_bias=32, max_epochs=1, restarts=0, methods=("nmf", "autoencoder")
    )
    data = pipeline.load(None, config)
    calls = []
    original = preprocess.normalize

    def spy(X, method="zscore", **kwargs):
        calls.append(method)
        return original(X, method, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("a step normalised again")

    monkeypatch.setattr(preprocess, "normalize", spy)
    monkeypatch.setattr(_training, "normalize", spy)
    monkeypatch.setattr(normalization, "apply_normalization", refuse)
    monkeypatch.setattr(normalization, "normalize_input", refuse)
    X, bias = data.X, data.bias_mV
    space = pipeline.linear_latent_space(X, config)
    centred = X - X.mean(axis=0)
    s = np.linalg.svd(centred, compute_uv=False)
    np.testing.assert_allclose(space.pca.explained_variance_ratio[:3], (s**2 / (s**2).sum())[:3])
    pipeline.pca_distance_correlation(X, config, space=space)
    pipeline.distance_statistics(X, config, progress=None)
    pipeline.nonlinear_reduction(X, config, progress=False)
    projection = pipeline.similarity_score(X, config, progress=False)
    scaler_mean = projection.scorer.embedding_estimator_.scaler_mean_
    np.testing.assert_allclose(scaler_mean, X.mean(axis=0), rtol=1e-5, atol=1e-6)
    classes = pipeline.site_classes(X, projection, config, simulated=True)
    weight = pipeline.spectral_weight_transfer(X, bias, classes, config)
    np.testing.assert_allclose(weight.correlation, np.corrcoef(X, rowvar=False), atol=1e-6)
    assert set(calls) <= {"none"}, calls
