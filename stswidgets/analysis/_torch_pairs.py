"""The pair pass of :mod:`stswidgets.analysis.distances` in torch, on a GPU or the CPU.

The one place in :mod:`stswidgets.analysis` that uses torch, and only when a caller asks for
``device=``: torch is imported inside the functions, so ``import stswidgets.analysis`` (and
every default call) never loads it. It lives here rather than in :mod:`stswidgets.learn`
because it is the same tile and binning code as :mod:`._pairs_kernel`, written in torch
operations, and ``analysis`` must not depend on ``learn``.

Same tiles, same arithmetic as the numpy pass: each tile of squared distances is one matrix
product of the centred spectra augmented by their squared norms, then ``sqrt``; float32
tiles are binned by ``trunc((v - lo) * scale + 1)``, float64 tiles with numpy's edge
corrections, and counted with ``bincount``. Where the counts can differ from the numpy pass:
a distance within rounding of a bin edge, because a different matrix-product kernel (cuBLAS,
torch's CPU GEMM) may sum in another order (float32: a few 1e-7 relative; float64: a few
1e-16), and for ``log(d + offset)`` because ``torch.log`` and ``numpy.log`` may differ in
the last bit. Data whose distances all lie away from the edges (tested) give equal counts.
"""

from __future__ import annotations

import numpy as np

from stswidgets.analysis._pairs_kernel import Binning, work_dtype
from stswidgets.analysis._pairs_pass import progress_bar, strip_pairs

#: Tile edge on a CUDA device when ``block_size`` is None (working memory ~ 24 block**2 bytes).
CUDA_BLOCK = 8192
DEVICES = ("cpu", "cuda", "auto")


def resolve_device(device) -> str | None:
    """The torch device to run on, or None for the numpy pass.

    ``None``: numpy. ``"cpu"``, ``"cuda"`` or ``"cuda:N"``: torch there. ``"auto"``: CUDA when
    ``torch.cuda.is_available()``, else the numpy pass (faster than torch on the CPU). A clear
    error for anything else, for CUDA without a GPU, and for torch missing.
    """
    if device is None:
        return None
    if not isinstance(device, str) or not (device in DEVICES or device.startswith("cuda:")):
        raise ValueError(f"device must be None, 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")
    try:
        import torch
    except ImportError as err:  # pragma: no cover - torch is a dependency of stswidgets.learn
        raise ValueError(f"device={device!r} needs torch, which is not importable: {err}") from None
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r}, but torch finds no CUDA device")
    return device


class _TorchTiles:
    """The spectra on ``device`` and the tile code, for one pass."""

    def __init__(
        self, X, mean, sq_norms, binnings: list[Binning], device: str, resident: bool = True
    ) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = torch.float32 if work_dtype(X) == np.float32 else torch.float64
        # resident: all spectra copied to the device once (one pass); else each tile's rows
        # are copied when needed (a cluster task, which visits a few strips only)
        self.X = torch.as_tensor(X, device=self.device if resident else None)
        self.mean = torch.as_tensor(mean, dtype=torch.float64, device=self.device)
        self.sq_norms = torch.as_tensor(sq_norms, dtype=torch.float64, device=self.device)
        self.binnings = binnings
        self.edges = [torch.as_tensor(b.edges, device=self.device) for b in binnings]
        self.slot_counts = [
            torch.zeros(b.n_slots, dtype=torch.int64, device=self.device) for b in binnings
        ]

    def augmented(self, rows: slice, left: bool):
        """``[c, |c|^2, 1]`` (left) or ``[-2 c, 1, |c|^2]`` (right), as ``_augmented``."""
        torch = self.torch
        centred = self.X[rows].to(self.device, torch.float64) - self.mean
        norms = self.sq_norms[rows, None]
        ones = torch.ones_like(norms)
        parts = (centred, norms, ones) if left else (-2.0 * centred, ones, norms)
        return torch.cat(parts, dim=1).to(self.dtype)

    def tile(self, left, right, diagonal: bool, per_spectrum: bool):
        """Bin one tile into ``slot_counts``; per-spectrum ``(row, col)`` counts or None."""
        torch = self.torch
        distance = (left @ right.T).clamp_min_(0).sqrt_()
        n_rows, n_cols = distance.shape
        below = None
        if diagonal:
            below = torch.ones(n_rows, n_cols, dtype=torch.bool, device=self.device).tril_()
        parts = [] if per_spectrum else None
        for k, binning in enumerate(self.binnings):
            source = distance if binning.offset is None else torch.log(distance + binning.offset)
            if self.dtype == torch.float64:
                slots = self._slots_exact(source, binning, self.edges[k])
            else:
                slots = self._slots_fast(source, binning)
            if below is not None:
                slots[below] = 0
            n_slots = binning.n_slots
            if not per_spectrum:
                self.slot_counts[k] += torch.bincount(slots.flatten(), minlength=n_slots)
                continue
            row_index = torch.arange(n_rows, device=self.device)[:, None] * n_slots
            row_counts = torch.bincount(
                (slots + row_index).flatten(), minlength=n_rows * n_slots
            ).reshape(n_rows, n_slots)
            col_index = torch.arange(n_cols, device=self.device) * n_slots
            col_counts = torch.bincount(
                (slots + col_index).flatten(), minlength=n_cols * n_slots
            ).reshape(n_cols, n_slots)
            self.slot_counts[k] += row_counts.sum(dim=0)
            kept = slice(1, binning.bins + 1)
            parts.append((row_counts[:, kept].to(torch.int32), col_counts[:, kept].to(torch.int32)))
        return parts

    def _slots_fast(self, values, binning: Binning):
        """As ``_pairs_kernel._slots_fast``: the same float32 operations in the same order."""
        scale = binning.bins / (binning.hi - binning.lo)
        slot = values * scale
        slot += 1.0 - binning.lo * scale
        if binning.auto:
            upper = np.nextafter(np.float32(binning.bins + 1), np.float32(0))
            slot.clamp_(1.0, float(upper))
        else:
            slot.clamp_(0.0, float(binning.bins + 2))
            slot[slot == binning.bins + 1] = binning.bins + 0.5
        return slot.to(self.torch.int64)

    def _slots_exact(self, values, binning: Binning, edges):
        """As ``_pairs_kernel._slots_exact`` (numpy.histogram's binning), in float64."""
        torch = self.torch
        lo, hi, bins = binning.lo, binning.hi, binning.bins
        if binning.auto:
            values = values.clamp(lo, hi)
        keep = (values >= lo) & (values <= hi)
        index = (((values - lo) / (hi - lo)) * bins).clamp_(0, bins).to(torch.int64)
        index[index == bins] -= 1
        index[values < edges[index]] -= 1
        index.clamp_min_(0)
        increment = (values >= edges[index + 1]) & (index != bins - 1)
        index[increment] += 1
        index += 1
        index[~keep] = 0
        return index

    def kept_counts(self) -> list[np.ndarray]:
        return [
            c[1 : b.bins + 1].cpu().numpy().astype(np.int64)
            for c, b in zip(self.slot_counts, self.binnings, strict=True)
        ]


