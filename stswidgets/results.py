"""``results.nc``: the per-pixel results the notebooks share, self-describing (CF-1.8 style).

Notebooks merge their results into ``results_dir/results.nc`` with :func:`save_results` and
read earlier ones with :func:`load_results`. Every variable is written with ``units`` and
``long_name`` (from :data:`RESULT_VARIABLES` for the known ones; the grid's own units where a
result is in the units of the spectra), the coordinates with theirs (:data:`COORDINATES`:
``x``, ``y`` in nm, ``bias`` in mV). Class maps (``site_class``, ``kmeans2``) are stored as ``int8``
with CF ``flag_values`` / ``flag_meanings``, ``-1`` marking unmeasured pixels; masks
(``valid``, ``segmentation``) as ``int8`` 0/1.

Global attributes say where the numbers come from: :data:`GLOBAL_ATTRS` (``source``,
``channel``, ``seed``, ``profile``, ``stswidgets_version``, ``command``, ``Conventions``,
``history``, ``date_created``, ...), the lock-in phase and the scan geometry copied from the
grid's ``attrs`` when present (:data:`GRID_ATTRS`). ``stswidgets run`` writes them with
:func:`start_results` before the first notebook runs; a notebook passing ``grid=`` to
:func:`save_results` adds what the grid knows to a file that lacks it.
"""

from __future__ import annotations

import datetime
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io.open import GRID_ATTRS as OPEN_GRID_ATTRS

#: Stands for "the units of the spectra" (the grid's ``attrs["units"]``) in
#: :data:`RESULT_VARIABLES`.
DATA_UNITS = "<units of the spectra>"

#: Pixels that hold no class (never measured, or an incomplete spectrum) in an ``int8`` class map.
UNMEASURED = -1

#: The known result variables: ``long_name``, ``units`` (``"1"``: dimensionless;
#: :data:`DATA_UNITS`: the grid's units) and, for class maps, CF ``flag_values`` /
#: ``flag_meanings`` (used unless the saved DataArray brings its own).
RESULT_VARIABLES: dict[str, dict] = {
    "valid": {
        "long_name": "complete spectrum (measured at every bias point)",
        "units": "1",
        "flag_values": [0, 1],
        "flag_meanings": "incomplete complete",
    },
    "segmentation": {
        "long_name": "defect mask of the iso-energy slice segmentation",
        "units": "1",
        "flag_values": [0, 1],
        "flag_meanings": "outside defect",
    },
    "pc1": {"long_name": "score on principal component 1", "units": DATA_UNITS},
    "pc2": {"long_name": "score on principal component 2", "units": DATA_UNITS},
    "kmeans2": {
        "long_name": "k-means cluster (k = 2) in the PCA latent space",
        "units": "1",
        "flag_values": [0, 1],
        "flag_meanings": "cluster_0 cluster_1",
    },
    "abundance": {
        "long_name": (
            "minority abundance: fraction of the spectrum's pair distances beyond the "
            "crossing of the two fitted components"
        ),
        "units": "1",
    },
    "tC1": {"long_name": "twin-network (Siamese) projection, coordinate 1", "units": "1"},
    "tC2": {"long_name": "twin-network (Siamese) projection, coordinate 2", "units": "1"},
    "score": {
        "long_name": "similarity score: distance from the majority in the projection",
        "units": "1",
    },
    "coordinate": {
        "long_name": "signed 1D coordinate of the score network, 0 at the majority",
        "units": "1",
    },
    "site_class": {
        "long_name": "site class (majority, transition, defect kinds)",
        "units": "1",
        "flag_values": [0, 1, 2],
        "flag_meanings": "majority transition kind_1",
    },
    "site_class_mean": {"long_name": "mean spectrum of each site class", "units": DATA_UNITS},
    "site_class_std": {
        "long_name": "standard deviation of the spectra of each site class",
        "units": DATA_UNITS,
    },
    # physics maps (notebook 09, stswidgets.pipeline.physics_maps); the maps bring their own
    # units and long names, these are the fallbacks
    "gap": {"long_name": "superconducting gap (half the coherence-peak distance)", "units": "mV"},
    "gap_2": {"long_name": "second gap", "units": "mV"},
    "gap_2_weight": {"long_name": "weight of the second gap", "units": "1"},
    "gamma": {"long_name": "Dynes broadening of the fitted gap", "units": "mV"},
    "gap_anisotropy": {"long_name": "anisotropy of the fitted gap", "units": "1"},
    "peak_energy_neg": {"long_name": "coherence-peak energy at negative bias", "units": "mV"},
    "peak_energy_pos": {"long_name": "coherence-peak energy at positive bias", "units": "mV"},
    "peak_height_neg": {"long_name": "coherence-peak height at negative bias", "units": DATA_UNITS},
    "peak_height_pos": {"long_name": "coherence-peak height at positive bias", "units": DATA_UNITS},
    "zero_bias_conductance": {"long_name": "conductance at zero bias", "units": DATA_UNITS},
    "fit_quality": {"long_name": "coefficient of determination R^2 of the gap", "units": "1"},
    "bound_state_energy": {"long_name": "energy of an in-gap bound state", "units": "mV"},
    "bound_state_height": {"long_name": "height of an in-gap bound state", "units": DATA_UNITS},
    "bound_state_prominence": {
        "long_name": "prominence of an in-gap bound state",
        "units": DATA_UNITS,
    },
    "n_bound_states": {"long_name": "number of in-gap bound states found", "units": "1"},
    "qpi_radial_average": {
        "long_name": "radial average of the Fourier power of the conductance maps",
        "units": "a.u.",
    },
}

