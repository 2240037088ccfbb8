"""Reading Createc spectroscopy grids (``.specgrid``): :func:`read_specgrid`.

A small reader of our own: no maintained Python package reads ``.specgrid`` files (the
``createc`` package reads ``.dat`` images and ``.vert`` spectra only). The layout follows the
``ReadSpecGrid`` Matlab reader distributed with Createc files and the Kondo-Aalto analysis code
(abekipnis/Kondo-Aalto), checked byte by byte against a real file:

- **header**, 1024 bytes: 256 little-endian int32 slots, of which the first 29 are used
  (:data:`HEADER_FIELDS`): ``version``, the image ``nx``/``ny``/``dx``/``dy``,
  ``specxgrid``/``specygrid``, ``vertpoints`` (samples per spectrum), ``vertmandelay``,
  ``vertmangain``, ``biasvoltage`` (float32, mV) and ``tunnelcurrent`` (float32, A) of the
  feedback set-point, ``imagedatasize``, ``specgriddatasize``, ``specgridchan`` (channels per
  sample), ``specgridchannelselectval`` (which channels: a bit mask), ``specgriddatasize64``
  (int64), ``xstart``/``xend``/``ystart``/``yend``, ``specgridchannelselectval2``,
  ``specgridnx``/``specgridny`` (the grid), ``specgriddx``/``specgriddy`` (its step in image
  pixels) and ``specgridcenterx``/``specgridcentery`` (its centre in image pixels);
- **sweep table**, ``vertpoints`` rows of float32 output values: bias (mV), Z and, in newer
  versions, a third output (3 columns in the real file; a file whose size only fits 2 columns
  is read with 2);
- **spectra**, float32, point after point (x fastest, row 0 first), each ``vertpoints`` samples
  of ``specgridchan`` interleaved channels. A grid stopped early ends after its last spectrum;
  a file cut inside a spectrum keeps that spectrum's whole samples (NaN after, invalid).

Channels are named by the bits of ``specgridchannelselectval`` in Createc's Vertman order
(:data:`CHANNEL_BITS`: bit 0 the current, bit 1 the lock-in X, bit 2 its second harmonic, ...;
the same order as the ``I, dI/dV, d2I/dV2, ADC0..3`` columns of ``.vert`` files), or, where the
mask does not name ``specgridchan`` channels, ``"Current"`` then ``"Channel 1"``, ... Values are
raw ADC counts (units ``"ADC"``): neither file records the converter range needed for amperes.

Physical positions are in the companion ``NAME.specgrid.dat`` (see
:mod:`stswidgets.io.createc.companion`), read when it is beside the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _geometry, _rules
from stswidgets.io.createc import companion as _createc_dat
from stswidgets.io.errors import FormatError
from stswidgets.io.lockin import saturated_spectra

__all__ = [
    "CHANNEL_BITS",
    "HEADER_BYTES",
    "HEADER_FIELDS",
    "grid_size",
    "looks_like",
    "read_specgrid",
]

HEADER_BYTES = 1024
HEADER_FIELDS = np.dtype(
    [(name, "<i4") for name in ("version", "nx", "ny", "dx", "dy", "specxgrid", "specygrid")]
    + [(name, "<i4") for name in ("vertpoints", "vertmandelay", "vertmangain")]
    + [("biasvoltage", "<f4"), ("tunnelcurrent", "<f4")]
    + [(name, "<i4") for name in ("imagedatasize", "specgriddatasize", "specgridchan")]
    + [("specgridchannelselectval", "<i4"), ("specgriddatasize64", "<i8")]
    + [(name, "<i4") for name in ("xstart", "xend", "ystart", "yend")]
    + [("specgridchannelselectval2", "<i4"), ("specgridnx", "<i4"), ("specgridny", "<i4")]
    + [(name, "<i4") for name in ("specgriddx", "specgriddy", "specgridcenterx")]
    + [("specgridcentery", "<i4")]
)
# (variable name, channel name as Createc's Vertman lists it) by bit of the channel mask
CHANNEL_BITS = (
    ("Current", "Current"),
    ("Lock-in X", "Lock-in X"),
    ("d2I/dV2 X", "Lock-in X(2f)"),  # second harmonic: no dI/dV, so not named "Lock-in"
    ("ADC0", "ADC0"),
    ("ADC1", "ADC1"),
    ("ADC2", "ADC2"),
    ("ADC3", "ADC3"),
    ("df", "df"),
    ("Damping", "Damping"),
    ("Amplitude", "Amplitude"),
    ("Lock-in Y", "Lock-in Y"),
    ("d2I/dV2 Y", "Lock-in Y(2f)"),
)
TABLE_COLUMNS = (3, 2)  # sweep-table widths tried first (then one per channel, if other)
_MAX_COUNT = 1 << 24  # header counts above this are no Createc header


def _fields(data: bytes) -> dict:
    record = np.frombuffer(data, dtype=HEADER_FIELDS, count=1)[0]
    return {name: record[name].item() for name in HEADER_FIELDS.names}


def _plausible(fields: dict) -> bool:
    counts = ("nx", "ny", "vertpoints", "specgridchan")
    if not all(0 < fields[name] < _MAX_COUNT for name in counts):
        return False
    if not all(0 < n < _MAX_COUNT for n in grid_size(fields)):
        return False
    if not 0 <= fields["version"] < _MAX_COUNT or fields["specgridchan"] > 64:
        return False
    if not all(0 <= fields[name] < _MAX_COUNT for name in ("xstart", "xend", "ystart", "yend")):
        return False
    return bool(np.isfinite([fields["biasvoltage"], fields["tunnelcurrent"]]).all())


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Createc ``.specgrid`` file.

    Decided by the binary header: plausible counts (image and grid sizes, samples per
    spectrum, 1-64 channels), finite set-point bias and current, and either the unused slots
    29-255 all zero or a channel mask with one bit per channel.
    """
    if len(head) < HEADER_BYTES or not _plausible(fields := _fields(head)):
        return False
    unused = np.frombuffer(head, dtype="<i4", count=256)[29:]
    mask = fields["specgridchannelselectval"]
    return not unused.any() or bin(mask & 0xFFFFFFFF).count("1") == fields["specgridchan"]


