"""read_3ds against the real files and against files written here byte by byte."""

from __future__ import annotations

import struct
import time
import warnings

import numpy as np
import pytest
from nanonis_files import header_lines, pixel_block, raw_3ds

from stswidgets.io import FormatError, read_3ds

CHANNELS = ["Current (A)", "LIX 1 omega (A)"]


def _simple_file(tmp_path, nx=4, ny=3, points=5, sweep=(-0.01, 0.01), extra=(), name="g.3ds"):
    """A grid whose channel k at pixel (r, c), point p holds 1000 k + 100 r + 10 c + p."""
    rows, cols, pts = np.indices((ny, nx, points))
    spectra = [1000.0 * k + 100 * rows + 10 * cols + pts for k in range(len(CHANNELS))]
    header = header_lines(nx, ny, points, CHANNELS, extra=list(extra))
    path = raw_3ds(tmp_path / name, header, pixel_block(ny, nx, sweep, spectra))
    return path, spectra


# ----------------------------------------------------------------------------- real files


def test_real_grid_30x30(grid_30x30):
    ds = read_3ds(grid_30x30)
    channels = [name for name, var in ds.data_vars.items() if var.ndim == 3]
    assert channels == ["Current", "LockinX", "LockinY", "Bias_m"]
    assert ds["LockinX"].dims == ("y", "x", "bias")
    assert ds["LockinX"].shape == (30, 30, 200)
    assert ds["LockinX"].attrs == {"units": "V", "channel": "LockinX (V)"}
    assert ds["X (m)"].shape == (30, 30)
    assert ds.attrs["Date"] == "04.06.2016 20:13:23"
    assert ds.attrs["Points"] == 200 and ds.attrs["Grid dim"] == "30 x 30"
    assert "Filetype" not in ds.attrs
    bias = ds["bias"].values
    assert bias[0] == pytest.approx(-0.22) and bias[-1] == pytest.approx(0.22)
    assert np.all(np.diff(bias) > 0) and ds["bias"].attrs["units"] == "V"
    assert bool(ds["valid"].all())
    # the clipped amplifier is data, not damage
    assert float(ds["LockinX"].max()) == pytest.approx(10.0)


def test_real_grid_geometry_matches_measured_positions(grid_30x30):
    """x/y (offsets along the 45 deg grid axes) map back onto the recorded X (m), Y (m)."""
    ds = read_3ds(grid_30x30)
    cx, cy, width, height, angle = (float(v) for v in ds.attrs["Grid settings"].split(";"))
    assert (width, height, angle) == (5e-9, 5e-9, 45.0)
    u, v = np.meshgrid(ds["x"].values, ds["y"].values)
    a = np.deg2rad(angle)
    x_abs = cx * 1e9 + u * np.cos(a) + v * np.sin(a)
    y_abs = cy * 1e9 - u * np.sin(a) + v * np.cos(a)
    np.testing.assert_allclose(x_abs, ds["X (m)"].values * 1e9, atol=0.02)
    np.testing.assert_allclose(y_abs, ds["Y (m)"].values * 1e9, atol=0.02)
    np.testing.assert_allclose(np.diff(ds["x"].values), 5.0 / 30, rtol=1e-3)


def test_real_line_32x1(line_32x1):
    ds = read_3ds(line_32x1)
    channels = [name for name, var in ds.data_vars.items() if var.ndim == 3]
    assert len(channels) == 12
    assert channels[:6] == [
        "Current",
        "Bias(AI5)",
        "7280DSP Lockin-X",
        "7280DSP Lockin-Y",
        "LIR 1 omega",
        "LIY 1 omega",
    ]
    assert channels[6:] == [f"{name} [bwd]" for name in channels[:6]]
    assert ds["Current"].shape == (1, 32, 401)
    assert ds.attrs["Filetype"] == "Linear"
    assert ds.attrs["Bias Spectroscopy>Number of sweeps"] == 4
    assert ds.attrs["Bias Spectroscopy>Sweep Start (V)"] == pytest.approx(2e-3)
    # the quoted value that spans lines (bare LF inside CRLF lines)
    assert ds.attrs["Ext. VI 1>Condition"] == (
        "17nA depoed for 3min40s\nanneal ramp up to 300 twice.\n"
    )
    assert ds.attrs["Comment"] == "line cross the step 0.1 T"
    bias = ds["bias"].values
    assert bias[0] == pytest.approx(2e-3) and bias[-1] == pytest.approx(-4e-3)
    assert np.all(np.diff(bias) < 0)  # the file's order: positive to negative
    # Final Z is not recorded (NaN) but every spectrum is complete
    assert np.isnan(ds["Final Z (m)"].values).all() and bool(ds["valid"].all())
    np.testing.assert_allclose(np.diff(ds["x"].values), 53.54185 / 31, rtol=1e-4)
    assert not np.array_equal(ds["Current"].values, ds["Current [bwd]"].values)


