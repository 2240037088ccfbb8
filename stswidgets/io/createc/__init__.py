"""Createc spectroscopy grids (``.specgrid``): :func:`read_specgrid`
(:mod:`~stswidgets.io.createc.reader`) and the ``.specgrid.dat`` beside them
(:mod:`~stswidgets.io.createc.companion`)."""

from __future__ import annotations

from stswidgets.io.createc.reader import looks_like, read_specgrid

__all__ = ["looks_like", "read_specgrid"]
