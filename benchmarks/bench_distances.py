"""Benchmark: the blockwise pairwise-distance histogram against pdist + numpy.histogram.

Run from the repository root::

    python benchmarks/bench_distances.py            # 100 x 100 x 512 grid, 49,995,000 pairs
    python benchmarks/bench_distances.py --n 3000   # smaller
    python benchmarks/bench_distances.py --large    # also 256 x 256 x 512, 2.1e9 pairs

Data: a simulated FeSe-like grid (:func:`stswidgets.datasets.fese_like`) flattened with
:func:`stswidgets.to_matrix` (float32, as the notebooks use it).

Measured, all in this run (the machine may be shared: compare ratios, not seconds):

- time of :func:`stswidgets.analysis.distances.distance_histogram` (best of ``--repeat``)
  and of the baseline ``numpy.histogram(scipy.spatial.distance.pdist(X), bins)``; the
  ratio baseline / engine. Target: >= 20x.
- exactness against a float64 reference, ``numpy.histogram`` of the float64 ``pdist``
  distances with the engine's bin edges: the largest count difference in any bin divided by
  the number of pairs (``max |counts - reference| / n_pairs``; the L1 difference
  ``sum |counts - reference| / n_pairs`` is printed too), for ``d`` and for
  ``log(d + offset)`` at each of ``--offsets``. Target: <= 1e-4.
- peak memory beyond the input of each, in a fresh subprocess: the peak resident set size
  (``VmHWM`` of /proc/self/status, reset through /proc/self/clear_refs after the input is
  loaded) minus the resident size before the call. Target: engine < 300 MB.
- ``--large``: the engine alone on 65,536 spectra (2,147,450,880 pairs; the baseline would
  need 17 GB for pdist's output) in a subprocess. Targets: < 60 s, < 300 MB beyond input.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SPEED_TARGET = 20.0
EXACTNESS_TARGET = 1e-4
MEMORY_TARGET_MB = 300.0
LARGE_TIME_TARGET_S = 60.0
DEFAULT_OFFSETS = [0.1, 0.5, 1.0, 2.0, 4.0, 8.0]


def simulated_spectra(n: int, n_bias: int = 512, seed: int = 0) -> np.ndarray:
    """``n`` float32 spectra of a simulated FeSe-like grid, shape ``(n, n_bias)``."""
    from stswidgets import datasets, to_matrix

    ny = int(np.floor(np.sqrt(n)))
    nx = int(np.ceil(n / ny))
    grid = datasets.fese_like(seed=seed, shape=(ny, nx), n_bias=n_bias)["didv"]
    X, _ = to_matrix(grid)
    return np.ascontiguousarray(X[:n])


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _child(kind: str, data_path: str, bins: int) -> None:
    """Run one computation on saved data and print its time and peak memory as JSON."""
    from scipy.spatial.distance import pdist

    from stswidgets.analysis.distances import distance_histogram

    X = np.load(data_path)
    distance_histogram(X[:64], bins=bins, progress=False)  # warm up imports and BLAS
    rss_before = _status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset VmHWM to the current resident size
        reset = True
    except OSError:
        reset = False
    start = time.perf_counter()
    if kind == "baseline":
        counts, _ = np.histogram(pdist(X), bins=bins)
    else:
        counts, _ = distance_histogram(X, bins=bins, progress=kind == "large")
    seconds = time.perf_counter() - start
    peak_mb = (_status_kb("VmHWM") - rss_before) / 1024 if reset else float("nan")
    total = int(counts.sum())
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "total": total}))


def _measure(kind: str, data_path: Path, bins: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--data", str(data_path), "--bins", str(bins)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{kind} subprocess failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="spectra (default 10000)")
    parser.add_argument("--n-bias", type=int, default=512, help="points per spectrum")
    parser.add_argument("--bins", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="engine timings, best taken")
    parser.add_argument("--offsets", type=float, nargs="*", default=DEFAULT_OFFSETS)
    parser.add_argument("--large", action="store_true", help="also 65,536 spectra")
    parser.add_argument("--no-memory", action="store_true", help="skip the subprocesses")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.data, args.bins)
        return 0

    from scipy.spatial.distance import pdist

    from stswidgets.analysis._pairs_kernel import n_workers
    from stswidgets.analysis.distances import distance_histogram

    X = simulated_spectra(args.n, args.n_bias)
    n_pairs = X.shape[0] * (X.shape[0] - 1) // 2
    print(
        f"data: simulated FeSe-like grid, X {X.shape} {X.dtype}, {n_pairs:,} pairs, "
        f"{args.bins} bins; {n_workers()} worker threads"
    )
    results: list[tuple[str, bool]] = []

    distance_histogram(X[:256], bins=args.bins, progress=False)  # warm-up
    engine_times = []
    for _ in range(max(args.repeat, 1)):
        start = time.perf_counter()
        counts, edges = distance_histogram(X, bins=args.bins, progress=False)
        engine_times.append(time.perf_counter() - start)
    t_engine = min(engine_times)
    start = time.perf_counter()
    rescaled = distance_histogram(X, bins=args.bins, offset=[None, *args.offsets], progress=False)
    t_offsets = time.perf_counter() - start

    start = time.perf_counter()
    distances = pdist(X)  # float64 distances of the float32 spectra
    np.histogram(distances, bins=args.bins)
    t_baseline = time.perf_counter() - start
    ratio = t_baseline / t_engine
    print(
        f"engine   distance_histogram: {t_engine:7.3f} s (best of {len(engine_times)}: "
        + ", ".join(f"{t:.3f}" for t in engine_times)
        + ")"
    )
    print(f"baseline pdist + np.histogram: {t_baseline:7.3f} s")
    n_binnings = 1 + len(args.offsets)
    print(
        f"engine, d and {len(args.offsets)} log offsets in one pass: {t_offsets:7.3f} s "
        f"({t_offsets / n_binnings:.3f} s per histogram)"
    )
    results.append((f"speed: {ratio:.1f}x faster than the baseline (target >= 20x)", ratio >= 20))

    if int(counts.sum()) != n_pairs:
        raise RuntimeError(f"the engine counted {int(counts.sum())} of {n_pairs} pairs")
    worst = 0.0
    for label, (c, e), off in zip(
        ["d", *(f"log(d + {o:g})" for o in args.offsets)],
        rescaled,
        [None, *args.offsets],
        strict=True,
    ):
        values = distances if off is None else np.log(distances + off)
        reference, _ = np.histogram(values, bins=args.bins, range=(e[0], e[-1]))
        diff = np.abs(c - reference)
        worst = max(worst, diff.max() / n_pairs)
        print(
            f"exactness {label:>14}: max |diff| / n_pairs = {diff.max() / n_pairs:.2e}, "
            f"L1 / n_pairs = {diff.sum() / n_pairs:.2e} ({diff.sum()} pairs in another bin)"
        )
    if not np.array_equal(rescaled[0][0], counts):
        raise RuntimeError("d from the one-pass offsets call differs from the single call")
    results.append(
        (f"exactness: max |diff| / n_pairs = {worst:.2e} (target <= 1e-4)", worst <= 1e-4)
    )
    del distances

    if not args.no_memory:
        with tempfile.TemporaryDirectory() as tmp:
            data_path = Path(tmp) / "X.npy"
            np.save(data_path, X)
            input_mb = X.nbytes / 2**20
            engine = _measure("engine", data_path, args.bins)
            baseline = _measure("baseline", data_path, args.bins)
            print(
                f"peak memory beyond the input ({input_mb:.0f} MB): engine "
                f"{engine['peak_mb']:.0f} MB, baseline {baseline['peak_mb']:.0f} MB"
            )
            results.append(
                (
                    f"memory: engine peak {engine['peak_mb']:.0f} MB beyond the input "
                    f"(target < {MEMORY_TARGET_MB:.0f} MB)",
                    engine["peak_mb"] < MEMORY_TARGET_MB,
                )
            )
            if args.large:
                del X
                large = simulated_spectra(65_536, args.n_bias)
                np.save(data_path, large)
                large_pairs = large.shape[0] * (large.shape[0] - 1) // 2
                del large
                run = _measure("large", data_path, args.bins)
                rate = large_pairs / run["seconds"]
                baseline_rate = n_pairs / t_baseline
                print(
                    f"large: 65,536 x {args.n_bias}, {large_pairs:,} pairs in "
                    f"{run['seconds']:.1f} s ({rate:.3g} pairs/s, {rate / baseline_rate:.1f}x "
                    f"the baseline's pairs/s measured above), peak {run['peak_mb']:.0f} MB "
                    f"beyond the input, counts sum {run['total']:,}"
                )
                results.append(
                    (
                        f"large: {run['seconds']:.1f} s (target < 60 s)",
                        run["seconds"] < LARGE_TIME_TARGET_S,
                    )
                )
                results.append(
                    (
                        f"large: memory {run['peak_mb']:.0f} MB (target < 300 MB)",
                        run["peak_mb"] < MEMORY_TARGET_MB,
                    )
                )
                results.append(
                    (f"large: all {large_pairs:,} pairs counted", run["total"] == large_pairs)
                )
    for line, ok in results:
        print(f"{_verdict(ok)}  {line}")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
