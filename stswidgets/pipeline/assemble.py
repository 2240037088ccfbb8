"""Results assembly: the ``results.nc`` variables of the steps run so far.

:func:`results_variables` turns step results into the per-pixel variables of
:mod:`stswidgets.results` (names, flags and units as documented there): on the grid's
``(y, x)`` map, or for a collection of spectra on its ``spectrum`` dim with the coordinates
``x``, ``y``, ``distance``, ``repetition``, ``file`` it has.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from stswidgets.pipeline.collection import on_spectra as to_map
from stswidgets.pipeline.distances import DistanceStatistics
from stswidgets.pipeline.maps import PhysicsMaps, physics_variables
from stswidgets.pipeline.score import Projection, SiteClasses

__all__ = ["results_variables"]


def results_variables(
    grid: xr.DataArray,
    valid,
    stats: DistanceStatistics | None = None,
    projection: Projection | None = None,
    classes: SiteClasses | None = None,
    physics: PhysicsMaps | None = None,
) -> dict[str, xr.DataArray]:
    """The ``results.nc`` variables of the steps run so far (names as the notebooks save);
    ``physics``: the gap, peak and bound-state maps and the radial Fourier average
    (:func:`stswidgets.pipeline.physics_variables`)."""
    from stswidgets.analysis import class_names, flag_meanings

    out = {"valid": to_map(np.ones(int(np.asarray(valid).sum())), valid).fillna(0).astype(np.int8)}
    if stats is not None and stats.abundance is not None:
        out["abundance"] = to_map(stats.abundance, valid).assign_attrs(
            offset=stats.offset, threshold=stats.threshold
        )
    if projection is not None:
        out["tC1"] = to_map(projection.Z[:, 0], valid)
        out["tC2"] = to_map(projection.Z[:, 1], valid)
        out["score"] = to_map(projection.score, valid)
        out["coordinate"] = to_map(projection.coordinate, valid)
    if classes is not None:
        codes = np.asarray(to_map(classes.labels.astype(float), valid))
        codes = np.where(np.isnan(codes), -1, codes).astype(np.int8)
        bias = np.asarray(grid["bias"].values)
        place = to_map(classes.labels.astype(float), valid)
        if not isinstance(place, xr.DataArray):  # a plain mask: the grid's map
            place = xr.DataArray(codes, dims=("y", "x"), coords={"y": grid["y"], "x": grid["x"]})
        out["site_class"] = xr.DataArray(
            codes,
            dims=place.dims,
            coords=place.coords,
            attrs={
                "flag_values": list(range(len(classes.names))),
                "flag_meanings": flag_meanings(class_names(classes.n_kinds)),
                "long_names": ", ".join(classes.names),
                "comment": "-1: spectrum not measured (incomplete)",
                "score_edges": classes.edges,
            },
        )
        coords = {
            "site_class_name": list(class_names(classes.n_kinds)),
            "bias": ("bias", bias, {"units": "mV"}),
        }
        out["site_class_mean"] = xr.DataArray(
            classes.mean, dims=("site_class_name", "bias"), coords=coords
        )
        out["site_class_std"] = xr.DataArray(
            classes.std,
            dims=("site_class_name", "bias"),
            coords=coords,
            attrs={"long_name": "standard deviation of the spectra of each class"},
        )
    if physics is not None:
        out.update(physics_variables(physics))
    return {name: value.rename(name) for name, value in out.items() if value is not None}
