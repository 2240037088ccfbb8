"""Createc vertical spectroscopy (``.VERT``): the real file's facts, checked against a plain
parse of its table here, and damaged copies."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from nanonis_files import real_file
from spectra_fuzz import run_cases

from stswidgets.io import FormatError, detect_format
from stswidgets.io.createc import read_vert

VERT = "points/createc_Ag_corral_line_L0001.VERT"
N_SAMPLES, N_HOLD = 512, 20


@pytest.fixture
def vert():
    return real_file(VERT)


def _plain_table(path):
    """The DATA table parsed independently: rows after the info line after ``DATA``."""
    text = path.read_bytes().decode("cp1252")
    after = re.split(r"\nDATA\r?\n", text.replace("\x00", ""), maxsplit=1)[1]
    info, *rows = after.strip().splitlines()
    return info.split(), np.array([[float(v) for v in row.split()] for row in rows])


def test_real_file_facts(vert):
    ds = read_vert(vert)
    info, table = _plain_table(vert)
    assert table.shape == (N_SAMPLES, 6)  # index, bias, Z, third output, current, lock-in
    assert not table[:, 2:4].any()  # the two empty columns (Z and the third output)
    # the settling hold: 20 samples at +100 mV before the ramp, dropped
    np.testing.assert_array_equal(table[:N_HOLD, 1], 100.0)
    assert ds.attrs["n_settling_points"] == N_HOLD
    assert ds.sizes == {"spectrum": 1, "bias": N_SAMPLES - N_HOLD}
    np.testing.assert_allclose(ds["bias"].values, table[N_HOLD:, 1])
    assert ds["bias"].attrs["units"] == "mV"
    # the ramp is the header's Vpoint table: t = 0, 20, 512 at 100, 100, -100 mV
    np.testing.assert_array_equal(ds.attrs["vpoints_t"], [0, 20, 512])
    np.testing.assert_array_equal(ds.attrs["vpoints_mV"], [100, 100, -100])
    ramp = np.interp(np.arange(N_HOLD + 1, N_SAMPLES + 1), [0, 20, 512], [100, 100, -100])
    np.testing.assert_allclose(ds["bias"].values, ramp, atol=1e-4)
    assert ds["bias"].values[-1] == -100.0
    # channels by the mask Vertchannelselectval = 3: current then lock-in X, in ADC counts
    assert list(ds.data_vars) == ["Current", "Lock-in X"]
    np.testing.assert_array_equal(ds["Current"].values[0], table[N_HOLD:, 4])
    np.testing.assert_array_equal(ds["Lock-in X"].values[0], table[N_HOLD:, 5])
    assert ds["Current"].dims == ("spectrum", "bias")
    assert ds["Current"].attrs["units"] == "ADC" and ds["Current"].attrs["long_name"]
    assert ds.attrs["empty_channels"] == "" and ds.attrs["z_ramp"] == "none"
    assert ds.attrs["geometry"] == "points" and ds.attrs["source"] == str(vert)
    assert ds.attrs["setpoint_bias_mV"] == pytest.approx(100.8)
    assert ds.attrs["setpoint_current_A"] == pytest.approx(1.58e-9)
    assert str(ds["file"].values[0]) == vert.name


def test_real_file_physics(vert):
    """The channel named Current is the tunnelling current: it crosses zero at zero bias and,
    near the set-point bias, reads the set-point current in 20-bit ADC counts (10 V range,
    preamplifier gain 10^9 V/A); the lock-in dI/dV is positive."""
    ds = read_vert(vert)
    bias, current = ds["bias"].values, ds["Current"].values[0]
    crossing = bias[np.flatnonzero(np.diff(np.sign(current)))]
    assert crossing.size == 1 and abs(crossing[0]) < 5.0  # mV
    counts_per_volt = 2**19 / 10.0
    setpoint_counts = ds.attrs["setpoint_current_A"] * 1e9 * counts_per_volt
    assert current[0] == pytest.approx(setpoint_counts, rel=0.1)
    assert (ds["Lock-in X"].values > 0).mean() > 0.95


def test_real_position_from_dac_units(vert):
    """-(OffsetX - VertSpecPosX) DAC units x (Length x[A] / (Num.X x Delta X)) / 10 nm, and
    Createc's own nm values on the info line, agree."""
    ds = read_vert(vert)
    per_dac_nm = 101.5783 / (512 * 21) / 10.0
    assert ds["x"].values[0] == pytest.approx(-(252045.8 - -3664) * per_dac_nm, abs=1e-6)
    assert ds["y"].values[0] == pytest.approx(-(74550.1 - 1935) * per_dac_nm, abs=1e-6)
    assert ds["x"].values[0] == pytest.approx(-241.57892, abs=0.01)  # the info line, nm
    assert ds["y"].values[0] == pytest.approx(-68.60229, abs=0.01)
    assert ds["x"].attrs["units"] == "nm"


