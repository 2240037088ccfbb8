"""Omicron MATRIX native files (``_0001.mtrx`` result chain, ``.I(V)_mtrx`` data files): the
real files' facts, the values checked against the raw ``ATAD`` block decoded here, the chain's
collections, and damaged copies."""

from __future__ import annotations

import re
import shutil
import struct
import warnings
from collections import Counter

import numpy as np
import pytest
from nanonis_files import REAL_DIR, real_file
from spectra_fuzz import run_cases

from stswidgets.io import FormatError, detect_format
from stswidgets.io.omicron import read_mtrx, read_mtrx_chain

STEM = "2014Sep30-111118"
RESULT = f"points/matrix/{STEM}_0001.mtrx"
POINTS = {1: 189, 2: 481, 3: 1, 4: 1421}  # samples of each run's I(V) ramp
# TFF_MultiLinear1D of the chain's I(V) channel: (Raw_1 - PreOffset) / (NeutralFactor PreFactor)
AMPERE_PER_COUNT = (0.0 + 0.01) / (6448900000000000.0 * 1.01)


@pytest.fixture
def result():
    return real_file(RESULT)


def data_file(run: int):
    return real_file(f"points/matrix/{STEM}--{run}_1.I(V)_mtrx")


def _raw_counts(path):
    """The int32 samples of a data file's ``ATAD`` block (tag, uint32 byte count, data)."""
    data = path.read_bytes()
    at = data.find(b"ATAD")
    (n_bytes,) = struct.unpack("<I", data[at + 4 : at + 8])
    return np.frombuffer(data[at + 8 : at + 8 + n_bytes], "<i4").astype(float)


@pytest.mark.parametrize("run", [1, 4])
def test_complete_curve_matches_the_raw_block(run):
    path = data_file(run)
    ds = read_mtrx(path)
    n = POINTS[run]
    assert ds.sizes == {"spectrum": 1, "bias": n}
    bias = ds["bias"].values
    assert ds["bias"].attrs["units"] == "V"
    assert bias[0] == pytest.approx(-10.0, abs=0.01) and bias[-1] == pytest.approx(10.0, abs=0.01)
    np.testing.assert_allclose(np.diff(bias), (bias[-1] - bias[0]) / (n - 1))
    raw = _raw_counts(path) * AMPERE_PER_COUNT
    assert raw.size == 2 * n  # trace then retrace, the retrace measured from +10 V down
    np.testing.assert_allclose(ds["I(V)"].values[0], raw[:n], rtol=1e-12)
    np.testing.assert_allclose(ds["I(V) [bwd]"].values[0], raw[n:][::-1], rtol=1e-12)
    assert ds["I(V)"].values[0, 0] == pytest.approx(-3e-11, rel=0.1)  # about -3e-11 A at -10 V
    assert ds["I(V)"].attrs["units"] == "A" and ds["I(V)"].dims == ("spectrum", "bias")
    # the chain's STS location, m -> nm (pm-sized offsets in this test chain)
    assert ds["x"].attrs["units"] == "nm" and np.isfinite(ds["x"].values).all()
    assert ds.attrs["geometry"] == "points" and ds.attrs["positions"].startswith("from the")
    assert ds.attrs["setpoint_current_A"] == pytest.approx(1.2e-11)
    assert int(ds["run_cycle"].values[0]) == run


def test_stopped_retrace_is_nan_where_not_measured():
    path = data_file(2)
    with pytest.warns(UserWarning, match=re.escape(f"{path}: aborted curve: the retrace stops "
                                                   "after 25 of 481 points")):  # fmt: skip
        ds = read_mtrx(path)
    raw = _raw_counts(path) * AMPERE_PER_COUNT
    back = ds["I(V) [bwd]"].values[0]
    assert np.isnan(back[:-25]).all()  # the retrace ran from +10 V down to +9 V only
    np.testing.assert_allclose(back[-25:], raw[481:][::-1], rtol=1e-12)
    assert ds["bias"].values[-25] == pytest.approx(9.0, abs=0.01)
    np.testing.assert_allclose(ds["I(V)"].values[0], raw[:481], rtol=1e-12)
    with pytest.raises(FormatError, match="retrace stops"):
        read_mtrx(path, strict=True)


def test_single_sample_curve_is_no_spectrum():
    path = data_file(3)
    with pytest.raises(FormatError, match=r"1 sample of its 481-point ramp") as error:
        read_mtrx(path)
    assert str(path) in str(error.value)


def test_time_trace_is_no_bias_sweep():
    path = real_file(f"points/matrix/{STEM}--1_1.I(t)_mtrx")
    with pytest.raises(FormatError, match="not a bias sweep"):
        read_mtrx(path)


def test_result_file_gives_one_collection_per_bias_axis(result):
    with pytest.raises(FormatError, match="3 different bias axes") as error:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the curves left out: checked below
            read_mtrx(result)
    assert str(result) in str(error.value) and "read_mtrx_chain" in str(error.value)
    with pytest.warns(UserWarning) as caught:
        collections = read_mtrx_chain(result)
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].endswith("the retrace stops after 25 of 481 points; the rest is NaN")
    assert f"{STEM}--3_1.I(V)_mtrx: the curve holds 1 sample" in messages[1]
    assert [ds.sizes["bias"] for ds in collections] == [189, 481, 1421]
    for ds, run in zip(collections, (1, 2, 4), strict=True):
        single = read_mtrx(data_file(run)) if run != 2 else None
        assert list(ds["file"].values) == [f"{STEM}--{run}_1.I(V)_mtrx"]
        if single is not None:
            np.testing.assert_array_equal(ds["I(V)"].values, single["I(V)"].values)
            np.testing.assert_array_equal(ds["x"].values, single["x"].values)
        skipped = ds.attrs["skipped_files"]
        assert f"{STEM}--3_1.I(V)_mtrx (a single sample)" in skipped
        assert skipped.count("(no bias sweep)") == 3  # the three I(t) traces
        assert ds.attrs["source"] == str(result)


