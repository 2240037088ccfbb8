"""read_sm4 on RHK spectra that are not on a grid: the real point file, and SM4 files written
here for a line (grid size -1, 2 sweeps at each of 64 positions) and 20 repeats of which 2
are complete (the files of issue 20)."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
from nanonis_files import real_file
from rhk_files import SpecPage, write_sm4

from stswidgets.io import FormatError, _channels
from stswidgets.io.rhk import read_sm4
from stswidgets.io.rhk.points import spot_geometry

POINTS = "points/rhk_points_stripes_HOPG.sm4"
NO_GRID = (0xFFFFFFFF, 0xFFFFFFFF)
# the real point file: page 0 (LIA Current) data at byte 6112, page 1 (Current) at 22120,
# int32 481 x 6, z scale 2^-50 ... A per code; spec-drift records (7 float32) at 17674
DATA_AT = {"LIA_Current": 6112, "Current": 22120}
Z_SCALE = 4.656612844776963e-18


@pytest.fixture
def points_file():
    return real_file(POINTS)


# ----------------------------------------------------------------------------- real file


def test_real_points_file_facts(points_file):
    """6 complete point spectra at one spot, 481 points from +600 to -600 mV in 2.5 mV steps."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete file opens without a word
        ds = read_sm4(points_file)
    assert ds.attrs["geometry"] == "repeats"
    assert ds["LIA_Current"].dims == ("spectrum", "bias")
    assert dict(ds.sizes) == {"spectrum": 6, "bias": 481}
    assert [name for name, var in ds.data_vars.items() if var.ndim == 2] == [
        "LIA_Current",
        "Current",
    ]
    bias_mV = ds["bias"].values * 1e3
    assert ds["bias"].attrs["units"] == "V"
    assert (bias_mV[0], bias_mV[-1]) == pytest.approx((600.0, -600.0), abs=1e-6)
    np.testing.assert_allclose(np.diff(bias_mV), -2.5, atol=1e-6)
    for name in ("LIA_Current", "Current"):
        assert ds[name].attrs["units"] == "A"
        assert np.isfinite(ds[name].values).all()
    assert ds["LIA_Current"].attrs["channel"] == "LIA Current"
    # the lock-in page is the dI/dV channel, the other the current
    assert _channels.channel_rank("LIA_Current") is not None
    assert _channels.current_rank("Current") is not None
    assert ds["repetition"].values.tolist() == [0, 1, 2, 3, 4, 5]
    assert bool(ds["valid"].all()) and ds.attrs["n_spots"] == 1
    assert ds.attrs["source"] == str(points_file)
    assert ds.attrs["setpoint_bias_mV"] == pytest.approx(ds.attrs["bias_V"] * 1e3)
    assert "repeats" in ds.attrs["sweep_directions"]


def test_real_points_values_and_position_from_bytes(points_file):
    data = points_file.read_bytes()
    ds = read_sm4(points_file)
    for name, at in DATA_AT.items():
        raw = np.array(struct.unpack_from(f"<{6 * 481}i", data, at), float).reshape(6, 481)
        np.testing.assert_allclose(ds[name].values, raw * np.float32(Z_SCALE), rtol=1e-6)
    x, y = struct.unpack_from("<2f", data, 17674 + 4)
    np.testing.assert_allclose(ds["x"].values, x * 1e9, rtol=1e-6)
    np.testing.assert_allclose(ds["y"].values, y * 1e9, rtol=1e-6)
    assert ds["x"].attrs["units"] == "nm"


def test_real_points_alternating_on_request(points_file):
    """The data show no direction (3 pairs, no systematic difference): repeats; asked for
    alternating sweeps, 3 forward and 3 backward spectra."""
    ds = read_sm4(points_file)
    assert ds.attrs["sweep_decision"].startswith("auto: 3 complete pairs, 0%")
    both = read_sm4(points_file, sweeps="alternating")
    assert both.sizes["spectrum"] == 3
    np.testing.assert_array_equal(both["Current [bwd]"].values, ds["Current"].values[1::2])
    assert both["Current [bwd]"].attrs["channel"] == "Current [bwd]"
    with pytest.raises(ValueError, match="sweeps="):
        read_sm4(points_file, sweeps="both")


# ----------------------------------------------------------------------------- a line

N_POSITIONS, N_POINTS = 64, 501
START_NM, END_NM = np.array([-37.483, -173.467]), np.array([-4.866, -179.954])  # 33.26 nm


