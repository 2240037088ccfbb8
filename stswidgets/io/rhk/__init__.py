"""RHK SM4 files: :func:`read_sm4` (:mod:`~stswidgets.io.rhk.reader`) on the binary page
structure of :mod:`~stswidgets.io.rhk.layout`."""

from __future__ import annotations

from stswidgets.io.rhk.reader import looks_like, read_sm4

__all__ = ["looks_like", "read_sm4"]
