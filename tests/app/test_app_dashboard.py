"""The app's dashboard in the kernel (no browser): steps, results.nc, PNG, sources, a follower."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy.spatial.distance import pdist

from stswidgets import make_grid, pipeline, save_grid, to_map, to_matrix
from stswidgets.app import Dashboard, app_config, app_environment
from stswidgets.app.sources import channel_options, save_upload
from stswidgets.pipeline.normalization import apply_normalization
from stswidgets.results import load_config, load_results

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
if not REAL.exists():
    REAL = Path("/work/shared/data/real")


def _run(dashboard: Dashboard, job, *args):
    thread = dashboard.start(job, *args)
    assert thread is not None
    dashboard.wait(timeout=300)
    assert "error" not in dashboard.status.value, dashboard.status.value


@pytest.fixture(scope="module")
def demo_dashboard(tmp_path_factory):
    """The test profile's simulated grid with all three steps run."""
    dashboard = Dashboard(demo=True, profile="test", out_dir=tmp_path_factory.mktemp("out"))
    _run(dashboard, dashboard.load)
    _run(dashboard, dashboard.run_steps, ["distances", "score", "classes"])
    return dashboard


def test_app_profiles_are_pipeline_configs():
    full, test = app_config("full", seed=2), app_config("test")
    assert full == pipeline.config_for("quick", seed=2)
    assert (test.profile, test.ny, test.nx, test.n_bias) == ("test", 24, 24, 64)
    assert (test.max_time, test.max_epochs, test.pairs_per_epoch, test.restarts) == (
        4.0,
        8,
        4096,
        0,
    )
    with pytest.raises(ValueError, match="profile"):
        app_config("quick")


def test_distance_histogram_counts_every_pair_as_scipy_does(demo_dashboard):
    X = demo_dashboard.X
    stats = demo_dashboard.stats
    d = pdist(np.asarray(X, dtype=np.float64))
    assert stats.n_pairs == len(d) == len(X) * (len(X) - 1) // 2
    expected, _ = np.histogram(d, bins=stats.edges)
    # a distance on a bin edge may fall either side in float32 vs float64: at most a few
    assert np.abs(stats.counts - expected).sum() <= 4
    assert stats.median_distance == pytest.approx(np.median(d), rel=0.05)


def test_steps_fill_the_results_and_the_status(demo_dashboard):
    d = demo_dashboard
    n = len(d.X)
    # the app's distance statistics are the pipeline's, verdict and abundance included
    expected = pipeline.distance_statistics(d.X, d.config)
    assert d.stats.bimodal == expected.bimodal and d.stats.reason == expected.reason
    assert (d.stats.abundance is None) == (not expected.bimodal)
    if expected.bimodal:
        np.testing.assert_allclose(d.stats.abundance, expected.abundance)
    assert d.projection.Z.shape == (n, 2)
    assert d.classes.counts.sum() == n
    assert [bar.value for bar in d.bars.values()] == [1.0, 1.0, 1.0]
    assert d.status.value.count("surface") == 1 and "classes:" in d.status.value
    # the simulated vacancies score far above the surface
    vacancy = np.asarray(d.truth["vacancy"])[np.asarray(d.valid)]
    assert d.projection.score[vacancy].mean() > 3 * d.projection.score[~vacancy].mean()


def test_selection_is_counted_on_the_status_line(demo_dashboard):
    d = demo_dashboard
    chosen = np.flatnonzero(d.classes.labels == 0)[:5]
    d.selection.indices = chosen
    assert f"selected 5 of {len(d.X)} spectra" in d.status.value
    assert f"mean score {d.projection.score[chosen].mean():.2f}" in d.status.value
    assert "(5 surface)" in d.status.value
    d.selection.indices = []


