"""The rules every reader shares: which spectra are complete, warn or raise, sizes and sweeps
checked before anything is trusted.

Completeness of a spectrum (:func:`measured_points`)
----------------------------------------------------
Controllers pre-fill a spectrum with 0 (or NaN) and overwrite it as the sweep runs, so an
aborted or damaged spectrum ends in a run of values that were never measured. For the spectra
of one file, taken jointly over their channels (all the channels recorded in the same sweeps):

1. **NaN**: the first non-finite value in any channel ends the measured part (a NaN or an
   infinity is never a measurement: an unwritten sample, a file cut inside the spectrum);
2. **no data**: a spectrum in which every channel reads 0 (or NaN) everywhere was not measured;
3. **zero tail**: a run of :data:`MIN_ZERO_RUN` or more samples at the end of the sweep in
   which every channel reads exactly 0 ends the measured part (an abort), with one exception,
   a **signal at zero**: a real current can read 0 (below one digitiser step) over the last
   points of a sweep that ends near 0 V, and then most spectra end so. Where more than half of
   at least :data:`MIN_POPULATION` measured spectra end in zeros, zero tails of up to
   :data:`SIGNAL_ZERO_FRACTION` of the sweep (at least :data:`MIN_ZERO_RUN` points) are taken
   as that signal and kept; longer ones are still cut. Zeros over a quarter of every spectrum
   (a zeroed end of a payload) are therefore never read as data;
4. **zero tail in one channel**: where several channels are recorded, a run of exact zeros
   longer than that allowance at the end of *one* channel, while it holds data earlier in the
   spectrum and the other channels go on measuring, ends the measured part too (damaged bytes;
   no channel is digitised as exact 0 over a sixteenth of a sweep alone), unless most measured
   spectra end so in that channel (a current below one digitiser step in a gap, say).

The measured part of a spectrum is kept, the rest is NaN, and the pixel is invalid. The reader
then calls :func:`warn_or_raise` once, with a message naming the file and what was dropped:
``strict=True`` raises :class:`~stswidgets.io.errors.FormatError`, else a ``UserWarning``.

Sizes before allocating (:func:`check_allocation`)
--------------------------------------------------
Every array a header asks for is checked against the bytes the file holds before it is
allocated: a reader never asks for more than :data:`ALLOCATION_FACTOR` times the file's size,
or :data:`ALLOCATION_FLOOR` bytes where that is more (an aborted grid, or one still being
measured, legitimately holds a fraction of its grid; :func:`stswidgets.io.follow`, which
starts on a file of a few pixels, allows :data:`FOLLOW_ALLOCATION_FLOOR`). A header claiming
more is damaged.

Sweeps (:func:`check_sweep`)
----------------------------
A bias axis must be finite, no larger than :data:`MAX_BIAS_V` in magnitude, not constant and,
where the file gives it as a table, monotonic (each direction of a sweep and its return).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from stswidgets.io.errors import FormatError

__all__ = [
    "ALLOCATION_FACTOR",
    "ALLOCATION_FLOOR",
    "FOLLOW_ALLOCATION_FLOOR",
    "MAX_BIAS_V",
    "MIN_POPULATION",
    "MIN_ZERO_RUN",
    "SIGNAL_ZERO_FRACTION",
    "Completeness",
    "check_allocation",
    "check_sweep",
    "measured_points",
    "warn_or_raise",
]

MIN_ZERO_RUN = 2  # zeros at the end of a sweep that mark it as cut off
MIN_POPULATION = 4  # measured spectra needed to tell a signal at zero from an abort
SIGNAL_ZERO_FRACTION = 1 / 16  # the longest zero tail (of the sweep) a signal at zero may have
ALLOCATION_FACTOR = 16  # arrays a reader may ask for, in multiples of the file's size ...
ALLOCATION_FLOOR = 128 << 20  # ... or this many bytes, where that is more
FOLLOW_ALLOCATION_FLOOR = 1 << 30  # the floor for a grid followed from its first pixels
MAX_BIAS_V = 100.0  # the largest bias magnitude a sweep may reach (STM: a few V)


@dataclass(frozen=True)
class Completeness:
    """What :func:`measured_points` found.

    Attributes
    ----------
    points : numpy.ndarray, int, shape ``(n_spectra,)``
        Points measured at the start of each spectrum (the full length when complete, 0 when
        not measured).
    signal_zeros : int
        The longest zero tail kept as a signal at zero (0 when none was).
    zero_cut : int
        Spectra cut at a zero tail (the others short of the full length end in NaN or hold
        no data).
    channel_cut : int
        Spectra cut at a long zero tail in one channel only (rule 4).
    """

    points: np.ndarray
    signal_zeros: int
    zero_cut: int
    channel_cut: int = 0

    def note(self, n_points: int) -> str:
        """Words on the zero tails, for the reader's message (``""`` when there are none)."""
        note = ""
        if self.zero_cut:
            note += f"; {self.zero_cut} end in a run of zeros in every channel (cut there)"
        if self.channel_cut:
            note += (
                f"; {self.channel_cut} end in a long run of zeros in one channel while the "
                "others measure (damaged; cut there)"
            )
        if self.signal_zeros:
            note += (
                f"; zero tails of up to {self.signal_zeros} of {n_points} points shared by most "
                "spectra are kept as a signal at zero"
            )
        return note


