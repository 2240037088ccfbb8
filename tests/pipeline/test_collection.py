"""The pipeline on spectra that are not on a grid: a line, points, repeats (issue 20).

The spectra are built as contract A's public DataArray (dims ``("spectrum", "bias")``, coords
``x``, ``y``, ``distance`` ...) from the simulated grid, whose truth says which are defects;
each test compares with an independent computation on the same spectra taken from the grid.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from stswidgets import datasets, pipeline
from stswidgets.pipeline.collection import matrix_view, needs_map, on_spectra, too_few


def spectra_from(values, bias, x=None, y=None, geometry="line", **coords):
    """Contract A's public spectra DataArray (what stswidgets.spectra.make_spectra builds)."""
    n = len(values)
    x = np.arange(n, dtype=float) if x is None else np.asarray(x, float)
    y = np.zeros(n) if y is None else np.asarray(y, float)
    coord = {
        "x": ("spectrum", x, {"units": "nm"}),
        "y": ("spectrum", y, {"units": "nm"}),
        "bias": ("bias", np.asarray(bias, float), {"units": "mV"}),
    }
    if geometry == "line":
        coord["distance"] = ("spectrum", np.hypot(x - x[0], y - y[0]), {"units": "nm"})
    coord.update({k: ("spectrum", np.asarray(v)) for k, v in coords.items()})
    return xr.DataArray(
        np.asarray(values, float),
        dims=("spectrum", "bias"),
        coords=coord,
        name="didv",
        attrs={"units": "a.u.", "channel": "didv", "source": "test", "geometry": geometry},
    )


@pytest.fixture(scope="module")
def simulated():
    data = datasets.fese_like(seed=0, shape=(24, 24), n_bias=64)
    return data


def line_through(simulated, row=None):
    """The spectra along one row of the simulated grid that crosses a vacancy, as a line."""
    vacancy = np.asarray(simulated["vacancy"])
    row = int(np.argmax(vacancy.sum(axis=1))) if row is None else row
    grid = simulated["didv"]
    return (
        spectra_from(
            grid.values[row],
            grid["bias"].values,
            x=grid["x"].values,
            y=np.full(grid.sizes["x"], float(grid["y"][row])),
        ),
        vacancy[row],
    )


def test_load_a_saved_line_keeps_its_geometry_and_spectra(tmp_path, simulated):
    line, _ = line_through(simulated)
    line[3, :5] = np.nan  # one incomplete spectrum
    path = tmp_path / "line.nc"
    line.to_dataset(name="didv").assign_attrs(line.attrs).to_netcdf(path)
    config = pipeline.config_for("test", normalize="none")
    data = pipeline.load(path, config)
    assert data.geometry == "line"
    assert data.valid.dims == ("spectrum",)
    assert len(data.X) == line.sizes["spectrum"] - 1
    expected = np.delete(line.values, 3, axis=0)
    np.testing.assert_allclose(data.X, expected, rtol=1e-6)
    assert not bool(data.valid[3]) and bool(data.valid[4])
    np.testing.assert_allclose(data.valid["distance"], line["distance"])


def test_a_grid_still_loads_as_a_grid():
    data = pipeline.load(None, pipeline.config_for("test"))
    assert data.geometry == "grid" and data.valid.dims == ("y", "x")


def test_too_few_spectra_in_a_collection_is_refused_with_the_file(tmp_path, simulated):
    line, _ = line_through(simulated)
    path = tmp_path / "one.nc"
    line[:1].to_dataset(name="didv").assign_attrs(line.attrs).to_netcdf(path)
    with pytest.raises(pipeline.InputError, match=r"one\.nc has 1 complete spectra"):
        pipeline.load(path, pipeline.config_for("test"))