def grid_size(fields: dict) -> tuple[int, int]:
    """``(nx, ny)`` of the grid: ``specgridnx/ny``, or ``xend/yend`` where those are 0 (the
    fields older files may leave unset)."""
    nx, ny = fields["specgridnx"], fields["specgridny"]
    return (nx if nx > 0 else fields["xend"]), (ny if ny > 0 else fields["yend"])


def _channel_names(fields: dict) -> list[tuple[str, str]]:
    mask, n = fields["specgridchannelselectval"], fields["specgridchan"]
    bits = [bit for bit in range(32) if mask >> bit & 1]
    if len(bits) == n and bits[-1] < len(CHANNEL_BITS):
        return [CHANNEL_BITS[bit] for bit in bits]
    return [("Current", "Current")] + [(f"Channel {k}", f"Channel {k}") for k in range(1, n)]


def _table_width(data: bytes, fields: dict, path: Path) -> tuple[int, int, int]:
    """Sweep-table columns, the number of whole spectra in the file and the samples of a last
    spectrum the file ends inside (0 when it ends after a whole spectrum).

    Of the widths whose payload fits the grid, the one whose bias column is smooth (a wrong
    width interleaves the other columns); a whole number of spectra first where they tie.
    """
    (nx, ny), points = grid_size(fields), fields["vertpoints"]
    n_grid, spectrum_bytes = nx * ny, 4 * points * fields["specgridchan"]
    widths = TABLE_COLUMNS + (
        () if fields["specgridchan"] in TABLE_COLUMNS else (fields["specgridchan"],)
    )
    whole, cut = [], []
    for width in widths:
        payload = len(data) - HEADER_BYTES - 4 * points * width
        if 0 <= payload <= n_grid * spectrum_bytes:
            fit = (
                width,
                payload // spectrum_bytes,
                payload % spectrum_bytes // (spectrum_bytes // points),
            )
            (cut if payload % spectrum_bytes else whole).append(fit)
    fits = whole + cut  # a whole number of spectra first where the bias columns tie
    if len(fits) > 1:  # the right width reads a smooth bias column, the wrong one interleaves
        roughness = [np.abs(np.diff(_table(data, points, fit[0])[:, 0])).sum() for fit in fits]
        fits = [fits[int(np.argmin(roughness))]]
    if not fits or (fits[0][2] and not fits[0][1]):
        payload = len(data) - HEADER_BYTES - 4 * points * TABLE_COLUMNS[0]
        raise FormatError(
            f"{path}: truncated or damaged: after the {HEADER_BYTES}-byte header and the sweep "
            f"table ({points} x {TABLE_COLUMNS[0]} float32) the file holds {payload} bytes, not "
            f"one whole spectrum of {spectrum_bytes} bytes ({points} samples x "
            f"{fields['specgridchan']} channels x 4 bytes) and at most the {nx} x {ny} grid"
        )
    return fits[0]