def measured_points(channels, from_start: bool = False) -> Completeness:
    """Points measured in each spectrum, jointly over ``channels`` (see the module docstring).

    Parameters
    ----------
    channels : sequence of numpy.ndarray, each ``(n_spectra, n_points)``
        The channels recorded in the same sweeps (raw codes or values).
    from_start : bool
        Read the sweeps from their last point back (a run of zeros at the *start* of the
        recorded order, e.g. a sweep stored reversed); ``points`` then counts from the end.

    Returns
    -------
    Completeness
    """
    arrays = [np.asarray(channel) for channel in channels]
    if from_start:
        arrays = [array[..., ::-1] for array in arrays]
    n_spectra, n_points = arrays[0].shape
    first_nan = np.full(n_spectra, n_points)
    tail = np.zeros(n_spectra, dtype=np.int64)
    # only spectra whose sums are not finite can hold NaN (a cheap pass over the data) ...
    with np.errstate(over="ignore", invalid="ignore"):
        suspect = ~np.logical_and.reduce([np.isfinite(a.sum(axis=1)) for a in arrays])
    if suspect.any():
        finite = np.logical_and.reduce([np.isfinite(a[suspect]) for a in arrays])
        first_nan[suspect] = np.where(finite.all(axis=1), n_points, np.argmin(finite, axis=1))
    # ... and only those whose last sample reads 0 or NaN everywhere can end in zeros
    ends = np.logical_and.reduce([(a[:, -1] == 0) | ~np.isfinite(a[:, -1]) for a in arrays])
    if ends.any():
        zero = np.logical_and.reduce([(a[ends] == 0) | ~np.isfinite(a[ends]) for a in arrays])
        tail[ends] = np.where(zero.all(axis=1), n_points, np.argmin(zero[:, ::-1], axis=1))
    empty = tail == n_points
    has_tail = (tail >= min(MIN_ZERO_RUN, n_points)) & ~empty
    n_measured = int((~empty).sum())
    limit = MIN_ZERO_RUN - 1  # the longest zero tail kept
    if n_measured >= MIN_POPULATION and has_tail.sum() > n_measured / 2:
        limit = max(MIN_ZERO_RUN, int(SIGNAL_ZERO_FRACTION * n_points))
    cut = has_tail & (tail > limit)
    signal = has_tail & ~cut
    points = np.where(cut, n_points - tail, n_points)
    points = np.where(empty, 0, np.minimum(points, first_nan))
    one_channel = np.zeros(n_spectra, dtype=bool)
    if len(arrays) > 1:
        allowance = max(MIN_ZERO_RUN, int(SIGNAL_ZERO_FRACTION * n_points))
        for array in arrays:
            run = _zero_run(array)
            holds_data = run < n_points
            long = (run > allowance) & holds_data & ~empty
            if not long.any() or long.sum() > holds_data.sum() / 2 >= MIN_POPULATION / 2:
                continue
            points = np.where(long, np.minimum(points, n_points - run), points)
            one_channel |= long & ~cut
    return Completeness(
        points.astype(np.int64),
        int(tail[signal].max()) if signal.any() else 0,
        int(cut.sum()),
        int(one_channel.sum()),
    )