def test_real_file_mangled_by_text_mode_copy(grid_30x30, tmp_path):
    data = grid_30x30.read_bytes()
    mangled = tmp_path / "copied_in_text_mode.3ds"
    mangled.write_bytes(data.replace(b"\n", b"\r\n"))
    payload = data[data.index(b":HEADER_END:\r\n") + 14 :]
    with pytest.raises(FormatError) as info:
        read_3ds(mangled)
    message = str(info.value)
    assert "copied_in_text_mode.3ds" in message
    assert str(30 * 30 * (10 + 4 * 200) * 4) in message
    assert str(len(payload.replace(b"\n", b"\r\n"))) in message


# ----------------------------------------------------------------------------- written here


def test_pixel_order_parameters_and_nonsquare_grid(tmp_path):
    path, spectra = _simple_file(tmp_path, nx=5, ny=3, points=4)
    ds = read_3ds(path)
    assert ds["Current"].shape == (3, 5, 4)
    np.testing.assert_array_equal(ds["Current"].values, spectra[0])
    np.testing.assert_array_equal(ds["LIX 1 omega"].values, spectra[1])
    rows, cols = np.indices((3, 5))
    np.testing.assert_allclose(ds["Z (m)"].values, rows * 100 + cols + 0.2, rtol=1e-6)
    assert ds["Sweep Start"].attrs["units"] == "V"
    np.testing.assert_allclose(ds["bias"].values, np.linspace(-0.01, 0.01, 4))
    assert ds["Current"].dtype == np.float32


