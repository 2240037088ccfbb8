"""Follow a Nanonis grid while it is measured: :func:`follow` and :class:`GridFollower`.

Nanonis writes a ``.3ds`` file pixel by pixel. A :class:`GridFollower` keeps the file offset it
has read up to and, at each :meth:`~GridFollower.refresh`, reads only the bytes added since, so
following a grid of hours costs a read of each byte once. Bytes of a pixel not complete yet wait
for the rest; the grid so far is what :func:`stswidgets.io.open_grid` gives on a copy of the file
at that size (NaN where not yet measured), and once the file is complete it is ``open_grid`` of
the finished file.

The lock-in phase on a partial grid
-----------------------------------
With ``channel=None`` the default signal is chosen, and a lock-in pair's phase fitted, exactly as
``open_grid`` does, on the spectra measured so far, again at every refresh that brings new
spectra. The phase therefore settles as the grid fills (it is rounded to 0.01 deg); while it
moves, every spectrum already shown changes a little. :attr:`GridFollower.rebased` says when
that happened (or when a pixel moved on the map: the x/y axes are fitted to the recorded tip
positions and a serpentine scan is recognised from its second line): then
:attr:`~GridFollower.last_added` holds *all* measured spectra, so that an incremental consumer
(a pair histogram) starts again from them. A channel read as recorded (``channel="LockinX"``, a
``dI/dV`` channel) never rebases its values.

Examples
--------
>>> follower = follow("grid.3ds")  # doctest: +SKIP
>>> hist = PairHistogram(bins=200, range=(0, 5))  # doctest: +SKIP
>>> hist.add(follower.last_added)  # doctest: +SKIP
>>> while not follower.complete:  # doctest: +SKIP
...     time.sleep(10)
...     if follower.refresh():
...         if follower.rebased:
...             hist = PairHistogram(bins=200, range=(0, 5))
...         hist.add(follower.last_added)
"""

from __future__ import annotations

import re
import threading
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.nanonis import reader as nanonis
from stswidgets.io.nanonis.header import HEADER_END, parse_header
from stswidgets.io.nanonis.pixels import PixelStore
from stswidgets.io.open import open_grid

__all__ = ["GridFollower", "follow"]


