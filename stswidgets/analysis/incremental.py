"""A pairwise-distance histogram that grows with the spectra (live analysis of a growing grid).

:class:`PairHistogram` holds the counts of all ``N (N - 1) / 2`` pair distances of the spectra
added so far. Adding ``k`` spectra computes only the ``k N + k (k - 1) / 2`` new pairs (new
against old, then among the new), with the same blockwise tiles and binning as
:func:`~stswidgets.analysis.distances.distance_histogram`, so a grid followed while it is
measured (:func:`stswidgets.follow`) never recomputes the pairs it has already counted.
"""

from __future__ import annotations

import numpy as np

from stswidgets.analysis._pairs_kernel import Binning
from stswidgets.analysis._pairs_pass import block_for, plan_strips, run_pass
from stswidgets.analysis._torch_pairs import resolve_device, torch_pass
from stswidgets.analysis.distances import (
    _check_bins,
    _check_block,
    _offset_list,
    _range_list,
)
from stswidgets.grid import check_spectra

__all__ = ["PairHistogram"]


class PairHistogram:
    """Histogram of all pairwise Euclidean distances, updated as spectra are added.

    Parameters
    ----------
    bins : int
        Number of equal-width bins.
    range : (float, float)
        Outer bin edges, of ``d`` or, with ``offset``, of ``log(d + offset)``; pairs outside
        are not counted (the upper edge belongs to the last bin, as in
        :func:`numpy.histogram`). It must be given up front: a pair counted in bin ``k``
        stays in bin ``k`` only while the edges stay where they are, so a fixed binning is
        what makes the sum of the per-add counts equal the histogram of all spectra at
        once. An automatic range would move with every add and need a recount of the old
        pairs. Take it e.g. from a first histogram of the spectra measured so far with
        :func:`~stswidgets.analysis.distances.occupied_range`, widened for what may come.
    offset : float or None
        None: bins of ``d``; a positive float: bins of ``log(d + offset)``.
    per_spectrum : bool
        Also keep every spectrum's histogram of its distances to all others
        (:attr:`per_spectrum_counts`; memory ``n_spectra x bins`` int32).
    block_size : int or None
        Spectra per tile, as in :func:`~stswidgets.analysis.distances.distance_histogram`.
    progress : bool or None
        Progress bar over the new pairs of each :meth:`add`: True, False, or None (after 1 s).
    device : {None, "cpu", "cuda", "auto"}
        Where the new pairs are computed, as in
        :func:`~stswidgets.analysis.distances.distance_histogram`.

    Attributes
    ----------
    counts : numpy.ndarray, shape ``(bins,)``, int64
        Pairs per bin so far. After any sequence of :meth:`add` calls they equal
        ``distance_histogram(all_spectra, bins, range, offset)[0]``, except for a distance
        within rounding of a bin edge (the tiles here are centred on the mean of the first
        added spectra, there on the mean of all: float32 ~1e-6 relative, float64 ~1e-15).
    edges : numpy.ndarray, shape ``(bins + 1,)``, float64
    n_spectra : int
        Spectra added so far.
    n_pairs : int
        ``n_spectra (n_spectra - 1) / 2``, counted or outside the range.
    per_spectrum_counts : numpy.ndarray, shape ``(n_spectra, bins)``, int32
        With ``per_spectrum=True``: row ``i`` is spectrum ``i``'s histogram of its distances
        to all others so far, as :func:`~stswidgets.analysis.distances.per_spectrum_histograms`.

    Examples
    --------
    >>> hist = PairHistogram(bins=200, range=(0.0, 5.0))
    >>> hist.add(X[:1000]).add(X[1000:1500])  # doctest: +SKIP
    >>> counts, edges = hist.counts, hist.edges  # doctest: +SKIP
    """

    def __init__(
        self,
        bins: int,
        range: tuple[float, float],  # noqa: A002 - numpy.histogram's name
        offset: float | None = None,
        per_spectrum: bool = False,
        block_size: int | None = None,
        progress: bool | None = None,
        device: str | None = None,
    ) -> None:
        bins = _check_bins(bins)
        offsets, many = _offset_list(offset)
        if many:
            raise ValueError(f"offset must be one positive number or None, got {offset!r}")
        if range is None:
            raise ValueError(
                "range must be given, (lo, hi): a fixed binning is what lets the counts of each "
                "add sum to the histogram of all spectra (see the PairHistogram docstring)"
            )
        (lo, hi) = _range_list(range, 1)[0]
        self._binning = Binning(bins, lo, hi, offsets[0])
        self.per_spectrum = bool(per_spectrum)
        self.block_size = _check_block(block_size)
        self.progress = progress
        self.device = resolve_device(device)
        self._counts = np.zeros(bins, dtype=np.int64)
        self._X: np.ndarray | None = None  # spectra so far, with room to grow
        self._sq_norms = np.empty(0, dtype=np.float64)
        self._per_row = np.zeros((0, bins), dtype=np.int32)
        self._mean: np.ndarray | None = None
        self.n_spectra = 0

    @property
    def counts(self) -> np.ndarray:
        return self._counts.copy()

    @property
    def edges(self) -> np.ndarray:
        return self._binning.edges.copy()

    @property
    def n_pairs(self) -> int:
        return self.n_spectra * (self.n_spectra - 1) // 2

    @property
    def per_spectrum_counts(self) -> np.ndarray:
        if not self.per_spectrum:
            raise AttributeError(
                "per-spectrum histograms are kept only with PairHistogram(..., per_spectrum=True)"
            )
        return self._per_row[: self.n_spectra].copy()

    def add(self, X_new) -> PairHistogram:
        """Add spectra and count their distances to all earlier ones and among themselves.

        Parameters
        ----------
        X_new : array-like, shape ``(k, n_bias)``
            New spectra (finite); the same number of bias points every time. The first add
            fixes the precision (float32 stays float32, anything else becomes float64) and
            the mean spectrum the tiles are centred on. ``k = 0`` changes nothing.

        Returns
        -------
        PairHistogram
            ``self``, so that adds chain.
        """
        X_new = np.asarray(X_new)
        if X_new.ndim == 2 and X_new.shape[0] == 0:
            return self
        X_new = check_spectra(X_new, min_spectra=1, min_bias=1, name="X_new", dtype=None)
        if self._X is None:
            self._mean = X_new.mean(axis=0, dtype=np.float64)
            self._X = np.empty((0, X_new.shape[1]), dtype=X_new.dtype)
        elif X_new.shape[1] != self._X.shape[1]:
            raise ValueError(
                f"the new spectra have {X_new.shape[1]} bias points, the earlier ones "
                f"{self._X.shape[1]}"
            )
        start, stop = self.n_spectra, self.n_spectra + X_new.shape[0]
        self._grow(stop)
        self._X[start:stop] = X_new
        centred = X_new.astype(np.float64) - self._mean
        self._sq_norms[start:stop] = np.einsum("ij,ij->i", centred, centred)
        X = self._X[:stop]
        sq_norms = self._sq_norms[:stop]
        per_row = [self._per_row[:stop]] if self.per_spectrum else None
        strips = plan_strips(stop, block_for(X, self.block_size), start=start)
        if self.device is None:
            block = block_for(X, self.block_size)
            counts = run_pass(
                X, self._mean, sq_norms, [self._binning], strips, block, per_row, self.progress
            )
        else:
            counts = torch_pass(
                X,
                self._mean,
                sq_norms,
                [self._binning],
                strips,
                per_row,
                self.progress,
                self.device,
            )
        self._counts += counts[0]
        self.n_spectra = stop
        return self

    def _grow(self, n: int) -> None:
        """Room for ``n`` spectra (capacity doubles, so adds cost O(k N), not O(N^2))."""
        if n <= self._X.shape[0]:
            return
        capacity = max(n, 2 * self._X.shape[0], 64)
        X = np.empty((capacity, self._X.shape[1]), dtype=self._X.dtype)
        X[: self.n_spectra] = self._X[: self.n_spectra]
        sq_norms = np.empty(capacity, dtype=np.float64)
        sq_norms[: self.n_spectra] = self._sq_norms[: self.n_spectra]
        self._X, self._sq_norms = X, sq_norms
        if self.per_spectrum:
            per_row = np.zeros((capacity, self._binning.bins), dtype=np.int32)
            per_row[: self.n_spectra] = self._per_row[: self.n_spectra]
            self._per_row = per_row
