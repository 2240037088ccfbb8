"""The app shows the gap map as one more colour choice of the projection explorer (issue 21)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from stswidgets import to_map
from stswidgets.app import Dashboard
from stswidgets.app.dashboard import GAP_COLOUR


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The test profile's simulated grid, with a stand-in projection (no training: the colour
    choice is what is tested, not the score)."""
    d = Dashboard(demo=True, profile="test", out_dir=tmp_path_factory.mktemp("out"))
    d.load()
    n = len(d.X)
    rng = np.random.default_rng(0)
    d.projection = SimpleNamespace(score=rng.random(n), Z=rng.normal(size=(n, 2)))
    d._show_latent()
    return d


def test_gap_is_a_colour_choice_holding_the_gap_map(dashboard):
    from stswidgets.analysis import gap_map

    d = dashboard
    assert GAP_COLOUR in d.latent.colors
    assert GAP_COLOUR in d.latent.color_dropdown.options
    # the colour is the analysis's gap map at the valid pixels, in the explorer's row order
    config = d.config
    options = {"fit_range": config.gap_fit_range} if config.gap_method == "fit" else {}
    expected = gap_map(d.grid, method=config.gap_method, n_gaps=config.n_gaps, **options)["gap"]
    np.testing.assert_allclose(
        np.asarray(to_map(d.latent.colors[GAP_COLOUR], d.valid)), expected.values
    )
    # and a gap a physicist recognises: the simulated superconducting gap, within 10 % and
    # one bias step (the app's test grid has 64 bias points over 30 mV)
    delta = float(d.truth.attrs["delta_mV"])
    step = float(np.diff(d.grid["bias"]).mean())
    assert np.nanmedian(d.gap) == pytest.approx(delta, abs=0.1 * delta + step)


def test_choosing_the_gap_colours_the_map(dashboard):
    d = dashboard
    d.latent.color_by = GAP_COLOUR
    assert d.latent.color_dropdown.value == GAP_COLOUR
    finite = d.gap[np.isfinite(d.gap)]
    assert d.latent.color_scale.min == pytest.approx(finite.min())
    assert d.latent.color_scale.max == pytest.approx(finite.max())


def test_a_new_grid_drops_the_gap(dashboard, tmp_path):
    d = Dashboard(demo=True, profile="test", out_dir=tmp_path)
    d.load()
    d.gap = np.zeros(len(d.X))
    d.set_grid(d.grid, d.truth, "again")
    assert d.gap is None
