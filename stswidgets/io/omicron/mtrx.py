"""Reading Omicron MATRIX native spectroscopy files: :func:`read_mtrx`, :func:`read_mtrx_chain`.

MATRIX writes an experiment as a **result file chain** ``<stem>_0001.mtrx`` (``_0002.mtrx``
...: the parameters of every run, binary, ``ONTMATRX0101`` then ``ATEM``) and one **data file**
per measured channel and cycle, ``<stem>--<run>_<scan>.<channel>_mtrx`` (``ONTMATRX0101`` then
``TLKB``): ``I(V)_mtrx`` a bias spectroscopy curve, ``I(t)_mtrx`` a time trace, ``Z_mtrx`` an
image. ``access2thematrix`` (0.4.4, PyPI; imported only here) parses them: ``MtrxData().open``
on a data file (it finds the chain beside it), ``select_curve("trace" | "retrace")``. This
module adds what the toolkit needs around it:

- **one data file** (``--2_1.I(V)_mtrx``) is one spectrum: the channel (``"I(V)"``, units from
  the chain, ``A``) and, where MATRIX reversed the ramp, ``"I(V) [bwd]"`` (the retrace, put
  back on the trace's bias order); bias in V from ``Spectroscopy.Device_1_Start/End/Points``.
  A curve stopped early keeps what it measured, the rest NaN (a warning names the file:
  the real retrace of ``--2_1`` stops after 25 of 481 points);
- **the result file** (``_0001.mtrx``) gives every bias curve of the chain (the
  ``<stem>--*_*.*(V)_mtrx`` files beside it, ordered by run and scan cycle) as one collection,
  ``geometry="points"``; the tip position of each curve is the chain's ``MTRX.STS_LOCATION``
  (m, turned into nm), NaN where the chain records none (``attrs["positions"]`` says so).
  Time traces (``I(t)``) are left out (``attrs["skipped_files"]``), a curve of a single
  sample (aborted) too, with a warning naming it;
- **spectra of different bias axes** cannot share a ``bias`` coordinate: :func:`read_mtrx`
  refuses such a chain with a :class:`~stswidgets.io.errors.FormatError` naming the files of
  each axis; :func:`read_mtrx_chain` returns **one collection per bias axis** (the real chain
  holds three: 189, 481 and 1421 points from -10 V to +10 V);
- **CITS volumes** (``XYScanner.Enable_Subgrid``): access2thematrix exposes them
  (``volume_scan``), but no real file is at hand to check the layout against, so they are
  refused with a FormatError pointing to the Igor export MATRIX writes of them (``.ibw``,
  read by :func:`stswidgets.io.omicron.read_ibw`); images likewise (no spectroscopy).

Every failure of access2thematrix on a damaged file (it may raise anything, return an error
message or print) becomes a FormatError naming the file; the ramp's point count is checked
against the file's size before access2thematrix allocates it.
"""

from __future__ import annotations

import contextlib
import glob
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _rules
from stswidgets.io.errors import FormatError

__all__ = ["MAGIC", "looks_like", "read_mtrx", "read_mtrx_chain"]

