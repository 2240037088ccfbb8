"""Python-side update time of the linked explorers for a large selection (target < 100 ms).

On a simulated 100 x 100 x 512 grid (``stswidgets.datasets.fese_like``), a selection is made
the way the browser makes it (setting the ``selected`` trait of the explorer's
``lasso_target``, i.e. what a lasso does; 10,000 points are drawn as a density, so that mark
is the invisible line through all points) and timed until every linked mark has its new data:
the shared ``Selection``, the map overlay, the outlined selected points, the selection/rest
mean spectra and the status line of a ``LatentExplorer``, plus the selection mean of a linked
``GridExplorer``. A brush rectangle over the whole latent space (all 10,000 points) is timed
too. Trait changes are
serialized for the frontend as in a live kernel (the comm is a no-op here).

Baseline ("naive"): the same explorer whose mean-spectra handler recomputes both means with
``np.mean`` over the fancy-indexed selected rows and over the fancy-indexed rest (no
precomputed total), as a handler written without precomputation would. Each timed update
starts from an empty selection (cleared untimed); the ratio is naive / explorer, both timed in
the same run, best of several repeats.

Run: ``.venv/bin/python benchmarks/bench_widgets.py``
"""

from __future__ import annotations

import time

import numpy as np

from stswidgets import to_matrix
from stswidgets.datasets import fese_like
from stswidgets.widgets import (
    DistanceCorrelationExplorer,
    DistanceDistributionExplorer,
    GridExplorer,
    LatentExplorer,
)
from stswidgets.widgets.latent import MAX_DRAWN_POINTS

TARGET_MS = 100.0
REPEATS = 7


