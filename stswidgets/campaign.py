"""Campaigns: the notebook series on many grid files, one dask.distributed task per file.

``stswidgets run A.3ds B.3ds ... --out DIR [--workers N | --scheduler ADDRESS]`` calls
:func:`run_campaign`. Each file's series is one task on a dask.distributed cluster: a
``LocalCluster`` of ``N`` worker processes (default: ``min(n_files, cores)``), or the workers of
an existing scheduler. A task calls :func:`stswidgets.pipeline.run_file` (the single-file run)
into ``DIR/<name>`` in its worker process and then reads its ``results.nc``; a file that fails
(unreadable, too few spectra, a notebook error) raises an exception naming the file, which
fails its own row (``reason``) while the others go on.

Every analysis leaves in ``DIR``:

- ``<name>/``: the single-file layout (executed notebooks, ``report.html``, ``results.nc``) and
  ``stswidgets-run.log`` (the equivalent single-file command and its progress lines);
  ``<name>`` is the file's stem, made unique (``a``, ``a-2``, ...);
- ``campaign.csv``: one row per file, the columns of :data:`COLUMNS`;
- ``index.html``: the same table, each file linking to its report; a self-contained page (no
  script, no style sheet or font from the web).

Both are rewritten as each file finishes, so they show the campaign so far.

Threads: a worker process's series (its notebook kernels) gets ``OMP_NUM_THREADS`` (and the
MKL / OpenBLAS / numba equivalents, which torch and NumPy follow) = cores of its machine
divided by the series running there at once, so N series do not oversubscribe the cores. They
are set in the worker process's environment, which the notebook kernels inherit.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from stswidgets._campaign_tables import INDEX_NAME, TABLE_NAME, write_tables
from stswidgets.pipeline.config import PipelineConfig, config_for

__all__ = [
    "COLUMNS",
    "CampaignResult",
    "analyse_file",
    "folder_names",
    "run_campaign",
    "single_file_command",
    "summarize_results",
]

#: Columns of ``campaign.csv`` (and of the table in ``index.html``) and what each holds.
COLUMNS: dict[str, str] = {
    "file": "the grid file, as given on the command line",
    "folder": "its subfolder of the campaign's output directory",
    "shape": "ny x nx x n_bias of the grid (pixels and bias points)",
    "complete_spectra": "number of complete spectra (measured at every bias point)",
    "channel": "the channel analysed (results.nc attribute `channel`)",
    "minority_fraction": (
        "fraction of the complete spectra in a minority-kind class of `site_class` "
        "(results.nc, notebook 07: flag values >= 2), 0-1"
    ),
    "defect_kinds": (
        "number of minority (defect) kinds found: `site_class` classes beyond majority and "
        "transition that hold spectra"
    ),
    "two_populations": (
        "whether the pair-distance distribution shows a minority (notebook 03 saved the "
        "`abundance` map): yes / no"
    ),
    "runtime_s": "seconds the file's series took on its worker",
    "status": "complete, or failed",
    "reason": "why it failed (the error, naming the file); a warning if complete",
}

#: Environment variables that bound the threads of NumPy's BLAS, torch and numba.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)

LOG_NAME = "stswidgets-run.log"


@dataclass
class CampaignResult:
    """What :func:`run_campaign` wrote.

    Attributes
    ----------
    rows : list of dict
        One row per file, in the order given, with the keys of :data:`COLUMNS`.
    index, table : Path
        ``index.html`` and ``campaign.csv``.
    dashboard : str or None
        Address of the dask dashboard, None where the cluster serves none.
    """

    rows: list[dict]
    index: Path
    table: Path
    dashboard: str | None = None
    failed: list[dict] = field(init=False)

    def __post_init__(self):
        self.failed = [row for row in self.rows if row["status"] != "complete"]


def cpu_count() -> int:
    """Cores this process may use (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def folder_names(files: list[str | Path]) -> list[str]:
    """One subfolder name per file: its stem, made unique (case-insensitively) by ``-2``, ..."""
    names, taken = [], set()
    for file in files:
        stem = Path(file).stem or "grid"
        name, k = stem, 1
        while name.lower() in taken:
            k += 1
            name = f"{stem}-{k}"
        taken.add(name.lower())
        names.append(name)
    return names


def summarize_results(folder: str | Path) -> dict:
    """The campaign columns read from ``folder/results.nc`` (empty where it holds too little).

    ``shape`` and ``complete_spectra`` come from ``valid`` and the ``bias`` coordinate,
    ``channel`` from the global attributes, ``minority_fraction`` and ``defect_kinds`` from
    ``site_class`` and its ``flag_meanings`` (classes ``0`` majority, ``1`` transition, ``2``... the
    minority kinds), ``two_populations`` from whether ``abundance`` is there (notebook 03 saves
    it only when the pair distances show two populations).
    """
    import numpy as np

    from stswidgets.results import load_results

    results = load_results(folder)
    if results is None:
        return {}
    row: dict = {"channel": results.attrs.get("channel", "")}
    if "valid" in results:
        valid = results["valid"].values.astype(bool)
        n_bias = f" x {results.sizes['bias']}" if "bias" in results.sizes else ""
        row["shape"] = " x ".join(map(str, valid.shape)) + n_bias
        row["complete_spectra"] = int(valid.sum())
    if "site_class" in results:
        band = results["site_class"].values
        measured = band >= 0
        if measured.any():
            row["minority_fraction"] = round(float((band[measured] >= 2).mean()), 4)
        flags = np.atleast_1d(results["site_class"].attrs["flag_values"])
        kinds = [int(v) for v in flags if v >= 2]
        row["defect_kinds"] = sum(int((band == k).any()) for k in kinds)
        row["two_populations"] = "yes" if "abundance" in results else "no"
    return row


def analyse_file(
    source: str,
    folder: str,
    config: PipelineConfig,
    run_options: dict | None = None,
    threads: int | dict[str, int] | None = None,
) -> dict:
    """One file's series: :func:`stswidgets.pipeline.run_file` into ``folder``; its campaign row.

    Runs where dask puts it (a worker process). ``run_options``: ``channel``, ``only``,
    ``hide_code``, ``force`` of :func:`~stswidgets.pipeline.run_file`. ``threads``: threads of
    the series' notebook kernels, or ``{host: series that run at once on it}`` to divide that
    host's cores. A failure (an exception naming the file) becomes the row's ``reason``.
    """
    from stswidgets.pipeline.data import InputError
    from stswidgets.pipeline.run import RunError, run_file

    start = time.perf_counter()
    run_options = dict(run_options or {})
    folder_path = Path(folder)
    row = {"file": source, "folder": folder_path.name}
    os.environ.update(_thread_env(_threads_here(threads)))  # inherited by the kernels
    command = single_file_command(source, folder, config, **run_options)
    log = [f"$ {command}\n"]
    result, status, reason = None, "complete", ""
    try:
        result = run_file(
            source, folder, config, command=command, progress=log.append, **run_options
        )
    except InputError as error:
        status, reason = "failed", str(error)
    except RunError as error:
        status, reason, result = "failed", str(error), error.result
    except Exception as error:  # anything else the run raised: still this file's row
        status, reason = "failed", f"{source}: {type(error).__name__}: {error}"
    if status == "failed":
        log.append(f"error: {reason}\n")
    if result is not None:
        row.update(
            shape=" x ".join(map(str, result.shape)), complete_spectra=result.complete_spectra
        )
        if result.missing:
            reason = f"warning: results.nc lacks {', '.join(result.missing)}"
            log.append(reason + "\n")
    for key, value in summarize_results(folder).items():
        row.setdefault(key, value)
    folder_path.mkdir(parents=True, exist_ok=True)
    (folder_path / LOG_NAME).write_text("".join(log))
    row.update(status=status, reason=reason, runtime_s=round(time.perf_counter() - start, 1))
    return row


def single_file_command(
    source: str,
    folder: str,
    config: PipelineConfig,
    channel: str | None = None,
    only: list[str] | None = None,
    hide_code: bool = False,
    force: bool = False,
) -> str:
    """The ``stswidgets run`` command that repeats one file's analysis of a campaign (with a
    note of any setting that differs from the profile, which the command line cannot give)."""
    from stswidgets.pipeline.run import notebook_settings

    words = ["stswidgets", "run", source, "--out", folder, "--profile", config.profile]
    words += ["--seed", str(config.seed)]
    words += ["--channel", channel] if channel else []
    words += ["--only", *only] if only else []
    words += ["--hide-code"] * bool(hide_code) + ["--force"] * bool(force)
    settings = notebook_settings(config)
    return shlex.join(words) + (f"  # settings {settings}" if settings else "")


def _threads_here(threads: int | dict[str, int] | None) -> int | None:
    if not isinstance(threads, dict):
        return threads
    from distributed import get_worker

    host = get_worker().address.rsplit(":", 1)[0]
    return max(1, cpu_count() // max(1, threads.get(host, 1)))


def _thread_env(threads: int | None) -> dict[str, str]:
    return {} if threads is None else {name: str(threads) for name in THREAD_VARIABLES}


def run_campaign(
    files: list[str | Path],
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    config: PipelineConfig | None = None,
    channel: str | None = None,
    only: list[str] | None = None,
    hide_code: bool = False,
    force: bool = False,
    command: str | None = None,
    echo=print,
) -> CampaignResult:
    """Run the notebook series on every file, one dask.distributed task per file.

    Parameters
    ----------
    files : list of str or Path
        Grid files (anything ``stswidgets run`` reads).
    out : str or Path
        Output directory: one subfolder per file, ``index.html`` and ``campaign.csv``. It must
        be empty or missing unless ``force``.
    workers : int, optional
        Worker processes of the ``LocalCluster`` started here (default
        ``min(len(files), cores)``); each series gets ``cores // workers`` threads.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``) to use instead; its
        workers must have stswidgets installed and see the files and ``out``.
    config : PipelineConfig, optional
        Every analysis choice, the same for each file (default: the ``full`` profile).
    channel, only, hide_code, force
        As for :func:`stswidgets.pipeline.run_file` (``force`` also lets each subfolder be
        reused).
    command : str, optional
        The command line, shown in ``index.html``.
    echo : callable
        Prints the progress lines (one per finished file) and the dashboard address.

    Returns
    -------
    CampaignResult
        The rows; ``failed`` lists those that failed.

    Raises
    ------
    ValueError
        No files, a bad ``workers``, both ``workers`` and ``scheduler``, or ``out`` not empty.
    """
    from distributed import Client, LocalCluster, as_completed

    from stswidgets import __version__

    if not files:
        raise ValueError("a campaign needs at least one grid file")
    if workers is not None and scheduler is not None:
        raise ValueError("give --workers or --scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        raise ValueError(f"--workers must be a positive number of processes, got {workers!r}")
    out = Path(out).expanduser().resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise ValueError(f"output directory {out} is not empty; choose another --out or --force")
    out.mkdir(parents=True, exist_ok=True)
    sources = [str(Path(f).expanduser().resolve()) for f in files]
    folders = [str(out / name) for name in folder_names(files)]
    config = config or config_for("full")
    options = {"channel": channel, "only": only, "hide_code": hide_code, "force": force}

    rows = [_pending(str(f), Path(d).name) for f, d in zip(files, folders, strict=True)]
    result = CampaignResult(rows, out / INDEX_NAME, out / TABLE_NAME)
    start = time.perf_counter()
    if scheduler is None:
        workers = int(workers) if workers is not None else max(1, min(len(files), cpu_count()))
        threads = max(1, cpu_count() // workers)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # a free port: several campaigns may run at once
            silence_logs=logging.ERROR,
            env=_thread_env(threads),
        )
        where = f"a LocalCluster of {workers} worker processes, {threads} thread(s) each"
    else:
        cluster, threads, where = None, None, f"the dask scheduler at {scheduler}"
    try:
        try:
            client = Client(cluster if cluster is not None else scheduler, timeout="20s")
        except OSError as error:  # TimeoutError included
            raise ValueError(f"cannot reach the dask scheduler at {scheduler}: {error}") from None
        with client:
            info = client.scheduler_info()
            if threads is None:  # divide each host's cores between the series it runs at once
                threads = {}
                for worker in info["workers"].values():
                    host = worker["host"]
                    threads[host] = threads.get(host, 0) + worker["nthreads"]
            result.dashboard = client.dashboard_link if "dashboard" in info["services"] else None
            n = len(files)
            what = f"campaign of {n} files on {where}, {config.profile} profile"
            echo(f"stswidgets {__version__}: {what}")
            echo(f"dashboard: {result.dashboard or 'none'}{_dashboard_note(cluster)}")
            futures = {}
            for k, (source, folder) in enumerate(zip(sources, folders, strict=True)):
                key = f"stswidgets-run-{k}-{Path(folder).name}"
                future = client.submit(
                    analyse_file, source, folder, config, options, threads, key=key
                )
                futures[future] = k
            for done, future in enumerate(as_completed(futures), start=1):
                k = futures[future]
                try:
                    rows[k] = future.result()
                except Exception as error:  # a worker lost or the task itself broke
                    rows[k].update(status="failed", reason=f"{type(error).__name__}: {error}")
                rows[k]["file"] = str(files[k])
                echo(f"[{done}/{n}] {_progress_line(rows[k])}")
                write_tables(rows, COLUMNS, out, command, time.perf_counter() - start)
    finally:
        if cluster is not None:
            cluster.close()
    result = CampaignResult(rows, result.index, result.table, result.dashboard)
    write_tables(rows, COLUMNS, out, command, time.perf_counter() - start)
    return result


def _dashboard_note(cluster) -> str:
    """What the dashboard lacks: a LocalCluster's dashboard needs bokeh in this environment."""
    import importlib.util

    if cluster is not None and importlib.util.find_spec("bokeh") is None:
        return " (its pages need bokeh>=3.1, which is not installed here)"
    return ""


def _pending(file: str, folder: str) -> dict:
    return {**dict.fromkeys(COLUMNS, ""), "file": file, "folder": folder, "status": "pending"}


def _progress_line(row: dict) -> str:
    seconds = f"{row['runtime_s']} s" if row.get("runtime_s") != "" else "?"
    if row["status"] == "complete":
        found = f"{row.get('minority_fraction', '')}"
        found = f", minority fraction {found}" if found else ""
        return f"{row['file']}: complete in {seconds}{found} -> {row['folder']}/"
    return f"{row['file']}: FAILED after {seconds}: {row['reason']}"
