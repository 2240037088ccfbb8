"""Reading Nanosurf spectroscopy files (``.nid``, header ``Version=2`` and alike): :func:`read_nid`.

A ``.nid`` file holds groups of channels (``Spec forward``, ``Spec backward``, ``Scan
forward`` ...) as described in :mod:`stswidgets.io.nanosurf.header`. A spectroscopy block has one
line per spectrum (``Lines`` = positions x repetitions) of ``Points`` values along the sweep
``Dim0`` (e.g. ``Tip voltage``, V). This reader takes the ``Spec forward``/``Spec backward``
groups; the images (``Scan ...``) and pause segments are left out (listed in ``attrs``).

Why a reader of our own: ``nsfopen`` 2.2.4 (Nanosurf's reader) fails with
``KeyError: 'Manufacturer'`` on STM-head files, whose ``[DataSet\\Calibration\\Cantilever]``
section is empty, and it pulls in ``h5py`` and ``pandas``. The format is small (an INI header
and integer blocks), so :mod:`stswidgets.io.nanosurf.header` reads it with numpy, informed by
nsfopen's and Gwyddion's (``ezdfile.c``) readers and AtomicJ's map-table reading.

Choices, each checked on the shared file ``nanosurf_tarzan_specmap15.nid``:

- **bias**: the sweep definition ``linspace(Dim0Min, Dim0Min + Dim0Range, Points)`` of the
  forward block, in the file's unit (V) and order. The ``Tip voltage`` read-back, where the
  file records it, is kept as a channel; it follows the definition to the 16-bit resolution of
  its +-10 V range (0.3 mV), so the definition is the noise-free axis. The read-back also tells
  the stored order: a group whose read-back runs against ``Dim0`` is reversed so that it lines
  up with the bias (the shared file stores the backward sweep in ascending bias already).
- **positions**: ``SpecMapTable`` maps are measured row by row, serpentine (AtomicJ, ststools
  and the Nanosurf map loaders agree), so the ``X (m)``/``Y (m)`` per-pixel variables are
  built in that order and :func:`stswidgets.io._geometry.scan_geometry` brings the odd rows
  back. x/y are the map's positions in the image frame (nm). ``scan_angle_deg`` is the map's
  own rotation field (0 in the files seen); the image's ``ScanRotation`` (the frame the map
  was drawn in, turned on the scanner) is kept as ``image_rotation_deg``.
- **repetitions** (``Repetition`` > 1): the sweeps of one position are averaged (``n_sweeps``
  per pixel; ``Repeat position list`` orders lines pass after pass, other modes position after
  position). Repeats at a single spot (or a file holding one position's repeats) open as a
  1 x N grid, one pixel per sweep; so do point lists (``SpecPosTable``).
- **incomplete spectra**: lines after ``CurLine``, lines cut short (``LineDim<k>Points``) and
  lines the completeness rule of :mod:`stswidgets.io._rules` finds cut (raw 0 in every
  channel of the group from some point on, NaN) are NaN from there and invalid. A **truncated
  file** (the payload shorter than the blocks) keeps the lines it holds whole; the rest are
  NaN and invalid, blocks with nothing in the file are left out (``missing_channels``,
  ``missing_bytes``); a cut only in the image blocks after the spectra just warns.
- **clipping**: spectra with a raw code at either end of its range are counted in the
  variable's ``n_clipped_spectra`` (the current of the shared file sits at -20 nA, the end of
  its +-20 nA range, in 146 forward spectra); the values are kept.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from stswidgets.io import _geometry, _rules
from stswidgets.io.errors import FormatError
from stswidgets.io.nanosurf import header as nid

__all__ = ["looks_like", "read_nid"]

FORMAT_NAME = "Nanosurf NID spectroscopy map"


def looks_like(head: bytes) -> bool:
    """Whether a file starting with ``head`` is a Nanosurf ``.nid`` file."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith((b"[DataSet]\r\n", b"[DataSet]\n")) and (
        b"GroupCount=" in text or b"Version=" in text
    )


