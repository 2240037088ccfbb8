"""Statistics of all pairwise Euclidean distances between spectra (paper Fig. 4).

For ``N`` spectra there are ``N (N - 1) / 2`` pairs (49,995,000 for a 100 x 100 grid), too
many to hold. Every function here makes one blockwise pass over the pairs
(:mod:`stswidgets.analysis._pairs_kernel`): memory grows as ``N x block``, never ``N x N``.

- :func:`distance_histogram`: the distribution of all pairwise distances ``d``, or of the
  log-rescaled ``log(d + offset)`` for one or several offsets in one pass (Fig. 4a, b).
- :func:`per_spectrum_histograms`: every spectrum's histogram of its distances to all the
  others (Fig. 4d insets).
- :func:`fit_two_gaussians`: the majority and minority normal components of a (rescaled)
  distance distribution (Fig. 4c).
- :func:`minority_abundance`: the fraction of each spectrum's distances beyond the crossing
  of the two fitted components (:func:`crossing`), high on the minority, or no values and
  the reason when the distribution shows one population (:func:`population_test`: Delta
  BIC on the number of spectra, a dip of the measured histogram, a minority);
  :func:`stswidgets.to_map` puts it on the real-space map.

The pass runs here (one thread per core), on a dask.distributed cluster (``client=``: the
tiles become tasks, the integer counts are summed and equal the local ones) or in torch
(``device="cuda"``, ``"cpu"``, ``"auto"``). Spectra that arrive over time (a grid being
measured) go to :class:`stswidgets.analysis.PairHistogram`, which counts only the new pairs.

Precision follows ``X``: float32 (what :func:`stswidgets.to_matrix` returns) is computed in
float32 BLAS and is fast; float64 is slower and bins exactly like
``numpy.histogram(scipy.spatial.distance.pdist(X), bins, range)``.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from stswidgets.analysis._abundance import MinorityAbundance, far_fraction, minority_abundance
from stswidgets.analysis._pairs_kernel import _AUTO_MARGIN, Binning, centred_statistics
from stswidgets.analysis._pairs_pass import block_for, pair_pass, plan_strips
from stswidgets.analysis._populations import (
    PopulationTest,
    crossing,
    fitted_minority_fraction,
    histogram_dip,
    population_test,
    two_populations,
)
from stswidgets.analysis._two_gaussians import (
    ModelComparison,
    TwoGaussianFit,
    compare_one_two,
    fit_two_gaussians,
)
from stswidgets.grid import check_spectra

__all__ = [
    "MinorityAbundance",
    "ModelComparison",
    "PopulationTest",
    "TwoGaussianFit",
    "compare_one_two",
    "crossing",
    "default_bins",
    "distance_histogram",
    "far_fraction",
    "fit_two_gaussians",
    "fitted_minority_fraction",
    "histogram_dip",
    "median_distance",
    "minority_abundance",
    "occupied_range",
    "per_spectrum_histograms",
    "population_test",
    "two_populations",
]

Histogram = tuple[np.ndarray, np.ndarray]


def _check_bins(bins) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"bins must be a positive integer number of bins, got {bins!r}")
    return int(bins)


def _offset_list(offset) -> tuple[list[float | None], bool]:
    """The offsets as a list and whether the caller gave a list."""
    if offset is None or isinstance(offset, Real):
        offsets, many = [offset], False
    else:
        offsets, many = list(offset), True
        if not offsets:
            raise ValueError("offset is an empty list; give at least one offset or None")
    for value in offsets:
        if value is None:
            continue
        if not isinstance(value, Real) or not np.isfinite(value) or value <= 0:
            raise ValueError(
                f"offset must be a positive finite number (log(d + offset) needs d + offset > 0 "
                f"at d = 0), got {value!r}"
            )
    return [None if v is None else float(v) for v in offsets], many


def _range_list(range_, n: int) -> list[tuple[float, float] | None]:
    if range_ is None:
        return [None] * n
    ranges = list(range_)
    if len(ranges) == 2 and all(isinstance(v, Real) for v in ranges):
        ranges = [tuple(ranges)] * n
    if len(ranges) != n:
        raise ValueError(f"range must be (lo, hi) or a list of {n} (lo, hi) pairs, got {range_!r}")
    out = []
    for pair in ranges:
        if pair is None:
            out.append(None)
            continue
        lo, hi = (float(v) for v in pair)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"range {pair!r} is not finite")
        if lo > hi:
            raise ValueError(f"range {pair!r}: the lower edge must not exceed the upper edge")
        if lo == hi:  # as numpy.histogram: widen an empty range
            lo, hi = lo - 0.5, hi + 0.5
        out.append((lo, hi))
    return out


def _binnings(X, bins, range_, offset) -> tuple[list[Binning], bool]:
    """One :class:`Binning` per offset; automatic ranges from an exact bound (no extra pass).

    For ``i != j``, ``|x_i - x_j| <= |x_i - m| + |x_j - m| <= r_1 + r_2`` (triangle
    inequality, ``m`` the mean spectrum, ``r_1 >= r_2`` the two largest distances from it).
    So ``[0, (r_1 + r_2)(1 + 1e-5)]`` holds every pairwise distance, and
    ``[log(offset), log((r_1 + r_2)(1 + 1e-5) + offset)]`` every rescaled one.
    """
    bins = _check_bins(bins)
    offsets, many = _offset_list(offset)
    ranges = _range_list(range_, len(offsets))
    d_max = None
    binnings = []
    for off, pair in zip(offsets, ranges, strict=True):
        if pair is not None:
            binnings.append(Binning(bins, pair[0], pair[1], off))
            continue
        if d_max is None:
            radii = np.sqrt(centred_statistics(X)[1])
            top = np.partition(radii, radii.size - 2)[-2:]
            d_max = float(top.sum()) * (1 + _AUTO_MARGIN)
            if d_max == 0:  # all spectra identical
                d_max = 1.0
        if off is None:
            binnings.append(Binning(bins, 0.0, d_max, None, auto=True))
        else:
            binnings.append(Binning(bins, np.log(off), np.log(d_max + off), off, auto=True))
    return binnings, many


def distance_histogram(
    X: np.ndarray,
    bins: int = 200,
    range: tuple[float, float] | list | None = None,  # noqa: A002 - numpy.histogram's name
    offset: float | list[float] | None = None,
    block_size: int | None = None,
    progress: bool | None = None,
    client=None,
    device: str | None = None,
) -> Histogram | list[Histogram]:
    """Histogram of all ``N (N - 1) / 2`` pairwise Euclidean distances between spectra.

    Parameters
    ----------
    X : array-like, shape ``(n_spectra, n_bias)``
        One spectrum per row, e.g. from :func:`stswidgets.to_matrix`; distances are in the
        units of ``X``. float32 is computed in float32 BLAS (fast; a pair within float32
        rounding of a bin edge may land in the neighbouring bin, ~1e-5 of the pairs on a
        100 x 100 x 512 grid), anything else in float64 and binned exactly as
        ``numpy.histogram(scipy.spatial.distance.pdist(X), bins, range)``.
    bins : int
        Number of equal-width bins.
    range : (float, float), list of (float, float) or None
        Outer bin edges (of ``d``, or of ``log(d + offset)``); pairs outside are not counted,
        the upper edge belongs to the last bin as in :func:`numpy.histogram`. One pair per
        offset when ``offset`` is a list. None: ``[0, d_bound]`` with ``d_bound`` an exact
        upper bound of every distance, the sum of the two largest distances from the mean
        spectrum (+1e-5 relative), so no second pass over the pairs is needed; for an
        offset ``[log(offset), log(d_bound + offset)]``. Every pair is then counted.
    offset : float, list of float or None
        None: histogram ``d``. A positive float: histogram ``log(d + offset)`` (natural
        log, ``offset`` in the units of ``d``). A list: one histogram per offset, all from
        one pass over the pairs.
    block_size : int or None
        Spectra per tile (memory ``~ 32 block_size**2`` bytes); None chooses it from the
        available memory (at most ~32 MB per tile). The result does not depend on it.
    progress : bool or None
        Progress bar (tqdm): True always, False never, None when the pass takes over 1 s.
        With a ``client`` it counts the pairs of finished tasks.
    client : distributed.Client or None
        Run the pass on a dask.distributed cluster: the spectra are scattered to every
        worker once, the triangle of tiles becomes tasks (the same tile code), the integer
        counts are summed here. The counts equal the local ones exactly for the same input,
        precision and ``block_size`` (None chooses the same tiles as the local pass on this
        machine), provided the workers run the same BLAS. Each worker holds the spectra and
        one task's tiles (``O(N x n_bias + block**2)``). None: this process.
    device : {None, "cpu", "cuda", "auto"} or "cuda:N"
        None (default): the numpy pass. A torch device: the same tiles and binning in torch
        (torch is imported only then), e.g. ``"cuda"`` on a GPU with tiles of 8192 spectra;
        ``"auto"``: CUDA when ``torch.cuda.is_available()``, else the numpy pass. Counts can
        differ from the numpy pass only for a distance within rounding of a bin edge (a
        different matrix-product kernel; ``torch.log`` vs ``numpy.log`` in the last bit).
        With a ``client``, each task runs in torch on its worker's device.

    Returns
    -------
    counts : numpy.ndarray, shape ``(bins,)``, int64
        Pairs per bin; they sum to ``N (N - 1) / 2`` when ``range`` is None.
    edges : numpy.ndarray, shape ``(bins + 1,)``, float64
    A list of ``(counts, edges)``, one per offset, when ``offset`` is a list.

    Raises
    ------
    ValueError
        When ``X`` is not 2D, holds fewer than 2 spectra or NaN/inf, ``bins < 1``, an
        offset is not positive, or a range is not finite or reversed.

    Examples
    --------
    >>> X, valid = stswidgets.to_matrix(grid)
    >>> counts, edges = distance_histogram(X, bins=200)
    >>> rescaled = distance_histogram(X, bins=200, offset=[0.1, 0.5, 1.0, 2.0])
    """
    X = check_spectra(X, min_bias=1, dtype=None)
    binnings, many = _binnings(X, bins, range, offset)
    counts, _ = _pass(X, binnings, False, block_size, progress, client, device)
    result = [(c, b.edges) for c, b in zip(counts, binnings, strict=True)]
    return result if many else result[0]


def per_spectrum_histograms(
    X: np.ndarray,
    bins: int = 200,
    range: tuple[float, float] | list | None = None,  # noqa: A002 - numpy.histogram's name
    offset: float | list[float] | None = None,
    block_size: int | None = None,
    progress: bool | None = None,
    return_counts: bool = False,
    client=None,
    device: str | None = None,
):
    """Every spectrum's histogram of its distances to all the other spectra.

    Same pass and parameters as :func:`distance_histogram`; each pair ``(i, j)`` is counted
    once in row ``i`` and once in row ``j``.

    Parameters
    ----------
    X, bins, range, offset, block_size, progress, client, device
        As in :func:`distance_histogram`.
    return_counts : bool
        Also return the global histogram of all pairs from the same pass (it equals
        ``H.sum(axis=0) // 2``).

    Returns
    -------
    H : numpy.ndarray, shape ``(n_spectra, bins)``, int32
        ``H[i, k]``: how many other spectra lie in bin ``k`` of distance from spectrum ``i``;
        each row sums to ``n_spectra - 1`` when ``range`` is None.
    edges : numpy.ndarray, shape ``(bins + 1,)``, float64
    counts : numpy.ndarray, shape ``(bins,)``, int64, only with ``return_counts=True``
    A list of these tuples, one per offset, when ``offset`` is a list.
    """
    X = check_spectra(X, min_bias=1, dtype=None)
    binnings, many = _binnings(X, bins, range, offset)
    counts, per_row = _pass(X, binnings, True, block_size, progress, client, device)
    result = []
    for c, h, b in zip(counts, per_row, binnings, strict=True):
        result.append((h, b.edges, c) if return_counts else (h, b.edges))
    return result if many else result[0]


def default_bins(n_spectra: int) -> int:
    """Bins for the histogram of the pairs of ``n_spectra`` spectra (notebook 03's rule):
    ``2 * n_pairs ** (1/3)``, enough pairs per bin for a smooth histogram, within 30-200."""
    n_pairs = n_spectra * (n_spectra - 1) // 2
    return int(np.clip(2 * n_pairs ** (1 / 3), 30, 200))


def median_distance(counts: np.ndarray, edges: np.ndarray) -> float:
    """The median pair distance of a histogram: the centre of the bin that holds it (the
    scale of notebook 03's log offsets)."""
    centres = 0.5 * (np.asarray(edges[:-1]) + np.asarray(edges[1:]))
    cumulative = np.cumsum(counts)
    return float(centres[np.searchsorted(cumulative, cumulative[-1] / 2)])


def occupied_range(
    counts: np.ndarray, edges: np.ndarray, offset: float | None = None
) -> tuple[float, float]:
    """Range of the occupied bins of a raw distance histogram, optionally log-rescaled.

    The automatic range of :func:`distance_histogram` starts at ``d = 0`` (``log(offset)``
    rescaled), while measured spectra rarely come closer than their noise allows. Give a
    first raw histogram (which counts every pair) to this function and its result as the
    ``range`` of the rescaled histograms: every pair is still counted, and the bins cover
    only the distances that occur.

    Parameters
    ----------
    counts, edges : numpy.ndarray, shapes ``(bins,)`` and ``(bins + 1,)``
        A histogram of the raw distances ``d`` (no offset), e.g. from
        :func:`distance_histogram` with ``range=None``.
    offset : float or None
        None: the range of ``d``; a positive float: of ``log(d + offset)``.

    Returns
    -------
    (lo, hi) : tuple of float
        From the lower edge of the first occupied bin to the upper edge of the last, widened
        by half a bin on each side (not below ``d = 0``) so that a distance computed again
        with a last-digit difference stays inside.
    """
    counts = np.asarray(counts)
    edges = np.asarray(edges, dtype=np.float64)
    if counts.ndim != 1 or edges.shape != (counts.size + 1,):
        raise ValueError(
            f"counts must have shape (bins,) and edges (bins + 1,); got {counts.shape} "
            f"and {edges.shape}"
        )
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        raise ValueError("the histogram is empty: no occupied bin to take a range from")
    half = 0.5 * np.diff(edges)
    lo = max(edges[occupied[0]] - half[occupied[0]], 0.0)
    hi = edges[occupied[-1] + 1] + half[occupied[-1]]
    if offset is None:
        return float(lo), float(hi)
    offset = _offset_list(offset)[0][0]
    return float(np.log(lo + offset)), float(np.log(hi + offset))


def _pass(X, binnings, per_spectrum, block_size, progress, client, device):
    """The pair pass here (numpy or torch) or on a dask cluster: ``(counts, per_row)``."""
    from stswidgets.analysis._torch_pairs import CUDA_BLOCK, resolve_device, torch_pass

    block_size = _check_block(block_size)
    device = resolve_device(device)
    if client is not None:
        from stswidgets.analysis._dask_pairs import cluster_pass

        return cluster_pass(
            client,
            X,
            binnings,
            per_spectrum=per_spectrum,
            block_size=block_size,
            progress=progress,
            device=device,
        )
    if device is None:
        return pair_pass(
            X, binnings, per_spectrum=per_spectrum, block_size=block_size, progress=progress
        )
    if block_size is None and device.startswith("cuda"):
        block_size = CUDA_BLOCK
    block = block_for(X, block_size)
    mean, sq_norms = centred_statistics(X)
    per_row = (
        [np.zeros((X.shape[0], b.bins), dtype=np.int32) for b in binnings] if per_spectrum else None
    )
    strips = plan_strips(X.shape[0], block)
    counts = torch_pass(X, mean, sq_norms, binnings, strips, per_row, progress, device)
    return counts, per_row


def _check_block(block_size) -> int | None:
    if block_size is None:
        return None
    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer):
        raise ValueError(f"block_size must be a positive integer or None, got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer or None, got {block_size!r}")
    return int(block_size)