def _line_spectra(alternating: bool, seed: int = 0):
    """Raw codes ``(128, 501)`` of a current and a lock-in along a 33 nm line: a gap edge
    that moves along the line, noise, and (alternating) the backward sweep's capacitive
    offset of the current and the lock-in lag of one point."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(0.5, -0.5, N_POINTS)
    edge = np.linspace(-0.2, 0.2, N_POSITIONS)[:, None]
    didv = 1 + np.tanh((np.abs(bias) - 0.1 - 0.05 * edge) / 0.02)  # (64, 501)
    current = np.cumsum(didv, axis=1) * -0.002
    current -= current[:, N_POINTS // 2 : N_POINTS // 2 + 1]
    lia, cur = np.repeat(didv, 2, axis=0), np.repeat(current, 2, axis=0)
    if alternating:
        cur[1::2] += 0.05  # +- C dV/dt
        lia[1::2] = np.roll(lia[1::2], -1, axis=1)
    lia = lia + rng.normal(0, 0.01, lia.shape)
    cur = cur + rng.normal(0, 0.002, cur.shape)
    return (np.round(lia * 1e6).astype(np.int32), np.round(cur * 1e6).astype(np.int32))


def _line_file(tmp_path, alternating: bool, name="line.sm4"):
    steps = np.linspace(0, 1, N_POSITIONS)[:, None]
    spots = (START_NM + steps * (END_NM - START_NM)) * 1e-9
    positions = np.repeat(spots, 2, axis=0)
    lia, cur = _line_spectra(alternating)
    common = dict(grid=NO_GRID, positions=positions, x_scale=-0.002, x_offset=0.5)
    pages = [SpecPage("LIA Current", lia, **common), SpecPage("Current", cur, **common)]
    return write_sm4(tmp_path / name, pages), lia, cur, spots * 1e9


def test_line_with_no_grid_alternating(tmp_path):
    """128 spectra at 64 positions, grid size -1: a line of 64 spectra, forward and [bwd]."""
    path, lia, cur, spots = _line_file(tmp_path, alternating=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_sm4(path)
    assert ds.attrs["geometry"] == "line"
    assert dict(ds.sizes) == {"spectrum": 64, "bias": N_POINTS}
    assert set(ds.data_vars) == {
        "LIA_Current",
        "LIA_Current [bwd]",
        "Current",
        "Current [bwd]",
        "valid",
    }
    assert ds.attrs["grid_x_size"] == 0xFFFFFFFF and ds.attrs["n_spots"] == 64
    assert ds.attrs["backward_sweeps_reversed"] == 0
    np.testing.assert_allclose(ds["Current"].values, cur[0::2] * 1e-12, rtol=1e-6)
    np.testing.assert_allclose(ds["Current [bwd]"].values, cur[1::2] * 1e-12, rtol=1e-6)
    np.testing.assert_allclose(ds["x"].values, spots[:, 0], atol=1e-4)
    np.testing.assert_allclose(ds["y"].values, spots[:, 1], atol=1e-4)
    length = np.hypot(*(spots[-1] - spots[0]))
    assert length == pytest.approx(33.26, abs=0.01)
    assert (ds["repetition"].values == 0).all()
    assert ds["bias"].values[0] == pytest.approx(0.5) and ds["bias"].values[-1] == pytest.approx(
        -0.5
    )


def test_line_with_no_grid_repeats(tmp_path):
    """The same line measured twice in one direction: 128 spectra, repetition 0 and 1."""
    path, lia, cur, spots = _line_file(tmp_path, alternating=False)
    ds = read_sm4(path)
    assert ds.attrs["geometry"] == "line"
    assert dict(ds.sizes) == {"spectrum": 128, "bias": N_POINTS}
    assert "Current [bwd]" not in ds
    assert ds["repetition"].values.tolist() == [0, 1] * 64
    np.testing.assert_allclose(ds["LIA_Current"].values, lia * 1e-12, rtol=1e-6)
    np.testing.assert_allclose(ds["x"].values[::2], spots[:, 0], atol=1e-4)
    assert "repeats" in ds.attrs["sweep_directions"]


def test_spot_geometry():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 30, 200)
    assert spot_geometry(t, 0.5 * t + rng.normal(0, 0.05, t.size)) == "line"
    assert spot_geometry(np.r_[t, t * 0], np.r_[t * 0, t]) == "points"  # an L
    assert spot_geometry(np.array([0.0, 1.0]), np.array([0.0, 0.0])) == "points"  # 2 spots
    assert spot_geometry(rng.normal(5, 1e-4, 9), rng.normal(2, 1e-4, 9)) == "repeats"
    assert spot_geometry(np.array([0.0, np.nan]), np.array([0.0, 1.0])) == "points"
    x, y = rng.uniform(0, 100, (2, 20000))  # quick on many spots
    assert spot_geometry(x, y) == "points"


def test_points_not_on_a_line(tmp_path):
    spots = np.array([[0, 0], [1e-9, 0], [0, 1e-9], [1e-9, 1e-9]])
    raw = np.arange(4 * 11).reshape(4, 11) + 1
    ds = read_sm4(write_sm4(tmp_path / "p.sm4", [SpecPage("Current", raw, positions=spots)]))
    assert ds.attrs["geometry"] == "points" and ds.sizes["spectrum"] == 4
    np.testing.assert_allclose(ds["y"].values, [0, 0, 1, 1], atol=1e-6)


# ----------------------------------------------------------------------------- aborted repeats


def _aborted_repeats(tmp_path, name="rep.sm4", zero_positions=False):
    """20 sweeps at one spot, 481 points: 2 complete, the 3rd stops after 125, 17 all zero
    (``zero_positions``: their spec-drift records left at 0 too)."""
    rng = np.random.default_rng(5)
    lia = rng.integers(1000, 2000, (20, 481)).astype(np.int32)
    cur = -rng.integers(1000, 2000, (20, 481)).astype(np.int32)
    for raw in (lia, cur):
        raw[2, 125:] = 0
        raw[3:] = 0
    spot = np.repeat([[-9.7e-8, -7.3e-8]], 20, axis=0)
    if zero_positions:
        spot[3:] = 0
    pages = [
        SpecPage(label, raw, positions=spot, page_type=38, x_scale=-0.0025, x_offset=0.6)
        for label, raw in (("LIA Current", lia), ("Current", cur))
    ]
    return write_sm4(tmp_path / name, pages), lia


@pytest.mark.parametrize("zero_positions", [False, True])
def test_aborted_repeats(tmp_path, zero_positions):
    path, lia = _aborted_repeats(tmp_path, zero_positions=zero_positions)
    with pytest.warns(UserWarning) as caught:
        ds = read_sm4(path)
    message = " ".join(str(w.message) for w in caught)
    assert str(path) in message
    assert "18 of 20 spectra incomplete" in message
    assert "spectrum 2 after 125" in message and "17 never measured" in message
    assert ds.attrs["geometry"] == "repeats" and ds.sizes["spectrum"] == 20
    values = ds["LIA_Current"].values
    np.testing.assert_allclose(values[:2], lia[:2] * 1e-12, rtol=1e-6)
    np.testing.assert_allclose(values[2, :125], lia[2, :125] * 1e-12, rtol=1e-6)
    assert np.isnan(values[2, 125:]).all() and np.isnan(values[3:]).all()
    assert ds["valid"].values.tolist() == [True, True] + [False] * 18
    assert ds["repetition"].values.tolist() == list(range(20))
    # the never-measured spectra have no position, the measured ones their spot
    np.testing.assert_allclose(ds["x"].values[:3], -97.0, rtol=1e-6)
    assert np.isnan(ds["x"].values[3:]).all() and np.isnan(ds["y"].values[3:]).all()
    with pytest.raises(FormatError, match=r"rep\.sm4: 18 of 20 spectra incomplete"):
        read_sm4(path, strict=True)


# ----------------------------------------------------------------------------- open_spectra


def test_real_points_through_open_spectra(points_file):
    import stswidgets

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the lock-in's agreement with the noisy current
        spectra = stswidgets.open_spectra(points_file)
    assert spectra.dims == ("spectrum", "bias") and spectra.shape == (6, 481)
    assert spectra.attrs["channel"] == "LIA Current" and spectra.attrs["units"] == "A"
    assert spectra.attrs["geometry"] == "repeats"
    bias = spectra["bias"].values
    assert (bias[0], bias[-1]) == pytest.approx((-600.0, 600.0), abs=1e-6)
    np.testing.assert_allclose(np.diff(bias), 2.5, atol=1e-6)
    # bias ascending: the file's last point is the first
    raw = read_sm4(points_file)["LIA_Current"].values
    np.testing.assert_allclose(spectra.values, raw[:, ::-1], rtol=1e-6)
    assert spectra["repetition"].values.tolist() == list(range(6))
    with pytest.raises(FormatError, match="open_spectra"):
        stswidgets.open_grid(points_file)


def test_aborted_repeats_through_open_spectra(tmp_path):
    import stswidgets
    from stswidgets.spectra import average_spectra

    path, lia = _aborted_repeats(tmp_path)
    with pytest.warns(UserWarning, match=r"rep\.sm4: 18 of 20 spectra incomplete"):
        spectra = stswidgets.open_spectra(path, channel="LIA_Current")
    assert spectra.attrs["geometry"] == "repeats" and spectra.shape == (20, 481)
    X, valid = stswidgets.to_matrix(spectra)
    assert X.shape == (2, 481) and valid.values.tolist() == [True, True] + [False] * 18
    averaged = average_spectra(spectra)
    assert averaged.shape == (1, 481)  # the 3rd adds its 125 measured points
    in_file_order = np.concatenate([lia[:3, :125].mean(axis=0), lia[:2, 125:].mean(axis=0)])
    np.testing.assert_allclose(averaged.values[0], in_file_order[::-1] * 1e-12, rtol=1e-5)


def test_line_through_open_spectra(tmp_path):
    import stswidgets

    path, lia, cur, spots = _line_file(tmp_path, alternating=True)
    spectra = stswidgets.open_spectra(path, channel="Current [bwd]")
    assert spectra.attrs["geometry"] == "line" and spectra.shape == (64, N_POINTS)
    assert spectra["distance"].values[-1] == pytest.approx(33.256, abs=1e-2)
    np.testing.assert_allclose(spectra.values, cur[1::2, ::-1] * 1e-12, rtol=1e-5)
