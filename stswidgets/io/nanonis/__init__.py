"""Nanonis grid spectroscopy (``.3ds``): the reader, its header and payload, the writer, and
following a grid while it is measured.

- :mod:`~stswidgets.io.nanonis.reader`: :func:`read_3ds` (the file format is described there);
- :mod:`~stswidgets.io.nanonis.dat`: :func:`read_dat`, bias spectroscopy ``.dat`` (spectra at
  one spot, not on a grid);
- :mod:`~stswidgets.io.nanonis.header`: the ``key=value`` text header;
- :mod:`~stswidgets.io.nanonis.pixels`: the binary payload, pixel by pixel as it arrives;
- :mod:`~stswidgets.io.nanonis.write`: :func:`write_3ds`;
- :mod:`~stswidgets.io.nanonis.follow`: :func:`follow` (:class:`GridFollower`).
"""

from __future__ import annotations

from stswidgets.io.nanonis.dat import looks_like as looks_like_dat
from stswidgets.io.nanonis.dat import read_dat
from stswidgets.io.nanonis.reader import looks_like, read_3ds

__all__ = ["looks_like", "looks_like_dat", "read_3ds", "read_dat"]
