"""How ``stswidgets app`` serves the dashboard: Voila on ``app.ipynb``, configured by
environment variables that :meth:`stswidgets.app.Dashboard.from_environment` reads."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from stswidgets.app.dashboard import ENVIRONMENT
from stswidgets.app.profiles import APP_PROFILES

__all__ = ["APP_NOTEBOOK", "DEFAULT_PORT", "app_environment", "port_is_free", "voila_command"]

#: The notebook Voila renders: one cell building :class:`stswidgets.app.Dashboard`.
APP_NOTEBOOK = Path(__file__).resolve().parent / "app.ipynb"

#: Voila's own default port.
DEFAULT_PORT = 8866


def app_environment(
    source: str | Path | None = None,
    demo: bool = False,
    channel: str | None = None,
    profile: str = "full",
    seed: int = 0,
    follow: bool = False,
) -> dict[str, str]:
    """The environment variables (:data:`stswidgets.app.ENVIRONMENT`) for these choices;
    ``profile`` names one of :data:`stswidgets.app.APP_PROFILES` (``ValueError`` otherwise)."""
    if profile not in APP_PROFILES:
        raise ValueError(f"profile must be one of {sorted(APP_PROFILES)}, got {profile!r}")
    return {
        ENVIRONMENT["source"]: "" if source is None else str(source),
        ENVIRONMENT["demo"]: "1" if demo else "0",
        ENVIRONMENT["channel"]: channel or "",
        ENVIRONMENT["profile"]: profile,
        ENVIRONMENT["seed"]: str(seed),
        ENVIRONMENT["follow"]: "1" if follow else "0",
    }


def voila_command(port: int = DEFAULT_PORT, open_browser: bool = True) -> list[str]:
    """``python -m voila app.ipynb`` on 127.0.0.1:``port`` (no other port tried), code hidden.

    Voila listens on the loopback address only: from another machine, reach it through an
    SSH tunnel (``ssh -L PORT:127.0.0.1:PORT lab-computer``).
    """
    command = [
        sys.executable,
        "-m",
        "voila",
        str(APP_NOTEBOOK),
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--Voila.port_retries=0",
        "--strip_sources=True",
        "--theme=light",
    ]
    if not open_browser:
        command.append("--no-browser")
    return command


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