def test_geometry_from_grid_settings(tmp_path):
    path, _ = _simple_file(tmp_path, nx=5, ny=3, points=2)
    header = header_lines(5, 3, 2, CHANNELS, experiment=["Z (m)"])
    rows, cols, pts = np.indices((3, 5, 2))
    raw_3ds(path, header, pixel_block(3, 5, (0.0, 1.0), [rows + 1.0, cols + 1.0], 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every pixel measured: no warning
        ds = read_3ds(path)
    # no positions: pixel centres from the frame (centre 10, 20 nm; 8 x 4 nm), pitch size / n
    np.testing.assert_allclose(ds["x"].values, [6.8, 8.4, 10.0, 11.6, 13.2])
    np.testing.assert_allclose(ds["y"].values, [20 - 4 / 3, 20.0, 20 + 4 / 3])
    assert (ds.attrs["scan_width_nm"], ds.attrs["scan_height_nm"]) == (8.0, 4.0)


def test_single_line(tmp_path):
    path, spectra = _simple_file(tmp_path, nx=6, ny=1, points=3)
    ds = read_3ds(path)
    assert ds["Current"].shape == (1, 6, 3)
    np.testing.assert_array_equal(ds["Current"].values, spectra[0])


def test_positive_to_negative_sweep_keeps_file_order(tmp_path):
    path, spectra = _simple_file(tmp_path, points=5, sweep=(0.02, -0.02))
    ds = read_3ds(path)
    np.testing.assert_allclose(ds["bias"].values, [0.02, 0.01, 0.0, -0.01, -0.02], atol=1e-12)
    np.testing.assert_array_equal(ds["Current"].values, spectra[0])


def test_backward_and_several_sweep_channels(tmp_path):
    channels = ["Current [00001] (A)", "Current [AVG] (A)", "Current [AVG] [bwd] (A)"]
    header = header_lines(2, 2, 3, channels)
    spectra = [np.full((2, 2, 3), float(k)) for k in range(3)]
    extra = [("Bias Spectroscopy>Number of sweeps", "2")]
    path = raw_3ds(tmp_path / "sweeps.3ds", header + extra, pixel_block(2, 2, (-1, 1), spectra))
    ds = read_3ds(path)
    assert ds.attrs["Bias Spectroscopy>Number of sweeps"] == 2
    for k, name in enumerate(["Current [00001]", "Current [AVG]", "Current [AVG] [bwd]"]):
        assert float(ds[name].mean()) == k
        assert ds[name].attrs["channel"] == channels[k]


def test_mls_bias_from_segment_table(tmp_path):
    """Three segments with different steps; boundaries are shared between segments."""
    table = ";".join(
        [
            "-10E-3,-2E-3,5E-3,50E-3,5,0E+0,0E+0",
            "-2E-3,2E-3,5E-3,50E-3,9,0E+0,0E+0",
            "2E-3,10E-3,5E-3,50E-3,5,0E+0,0E+0",
        ]
    )
    expected_mV = [-10, -8, -6, -4, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4, 6, 8, 10]
    points = len(expected_mV)
    key = (
        "Segment Start (V), Segment End (V), Settling (s), Integration (s), Steps (xn), "
        "Lockin, Init. Settling (s)"
    )
    header = header_lines(2, 2, points, ["Current (A)"], extra=[("Filetype", "MLS")])
    header.append((key, table))
    header.append(("Bias Spectroscopy>Sweep Start (V)", "-10E-3"))
    spectra = [np.broadcast_to(np.arange(points, dtype=float), (2, 2, points))]
    path = raw_3ds(tmp_path / "mls.3ds", header, pixel_block(2, 2, (-0.01, 0.01), spectra))
    ds = read_3ds(path)
    np.testing.assert_allclose(ds["bias"].values * 1e3, expected_mV, atol=1e-9)
    assert ds.attrs["Filetype"] == "MLS" and ds.attrs[key] == table


def test_mls_table_that_does_not_fit_points(tmp_path):
    key = "Segment Start (V), Segment End (V), Settling (s), Integration (s), Steps (xn)"
    header = header_lines(1, 1, 7, ["Current (A)"], extra=[("Filetype", "MLS")])
    header.append((key, "-1E-3,1E-3,0,0,3;1E-3,2E-3,0,0,3"))
    path = raw_3ds(tmp_path / "mls_bad.3ds", header, np.zeros((1, 5 + 7)))
    with pytest.raises(FormatError, match=r"mls_bad\.3ds.*5 points.*Points=7"):
        read_3ds(path)


def test_z_spectroscopy_uses_the_sweep_name(tmp_path):
    channels = ["Current (A)", "Z (m)"]
    header = header_lines(2, 1, 4, channels, signal="Z (m)")
    spectra = [np.ones((1, 2, 4)), np.zeros((1, 2, 4))]
    path = raw_3ds(tmp_path / "z.3ds", header, pixel_block(1, 2, (1e-10, -2e-10), spectra))
    ds = read_3ds(path)
    assert ds["Current"].dims == ("y", "x", "Z")
    assert ds["Z"].attrs["units"] == "m"
    np.testing.assert_allclose(ds["Z"].values, np.linspace(1e-10, -2e-10, 4), rtol=1e-6)
    # the recorded Z channel does not clash with the sweep dim or the Z (m) parameter
    assert "Z (m)" in ds and ds["Z (m)"].dims == ("y", "x")
    assert ds["Z (m) [channel]"].dims == ("y", "x", "Z")


def test_nan_pixels_are_invalid(tmp_path):
    path, spectra = _simple_file(tmp_path, nx=3, ny=3, points=4)
    data = path.read_bytes()
    header, payload = data.split(b":HEADER_END:\r\n")
    pixels = np.frombuffer(payload, ">f4").reshape(9, -1).copy()
    pixels[[4, 8]] = np.nan  # Nanonis writes NaN for parameters and data of unmeasured pixels
    path.write_bytes(header + b":HEADER_END:\r\n" + pixels.astype(">f4").tobytes())
    with pytest.warns(UserWarning, match=r"g\.3ds: 2 of the pixels in the file are incomplete"):
        ds = read_3ds(path)
    expected_valid = np.ones((3, 3), bool)
    expected_valid[1, 1] = expected_valid[2, 2] = False
    np.testing.assert_array_equal(ds["valid"].values, expected_valid)
    assert np.isnan(ds["Current"].values[1, 1]).all()
    np.testing.assert_array_equal(ds["Current"].values[0], spectra[0][0])


def test_aborted_grid_warns_and_keeps_complete_pixels(tmp_path):
    path, spectra = _simple_file(tmp_path, nx=4, ny=3, points=5, name="aborted.3ds")
    data = path.read_bytes()
    pixel_bytes = 4 * (5 + 2 * 5)
    path.write_bytes(data[: len(data) - 5 * pixel_bytes])  # 7 of 12 pixels measured
    with pytest.warns(UserWarning, match=r"aborted\.3ds.*7 of 12.*5 missing"):
        ds = read_3ds(path)
    done = np.arange(12).reshape(3, 4) < 7
    np.testing.assert_array_equal(ds["valid"].values, done)
    np.testing.assert_array_equal(ds["Current"].values[done], spectra[0][done])
    assert np.isnan(ds["Current"].values[~done]).all()
    assert np.isnan(ds["X (m)"].values[~done]).all()
    with pytest.raises(FormatError, match=r"aborted\.3ds.*7 of 12"):
        read_3ds(path, strict=True)


def test_text_mode_copy_of_written_file(tmp_path):
    # a parameter whose big-endian bytes hold an LF, so the text-mode copy changes the payload
    lf_value = struct.unpack(">f", b"\x3f\x0a\x00\x00")[0]
    path, _ = _simple_file(tmp_path, sweep=(lf_value, 1.0), name="crlf.3ds")
    data = path.read_bytes()
    payload = data[data.index(b":HEADER_END:\r\n") + 14 :]
    assert b"\n" in payload
    path.write_bytes(data.replace(b"\n", b"\r\n"))
    with pytest.raises(FormatError) as info:
        read_3ds(path)
    message = str(info.value)
    assert "crlf.3ds" in message
    mangled_size = len(payload.replace(b"\n", b"\r\n"))
    assert f"{len(payload)} bytes" in message
    assert f"{mangled_size} bytes" in message


def test_file_that_ends_inside_a_value_loads_its_complete_pixels(tmp_path):
    """A copy taken while the last pixel was written, 3 bytes short: 11 of 12 pixels."""
    path, spectra = _simple_file(tmp_path, name="odd.3ds")
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.warns(UserWarning, match=r"odd\.3ds.*11 of 12.*57 bytes into pixel 12, of 60"):
        ds = read_3ds(path)
    done = np.arange(12).reshape(3, 4) < 11
    np.testing.assert_array_equal(ds["valid"].values, done)
    np.testing.assert_array_equal(ds["Current"].values[done], spectra[0][done])
    assert np.isnan(ds["LIX 1 omega"].values[2, 3]).all()
    with pytest.raises(FormatError, match=r"odd\.3ds.*11 of 12"):
        read_3ds(path, strict=True)


def test_missing_header_end(tmp_path):
    path = tmp_path / "noend.3ds"
    path.write_bytes(b'Grid dim="2 x 2"\r\nPoints=3\r\n' + b"\x00" * 64)
    with pytest.raises(FormatError, match=r"noend\.3ds.*HEADER_END"):
        read_3ds(path)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("Grid dim", '"two x 2"', "Grid dim"),
        ("Points", "0", "no data"),
        ("Points", "many", "Points"),
        ("# Parameters (4 byte)", "1", "parameters"),
        ("Experiment size (bytes)", "12", "Experiment size"),
        ("Channels", '""', "no channel"),
    ],
)
def test_bad_header_values(tmp_path, key, value, problem):
    header = [(k, value if k == key else v) for k, v in header_lines(2, 2, 3, CHANNELS)]
    path = raw_3ds(tmp_path / "bad.3ds", header, np.zeros((4, 5 + 6)))
    with pytest.raises(FormatError, match=rf"bad\.3ds.*{problem}"):
        read_3ds(path)


