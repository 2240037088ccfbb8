"""The numbers of a line cut that :class:`~stswidgets.widgets.LineCutExplorer` shows, computed
once: the distance of each spectrum along the line, the mean spectrum of each position (spectra
repeated at one position share its column) and per-spectrum values by position."""

from __future__ import annotations

import numpy as np

from stswidgets.spectra import line_distance

__all__ = ["line_distance_label", "position_means", "values_along_line"]


def _label_of(values, fallback: str) -> str:
    """``"long name (units)"`` of a DataArray-like ``values``, else ``fallback``."""
    attrs = getattr(values, "attrs", {}) or {}
    name = attrs.get("long_name") or getattr(values, "name", None) or fallback
    units = attrs.get("units")
    return f"{name} ({units})" if units else str(name)


def _named_values(values) -> dict[str, object]:
    """``values`` as ``{label: array-like}``: a dict as given, a Dataset per variable, else one."""
    if values is None:
        return {}
    if isinstance(values, dict):
        return {str(k): v for k, v in values.items()}
    if hasattr(values, "data_vars"):  # an xarray Dataset of per-spectrum results
        return {_label_of(values[k], str(k)): values[k] for k in values.data_vars}
    return {_label_of(values, "value"): values}


def line_distance_label(spectra) -> tuple[np.ndarray, str]:
    """``(distance per spectrum, axis label)``: the ``distance`` coordinate (nm), else the
    distance from the first of the ``x``/``y`` positions, else the spectrum number."""
    for distance in (
        spectra.coords.get("distance"),
        line_distance(spectra["x"].values, spectra["y"].values) if "x" in spectra.coords else None,
    ):
        if distance is not None and np.isfinite(np.asarray(distance, dtype=float)).all():
            return np.asarray(distance, dtype=float), "distance along the line (nm)"
    return np.arange(spectra.sizes["spectrum"], dtype=float), "spectrum number"


def position_means(cube: np.ndarray, column_of: np.ndarray, n_positions: int) -> np.ndarray:
    """``(n_positions, n_bias)`` mean of the spectra ``cube`` ``(n_spectra, n_bias)`` at each
    position (``column_of``: the position of each spectrum), NaN where none was measured."""
    measured = np.isfinite(cube)
    sums = np.zeros((n_positions, cube.shape[1]))
    counts = np.zeros((n_positions, cube.shape[1]))
    np.add.at(sums, column_of, np.where(measured, cube, 0.0))
    np.add.at(counts, column_of, measured)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def values_along_line(values, complete: np.ndarray, column_of, n_positions: int) -> dict:
    """``{label: {"spectrum": (n_spectra,), "position": (n_positions,)}}`` of the named
    ``values``, each given for every spectrum or for the ``complete`` ones (NaN elsewhere)."""
    n, n_complete = complete.size, int(complete.sum())
    prepared = {}
    for label, value in _named_values(values).items():
        array = np.asarray(getattr(value, "values", value), dtype=float).ravel()
        if array.size == n:
            per_spectrum = array
        elif array.size == n_complete:
            per_spectrum = np.full(n, np.nan)
            per_spectrum[complete] = array
        else:
            raise ValueError(
                f"values {label!r} hold {array.size} numbers; expected one per spectrum "
                f"({n}) or per complete spectrum ({n_complete})"
            )
        finite = np.isfinite(per_spectrum)
        sums = np.bincount(column_of[finite], per_spectrum[finite], n_positions)
        counts = np.bincount(column_of[finite], minlength=n_positions)
        with np.errstate(invalid="ignore", divide="ignore"):
            prepared[label] = {"spectrum": per_spectrum, "position": sums / counts}
    return prepared
