"""Benchmark: the pair pass on a dask.distributed cluster against the same pass in one process.

Run from the repository root::

    python benchmarks/bench_scale.py                  # 65,536 and 262,144 spectra x 512
    python benchmarks/bench_scale.py --small          # 16,384 x 512 only (about a minute)
    python benchmarks/bench_scale.py --sizes 65536    # chosen sizes
    python benchmarks/bench_scale.py --repeat 3       # rounds (local, cluster), best of each
    python benchmarks/bench_scale.py --campaign [...] # part (b): a campaign of 8 grids, serial
                                                      # vs 2 workers (bench_scale_campaign.py)

Data: random mixtures of a few smooth spectral shapes plus noise, float32 (generated in a
second, seeded; the pass costs the same for any data of this shape).

For each size, ``--repeat`` rounds of one local and one cluster pass, alternating, each in a
fresh subprocess; the best time of each is compared (on a shared machine the load changes
from minute to minute, and alternating rounds let both see the same spells of load):

- ``local``: :func:`~stswidgets.analysis.distances.distance_histogram` in one process, one
  thread per core (the default);
- ``cluster``: the same call with ``client=`` a ``LocalCluster(n_workers=2,
  threads_per_worker=1, processes=True)``; the timed call includes scattering the spectra to
  the workers; starting the cluster is timed apart.

Printed: wall seconds and CPU seconds (user + system, of every process doing the pass: the
local process; the client and the worker processes) of each, pairs per CPU second, the
ratios cluster / local (target: overhead <= 15 % at 65,536 spectra, in CPU time: the work
the cluster adds, which other jobs on a shared machine do not change the way they change
wall time; the wall ratio is printed beside it), whether the counts are equal (they must be,
bin for bin), and the peak memory beyond the resident size before the call of every process
(``VmHWM`` of /proc/self/status, reset through /proc/self/clear_refs): the local process,
the client and each worker (a worker's peak includes its copy of the spectra). Exit status 1
when a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_distances import _status_kb  # noqa: E402

OVERHEAD_TARGET = 0.15
OVERHEAD_SIZE = 65_536
DEFAULT_SIZES = [65_536, 262_144]
BINS = 200


def mixture_spectra(n: int, n_bias: int = 512, seed: int = 0) -> np.ndarray:
    """``n`` float32 spectra: random positive mixtures of 6 smooth shapes plus 2 % noise."""
    rng = np.random.default_rng(seed)
    bias = np.linspace(-1, 1, n_bias)
    centres = np.linspace(-0.8, 0.8, 6)
    shapes = np.exp(-((bias[None, :] - centres[:, None]) ** 2) / 0.05) + 0.5 + 0.3 * bias**2
    X = np.empty((n, n_bias), dtype=np.float32)
    for start in range(0, n, 65_536):
        stop = min(start + 65_536, n)
        weights = rng.gamma(2.0, 1.0, size=(stop - start, shapes.shape[0]))
        X[start:stop] = weights @ shapes + rng.normal(0, 0.02, size=(stop - start, n_bias))
    return X


def _reset_peak() -> int:
    """Reset this process's VmHWM to its resident size; return that size (kB), -1 if unable."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return -1
    return _status_kb("VmRSS")


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb(before_kb: int) -> float:
    return (_status_kb("VmHWM") - before_kb) / 1024 if before_kb >= 0 else float("nan")


def _child(kind: str, data_path: str, counts_path: str) -> None:
    """One timed pass on saved data; prints seconds and peak memory as JSON."""
    from stswidgets.analysis._pairs_kernel import n_workers
    from stswidgets.analysis.distances import distance_histogram

    X = np.load(data_path)
    result: dict = {"kind": kind}
    client = cluster = None
    if kind == "cluster":
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        result["startup_s"] = time.perf_counter() - start
        result["cores"] = sum(client.nthreads().values())
    else:
        result["cores"] = n_workers()
    distance_histogram(X[:256], bins=BINS, progress=False, client=client)  # warm up imports
    workers_before = client.run(_reset_peak) if client is not None else {}
    workers_cpu = client.run(_cpu_seconds) if client is not None else {}
    before = _reset_peak()
    cpu = _cpu_seconds()
    start = time.perf_counter()
    counts, _ = distance_histogram(X, bins=BINS, progress=False, client=client)
    result["seconds"] = time.perf_counter() - start
    result["cpu_s"] = _cpu_seconds() - cpu
    result["peak_mb"] = _peak_mb(before)
    if client is not None:
        after = client.run(_cpu_seconds)
        result["cpu_s"] += sum(after[a] - workers_cpu[a] for a in after)
        peaks = client.run(_status_kb, "VmHWM")
        result["worker_peak_mb"] = [
            (peaks[address] - workers_before[address]) / 1024 for address in sorted(peaks)
        ]
        client.close()
        cluster.close()
    np.save(counts_path, counts)
    print(json.dumps(result))