def _best_ms(reset, update, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        reset()
        t0 = time.perf_counter()
        update()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def _naive_means(spectra):
    """A ``MeanSpectra.means`` that recomputes both means from the rows each time."""

    def means():
        idx = spectra.selection.indices
        rest = np.ones(spectra.n, dtype=bool)
        rest[idx] = False
        nan = np.full(spectra.X.shape[1], np.nan)
        mean_sel = np.mean(spectra.X[idx], axis=0) if idx.size else nan
        mean_rest = np.mean(spectra.X[rest], axis=0) if rest.any() else nan
        return mean_sel, mean_rest

    return means


def _timed(explorer, idx: np.ndarray, X: np.ndarray) -> float:
    """Best time (ms) to select ``idx`` in ``explorer`` from an empty selection, checked."""

    def reset():
        explorer.selection.clear()

    def update():
        explorer.lasso_target.selected = idx  # what the lasso does

    ms = _best_ms(reset, update)
    # every linked mark was updated synchronously inside update(); check it:
    k = idx.size
    if (
        explorer.map.overlay.color == 1
    ).sum() != k or f"selected {k} of" not in explorer.status.value:
        raise RuntimeError("the linked state did not follow the selection")
    if not np.allclose(explorer.spectra.lines.y[0], X[idx].mean(axis=0), rtol=1e-4):
        raise RuntimeError("the drawn selection mean differs from the numpy mean")
    if explorer.density_mode and len(explorer.selected_points.x) != min(k, MAX_DRAWN_POINTS):
        raise RuntimeError("the selected points were not outlined")
    return ms


def main() -> None:
    ds = fese_like(seed=0, shape=(100, 100), n_bias=512)
    grid = ds["didv"]
    X, valid = to_matrix(grid)
    centred = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[::10], full_matrices=False)
    Z = centred @ vt[:2].T  # PCA-like 2D latent space
    color = ds["defect_weight"].values[np.asarray(valid)]
    t0 = time.perf_counter()
    latent = LatentExplorer(grid, Z, color=color)
    build_s = time.perf_counter() - t0
    naive = LatentExplorer(grid, Z, color=color)
    naive.spectra.means = _naive_means(naive.spectra)
    pair = LatentExplorer(grid, Z, color=color)
    linked = GridExplorer(grid, selection=pair.selection)
    n = X.shape[0]
    rng = np.random.default_rng(0)
    print(
        f"grid {grid.shape}, {n} valid spectra; LatentExplorer built in {build_s:.2f} s"
        f" (density mode: {latent.density_mode}, {len(latent.scatter.x)} dots drawn)"
    )
    print(
        f"{'k selected':>10} {'explorer ms':>12} {'naive ms':>9} {'naive/explorer':>15}"
        f" {'+GridExplorer ms':>17}  target < {TARGET_MS:.0f} ms"
    )
    for k in (1_000, 5_000, 9_000, 10_000):
        idx = np.sort(rng.choice(n, size=k, replace=False))

        ours, base, both = (_timed(e, idx, X) for e in (latent, naive, pair))
        verdict = "met" if max(ours, both) < TARGET_MS else "MISSED"
        print(f"{k:>10} {ours:>12.1f} {base:>9.1f} {base / ours:>15.2f} {both:>17.1f}  {verdict}")
        if not np.allclose(linked.spectra_lines.y[0], X[idx].mean(axis=0), rtol=1e-4):
            raise RuntimeError("the linked GridExplorer's selection mean differs from numpy")

    def brush_everything():
        latent.brush.selected_x = np.array([Z[:, 0].min() - 1, Z[:, 0].max() + 1])
        latent.brush.selected_y = np.array([Z[:, 1].min() - 1, Z[:, 1].max() + 1])

    def reset_brush():
        latent.brush.selected_x = latent.brush.selected_y = None
        latent.selection.clear()

    ms = _best_ms(reset_brush, brush_everything)
    if latent.selection.indices.size != n or f"selected {n} of" not in latent.status.value:
        raise RuntimeError("the latent brush did not select every spectrum")
    verdict = "met" if ms < TARGET_MS else "MISSED"
    print(f"LatentExplorer brush over all {n} points: {ms:.1f} ms  {verdict}")

    # the other explorers' handlers, absolute times (they index precomputed results)
    from stswidgets import pipeline
    from stswidgets.analysis.correlation import distance_correlation

    correlation = DistanceCorrelationExplorer(
        {"PCA": distance_correlation(X, Z, log=True)}, valid=valid
    )
    d = correlation.result.data_distance

    def brush_all():
        correlation.brush.selected_x = np.array([d.min() - 1, d.max() + 1])
        correlation.brush.selected_y = np.array([-1e9, 1e9])

    ms = _best_ms(lambda: correlation.selection.clear(), brush_all)
    if correlation.selection.indices.size != n:
        raise RuntimeError("the correlation brush did not select every spectrum")
    print(f"DistanceCorrelationExplorer brush selecting all {n}: {ms:.1f} ms")
    t0 = time.perf_counter()
    stats = pipeline.distance_statistics(X, pipeline.config_for("full"))
    analysis_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    distribution = DistanceDistributionExplorer(stats, valid=valid)
    print(
        f"pipeline.distance_statistics (all pairs, {len(stats.offsets)} offsets): "
        f"{analysis_s:.1f} s; DistanceDistributionExplorer built on it: "
        f"{1e3 * (time.perf_counter() - t0):.0f} ms"
    )
    x = distribution.lines.x
    clicks = iter(np.tile(x[[len(x) // 3, len(x) // 2]], REPEATS))
    ms = _best_ms(lambda: None, lambda: setattr(distribution.picker, "selected", [next(clicks)]))
    print(f"DistanceDistributionExplorer click -> abundance map: {ms:.1f} ms")
    steps = iter([0, len(distribution.offsets) - 1] * REPEATS)
    ms = _best_ms(lambda: None, lambda: setattr(distribution, "offset_index", next(steps)))
    print(f"DistanceDistributionExplorer offset slider step: {ms:.1f} ms")


if __name__ == "__main__":
    main()
