"""Each step's result kept in the run folder, so a later notebook reuses what an earlier one
computed (``stswidgets run`` executes 01-07 in one folder: notebook 07 reads notebook 06's
score instead of training again).

A cached result is found by the step's name, a fingerprint of its input arrays and the config;
any change of either computes afresh. The files are pickles in ``<results_dir>/.pipeline/``,
private to one run folder (never read from elsewhere); delete the folder to recompute.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

__all__ = ["CACHE_DIR", "cached", "fingerprint", "stored"]

CACHE_DIR = ".pipeline"

T = TypeVar("T")


def fingerprint(*parts) -> str:
    """A short hex digest of arrays, strings and numbers (arrays by dtype, shape and bytes)."""
    digest = hashlib.sha1()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(repr(part).encode())
        digest.update(b"|")
    return digest.hexdigest()[:20]


def cached(step: str, compute: Callable[[], T], results_dir, *key) -> T:
    """``compute()``, or its result stored earlier for the same ``step`` and ``key``.

    Parameters
    ----------
    step : str
        Name of the step (part of the file name).
    compute : callable
        Computes the result (no arguments).
    results_dir : str, Path or None
        The run folder; None: no cache, ``compute()`` every time.
    *key
        What the result depends on: input arrays, the config, ... (see :func:`fingerprint`).
    """
    if results_dir is None:
        return compute()
    path = _path(step, results_dir, *key)
    found = stored(step, results_dir, *key)
    if found is not None:
        return found
    folder = path.parent
    result = compute()
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    with partial.open("wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return result


def _path(step: str, results_dir, *key) -> Path:
    return Path(results_dir) / CACHE_DIR / f"{step}-{fingerprint(step, *key)}.pkl"


def stored(step: str, results_dir, *key):
    """The result :func:`cached` stored for ``step`` and ``key``, or None (none stored, no
    ``results_dir``, or a damaged file, which is deleted); never computes."""
    if results_dir is None:
        return None
    path = _path(step, results_dir, *key)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception:  # a damaged or stale cache file is recomputed, never trusted
        path.unlink(missing_ok=True)
        return None
