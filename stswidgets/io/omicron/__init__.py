"""Omicron MATRIX spectroscopy exported as Igor binary waves (``.ibw``): :func:`read_ibw`
(:mod:`~stswidgets.io.omicron.reader`)."""

from __future__ import annotations

from stswidgets.io.omicron.reader import looks_like, parse_note, read_ibw

__all__ = ["looks_like", "parse_note", "read_ibw"]
