"""Damaged files of every format: the only outcomes are a grid or a FormatError naming the file.

Each source (the real files of every vendor where the shared folder is there, and files written
here: a Nanonis grid, the ``.npz`` and ``.nc`` that ``save_grid`` writes) gets a few dozen
deterministic mutations (:mod:`fuzz_cases`); a child process opens them all with ``open_grid``
under a 2 GiB address-space cap and a per-case alarm, and is started again after a crash. A
MemoryError, a timeout, a crash or any exception but ``FormatError`` fails the test, as does a
message that does not name the file, or a file cut or zeroed at its end that opens without a
warning naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
from fuzz_cases import cases
from nanonis_files import GRID_30, LINE_32, REAL_DIR, synthetic_dataset
from vendor_files import VENDORS

from stswidgets.io import open_grid, save_grid, write_3ds

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOTAL_TIMEOUT_S = 600


def _sources(tmp_path: Path) -> list[Path]:
    written = write_3ds(synthetic_dataset(ny=6, nx=5, seed=3), tmp_path / "synthetic.3ds")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid = open_grid(written)
    saved = [save_grid(grid, tmp_path / f"saved{suffix}") for suffix in (".npz", ".nc")]
    real = [REAL_DIR / GRID_30, REAL_DIR / LINE_32]
    real += [REAL_DIR / "vendors" / vendor.file for vendor in VENDORS]
    real.append(REAL_DIR / "points" / "rhk_points_stripes_HOPG.sm4")
    return [written, *saved, *(path for path in real if path.is_file())]


def _run(todo: list) -> dict[int, dict]:
    """Outcomes by case id; a child that dies is started again after the case it died on."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results: dict[int, dict] = {}
    while todo:
        child = subprocess.run(
            [sys.executable, str(HERE / "fuzz_cases.py")],
            input=json.dumps(todo),
            capture_output=True,
            text=True,
            env=env,
            timeout=TOTAL_TIMEOUT_S,
        )
        started = None
        for line in child.stdout.splitlines():
            record = json.loads(line)
            if record.get("started"):
                started = record["id"]
            else:
                results[record["id"]] = record
                started = None
        done = {case[0] for case in todo if case[0] in results}
        if started is not None:  # the child died on this case
            results[started] = {
                "id": started,
                "outcome": "other",
                "names_file": False,
                "detail": f"child died (rc {child.returncode}): {child.stderr[-300:]}",
            }
            done.add(started)
        elif child.returncode != 0 and len(done) < len(todo):
            pytest.fail(f"fuzz child failed before any case: {child.stderr[-2000:]}")
        todo = [case for case in todo if case[0] not in done]
    return results


def test_damaged_files_give_a_grid_or_a_format_error_naming_the_file(tmp_path):
    sources = _sources(tmp_path)
    todo, names, kinds = [], {}, {}
    for k, source in enumerate(sources):
        other = sources[(k + 1) % len(sources)]
        data = source.read_bytes()
        for mutation in cases(data, seed=k, other=other.read_bytes()):
            case_id = len(todo)
            names[case_id], kinds[case_id] = (source.name, mutation[0]), mutation[1]
            todo.append([case_id, str(source), str(other), source.suffix, k, mutation])
    results = _run(todo)
    per_source = Counter((names[i][0], r["outcome"]) for i, r in results.items())
    print(
        "\n".join(
            f"{source}: {outcome} x {n}" for (source, outcome), n in sorted(per_source.items())
        )
    )
    bad = [
        f"{names[i][0]} / {names[i][1]}: {r['outcome']} {r['detail']}"
        for i, r in sorted(results.items())
        if r["outcome"] not in ("grid", "FormatError")
        or (r["outcome"] != "grid" and not r["names_file"])
    ]
    # data lost from the end (cut or zeroed) is never read silently: a warning names the file
    # (where spectra end the file: RHK and Nanosurf files end in images or unread objects)
    silent = [
        f"{names[i][0]} / {names[i][1]}: a grid without a warning"
        for i, r in sorted(results.items())
        if r["outcome"] == "grid"
        and kinds[i] in ("truncate", "zero")
        and Path(names[i][0]).suffix in (".3ds", ".ibw", ".specgrid")
        and names[i][1] != "middle tenth zeroed"
        and not r["names_file"]
    ]
    assert len(results) == len(todo)
    assert not bad, f"{len(bad)} of {len(todo)} damaged files:\n" + "\n".join(bad)
    assert not silent, f"{len(silent)} of {len(todo)} damaged files:\n" + "\n".join(silent)
