"""Nanosurf ``.nid`` spectroscopy files: :func:`read_nid` (:mod:`~stswidgets.io.nanosurf.reader`)
on the INI header and channel blocks of :mod:`~stswidgets.io.nanosurf.header`."""

from __future__ import annotations

from stswidgets.io.nanosurf.reader import looks_like, read_nid

__all__ = ["looks_like", "read_nid"]