#: ``long_name`` and ``units`` of the coordinates results are written on.
COORDINATES: dict[str, dict] = {
    "x": {"long_name": "x position", "units": "nm"},
    "y": {"long_name": "y position", "units": "nm"},
    "bias": {"long_name": "sample bias", "units": "mV"},
    "site_class_name": {"long_name": "site class"},
    "q": {"long_name": "wavevector magnitude (q = 2 pi / lambda)", "units": "1/nm"},
    "peak": {"long_name": "index of an in-gap peak of the spectrum", "units": "1"},
    "distance": {"long_name": "distance along the line from its first position", "units": "nm"},
    "repetition": {"long_name": "index of a repeated spectrum at one position", "units": "1"},
    "file": {"long_name": "file of the spectrum"},
}

#: Global attributes of ``results.nc`` and what they hold.
GLOBAL_ATTRS: dict[str, str] = {
    "title": "stswidgets results",
    "source": "the input: a grid file's path, or simulated fese_like(seed=...)",
    "channel": "the channel analysed (e.g. the in-phase lock-in signal)",
    "signal_units": "units of the spectra",
    "geometry": "where the spectra were measured: grid (results on y, x) or line, points, "
    "repeats (a collection: results on the spectrum dim, with its x, y, distance, "
    "repetition, file coordinates where the input has them)",
    "seed": "random seed of the run",
    "profile": "settings profile: full, quick or test",
    "pipeline_config": "every analysis setting (stswidgets.pipeline.PipelineConfig) as JSON",
    "normalize": "the per-spectrum normalisation every result was computed on (none, setpoint, "
    "feenstra, zscore); also an attribute of each derived variable",
    "normalize_reason": "why that normalisation (the measured set-point spread for auto) and how",
    "stswidgets_version": "version of stswidgets that wrote the file",
    "command": "the command line of the run",
    "Conventions": "CF-1.8",
    "history": "when and by which command the file was written",
    "date_created": "ISO 8601 time (UTC) the file was first written",
}

#: Grid attributes copied into the global attributes when present: how the signal was read
#: (lock-in phase, agreement with the current's derivative, saturation, a numerical derivative,
#: empty channels, pixel-index positions) and the scan geometry (every other ``lockin_*`` and
#: ``scan_*`` attribute is copied too).
GRID_ATTRS = tuple(
    key for key in OPEN_GRID_ATTRS if key not in ("units", "channel", "source")
)  # those three are written under their own names (signal_units, channel, source)


