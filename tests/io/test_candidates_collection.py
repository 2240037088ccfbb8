"""channel_candidates on spectra that are not on a grid (issue 20): a Nanonis .dat series (a
folder, a glob, a list of files) and an RHK file of point spectra, as notebook 01 shows them.

The series' means are checked against the .dat tables parsed here by hand; the default is
checked against what ``open_spectra`` reads.
"""

from __future__ import annotations

import numpy as np
import pytest
from nanonis_files import REAL_DIR, real_file

from stswidgets import open_spectra
from stswidgets.io import FormatError, channel_candidates

SERIES = "points/nanonis_series"
RHK_POINTS = "points/rhk_points_stripes_HOPG.sm4"


def real_folder(name: str):
    """A folder of real files (a series), or skip where the real-data folder is absent."""
    path = REAL_DIR / name
    if not path.is_dir():
        pytest.skip(f"real series {name} not found in {REAL_DIR} (development setup only)")
    return path


def dat_column(path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Bias (mV) and the column ``name`` of a Nanonis .dat file, from its [DATA] table."""
    lines = path.read_text().splitlines()
    start = lines.index("[DATA]") + 1
    header = lines[start].split("\t")
    table = np.array([[float(v) for v in row.split("\t")] for row in lines[start + 1 :] if row])
    return 1e3 * table[:, header.index("Bias calc (V)")], table[:, header.index(name)]


def smoothed_derivative(current: np.ndarray, bias_mV: np.ndarray) -> np.ndarray:
    """The reference as documented: current smoothed by [1, 2, 1] / 4, then np.gradient."""
    padded = np.concatenate([current[:1], current, current[-1:]])
    smooth = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4
    return np.gradient(smooth, bias_mV / 1e3)


def test_series_folder_lists_its_channels_and_reads_the_current_derivative():
    folder = real_folder(SERIES)
    files = sorted(folder.glob("*.dat"))
    candidates = channel_candidates(folder)
    assert candidates.attrs["source"] == str(folder)
    assert candidates.attrs["reference"] == "Current [AVG] (A)"
    assert candidates.sizes["bias"] == 200
    kinds = list(candidates["kind"].values)
    # no lock-in column in the files: no dI/dV, lock-in or auxiliary lock-in candidate
    assert not {"dI/dV", "lock-in", "in-phase", "auxiliary lock-in"} & set(kinds)
    chosen = candidates["candidate"].values[candidates["chosen"].values]
    assert list(chosen) == ["numerical dI/dV of Current [AVG] (A)"]
    # the default is what open_spectra reads on the same folder
    spectra = open_spectra(folder)
    assert spectra.attrs["channel"] == "d(Current [AVG] (A))/dV"
    # mean over the 8 files of the smoothed derivative, from the tables parsed here
    derivatives = []
    for path in files:
        bias_mV, current = dat_column(path, "Current [AVG] (A)")
        order = np.argsort(bias_mV)  # swept +2 V -> -2 V
        derivatives.append(smoothed_derivative(current[order], bias_mV[order]))
    row = candidates.sel(candidate="numerical dI/dV of Current [AVG] (A)")
    np.testing.assert_allclose(candidates["bias"].values, np.sort(bias_mV), atol=1e-6)
    np.testing.assert_allclose(row["mean"].values, np.mean(derivatives, axis=0), rtol=1e-4)
    # an input's mean is its column's mean over the files
    inputs = [label for label in candidates["candidate"].values if label == "Input 6 [AVG] (V)"]
    assert inputs, "Input 6 [AVG] (V) missing from the candidates"
    columns = [dat_column(path, "Input 6 [AVG] (V)") for path in files]
    expected = np.mean([values[np.argsort(bias)] for bias, values in columns], axis=0)
    np.testing.assert_allclose(
        candidates.sel(candidate=inputs[0])["mean"].values, expected, rtol=1e-5, atol=1e-12
    )


def test_a_glob_and_a_list_of_the_series_give_the_folders_candidates():
    folder = real_folder(SERIES)
    files = sorted(folder.glob("*.dat"))
    by_folder = channel_candidates(folder)
    by_glob = channel_candidates(str(folder / "Bias-Spectroscopy*.dat"))
    by_list = channel_candidates([str(f) for f in reversed(files)])  # ordered by number
    for other in (by_glob, by_list):
        assert list(other["candidate"].values) == list(by_folder["candidate"].values)
        np.testing.assert_allclose(other["mean"].values, by_folder["mean"].values, equal_nan=True)
    # one file: its own spectrum only, which differs from the series' mean
    single = channel_candidates(files[0])
    reference = "numerical dI/dV of Current [AVG] (A)"
    assert not np.allclose(
        single.sel(candidate=reference)["mean"], by_folder.sel(candidate=reference)["mean"]
    )


def test_rhk_point_file_offers_its_lockin_and_chooses_it():
    path = real_file(RHK_POINTS)
    candidates = channel_candidates(path)
    kinds = dict(zip(candidates["candidate"].values, candidates["kind"].values, strict=True))
    assert kinds == {
        "LIA Current": "lock-in",
        "Current": "current",
        "numerical dI/dV of Current": "numerical dI/dV",
    }
    chosen = candidates["candidate"].values[candidates["chosen"].values]
    assert list(chosen) == ["LIA Current"]
    spectra = open_spectra(path)
    assert spectra.attrs["channel"] == "LIA Current"
    row = candidates.sel(candidate="LIA Current")
    # the mean over the 6 complete repeats, and the agreement open_spectra records
    np.testing.assert_allclose(row["mean"].values, spectra.mean("spectrum").values, rtol=1e-6)
    assert float(row["agreement"]) == pytest.approx(spectra.attrs["channel_agreement"], abs=1e-6)


def test_a_folder_without_spectroscopy_files_names_itself(tmp_path):
    (tmp_path / "README.txt").write_text("no data here\n")
    with pytest.raises(FormatError, match=str(tmp_path)):
        channel_candidates(tmp_path)
    with pytest.raises(FileNotFoundError, match="no file matches"):
        channel_candidates(str(tmp_path / "*.dat"))


def test_rhk_lockin_agrees_on_the_smoothed_means_though_not_spectrum_by_spectrum():
    from scipy.ndimage import gaussian_filter1d

    candidates = channel_candidates(real_file(RHK_POINTS))
    bias_mV = candidates["bias"].values
    lockin = candidates.sel(candidate="LIA Current")
    current = candidates.sel(candidate="Current")["mean"].values
    # the derivative is linear: the mean of the derivatives is the derivative of the mean
    sigma = max(2.0, bias_mV.size / 100)
    shapes = [
        gaussian_filter1d(values, sigma, mode="nearest")
        for values in (lockin["mean"].values, smoothed_derivative(current, bias_mV))
    ]
    expected = np.corrcoef(*shapes)[0, 1]
    assert float(lockin["agreement"]) < 0.5 < expected  # noisy derivative, same shape
    assert float(lockin["mean_agreement"]) == pytest.approx(expected, abs=1e-6)
    # not compared for the current and the reference itself
    others = candidates.sel(candidate=["Current", "numerical dI/dV of Current"])
    assert np.isnan(others["mean_agreement"].values).all()
