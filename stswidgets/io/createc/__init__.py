"""Createc spectroscopy grids (``.specgrid``): :func:`read_specgrid`
(:mod:`~stswidgets.io.createc.reader`) and the ``.specgrid.dat`` beside them
(:mod:`~stswidgets.io.createc.companion`); vertical spectroscopy (``.VERT``, one point
spectrum): :func:`read_vert` (:mod:`~stswidgets.io.createc.vert`)."""

from __future__ import annotations

from stswidgets.io.createc.reader import looks_like, read_specgrid
from stswidgets.io.createc.vert import looks_like as looks_like_vert
from stswidgets.io.createc.vert import read_vert

__all__ = ["looks_like", "looks_like_vert", "read_specgrid", "read_vert"]
