"""The rules every reader shares (stswidgets.io._rules), and the damaged files of issue 18 that
they turn into a FormatError or a warning naming the file."""

from __future__ import annotations

import struct
import warnings
import zipfile

import numpy as np
import pytest
from createc_files import iv_spectra, ramp, specgrid_bytes
from ibw_files import ibw5
from nanonis_files import GRID_30, header_lines, pixel_block, raw_3ds, real_file
from rhk_files import SpecPage, write_sm4

from stswidgets.io import FormatError, follow, open_grid, read_3ds
from stswidgets.io._rules import (
    SIGNAL_ZERO_FRACTION,
    check_allocation,
    check_sweep,
    measured_points,
)
from stswidgets.io.createc import read_specgrid
from stswidgets.io.omicron import read_ibw
from stswidgets.io.rhk import read_sm4

N = 64  # points per spectrum


def _spectra(n: int = 10, seed: int = 0) -> np.ndarray:
    """Spectra that are never exactly zero."""
    return np.random.default_rng(seed).uniform(1.0, 2.0, (n, N))


def test_complete_spectra_keep_every_point():
    found = measured_points([_spectra(), _spectra(seed=1)])
    assert (found.points == N).all() and found.zero_cut == found.signal_zeros == 0


def test_first_nan_in_any_channel_ends_the_spectrum():
    current, lockin = _spectra(), _spectra(seed=1)
    lockin[3, 40] = np.nan
    current[5, 10:] = np.nan
    points = measured_points([current, lockin]).points
    np.testing.assert_array_equal(points, [N, N, N, 40, N, 10, N, N, N, N])


def test_zero_tail_in_every_channel_is_an_abort_but_a_single_zero_is_data():
    current, lockin = _spectra(), _spectra(seed=1)
    current[2, 50:], lockin[2, 50:] = 0, 0  # aborted at point 50
    current[4, -1], lockin[4, -1] = 0, 0  # one zero: a measured value
    current[6, :], lockin[6, :] = 0, 0  # never measured
    found = measured_points([current, lockin])
    np.testing.assert_array_equal(found.points[[2, 4, 6]], [50, N, 0])
    assert found.zero_cut == 1