def grid_attrs(grid: xr.DataArray) -> dict:
    """Global attributes taken from a grid: ``source``, ``channel``, ``signal_units``,
    the lock-in phase and the scan geometry (:data:`GRID_ATTRS`) where the grid has them."""
    attrs = grid.attrs
    found = {
        "source": attrs.get("source"),
        "channel": attrs.get("channel"),
        "signal_units": attrs.get("units"),
    }
    for key, value in attrs.items():
        if key in GRID_ATTRS or str(key).startswith(("lockin_", "scan_")):
            found[key] = value
    found["geometry"] = "grid" if "y" in grid.dims else attrs.get("geometry", "points")
    return {k: v for k, v in found.items() if v not in (None, "")}


def start_results(
    results_dir: str | Path, grid: xr.DataArray | None = None, config=None, **attrs
) -> Path:
    """Write a fresh ``results_dir/results.nc`` holding only global attributes.

    ``config`` (a :class:`stswidgets.pipeline.PipelineConfig`) is written verbatim as the JSON
    attribute ``pipeline_config`` (with ``seed`` and ``profile`` repeated on their own);
    ``attrs`` (``source``, ``channel``, ``seed``, ``profile``, ``command``, ...) are written
    as given (None values are left out), after what ``grid`` tells (:func:`grid_attrs`);
    ``Conventions``, ``stswidgets_version``, ``date_created`` and ``history`` are added.
    Notebooks then merge their results into it with :func:`save_results`.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    found = grid_attrs(grid) if grid is not None else {}
    found.update(config_attrs(config))
    found.update({k: v for k, v in attrs.items() if v is not None})
    dataset = xr.Dataset(attrs=_standard_attrs(found))
    return _write(dataset, results_dir / "results.nc")


#: Variables of the measured grid itself, not derived from the normalised spectra: they carry
#: no ``normalize`` attribute of the run (the physics maps of notebook 09 read the grid as
#: measured, or divided by the set-point conductance: their heights bring their own).
MEASURED_VARIABLES = (
    "valid",
    "segmentation",
    "gap",
    "gap_2",
    "gap_2_weight",
    "gamma",
    "gap_anisotropy",
    "peak_energy_neg",
    "peak_energy_pos",
    "peak_height_neg",
    "peak_height_pos",
    "zero_bias_conductance",
    "fit_quality",
    "bound_state_energy",
    "bound_state_height",
    "bound_state_prominence",
    "n_bound_states",
    "qpi_radial_average",
)


def save_results(
    results_dir: str | Path | None,
    grid: xr.DataArray | None = None,
    config=None,
    *,
    normalization=None,
    global_attrs: dict | None = None,
    **variables,
) -> Path | None:
    """Merge named results into ``results_dir/results.nc`` (created if missing).

    Parameters
    ----------
    results_dir : str, Path or None
        Folder of ``results.nc``; None saves nothing and returns None.
    grid : xarray.DataArray, optional
        The grid the results come from: its units fill the units of results in the units of
        the spectra (``pc1``, ``site_class_mean``, ...), and its source, channel, lock-in phase and
        scan geometry are added to the global attributes the file does not hold yet.
    config : PipelineConfig, optional
        The configuration the results were computed with: written as ``pipeline_config``
        (replacing an earlier one, with ``seed`` and ``profile``).
    normalization : Normalization, optional
        :class:`stswidgets.pipeline.normalization.Normalization` of the run
        (``PipelineInput.normalization``): written as the global attributes ``normalize`` and
        ``normalize_reason``. Every variable but the measured ones (:data:`MEASURED_VARIABLES`)
        gets the attribute ``normalize`` (from this, or from the file's global attribute), and
        results in the units of the spectra get ``"1"`` once they are normalised.
    global_attrs : dict, optional
        Global attributes a step reports (``noise_sigma``, ...), replacing earlier ones of
        the same name; None values are left out.
    **variables : xarray.DataArray
        Per-pixel maps with dims ``("y", "x")``, spectra with a ``bias`` dim, ... Variables
        already in the file are replaced by new ones of the same name. ``units`` and
        ``long_name`` come from the DataArray's attrs, else from :data:`RESULT_VARIABLES`;
        a variable with neither gets ``units = "1"`` and a warning. Boolean masks are stored
        as ``int8``; class maps (a registry entry with ``flag_values``, or a DataArray with
        ``flag_values``) as ``int8`` with ``-1`` for NaN (unmeasured) pixels.

    Returns
    -------
    Path or None
    """
    if results_dir is None:
        return None
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / "results.nc"
    old = load_results(results_dir)
    attrs = dict(old.attrs) if old is not None else {}
    for key, value in (grid_attrs(grid) if grid is not None else {}).items():
        attrs.setdefault(key, value)
    attrs.update(config_attrs(config))
    if normalization is not None:
        attrs.update(normalization.attrs())
    attrs.update({k: v for k, v in (global_attrs or {}).items() if v is not None})
    method = attrs.get("normalize")
    units = attrs.get("signal_units") or "a.u."
    if method not in (None, "none"):
        units = "1"  # a normalised spectrum is a ratio
    new = xr.Dataset({name: _storable(name, value, units) for name, value in variables.items()})
    if method is not None:
        for name in new.data_vars:
            if name not in MEASURED_VARIABLES:
                new[name].attrs["normalize"] = method
    if old is not None:
        new = new.merge(old.drop_vars([v for v in new.data_vars if v in old]), compat="override")
    new.attrs = _standard_attrs(attrs)
    for name, spec in COORDINATES.items():
        if name in new.coords:
            new[name].attrs = {**spec, **new[name].attrs}
            if name in ("x", "y") and str(attrs.get("positions", "")).startswith("pixel index"):
                new[name].attrs.update(units="1", long_name=f"{name} pixel index")
    return _write(new, path)


def config_attrs(config) -> dict:
    """Global attributes recording a :class:`~stswidgets.pipeline.PipelineConfig` (empty for
    None): ``pipeline_config`` (JSON of every setting), ``seed`` and ``profile``."""
    if config is None:
        return {}
    return {"pipeline_config": config.to_json(), "seed": config.seed, "profile": config.profile}


def load_config(results_dir: str | Path | None):
    """The :class:`~stswidgets.pipeline.PipelineConfig` recorded in ``results_dir/results.nc``,
    or None when there is none."""
    from stswidgets.pipeline.config import PipelineConfig

    results = load_results(results_dir)
    if results is None or "pipeline_config" not in results.attrs:
        return None
    return PipelineConfig.from_json(results.attrs["pipeline_config"])


def load_results(results_dir: str | Path | None) -> xr.Dataset | None:
    """The results saved so far in ``results_dir/results.nc``, or ``None`` if there are none."""
    if results_dir is None:
        return None
    path = Path(results_dir) / "results.nc"
    if not path.exists():
        return None
    with xr.open_dataset(path) as ds:
        return _renamed_old_names(ds.load(), path)


#: Names of results files written before the site classes were called so (issue 19).
OLD_NAMES = {
    "band": "site_class",
    "band_mean": "site_class_mean",
    "band_std": "site_class_std",
    "band_name": "site_class_name",
}


def _renamed_old_names(ds: xr.Dataset, path: Path) -> xr.Dataset:
    """An old file's ``band`` variables under their present names, with a warning."""
    old = {a: b for a, b in OLD_NAMES.items() if (a in ds.variables or a in ds.dims)}
    old = {a: b for a, b in old.items() if b not in ds.variables and b not in ds.dims}
    if not old:
        return ds
    warnings.warn(
        f"{path}: written before 'band' was renamed 'site_class'; read "
        + ", ".join(f"{a!r} as {b!r}" for a, b in old.items()),
        UserWarning,
        stacklevel=3,
    )
    return ds.rename(old)


def _write(dataset: xr.Dataset, path: Path) -> Path:
    tmp = path.with_suffix(".nc.tmp")
    dataset.to_netcdf(tmp)
    tmp.replace(path)
    return path


def _standard_attrs(attrs: dict) -> dict:
    from stswidgets import __version__

    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = {"title": "stswidgets results", **attrs}
    out.setdefault("stswidgets_version", __version__)
    out["Conventions"] = "CF-1.8"
    out.setdefault("date_created", now)
    out.setdefault("history", f"{now}: {attrs.get('command', 'written by stswidgets')}")
    return {key: _attr_value(value) for key, value in out.items() if value is not None}


def _attr_value(value):
    """A value netCDF can store as an attribute: str, number or a list of numbers."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    if isinstance(value, list | tuple | np.ndarray):
        array = np.asarray(value)
        if array.dtype.kind in "iuf" and array.ndim == 1:
            return array
    return str(value)


def _storable(name: str, value, data_units: str):
    if not isinstance(value, xr.DataArray):
        value = xr.DataArray(value)
    spec = dict(RESULT_VARIABLES.get(name, {}))
    if spec.get("units") == DATA_UNITS:
        spec["units"] = data_units
    if value.dtype == bool:
        value = value.astype(np.int8).assign_attrs(value.attrs, flag="boolean")
    elif "flag_values" in value.attrs or "flag_values" in spec:
        value = _class_map(name, value, spec)
    attrs = {**{k: v for k, v in spec.items() if not k.startswith("flag_")}, **value.attrs}
    if "units" not in attrs:
        warnings.warn(
            f"results.nc: variable {name!r} has no units; give it attrs units= and long_name= "
            "(or add it to stswidgets.results.RESULT_VARIABLES); written with units '1'",
            stacklevel=3,
        )
        attrs["units"] = "1"
    attrs.setdefault("long_name", name.replace("_", " "))
    if attrs.get("flag") == "boolean":
        attrs.setdefault("flag_values", np.array([0, 1], dtype=np.int8))
        attrs.setdefault("flag_meanings", spec.get("flag_meanings", "false true"))
    return value.copy().assign_attrs({k: _attr_value(v) for k, v in attrs.items()})


def _class_map(name: str, value: xr.DataArray, spec: dict) -> xr.DataArray:
    """A class map as ``int8`` with CF flags; NaN (unmeasured) becomes :data:`UNMEASURED`."""
    values = np.asarray(value)
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not np.array_equal(values[finite], np.round(values[finite])):
            raise ValueError(f"results.nc: class map {name!r} holds non-integer values")
        values = np.where(finite, values, UNMEASURED)
    elif values.dtype.kind not in "iu":
        raise ValueError(f"results.nc: class map {name!r} must be numeric, got {values.dtype}")
    if values.size and (values.min() < UNMEASURED or values.max() > np.iinfo(np.int8).max):
        raise ValueError(f"results.nc: class map {name!r} has classes outside -1..127")
    flag_values = [
        int(v) for v in np.atleast_1d(value.attrs.get("flag_values", spec.get("flag_values")))
    ]
    meanings = str(value.attrs.get("flag_meanings", spec.get("flag_meanings", ""))).split()
    if len(meanings) != len(flag_values):
        raise ValueError(
            f"results.nc: class map {name!r} has {len(flag_values)} flag_values but "
            f"{len(meanings)} flag_meanings ({' '.join(meanings)!r})"
        )
    for extra in sorted(set(np.unique(values).tolist()) - set(flag_values) - {UNMEASURED}):
        flag_values.append(int(extra))
        meanings.append(f"class_{int(extra)}")
    if UNMEASURED not in flag_values:
        flag_values.insert(0, UNMEASURED)
        meanings.insert(0, "unmeasured")
    attrs = {k: v for k, v in value.attrs.items() if k not in ("flag_values", "flag_meanings")}
    attrs["flag_values"] = np.array(flag_values, dtype=np.int8)
    attrs["flag_meanings"] = " ".join(meanings)
    return value.copy(data=values.astype(np.int8)).assign_attrs(attrs)
