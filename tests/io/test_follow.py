"""follow(): a .3ds file grown in steps gives, after each refresh, what open_grid gives on a copy
of the file at that size; only the added bytes are read; the new spectra come out for an
incremental consumer."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest
from nanonis_files import GRID_30, LINE_32, lockin_grid_file, payload_offset, real_file, scan_file

import stswidgets
from stswidgets.io import FormatError, GridFollower, follow, open_grid

follow_module = importlib.import_module(
    "stswidgets.io.nanonis.follow"
)  # the attribute is the function

NY, NX, N_BIAS = 12, 16, 33
PIXEL_BYTES = 4 * (4 + 3 * N_BIAS)
IGNORED_ATTRS = {"source"}  # the copy is another file


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The bytes of the finished file, written once."""
    path = lockin_grid_file(tmp_path_factory.mktemp("follow") / "full.3ds", NY, NX, N_BIAS)
    return path.read_bytes()


def _sizes(data: bytes) -> list[int]:
    """File sizes after each append: inside the first pixel, inside a float, on a pixel
    boundary, a few pixels at once, most of the grid, the whole file."""
    start = payload_offset(data)
    in_pixels = [0.5, 1.0, 1.5, 1.5 + 2 / PIXEL_BYTES, 7.0, 7.3, 40.25, 41.0, 130.6, NY * NX]
    return [start + int(round(n * PIXEL_BYTES)) for n in in_pixels]


def _open_copy(data: bytes, size: int, path, channel=None):
    path.write_bytes(data[:size])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_grid(path, channel=channel)


def _assert_same_grid(got, expected):
    assert got.dims == expected.dims and got.name == expected.name
    np.testing.assert_array_equal(got.values, expected.values)  # NaN where NaN
    for dim in got.dims:
        np.testing.assert_array_equal(got[dim].values, expected[dim].values)
        assert got[dim].attrs == expected[dim].attrs
    assert _comparable(got.attrs) == _comparable(expected.attrs)


def _comparable(attrs: dict) -> dict:
    """The attrs to compare, NaN as a string (NaN != NaN unless it is the same object)."""
    return {
        k: "nan" if isinstance(v, float) and np.isnan(v) else v
        for k, v in attrs.items()
        if k not in IGNORED_ATTRS
    }


def _append(path, data: bytes, start: int, stop: int) -> None:
    with open(path, "ab") as file:
        file.write(data[start:stop])


