"""A campaign of grid files on a dask LocalCluster against the same files run one after another.

Issue 12, benchmark part (b). ``--files`` simulated FeSe-like grids (``stswidgets.datasets``,
one seed each) are written as Nanonis ``.3ds`` files with ``stswidgets.io.write_3ds``; then

- baseline: ``stswidgets run FILE --out DIR`` for each file in turn (a shell loop; no cluster);
- engine: ``stswidgets.campaign.run_campaign(files, workers=N)`` (a LocalCluster of N worker
  processes, one task per file, cores / N threads per series).

Printed: both wall times, the speed-up (serial / campaign), the campaign's overhead against the
ideal ``serial / min(N, cores)``, and whether both runs agree (the same ``site_class`` in every
``results.nc``: the test profile trains by epochs, so the results do not depend on timing).
With N workers on N free cores the speed-up approaches N; on a machine shared with other work
it shrinks. The default profile is ``test`` (40 x 40 x 128 grids, a ~1 min series each):
the quick profile (about 90 s of training per file and more) makes the 16 series of one run
take most of an hour on 2 cores. ``--profile quick`` runs it as the issue words it.

Run: ``python benchmarks/bench_scale_campaign.py [--files 8] [--workers 2] [--profile test]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_files(folder: Path, n_files: int, shape, n_bias: int) -> list[Path]:
    """``n_files`` simulated grids (seeds 0, 1, ...) as Nanonis ``.3ds`` files."""
    import xarray as xr

    from stswidgets import datasets, write_3ds

    files = []
    for seed in range(n_files):
        data = datasets.fese_like(seed=seed, shape=tuple(shape), n_bias=n_bias)
        lockin = data["didv"].rename("LockinX").assign_attrs(units="V", channel="LockinX (V)")
        files.append(write_3ds(xr.Dataset({"LockinX": lockin}), folder / f"grid_{seed:02d}.3ds"))
    return files


def run_serial(files: list[Path], out: Path, options: list[str]) -> tuple[float, int]:
    """Seconds for ``stswidgets run`` on each file in turn; number of failed runs."""
    failed = 0
    start = time.perf_counter()
    for file in files:
        command = [sys.executable, "-m", "stswidgets", "run", str(file), "--out"]
        done = subprocess.run(
            [*command, str(out / file.stem), *options], capture_output=True, text=True
        )
        failed += done.returncode != 0
        print(f"  serial {file.name}: {time.perf_counter() - start:.0f} s so far", flush=True)
    return time.perf_counter() - start, failed


def same_classes(serial: Path, campaign: Path, files: list[Path]) -> float:
    """Fraction of pixels whose ``site_class`` class is the same in both runs."""
    import xarray as xr

    agree = total = 0
    for file in files:
        with (
            xr.open_dataset(serial / file.stem / "results.nc") as a,
            xr.open_dataset(campaign / file.stem / "results.nc") as b,
        ):
            agree += int((a["site_class"].values == b["site_class"].values).sum())
            total += a["site_class"].size
    return agree / total


def main(argv: list[str] | None = None) -> int:
    from stswidgets.campaign import cpu_count, run_campaign

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", choices=["test", "quick", "full"], default="test")
    parser.add_argument("--shape", type=int, nargs=2, default=None, help="default: by profile")
    parser.add_argument("--n-bias", type=int, default=None)
    parser.add_argument("--only", nargs="+", help="notebooks, e.g. 01 02 (default: 01-07)")
    args = parser.parse_args(argv)
    quick = args.profile != "test"
    shape = args.shape or ([64, 64] if quick else [40, 40])
    n_bias = args.n_bias or (256 if quick else 128)
    options = ["--profile", args.profile] + (["--only", *args.only] if args.only else [])
    cores = cpu_count()
    print(
        f"{args.files} files of {shape[0]} x {shape[1]} x {n_bias}, {args.profile} profile, "
        f"{cores} cores, load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="stswidgets-bench-campaign-") as tmp:
        tmp = Path(tmp)
        files = write_files(tmp, args.files, shape, n_bias)
        serial_s, serial_failed = run_serial(files, tmp / "serial", options)
        start = time.perf_counter()
        result = run_campaign(
            files,
            tmp / "campaign",
            workers=args.workers,
            profile=args.profile,
            only=args.only,
            echo=lambda line: print(f"  {line}", flush=True),
        )
        campaign_s = time.perf_counter() - start
        both_done = not serial_failed and not result.failed
        agreement = same_classes(tmp / "serial", tmp / "campaign", files) if both_done else np.nan
    parallel = min(args.workers, cores)
    ideal = serial_s / parallel
    speedup, overhead = serial_s / campaign_s, campaign_s / ideal - 1
    print(
        f"serial (stswidgets run per file): {serial_s:7.1f} s, {serial_s / args.files:.1f} s a file"
    )
    print(f"campaign, {args.workers} workers (LocalCluster): {campaign_s:7.1f} s")
    print(f"speed-up serial / campaign: {speedup:.2f} (ideal on {cores} cores: {parallel})")
    print(f"campaign time over the ideal serial / {parallel}: {overhead:+.0%}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other work on the cores slows both)")
    print(f"site classes equal in both runs: {agreement:.2%} of pixels")
    checks = {
        "every file completes in both runs": both_done,
        "the campaign is not slower than serial": speedup >= 1.0,
        "the same classes from both runs (>= 99 % of pixels)": agreement >= 0.99,
    }
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