def torch_pass(
    X, mean, sq_norms, binnings, strips, per_row, progress, device: str
) -> list[np.ndarray]:
    """:func:`~stswidgets.analysis._pairs_kernel.run_pass` in torch on ``device``.

    The spectra are copied to the device once; ``per_row`` (numpy, or None) is filled at
    the end from the per-spectrum counts kept on the device.
    """
    torch = __import__("torch")
    tiles = _TorchTiles(X, mean, sq_norms, binnings, device)
    on_device = None
    if per_row is not None:
        on_device = [torch.zeros(p.shape, dtype=torch.int32, device=tiles.device) for p in per_row]
    bar = progress_bar(sum(strip_pairs(r, c) for r, c in strips), progress)
    try:
        with torch.no_grad():
            for rows, all_cols in strips:
                left = tiles.augmented(rows, left=True)
                for cols in all_cols:
                    right = tiles.augmented(cols, left=False)
                    parts = tiles.tile(left, right, rows.start == cols.start, per_row is not None)
                    for k, (row_part, col_part) in enumerate(parts or ()):
                        on_device[k][rows] += row_part
                        on_device[k][cols] += col_part
                bar.update(strip_pairs(rows, all_cols))
    finally:
        bar.close()
    for k, counts in enumerate(on_device or ()):
        per_row[k] += counts.cpu().numpy()
    return tiles.kept_counts()


def count_strip_torch(X, mean, sq_norms, binnings, rows, all_cols, per_spectrum, device):
    """:func:`~stswidgets.analysis._pairs_kernel.count_strip` in torch (a cluster task)."""
    import torch

    tiles = _TorchTiles(X, mean, sq_norms, binnings, device, resident=False)
    first = all_cols[0].start
    parts = None
    with torch.no_grad():
        left = tiles.augmented(rows, left=True)
        for cols in all_cols:
            right = tiles.augmented(cols, left=False)
            tile_parts = tiles.tile(left, right, rows.start == cols.start, per_spectrum)
            if tile_parts is None:
                continue
            if parts is None:
                span = all_cols[-1].stop - first
                parts = [
                    (
                        torch.zeros(r.shape, dtype=torch.int32),
                        torch.zeros((span, r.shape[1]), dtype=torch.int32),
                    )
                    for r, _ in tile_parts
                ]
            for k, (row_part, col_part) in enumerate(tile_parts):
                parts[k][0].add_(row_part.cpu())
                parts[k][1][cols.start - first : cols.stop - first] += col_part.cpu()
    numpy_parts = None if parts is None else [(r.numpy(), c.numpy()) for r, c in parts]
    return tiles.kept_counts(), numpy_parts