MAGIC = b"ONTMATRX0101"
_RESULT_TAG, _DATA_TAG = b"ATEM", b"TLKB"
_DATA_NAME = re.compile(r"^(?P<stem>.+)--(?P<run>\d+)_(?P<scan>\d+)\.(?P<channel>.+)_mtrx$")
_RESULT_NAME = re.compile(r"^(?P<stem>.+)_(?P<link>\d{4})\.mtrx$")
_NM_PER_M = 1e9


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is an Omicron MATRIX file (a result file or a
    data file): ``ONTMATRX0101`` then ``ATEM`` or ``TLKB``."""
    return head.startswith(MAGIC) and head[12:16] in (_RESULT_TAG, _DATA_TAG)


@dataclass
class _Curve:
    """One bias curve of a data file, as read."""

    path: Path
    channel: str
    units: str
    bias: np.ndarray  # the ramp, V
    trace: np.ndarray  # on the ramp, NaN where not measured
    retrace: np.ndarray | None
    n_trace: int  # samples measured
    n_retrace: int
    location_nm: tuple[float, float]
    attrs: dict


def _matrix_class():
    """access2thematrix's ``MtrxData`` with the ramp's point count checked before it
    allocates anything (a damaged count would ask for terabytes)."""
    from access2thematrix import MtrxData

    class _CheckedMtrxData(MtrxData):
        refused: FormatError | None = None  # kept: access2thematrix swallows exceptions

        def _cu_data(self):
            for device in ("Device_1", "Device_2"):
                points = self.param.get(f"EEPA::Spectroscopy.{device}_Points", [0])[0]
                try:
                    _rules.check_allocation(
                        self.result_data_file,
                        16 * int(points),
                        self._file_bytes,
                        f"a spectroscopy ramp of {points} points ({device}_Points)",
                    )
                except FormatError as error:
                    self.refused = error
                    raise
            return super()._cu_data()

        def _im_data(self):  # images are refused before; never allocate one from a header
            raise FormatError(f"{self.result_data_file}: a MATRIX image, not spectroscopy")

        def _vol_cits_data(self, traces):  # CITS volumes are refused: allocate nothing
            return None

    return _CheckedMtrxData


def _open(path: Path):
    """``(MtrxData, traces)`` of a data file; FormatError naming it for anything that fails."""
    name = _DATA_NAME.match(path.name)
    if name is None or "(" not in name["channel"]:
        raise FormatError(
            f"{path}: not a MATRIX spectroscopy data file (<stem>--<run>_<scan>.<channel>"
            "_mtrx with a curve channel such as I(V)); images (Z_mtrx, I_mtrx) hold no spectra"
        )
    matrix = _matrix_class()()
    matrix._file_bytes = path.stat().st_size
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traces, message = matrix.open(str(path))
    except FormatError:
        raise
    except Exception as error:  # access2thematrix raises anything on damaged files
        raise FormatError(
            f"{path}: access2thematrix cannot read this MATRIX data file "
            f"({type(error).__name__}: {error}); it is damaged or incomplete"
        ) from error
    if matrix.refused is not None:
        raise matrix.refused
    if not str(message).startswith("Successfully"):
        result = path.with_name(f"{name['stem']}_0001.mtrx")
        hint = "" if result.is_file() else f"; the result file {result.name} must be beside it"
        raise FormatError(f"{path}: access2thematrix: {message}{hint}")
    return matrix, list(traces.values())


def _curve(path: Path) -> _Curve:
    """The bias curve of one data file (FormatError for anything else)."""
    matrix, traces = _open(path)
    if matrix.object_type == "volume CITS":
        raise FormatError(
            f"{path}: a MATRIX CITS volume; stswidgets does not read native CITS volumes "
            "yet: export it from MATRIX as Igor waves (.ibw) and open those"
        )
    if matrix.object_type != "curve":
        raise FormatError(f"{path}: a MATRIX {matrix.object_type or 'file'} without spectra")
    mode = getattr(matrix, "curve_mode", "")
    unit = matrix.x_data_name_and_unit[1]
    if "(V)" not in matrix.channel_name or unit != "Volt":
        raise FormatError(
            f"{path}: a MATRIX {matrix.channel_name} curve ({mode}, x in {unit}), not a bias sweep"
        )
    bias = np.asarray(matrix.scan[0], dtype=float)
    _rules.check_sweep(path, bias, "V", "bias ramp")
    values = {}
    for trace in ("trace", "retrace"):
        if trace not in traces:
            continue
        curve, _ = matrix.select_curve(trace)
        found = np.full(bias.size, np.nan)
        x, y = np.asarray(curve.data, dtype=float)
        if x.size:  # a retrace stopped early covers the end of the ramp
            start = int(np.argmin(np.abs(bias - x[0])))
            found[start : start + y.size] = y
        values[trace] = (found, y.size)
    location = getattr(matrix.select_curve(traces[0])[0], "referenced_by", {})
    location_nm = tuple(float(v) * _NM_PER_M for v in location.get("Location (m)", [np.nan] * 2))
    param = matrix.param
    attrs = {
        "setpoint_bias_mV": 1e3 * float(param.get("EEPA::GapVoltageControl.Voltage", [np.nan])[0]),
        "setpoint_current_A": float(param.get("EEPA::Regulator.Setpoint_1", [np.nan])[0]),
        "sample_name": str(param.get("MARK::MTRX.SAMPLE_NAME", "")),
        "data_set_name": str(param.get("MARK::MTRX.DATA_SET_NAME", "")),
        "image_comment": str(param.get("MARK::MTRX.IMAGE_COMMENT", "")),
    }
    trace, n_trace = values["trace"]
    retrace, n_retrace = values.get("retrace", (None, 0))
    return _Curve(
        path=path,
        channel=matrix.channel_name,
        units=matrix.channel_name_and_unit[1],
        bias=bias,
        trace=trace,
        retrace=retrace,
        n_trace=n_trace,
        n_retrace=n_retrace,
        location_nm=location_nm,  # type: ignore[arg-type]
        attrs=attrs,
    )


def _warn_incomplete(curve: _Curve, strict: bool) -> None:
    parts = [
        f"{name} stops after {n} of {curve.bias.size} points"
        for name, n, values in (
            ("trace", curve.n_trace, curve.trace),
            ("retrace", curve.n_retrace, curve.retrace),
        )
        if values is not None and n < curve.bias.size
    ]
    if parts:
        _rules.warn_or_raise(
            f"{curve.path}: aborted curve: the {' and the '.join(parts)}; the rest is NaN",
            strict,
            stacklevel=4,
        )


def _collection(curves: list[_Curve], source: Path, extra: dict | None = None) -> xr.Dataset:
    """The spectra reader Dataset of curves sharing one bias axis."""
    bias = curves[0].bias
    spectra = sorted({_cycle(c.path) for c in curves})
    data_vars = {}
    for channel in dict.fromkeys(c.channel for c in curves):
        of_channel = [c for c in curves if c.channel == channel]
        for tag, part in (("", "trace"), (" [bwd]", "retrace")):
            if all(getattr(c, part) is None for c in of_channel):
                continue
            values = np.full((len(spectra), bias.size), np.nan)
            for c in of_channel:
                if getattr(c, part) is not None:
                    values[spectra.index(_cycle(c.path))] = getattr(c, part)
            attrs = {"units": of_channel[0].units, "long_name": channel + tag}
            data_vars[channel + tag] = (("spectrum", "bias"), values, attrs)
    first = {s: next(c for c in curves if _cycle(c.path) == s) for s in spectra}
    x_nm = [first[s].location_nm[0] for s in spectra]
    y_nm = [first[s].location_nm[1] for s in spectra]
    coords = {
        "bias": ("bias", bias, {"units": "V", "long_name": "bias"}),
        "x": ("spectrum", x_nm, {"units": "nm", "long_name": "tip position x"}),
        "y": ("spectrum", y_nm, {"units": "nm", "long_name": "tip position y"}),
        "file": ("spectrum", [first[s].path.name for s in spectra]),
        "run_cycle": ("spectrum", [s[0] for s in spectra]),
        "scan_cycle": ("spectrum", [s[1] for s in spectra]),
    }
    located = np.isfinite(x_nm) & np.isfinite(y_nm)
    attrs = dict(curves[0].attrs)
    attrs.update(
        geometry="points",
        source=str(source),
        vendor="Omicron",
        format="Omicron MATRIX spectroscopy",
        positions=(
            "from the result chain (MTRX.STS_LOCATION)"
            if located.all()
            else f"NaN for {int((~located).sum())} curves: the result chain records no "
            "MTRX.STS_LOCATION for them"
        ),
    )
    attrs.update(extra or {})
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset.encoding["source"] = str(source)
    return dataset


def _cycle(path: Path) -> tuple[int, int]:
    match = _DATA_NAME.match(path.name)
    return (int(match["run"]), int(match["scan"])) if match else (0, 0)


def _is_result(path: Path) -> bool:
    with open(path, "rb") as file:
        head = file.read(16)
    if not looks_like(head):
        raise FormatError(f"{path}: not an Omicron MATRIX file (no ONTMATRX0101 signature)")
    return head[12:16] == _RESULT_TAG


def read_mtrx(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read an Omicron MATRIX data file (one curve) or result file (every curve of its chain).

    Parameters
    ----------
    path : str or pathlib.Path
        A data file (``<stem>--<run>_<scan>.I(V)_mtrx``; the result file chain
        ``<stem>_0001.mtrx`` must be beside it) or the result file ``<stem>_0001.mtrx``.
    strict : bool
        Raise :class:`FormatError` for an aborted curve instead of warning.

    Returns
    -------
    xarray.Dataset
        The spectra reader Dataset: one variable per channel (``"I(V)"``, units ``A``) and
        ``"<channel> [bwd]"`` for a reversed ramp, dims ``("spectrum", "bias")``, NaN where
        not measured; ``bias`` in V; along ``spectrum`` ``x``/``y`` (nm, NaN where the chain
        records none), ``file``, ``run_cycle``, ``scan_cycle``; attrs ``geometry``
        ``"points"``, ``source``, ``vendor``, ``format``, ``setpoint_bias_mV``,
        ``setpoint_current_A``, ``sample_name``, ``data_set_name``, ``image_comment``,
        ``positions`` (and for a chain ``skipped_files``).

    Raises
    ------
    FormatError
        A damaged or foreign file (anything access2thematrix fails on), a data file without
        its result file, a time trace, image or CITS volume, a curve of a single sample, or
        a chain whose curves have different bias axes (the message names the files of each
        axis; :func:`read_mtrx_chain` gives one collection per axis).
    """
    path = Path(path)
    if _is_result(path):
        collections = read_mtrx_chain(path, strict=strict)
        if len(collections) > 1:
            groups = "; ".join(
                f"{ds.sizes['bias']} points from {ds['bias'].values[0]:g} to "
                f"{ds['bias'].values[-1]:g} V: {', '.join(ds['file'].values)}"
                for ds in collections
            )
            raise FormatError(
                f"{path}: the chain's spectra have {len(collections)} different bias axes "
                f"({groups}); they cannot share one bias coordinate. Open one data file, or "
                "stswidgets.io.omicron.read_mtrx_chain(path) for one collection per axis"
            )
        return collections[0]
    curve = _curve(path)
    if curve.n_trace < 2:
        raise FormatError(
            f"{path}: the curve holds {curve.n_trace} sample of its {curve.bias.size}-point "
            "ramp (an aborted spectrum); no spectrum"
        )
    _warn_incomplete(curve, strict)
    return _collection([curve], path)


