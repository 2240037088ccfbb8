"""Exceptions raised by the readers and by :func:`stswidgets.io.open_grid`."""

from __future__ import annotations

__all__ = ["ChannelError", "FormatError"]


class FormatError(ValueError):
    """A file does not follow the format it claims (bad header, payload of the wrong size, ...).

    The message names the file and what was expected.
    """


class ChannelError(ValueError):
    """A requested channel does not exist (or is ambiguous); the message lists the channels."""
