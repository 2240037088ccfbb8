"""The single-file run: the notebook series on one grid, as one Python function.

:func:`run_file` is what ``stswidgets run GRID_FILE --out DIR`` does, and what each task of a
campaign (:mod:`stswidgets.campaign`) calls in its dask worker process:

1. :func:`stswidgets.pipeline.load` reads and checks the grid (the one input check) and
   chooses its normalisation, printed once with its reason;
2. the output folder is prepared (nothing in it is overwritten without ``force``);
3. ``results.nc`` is started with the provenance, the :class:`PipelineConfig`, verbatim, and
   the normalisation (``normalize``, ``normalize_reason``) before any notebook runs;
4. notebooks 01-07 and 09 (:data:`RUN_NOTEBOOKS`) are executed with papermill, each given
   ``data_path``, ``channel``, ``seed``, ``profile``, ``settings`` (the config's fields that
   differ from its profile) and ``results_dir``, so each rebuilds exactly this config;
5. the executed notebooks are joined into ``report.html``.

Failures are exceptions naming the file: :class:`~stswidgets.pipeline.InputError` (bad input,
before anything is written) and :class:`RunError` (a notebook failed; the report of what ran
is still written).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stswidgets.pipeline.config import PROFILES, PipelineConfig, config_for
from stswidgets.pipeline.data import InputError, PipelineInput, first_line, load, resolve_input
from stswidgets.pipeline.notebooks import NOTEBOOKS, notebook_path, parameters_for
from stswidgets.results import load_results, start_results

__all__ = [
    "EXPECTED_RESULTS",
    "REPORT_NAME",
    "RESULTS_NAME",
    "RUN_NOTEBOOKS",
    "RunError",
    "RunResult",
    "run_file",
    "select_notebooks",
]

#: The notebooks a run executes (08, the method benchmark, runs on simulated conditions only:
#: on the embedded grid, when asked for with ``only``).
RUN_NOTEBOOKS = [name for name in NOTEBOOKS if name != "08_method_benchmark"]

#: Variables each notebook must leave in ``results.nc``.
EXPECTED_RESULTS = {
    "01_data_and_segmentation": ["valid"],
    "02_pca_and_clustering": ["pc1", "pc2", "kmeans2"],
    "06_similarity_learning": ["tC1", "tC2", "score"],
    "07_spectral_weight_transfer": ["site_class", "site_class_mean"],
    "09_physics_maps": ["gap", "peak_energy_neg", "peak_energy_pos"],
}

REPORT_NAME = "report.html"
RESULTS_NAME = "results.nc"


@dataclass
class RunResult:
    """What :func:`run_file` wrote and how long it took.

    Attributes
    ----------
    out_dir : Path
        The run folder (absolute).
    notebooks : list of Path
        The executed notebooks, in the order they ran (a failed one included, partly run).
    report : Path or None
        ``report.html``; None when no notebook ran.
    results : Path
        ``results.nc``.
    timings : dict
        Seconds each notebook took, by notebook name.
    missing : list of str
        Variables of :data:`EXPECTED_RESULTS` that ``results.nc`` lacks after the run.
    source : str
        Where the grid came from (its absolute path, or the simulation).
    shape : tuple of int
        ``(ny, nx, n_bias)`` of a grid, ``(n_spectra, n_bias)`` of a collection.
    geometry : str
        ``"grid"``, or ``"line"``, ``"points"``, ``"repeats"`` for a collection of spectra.
    skipped : dict
        Notebooks left out, each with the sentence saying why (the similarity learning of
        06 and 07 on a collection of fewer than 8 spectra).
    complete_spectra : int
        Spectra measured at every bias point.
    """

    out_dir: Path
    notebooks: list[Path] = field(default_factory=list)
    report: Path | None = None
    results: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    source: str = ""
    shape: tuple[int, ...] = ()
    complete_spectra: int = 0
    geometry: str = "grid"
    skipped: dict[str, str] = field(default_factory=dict)


#: Notebooks that train the similarity networks (they need ``stswidgets.learn``'s 8 spectra).
LEARNING_NOTEBOOKS = ("06_similarity_learning", "07_spectral_weight_transfer")


class RunError(Exception):
    """A notebook of the run failed.

    Attributes
    ----------
    path : str
        The grid file (or the simulated grid's description).
    notebook : str
        The notebook's name.
    cell : int or None
        The failing cell, counted from 1 (None: the notebook did not start).
    message : str
        One line: the exception's type and message.
    result : RunResult or None
        What the run wrote before it stopped (report included).
    """

    def __init__(
        self,
        path: str,
        notebook: str,
        cell: int | None,
        message: str,
        result: RunResult | None = None,
    ):
        self.path, self.notebook, self.cell, self.message = path, notebook, cell, message
        self.result = result
        where = f"in cell {cell}" if cell is not None else "to run"
        text = f"{path}: notebook {notebook} failed {where}: {message}"
        if result is not None and result.notebooks and result.notebooks[-1].stem == notebook:
            text += f"; the partly executed notebook is {result.notebooks[-1]}"
        super().__init__(text)


def select_notebooks(only: list[str] | None = None, simulated: bool = False) -> list[str]:
    """The notebooks a run executes: :data:`RUN_NOTEBOOKS`, or those whose name starts with
    one of ``only`` (``["01", "03"]``); 08 can be asked for on the ``simulated`` grid only.

    Raises
    ------
    InputError
        ``only`` matches none of them.
    """
    candidates = NOTEBOOKS if simulated and only else RUN_NOTEBOOKS
    names = [n for n in candidates if not only or any(n.startswith(o) for o in only)]
    if not names:
        raise InputError(f"--only {' '.join(only)} matches none of {candidates}")
    return names


def notebook_settings(config: PipelineConfig) -> dict:
    """The fields of ``config`` that differ from its profile (with its seed), JSON-able: what
    a notebook's ``settings`` parameter must hold to rebuild exactly ``config``."""
    profile = config_for(config.profile, seed=config.seed).to_dict()
    return {k: v for k, v in config.to_dict().items() if profile[k] != v}


def run_file(
    data_path: str | Path | None,
    out_dir: str | Path,
    config: PipelineConfig,
    channel: str | None = None,
    only: list[str] | None = None,
    hide_code: bool = False,
    force: bool = False,
    command: str | None = None,
    progress: Callable[[str], object] | None = None,
) -> RunResult:
    """Run the notebook series on one grid; leave notebooks, report and results in ``out_dir``.

    Parameters
    ----------
    data_path : str, Path, list or None
        A grid file of any supported format, a file of spectra that are not on a grid (a
        line, points, repeats), a folder, glob or list of a series of spectroscopy files, or
        None for the embedded simulated grid of ``config`` (its ``ny``, ``nx``, ``n_bias``
        and ``seed``). On a collection of spectra the steps that need a 2D map are skipped,
        each with a sentence in its notebook.
    out_dir : str or Path
        The run folder; created if missing. It must be empty unless ``force``.
    config : PipelineConfig
        Every analysis choice; written verbatim into ``results.nc`` before the first notebook
        runs, and rebuilt by each notebook from ``profile``, ``seed`` and ``settings``.
    channel : str, optional
        Channel to analyse (default: the dI/dV lock-in channel).
    only : list of str, optional
        Number prefixes or names of the notebooks to run (default: 01-07 and 09).
    hide_code : bool
        Leave the code out of ``report.html``.
    force : bool
        Write into a non-empty ``out_dir`` (its ``results.nc`` is started afresh).
    command : str, optional
        The command line, recorded in ``results.nc``.
    progress : callable, optional
        Receives the progress text as it happens, each piece to be shown as is (pieces carry
        their own newlines): a header line, ``[k/n] name ...`` when a notebook starts and
        `` 12.3 s`` with a newline when it ends, the report's path. None: silent.

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        Missing, unreadable or too small grid, unknown channel or profile, ``only`` matching no
        notebook, or a non-empty ``out_dir`` without ``force``; raised before anything is
        written.
    RunError
        A notebook failed; the executed notebooks (the failed one partly run), the report and
        ``results.nc`` are kept, and ``RunError.result`` says what was written.
    """
    from stswidgets import __version__

    say = progress or (lambda text: None)
    if config.profile not in PROFILES:
        raise InputError(f"unknown profile {config.profile!r}; the profiles are {list(PROFILES)}")
    names = select_notebooks(only, simulated=data_path is None)
    data = load(data_path, config, channel)
    skipped = _skipped_notebooks(data, names)
    names = [n for n in names if n not in skipped]
    if not names:
        raise InputError(f"{data.source}: nothing to run: {next(iter(skipped.values()))}")
    out = Path(out_dir).expanduser().resolve()
    _prepare_out_dir(out, force)
    # the provenance of every result, in results.nc before any notebook adds to it
    start_results(
        out,
        grid=data.grid,
        config=config,
        source=data.source,
        command=command,
        **data.normalization.attrs(),
    )
    result = RunResult(
        out_dir=out,
        results=out / RESULTS_NAME,
        source=data.source,
        shape=tuple(data.grid.shape),
        complete_spectra=len(data.X),
        geometry=data.geometry,
        skipped=skipped,
    )

    what = _describe(data)
    plural = "s" if len(names) != 1 else ""
    header = f"{len(names)} notebook{plural} on {what}, {config.profile} profile"
    say(f"stswidgets {__version__}: {header}\n")
    say(f"normalisation: {data.normalization.method} ({data.normalization.reason})\n")
    for name, reason in skipped.items():
        say(f"skipped {name}: {reason}\n")
    data_parameter = None if data_path is None else resolve_input(data_path)
    settings = notebook_settings(config)
    failure = None
    for number, name in enumerate(names, start=1):
        say(f"[{number}/{len(names)}] {name} ...")
        start = time.perf_counter()
        target = out / f"{name}.ipynb"
        parameters = parameters_for(
            name,
            config.profile,
            data_path=data_parameter,
            channel=channel,
            seed=config.seed,
            settings=settings,
            results_dir=str(out),
        )
        try:
            _execute(notebook_path(name), target, parameters, cwd=out)
        except Exception as error:
            result.timings[name] = time.perf_counter() - start
            say(f" failed after {result.timings[name]:.1f} s\n")
            if target.exists():
                result.notebooks.append(target)
            failure = (name, *_failure(error))
            break
        result.timings[name] = time.perf_counter() - start
        say(f" {result.timings[name]:.1f} s\n")
        result.notebooks.append(target)

    if result.notebooks:
        description = f"Input: {what}; {config.profile} profile, seed {config.seed}"
        description += f", channel {channel}." if channel else "."
        description += "".join(f" Skipped {n}: {r}." for n, r in skipped.items())
        from stswidgets.pipeline.report import write_report

        result.report = write_report(result.notebooks, out / REPORT_NAME, hide_code, description)
        say(f"report: {result.report}\n")
    if failure:
        raise RunError(data.source if data_path is not None else what, *failure, result=result)
    result.missing = _missing_results(out, names)
    return result


def _skipped_notebooks(data: PipelineInput, names: list[str]) -> dict[str, str]:
    """The notebooks of ``names`` that cannot run on ``data``, each with why."""
    from stswidgets.pipeline.collection import too_few

    reason = too_few(data, "similarity learning")
    return {n: reason for n in names if reason and n in LEARNING_NOTEBOOKS}


def _describe(data: PipelineInput) -> str:
    where = data.source if not data.simulated else f"the embedded {data.source}"
    if data.geometry != "grid":
        n_spectra, n_bias = data.grid.shape
        return (
            f"{where} (a {data.geometry} collection of {n_spectra} spectra, {n_bias} bias "
            f"points, {len(data.X)} complete)"
        )
    ny, nx, n_bias = data.grid.shape
    return f"{where} ({ny} x {nx} pixels, {n_bias} bias points, {len(data.X)} complete spectra)"


def _prepare_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"output directory {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise InputError(
                f"output directory {out} is not empty; choose another --out or pass --force"
            )
        (out / RESULTS_NAME).unlink(missing_ok=True)  # results are merged into: start afresh
    out.mkdir(parents=True, exist_ok=True)