def test_results_nc_holds_the_steps_results(demo_dashboard):
    d = demo_dashboard
    _run(d, d.save_results)
    path = d.out_dir / "results.nc"
    assert path.name in d.downloads.value and "data:application/x-netcdf;base64," in (
        d.downloads.value
    )
    with xr.open_dataset(path) as saved:
        np.testing.assert_allclose(
            saved["score"].values, to_map(d.projection.score, d.valid).values, rtol=1e-6
        )
        labels = d.classes.labels
        band = saved["site_class"].values[np.asarray(d.valid)]
        np.testing.assert_array_equal(band, labels)
        X = np.asarray(d.X, dtype=np.float64)
        # the coordinate holds the generic names of the flag meanings (majority, transition,
        # kind 1, ...), the display names (surface, ...) are in the long_names attribute
        generic = ["majority", "transition"] + [
            f"kind {k}" for k in range(1, d.classes.n_kinds + 1)
        ]
        assert saved["site_class_name"].values.tolist() == generic
        assert saved["site_class"].attrs["long_names"] == ", ".join(d.classes.names)
        for k, name in enumerate(generic):
            np.testing.assert_allclose(
                saved["site_class_mean"].sel(site_class_name=name).values,
                X[labels == k].mean(axis=0),
                rtol=1e-5,
            )
        assert saved.attrs["profile"] == "test" and "simulated" in saved.attrs["source"]
        # an abundance map only for two populations; the verdict and the noise floor are recorded
        assert ("abundance" in saved) == d.stats.bimodal
        assert saved.attrs["distance_populations"] == (2 if d.stats.bimodal else 1)
        assert saved.attrs["distance_populations_reason"] == d.stats.reason
        assert saved.attrs["noise_sigma"] == pytest.approx(d.stats.noise.sigma)
    # the file records the one config every step ran with
    assert load_config(d.out_dir) == d.config == app_config("test")


def test_steps_are_the_pipeline_steps_with_the_app_config(demo_dashboard):
    """The dashboard's numbers are exactly what the pipeline gives for its config."""
    d = demo_dashboard
    data = pipeline.load(None, d.config)
    np.testing.assert_array_equal(d.X, data.X)
    stats = pipeline.distance_statistics(data.X, d.config)
    np.testing.assert_array_equal(d.stats.counts, stats.counts)
    assert d.stats.offset == stats.offset and d.stats.threshold == stats.threshold
    assert d.stats.reason == stats.reason and d.stats.bimodal == stats.bimodal
    if stats.bimodal:
        np.testing.assert_array_equal(d.stats.abundance, stats.abundance)
    else:
        assert d.stats.abundance is stats.abundance is None
    # the distance explorer on the page shows those numbers: same offset, split and map
    shown = d.distance_explorer
    assert shown.stats is d.stats and shown.offset == stats.offset
    if stats.bimodal:  # the explorer's split and map are the analysis's
        assert shown.threshold == pytest.approx(stats.threshold)
        assert np.isfinite(shown.abundance).any()
    else:  # one population: no map
        assert np.isnan(shown.threshold) and np.isnan(shown.abundance).all()
    assert shown in d.explorers.children and d.latent in d.explorers.children
    classes = pipeline.site_classes(
        data.X, d.projection, d.config, simulated=True, grid=data.grid, valid=data.valid
    )
    np.testing.assert_array_equal(d.classes.labels, classes.labels)


