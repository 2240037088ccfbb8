"""The app's profiles: which :class:`~stswidgets.pipeline.PipelineConfig` its steps run with."""

from __future__ import annotations

from stswidgets import pipeline
from stswidgets.pipeline import PipelineConfig

__all__ = ["APP_PROFILES", "app_config"]

#: The app's profiles as pipeline profiles plus overrides: ``full`` (what ``stswidgets app``
#: uses) is the pipeline's ``quick`` profile (a 64 x 64 x 256 simulated grid, each training
#: bounded at 60 s, as ``stswidgets run --quick``); ``test`` is a 24 x 24 x 64 grid and a few
#: seconds of training, for the browser test and the Binder check.
APP_PROFILES: dict[str, tuple[str, dict]] = {
    "full": ("quick", {}),
    "test": (
        "test",
        {
            "ny": 24,
            "nx": 24,
            "n_bias": 64,
            "max_time": 4.0,
            "max_epochs": 8,
            "pairs_per_epoch": 4096,
            "restarts": 0,
        },
    ),
}


def app_config(profile: str = "full", seed: int = 0) -> PipelineConfig:
    """The :class:`~stswidgets.pipeline.PipelineConfig` of the app's ``profile``
    (:data:`APP_PROFILES`) and ``seed``; an unknown profile raises ``ValueError``."""
    if profile not in APP_PROFILES:
        raise ValueError(f"profile must be one of {sorted(APP_PROFILES)}, got {profile!r}")
    name, overrides = APP_PROFILES[profile]
    return pipeline.config_for(name, seed=seed, **overrides)