def _zero_run(array: np.ndarray) -> np.ndarray:
    """Exact zeros at the end of each row of ``array`` ``(n, n_points)``."""
    n_points = array.shape[1]
    run = np.zeros(array.shape[0], dtype=np.int64)
    ends = array[:, -1] == 0
    if ends.any():
        zero = array[ends] == 0
        run[ends] = np.where(zero.all(axis=1), n_points, np.argmin(zero[:, ::-1], axis=1))
    return run


def blank_unmeasured(values: np.ndarray, points: np.ndarray, from_start: bool = False) -> None:
    """Set the samples after the measured ``points`` of each spectrum ``(n, n_points)`` to NaN
    (in place; with ``from_start``, the samples before the last ``points``)."""
    n_points = values.shape[-1]
    for k in np.flatnonzero(points < n_points):
        if from_start:
            values[k, : n_points - points[k]] = np.nan
        else:
            values[k, points[k] :] = np.nan


def warn_or_raise(message: str, strict: bool, stacklevel: int = 3) -> None:
    """Raise :class:`FormatError` with ``message`` when ``strict``, else warn with it.

    ``message`` names the file and what was dropped or read differently.
    """
    if strict:
        raise FormatError(message)
    warnings.warn(message, stacklevel=stacklevel)


def check_allocation(
    path, n_bytes: int, file_bytes: int, what: str, floor: int = ALLOCATION_FLOOR
) -> None:
    """Refuse (FormatError) a header asking for ``n_bytes`` of arrays (``what`` it is, in
    words) from a file of ``file_bytes`` (see the module docstring; ``floor``: the bytes
    allowed whatever the file's size, more for a grid followed while it is measured)."""
    allowed = max(ALLOCATION_FACTOR * int(file_bytes), floor)
    if n_bytes < 0 or n_bytes > allowed:
        raise FormatError(
            f"{path}: the header declares {what}, {n_bytes / 2**20:.6g} MiB of data, but the "
            f"file holds {file_bytes} bytes (at most {ALLOCATION_FACTOR} times the file or "
            f"{floor >> 20} MiB is read); the header is damaged"
        )


def check_sweep(
    path, values, units: str, what: str = "bias axis", monotonic=False, constant_ok=False
) -> None:
    """Refuse (FormatError) a sweep axis that is not finite, beyond :data:`MAX_BIAS_V` (for
    units ``V``/``mV``), constant (unless ``constant_ok``), or (``monotonic=True``) not
    monotonic."""
    values = np.asarray(values, dtype=float)
    shown = f"{values[:3].tolist()} ... {values[-2:].tolist()}" if values.size > 5 else values
    if not np.isfinite(values).all():
        raise FormatError(f"{path}: the {what} holds NaN or infinite values ({shown})")
    scale = {"V": 1.0, "mV": 1e-3}.get(str(units).strip())
    if scale is not None and values.size and np.abs(values).max() * scale > MAX_BIAS_V:
        raise FormatError(
            f"{path}: the {what} reaches {np.abs(values).max():.4g} {units}, beyond the "
            f"{MAX_BIAS_V:g} V any tunnelling bias reaches ({shown}); the file is damaged"
        )
    if values.size > 1 and np.ptp(values) == 0 and not constant_ok:
        raise FormatError(f"{path}: the {what} is constant ({values[0]:g} {units}); no sweep")
    steps = np.diff(values)
    if monotonic and values.size > 2 and not (np.all(steps >= 0) or np.all(steps <= 0)):
        k = int(np.flatnonzero(np.sign(steps) != np.sign(values[-1] - values[0]))[0])
        raise FormatError(
            f"{path}: the {what} is not monotonic: it turns at sample {k + 1} "
            f"({values[k]:g} -> {values[k + 1]:g} {units}); the file is damaged"
        )
