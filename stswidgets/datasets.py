"""Simulated data with ground truth: the embedded FeSe-like STS grid and the Fig. 1 toy.

:func:`fese_like` builds a dI/dV grid of a superconducting FeSe-like surface with sparse Fe
vacancies, fast enough (vectorised, < 1 s for 100 x 100 x 512) to be the default input of the
notebook series. Every spectrum is a mixture of two 1D templates, the clean surface and the
vacancy core, weighted by the continuous ``defect_weight`` of its pixel, then dressed with
Friedel-like oscillations, a smooth setpoint factor and white noise::

    didv(r, E) = s(r) * [S(E) + w(r) (V(E) - S(E)) + o(r) (O(E) - S(E))] * (1 + F(r, E)) + noise

with ``S`` the surface spectrum (Dynes-broadened gap on a sloped, particle-hole asymmetric
background), ``V`` the vacancy spectrum (gap filled, coherence peaks suppressed, in-gap bound
states, spectral weight moved from filled to empty states), ``O`` an optional second defect kind,
``w``/``o`` their weights, ``F`` the Friedel oscillations and ``s`` the setpoint factor.

With ``nonlinear=True`` the spectra come instead from LOCAL physics at the pixel's strength
``w(r)`` (gap shrinking, peaks broadening, bound states moving towards zero bias near the core,
signatures fading as ``w ** fade_power``); the default stays linear this round so that the
embedded demo grid is unchanged. ``gap_anisotropy > 0`` gives a V-shaped gap in both modes.

Ground truth (all ``(y, x)`` variables of the returned Dataset, the same in both modes):

``defect_weight``
    ``w(r)`` in [0, 1]: ``exp(-(rho / defect_radius_nm) ** defect_profile_power)`` with ``rho`` the
    distance to the nearest lobe centre of a vacancy dumbbell. In the linear mode it is the
    fraction of the vacancy spectrum in the pixel's spectrum, in the non-linear one the local
    strength.
``vacancy``
    ``w > vacancy_threshold`` (default 0.6): the Fe-vacancy cores.
``other_defect``
    Only when ``other_density_nm2 > 0`` (condition ``"two_defect_kinds"``): pixels where the weight
    of the second defect kind exceeds 0.5; a pixel of ``other_defect`` is no ``vacancy``.
``kind``
    0 outside defect cores, 1 ``vacancy``, 2 ``other_defect``.
``transition``
    The RING REGION, as in :func:`random_grid`: non-core pixels (``kind == 0``) within core
    radius + 3 healing lengths of a defect centre (a lobe for the vacancies). Each kind's core
    radius and healing length (``attrs["kinds"]``) are set so that this is where its weight lies
    between ``transition_threshold`` (default 0.15) and the core threshold: for the vacancies the
    former ``transition_threshold < w <= vacancy_threshold``. Since this round the second kind
    has its ring too (before, ``transition`` held the vacancies' rings only).
``defect_distance_nm``, ``nearest_kind``, ``valid``
    Distance to the nearest defect centre, its kind (1, 2), False on unmeasured pixels.

The far surface is ``kind == 0 & ~transition``; :func:`truth_regions` maps far surface, ring and
core to 0, 1, 2. :data:`CONDITIONS` names the simulated conditions the tests and the benchmark
notebook use; :func:`condition` builds one. :func:`random_grid` (defined in
``stswidgets._random_physics``) is a randomized family: each seed draws its own physics, 1 to 3
defect kinds, its local non-linear spectra and the same truth variables.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from stswidgets._defect_signatures import dynes_dos
from stswidgets._fese_physics import fese_like
from stswidgets._random_physics import ARCHETYPES, RANDOM_RANGES, random_grid

__all__ = [
    "ARCHETYPES",
    "CONDITIONS",
    "RANDOM_RANGES",
    "condition",
    "dynes_dos",
    "fese_like",
    "polynomial_family",
    "random_grid",
    "truth_regions",
]


#: Named simulated conditions -> :func:`fese_like` keyword arguments. Ground-truth pixel
#: fractions on maps of 64 x 64 pixels and larger (tests/test_datasets.py checks them):
#: vacancy 2-4 % and transition 6-12 % except "dense_vacancies" (vacancy 10-15 %, transition
#: 30-45 %); "two_defect_kinds" adds other_defect on ~1-3 %.
CONDITIONS: dict[str, dict] = {
    # The default: a few isolated dumbbells, vacancy ~2-4 % of the pixels.
    "sparse_vacancies": {},
    # Many vacancies (vacancy ~10-15 % of the pixels); rings of neighbours touch.
    "dense_vacancies": {"vacancy_density_nm2": 0.075, "min_separation_nm": 2.4},
    # A second, weaker defect kind (a Se-site defect: one round lobe, a filled-state resonance,
    # no in-gap states); `vacancy` still marks the Fe vacancies only, `other_defect` the rest.
    "two_defect_kinds": {"other_density_nm2": 0.01},
    # Strong, smooth tip-height/setpoint variation across the map (a drifting tip).
    "setpoint_drift": {"setpoint_variation": 0.25, "setpoint_gradient": 0.5},
}


def truth_regions(ds: xr.Dataset) -> xr.DataArray:
    """Ground-truth region of every pixel of a simulated grid: 0 far surface, 1 ring, 2 core.

    Core is ``kind > 0``, ring is ``transition`` (non-core pixels within core radius + 3
    healing lengths of a defect centre), far surface everything else; -1 where not ``valid``.

    Parameters
    ----------
    ds : xarray.Dataset
        A grid of :func:`random_grid` or :func:`fese_like` (needs ``kind`` and ``transition``;
        ``valid`` where present).

    Returns
    -------
    xarray.DataArray
        ``(y, x)`` int map with ``flag_values`` and ``flag_meanings`` attrs.
    """
    missing = [name for name in ("kind", "transition") if name not in ds]
    if missing:
        raise ValueError(
            f"truth_regions needs the simulated ground truth; {ds.attrs.get('source', 'dataset')}"
            f" has no {', '.join(missing)}"
        )
    regions = xr.where(ds["kind"] > 0, 2, xr.where(ds["transition"], 1, 0))
    if "valid" in ds:
        regions = xr.where(ds["valid"], regions, -1)
    regions = regions.astype(int)
    regions.attrs = {
        "flag_values": [-1, 0, 1, 2],
        "flag_meanings": "not_valid far_surface ring core",
    }
    regions.name = "truth_region"
    return regions


def condition(
    name: str,
    seed: int = 0,
    shape: tuple[int, int] = (100, 100),
    n_bias: int = 512,
    **overrides,
) -> xr.Dataset:
    """:func:`fese_like` under the named simulated condition of :data:`CONDITIONS`.

    ``overrides`` replace single keywords of the condition.
    """
    if name not in CONDITIONS:
        raise ValueError(f"unknown condition {name!r}; expected one of {sorted(CONDITIONS)}")
    return fese_like(seed=seed, shape=shape, n_bias=n_bias, **{**CONDITIONS[name], **overrides})


def polynomial_family(
    seed: int = 0,
    n_samples: int = 1000,
    n_points: int = 100,
    centroids: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 0.5), (-0.5, 1.5)),
    spreads: tuple[float, float] = (0.15, 0.1),
    minority_fraction: float = 0.2,
    noise: float = 0.05,
) -> xr.Dataset:
    """Toy of the paper's Fig. 1: a two-centroid 2D parameter space mapped through polynomials.

    Each sample draws parameters ``(a, b)`` from one of two isotropic Gaussian clusters (the
    majority, label 0, and the minority, label 1, of ``minority_fraction`` of the samples), and
    becomes the curve ``y(t) = a t + b t^2 + noise`` on ``t`` in [-1, 1]: a 2D latent space
    embedded in an ``n_points``-dimensional data space, as the spectra of a grid are.

    Parameters
    ----------
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    n_samples : int
        Number of curves.
    n_points : int
        Points per curve (the dimension of the data space).
    centroids : ((float, float), (float, float))
        ``(a, b)`` centres of the majority and minority clusters.
    spreads : (float, float)
        Standard deviations of the two clusters in parameter space.
    minority_fraction : float
        Fraction of samples in the minority cluster (the clusters have unequal sizes).
    noise : float
        Standard deviation of the white noise added to every curve point.

    Returns
    -------
    xarray.Dataset
        ``curves (sample, t)``, ``params (sample, param)`` with ``param = ["a", "b"]`` and
        ``labels (sample,)`` int (0 majority, 1 minority); samples in random order.
    """
    if not 0 < minority_fraction < 1:
        raise ValueError(f"minority_fraction must be in (0, 1), got {minority_fraction}")
    if n_samples < 2 or n_points < 2:
        raise ValueError(f"need n_samples >= 2 and n_points >= 2, got {n_samples}, {n_points}")
    rng = np.random.default_rng(seed)
    n_minority = max(1, round(minority_fraction * n_samples))
    labels = np.zeros(n_samples, dtype=int)
    labels[:n_minority] = 1
    labels = rng.permutation(labels)
    centre = np.asarray(centroids, dtype=float)[labels]
    spread = np.asarray(spreads, dtype=float)[labels]
    params = centre + spread[:, None] * rng.standard_normal((n_samples, 2))
    t = np.linspace(-1.0, 1.0, n_points)
    curves = params[:, :1] * t + params[:, 1:] * t**2
    curves = curves + noise * rng.standard_normal(curves.shape)
    return xr.Dataset(
        {
            "curves": (("sample", "t"), curves),
            "params": (("sample", "param"), params),
            "labels": ("sample", labels),
        },
        coords={"sample": np.arange(n_samples), "t": t, "param": ["a", "b"]},
        attrs={
            "source": f"stswidgets.datasets.polynomial_family(seed={seed})",
            "model": "y(t) = a t + b t^2 + noise",
        },
    )
