"""The tiles of the blockwise pass over all pairs of spectra behind
:mod:`stswidgets.analysis.distances`: their arithmetic and binning. How the tiles are planned and
shared out (threads, tile size, progress) is :mod:`._pairs_pass`; the cluster and torch passes are
:mod:`._dask_pairs` and :mod:`._torch_pairs`.

One pass visits the upper triangle of ``(block, block)`` tiles of the pairwise squared
distance matrix, each tile computed with one BLAS matrix product of the centred spectra
augmented by their squared norms::

    [c_i, |c_i|^2, 1] . [-2 c_j, 1, |c_j|^2] = |c_i - c_j|^2

so the product *is* the squared-distance tile. Each tile is binned arithmetically for every
requested binning (raw distance or ``log(d + offset)``) and counted with ``np.bincount``;
the tile is then dropped. Memory is ``O(block_size**2 + block_size * n_bias)`` on top of
the input, never ``N x N``.

Precision follows the input: float32 spectra are multiplied in float32 (fast; a distance
near a bin edge may land in the neighbouring bin), float64 spectra in float64 and binned
with the same edge corrections as :func:`numpy.histogram`, so the counts equal
``numpy.histogram(scipy.spatial.distance.pdist(X), ...)`` up to distances within a few ulp
of an edge.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

#: Bytes of working memory per tile entry (distance, transformed value, slot index and, for
#: per-spectrum histograms, the offset slot index).
_BYTES_PER_ENTRY = {np.dtype(np.float32): 32, np.dtype(np.float64): 48}
#: Upper bound of one tile's working memory chosen automatically.
_TILE_BUDGET_BYTES = 32 * 2**20
#: Relative margin added to the automatic upper edge so no float error pushes a pair over it.
_AUTO_MARGIN = 1e-5


@dataclass
class Binning:
    """Uniform bins of ``d`` (``offset is None``) or of ``log(d + offset)``.

    Slot convention of the kernel: slot ``0`` below ``lo``, slot ``k + 1`` bin ``k``, slots
    ``bins + 1`` and ``bins + 2`` above ``hi``; only slots ``1 ... bins`` are kept.
    """

    bins: int
    lo: float
    hi: float
    offset: float | None = None
    auto: bool = False  # range chosen by the engine: nothing may fall outside it
    edges: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.edges = np.linspace(self.lo, self.hi, self.bins + 1, endpoint=True)

    @property
    def n_slots(self) -> int:
        return self.bins + 3


def centred_statistics(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean spectrum and squared norms of the centred spectra, both in float64.

    Computed in row chunks so no float64 copy of ``X`` is held at once.
    """
    mean = X.mean(axis=0, dtype=np.float64)
    sq_norms = np.empty(X.shape[0], dtype=np.float64)
    step = max(1, 2**22 // max(X.shape[1], 1))
    for start in range(0, X.shape[0], step):
        centred = X[start : start + step].astype(np.float64) - mean
        sq_norms[start : start + step] = np.einsum("ij,ij->i", centred, centred)
    return mean, sq_norms


def _augmented(X, rows, mean, sq_norms, worker: _Worker, left: bool) -> np.ndarray:
    """``[c, |c|^2, 1]`` (left) or ``[-2 c, 1, |c|^2]`` (right) for ``X[rows]``.

    Written into the worker's buffers: no allocation per tile (a dask worker returns freed
    memory to the system at once, ``MALLOC_TRIM_THRESHOLD_``, so every fresh megabyte-sized
    temporary costs page faults: measured 1.5-2x slower tiles).
    """
    n_rows, n_bias = rows.stop - rows.start, X.shape[1]
    out = (worker.left if left else worker.right)[: n_rows * (n_bias + 2)]
    out = out.reshape(n_rows, n_bias + 2)
    centred = worker.centred[: n_rows * n_bias].reshape(n_rows, n_bias)
    np.subtract(X[rows], mean, out=centred)  # in float64, rounded once below
    if left:
        out[:, :n_bias] = centred
        out[:, n_bias] = sq_norms[rows]
        out[:, n_bias + 1] = 1.0
    else:
        np.multiply(centred, -2.0, out=out[:, :n_bias], casting="same_kind")
        out[:, n_bias] = 1.0
        out[:, n_bias + 1] = sq_norms[rows]
    return out


def _slots_fast(values, binning: Binning, out_float, out_slots, out_mask) -> None:
    """Slot of every value by arithmetic (float32 path): ``trunc((v - lo) * scale + 1)``."""
    scale = binning.bins / (binning.hi - binning.lo)
    np.multiply(values, scale, out=out_float)
    out_float += 1.0 - binning.lo * scale
    if binning.auto:
        # nothing may be dropped: float error at the extremes goes to the first/last bin
        upper = np.nextafter(np.float32(binning.bins + 1), np.float32(0))
        np.clip(out_float, 1.0, upper, out=out_float)
    else:
        np.clip(out_float, 0.0, binning.bins + 2, out=out_float)
        # numpy's last bin is closed: a value on the upper edge belongs to it
        np.equal(out_float, binning.bins + 1, out=out_mask)
        np.copyto(out_float, binning.bins + 0.5, where=out_mask)
    np.copyto(out_slots, out_float, casting="unsafe")


def _slots_exact(values, binning: Binning, out_slots) -> None:
    """Slot of every value exactly as :func:`numpy.histogram` bins it (float64 path)."""
    lo, hi, bins, edges = binning.lo, binning.hi, binning.bins, binning.edges
    if binning.auto:
        values = np.clip(values, lo, hi)
    keep = values >= lo
    keep &= values <= hi
    index = ((values - lo) / (hi - lo)) * bins
    np.clip(index, 0, bins, out=index)
    index = index.astype(np.intp)
    index[index == bins] -= 1
    index[values < edges[index]] -= 1
    np.maximum(index, 0, out=index)
    increment = values >= edges[index + 1]
    increment &= index != bins - 1
    index[increment] += 1
    index += 1
    index[~keep] = 0
    out_slots[...] = index


def n_workers() -> int:
    """Worker threads: one per CPU core this process may use (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


class _Worker:
    """Tile buffers and partial counts of one worker thread."""

    def __init__(self, block: int, n_bias: int, dtype: np.dtype, binnings: list[Binning]) -> None:
        self.distance = np.empty(block * block, dtype=dtype)
        self.values = np.empty(block * block, dtype=dtype)
        self.slots = np.empty(block * block, dtype=np.intp)
        self.edge = np.empty(block * block, dtype=bool)
        self.centred = np.empty(block * n_bias, dtype=np.float64)
        self.left = np.empty(block * (n_bias + 2), dtype=dtype)
        self.right = np.empty(block * (n_bias + 2), dtype=dtype)
        self.lower = np.tri(block, dtype=bool)  # diagonal and below: not pairs
        self.slot_counts = [np.zeros(b.n_slots, dtype=np.int64) for b in binnings]


def work_dtype(X: np.ndarray) -> np.dtype:
    """Precision of the pass: float32 for float32 spectra, float64 otherwise."""
    return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)


def count_strip(
    X: np.ndarray,
    mean: np.ndarray,
    sq_norms: np.ndarray,
    binnings: list[Binning],
    rows: slice,
    all_cols: list[slice],
    per_spectrum: bool,
):
    """Count the tiles ``rows x all_cols`` in this thread: one task of a cluster pass.

    ``all_cols`` must be contiguous blocks. Returns ``(counts, parts)``: the kept counts
    (one int64 ``(bins,)`` array per binning) and, with ``per_spectrum``, one
    ``(row_counts, col_counts)`` pair per binning, int32 of shapes ``(n_rows, bins)`` and
    ``(all_cols[-1].stop - all_cols[0].start, bins)``; else None.
    """
    dtype = work_dtype(X)
    block = max(rows.stop - rows.start, *(c.stop - c.start for c in all_cols))
    worker = _Worker(block, X.shape[1], dtype, binnings)
    first = all_cols[0].start
    parts = None
    if per_spectrum:
        span = all_cols[-1].stop - first
        parts = [
            (
                np.zeros((rows.stop - rows.start, b.bins), np.int32),
                np.zeros((span, b.bins), np.int32),
            )
            for b in binnings
        ]
    with single_threaded_blas():
        left = _augmented(X, rows, mean, sq_norms, worker, left=True)
        for cols in all_cols:
            right = _augmented(X, cols, mean, sq_norms, worker, left=False)
            _, tile_parts = _process_tile(
                left, right, rows.start == cols.start, binnings, worker, per_spectrum
            )
            for k, (row_part, col_part) in enumerate(tile_parts or ()):
                parts[k][0][...] += row_part
                parts[k][1][cols.start - first : cols.stop - first] += col_part
    counts = [w[1 : b.bins + 1].copy() for w, b in zip(worker.slot_counts, binnings, strict=True)]
    return counts, parts


def single_threaded_blas():
    """Limit BLAS to one thread while the workers run (threadpoolctl, if installed)."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _process_tile(left, right, diagonal, binnings, worker, per_spectrum):
    """Bin one tile of pairs into the worker's counts; return ``(n_pairs, parts)``.

    ``left``/``right``: the augmented spectra of the tile's rows/columns (see
    :func:`_augmented`); ``diagonal``: rows and columns are the same block (only the pairs
    above the diagonal count). ``parts``: with ``per_spectrum``, one
    ``(row_counts, col_counts)`` pair of int32 arrays ``(n_rows, bins)``, ``(n_cols, bins)``
    per binning, for the caller to add to the per-spectrum histograms; else None.
    """
    n_rows, n_cols = left.shape[0], right.shape[0]
    size = n_rows * n_cols
    distance = worker.distance[:size].reshape(n_rows, n_cols)
    np.matmul(left, right.T, out=distance)  # squared distances
    np.maximum(distance, 0, out=distance)
    np.sqrt(distance, out=distance)
    values = worker.values[:size].reshape(n_rows, n_cols)
    slots = worker.slots[:size].reshape(n_rows, n_cols)
    parts = [] if per_spectrum else None
    for k, binning in enumerate(binnings):
        if binning.offset is None:
            source = distance
        else:
            np.add(distance, binning.offset, out=values)
            np.log(values, out=values)
            source = values
        if distance.dtype == np.float64:
            _slots_exact(source, binning, slots)
        else:
            _slots_fast(source, binning, values, slots, worker.edge[:size].reshape(n_rows, n_cols))
        if diagonal:
            slots[worker.lower[:n_rows, :n_cols]] = 0
        n_slots = binning.n_slots
        if not per_spectrum:
            worker.slot_counts[k] += np.bincount(slots.ravel(), minlength=n_slots)
            continue
        row_counts = np.bincount(
            (slots + (np.arange(n_rows) * n_slots)[:, None]).ravel(), minlength=n_rows * n_slots
        ).reshape(n_rows, n_slots)
        col_counts = np.bincount(
            (slots + np.arange(n_cols) * n_slots).ravel(), minlength=n_cols * n_slots
        ).reshape(n_cols, n_slots)
        worker.slot_counts[k] += row_counts.sum(axis=0)
        kept = slice(1, binning.bins + 1)
        parts.append((row_counts[:, kept].astype(np.int32), col_counts[:, kept].astype(np.int32)))
    return (n_rows * (n_rows - 1) // 2 if diagonal else size), parts