def test_on_spectra_puts_values_back_on_the_spectrum_dim(simulated):
    line, _ = line_through(simulated)
    values = line.values.copy()
    values[[2, 5]] = np.nan
    X, valid = matrix_view(line.copy(data=values))
    placed = on_spectra(np.arange(len(X), dtype=float), valid)
    assert placed.dims == ("spectrum",)
    assert np.isnan(placed[2]) and np.isnan(placed[5])
    kept = np.delete(np.arange(line.sizes["spectrum"]), [2, 5])
    np.testing.assert_array_equal(placed.values[kept], np.arange(len(X)))
    np.testing.assert_allclose(placed["x"], line["x"])


def test_skip_sentences_name_the_step_and_the_reason(simulated):
    line, _ = line_through(simulated)
    data = pipeline.load(None, pipeline.config_for("test"))
    assert needs_map(data, "segmentation") is None
    small = pipeline.PipelineInput(line[:6], np.zeros((6, 64)), matrix_view(line[:6])[1], None, "t")
    assert needs_map(small, "the segmentation") == (
        "the segmentation: skipped, it needs a 2D map of spectra and this line of spectra has "
        "none (the steps comparing spectra run on it as on a grid)"
    )
    assert too_few(small, "similarity learning") == (
        "similarity learning needs at least 8 complete spectra; this line of spectra holds 6"
    )
    assert too_few(small, "distance statistics") is None


def _saved(tmp_path, spectra, name):
    path = tmp_path / name
    spectra.to_dataset(name="didv").assign_attrs(spectra.attrs).to_netcdf(path)
    return path


def test_results_of_a_line_sit_on_the_spectrum_dim_and_read_back(tmp_path, simulated):
    from stswidgets import series
    from stswidgets.results import load_results

    line, _ = line_through(simulated)
    line[4] = np.nan  # never measured: no result, NaN / -1 in the file
    data = pipeline.load(_saved(tmp_path, line, "line.nc"), pipeline.config_for("test"))
    config = pipeline.config_for("test")
    stats = pipeline.distance_statistics(data.X, config)
    variables = pipeline.results_variables(data.grid, data.valid, stats=stats)
    series.save_results(tmp_path / "run", grid=data.grid, config=config, **variables)
    saved = load_results(tmp_path / "run")
    assert saved.attrs["geometry"] == "line"
    assert saved["valid"].dims == ("spectrum",)
    np.testing.assert_array_equal(saved["valid"].values, np.isfinite(line.values).all(axis=1))
    np.testing.assert_allclose(saved["distance"], line["distance"])
    assert saved["distance"].attrs["units"] == "nm"
    np.testing.assert_allclose(saved["x"], line["x"])


def test_score_and_classes_of_a_line_find_the_vacancy_it_crosses(tmp_path, simulated):
    from stswidgets.analysis.metrics import roc_auc

    line, vacancy = line_through(simulated)
    config = pipeline.config_for("test")
    data = pipeline.load(_saved(tmp_path, line, "line.nc"), config)
    projection = pipeline.similarity_score(data.X, config)
    assert vacancy.any() and (~vacancy).sum() > vacancy.sum()
    assert roc_auc(projection.score[vacancy], projection.score[~vacancy]) > 0.9
    classes = pipeline.site_classes(data.X, projection, config, grid=data.grid, valid=data.valid)
    assert classes.profiles is None  # no map: no defect-centred profiles
    variables = pipeline.results_variables(
        data.grid, data.valid, projection=projection, classes=classes
    )
    assert variables["score"].dims == ("spectrum",) == variables["site_class"].dims
    np.testing.assert_allclose(variables["score"].values, projection.score)
    # the majority class is where the score is lowest: the spectra far from the vacancy
    assert np.median(projection.score[classes.labels == 0]) < np.median(
        projection.score[classes.labels > 0]
    )


def test_networks_are_left_out_of_the_latent_spaces_of_six_spectra(simulated):
    line, _ = line_through(simulated)
    X = np.asarray(line.values[:6], dtype=np.float64)
    config = pipeline.config_for("test", methods=("kpca", "nmf", "autoencoder"))
    spaces = pipeline.nonlinear_reduction(X, config, progress=False)
    assert list(spaces.skipped) == ["autoencoder"]
    assert "needs at least 8 spectra" in spaces.skipped["autoencoder"]
    assert all(Z.shape == (6, 2) for Z in spaces.latent.values()) and spaces.latent