def _direction(group: str) -> str | None:
    """``""`` for a forward spectroscopy group, ``" [bwd]"`` for a backward one, else None."""
    name = group.lower()
    if not name.startswith("spec") or "pause" in name:
        return None
    return " [bwd]" if ("backward" in name or "bwd" in name) else ""


def _sweep(block: nid.Block, path) -> tuple[np.ndarray, str, str]:
    start = nid.number(block.section, "Dim0Min", path, block.section_name)
    span = nid.number(block.section, "Dim0Range", path, block.section_name)
    values = np.linspace(start, start + span, block.points)
    unit = block.section.get("Dim0Unit", "")
    if unit in ("V", "mV"):
        _rules.check_sweep(path, values, unit, f"sweep of [{block.section_name}] (Dim0)")
    return values, block.section.get("Dim0Name", "sweep"), block.section.get("Dim0Unit", "")


def _complete_lines(raws: list[np.ndarray], kept: np.ndarray, cur_line: int):
    """Points measured on each line, jointly over one group's channels ``raws``: the lines
    the file keeps (``kept``, none after ``cur_line``), cut by the completeness rule of
    :mod:`stswidgets.io._rules`; and that rule's :class:`~stswidgets.io._rules.Completeness`.
    """
    n_lines, n_points = raws[0].shape
    measured = np.minimum(kept, n_points)
    measured[np.arange(n_lines) > cur_line] = 0
    found = _rules.measured_points(raws)
    return np.minimum(measured, found.points), found


def _layout(n_lines: int, where: nid.Positions | None, repetitions: int, by_pass: bool):
    """``(position, n_positions, shape, kind)`` of each line: which pixel it belongs to."""
    n_pos = 1 if where is None else where.nx * where.ny
    if where is None or n_pos == 1 or (repetitions > 1 and n_lines == repetitions):
        return np.arange(n_lines), n_lines, (1, n_lines), "one pixel per sweep"
    if n_lines > repetitions * n_pos:
        return None
    lines = np.arange(n_lines)
    position = lines % n_pos if by_pass else lines // max(repetitions, 1)
    kind = "map" if where.kind == "map" else "point list"
    return position, n_pos, (where.ny, where.nx), kind


@dataclass
class _Channel:
    block: nid.Block
    raw: np.ndarray  # raw codes (lines, points), in the file's order
    flip: bool  # reverse the points to line up with the reference sweep


def _channels(spec, payload, reference, sweep, path):
    """The spectroscopy channels on the reference sweep; empty ones; ones left out."""
    channels, empty, left = [], [], []
    for block in spec:
        own = _sweep(block, path)[0] if block.points == reference.points else None
        if own is None or block.lines != reference.lines:
            left.append(f"{block.group}: {block.name}")
        elif not (np.allclose(own, sweep) or np.allclose(own[::-1], sweep)):
            left.append(f"{block.group}: {block.name}")
        elif not (raw := block.raw(payload)).any():
            empty.append(f"{block.group}: {block.name}")
        else:
            channels.append(_Channel(block, raw, not np.allclose(own, sweep)))
    return channels, empty, left


def _stored_against_sweep(members: list[_Channel], measured: np.ndarray, path) -> bool:
    """Whether a group's read-back of its Dim0 signal runs against its Dim0 definition."""
    for channel in members:
        block = channel.block
        if block.name != block.section.get("Dim0Name") or block.points < 2:
            continue
        full = measured == block.points
        if not full.any():
            return False
        values = block.scale(channel.raw[full], path)
        slope = np.mean(values[:, -1] - values[:, 0])
        return bool(slope * nid.number(block.section, "Dim0Range", path, block.section_name) < 0)
    return False