class GridFollower:
    """A Nanonis ``.3ds`` grid still being measured, read as the file grows.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.3ds`` file Nanonis is writing (or any ``.3ds`` file).
    channel : str, optional
        As for :func:`stswidgets.io.open_grid`; None chooses the dI/dV as ``open_grid`` does,
        on the spectra measured so far (see the module docstring for the lock-in phase).

    Attributes
    ----------
    grid : xarray.DataArray, dims ``("y", "x", "bias")``, or None
        The grid so far, as ``open_grid`` gives it on a copy of the file at the size read
        (NaN where not yet measured); None until the first spectrum is complete.
    n_complete : int
        Complete spectra (pixels) read so far.
    n_pixels : int
        Pixels of the whole grid (``nx * ny`` of the header); 0 until the header is written.
    last_added : numpy.ndarray, float32, shape ``(k, n_bias)``
        The spectra the last read (construction or :meth:`refresh`) added, as rows of
        :attr:`grid` (bias ascending, in mV), in the row-major order of :attr:`new_pixels`;
        all measured spectra when :attr:`rebased`.
    new_pixels : numpy.ndarray, int64, shape ``(k,)``
        Flat (row-major ``(y, x)``) indices into :attr:`grid` of the rows of :attr:`last_added`.
    rebased : bool
        True when the last read changed spectra read before (the lock-in phase or the default
        channel moved) or moved them on the map; then :attr:`last_added` holds them all.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    FormatError
        A file that is not a Nanonis grid, or whose data show damage (as :func:`read_3ds`);
        also from :meth:`refresh` when the file shrinks (replaced by another one).
    """

    def __init__(self, path: str | Path, channel: str | None = None):
        self.path = Path(path)
        self.channel = channel
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path} does not exist")
        self.grid: xr.DataArray | None = None
        self.n_complete = 0
        self.last_added = np.zeros((0, 0), dtype=np.float32)
        self.new_pixels = np.zeros(0, dtype=np.int64)
        self.rebased = False
        self._head = b""  # the header while it is incomplete
        self._header: dict | None = None
        self._layout = None
        self._store: PixelStore | None = None
        self._offset = 0  # bytes of the file read so far
        self._lock = threading.Lock()
        self._warned: set[str] = set()
        self.refresh()

    def __repr__(self) -> str:
        return f"GridFollower({str(self.path)!r}: {self.n_complete} of {self.n_pixels} spectra)"

    @property
    def n_pixels(self) -> int:
        return 0 if self._store is None else self._store.n_pixels

    @property
    def complete(self) -> bool:
        """Whether every pixel of the grid has been read."""
        return self._store is not None and self.n_complete == self._store.n_pixels

    @property
    def valid(self) -> xr.DataArray | None:
        """bool ``(y, x)``, True where :attr:`grid` holds a complete spectrum (None before)."""
        if self.grid is None:
            return None
        valid = np.isfinite(self.grid.values).all(axis=-1)
        coords = {dim: self.grid.coords[dim] for dim in ("y", "x")}
        return xr.DataArray(valid, dims=("y", "x"), coords=coords, name="valid")

    def refresh(self) -> int:
        """Read the bytes added to the file since the last read.

        Returns
        -------
        int
            How many spectra these bytes completed (0: nothing new; :attr:`grid`,
            :attr:`last_added` and :attr:`new_pixels` are then unchanged or empty).
        """
        with self._lock:
            size = self.path.stat().st_size
            if size < self._offset:
                raise FormatError(
                    f"{self.path}: the file shrank from {self._offset} to {size} bytes since the "
                    "last read; it is no longer the grid being followed (follow it anew)"
                )
            with open(self.path, "rb") as file:
                file.seek(self._offset)
                chunk = file.read()
            self._offset += len(chunk)
            self.last_added = np.zeros((0, self.last_added.shape[1]), dtype=np.float32)
            self.new_pixels = np.zeros(0, dtype=np.int64)
            self.rebased = False
            if self._store is None:
                chunk = self._start(chunk)
                if self._store is None:
                    return 0
            n_new = self._store.feed(chunk)
            self.n_complete = self._store.n_done
            if n_new:
                self._update_grid()
            return n_new

    def _start(self, chunk: bytes) -> bytes:
        """Take header bytes; once the header is complete, set up the store and return the
        payload bytes that came with it."""
        head = self._head + chunk
        end = head.find(HEADER_END)
        after = head[end + len(HEADER_END) : end + len(HEADER_END) + 3]
        if end < 0 or (b"\n" not in after and len(after) < 3):  # header still being written
            if len(head) >= 16 and not nanonis.looks_like(head[:16]):
                raise FormatError(f"{self.path}: not a Nanonis grid file (no 'Grid dim=' first)")
            self._head = head
            return b""
        self._head = b""
        self._header, offset = parse_header(head, self.path)
        self._layout = nanonis._layout(
            self._header, self.path, len(head), _rules.FOLLOW_ALLOCATION_FLOOR
        )
        self._store = PixelStore(
            self._layout,
            self._header,
            self.path,
            line_end=nanonis.header_line_end(head, offset),
        )
        return head[offset:]

    def _update_grid(self) -> None:
        """The grid as open_grid gives it now, and what changed against the previous one."""
        dataset = nanonis.pixels_dataset(self._header, self._layout, self._store, self.path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            grid = open_grid(dataset, channel=self.channel)
        for warning in caught:  # once per kind of message, not at every refresh
            key = re.sub(r"-?\d[\d.eE+-]*", "#", str(warning.message))
            if key not in self._warned:
                self._warned.add(key)
                warnings.warn(warning.message, stacklevel=3)
        n_bias = grid.sizes["bias"]
        values = grid.values.reshape(-1, n_bias)
        valid = np.isfinite(values).all(axis=-1)
        new = valid
        previous = self.grid
        if previous is not None:
            old = previous.values.reshape(-1, n_bias)
            old_valid = np.isfinite(old).all(axis=-1)
            kept = (
                old.shape == values.shape
                and not np.any(old_valid & ~valid)
                and np.array_equal(old[old_valid], values[old_valid])
            )
            self.rebased = not kept
            if kept:
                new = valid & ~old_valid
        self.grid = grid
        self.new_pixels = np.flatnonzero(new)
        self.last_added = values[new].astype(np.float32, copy=False)


def follow(path: str | Path, channel: str | None = None) -> GridFollower:
    """Follow the Nanonis grid file ``path`` while it is measured.

    Reads what is in the file now; call :meth:`GridFollower.refresh` to read what is added.
    See :class:`GridFollower` (parameters, attributes) and the module docstring.

    Examples
    --------
    >>> follower = stswidgets.follow("Grid Spectroscopy002.3ds")  # doctest: +SKIP
    >>> follower.refresh()  # doctest: +SKIP
    12
    >>> follower.grid  # doctest: +SKIP
    """
    return GridFollower(path, channel=channel)