def test_grid_aborted_before_the_first_pixel(tmp_path):
    header = header_lines(2, 2, 3, CHANNELS)
    path = raw_3ds(tmp_path / "empty.3ds", header, np.zeros((0, 11)))
    with pytest.raises(FormatError, match=r"empty\.3ds.*sweep range"):
        read_3ds(path)
    extra = [
        ("Bias Spectroscopy>Sweep Start (V)", "-2E-3"),
        ("Bias Spectroscopy>Sweep End (V)", "2E-3"),
    ]
    path = raw_3ds(tmp_path / "empty.3ds", header + extra, np.zeros((0, 11)))
    with pytest.warns(UserWarning, match="0 of 4 pixels"):
        ds = read_3ds(path)
    np.testing.assert_allclose(ds["bias"].values, [-2e-3, 0.0, 2e-3])
    assert not ds["valid"].values.any()


def test_header_values(tmp_path):
    extra = [
        ("Scan>series name", "007"),
        ("Bias>Bias (V)", "2E-3"),
        ("Bias Spectroscopy>Max Slew rate (V/s)", "Inf"),
        ("Bias Spectroscopy>backward sweep", "TRUE"),
        ("User", ""),
    ]
    path, _ = _simple_file(tmp_path, extra=extra)
    attrs = read_3ds(path).attrs
    assert attrs["Scan>series name"] == "007"
    assert attrs["Bias>Bias (V)"] == 2e-3 and attrs["Points"] == 5
    assert attrs["Bias Spectroscopy>Max Slew rate (V/s)"] == np.inf
    assert attrs["Bias Spectroscopy>backward sweep"] == "TRUE" and attrs["User"] == ""
    assert attrs["Channels"] == "Current (A);LIX 1 omega (A)"
    assert attrs["Experiment"] == "Grid Spectroscopy"


