"""read_dat: Nanonis bias spectroscopy .dat files, real and written here, intact and damaged."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from fuzz_cases import cases, mutate
from nanonis_files import real_file

from stswidgets.io import FormatError, detect_format, open_grid, open_spectra
from stswidgets.io.nanonis import read_dat

SINGLE = "points/nanonis_bias_spectroscopy.dat"
SERIES = "points/nanonis_series"


def _dat_text(
    bias_V=None,
    *,
    x="1.5E-9",
    y="-2.0E-9",
    current=None,
    backward=True,
    newline="\n",
) -> str:
    """A .dat as Nanonis writes it: header, [DATA], column row, rows (sweep as given)."""
    bias_V = np.linspace(-0.1, 0.1, 21) if bias_V is None else np.asarray(bias_V)
    current = 1e-9 * np.tanh(bias_V / 0.03) if current is None else np.asarray(current)
    header = [
        "Experiment\tbias spectroscopy\t",
        "Date\t07.07.2020 15:01:50\t",
        f"X (m)\t{x}\t",
        f"Y (m)\t{y}\t",
        "Z (m)\t99.2194E-9\t",
        "Bias>Bias (V)\t0.2\t",
        "",
        "[DATA]",
    ]
    names = ["Bias calc (V)", "Current [AVG] (A)", "Current [00001] (A)", "Current (A) [filt]"]
    columns = [bias_V, current, 1.1 * current, 0.9 * current]
    if backward:
        names.append("Current [AVG] [bwd] (A)")
        columns.append(current + 1e-12)
    rows = ["\t".join(f"{v:.7E}" for v in row) + "\t" for row in np.column_stack(columns)]
    return newline.join([*header, "\t".join(names) + "\t", *rows]) + newline


def _write(tmp_path, text, name="Bias-Spectroscopy00001.dat"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_real_single_spectrum():
    path = real_file(SINGLE)
    assert detect_format(path).name == "Nanonis bias spectroscopy"
    ds = read_dat(path)
    assert ds.sizes == {"spectrum": 1, "bias": 256}
    assert len(ds.data_vars) == 24  # 25 columns less the bias
    assert ds["bias"].values[0] == pytest.approx(-2.0) and ds["bias"].values[-1] == 2.0
    assert ds["x"].values[0] == pytest.approx(1101.23) and ds["y"].values[0] == 1897.24
    assert ds["x"].attrs["units"] == "nm" and ds.attrs["geometry"] == "points"
    assert {"Current", "Current [bwd]", "Current [filt]", "Current [filt] [bwd]"} <= set(ds)
    assert ds["Current [filt] [bwd]"].attrs["channel"] == "Current [filt] [bwd] (A)"
    # an independent read of the table: the 2nd column is Current (A)
    table = np.loadtxt(path, skiprows=17, delimiter="\t", usecols=range(25))
    np.testing.assert_array_equal(ds["Current"].values[0], table[:, 1])
    np.testing.assert_array_equal(ds["Current [filt] [bwd]"].values[0], table[:, 19])
    with pytest.raises(FormatError, match="open_spectra"):
        open_grid(path)


def test_real_single_spectrum_opens_as_the_current_derivative():
    path = real_file(SINGLE)
    spectra = open_spectra(path)
    table = np.loadtxt(path, skiprows=17, delimiter="\t", usecols=(0, 1))
    expected = np.gradient(table[:, 1], table[:, 0])
    np.testing.assert_allclose(spectra.values[0], expected, rtol=1e-5, atol=1e-20)
    assert spectra.attrs["channel"] == "d(Current (A))/dV" and spectra.attrs["units"] == "A/V"


def test_real_series_is_a_line_of_eight():
    folder = real_file(SERIES + "/Bias-Spectroscopy00045.dat").parent
    spectra = open_spectra(folder)
    assert spectra.shape == (8, 200) and spectra.attrs["geometry"] == "line"
    files = [p.rsplit("/", 1)[-1] for p in spectra["file"].values]
    assert files == [f"Bias-Spectroscopy{k:05d}.dat" for k in range(45, 53)]
    np.testing.assert_allclose(spectra["x"].values[[0, -1]], [-982.428, -924.095], atol=1e-3)
    np.testing.assert_allclose(np.diff(spectra["x"].values), 8.333, atol=2e-3)
    np.testing.assert_allclose(spectra["y"].values, 612.279, atol=1e-3)
    np.testing.assert_allclose(spectra["distance"].values, spectra["x"].values + 982.428, atol=1e-3)
    # no lock-in column: the derivative of the file's own average current
    assert spectra.attrs["channel"] == "d(Current [AVG] (A))/dV"
    ds = read_dat(folder / "Bias-Spectroscopy00047.dat")
    assert ds["bias"].values[0] == 2.0 and ds["bias"].values[-1] == -2.0  # swept + -> -
    bias = ds["bias"].values[::-1]
    expected = np.gradient(ds["Current [AVG]"].values[0, ::-1], bias)
    np.testing.assert_allclose(spectra.values[2], expected, rtol=1e-5, atol=1e-20)
    single = open_spectra(folder / "Bias-Spectroscopy00047.dat", channel="Current [00002]")
    np.testing.assert_allclose(single.values[0], ds["Current [00002]"].values[0, ::-1])


def test_xarray_engine_opens_spectra():
    path = real_file(SINGLE)
    ds = xr.open_dataset(path, engine="stswidgets")
    assert ds["Current"].dims == ("spectrum", "bias") and ds.sizes["bias"] == 256


def test_written_file_both_sweep_directions(tmp_path):
    for bias in (np.linspace(-0.1, 0.1, 21), np.linspace(0.1, -0.1, 21)):
        path = _write(tmp_path, _dat_text(bias, newline="\r\n"))
        ds = read_dat(path)
        np.testing.assert_allclose(ds["bias"].values, bias, rtol=1e-6)
        assert ds.attrs["Bias>Bias (V)"] == 0.2 and ds["x"].values[0] == pytest.approx(1.5)
        spectra = open_spectra(path, channel="Current [AVG]")
        np.testing.assert_allclose(spectra["bias"].values, np.linspace(-100, 100, 21))
        np.testing.assert_allclose(
            spectra.values[0], 1e-9 * np.tanh(np.linspace(-0.1, 0.1, 21) / 0.03), rtol=1e-6
        )
        assert spectra.attrs["setpoint_bias_mV"] == pytest.approx(200.0)
        both = open_spectra(path, channel="Current [AVG]", average="direction")
        np.testing.assert_allclose(both.values[0], spectra.values[0] + 0.5e-12, rtol=1e-6)


def test_nan_tail_is_blanked_with_a_warning(tmp_path):
    current = 1e-9 * np.linspace(-1, 1, 21)
    current[15:] = np.nan
    path = _write(tmp_path, _dat_text(current=current, backward=False))
    with pytest.warns(UserWarning, match=r"Bias-Spectroscopy00001\.dat.*15 of 21 points"):
        ds = read_dat(path)
    assert np.isnan(ds["Current [00001]"].values[0, 15:]).all()
    assert np.isfinite(ds["Current [00001]"].values[0, :15]).all()
    with pytest.raises(FormatError, match="cut short"):
        read_dat(path, strict=True)


def _damaged(text: str, kind: str) -> str:
    lines = text.split("\n")
    data = lines.index("[DATA]")
    if kind == "x nan":
        return text.replace("X (m)\t1.5E-9", "X (m)\tnan")
    if kind == "column missing in a row":
        lines[data + 5] = lines[data + 5].rsplit("\t", 2)[0]
    elif kind == "extra column name":
        lines[data + 1] = lines[data + 1] + "Extra (V)\t"
    elif kind == "cut mid-line":
        return text[: text.rindex("\t", 0, len(text) - 40)]
    elif kind == "non-numeric cell":
        lines[data + 7] = lines[data + 7].replace("E", "Q", 1)
    elif kind == "bias not monotonic":
        cells = lines[data + 10].split("\t")
        cells[0] = "5.0E-1"
        lines[data + 10] = "\t".join(cells)
    elif kind == "no data tag":
        lines[data] = "[DAT"
    elif kind == "z spectroscopy":
        lines[data + 1] = lines[data + 1].replace("Bias calc (V)", "Z rel (m)")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("x nan", "warning"),
        ("cut mid-line", "warning"),
        ("column missing in a row", "error"),
        ("extra column name", "error"),
        ("non-numeric cell", "error"),
        ("bias not monotonic", "error"),
        ("no data tag", "error"),
        ("z spectroscopy", "error"),
    ],
)
def test_damaged_copies(tmp_path, kind, outcome):
    path = _write(tmp_path, _damaged(_dat_text(), kind))
    if outcome == "error":
        with pytest.raises(FormatError, match=r"Bias-Spectroscopy00001\.dat"):
            read_dat(path)
        return
    with pytest.warns(UserWarning, match=r"Bias-Spectroscopy00001\.dat"):
        ds = read_dat(path)
    with pytest.raises(FormatError, match=r"Bias-Spectroscopy00001\.dat"):
        read_dat(path, strict=True)
    if kind == "x nan":
        assert np.isnan(ds["x"].values[0]) and ds["y"].values[0] == pytest.approx(-2.0)
    else:
        assert ds.sizes["bias"] == 20  # the cut row dropped


def test_series_with_a_damaged_file_names_it(tmp_path):
    for k in range(3):
        _write(tmp_path, _dat_text(x=f"{k}E-9"), f"Bias-Spectroscopy{k + 45:05d}.dat")
    _write(tmp_path, _damaged(_dat_text(), "non-numeric cell"), "Bias-Spectroscopy00046.dat")
    with pytest.raises(FormatError, match=r"Bias-Spectroscopy00046\.dat"):
        open_spectra(tmp_path)


def test_series_with_another_bias_axis_names_it(tmp_path):
    for k in range(3):
        _write(tmp_path, _dat_text(x=f"{k}E-9"), f"Bias-Spectroscopy{k + 45:05d}.dat")
    odd = _dat_text(np.linspace(-0.2, 0.2, 21), x="3E-9")
    _write(tmp_path, odd, "Bias-Spectroscopy00048.dat")
    with pytest.raises(FormatError, match=r"Bias-Spectroscopy00048\.dat: its bias axis"):
        open_spectra(tmp_path)
    spectra = open_spectra(sorted(tmp_path.glob("*.dat"))[:3])
    assert spectra.attrs["geometry"] == "line" and spectra.sizes["spectrum"] == 3


@pytest.mark.parametrize("source", ["written", SINGLE])
def test_fuzz_gives_spectra_or_a_format_error_naming_the_file(tmp_path, source):
    """The mutations of the grid fuzz test (fuzz_cases), opened with open_spectra."""
    if source == "written":
        data = _dat_text().encode()
    else:
        data = real_file(source).read_bytes()
    other = _dat_text(np.linspace(0.3, -0.3, 9)).encode()
    outcomes = {"spectra": 0, "FormatError": 0}
    for k, mutation in enumerate(cases(data, seed=k_seed(source), other=other)):
        path = tmp_path / f"case{k}.dat"
        path.write_bytes(mutate(data, mutation, other, seed=k))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                spectra = open_spectra(path)
            except FormatError as error:
                assert str(path) in str(error), (mutation, str(error))
                outcomes["FormatError"] += 1
                continue
        assert spectra.dims == ("spectrum", "bias"), mutation
        mutated = path.read_bytes()
        if mutation[1] == "truncate" and not mutated.endswith(b"\n"):  # cut mid-line
            named = [str(w.message) for w in caught if str(path) in str(w.message)]
            assert named, (mutation, [str(w.message) for w in caught])
        outcomes["spectra"] += 1
    assert outcomes["FormatError"] > 5 and outcomes["spectra"] > 5, outcomes


def k_seed(source: str) -> int:
    return len(source)