def test_short_zero_tail_shared_by_most_spectra_is_a_signal_a_long_one_is_not():
    current = _spectra()
    allowance = int(SIGNAL_ZERO_FRACTION * N)  # 4 of 64 points
    current[:, -allowance:] = 0  # a current below one digitiser step at the end of the sweep
    found = measured_points([current])
    assert (found.points == N).all() and found.signal_zeros == allowance
    current[:, -N // 4 :] = 0  # the last quarter of every spectrum zeroed: damage
    found = measured_points([current])
    assert (found.points == N - N // 4).all() and found.zero_cut == 10
    assert "10 end in a run of zeros" in found.note(N)


def test_long_zero_tail_in_one_channel_alone_is_cut_unless_most_spectra_share_it():
    current, lockin = _spectra(), _spectra(seed=1)
    lockin[7, 30:] = 0  # bytes of one channel lost while the current goes on
    found = measured_points([current, lockin])
    assert found.points[7] == 30 and found.channel_cut == 1
    assert (np.delete(found.points, 7) == N).all()
    current[:, 40:] = 0  # a current at zero in a gap, in every spectrum: a signal
    assert measured_points([current, _spectra(seed=1)]).points.tolist() == [N] * 10


def test_a_run_at_the_start_is_read_from_the_other_end():
    current = _spectra()
    current[1, :5] = 0
    assert measured_points([current], from_start=True).points[1] == N - 5


def test_allocation_and_sweep_checks_name_the_file():
    check_allocation("f.3ds", 100 << 20, 1000, "a grid")  # under the floor
    with pytest.raises(FormatError, match=r"f\.3ds: the header declares a grid"):
        check_allocation("f.3ds", 6 << 30, 50_000, "a grid")
    check_sweep("f", np.linspace(-1, 1, 5), "V")
    for values, problem in (
        ([0.0, np.nan, 1.0], "NaN"),
        ([-4.7e13, 0.0, 10.6], "beyond"),
        ([1.0, 1.0, 1.0], "constant"),
    ):
        with pytest.raises(FormatError, match=rf"^f: .*{problem}"):
            check_sweep("f", values, "mV")
    with pytest.raises(FormatError, match="not monotonic"):
        check_sweep("f", [0.0, 1.0, 0.5, 2.0], "mV", monotonic=True)


def _nanonis(tmp_path, name="g.3ds", **edits):
    header = [(key, edits.get(key, value)) for key, value in header_lines(3, 2, 5, ["I (A)"])]
    n_experiment = int(edits.get("# Parameters (4 byte)", "5")) - 2
    n_experiment = n_experiment if n_experiment < 10 else 3
    rows, cols, pts = np.indices((2, 3, 5))
    pixels = pixel_block(2, 3, (-1.0, 1.0), [1.0 + pts], n_experiment)
    return raw_3ds(tmp_path / name, header, pixels)


def test_nanonis_huge_parameter_count_is_refused_at_once(tmp_path):
    path = _nanonis(tmp_path, **{"# Parameters (4 byte)": "2147483647"})
    with pytest.raises(FormatError, match=r"g\.3ds: header entry '# Parameters"):
        read_3ds(path)


def test_nanonis_grid_dim_far_beyond_the_file_is_refused_by_open_grid_and_follow(tmp_path):
    """153 MiB of grid on a 1 kB file: refused by open_grid; follow, which starts on a file of
    a few pixels, allows up to 1 GiB and refuses a 20000 x 20000 grid (15 GiB)."""
    path = _nanonis(tmp_path, **{"Grid dim": '"2000 x 2000"'})
    assert path.stat().st_size < 50_000
    with pytest.raises(FormatError, match=r"g\.3ds: the header declares a 2000 x 2000"):
        open_grid(path)
    path = _nanonis(tmp_path, **{"Grid dim": '"20000 x 20000"'})
    with pytest.raises(FormatError, match=r"g\.3ds: the header declares a 20000 x 20000"):
        follow(path)


def test_zeroed_last_quarter_of_a_real_nanonis_grid_is_refused(tmp_path):
    """Zeroed pixels record their tip at (0, 0), far off the 5 nm frame at (84, 633) nm."""
    data = bytearray(real_file(GRID_30).read_bytes())
    data[-len(data) // 4 :] = bytes(len(data) // 4)
    path = tmp_path / "zeroed.3ds"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"zeroed\.3ds: pixel \d+ .* far off the scan frame"):
        read_3ds(path)


def test_zeroed_pixels_without_positions_warn(tmp_path):
    path = _nanonis(tmp_path, **{"Experiment parameters": '"Z (m)"', "# Parameters (4 byte)": "3"})
    data = bytearray(path.read_bytes())
    data[-2 * 4 * (3 + 5) :] = bytes(2 * 4 * (3 + 5))  # the last two pixels zeroed
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"g\.3ds: 2 of the pixels in the file are incomplete"):
        ds = read_3ds(path)
    np.testing.assert_array_equal(ds["valid"].values, [[True] * 3, [True, False, False]])


OMICRON_NOTE = (
    "Spectroscopy points per line = {nx}, Lines per plane = 3\r"
    "Channel name and data unit: I(V) [A]\r"
)


def _cits(tmp_path, values, nx=4, **kwargs):
    n = values.shape[-1]
    kwargs.setdefault("steps", (1e-9, 1e-9, 1.0 / (n - 1)))
    return ibw5(tmp_path / "cits.ibw", values, offsets=(0, 0, -0.5),
                note=OMICRON_NOTE.format(nx=nx), **kwargs)  # fmt: skip


def test_omicron_note_claiming_99999_points_per_line_is_refused(tmp_path):
    values = np.random.default_rng(0).uniform(1, 2, (4, 3, 150)) * 1e-9
    with pytest.raises(FormatError, match=r"cits\.ibw: the header declares a grid of 99999 x 3"):
        read_ibw(_cits(tmp_path, values, nx=99999))


def test_omicron_damaged_bias_scale_is_a_format_error(tmp_path):
    values = np.random.default_rng(0).uniform(1, 2, (4, 3, 20)) * 1e-9
    for step in (0.0, np.nan, 1e30):
        path = _cits(tmp_path, values, steps=(1e-9, 1e-9, step))
        with pytest.raises(FormatError, match=r"cits\.ibw: the bias axis"):
            open_grid(path)


def test_omicron_zeroed_last_quarter_of_the_bias_planes_is_not_read_as_data(tmp_path):
    """Igor stores x fastest: the file's last quarter is the last quarter of every curve."""
    values = np.random.default_rng(0).uniform(1, 2, (4, 3, 160)) * 1e-9
    values[..., -40:] = 0
    with pytest.warns(UserWarning, match=r"cits\.ibw: 12 of 12 spectra incomplete.*zeros"):
        ds = read_ibw(_cits(tmp_path, values))
    assert not ds["valid"].values.any()


def test_createc_flipped_byte_in_the_bias_table_is_a_format_error(tmp_path):
    bias = ramp(3, 10.6, -10.6, 40)
    data = bytearray(specgrid_bytes(iv_spectra(25, bias), bias, 5, 5))
    data[1024 + 12 * 10 + 3] ^= 0x5F  # the exponent byte of one bias sample
    path = tmp_path / "flip.specgrid"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"flip\.specgrid: the sweep table's bias column"):
        read_specgrid(path)