def test_run_skips_the_learning_notebooks_below_eight_spectra(tmp_path, simulated):
    from stswidgets.pipeline.run import _skipped_notebooks, run_file

    line, _ = line_through(simulated)
    path = _saved(tmp_path, line[:6].assign_attrs(geometry="repeats"), "six.nc")
    config = pipeline.config_for("test")
    data = pipeline.load(path, config)
    names = pipeline.run.RUN_NOTEBOOKS
    skipped = _skipped_notebooks(data, list(names))
    assert sorted(skipped) == ["06_similarity_learning", "07_spectral_weight_transfer"]
    assert "holds 6" in skipped["06_similarity_learning"]
    with pytest.raises(pipeline.InputError, match="similarity learning needs at least 8"):
        run_file(path, tmp_path / "out", config, only=["06"])
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.mark.parametrize("geometry", ["line", "points", "repeats"])
def test_draw_values_puts_each_value_where_its_spectrum_was_measured(simulated, geometry):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = simulated["didv"]
    rng = np.random.default_rng(3)
    rows = rng.choice(grid.sizes["y"] * grid.sizes["x"], 7, replace=False)
    x_nm = np.repeat(grid["x"].values[None], grid.sizes["y"], 0).ravel()[rows]
    y_nm = np.repeat(grid["y"].values[:, None], grid.sizes["x"], 1).ravel()[rows]
    values = grid.values.reshape(-1, grid.sizes["bias"])[rows]
    extra = {"repetition": np.arange(7)[::-1]} if geometry == "repeats" else {}
    spectra = spectra_from(values, grid["bias"].values, x_nm, y_nm, geometry, **extra)
    X, valid = matrix_view(spectra)
    score = np.linspace(0.5, 3.0, 7)
    fig, ax = plt.subplots()
    artist = pipeline.draw_values(ax, score, spectra, "score (1)", valid=valid)
    where = artist.get_offsets()
    if geometry == "points":
        np.testing.assert_allclose(where, np.column_stack([x_nm, y_nm]))
        assert ax.get_xlabel() == "x (nm)" and ax.get_ylabel() == "y (nm)"
    elif geometry == "line":
        np.testing.assert_allclose(where[:, 0], np.hypot(x_nm - x_nm[0], y_nm - y_nm[0]))
        np.testing.assert_allclose(where[:, 1], score)
        assert ax.get_xlabel() == "distance along the line (nm)"
    else:
        np.testing.assert_allclose(where[:, 0], np.arange(7)[::-1])
        assert ax.get_xlabel() == "repetition index"
    assert fig.axes[-1].get_ylabel() == "score (1)"  # the colour bar
    plt.close(fig)
    # categories: one colour each and a legend counting them
    fig, ax = plt.subplots()
    codes = np.array([0, 0, 1, 2, 0, 1, 0])
    pipeline.draw_values(
        ax, codes, spectra, valid=valid, names=["majority", "transition", "kind 1"]
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["majority (4)", "transition (2)", "kind 1 (1)"]
    plt.close(fig)


def test_collection_spectra_waterfall_runs_along_the_line(simulated):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    line, _ = line_through(simulated)
    data = pipeline.PipelineInput(line, line.values, matrix_view(line)[1], None, "t")
    fig, ax = plt.subplots()
    mesh = pipeline.draw_collection_spectra(ax, data)
    np.testing.assert_allclose(mesh.get_array().reshape(line.shape), line.values)
    assert ax.get_xlabel() == "sample bias (mV)"
    assert ax.get_ylabel() == "distance along the line (nm)"
    plt.close(fig)
    fig, ax = plt.subplots()  # along x: the distance shared with a value panel below
    mesh = pipeline.draw_collection_spectra(ax, data, along_x=True)
    np.testing.assert_allclose(mesh.get_array().reshape(line.shape[::-1]), line.values.T)
    assert ax.get_xlabel() == "distance along the line (nm)"
    plt.close(fig)