def read_nid(path: str | Path, strict: bool = False) -> xr.Dataset:
    """Read a Nanosurf ``.nid`` spectroscopy file (a map, a point list or repeats at one spot).

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.nid`` file.
    strict : bool
        Raise :class:`FormatError` when spectra are incomplete instead of warning.

    Returns
    -------
    xarray.Dataset
        - one float32 variable per spectroscopy channel, dims ``(y, x, bias)`` (``(y, x,
          <Dim0Name>)`` for a sweep that is not in V), named as the file names it (``"Tip
          Current"``; the backward group's ``"Tip Current [bwd]"``, values in bias order),
          ``attrs`` ``units`` (``Dim2Unit``), ``channel`` and ``n_clipped_spectra``;
        - ``X (m)``, ``Y (m)`` (positions), ``n_sweeps`` (complete sweeps averaged) ``(y, x)``;
        - ``valid``: bool ``(y, x)``, True where at least one complete sweep was measured;
        - coordinate ``bias`` (see the module docstring), ``x``/``y`` in nm (ascending; a map's
          serpentine rows in raster order);
        - ``attrs``: the header as ``"<section>: <key>"`` entries, the ``scan_*`` geometry,
          ``vendor``, ``format``, ``spec_layout``, ``n_repetitions``, ``image_rotation_deg``,
          ``empty_channels`` and ``skipped_groups`` (``;``-separated).

    Raises
    ------
    FormatError
        Not a ``.nid`` file, unreadable header entries, a payload longer than the blocks or
        cut before the first whole spectrum (message with both sizes), no spectroscopy data,
        or incomplete spectra (also from a truncated file) with ``strict=True``.

    Warns
    -----
    UserWarning
        Incomplete spectra (loaded as NaN from where they stop, marked invalid), or channels
        whose sweep differs from the forward one (left out).
    """
    path = Path(path)
    data = path.read_bytes()
    end = nid.header_end(data)
    if end < 0:
        raise FormatError(
            f"{path}: no '[DataSet]' header ending in a '#!' line; not a Nanosurf .nid file"
        )
    sections = nid.parse_sections(data[:end].decode("latin-1"), path)
    payload = data[end + len(nid.DATA_MARK) :]
    blocks = nid.channel_blocks(sections, path)
    needed, n_stored = sum(block.nbytes for block in blocks), len(payload)
    sizes = ", ".join(f"{b.section_name} {b.lines}x{b.points}x{b.bits}bit" for b in blocks)
    if n_stored > needed:
        raise FormatError(
            f"{path}: binary payload is {n_stored} bytes, the header's channel blocks need "
            f"{needed} ({sizes}); the file or its header is damaged"
        )
    n_values = sum((block.points + 1) * block.lines for block in blocks)
    _rules.check_allocation(path, 8 * n_values, len(data), f"channel blocks {sizes}")
    spec = [b for b in blocks if _direction(b.group) is not None]
    skipped = sorted({b.group for b in blocks if _direction(b.group) is None})
    if not spec:
        raise FormatError(
            f"{path}: no spectroscopy group ('Spec forward'/'Spec backward'); groups: "
            f"{', '.join(skipped) or 'none'}"
        )
    truncated, missing = _truncation(blocks, spec, n_stored, needed, sizes, path)
    payload += bytes(needed - n_stored)  # lines beyond the end count as not measured
    spec = [b for b in spec if b not in missing]
    reference = next((b for b in spec if _direction(b.group) == ""), spec[0])
    sweep, sweep_name, sweep_unit = _sweep(reference, path)
    channels, empty, left = _channels(spec, payload, reference, sweep, path)
    if left:
        warnings.warn(
            f"{path}: {'; '.join(left)} sweep differently from {reference.name}; left out",
            stacklevel=2,
        )
    if not channels:
        raise FormatError(f"{path}: every spectroscopy channel is all zeros ({'; '.join(empty)})")
    cur_line = reference.lines - 1
    if "CurLine" in reference.section:
        cur_line = nid.number(reference.section, "CurLine", path, reference.section_name, int)
    measured, notes = {}, ""  # points measured on each line, per group (in the file's order)
    for group in dict.fromkeys(channel.block.group for channel in channels):
        members = [channel for channel in channels if channel.block.group == group]
        kept = np.min([nid.line_points(channel.block, n_stored) for channel in members], axis=0)
        raws = [channel.raw for channel in members]
        measured[group], found = _complete_lines(raws, kept, cur_line)
        notes += found.note(reference.points).replace("; ", f"; {group}: ", 1)
        against = _stored_against_sweep(members, measured[group], path)
        for channel in members:
            channel.flip = channel.flip != against
    complete = np.all([n == reference.points for n in measured.values()], axis=0)

    info = sections.get("DataSet-Info", {})
    settings = sections.get("DataSet\\Parameters\\Spectroscopy", {})
    repetitions = nid.typed_value(settings.get("Repetition", info.get("Repetition", "1")))
    repetitions = repetitions if isinstance(repetitions, int) and repetitions > 0 else 1
    by_pass = "list" in info.get("Repetition Mode", "").lower()
    where = nid.positions(sections, path, len(data))
    layout = _layout(reference.lines, where, repetitions, by_pass)
    if layout is None:
        raise FormatError(
            f"{path}: {reference.lines} spectra but the position table has "
            f"{where.nx * where.ny} positions x {repetitions} repetitions"
        )
    position, n_pos, shape, kind = layout
    counts = np.bincount(position[complete], minlength=n_pos)

    data_vars, used = {}, {"x", "y", "bias", "valid"}
    points = np.arange(reference.points)
    first_line = np.full(n_pos, -1)
    for line in range(reference.lines - 1, -1, -1):
        first_line[position[line]] = line
    for channel in channels:
        block, raw = channel.block, channel.raw
        values = block.scale(raw, path)
        done = measured[block.group][:, None]
        values[points[None, :] >= done] = np.nan
        if channel.flip:
            values = values[:, ::-1]
        sums = np.zeros((n_pos, reference.points))
        np.add.at(sums, position[complete], values[complete])
        spectra = sums / np.maximum(counts, 1)[:, None]
        partial = (counts == 0) & (first_line >= 0)
        spectra[partial] = values[first_line[partial]]
        spectra[(counts == 0) & (first_line < 0)] = np.nan
        name = block.name + _direction(block.group)
        if name in used:
            name = f"{name} ({block.group})"
        used.add(name)
        on_rail = block.at_rail(raw) & (points[None, :] < done)
        data_vars[name] = (
            ("y", "x", "bias" if sweep_unit == "V" else sweep_name),
            spectra.reshape(*shape, -1).astype(np.float32),
            {
                "units": block.section.get("Dim2Unit", ""),
                "channel": block.name,
                "group": block.group,
                "n_clipped_spectra": int(on_rail.any(axis=1).sum()),
            },
        )

    valid = counts > 0
    n_bad = int(n_pos - valid.sum())
    if n_bad or not complete.all():
        message = (
            f"{path}: {n_bad} of {n_pos} spectra incomplete ({int((~complete).sum())} of "
            f"{reference.lines} recorded sweeps aborted, not measured or cut short{notes}"
            f"{truncated}); they are NaN from where they stop and marked invalid"
        )
        _rules.warn_or_raise(message, strict)

    x_m, y_m = np.full(n_pos, np.nan), np.full(n_pos, np.nan)
    if where is not None and kind != "one pixel per sweep":
        x_m, y_m = where.x_m, where.y_m
    elif where is not None and where.x_m.size == 1:  # repeats at the one recorded spot
        x_m[:], y_m[:] = where.x_m[0], where.y_m[0]
    pixel_vars = {
        "X (m)": (("y", "x"), x_m.reshape(shape), {"units": "m", "parameter": "X position"}),
        "Y (m)": (("y", "x"), y_m.reshape(shape), {"units": "m", "parameter": "Y position"}),
        "n_sweeps": (("y", "x"), counts.reshape(shape), {"long_name": "complete sweeps averaged"}),
        "valid": (("y", "x"), valid.reshape(shape), {"long_name": "complete spectrum measured"}),
    }
    coord_dim = "bias" if sweep_unit == "V" else sweep_name
    attrs = nid.flat_attrs(sections)
    imaging = sections.get("DataSet\\Parameters\\Imaging", {})
    attrs.update(
        vendor="Nanosurf",
        format=FORMAT_NAME,
        spec_layout=kind,
        n_repetitions=repetitions,
        image_rotation_deg=_first_vector_value(imaging.get("ScanRotation", "")),
        empty_channels="; ".join(empty),
        skipped_groups="; ".join(skipped),
        missing_bytes=needed - n_stored,
        missing_channels="; ".join(f"{b.group}: {b.name}" for b in missing),
    )
    dataset = xr.Dataset(
        {**data_vars, **pixel_vars},
        coords={coord_dim: (coord_dim, sweep, {"units": sweep_unit, "long_name": sweep_name})},
        attrs=attrs,
    )
    dataset = _geometry.scan_geometry(dataset, _frame(where, kind))
    dataset.encoding["source"] = str(path)
    return dataset