def _run_child(kind: str, data_path: Path, counts_path: Path) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--data", str(data_path)]
    result = subprocess.run(
        [*command, "--counts", str(counts_path)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{kind} subprocess failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(n: int, n_bias: int, folder: Path, repeat: int) -> tuple[dict, dict, bool]:
    """Best local and cluster pass over ``n`` spectra and whether all their counts agree."""
    data_path = folder / f"X{n}.npy"
    np.save(data_path, mixture_spectra(n, n_bias))
    runs: dict[str, list[dict]] = {"local": [], "cluster": []}
    equal = True
    for round_ in range(max(repeat, 1)):
        for kind in runs:
            runs[kind].append(_run_child(kind, data_path, folder / f"{kind}{n}.npy"))
            print(f"  round {round_ + 1} {kind:>7}: {runs[kind][-1]['seconds']:.1f} s", flush=True)
        equal &= np.array_equal(
            np.load(folder / f"local{n}.npy"), np.load(folder / f"cluster{n}.npy")
        )
    local, cluster = (min(runs[kind], key=lambda r: r["seconds"]) for kind in runs)
    total = int(np.load(folder / f"local{n}.npy").sum())
    if total != n * (n - 1) // 2:
        raise RuntimeError(f"the local pass counted {total} of {n * (n - 1) // 2} pairs")
    data_path.unlink()
    return local, cluster, equal


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--campaign" in argv:  # part (b), with its own options
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_scale_campaign import main as campaign

        return campaign([a for a in argv if a != "--campaign"])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument("--small", action="store_true", help="16,384 spectra only")
    parser.add_argument("--n-bias", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=2, help="rounds, best of each taken")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--counts", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.data, args.counts)
        return 0
    sizes = [16_384] if args.small else args.sizes
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, load "
        f"average {os.getloadavg()[0]:.1f}; float32 spectra x {args.n_bias}, {BINS} bins"
    )
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n in sizes:
            n_pairs = n * (n - 1) // 2
            print(f"\n{n:,} spectra, {n_pairs:,} pairs", flush=True)
            local, cluster, equal = measure(n, args.n_bias, Path(tmp), args.repeat)
            ratio = cluster["seconds"] / local["seconds"]
            cpu_ratio = cluster["cpu_s"] / local["cpu_s"]
            print(f"  best of {args.repeat} (load average now {os.getloadavg()[0]:.1f}):")
            for r in (local, cluster):
                rate = n_pairs / r["cpu_s"]
                print(
                    f"  {r['kind']:>7}: {r['seconds']:8.1f} s wall, {r['cpu_s']:7.1f} CPU s "
                    f"({rate:.3g} pairs per CPU second; {r['cores']} cores), peak beyond input "
                    f"{r['peak_mb']:.0f} MB"
                )
            workers = ", ".join(f"{m:.0f}" for m in cluster["worker_peak_mb"])
            print(
                f"  cluster start-up {cluster['startup_s']:.1f} s (not in the pass time); "
                f"peak per worker process {workers} MB (each holds the {n:,} x {args.n_bias} "
                f"spectra, {n * args.n_bias * 4 / 2**20:.0f} MB)"
            )
            print(
                f"  ratio cluster / local: wall {ratio:.3f}, CPU time {cpu_ratio:.3f}; "
                f"counts equal: {equal}"
            )
            ok &= equal
            if n == OVERHEAD_SIZE:
                passed = cpu_ratio <= 1 + OVERHEAD_TARGET
                ok &= passed
                overhead = 100 * (cpu_ratio - 1)
                print(
                    f"  {'PASS' if passed else 'FAIL'} cluster overhead {overhead:+.1f} "
                    f"% of CPU time (target <= {100 * OVERHEAD_TARGET:.0f} %; wall "
                    f"{100 * (ratio - 1):+.1f} %, which on a shared machine follows the load)"
                )
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
