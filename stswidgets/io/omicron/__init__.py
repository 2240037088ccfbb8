"""Omicron MATRIX spectroscopy exported as Igor binary waves (``.ibw``): :func:`read_ibw`
(:mod:`~stswidgets.io.omicron.reader`); MATRIX native files (``_0001.mtrx`` result chain and
``.I(V)_mtrx`` data files): :func:`read_mtrx`, :func:`read_mtrx_chain`
(:mod:`~stswidgets.io.omicron.mtrx`)."""

from __future__ import annotations

from stswidgets.io.omicron.mtrx import looks_like as looks_like_mtrx
from stswidgets.io.omicron.mtrx import read_mtrx, read_mtrx_chain
from stswidgets.io.omicron.reader import looks_like, parse_note, read_ibw

__all__ = [
    "looks_like",
    "looks_like_mtrx",
    "parse_note",
    "read_ibw",
    "read_mtrx",
    "read_mtrx_chain",
]