def test_format_error_is_a_value_error():
    assert issubclass(FormatError, ValueError)


def test_read_speed_100x100x512(tmp_path):
    """A 100 x 100 x 512 grid with 3 channels (61 MB) reads in well under a second."""
    ny = nx = 100
    points, channels = 512, ["Current (A)", "LIX 1 omega (A)", "LIY 1 omega (A)"]
    header = header_lines(nx, ny, points, channels)
    pixels = (np.arange(ny * nx * (5 + 3 * points), dtype=np.float32) % 997).reshape(ny * nx, -1)
    pixels[:, :2] = (-0.015, 0.015)  # Sweep Start, Sweep End
    rows, cols = np.indices((ny, nx))  # X (m), Y (m) of a raster scan: pixels stay in place
    pixels[:, 2], pixels[:, 3] = (cols.ravel() * 1e-10, rows.ravel() * 1e-10)
    path = raw_3ds(tmp_path / "big.3ds", header, pixels)
    path.read_bytes()  # warm the file cache so both timings read from memory
    start = time.perf_counter()
    data = path.read_bytes()  # baseline: bytes -> native float32, nothing else
    offset = data.index(b":HEADER_END:\r\n") + 14
    baseline = np.frombuffer(data, dtype=">f4", offset=offset).astype(np.float32)
    t_baseline = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = read_3ds(path)
    t_read = time.perf_counter() - start
    ratio = t_read / t_baseline
    print(f"read_3ds {t_read:.3f} s, bytes->float32 {t_baseline:.3f} s, ratio {ratio:.1f}")
    assert baseline.size == pixels.size
    assert ds["LIY 1 omega"].shape == (100, 100, 512)
    np.testing.assert_array_equal(ds["LIY 1 omega"].values[7, 3], pixels[703, 5 + 2 * 512 :])
    # the target on an idle machine; on a loaded one, at most a few times the bare conversion
    assert t_read < 1.0 or t_read < 4 * t_baseline
