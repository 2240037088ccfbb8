"""LineCutExplorer: the waterfall, the spectrum under the cursor, a brushed range, the values."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from stswidgets.spectra import make_spectra
from stswidgets.widgets import LineCutExplorer, Selection
from stswidgets.widgets._static import static_png

BIAS = np.linspace(-10.0, 10.0, 31)
DISTANCE = 0.5 * np.arange(20)  # nm


def line_cut(repeat_at=None, incomplete=None) -> xr.DataArray:
    """20 spectra along a line of 0.5 nm steps: a peak at 4 nm, an offset growing with index.

    ``repeat_at``: a 21st spectrum measured again at that index's position; ``incomplete``:
    that spectrum stops after 20 of 31 bias points (NaN).
    """
    distance = DISTANCE.copy()
    values = 1.0 + np.outer(np.exp(-((distance - 4.0) ** 2)), np.exp(-(BIAS**2) / 4.0))
    values += 0.01 * np.arange(distance.size)[:, None]
    if repeat_at is not None:
        distance = np.r_[distance, distance[repeat_at]]
        values = np.vstack([values, values[repeat_at] + 0.5])
    if incomplete is not None:
        values[incomplete, 20:] = np.nan
    return make_spectra(values, BIAS, 0.6 * distance, 0.8 * distance, geometry="line", units="nS")


def test_waterfall_holds_every_spectrum_by_distance_and_bias():
    spectra = line_cut()
    explorer = LineCutExplorer(spectra)
    np.testing.assert_allclose(explorer.waterfall.x, DISTANCE)
    np.testing.assert_allclose(explorer.waterfall.y, BIAS)
    # HeatMap colour is (n_bias, n_positions): column i is spectrum i
    np.testing.assert_allclose(explorer.waterfall.color, spectra.values.T)
    labels = [a.label for a in explorer.waterfall_figure.axes]
    assert labels == ["distance along the line (nm)", "sample bias (mV)", "dI/dV (nS)"]
    assert explorer.values_figure is None


def test_slider_and_cursor_show_the_spectrum_at_that_distance():
    spectra = line_cut()
    explorer = LineCutExplorer(spectra, distance=1.0)
    assert explorer.position == 2
    np.testing.assert_allclose(explorer.spectrum_lines.y[0], spectra.values[2])
    explorer.slider.value = 3.6  # snapped to the nearest position, 3.5 nm
    assert explorer.distance == pytest.approx(3.5) and explorer.position == 7
    assert explorer.slider.value == explorer.distance  # the slider shows the snapped value
    np.testing.assert_allclose(explorer.spectrum_lines.y[0], spectra.values[7])
    np.testing.assert_allclose(explorer.cursor_line.x, [3.5, 3.5])
    explorer.cursor.selected = [8.2]  # the mouse's cursor on the waterfall (nm)
    assert explorer.position == 16
    np.testing.assert_allclose(explorer.spectrum_lines.y[0], spectra.values[16])
    assert "8.00 nm" in explorer.spectrum_figure.title


def test_brushed_range_selects_its_complete_spectra_and_draws_their_mean():
    spectra = line_cut(incomplete=5)  # 2.5 nm stops early: not in the mean
    explorer = LineCutExplorer(spectra, mode="range")
    assert explorer.waterfall_figure.interaction is explorer.range_brush
    explorer.range_brush.selected = [1.9, 3.1]
    # complete spectra at 2.0 and 3.0 nm: rows 4 and 5 of X (spectrum 5 is skipped)
    np.testing.assert_array_equal(explorer.selection.indices, [4, 5])
    np.testing.assert_allclose(
        explorer.spectrum_lines.y[1], spectra.values[[4, 6]].mean(axis=0), rtol=1e-12
    )
    assert "selected 2 of 19 spectra" in explorer.info.value
    assert "1 incomplete" in explorer.info.value
    # the incomplete spectrum is grey where unmeasured, drawn where measured
    assert explorer.unmeasured.color[25, 5] == -1 and explorer.unmeasured.color[5, 5] == 0
    explorer.mode = "cursor"
    assert explorer.waterfall_figure.interaction is explorer.cursor


def test_repeated_spectra_at_one_position_share_its_column():
    spectra = line_cut(repeat_at=3)
    explorer = LineCutExplorer(spectra, distance=DISTANCE[3])
    assert explorer.distances.size == 20
    expected = 0.5 * (spectra.values[3] + spectra.values[20])
    np.testing.assert_allclose(explorer.spectrum_lines.y[0], expected)
    np.testing.assert_allclose(explorer.waterfall.color[:, 3], expected)
    assert "mean of 2" in explorer.spectrum_figure.title


def test_values_are_drawn_against_distance_and_mark_the_selection():
    spectra = line_cut(incomplete=0)
    score = np.abs(DISTANCE[1:] - 4.0)  # one per complete spectrum, as the pipeline gives
    gap = xr.DataArray(
        np.linspace(1, 2, 20), dims="spectrum", attrs={"long_name": "gap", "units": "mV"}
    )
    explorer = LineCutExplorer(spectra, values={"score": score, "gap (mV)": gap.values})
    assert explorer.values_lines.labels == ["score", "gap (mV)"]
    np.testing.assert_allclose(explorer.values_lines.y[0], np.r_[np.nan, score])
    np.testing.assert_allclose(explorer.values_lines.y[1], gap.values)
    explorer.select_range(4.9, 6.1)  # 5.0, 5.5, 6.0 nm
    np.testing.assert_allclose(explorer.values_selected.x, [5.0, 5.5, 6.0])
    np.testing.assert_allclose(explorer.values_selected.y, [1.0, 1.5, 2.0])
    one = LineCutExplorer(spectra, values=gap)
    assert one.values_figure.axes[1].label == "gap (mV)"


def test_selection_is_shared_with_explorers_of_the_same_spectra():
    spectra = line_cut(incomplete=0)
    complete = np.isfinite(spectra.values).all(axis=1)
    shared = Selection(complete[None, :])
    explorer = LineCutExplorer(spectra, selection=shared)
    shared.select([0, 1], source="latent")  # rows of X: spectra 1 and 2
    np.testing.assert_allclose(explorer.spectrum_lines.y[1], spectra.values[1:3].mean(axis=0))
    with pytest.raises(ValueError, match="selection was made"):
        LineCutExplorer(spectra, selection=Selection(np.ones((1, 5), dtype=bool)))


def test_distance_from_positions_when_no_distance_coordinate():
    spectra = line_cut().drop_vars("distance")
    explorer = LineCutExplorer(spectra)
    np.testing.assert_allclose(explorer.distances, DISTANCE)  # |(0.6, 0.8)| = 1 per step
    no_positions = line_cut().drop_vars("distance")
    no_positions = no_positions.assign_coords(x=no_positions.x * np.nan)  # unknown positions
    assert LineCutExplorer(no_positions).distance_label == "spectrum number"


def test_wrong_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="dims"):
        LineCutExplorer(xr.DataArray(np.ones((2, 3, 4)), dims=("y", "x", "bias")))
    with pytest.raises(ValueError, match="expected one per spectrum"):
        LineCutExplorer(line_cut(), values=np.ones(7))
    with pytest.raises(ValueError, match="mode"):
        LineCutExplorer(line_cut(), mode="lasso")
    empty = line_cut()
    empty[:, 0] = np.nan
    with pytest.raises(ValueError, match="no complete spectrum"):
        LineCutExplorer(empty)


def test_static_picture_shows_the_waterfall():
    import io

    from PIL import Image

    explorer = LineCutExplorer(line_cut(), values=np.arange(20.0))
    image = np.asarray(Image.open(io.BytesIO(static_png(explorer))).convert("RGB"), float)
    assert image.shape[1] > 2 * image.shape[0]  # three panels in a row
    # the peak at 4 nm, 0 mV is yellow (viridis top): some pixels with red, green >> blue
    yellow = (image[..., 0] > 200) & (image[..., 1] > 200) & (image[..., 2] < 100)
    assert yellow.sum() > 20


def test_static_picture_is_labelled_and_free_of_overlaps():
    from figure_checks import colourbar_axes, layout_problems

    from stswidgets.widgets._static import static_figure

    fig = static_figure(LineCutExplorer(line_cut(), values={"score": np.arange(20.0)}))
    assert [ax.get_ylabel() for ax in colourbar_axes(fig)] == ["dI/dV (nS)"]
    assert layout_problems(fig) == []


def test_spectra_repeated_at_one_spot_make_one_column():
    values = np.vstack([np.linspace(1, 2, BIAS.size), np.linspace(3, 4, BIAS.size)])
    spectra = make_spectra(values, BIAS, np.zeros(2), np.zeros(2), geometry="repeats")
    explorer = LineCutExplorer(spectra, values=np.array([1.0, 3.0]))
    np.testing.assert_allclose(explorer.current_spectrum, values.mean(axis=0))
    assert explorer.waterfall.color.shape == (BIAS.size, 2)  # one column, drawn twice as wide
    np.testing.assert_allclose(explorer.values_lines.y, [2.0, 2.0])  # the mean value there
    np.testing.assert_array_equal(explorer.select_range(-1.0, 1.0), [0, 1])