def test_png_shows_two_maps(demo_dashboard):
    from PIL import Image

    d = demo_dashboard
    _run(d, d.save_png)
    png = (d.out_dir / "maps.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # the picture is the pipeline's (one drawing of the score and class maps)
    assert png == pipeline.maps_png(d.grid, d.valid, d.projection.score, d.classes)
    width, height = Image.open(io.BytesIO(png)).size
    assert width > 1.8 * height  # two panels side by side


def test_a_grid_file_is_only_read(tmp_path):
    grid = pipeline.load(None, app_config("test", seed=3)).grid
    source = tmp_path / "data" / "grid.nc"
    source.parent.mkdir()
    save_grid(grid, source)
    before = (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns)
    out = tmp_path / "out"
    d = Dashboard(source, profile="test", out_dir=out)
    _run(d, d.load)
    assert d.grid.shape == grid.shape
    # the app's spectra are the pipeline's: normalised once, as pipeline.load does
    raw = to_matrix(grid)[0].astype(np.float64)
    expected = apply_normalization(raw, d.normalization.method, grid["bias"].values)
    np.testing.assert_allclose(d.X, expected)
    _run(d, d.run_steps, ["distances"])
    _run(d, d.save_results)
    after = (hashlib.sha256(source.read_bytes()).hexdigest(), source.stat().st_mtime_ns)
    assert after == before
    assert sorted(p.name for p in source.parent.iterdir()) == ["grid.nc"]
    assert (out / "results.nc").exists()
    assert load_results(out).attrs["normalize"] == d.normalization.method


def test_a_missing_file_is_reported_on_the_status_line(tmp_path):
    d = Dashboard(tmp_path / "nope.3ds", profile="test", out_dir=tmp_path)
    d.start(d.load)
    d.wait(timeout=60)
    assert "error" in d.status.value and "nope.3ds" in d.status.value


@pytest.mark.skipif(not (REAL / "nanonis_grid_lockin_30x30.3ds").exists(), reason="no real data")
def test_channel_choices_of_a_lockin_file_open_by_name():
    from stswidgets import open_grid

    path = REAL / "nanonis_grid_lockin_30x30.3ds"
    options = channel_options(path)
    label, value = options[0]
    assert value is None and label.startswith("default: LockinX (V) cos(")
    names = [value for _, value in options[1:]]
    assert names == ["Current (A)", "LockinX (V)", "LockinY (V)", "Bias_m (V)"]
    for name in names:
        assert open_grid(path, channel=name).attrs["channel"] == name


def test_an_upload_cannot_leave_its_folder(tmp_path):
    path = save_upload({"name": "../../evil name.3ds", "content": b"abc"}, tmp_path / "up")
    assert path.parent == tmp_path / "up" and path.name == "evil_name.3ds"
    assert path.read_bytes() == b"abc"


class FakeFollower:
    """A grid measured row by row: each refresh() reveals ``rows`` more rows."""

    def __init__(self, full, rows: int):
        self.full, self.rows, self.measured = full, rows, 0
        self.grid = full.where(full["y"] < full["y"][0])  # nothing measured yet (all NaN)

    def refresh(self) -> int:
        ny = self.full.sizes["y"]
        if self.measured >= ny:
            return 0
        before = self.measured
        self.measured = min(ny, self.measured + self.rows)
        self.grid = self.full.where(self.full["y"] <= self.full["y"][self.measured - 1])
        return (self.measured - before) * self.full.sizes["x"]


def _small_grid():
    rng = np.random.default_rng(0)
    bias = np.linspace(-5.0, 5.0, 16)
    values = 1.0 + 0.1 * rng.normal(size=(8, 6, 16))
    return make_grid(values, bias, x_nm=0.5 * np.arange(6), y_nm=0.5 * np.arange(8))


def _normalised(d, X, grid):
    """The spectra ``X`` of ``grid`` normalised as the app says it did (as pipeline.load)."""
    method = d.normalization.method
    return apply_normalization(X.astype(np.float64), method, grid["bias"].values)


def test_poll_shows_the_grid_so_far(tmp_path):
    full = _small_grid()
    follower = FakeFollower(full, rows=3)
    d = Dashboard(follower=follower, profile="test", out_dir=tmp_path, refresh_s=0.05)
    assert d.poll() == 18
    assert len(d.X) == 18 and "live: 18 new spectra, 18 of 48 measured" in d.status.value
    np.testing.assert_allclose(d.X, _normalised(d, to_matrix(full)[0][:18], full))
    assert d.poll() == 18 and len(d.X) == 36
    assert d.poll() == 12 and len(d.X) == 48
    assert d.poll() == 0 and len(d.X) == 48  # nothing new: the page is left as it is


def test_following_in_the_background_reaches_the_whole_grid(tmp_path):
    import time

    full = _small_grid()
    d = Dashboard(follower=FakeFollower(full, rows=2), out_dir=tmp_path, refresh_s=0.05)
    d.start_following()
    deadline = time.monotonic() + 30
    while (d.X is None or len(d.X) < 48) and time.monotonic() < deadline:
        time.sleep(0.05)
    d.stop_following()
    assert len(d.X) == 48
    np.testing.assert_allclose(d.X, _normalised(d, to_matrix(full)[0], full))


def test_from_environment_reads_what_the_command_sets(tmp_path):
    env = app_environment(tmp_path / "g.nc", channel="LockinX", profile="test", seed=4)
    d = Dashboard.from_environment(env)
    assert d.kind.value == "file" and d.path.value == str(tmp_path / "g.nc")
    assert d.channel.value == "LockinX" and d.profile == "test" and d.seed == 4
    assert d.config == app_config("test", seed=4)
    assert Dashboard.from_environment(app_environment(demo=True)).kind.value == "simulated"
    # no settings at all (the app opened on Binder): the simulated grid
    assert Dashboard.from_environment({}).kind.value == "simulated"
    with pytest.raises(ValueError, match="profile"):
        Dashboard(profile="huge")
    with pytest.raises(ValueError, match="profile"):
        app_environment(profile="huge")


@pytest.mark.skipif(not (REAL / "nanonis_grid_lockin_30x30.3ds").exists(), reason="no real data")
def test_a_channel_given_by_prefix_is_the_one_opened(tmp_path):
    d = Dashboard(REAL / "nanonis_grid_lockin_30x30.3ds", channel="LockinY", out_dir=tmp_path)
    _run(d, d.load)
    assert d.channel.value == "LockinY" and d.grid.attrs["channel"] == "LockinY (V)"
    assert len(d.channel.options) == 6  # default, the given prefix, four recorded channels


def test_poll_with_the_real_follower_of_a_growing_3ds(tmp_path):
    """stswidgets.follow on a .3ds written in parts (a cut inside a pixel included): after each
    poll the dashboard holds the complete spectra, as open_grid of the file so far gives them."""
    import warnings

    from stswidgets import follow, open_grid, write_3ds

    full = _small_grid()
    whole = write_3ds(full.to_dataset(name="Current").assign_attrs(), tmp_path / "whole.3ds")
    data = whole.read_bytes()
    pixel_bytes = 4 * (2 + full.sizes["bias"])  # Sweep Start, Sweep End, one channel
    start = len(data) - full.sizes["y"] * full.sizes["x"] * pixel_bytes
    growing = tmp_path / "growing.3ds"
    growing.write_bytes(data[: start + 5 * pixel_bytes + 7])  # 5 pixels and a part of the 6th
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a grid being measured warns that it is incomplete
        d = Dashboard(follower=follow(growing), profile="test", out_dir=tmp_path, refresh_s=0.05)
        seen = [d.poll()]  # the follower read the 5 pixels when it was made; the page shows them
        assert len(d.X) == 5
        for stop in (start + 20 * pixel_bytes + 3, len(data)):
            with open(growing, "ab") as file:
                file.write(data[growing.stat().st_size : stop])
            seen.append(d.poll())
            so_far = open_grid(growing)
            expected = _normalised(d, to_matrix(so_far)[0], so_far)
            np.testing.assert_allclose(d.X, expected)
    assert seen == [0, 15, 28] and len(d.X) == 48
    assert d.poll() == 0


def test_poll_before_the_first_complete_spectrum_shows_nothing(tmp_path):
    class Empty:
        grid = None

        def refresh(self):
            return 0

    d = Dashboard(follower=Empty(), profile="test", out_dir=tmp_path)
    assert d.poll() == 0 and d.X is None