# -- executing a notebook ---------------------------------------------------------------------

_quiet_lock = threading.Lock()
_quiet_runs = 0
_quiet_before: str | None = None


@contextlib.contextmanager
def _quiet_kernels():
    """Kernels started inside inherit ``PROGRESS_ENV=0``: an executed notebook has no one
    watching, so no progress-bar lines in it or the report. Counted, so that runs in several
    threads of one process (a dask worker's) keep it set until the last one ends."""
    global _quiet_runs, _quiet_before
    from stswidgets.learn import PROGRESS_ENV

    with _quiet_lock:
        if _quiet_runs == 0:
            _quiet_before = os.environ.get(PROGRESS_ENV)
            os.environ[PROGRESS_ENV] = "0"
        _quiet_runs += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_runs -= 1
            if _quiet_runs == 0:
                if _quiet_before is None:
                    os.environ.pop(PROGRESS_ENV, None)
                else:
                    os.environ[PROGRESS_ENV] = _quiet_before


def _execute(source: Path, target: Path, parameters: dict, cwd: Path) -> None:
    import papermill

    with _quiet_kernels():
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            # the kernel starts in cwd (nbclient's resources path): papermill's own cwd=
            # changes this process's folder, which threads running other files share
            resources={"metadata": {"path": str(cwd)}},
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # no kernel start-up chatter
        )


def _failure(error: Exception) -> tuple[int | None, str]:
    """The failing cell (from 1; None if the notebook did not run) and a one-line message."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        evalue = first_line(error.evalue) if error.evalue else ""
        return error.cell_index + 1, f"{error.ename}: {evalue}"
    return None, f"{type(error).__name__}: {first_line(error) or type(error).__name__}"


def _missing_results(out: Path, names: list[str]) -> list[str]:
    results = load_results(out)
    present = set() if results is None else set(results.variables)
    expected = [v for name in names for v in EXPECTED_RESULTS.get(name, [])]
    return [v for v in expected if v not in present]
