"""Damaged copies of a point-spectroscopy file, opened by one reader in a child process.

The mutations are those of :mod:`fuzz_cases` (truncations, flipped bytes, header numbers
edited, zeroed tails, foreign content behind the magic). :func:`run_cases` writes each damaged
copy under the source's own name into a folder that also holds ``siblings`` (a MATRIX data
file needs its result chain beside it) and opens it with ``reader`` (``"module:function"``) in
a child process under a 2 GiB address-space cap and a per-case alarm; it returns one record per
case: ``{"name", "kind", "outcome", "names_file", "detail"}``, ``outcome`` being
``"dataset"``, ``"FormatError"`` or ``"other"`` (any other exception, MemoryError, timeout or
a crash of the child).

Run as a script, this module is that child (JSON job on stdin, one JSON line per case).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fuzz_cases import cap_child, cases, guarded_open, mutate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def run_cases(
    reader: str, source: Path, other: Path, siblings=(), seed: int = 0, name: str | None = None
) -> list[dict]:
    """Every mutation of ``source`` opened by ``reader`` (see the module docstring)."""
    mutations = cases(source.read_bytes(), seed=seed, other=other.read_bytes())
    job = {
        "reader": reader,
        "source": str(source),
        "other": str(other),
        "name": name or source.name,
        "siblings": [str(s) for s in siblings],
        "seed": seed,
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results: dict[int, dict] = {}
    todo = list(range(len(mutations)))
    while todo:
        child = subprocess.run(
            [sys.executable, str(Path(__file__))],
            input=json.dumps({**job, "cases": [[k, mutations[k]] for k in todo]}),
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        started = None
        for line in child.stdout.splitlines():
            record = json.loads(line)
            if "started" in record:
                started = record["started"]
            else:
                results[record["id"]] = record
                started = None
        if started is not None:  # the child died on this case
            results[started] = {"id": started, "outcome": "other", "names_file": False,
                                "detail": f"child died: {child.stderr[-300:]}"}  # fmt: skip
        elif len(results) < len(mutations) and child.returncode:
            raise RuntimeError(f"fuzz child failed: {child.stderr[-2000:]}")
        todo = [k for k in todo if k not in results]
    return [
        {**results[k], "name": mutations[k][0], "kind": mutations[k][1]}
        for k in range(len(mutations))
    ]


def _child() -> None:
    import importlib
    import shutil
    import tempfile

    cap_child()
    job = json.load(sys.stdin)
    module, function = job["reader"].split(":")
    reader = getattr(importlib.import_module(module), function)
    folder = Path(tempfile.mkdtemp(prefix="spectra_fuzz"))
    for sibling in job["siblings"]:
        shutil.copy(sibling, folder)
    data, other = Path(job["source"]).read_bytes(), Path(job["other"]).read_bytes()
    path = folder / job["name"]
    for case_id, mutation in job["cases"]:
        path.write_bytes(mutate(data, mutation, other, job["seed"]))
        print(json.dumps({"started": case_id}), flush=True)
        print(json.dumps({"id": case_id, **guarded_open(reader, path, "dataset")}), flush=True)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    _child()