@pytest.mark.parametrize("channel", [None, "LockinX"])
def test_growing_file_matches_open_grid_of_a_copy_after_each_refresh(finished, tmp_path, channel):
    grown = tmp_path / "growing.3ds"
    sizes = _sizes(finished)
    grown.write_bytes(finished[: sizes[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # partial agreement warnings
        follower = follow(grown, channel=channel)
        assert follower.grid is None and follower.n_complete == 0 and follower.n_pixels == NY * NX
        phases = []
        for before, size in zip(sizes, sizes[1:], strict=False):
            _append(grown, finished, before, size)
            n_before = follower.n_complete
            n_new = follower.refresh()
            n_expected = (size - payload_offset(finished)) // PIXEL_BYTES
            assert follower.n_complete == n_expected and n_new == n_expected - n_before
            expected = _open_copy(finished, size, tmp_path / "copy.3ds", channel)
            _assert_same_grid(follower.grid, expected)
            valid = np.isfinite(expected.values).all(axis=-1)
            np.testing.assert_array_equal(follower.valid.values, valid)
            assert follower.complete == (size == len(finished))
            phases.append(follower.grid.attrs["lockin_phase_deg"])
    assert follower.complete
    _assert_same_grid(follower.grid, open_grid(tmp_path / "copy.3ds", channel=channel))
    if channel is None:  # the in-phase signal, its phase fitted on what was measured so far
        assert phases[-1] == pytest.approx(25.0, abs=0.5)
    else:
        assert np.isnan(phases).all()


@pytest.mark.parametrize("name", [GRID_30, LINE_32])
def test_real_file_grown_in_steps_matches_open_grid_of_a_copy(name, tmp_path):
    """The shared measured files, appended in cuts at 5 %, 38.5 %, 71 % (inside pixels) and
    complete: each refresh gives open_grid's grid of the copy (phase, saturation, geometry)."""
    data = real_file(name).read_bytes()
    start = payload_offset(data)
    sizes = [start + int(f * (len(data) - start)) for f in (0.05, 0.385, 0.71)] + [len(data)]
    grown = tmp_path / "growing.3ds"
    grown.write_bytes(data[: sizes[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        follower = follow(grown)
        _assert_same_grid(follower.grid, _open_copy(data, sizes[0], tmp_path / "copy.3ds"))
        for before, size in zip(sizes, sizes[1:], strict=False):
            _append(grown, data, before, size)
            assert follower.refresh() > 0
            _assert_same_grid(follower.grid, _open_copy(data, size, tmp_path / "copy.3ds"))
    assert follower.complete and bool(follower.valid.all())


def test_refresh_reads_only_the_added_bytes(finished, tmp_path, monkeypatch):
    read_sizes = []
    real_open = open

    class CountingFile:
        def __init__(self, *args):
            self.file = real_open(*args)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def seek(self, offset):
            return self.file.seek(offset)

        def read(self, *args):
            data = self.file.read(*args)
            read_sizes.append(len(data))
            return data

    monkeypatch.setattr(follow_module, "open", CountingFile, raising=False)
    grown = tmp_path / "growing.3ds"
    sizes = _sizes(finished)
    grown.write_bytes(finished[: sizes[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        follower = follow(grown)
        for before, size in zip(sizes, sizes[1:], strict=False):
            _append(grown, finished, before, size)
            follower.refresh()
        assert follower.refresh() == 0  # nothing added: nothing read
    assert read_sizes == [sizes[0]] + np.diff(sizes).tolist() + [0]
    assert sum(read_sizes) == len(finished)


@pytest.mark.parametrize("channel", [None, "LockinX"])
def test_last_added_feeds_an_incremental_consumer(finished, tmp_path, channel):
    """A consumer that keeps the spectra it was given (starting again when ``rebased``) holds
    exactly the valid rows of the grid after every refresh."""
    grown = tmp_path / "growing.3ds"
    sizes = _sizes(finished)
    grown.write_bytes(finished[: sizes[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        follower = follow(grown, channel=channel)
        kept: dict[int, np.ndarray] = {}
        n_rebased = 0
        for before, size in zip(sizes, sizes[1:], strict=False):
            _append(grown, finished, before, size)
            n_new = follower.refresh()
            if follower.rebased:
                kept, n_rebased = {}, n_rebased + 1
            else:
                assert len(follower.new_pixels) == n_new
            assert follower.last_added.shape == (len(follower.new_pixels), N_BIAS)
            assert follower.last_added.dtype == np.float32
            assert not set(follower.new_pixels) & set(kept)
            kept.update(zip(follower.new_pixels.tolist(), follower.last_added, strict=True))
            X, valid = stswidgets.to_matrix(follower.grid)
            pixels = np.flatnonzero(np.asarray(valid).ravel())
            assert sorted(kept) == pixels.tolist()
            np.testing.assert_array_equal(np.stack([kept[p] for p in pixels]), X)
    if channel is not None:  # a channel as recorded never changes spectra already read
        assert n_rebased == 0


def test_serpentine_scan_is_rebased_once_its_second_line_shows(tmp_path):
    """Until the second line has two pixels the scan looks like a raster one; then its pixels
    move on the map, ``rebased`` says so, and the grid is open_grid's of the copy."""
    full = scan_file(tmp_path / "serpentine.3ds", 3, 4, serpentine=True, size_nm=(8.0, 6.0))
    data = full.read_bytes()
    start, pixel = payload_offset(data), 4 * 7
    grown = tmp_path / "growing.3ds"
    grown.write_bytes(data[: start + 5 * pixel])  # line 0 and the first pixel of line 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        follower = follow(grown)
        assert follower.grid.attrs["scan_pattern"] == "raster"
        _append(grown, data, start + 5 * pixel, start + 6 * pixel)
        assert follower.refresh() == 1
        assert follower.grid.attrs["scan_pattern"] == "serpentine" and follower.rebased
        _assert_same_grid(follower.grid, _open_copy(data, start + 6 * pixel, tmp_path / "c.3ds"))
        # the marker channel names each pixel: 1000 row + col, at its place in raster order
        marker = follower.grid.values[..., 1]
        assert marker[1, 3] == 1003 and marker[1, 2] == 1002 and np.isnan(marker[1, 0])
        _append(grown, data, start + 6 * pixel, len(data))
        assert follower.refresh() == 6 and not follower.rebased
        np.testing.assert_array_equal(follower.new_pixels, [4, 5, 8, 9, 10, 11])


def test_header_written_in_parts_and_errors(finished, tmp_path):
    grown = tmp_path / "growing.3ds"
    grown.write_bytes(b"")
    follower = GridFollower(grown)
    assert follower.grid is None and follower.n_pixels == 0 and not follower.complete
    start = payload_offset(finished)
    for size in (20, start - 1, start + PIXEL_BYTES - 3):
        _append(grown, finished, grown.stat().st_size, size)
        assert follower.refresh() == 0
    assert follower.n_pixels == NY * NX and follower.grid is None
    _append(grown, finished, grown.stat().st_size, start + 2 * PIXEL_BYTES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert follower.refresh() == 2
    assert repr(follower).endswith("2 of 192 spectra)")
    grown.write_bytes(finished[:start])  # replaced by a shorter file
    with pytest.raises(FormatError, match=r"growing\.3ds: the file shrank"):
        follower.refresh()
    other = tmp_path / "notes.3ds"
    other.write_bytes(b"this is no grid file, just some notes")
    with pytest.raises(FormatError, match=r"notes\.3ds: not a Nanonis grid"):
        follow(other)
    with pytest.raises(FileNotFoundError, match="missing.3ds"):
        follow(tmp_path / "missing.3ds")


def test_public_names():
    assert stswidgets.follow is follow and stswidgets.GridFollower is GridFollower


@pytest.mark.parametrize("channel", [None, "LockinX"])
def test_live_pair_histogram_equals_the_histogram_from_scratch(finished, tmp_path, channel):
    """The live pair statistics of issue 13: ``PairHistogram.add(follower.last_added)`` after
    each refresh (a fresh histogram when the follower rebased) counts the same pairs as
    ``distance_histogram`` of the whole grid so far, and only the new pairs are computed."""
    from scipy.spatial.distance import pdist

    from stswidgets.analysis import PairHistogram
    from stswidgets.analysis.distances import distance_histogram

    grown = tmp_path / "growing.3ds"
    sizes = _sizes(finished)
    full = _open_copy(finished, len(finished), tmp_path / "full.3ds", channel)
    largest = pdist(stswidgets.to_matrix(full)[0].astype(float)).max()
    binning = {"bins": 64, "range": (0.0, 1.5 * largest)}
    grown.write_bytes(finished[: sizes[0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        follower = follow(grown, channel=channel)
        hist = PairHistogram(**binning)
        for before, size in zip(sizes, sizes[1:], strict=False):
            _append(grown, finished, before, size)
            follower.refresh()
            if follower.rebased:
                hist = PairHistogram(**binning)
            n_before = hist.n_spectra
            hist.add(follower.last_added)
            X = stswidgets.to_matrix(follower.grid)[0]
            assert hist.n_spectra == len(X) == n_before + len(follower.last_added)
            if len(X) < 2:  # no pair yet
                assert hist.counts.sum() == 0
                continue
            expected = distance_histogram(X, **binning, progress=False)[0]
            np.testing.assert_array_equal(hist.counts, expected)
            assert hist.counts.sum() == len(X) * (len(X) - 1) // 2