def _truncation(blocks, spec, n_stored: int, needed: int, sizes: str, path):
    """A truncated payload: the note for the incomplete-spectra warning and the spectroscopy
    blocks of which the file holds nothing (left out). Only non-spectroscopy blocks (images)
    cut: a warning here, the spectra are complete. Nothing of the first spectrum: FormatError.
    """
    if n_stored == needed:
        return "", []
    cut = next(b for b in blocks if b.offset + b.nbytes > n_stored)
    note = (
        f"{path}: the file ends {needed - n_stored} bytes early (payload {n_stored} of "
        f"{needed} bytes: {sizes}), inside [{cut.section_name}] ({cut.group}: {cut.name})"
    )
    missing = [b for b in spec if b.offset >= n_stored]
    forward = [b for b in spec if _direction(b.group) == "" and b not in missing] or [
        b for b in spec if b not in missing
    ]
    if not forward or n_stored - forward[0].offset < forward[0].points * forward[0].dtype.itemsize:
        raise FormatError(f"{note}; not one whole spectrum is in the file (truncated)")
    if all(b.offset + b.nbytes <= n_stored for b in spec):
        warnings.warn(f"{note}; the spectroscopy blocks are complete", stacklevel=3)
        return "", missing
    return f"; the file ends {needed - n_stored} bytes early, inside [{cut.section_name}]", missing