def read_mtrx_chain(path: str | Path, strict: bool = False) -> list[xr.Dataset]:
    """Every bias curve of a MATRIX result file chain, one collection per bias axis.

    Parameters
    ----------
    path : str or pathlib.Path
        The result file ``<stem>_0001.mtrx``; its data files ``<stem>--*_mtrx`` beside it.
    strict : bool
        Raise :class:`FormatError` for an aborted curve instead of warning.

    Returns
    -------
    list of xarray.Dataset
        One spectra reader Dataset (see :func:`read_mtrx`) per bias axis, in the order of
        their first run cycle; attrs ``skipped_files`` names the data files left out (time
        traces, images, curves of a single sample).

    Raises
    ------
    FormatError
        Not a result file, no bias curve in the chain, or a damaged data file.

    Warns
    -----
    UserWarning
        A curve of a single sample (left out), an aborted trace or retrace.
    """
    path = Path(path)
    match = _RESULT_NAME.match(path.name)
    if not _is_result(path) or match is None:
        raise FormatError(
            f"{path}: not a MATRIX result file (<stem>_0001.mtrx starting ONTMATRX0101ATEM)"
        )
    data_files = sorted(
        (f for f in path.parent.glob(f"{glob.escape(match['stem'])}--*_mtrx") if f.is_file()),
        key=lambda f: (_cycle(f), f.name),
    )
    curves, skipped = [], []
    for data_file in data_files:
        channel = _DATA_NAME.match(data_file.name)
        if channel is None or "(V)" not in channel["channel"]:
            skipped.append(f"{data_file.name} (no bias sweep)")
            continue
        try:
            curve = _curve(data_file)
        except FormatError as error:  # a damaged result file fails on its data files
            raise FormatError(f"{path}: reading its chain: {error}") from error
        if curve.n_trace < 2:
            skipped.append(f"{data_file.name} (a single sample)")
            warnings.warn(
                f"{data_file}: the curve holds {curve.n_trace} sample of its "
                f"{curve.bias.size}-point ramp (an aborted spectrum); left out",
                UserWarning,
                stacklevel=2,
            )
            continue
        _warn_incomplete(curve, strict)
        curves.append(curve)
    if not curves:
        raise FormatError(
            f"{path}: no bias spectroscopy curve (<stem>--<run>_<scan>.<channel>(V)_mtrx) "
            "beside this result file"
        )
    axes: dict[tuple, list[_Curve]] = {}
    for curve in curves:
        key = (curve.bias.size, round(curve.bias[0], 9), round(curve.bias[-1], 9))
        axes.setdefault(key, []).append(curve)
    extra = {"skipped_files": "; ".join(skipped)}
    return [_collection(group, path, extra) for group in axes.values()]
