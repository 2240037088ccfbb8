"""Time of ``make demo``: the notebook series 01-07 on the simulated 100 x 100 x 512 grid.

Runs :func:`stswidgets.pipeline.run_file` at the full profile (what ``make demo`` runs) in a
temporary folder and prints each notebook's seconds and their sum against the target of issue
18 (at most 100 s of notebook time on 2 cores). Named baseline, in the same run: seven empty
notebooks executed by papermill the same way (a kernel start and shutdown each), the fixed cost
of running the series as notebooks at all; the ratio says how much the analysis adds to it.
Timings on a shared machine are inflated: read the load average printed with them. Beside the
wall seconds each notebook's CPU seconds are printed (user + system of its kernel, a child
process of this one, read with ``getrusage`` when the notebook ends): on a busy machine they
stay close to what an idle one would take, so compare them between runs of two versions.

Run: ``python benchmarks/bench_demo.py [--profile quick] [--seed 0]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

TARGET_S = 100.0


def empty_notebooks(folder: Path, n: int) -> float:
    """Seconds papermill takes for ``n`` notebooks holding one empty parameters cell."""
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("seed = 0", metadata={"tags": ["parameters"]})]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    source = folder / "empty.ipynb"
    nbformat.write(nb, source)
    start = time.perf_counter()
    for k in range(n):
        papermill.execute_notebook(
            str(source), str(folder / f"empty_{k}.ipynb"), progress_bar=False, kernel_name="python3"
        )
    return time.perf_counter() - start


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's ended children: the notebook kernels."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class KernelClock:
    """A ``run_file`` progress callback: each notebook's kernel CPU seconds, from the children's
    CPU time when the notebook starts (``[i/n] name ...``) and when it ends (`` 12.3 s``)."""

    def __init__(self):
        self.cpu: dict[str, float] = {}
        self._name, self._start = None, 0.0

    def __call__(self, text: str) -> None:
        if text.startswith("[") and text.endswith(" ..."):
            self._name, self._start = text.split("] ", 1)[1][: -len(" ...")], children_cpu()
        elif self._name is not None and text.endswith(" s\n"):
            self.cpu[self._name] = children_cpu() - self._start
            self._name = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=["full", "quick", "test"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from stswidgets import pipeline

    config = pipeline.config_for(args.profile, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = children_cpu()
        baseline = empty_notebooks(tmp, 7)
        baseline_cpu = children_cpu() - before
        clock = KernelClock()
        result = pipeline.run_file(None, tmp / "run", config, progress=clock)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  {'notebook':32s} {'wall':>8s} {'CPU':>8s}")
    for name, seconds in result.timings.items():
        print(f"  {name:32s} {seconds:6.1f} s {clock.cpu.get(name, float('nan')):6.1f} s")
    total, total_cpu = sum(result.timings.values()), sum(clock.cpu.values())
    print(f"notebooks 01-07 ({args.profile} profile): {total:.1f} s wall, {total_cpu:.1f} s CPU")
    print(
        f"baseline, 7 empty notebooks through papermill: {baseline:.1f} s wall, "
        f"{baseline_cpu:.1f} s CPU"
    )
    print(
        f"ratio series / baseline: {total / baseline:.1f} wall, {total_cpu / baseline_cpu:.1f} CPU"
    )
    if args.profile == "full":
        verdict = "met" if total <= TARGET_S else "MISSED"
        print(f"target <= {TARGET_S:.0f} s of notebook time: {verdict}")


if __name__ == "__main__":
    main()
