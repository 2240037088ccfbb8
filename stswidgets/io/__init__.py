"""Instrument readers and writers, and :func:`open_grid` (file or Dataset -> grid).

- :func:`read_3ds` / :func:`write_3ds`: Nanonis grid spectroscopy files (``.3ds``); also
  ``xarray.open_dataset(path, engine="stswidgets")``.
- :func:`open_grid`: a ``.3ds``, ``.npz`` or ``.nc`` file, or a Dataset, as a
  ``(y, x, bias)`` grid of the dI/dV channel; :func:`save_grid` writes ``.npz``/``.nc``.
- :func:`channel_candidates`: every channel (and in-phase lock-in pair) with its mean spectrum
  and its agreement with the numerical dI/dV of the current (how ``open_grid`` chooses);
  :func:`absolute_positions`: the tip positions of a grid's pixels from its scan geometry;
  :func:`scan_attrs`: a grid's ``scan_*`` attrs (derived from x/y where none are recorded).
- :func:`follow`: a Nanonis grid still being measured, read as the file grows
  (:class:`GridFollower`: ``refresh()``, ``grid``, ``last_added``).
- :class:`FormatError` for damaged or unsupported files, :class:`ChannelError` for an
  unknown channel name (both subclass ``ValueError``).
"""

from __future__ import annotations

from stswidgets.io._geometry import absolute_positions, scan_attrs
from stswidgets.io.candidates import channel_candidates
from stswidgets.io.errors import ChannelError, FormatError
from stswidgets.io.follow import GridFollower, follow
from stswidgets.io.nanonis import read_3ds
from stswidgets.io.open import open_grid, save_grid
from stswidgets.io.write import write_3ds

__all__ = [
    "ChannelError",
    "FormatError",
    "GridFollower",
    "absolute_positions",
    "channel_candidates",
    "follow",
    "open_grid",
    "read_3ds",
    "save_grid",
    "scan_attrs",
    "write_3ds",
]
