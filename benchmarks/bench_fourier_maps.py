"""Benchmark: Fourier (QPI) maps, speed against a per-map numpy loop and the Friedel ring of the
simulated grids against its true wavevector.

Run from the repository root::

    python benchmarks/bench_fourier_maps.py               # 100 x 100 x 512 grid, seeds 1000-1009
    python benchmarks/bench_fourier_maps.py --seeds 0-29  # the tuning seeds

Measured, all in this run (the machine may be shared: compare ratios, not seconds):

- time of :func:`stswidgets.analysis.fourier_maps` on a 100 x 100 x 512 grid (best of
  ``--repeat``) and of the baseline, a Python loop over the bias maps doing the same steps with
  ``numpy.fft.fft2`` (mean subtraction, Hann window, ``|F|^2 / N``, ``fftshift``); the ratio
  baseline / engine and the largest difference between the two. Target: under 5 s.
- the Friedel ring of ``random_grid(seed)``: ``radial_average(fourier_maps(grid,
  subtract_mean="plane"), angle_range=(-75, 75))``, the biases aligned on the simulated
  dispersion ``q(E) = q0 (1 + E / 2 E_F)`` and the ring found by ``ring_wavevector`` (the
  helper ``_stacked_ring`` of tests/analysis/test_fourier_maps.py), against
  ``2 pi / friedel_wavelength_nm``. Target: median error over the seeds <= 8 %.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analysis"))


def _baseline(values: np.ndarray) -> np.ndarray:
    """The same power, one map at a time with numpy (``values`` ``(ny, nx, n_bias)``)."""
    ny, nx, nb = values.shape
    window = np.outer(np.hanning(ny), np.hanning(nx))
    out = np.empty((nb, ny, nx))
    for b in range(nb):
        image = values[:, :, b].astype(float)
        spectrum = np.fft.fftshift(np.fft.fft2((image - image.mean()) * window))
        out[b] = np.abs(spectrum) ** 2 / image.size
    return out


def _seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(v) for v in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(v) for v in text.split(",")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1000-1009", help="random_grid seeds, 'a-b' or 'a,b,c'")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from test_fourier_maps import _stacked_ring

    from stswidgets.analysis import fourier_maps, radial_average
    from stswidgets.datasets import random_grid
    from stswidgets.grid import make_grid

    rng = np.random.default_rng(0)
    values = rng.normal(size=(100, 100, 512)).astype(np.float32)
    grid = make_grid(values, np.linspace(-10, 10, 512), np.arange(100) * 0.2, np.arange(100) * 0.2)
    engine = min(_timed(lambda: fourier_maps(grid)) for _ in range(args.repeat))
    start = time.perf_counter()
    reference = _baseline(values)
    baseline = time.perf_counter() - start
    difference = np.abs(fourier_maps(grid).values - reference).max() / reference.max()
    print(
        f"fourier_maps 100 x 100 x 512: {engine:.2f} s; numpy loop {baseline:.2f} s; ratio "
        f"{baseline / engine:.1f}; largest difference {difference:.1e} of the peak"
    )

    errors = []
    for seed in _seeds(args.seeds):
        ds = random_grid(seed)
        attrs = ds.attrs
        radial = radial_average(
            fourier_maps(ds["didv"], subtract_mean="plane"), angle_range=(-75, 75)
        )
        ring = _stacked_ring(radial, attrs["friedel_fermi_energy_mV"])
        truth = 2 * np.pi / attrs["friedel_wavelength_nm"]
        errors.append(ring / truth - 1)
        aliased = " (aliased: wavelength < 2 pixels)" if truth > np.pi / attrs["pixel_nm"] else ""
        print(
            f"seed {seed}: 2 pi / lambda = {truth:.2f} /nm, ring {ring:.2f} /nm "
            f"({100 * errors[-1]:+.1f} %); amplitude {attrs['friedel_amplitude']:.3f}, noise "
            f"{attrs['noise']:.3f}, defect fraction {attrs['defect_fraction']:.2f}{aliased}"
        )
    errors = np.abs(errors)
    median = float(np.median(errors))
    print(
        f"ring within 8 %: {int((errors < 0.08).sum())} of {len(errors)}; median error "
        f"{100 * median:.1f} %"
    )
    results = [
        ("fourier_maps 100 x 100 x 512 under 5 s", engine < 5.0),
        ("median ring error <= 8 %", median <= 0.08),
    ]
    for name, ok in results:
        print(("PASS " if ok else "FAIL ") + name)
    return 0 if all(ok for _, ok in results) else 1


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main())