def _table(data: bytes, points: int, width: int) -> np.ndarray:
    table = np.frombuffer(data, "<f4", count=points * width, offset=HEADER_BYTES)
    return table.reshape(points, width).astype(float)


def _settling(bias: np.ndarray) -> int:
    """Samples of the settling hold: the leading repeats of the first bias (0 if none)."""
    same = np.isclose(bias, bias[0], rtol=0, atol=1e-6 * max(np.abs(bias).max(), 1e-12))
    n_hold = int(np.argmin(same)) if not same.all() else bias.size
    return n_hold if n_hold >= 2 else 0


def _directions(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Sample indices of the sweep and, for a sweep that comes back over the same biases,
    of the return sweep in the order of the first (None otherwise)."""
    n = bias.size
    atol = 1e-6 * max(np.abs(bias).max(), 1e-12)
    for half, shared in ((n // 2, 0), ((n + 1) // 2, 1)):  # turning point twice / once
        if half < 2 or 2 * half - shared != n:
            continue
        back = np.arange(n - 1, half - 1 - shared, -1)
        if np.allclose(bias[:half], bias[back], rtol=0, atol=atol) and np.ptp(bias[:half]) > 0:
            return np.arange(half), back
    return np.arange(n), None


def _sweep(bias: np.ndarray, path: Path) -> tuple[int, np.ndarray, np.ndarray | None]:
    """Settling-hold samples, then the sweep's and the return sweep's sample indices after
    the hold (see :func:`_directions`), of the sweep table's bias column."""
    _rules.check_sweep(path, bias, "mV", "sweep table's bias column", constant_ok=True)
    n_hold = _settling(bias)
    if n_hold == bias.size:
        raise FormatError(
            f"{path}: every sample of the sweep table is at {bias[0]:g} mV: a time or Z "
            "series at fixed bias, not a bias sweep"
        )
    forward, backward = _directions(bias[n_hold:])
    for samples in (forward, backward):
        if samples is not None:
            sweep = bias[n_hold:][samples]
            _rules.check_sweep(path, sweep, "mV", "sweep table's bias column", monotonic=True)
    return n_hold, forward, backward


def _incomplete(raw: np.ndarray, data_channels: list[int]):
    """Per spectrum, the sample from which it is missing (``vertpoints`` when complete), by
    the completeness rule of :mod:`stswidgets.io._rules` over the data channels; and that
    rule's :class:`~stswidgets.io._rules.Completeness`."""
    found = _rules.measured_points([raw[:, :, k] for k in data_channels])
    return found.points, found


def read_specgrid(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read a Createc spectroscopy grid (``.specgrid``).

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.specgrid`` file; a ``.specgrid.dat`` beside it gives the positions.
    strict : bool
        Raise :class:`FormatError` for an aborted grid instead of warning.

    Returns
    -------
    xarray.Dataset
        - one float32 variable per recorded channel, dims ``(y, x, bias)``, named by the channel
          mask (``"Current"``, ``"Lock-in X"``, ...; see :data:`CHANNEL_BITS`), attrs ``units``
          ``"ADC"`` (raw counts), ``channel`` (Createc's name) and ``n_clipped_spectra``;
          channel slots that are 0.0 in every spectrum (empty lock-in slots) are left out and
          named in ``attrs["empty_channels"]`` (``"; "``-separated). A sweep that returns over
          the same biases gives a second variable ``"<name> [bwd]"`` on the same ``bias``;
        - ``bias`` in mV in the file's sweep order, the settling hold (leading samples at the
          first bias) dropped: ``attrs["n_settling_points"]``;
        - ``valid``: bool ``(y, x)``, False for spectra not in the file or cut short by the
          completeness rule of :mod:`stswidgets.io._rules` (a first NaN, all zeros, a run
          of zeros at the end in every recorded channel), which are NaN (the cut-off part;
          all of a spectrum never measured);
        - ``x``/``y``: with the ``.specgrid.dat`` companion, nm (offsets from the grid centre
          along the grid axes when the scan is rotated, see :mod:`stswidgets.io._geometry`)
          and the ``scan_*`` attrs; without it, the pixel index (units ``"pixel"``),
          ``scan_width_nm``/``scan_height_nm``/``scan_center_*_nm`` NaN and
          ``attrs["positions"]`` saying so;
        - ``attrs``: the header fields (:data:`HEADER_FIELDS`); the companion's entries as
          ``dat_<name>`` (:func:`stswidgets.io.createc.companion.companion_attrs`); ``vendor``
          ``"Createc"``, ``format`` ``"Createc specgrid"``, ``setpoint_bias_mV``,
          ``setpoint_current_A``, ``n_settling_points``, ``sweep_table_columns``, ``z_ramp``,
          ``empty_channels``, ``positions``. ``encoding["source"]`` is the path. All are
          netCDF-storable (``Dataset.to_netcdf`` works).

    Raises
    ------
    FormatError
        A header that is no Createc specgrid header, a payload without one whole spectrum or
        larger than the grid, a header grid far beyond the file's size, a sweep table
        without a bias sweep or whose bias column is not finite, beyond 100 V or not
        monotonic (a damaged table), or an aborted grid (also a file cut inside a spectrum)
        with ``strict=True``.

    Warns
    -----
    UserWarning
        For an aborted grid: how many of the grid's spectra are incomplete.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < HEADER_BYTES or not _plausible(fields := _fields(data)):
        raise FormatError(
            f"{path}: no Createc specgrid header (1024 bytes of int32 counts: image and grid "
            "sizes, samples per spectrum, 1-64 channels)"
        )
    points, n_channels = fields["vertpoints"], fields["specgridchan"]
    nx, ny = grid_size(fields)
    _rules.check_allocation(
        path,
        8 * points * nx * ny * n_channels,
        len(data),
        f"a {nx} x {ny} grid of {points} samples x {n_channels} channels",
    )
    width, n_done, n_samples = _table_width(data, fields, path)
    table = _table(data, points, width)
    n_hold, forward, backward = _sweep(table[:, 0], path)
    raw = np.full((nx * ny, points, n_channels), np.nan, dtype=np.float32)
    offset = HEADER_BYTES + 4 * points * width
    count = (n_done * points + n_samples) * n_channels
    payload = np.frombuffer(data, "<f4", count=count, offset=offset)
    raw.reshape(-1)[:count] = payload  # a last spectrum the file ends inside: NaN from there
    n_read = n_done + (n_samples > 0)

    names = _channel_names(fields)
    empty = [k for k in range(n_channels) if n_read and not np.nan_to_num(raw[:n_read, :, k]).any()]
    kept = [k for k in range(n_channels) if k not in empty] or [0]
    cut, found = _incomplete(raw[:n_read], kept)
    for pixel in np.flatnonzero(cut < points):
        raw[pixel, cut[pixel] :] = np.nan
    n_bad = int(np.sum(cut < points)) + nx * ny - n_read
    if n_bad:
        ends = f", the file ends inside spectrum {n_done + 1}" if n_samples else ""
        _rules.warn_or_raise(
            f"{path}: aborted grid, {n_bad} of {nx * ny} spectra incomplete ({nx * ny - n_read} "
            f"not in the file, {int(np.sum(cut < points))} cut short{ends}"
            f"{found.note(points)}); they are NaN and marked invalid",
            strict,
        )

    data_vars = {}
    for k in kept:
        name, channel = names[k]
        sweeps = [("", forward)] + ([(" [bwd]", backward)] if backward is not None else [])
        for tag, samples in sweeps:
            values = raw[:, n_hold + samples, k].reshape(ny, nx, samples.size)
            attrs = {"units": "ADC", "channel": channel + tag}
            attrs["n_clipped_spectra"] = int(saturated_spectra(values).sum())
            data_vars[name + tag] = (("y", "x", "bias"), values, attrs)
    valid = np.isfinite(raw[:, n_hold:, kept]).all(axis=(1, 2)).reshape(ny, nx)
    data_vars["valid"] = (("y", "x"), valid, {"long_name": "spectrum complete"})
    bias = table[n_hold:, 0][forward]
    coords = {"bias": ("bias", bias, {"units": "mV", "long_name": "bias"})}
    attrs = dict(fields)
    attrs.update(
        vendor="Createc",
        format="Createc specgrid",
        setpoint_bias_mV=float(fields["biasvoltage"]),
        setpoint_current_A=float(fields["tunnelcurrent"]),
        n_settling_points=n_hold,
        sweep_table_columns=width,
        z_ramp="none" if not table[:, 1].any() else "Z column of the sweep table is not zero",
        empty_channels="; ".join(names[k][1] for k in range(n_channels) if k not in kept),
    )
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset = _positions(dataset, path, fields)
    dataset.encoding["source"] = str(path)
    return dataset


def _positions(dataset: xr.Dataset, path: Path, fields: dict) -> xr.Dataset:
    """x/y and the ``scan_*`` attrs: from the companion ``.specgrid.dat``, else pixel indices."""
    companion = _createc_dat.companion_path(path)
    header = _createc_dat.read_dat_header(companion) if companion.is_file() else {}
    frame = _createc_dat.grid_frame(header, fields, grid_size(fields)) if header else None
    dataset.attrs.update(_createc_dat.companion_attrs(header))
    if frame is not None:
        dataset.attrs["positions"] = f"from {companion.name}"
        return _geometry.scan_geometry(dataset, frame)
    ny, nx = dataset.sizes["y"], dataset.sizes["x"]
    why = (
        "no .specgrid.dat beside the file"
        if not header
        else f"{companion.name} gives no Length x[A]/Num.X, Length y[A]/Num.Y"
    )
    dataset = dataset.assign_coords(
        y=("y", np.arange(ny, dtype=float), {"units": "pixel", "long_name": "y pixel index"}),
        x=("x", np.arange(nx, dtype=float), {"units": "pixel", "long_name": "x pixel index"}),
    )
    nan = float("nan")
    geometry = (0.0, nan, nan, nan, nan, "raster")
    dataset.attrs.update(zip(_geometry.GEOMETRY_ATTRS, geometry, strict=True))
    dataset.attrs["positions"] = f"pixel index ({why})"
    return dataset