def test_rhk_spectra_without_positions_warn_that_their_places_are_unknown(tmp_path):
    raw = np.arange(6 * 11).reshape(6, 11) + 1
    path = write_sm4(tmp_path / "points.sm4", [SpecPage("Current", raw)])
    with pytest.warns(UserWarning, match=r"points\.sm4: the file records no tip positions"):
        ds = read_sm4(path)
    assert ds.sizes["spectrum"] == 6 and ds.attrs["geometry"] == "points"
    assert np.isnan(ds["x"].values).all()


def test_rhk_real_points_file_whose_object_count_lost_the_positions_warns(tmp_path):
    """The page header's object count edited from 24 to 1 loses the page's spec-drift objects:
    the 6 sweeps at one spot would open as a line of 6 pixels without a word. The other page's
    positions keep them at their spot, and a warning names the disagreeing counts."""
    data = bytearray(real_file("points/rhk_points_stripes_HOPG.sm4").read_bytes())
    assert struct.unpack_from("<I", data, 5354)[0] == 24
    struct.pack_into("<I", data, 5354, 1)
    path = tmp_path / "count.sm4"
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match=r"count\.sm4: the spectrum pages list different"):
        ds = read_sm4(path)
    assert ds.attrs["geometry"] == "repeats" and ds.sizes["spectrum"] == 6


@pytest.mark.parametrize("suffix", [".npz", ".nc"])
def test_saved_grid_look_alikes_are_format_errors(tmp_path, suffix):
    path = tmp_path / f"fake{suffix}"
    if suffix == ".npz":
        with zipfile.ZipFile(path, "w") as archive:  # a zip whose .npy claims 72 TiB
            header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3000000, 3000000), }"
            header += b" " * (118 - len(header)) + b"\n"
            archive.writestr("didv.npy", b"\x93NUMPY\x01\x00v\x00" + header + bytes(64))
    else:
        path.write_bytes(b"CDF\x01" + bytes(range(256)) * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(FormatError, match=rf"fake\{suffix}: "):
            open_grid(path)
