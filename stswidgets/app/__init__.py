"""The app: a dashboard for people who do not code, served by Voila (``stswidgets app``).

- :class:`Dashboard`: pick a grid (a file, an upload, or the simulated one) and a channel,
  run the steps (distance statistics, projection + score, site classes) with progress bars, explore
  the results in linked explorers, download ``results.nc`` and a PNG of the maps. It also
  follows a grid still being measured (any object with ``refresh()`` and ``grid``).
- :data:`APP_NOTEBOOK`: the notebook Voila renders (it only builds a :class:`Dashboard`).
- :func:`voila_command`: the command line ``stswidgets app`` runs.

The steps themselves are :mod:`stswidgets.pipeline`'s, run with one configuration
(:func:`app_config`: the ``full`` or ``test`` profile of :data:`APP_PROFILES`).
"""

from __future__ import annotations

from stswidgets.app.dashboard import ENVIRONMENT, MIN_VALID_SPECTRA, Dashboard
from stswidgets.app.profiles import APP_PROFILES, app_config
from stswidgets.app.server import APP_NOTEBOOK, app_environment, voila_command

__all__ = [
    "APP_NOTEBOOK",
    "APP_PROFILES",
    "ENVIRONMENT",
    "MIN_VALID_SPECTRA",
    "Dashboard",
    "app_config",
    "app_environment",
    "voila_command",
]
