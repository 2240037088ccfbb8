"""Where the app's grid comes from: the channel choices of a file, an uploaded file."""

from __future__ import annotations

import math
import re
from pathlib import Path

__all__ = ["SIMULATED", "channel_options", "save_upload"]

#: The source choice that means the embedded simulated grid.
SIMULATED = "simulated"

#: Candidates ``open_grid(path, channel=NAME)`` cannot read by name (computed from channels).
_DERIVED_KINDS = ("in-phase", "numerical dI/dV")


def channel_options(path: str | Path) -> list[tuple[str, str | None]]:
    """``(label, channel)`` choices for a dropdown: the default (``None``) first, described
    as what :func:`stswidgets.open_grid` chooses, then each recorded channel with its kind and
    its agreement r with the numerical dI/dV of the current
    (:func:`stswidgets.io.channel_candidates`)."""
    from stswidgets.io import channel_candidates

    candidates = channel_candidates(path)
    options: list[tuple[str, str | None]] = []
    default = "default (chosen by open_grid)"
    for label, kind, chosen, agreement in zip(
        candidates["candidate"].values,
        candidates["kind"].values,
        candidates["chosen"].values,
        candidates["agreement"].values,
        strict=True,
    ):
        r = "" if math.isnan(agreement) else f", r = {agreement:.2f}"
        text = f"{label} ({kind}{r})"
        if chosen:
            default = f"default: {text}"
        if kind not in _DERIVED_KINDS:
            options.append((text, str(label)))
    return [(default, None), *options]


def save_upload(item: dict, folder: str | Path) -> Path:
    """Write one ``ipywidgets.FileUpload`` value (``name``, ``content``) into ``folder``.

    The name is reduced to its last component and safe characters, so an upload cannot write
    outside ``folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(item["name"])).name).lstrip(".")
    path = folder / (name or "upload")
    path.write_bytes(bytes(item["content"]))
    return path