def test_chain_of_one_axis_is_one_collection(result, tmp_path):
    """Copies of run 4 as runs 5 and 6 beside the chain: one collection of three spectra."""
    for source in result.parent.iterdir():
        if source.name.startswith(f"{STEM}--4_1") or source.name == result.name:
            shutil.copy(source, tmp_path)
    for run in (5, 6):  # access2thematrix finds a curve by its file name
        shutil.copy(data_file(4), tmp_path / f"{STEM}--{run}_1.I(V)_mtrx")
    ds = read_mtrx(tmp_path / result.name)
    assert ds.sizes == {"spectrum": 3, "bias": 1421}
    assert list(ds["run_cycle"].values) == [4, 5, 6]
    np.testing.assert_array_equal(ds["I(V)"].values[0], ds["I(V)"].values[2])


def test_data_file_without_its_result_chain(tmp_path):
    lonely = tmp_path / data_file(1).name
    shutil.copy(data_file(1), lonely)
    with pytest.raises(FormatError, match=f"{STEM}_0001.mtrx must be beside it") as error:
        read_mtrx(lonely)
    assert str(lonely) in str(error.value)


def test_registry_and_netcdf(result, tmp_path):
    assert detect_format(result).name == "Omicron MATRIX spectroscopy"
    assert detect_format(data_file(1)).name == "Omicron MATRIX spectroscopy"
    read_mtrx(data_file(4)).to_netcdf(tmp_path / "mtrx.nc")


def _siblings(skip: str):
    folder = REAL_DIR / "points" / "matrix"
    return [f for f in sorted(folder.iterdir()) if f.name != skip]


@pytest.mark.parametrize("run", [1, 2])
def test_fuzz_data_file(run):
    path = data_file(run)
    other = real_file("points/createc_Ag_corral_line_L0001.VERT")
    results = run_cases(
        "stswidgets.io.omicron.mtrx:read_mtrx", path, other, siblings=_siblings(path.name), seed=run
    )
    print(Counter((r["kind"], r["outcome"]) for r in results))
    bad = [r for r in results if r["outcome"] not in ("dataset", "FormatError")]
    unnamed = [r for r in results if r["outcome"] == "FormatError" and not r["names_file"]]
    assert len(results) > 30
    assert not bad and not unnamed, bad + unnamed


def test_fuzz_result_file(result):
    other = real_file("points/createc_Ag_corral_line_L0001.VERT")
    results = run_cases(
        "stswidgets.io.omicron.mtrx:read_mtrx_chain",
        result,
        other,
        siblings=_siblings(result.name),
        seed=11,
    )
    print(Counter((r["kind"], r["outcome"]) for r in results))
    bad = [r for r in results if r["outcome"] not in ("dataset", "FormatError")]
    unnamed = [r for r in results if r["outcome"] == "FormatError" and not r["names_file"]]
    assert not bad and not unnamed, bad + unnamed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(read_mtrx_chain(result)) == 3


def test_curve_through_open_spectra():
    """The public array: bias in mV ascending, the dI/dV of the current (no lock-in here)."""
    import stswidgets

    spectra = stswidgets.open_spectra(data_file(4))
    assert spectra.dims == ("spectrum", "bias") and spectra.shape == (1, 1421)
    assert spectra["bias"].values[0] == pytest.approx(-10000.9, abs=0.1)
    assert spectra.attrs["geometry"] == "points"
    current = read_mtrx(data_file(4))["I(V)"].values[0]
    slope = np.gradient(current, read_mtrx(data_file(4))["bias"].values * 1e3)  # A per mV
    middle = slice(200, 1200)
    assert np.corrcoef(spectra.values[0][middle], slope[middle])[0, 1] > 0.9


def _edit_chain(result, tmp_path, key: str, tag: bytes, value: bytes):
    """A copy of the chain in ``tmp_path`` whose every ``key`` parameter (a UTF-16 name, its
    unit, 4 bytes, then ``tag`` and the value) holds ``value``."""
    for source in result.parent.iterdir():
        shutil.copy(source, tmp_path)
    data = bytearray(result.read_bytes())
    name, n_edited = key.encode("utf-16-le"), 0
    at = data.find(name)
    while at >= 0:
        after = at + len(name)
        (n_unit,) = struct.unpack_from("<L", data, after)
        value_at = after + 4 + 2 * n_unit + 4
        if n_unit < 16 and data[value_at : value_at + 4] == tag:
            data[value_at + 4 : value_at + 4 + len(value)] = value
            n_edited += 1
        at = data.find(name, at + 1)
    assert n_edited
    (tmp_path / result.name).write_bytes(bytes(data))
    return tmp_path / f"{STEM}--1_1.I(V)_mtrx"


def test_damaged_ramp_in_the_chain(result, tmp_path):
    huge = _edit_chain(result, tmp_path, "Device_1_Points", b"GNOL", struct.pack("<l", 2**31 - 1))
    with pytest.raises(FormatError, match="2147483647 points") as error:
        read_mtrx(huge)  # refused before access2thematrix allocates the ramp
    assert str(huge) in str(error.value)
    beyond = _edit_chain(result, tmp_path, "Device_1_Start", b"BUOD", struct.pack("<d", 1e6))
    with pytest.raises(FormatError, match="beyond") as error:
        read_mtrx(beyond)
    assert str(beyond) in str(error.value)
