"""How the pair pass of :mod:`stswidgets.analysis.distances` is planned and run in this process.

The upper triangle of ``(block, block)`` tiles is cut into row strips (:func:`plan_strips`, also
for the pairs that new spectra add to earlier ones), the tile size is chosen from the free memory
(:func:`block_for`), and :func:`run_pass` shares the strips out to one thread per core, each
running the tile code of :mod:`._pairs_kernel` with single-threaded BLAS.
"""

from __future__ import annotations

import os

import numpy as np

from stswidgets.analysis._pairs_kernel import (
    _BYTES_PER_ENTRY,
    _TILE_BUDGET_BYTES,
    Binning,
    _augmented,
    _process_tile,
    _Worker,
    centred_statistics,
    n_workers,
    single_threaded_blas,
    work_dtype,
)


def available_memory_bytes() -> int:
    """Memory available to this process (``MemAvailable`` of /proc/meminfo, else sysconf)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 * 2**30


def auto_block_size(n_spectra: int, dtype: np.dtype, workers: int = 1) -> int:
    """Tile edge length: at most ~32 MB of tile working memory in all and 1/8 of free memory."""
    budget = min(_TILE_BUDGET_BYTES, available_memory_bytes() // 8) // max(workers, 1)
    block = int(np.sqrt(budget / _BYTES_PER_ENTRY[np.dtype(dtype)]))
    return int(max(16, min(block, n_spectra)))


def block_for(X: np.ndarray, block_size: int | None) -> int:
    """Tile edge length: ``block_size`` (at most ``n_spectra``) or the automatic choice.

    The automatic choice depends on this machine only (its cores and free memory), so the
    local, cluster and incremental passes of one machine tile alike and give equal counts.
    """
    if block_size is None:
        return auto_block_size(X.shape[0], work_dtype(X), n_workers())
    return max(1, min(int(block_size), X.shape[0]))


def plan_strips(n_spectra: int, block: int, start: int = 0) -> list[tuple[slice, list[slice]]]:
    """Row strips of the upper triangle: ``(rows, [cols, ...])`` with ``cols.start >= rows.start``.

    ``start > 0`` plans only the pairs with a spectrum at or after ``start`` (the spectra
    added to ``start`` earlier ones): the old rows against every new block, then the triangle
    among the new ones. Largest strips first, so that the worker threads finish together.
    """
    old = [slice(i, min(i + block, start)) for i in range(0, start, block)]
    new = [slice(i, min(i + block, n_spectra)) for i in range(start, n_spectra, block)]
    return [(rows, list(new)) for rows in old] + [(rows, new[k:]) for k, rows in enumerate(new)]


def strip_pairs(rows: slice, all_cols: list[slice]) -> int:
    """Pairs ``i < j`` in one strip of :func:`plan_strips`."""
    total = 0
    for cols in all_cols:
        n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
        total += n_rows * (n_rows - 1) // 2 if rows.start == cols.start else n_rows * n_cols
    return total


def progress_bar(n_pairs: int, progress: bool | None, desc: str = "pairwise distances"):
    """A tqdm bar over pairs: always (True), never (False) or after 1 s (None)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=n_pairs,
        unit="pair",
        unit_scale=True,
        desc=desc,
        disable=progress is False,
        delay=0 if progress else 1.0,
        leave=False,
    )


def pair_pass(
    X: np.ndarray,
    binnings: list[Binning],
    *,
    per_spectrum: bool,
    block_size: int | None,
    progress: bool | None,
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Histogram every pair ``i < j`` of rows of ``X`` under each binning, in one pass.

    Tiles are shared out to one worker thread per core, each running single-threaded BLAS
    (numpy releases the GIL in BLAS, ufuncs and ``bincount``); the integer counts do not
    depend on the order, so the result is deterministic.

    Parameters
    ----------
    X : numpy.ndarray, shape ``(n_spectra, n_bias)``, float32 or float64, finite
    binnings : list of Binning
    per_spectrum : bool
        Also count, for every spectrum, its distances to all others.
    block_size : int or None
        Tile edge length; None chooses it from the available memory (:func:`block_for`).
    progress : bool or None
        True: always show a progress bar; None: show it when the pass lasts over 1 s.

    Returns
    -------
    counts : list of numpy.ndarray, shape ``(bins,)``, int64, one per binning
    per_spectrum_counts : list of numpy.ndarray, shape ``(n_spectra, bins)``, int32, or None
    """
    block = block_for(X, block_size)
    mean, sq_norms = centred_statistics(X)
    per_row = (
        [np.zeros((X.shape[0], b.bins), dtype=np.int32) for b in binnings] if per_spectrum else None
    )
    counts = run_pass(
        X, mean, sq_norms, binnings, plan_strips(X.shape[0], block), block, per_row, progress
    )
    return counts, per_row


def run_pass(
    X: np.ndarray,
    mean: np.ndarray,
    sq_norms: np.ndarray,
    binnings: list[Binning],
    strips: list[tuple[slice, list[slice]]],
    block: int,
    per_row: list[np.ndarray] | None,
    progress: bool | None,
) -> list[np.ndarray]:
    """Count the pairs of ``strips`` (from :func:`plan_strips`) with one thread per core.

    ``mean``/``sq_norms``: the centring of :func:`centred_statistics` (any fixed mean
    spectrum and the squared norms of the rows centred on it). ``per_row`` (one
    ``(n_spectra, bins)`` int32 array per binning, or None) is incremented in place.
    Returns the kept counts, one int64 array of shape ``(bins,)`` per binning.
    """
    import threading

    dtype = work_dtype(X)
    workers = min(n_workers(), len(strips)) or 1
    state = [_Worker(block, X.shape[1], dtype, binnings) for _ in range(workers)]
    lock = threading.Lock()
    queue = iter(strips)
    errors: list[BaseException] = []
    bar = progress_bar(sum(strip_pairs(r, c) for r, c in strips), progress)

    def run(worker: _Worker) -> None:
        try:
            while not errors:
                with lock:
                    strip = next(queue, None)
                if strip is None:
                    return
                rows, all_cols = strip
                left = _augmented(X, rows, mean, sq_norms, worker, left=True)
                for cols in all_cols:
                    if errors:
                        return
                    right = _augmented(X, cols, mean, sq_norms, worker, left=False)
                    n_pairs, parts = _process_tile(
                        left, right, rows.start == cols.start, binnings, worker, per_row is not None
                    )
                    with lock:
                        for k, (row_part, col_part) in enumerate(parts or ()):
                            per_row[k][rows] += row_part
                            per_row[k][cols] += col_part
                        bar.update(n_pairs)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    try:
        with single_threaded_blas():
            threads = [threading.Thread(target=run, args=(w,), daemon=True) for w in state]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    thread.join()
            except BaseException as interrupt:  # e.g. KeyboardInterrupt: stop the workers too
                errors.append(interrupt)
                for thread in threads:
                    thread.join()
                raise
    finally:
        bar.close()
    if errors:
        raise errors[0]
    return [
        sum(w.slot_counts[k] for w in state)[1 : b.bins + 1].copy() for k, b in enumerate(binnings)
    ]
