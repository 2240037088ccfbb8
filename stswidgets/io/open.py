"""From a file or a Dataset to a grid: :func:`open_grid`, and :func:`save_grid` to write one.

Files are recognised by content (:mod:`stswidgets.io.formats`); HyperSpy signals and arrays of
other readers are converted by :mod:`stswidgets.io.interop`.

The ``.npz``/``.nc`` layouts :func:`save_grid` writes are described in
:mod:`stswidgets.io._load`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.grid import GridError, make_grid, validate_grid
from stswidgets.io import _channels
from stswidgets.io._geometry import GEOMETRY_ATTRS, scan_attrs
from stswidgets.io._load import SPECTRA_VIEW, Spectra, as_dataset, axis_nm, pixel_positions
from stswidgets.io.candidates import POOR_AGREEMENT, Candidate, Evaluation
from stswidgets.io.errors import ChannelError, FormatError

__all__ = ["GRID_ATTRS", "channel_rank", "open_grid", "save_grid"]

channel_rank = _channels.channel_rank
#: ``attrs["positions"]`` of a grid whose file records no positions (x/y are pixel indices).
PIXEL_POSITIONS = "pixel index: the file records no positions (x/y at 1 nm per pixel)"
GRID_ATTRS = (
    "units",
    "channel",
    "source",
    "lockin_phase_deg",
    "channel_agreement",
    "channel_mean_agreement",
    "channel_reason",
    "n_saturated_spectra",
    "derived",
    "empty_channels",
    "positions",
    "setpoint_bias_mV",
    *GEOMETRY_ATTRS,
)
#: Header entries holding the feedback set-point bias, with their factor to mV: Createc
#: (``setpoint_bias_mV``), RHK (``bias_V``), Nanonis (``Bias>Bias (V)``). The first found
#: becomes the grid's ``attrs["setpoint_bias_mV"]`` (the set-point normalisation reads it).
SETPOINT_BIAS_KEYS = (("setpoint_bias_mV", 1.0), ("bias_V", 1e3), ("Bias>Bias (V)", 1e3))


def open_grid(path_or_dataset, channel: str | None = None) -> xr.DataArray:
    """A ``(y, x, bias)`` grid of one channel, by default the dI/dV.

    Parameters
    ----------
    path_or_dataset : str, pathlib.Path, xarray.Dataset, xarray.DataArray or HyperSpy signal
        A file in any supported format (:data:`stswidgets.io.formats.FORMATS`: Nanonis
        ``.3ds``, RHK ``.sm4``, Nanosurf ``.nid``, Omicron MATRIX ``.ibw``, Createc
        ``.specgrid``), recognised by its content whatever its name; an ``.npz``/``.nc`` file
        written by :func:`save_grid`; a Dataset such as the readers return; a DataArray or
        Dataset of another reader with a bias-like dimension (``bias``, ``V``, ``voltage``,
        ``energy``, ``sample_bias``, ... with ``units``) and one or two spatial dimensions
        (:func:`stswidgets.io.interop.with_grid_dims`); or a HyperSpy ``Signal1D``
        (navigation y, x; signal axis the bias; :func:`stswidgets.io.interop.from_hyperspy`).
    channel : str, optional
        A channel name (``"LockinX"`` or ``"LockinX (V)"``) or a unique case-insensitive prefix
        of one, read as recorded (no rotation). By default (see
        :meth:`stswidgets.io.candidates.Evaluation.default`): a ``didv``/``dI/dV`` channel as it
        is; else the lock-in's **in-phase signal** ``X cos(phi) + Y sin(phi)``, with the phase
        ``phi`` that best matches the numerical dI/dV of the ``Current`` (or, without a current,
        the principal axis of the ``(X, Y)`` cloud), or an unpaired lock-in output (``R``,
        RHK's ``LIA_Current``) where that agrees better; forward sweeps before ``[bwd]``;
        an auxiliary lock-in input (Omicron's ``Aux2``) only where there is no lock-in output
        (and, with a current, only where it agrees with it); else another auxiliary input
        (``Input 6``, ``Aux1``, an ADC) that behaves like a lock-in: it agrees with the
        numerical dI/dV of the current (``|r| >= 0.9``, a negative r read inverted) and is less
        noisy than it (:meth:`stswidgets.io.candidates.Evaluation.auxiliary_lockin`); else the
        numerical derivative of the current (``Current``, ``I(V)``, ``I``, ``Tip Current``,
        ``It``) along the bias (``np.gradient``, units A/V). Channels that are all zeros or
        NaN are never read.

    Returns
    -------
    xarray.DataArray, dims ``("y", "x", "bias")``
        Values as measured or rotated (float32; a saturated lock-in, e.g. stuck at 10 V, is
        left as it is), bias in mV ascending (points recorded twice at the same bias are
        averaged), x/y in nm (unique, ascending; serpentine scans in raster order). ``attrs``:

        - ``units``, ``channel`` (e.g. ``"LockinX (V) cos(-2.6 deg) + LockinY (V) sin(-2.6
          deg)"``), ``source`` (the file path);
        - ``channel_mean_agreement``: the same on the mean spectra, both smoothed
          (:meth:`stswidgets.io.candidates.Evaluation.mean_agreement`): the shape agreement
          where single spectra are too noisy to tell; NaN without a current;
        - ``channel_reason``: why this channel is read (e.g. ``"Input 6 (V): an auxiliary
          input that agrees with the numerical dI/dV of Current (r = 0.97) and is 3.1x less
          noisy than that derivative"``);
        - ``lockin_phase_deg``: the phase of an in-phase signal, NaN for a channel as recorded;
        - ``channel_agreement``: Pearson r of the grid with the numerical dI/dV of the current
          (:func:`stswidgets.io.channel_candidates` lists every channel's), NaN without a
          current or for the current's own derivative;
        - ``n_saturated_spectra``: spectra with a saturated amplifier output (kept in the grid,
          left out of the phase fit and the agreement); for the derivative of a current, the
          spectra whose current sits at its rail for several points; at least the
          ``n_clipped_spectra`` the reader recorded;
        - ``derived`` (only for the derivative of a current): ``"numerical derivative of
          <channel> along the bias"``;
        - ``positions`` (only where the file records no positions, e.g. a Createc grid
          without its ``.specgrid.dat``): :data:`PIXEL_POSITIONS`, x/y are pixel indices;
        - ``empty_channels`` (only where the file has some): the all-zero/NaN channels left
          out (here, or by the reader), separated by ``"; "``;
        - the scan geometry ``scan_angle_deg``, ``scan_center_x_nm``, ``scan_center_y_nm``,
          ``scan_width_nm``, ``scan_height_nm``, ``scan_pattern`` (see :func:`read_3ds`;
          derived from x/y by :func:`stswidgets.io.scan_attrs` where none are recorded).

        Unmeasured pixels are NaN.

    Raises
    ------
    ChannelError
        Unknown, ambiguous or empty ``channel`` (the message lists the channels), or no dI/dV
        channel.
    FormatError
        A damaged or unknown file (the message lists the supported formats), spectra that
        are not on a grid (points, a line, repeats: open those with
        :func:`stswidgets.io.open_spectra`), or a sweep that is not the bias (e.g. Z
        spectroscopy, which :func:`read_3ds` reads but which is no grid of spectra against
        bias).

    Warns
    -----
    UserWarning
        When the default signal agrees poorly with the numerical dI/dV (r below 0.5): it may
        be noise (a lock-in X whose phase is off) or the lock-in may be saturated.
    """
    if isinstance(path_or_dataset, str | Path):
        try:
            return _open_grid(path_or_dataset, channel)
        except GridError as error:  # values no grid can hold: the file is damaged
            raise FormatError(f"{path_or_dataset}: {error}") from None
    return _open_grid(path_or_dataset, channel)


def _open_grid(path_or_dataset, channel: str | None) -> xr.DataArray:
    dataset, source = as_dataset(path_or_dataset)
    if SPECTRA_VIEW in dataset.attrs:
        geometry = dataset.attrs[SPECTRA_VIEW] or "points"
        raise FormatError(
            f"{source or 'the dataset'} holds {dataset.sizes['x']} spectra that are not on a "
            f"grid (geometry {geometry!r}); open it with stswidgets.open_spectra(...) (or "
            "stswidgets.io.open_measurement(...), which opens grids and spectra alike)"
        )
    return grid_from_dataset(dataset, source, channel)


def grid_from_dataset(dataset: xr.Dataset, source: str, channel: str | None) -> xr.DataArray:
    """The grid of one channel of a Dataset with ``(y, x, bias)`` variables (see
    :func:`open_grid`; the channel choice :func:`stswidgets.io.open_spectra` shares)."""
    label = source or "the dataset"
    spectra = Spectra(dataset, label)
    evaluation = Evaluation(spectra)
    if channel is not None:
        names = spectra.names + spectra.empty
        name = _channels.find_channel(names, {**spectra.full, **_full(spectra)}, channel, label)
        if name in spectra.empty:
            raise ChannelError(
                f"channel {name!r} of {label} is all zeros or NaN (no data was recorded); "
                f"channels with data: {', '.join(map(repr, spectra.names))}"
            )
        chosen = evaluation.score(evaluation.candidates[spectra.names.index(name)])
    else:
        chosen = evaluation.default()
        if chosen is None:
            chosen = _fallback(evaluation, label)
        elif evaluation.agrees_poorly(chosen):
            warnings.warn(_poor_agreement(chosen, evaluation, label), stacklevel=3)
    chosen.reason = evaluation.explain(chosen, requested=channel is not None)
    attrs = _grid_attrs(dataset, chosen)
    attrs["channel_mean_agreement"] = float(evaluation.mean_agreement(chosen))
    for key, to_mV in SETPOINT_BIAS_KEYS:  # the header, or a grid saved by save_grid
        value = _number(dataset[chosen.sources[0]].attrs.get(key, dataset.attrs.get(key)))
        if value is not None:
            attrs["setpoint_bias_mV"] = value * to_mV
            break
    if pixel_positions(dataset):
        attrs["positions"] = PIXEL_POSITIONS
    empty = [*_channels_listed(dataset.attrs.get("empty_channels")), *spectra.empty]
    if empty:  # left out by the reader, or here
        attrs["empty_channels"] = "; ".join(dict.fromkeys(empty))
    first = chosen.sources[0]
    description = chosen.label
    if chosen.kind == "numerical dI/dV":  # the plain derivative, not the smoothed reference
        values = np.gradient(spectra.values(first), spectra.bias_mV / 1e3, axis=-1)
        description = f"d({spectra.full[first]})/dV"
        attrs["derived"] = f"numerical derivative of {spectra.full[first]} along the bias"
    else:
        values = chosen.values(spectra)
    didv = chosen.kind in ("dI/dV", "lock-in", "in-phase", "auxiliary lock-in", "numerical dI/dV")
    values, x_nm, y_nm = _ascending(
        values, axis_nm(dataset, "x", label), axis_nm(dataset, "y", label), label
    )
    grid = make_grid(
        np.asarray(values, dtype=np.float32),
        spectra.bias_mV,
        x_nm,
        y_nm,
        name="didv" if didv else str(first),
        units=chosen.units,
        channel=description,
        source=source or str(dataset[first].attrs.get("source", "")),
    )
    grid.attrs.update(attrs)
    grid.attrs.update(scan_attrs(grid))
    return grid


def _ascending(values: np.ndarray, x_nm, y_nm, label: str):
    """Values and x/y with both axes ascending (a descending axis is reversed, data with it)."""
    for axis, name in ((1, "x"), (0, "y")):
        coords = x_nm if name == "x" else y_nm
        if coords is None or coords.size < 2 or np.all(np.diff(coords) > 0):
            continue
        if not np.all(np.diff(coords) < 0):
            raise FormatError(
                f"{label}: the {name} coordinates are not unique and monotonic "
                f"({coords[:4].tolist()} ...); a grid needs one position per column/row"
            )
        values = np.flip(values, axis=axis)
        coords = coords[::-1]
        x_nm, y_nm = (coords, y_nm) if name == "x" else (x_nm, coords)
    return values, x_nm, y_nm


def _fallback(evaluation: Evaluation, label: str) -> Candidate:
    """Without a lock-in: the current's derivative, or the only channel there is."""
    spectra = evaluation.spectra
    if evaluation.current is not None:
        return evaluation.score(evaluation.candidates[-1])  # counts the current's clipped spectra
    if len(spectra.names) == 1:
        return evaluation.score(evaluation.candidates[0])
    raise ChannelError(
        f"{label} has no lock-in (dI/dV) or Current channel; choose one with channel=: "
        f"{', '.join(map(repr, spectra.names))}"
    )


def _channels_listed(value) -> list[str]:
    """A reader's ``empty_channels`` attr (a list, or text separated by ``;`` or ``,``)."""
    if value is None:
        return []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    separator = ";" if ";" in str(value) else ","
    return [part.strip() for part in str(value).split(separator) if part.strip()]


def _full(spectra: Spectra) -> dict[str, str]:
    """Full names of the empty channels too (for a clear message when one is asked for)."""
    return {n: str(spectra.dataset[n].attrs.get("channel", n)) for n in spectra.empty}


def _poor_agreement(chosen: Candidate, evaluation: Evaluation, label: str) -> str:
    current = evaluation.spectra.full[evaluation.current]
    return (
        f"{label}: the default dI/dV signal {chosen.label!r} agrees poorly with the numerical "
        f"dI/dV of {current!r} (Pearson r = {chosen.agreement:.2f} < {POOR_AGREEMENT}, and "
        f"{evaluation.mean_agreement(chosen):.2f} on the smoothed mean spectra); it may "
        "be noise, a saturated or mis-set lock-in, or the current may be too noisy to tell. "
        "Compare every channel with stswidgets.io.channel_candidates(...) (notebook 01) and "
        "choose one with channel=."
    )


def _number(value) -> float | None:
    """``value`` as a finite float, or None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def _grid_attrs(dataset: xr.Dataset, chosen: Candidate) -> dict:
    """Phase, agreement, saturation and geometry attrs of the grid (netCDF-storable)."""
    var_attrs = dataset[chosen.sources[0]].attrs
    attrs = {
        "lockin_phase_deg": float(chosen.phase_deg),
        "channel_agreement": float(chosen.agreement),
        "n_saturated_spectra": int(chosen.n_saturated),
        "channel_reason": chosen.reason,
    }
    if chosen.kind == "dI/dV" and "lockin_phase_deg" in var_attrs:  # a grid saved before
        attrs["lockin_phase_deg"] = float(var_attrs["lockin_phase_deg"])
        if not np.isfinite(attrs["channel_agreement"]):
            attrs["channel_agreement"] = float(var_attrs.get("channel_agreement", np.nan))
        attrs["n_saturated_spectra"] = int(var_attrs.get("n_saturated_spectra", 0))
    for key in GEOMETRY_ATTRS:  # recorded by a reader; scan_attrs derives any missing
        value = var_attrs.get(key, dataset.attrs.get(key))
        if value is not None:
            attrs[key] = value
    return attrs


def save_grid(grid: xr.DataArray, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a grid as ``.npz`` or ``.nc`` (by the suffix), readable by :func:`open_grid`.

    Raises FileExistsError for an existing ``path`` unless ``overwrite=True``.
    """
    validate_grid(grid)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    suffix = path.suffix.lower()
    attrs = {key: _plain(grid.attrs[key]) for key in GRID_ATTRS if key in grid.attrs}
    if suffix == ".npz":
        with open(path, "wb") as file:
            np.savez(
                file,
                didv=np.asarray(grid.values),
                bias_mV=np.asarray(grid["bias"].values, dtype=float),
                x_nm=np.asarray(grid["x"].values, dtype=float),
                y_nm=np.asarray(grid["y"].values, dtype=float),
                attrs=np.array(json.dumps(attrs)),
            )
    elif suffix == ".nc":
        grid.to_netcdf(path)
    else:
        raise ValueError(f"{path}: save_grid writes .npz or .nc, not {suffix!r}")
    return path


def _plain(value):
    """An attr value as a JSON number or string."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)