def _frame(where: nid.Positions | None, kind: str) -> _geometry.ScanFrame | None:
    """The map's frame; for a point list, the line from its first to its last point."""
    if where is None or kind == "one pixel per sweep":
        return None
    if kind == "map":
        cx, cy, width, height = (value * _geometry.NM for value in where.frame_m)
        # Map0 spans the first to the last position: the frame is one pitch more
        width = width * where.nx / (where.nx - 1) if where.nx > 1 else np.nan
        height = height * where.ny / (where.ny - 1) if where.ny > 1 else np.nan
        return _geometry.ScanFrame(cx, cy, width, height, where.rotation_deg)
    x_nm, y_nm = where.x_m * _geometry.NM, where.y_m * _geometry.NM
    centre = ((x_nm.min() + x_nm.max()) / 2, (y_nm.min() + y_nm.max()) / 2)
    dx, dy = x_nm[-1] - x_nm[0], y_nm[-1] - y_nm[0]
    if np.hypot(dx, dy) < 1e-6:  # no line to follow: pixel indices
        return None
    angle = round(float(np.degrees(np.arctan2(-dy, dx))), 6) % 360  # clockwise, as Nanonis
    length = float(np.hypot(dx, dy)) * x_nm.size / (x_nm.size - 1)  # pixels x pitch
    return _geometry.ScanFrame(*centre, length, np.nan, angle)


def _first_vector_value(text: str) -> float:
    """``V[5.84,0.34,0]*[°,°,°]`` -> 5.84 (NaN when absent or unreadable)."""
    try:
        return float(text[text.index("[") + 1 :].split(",")[0].split("]")[0])
    except ValueError:
        return float("nan")
