"""The pair pass of :mod:`stswidgets.analysis.distances` as dask.distributed tasks.

The spectra, their mean and centred squared norms are scattered to every worker once; the
upper triangle of ``(block, block)`` tiles is cut into tasks of contiguous tiles along one
row strip (:func:`~stswidgets.analysis._pairs_kernel.count_strip`, the same tile and
binning code as the local pass), and the integer counts the tasks return are summed here as
they finish. A worker holds the spectra and one task's tiles: memory ``O(N x n_bias +
block**2)``, plus ``O(tiles_per_task x block x bins)`` for per-spectrum histograms. With the
same tiles as the local pass (same ``block_size``; the automatic choice is made here, on the
client, as the local pass makes it), every tile's distances are the same numbers, so the
counts equal the local counts exactly, provided the workers run the same BLAS on the same
kind of CPU (a different BLAS may round a float32 product differently).

The workers must be able to import :mod:`stswidgets` (a ``LocalCluster`` started from the
same environment can; on a remote cluster install it there).
"""

from __future__ import annotations

import math

import numpy as np

from stswidgets.analysis._pairs_kernel import Binning, centred_statistics, count_strip
from stswidgets.analysis._pairs_pass import block_for, plan_strips, progress_bar, strip_pairs

#: Tasks per worker thread the triangle is cut into (balance against per-task overhead).
TASKS_PER_THREAD = 32


def check_client(client):
    """``client`` if it looks like a :class:`distributed.Client`, else a clear error."""
    if not all(hasattr(client, name) for name in ("scatter", "submit", "nthreads")):
        raise ValueError(
            f"client must be a distributed.Client (e.g. Client(LocalCluster(n_workers=2))), "
            f"got {type(client).__name__}"
        )
    return client


def tasks_of(strips, total_threads: int) -> list[tuple[slice, list[slice]]]:
    """Cut strips into ``(rows, cols)`` tasks of at most a common number of tiles.

    Largest first (the scheduler starts them in this order), so that the workers finish
    together.
    """
    n_tiles = sum(len(cols) for _, cols in strips)
    per_task = max(1, math.ceil(n_tiles / (TASKS_PER_THREAD * max(total_threads, 1))))
    tasks = [
        (rows, cols[i : i + per_task])
        for rows, cols in strips
        for i in range(0, len(cols), per_task)
    ]
    return sorted(tasks, key=lambda task: -strip_pairs(*task))


def cluster_pass(
    client,
    X: np.ndarray,
    binnings: list[Binning],
    *,
    per_spectrum: bool,
    block_size: int | None,
    progress: bool | None,
    device: str | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """:func:`~stswidgets.analysis._pairs_kernel.pair_pass` on the workers of ``client``.

    ``device``: None runs each task's tiles in numpy; a torch device name (``"cpu"``,
    ``"cuda"``) runs them in torch on each worker (see :mod:`._torch_pairs`).
    Returns what ``pair_pass`` returns; the progress bar counts pairs of finished tasks.
    """
    from distributed import as_completed

    check_client(client)
    if device is None:
        task_function = count_strip
        extra = ()
    else:
        from stswidgets.analysis._torch_pairs import count_strip_torch

        task_function = count_strip_torch
        extra = (device,)
    n_spectra = X.shape[0]
    block = block_for(X, block_size)
    mean, sq_norms = centred_statistics(X)
    threads = sum(client.nthreads().values())
    tasks = tasks_of(plan_strips(n_spectra, block), threads)
    per_row = (
        [np.zeros((n_spectra, b.bins), dtype=np.int32) for b in binnings] if per_spectrum else None
    )
    totals = [np.zeros(b.bins, dtype=np.int64) for b in binnings]
    shared = client.scatter([X, mean, sq_norms, binnings], broadcast=True)
    futures = []
    bar = progress_bar(n_spectra * (n_spectra - 1) // 2, progress)
    try:
        pairs_of = {}
        for rows, cols in tasks:
            future = client.submit(
                task_function, *shared, rows, cols, per_spectrum, *extra, pure=False
            )
            pairs_of[future.key] = (rows, cols)
            futures.append(future)
        for future, (counts, parts) in as_completed(futures, with_results=True):
            rows, cols = pairs_of[future.key]
            for k, c in enumerate(counts):
                totals[k] += c
            for k, (row_part, col_part) in enumerate(parts or ()):
                per_row[k][rows] += row_part
                per_row[k][cols[0].start : cols[-1].stop] += col_part
            bar.update(strip_pairs(rows, cols))
            future.release()
    finally:
        bar.close()
        client.cancel(futures + list(shared))
    return totals, per_row
