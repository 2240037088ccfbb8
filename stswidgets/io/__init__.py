"""Instrument readers and writers, and :func:`open_grid` (file or Dataset -> grid).

- :func:`read_3ds` / :func:`write_3ds`: Nanonis grid spectroscopy files (``.3ds``).
- :data:`FORMATS`, :func:`detect_format`, :func:`read_file`: every supported instrument format
  (Nanonis, RHK SM4, Nanosurf NID, Omicron MATRIX IBW, Createc specgrid), recognised by the
  file's content; also ``xarray.open_dataset(path, engine="stswidgets")``.
- :func:`open_grid`: any supported file, a saved ``.npz``/``.nc`` grid, a Dataset, a DataArray
  of another reader or a HyperSpy signal as a ``(y, x, bias)`` grid of the dI/dV channel;
  :func:`save_grid` writes ``.npz``/``.nc``; :func:`to_hyperspy` hands a grid to HyperSpy.
- :func:`open_spectra`: spectra that are not on a grid (points, a line, repeats at one spot;
  one file, or a series of files: a folder, a glob, a list) as ``("spectrum", "bias")``
  spectra (:mod:`stswidgets.spectra`), the channel chosen as for grids;
  :func:`open_measurement`: a grid or spectra, whichever the file holds.
- :func:`channel_candidates`: every channel (and in-phase lock-in pair) with its mean spectrum
  and its agreement with the numerical dI/dV of the current (how ``open_grid`` chooses);
  :func:`absolute_positions`: the tip positions of a grid's pixels from its scan geometry;
  :func:`scan_attrs`: a grid's ``scan_*`` attrs (derived from x/y where none are recorded).
- :func:`follow`: a Nanonis grid still being measured, read as the file grows
  (:class:`GridFollower`: ``refresh()``, ``grid``, ``last_added``).
- :class:`FormatError` for damaged or unsupported files, :class:`ChannelError` for an
  unknown channel name (both subclass ``ValueError``).

Each vendor's reader and its helpers live in one package (``nanonis/``, ``rhk/``,
``nanosurf/``, ``omicron/``, ``createc/``); the rules they all share are in
:mod:`stswidgets.io._rules`: which spectra are complete (a first NaN, no data, a run of zeros
at the end of the sweep in every channel; a zero tail shared by most spectra is a signal at
zero only up to 1/16 of the sweep), one warn-or-raise (``strict=True`` raises
:class:`FormatError`, else a warning naming the file and what was dropped), every size a header
declares checked against the file before anything is allocated, bias axes checked.

``scan_width_nm`` / ``scan_height_nm`` mean the same for every reader: the **scan frame**, as
the file records it (Nanonis ``Grid settings``, the MATRIX note's width), else the number of
pixels times the pixel pitch (the span of the pixel centres plus one pitch); NaN along an axis
of one pixel without a recorded frame, and where the file records no positions.
"""

from __future__ import annotations

from stswidgets.io._geometry import absolute_positions, scan_attrs
from stswidgets.io.candidates import channel_candidates
from stswidgets.io.collection import open_measurement, open_spectra
from stswidgets.io.errors import ChannelError, FormatError
from stswidgets.io.formats import FORMATS, detect_format, read_file
from stswidgets.io.interop import to_hyperspy
from stswidgets.io.nanonis.follow import GridFollower, follow
from stswidgets.io.nanonis.reader import read_3ds
from stswidgets.io.nanonis.write import write_3ds
from stswidgets.io.open import open_grid, save_grid

__all__ = [
    "FORMATS",
    "ChannelError",
    "FormatError",
    "GridFollower",
    "absolute_positions",
    "channel_candidates",
    "follow",
    "detect_format",
    "open_grid",
    "open_measurement",
    "open_spectra",
    "read_3ds",
    "read_file",
    "save_grid",
    "scan_attrs",
    "to_hyperspy",
    "write_3ds",
]