def test_registry_and_netcdf(vert, tmp_path):
    assert detect_format(vert).name == "Createc vertical spectroscopy"
    read_vert(vert).to_netcdf(tmp_path / "vert.nc")  # the attrs are netCDF-storable


def test_cut_inside_the_table_keeps_the_bias_axis(vert, tmp_path):
    data = vert.read_bytes()
    cut = tmp_path / vert.name
    cut.write_bytes(data[: int(len(data) * 0.9)])
    with pytest.warns(UserWarning, match=re.escape(str(cut))):
        ds = read_vert(cut)
    full = read_vert(vert)
    np.testing.assert_allclose(ds["bias"].values, full["bias"].values, atol=1e-4)
    current = ds["Current"].values[0]
    n_read = int(np.isfinite(current).sum())
    assert 300 < n_read < N_SAMPLES - N_HOLD and np.isnan(current[n_read:]).all()
    np.testing.assert_array_equal(current[:n_read], full["Current"].values[0][:n_read])
    with pytest.raises(FormatError, match="cut short"):
        read_vert(cut, strict=True)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (b"\t-2.19512E+01\t", b"\t-2.19512E+91\t", "beyond"),  # a flipped exponent digit
        (b"\t-2.19512E+01\t", b"\t 2.19512E+01\t", "not monotonic"),  # a flipped sign
        (b"\t-2.19512E+01\t", b"\t-2.195\x912E+01\t", "not 6 numbers"),  # a damaged byte
        (b"     512   -3664", b"2147483647   -3664", "declares"),  # the sample count
        (b"\nDATA\r\n", b"\nDAT@\r\n", "no DATA line"),
        (b"300\t", b"301\t", "index column"),
    ],
)
def test_damaged_copies(vert, tmp_path, old, new, match):
    data = vert.read_bytes()
    assert data.count(old) == 1
    damaged = tmp_path / vert.name
    damaged.write_bytes(data.replace(old, new))
    with pytest.raises(FormatError, match=match) as error:
        read_vert(damaged)
    assert str(damaged) in str(error.value)


def test_fuzz_outcomes_are_a_dataset_or_a_format_error_naming_the_file(vert):
    other = real_file("points/rhk_points_stripes_HOPG.sm4")
    results = run_cases("stswidgets.io.createc.vert:read_vert", vert, other, seed=7)
    bad = [r for r in results if r["outcome"] not in ("dataset", "FormatError")]
    unnamed = [r for r in results if r["outcome"] == "FormatError" and not r["names_file"]]
    silent = [  # a copy cut short is never read silently (one byte short: the last "\n")
        r for r in results if r["kind"] == "truncate" and r["outcome"] == "dataset"
        and not r["names_file"] and r["name"] != "one byte short"
    ]  # fmt: skip
    print(Counter((r["kind"], r["outcome"]) for r in results))
    assert len(results) > 30
    assert not bad and not unnamed and not silent, bad + unnamed + silent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_vert(vert)  # the intact file reads without a warning


def test_line_series_through_open_spectra(vert, tmp_path):
    """Copies L0001, L0002, L0010 with the tip 500 DAC units further along x each: one line
    ordered by the file number (not by name), distances 500 DAC x the calibration."""
    import stswidgets

    data = vert.read_bytes()
    for k, number in enumerate((10, 1, 2)):  # written out of order
        position = f"     512   {-3664 + 500 * (2, 0, 1)[k]}    1935".encode()
        name = f"Createc2_210811.113827.L{number:04d}.VERT"
        (tmp_path / name).write_bytes(data.replace(b"     512   -3664    1935", position))
    line = stswidgets.open_spectra(tmp_path)
    assert line.attrs["geometry"] == "line" and line.sizes == {"spectrum": 3, "bias": 492}
    assert [Path(f).name[-10:] for f in line["file"].values] == [
        "L0001.VERT", "L0002.VERT", "L0010.VERT"
    ]  # fmt: skip
    per_dac_nm = 101.5783 / (512 * 21) / 10.0
    np.testing.assert_allclose(line["distance"].values, [0, 500 * per_dac_nm, 1000 * per_dac_nm])
    np.testing.assert_allclose(line["y"].values, line["y"].values[0])
    assert line["bias"].values[0] == -100.0  # the public array: mV ascending
    single = stswidgets.open_spectra(vert)
    np.testing.assert_allclose(line.values[0], single.values[0])
