"""A simulated grid with two defect kinds whose spectra differ from the surface in opposite
ways (issue 10), for the learn tests and the command-line test."""

import numpy as np
import xarray as xr

from stswidgets import datasets


def two_kind_grid(seed=0, shape=(40, 40), n_bias=128):
    """Left half: Fe vacancies of :func:`~stswidgets.datasets.fese_like` (gap filled, in-gap
    states, weight moved from filled to empty states); right half, at the same places: a kind
    with the gap intact, no bound states and the transfer reversed (more filled-state, less
    empty-state conductance). Returns ``(didv, kind, transition)``: the grid, the kind per
    pixel (0 surface, 1, 2) and the transition mask.
    """
    common = dict(seed=seed, shape=shape, n_bias=n_bias, vacancy_density_nm2=0.03)
    a = datasets.fese_like(min_separation_nm=3.0, **common)
    b = datasets.fese_like(
        min_separation_nm=3.0,
        suppression=-0.35,
        enhancement=-0.3,
        vacancy_gamma_mV=0.1,
        bound_state_weights=(0.0, 0.0),
        **common,
    )
    right = (np.arange(shape[1]) >= shape[1] // 2)[None, :]
    didv = a["didv"].copy(data=np.where(right[..., None], b["didv"].values, a["didv"].values))
    kind = np.where(a["vacancy"].values, np.where(right, 2, 1), 0)
    return didv, kind, a["transition"].values


def two_kind_dataset(seed=0, shape=(40, 40), n_bias=128) -> xr.Dataset:
    """:func:`two_kind_grid` as a Dataset (``didv``, ``kind``, ``transition``)."""
    didv, kind, transition = two_kind_grid(seed, shape, n_bias)
    coords = {"y": didv["y"], "x": didv["x"]}
    return xr.Dataset(
        {
            "didv": didv,
            "kind": xr.DataArray(kind, dims=("y", "x"), coords=coords),
            "transition": xr.DataArray(transition, dims=("y", "x"), coords=coords),
        }
    )
