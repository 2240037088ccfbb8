"""The ``stswidgets`` command: run the notebook series on a grid file with papermill.

``stswidgets run GRID_FILE --out DIR`` checks that the file opens as a grid, executes notebooks
01-07 of :data:`stswidgets.series.NOTEBOOKS` on it, and leaves in ``DIR`` the executed
notebooks, one HTML report with all their figures and ``results.nc`` with the per-pixel
results. Several files (or ``--workers`` / ``--scheduler``) make a campaign on a dask cluster,
one subfolder per file (:mod:`stswidgets.campaign`). Exit codes: 0 success, 1 a notebook (or a
campaign's file) failed, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
import time
from pathlib import Path

from stswidgets import __version__, series
from stswidgets.pipeline.config import QUICK_MAX_TIME_S
from stswidgets.report import write_report

__all__ = ["check_grid_file", "main", "write_report"]

#: A grid needs at least this many complete spectra for the statistics of the series.
MIN_VALID_SPECTRA = 16

#: The notebooks ``stswidgets run`` executes.
RUN_NOTEBOOKS = series.NOTEBOOKS[:7]

#: Variables each notebook must leave in ``results.nc``.
EXPECTED_RESULTS = {
    "01_data_and_segmentation": ["valid"],
    "02_pca_and_clustering": ["pc1", "pc2", "kmeans2"],
    "06_similarity_learning": ["tC1", "tC2", "score"],
    "07_spectral_weight_transfer": ["band", "band_mean"],
}

REPORT_NAME = "report.html"


class InputError(Exception):
    """Bad input or usage: reported as one line on stderr, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stswidgets",
        description="Similarity analysis of scanning tunneling spectroscopy grids.",
    )
    parser.add_argument("--version", action="version", version=f"stswidgets {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run the notebook series (01-07) on a grid file",
        description="Run notebooks 01-07 on a grid file; write the executed notebooks, "
        f"{REPORT_NAME} and results.nc into --out.",
    )
    run.add_argument(
        "grid_file",
        nargs="*",
        metavar="GRID_FILE",
        help="grid file(s) of any supported format (Nanonis .3ds, RHK .sm4, Nanosurf .nid, "
        "Omicron .ibw, Createc .specgrid; recognised by content) or a saved .nc/.npz; "
        "several: a campaign (see --workers)",
    )
    run.add_argument("--demo", action="store_true", help="use the embedded simulated grid")
    run.add_argument("--out", required=True, type=Path, help="output directory")
    run.add_argument("--channel", help="channel to analyse (default: the dI/dV lock-in channel)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--quick",
        action="store_true",
        help=f"a first look: smaller simulated grid, each training bounded to "
        f"{QUICK_MAX_TIME_S:g} s (results then depend on the machine's speed)",
    )
    run.add_argument("--profile", choices=["full", "quick", "test"], help=argparse.SUPPRESS)
    run.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks, e.g. 01 02")
    run.add_argument("--force", action="store_true", help="write into a non-empty --out")
    run.add_argument("--hide-code", action="store_true", help="leave code out of the report")
    cluster = run.add_mutually_exclusive_group()
    cluster.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="campaign: N worker processes on this machine (default: files or cores, the fewer)",
    )
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS", help="campaign: a running dask scheduler, tcp://..."
    )
    _add_app_parser(commands)
    return parser


def _add_app_parser(commands) -> None:
    app = commands.add_parser(
        "app",
        help="serve the dashboard (Voila) at http://127.0.0.1:PORT/",
        description="Serve the stswidgets dashboard with Voila on 127.0.0.1 (no code shown): "
        "pick a grid and a channel, run the steps, explore, download results.nc and the maps. "
        "GRID_FILE is only read. From another machine: ssh -L PORT:127.0.0.1:PORT this-host.",
    )
    app.add_argument("grid_file", nargs="?", help="grid file to open (else pick one on the page)")
    app.add_argument("--demo", action="store_true", help="open the embedded simulated grid")
    app.add_argument("--port", type=int, default=8866, help="port on 127.0.0.1 (default 8866)")
    app.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    app.add_argument("--channel", help="channel to analyse (default: the dI/dV lock-in channel)")
    app.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    app.add_argument("--follow", action="store_true", help="follow GRID_FILE while it grows")
    app.add_argument("--profile", choices=["full", "test"], default="full", help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stswidgets`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    args.command_line = shlex.join(["stswidgets", *(sys.argv[1:] if argv is None else argv)])
    try:
        return _app(args) if args.command == "app" else _run(args)
    except InputError as error:
        print(f"stswidgets: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstswidgets: interrupted; what was written so far is kept", file=sys.stderr)
        return 130


def check_grid_file(path: str | Path, channel: str | None = None) -> tuple[int, tuple]:
    """Open ``path`` as a grid and check it holds enough complete spectra.

    Returns
    -------
    n_valid : int
        Number of complete spectra.
    shape : tuple
        ``(ny, nx, n_bias)`` of the grid.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown channel, or fewer than :data:`MIN_VALID_SPECTRA`
        complete spectra.
    """
    grid, n_valid = _open_checked(path, channel)
    return n_valid, tuple(grid.shape)


def _open_checked(path: str | Path, channel: str | None):
    """The grid of ``path`` and its number of complete spectra (see :func:`check_grid_file`)."""
    from stswidgets import open_grid, to_matrix
    from stswidgets.io import ChannelError

    path = Path(path)
    if not path.exists():
        raise InputError(f"grid file not found: {path}")
    if not path.is_file():
        raise InputError(f"not a file: {path}")
    try:
        grid = open_grid(path, channel=channel)
    except ChannelError as error:
        what = f"unknown channel {channel!r}" if channel is not None else "no dI/dV channel"
        raise InputError(f"{what}: {_one_line(error)}") from None
    except Exception as error:
        message = _one_line(error)
        where = "" if str(path) in message else f" {path}"
        raise InputError(f"cannot read{where} as a grid: {message}") from None
    try:
        X, _ = to_matrix(grid)
    except Exception as error:
        raise InputError(f"{path}: {_one_line(error)}") from None
    if len(X) < MIN_VALID_SPECTRA:
        raise InputError(
            f"{path} has {len(X)} complete spectra; the analysis needs at least {MIN_VALID_SPECTRA}"
        )
    return grid, len(X)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _prepare_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise InputError(
                f"output directory {out} is not empty; choose another --out or pass --force"
            )
        (out / "results.nc").unlink(missing_ok=True)  # results are merged into: start afresh
    out.mkdir(parents=True, exist_ok=True)


def _run(args: argparse.Namespace) -> int:
    if len(args.grid_file) > 1 or args.workers is not None or args.scheduler:
        return _run_campaign(args)
    args.grid_file = args.grid_file[0] if args.grid_file else None
    if args.demo == (args.grid_file is not None):
        raise InputError("give either a GRID_FILE or --demo")
    profile = args.profile or ("quick" if args.quick else "full")
    # notebook 08 benchmarks the methods on simulated conditions: with --demo, --only 08 runs it
    candidates = series.NOTEBOOKS if args.demo and args.only else RUN_NOTEBOOKS
    names = [n for n in candidates if not args.only or any(n.startswith(o) for o in args.only)]
    if not names:
        raise InputError(f"--only {' '.join(args.only)} matches none of {candidates}")
    if args.demo:
        if args.channel not in (None, "didv"):
            raise InputError(f"unknown channel {args.channel!r}: the demo grid has only 'didv'")
        data_path, what = None, "the embedded simulated grid"
        size = {
            k: v
            for k, v in series.parameters_for(names[0], profile).items()
            if k in ("ny", "nx", "n_bias")
        }
        grid, _ = series.load_input(None, None, args.seed, **size)
        source = f"simulated fese_like(seed={args.seed})"
    else:
        data_path = Path(args.grid_file).expanduser().resolve()
        grid, n_valid = _open_checked(data_path, args.channel)
        shape = grid.shape
        what = f"{data_path} ({shape[0]} x {shape[1]} pixels, {shape[2]} bias points, "
        what += f"{n_valid} complete spectra)"
        source = str(data_path)
    out = args.out.expanduser().resolve()
    _prepare_out_dir(out, args.force)
    # the provenance of every result, in results.nc before any notebook adds to it
    series.start_results(
        out,
        grid=grid,
        source=source,
        seed=args.seed,
        profile=profile,
        command=getattr(args, "command_line", None),
    )

    plural = "s" if len(names) != 1 else ""
    print(f"stswidgets {__version__}: {len(names)} notebook{plural} on {what}, {profile} profile")
    executed, failure = [], None
    for number, name in enumerate(names, start=1):
        print(f"[{number}/{len(names)}] {name} ...", end="", flush=True)
        start = time.perf_counter()
        target = out / f"{name}.ipynb"
        parameters = series.parameters_for(
            name,
            profile,
            data_path=None if data_path is None else str(data_path),
            channel=args.channel,
            seed=args.seed,
            results_dir=str(out),
        )
        try:
            _execute(series.notebook_path(name), target, parameters, cwd=out)
        except Exception as error:
            print(f" failed after {time.perf_counter() - start:.1f} s", flush=True)
            failure = f"notebook {name} failed {_describe_failure(error)}"
            if target.exists():
                executed.append(target)
                failure += f"; the partly executed notebook is {target}"
            break
        print(f" {time.perf_counter() - start:.1f} s", flush=True)
        executed.append(target)

    if executed:
        description = f"Input: {what}; {profile} profile, seed {args.seed}"
        description += f", channel {args.channel}." if args.channel else "."
        report = write_report(executed, out / REPORT_NAME, args.hide_code, description)
        print(f"report: {report}")
    if failure:
        print(f"stswidgets: error: {failure}", file=sys.stderr)
        return 1
    missing = _missing_results(out, names)
    if missing:
        print(f"stswidgets: warning: results.nc lacks {', '.join(missing)}", file=sys.stderr)
    print(f"results: {out / 'results.nc'}")
    return 0


def _run_campaign(args: argparse.Namespace) -> int:
    """Several files (or --workers / --scheduler): :func:`stswidgets.campaign.run_campaign`."""
    from stswidgets.campaign import run_campaign

    if args.demo or not args.grid_file:
        raise InputError("a campaign (--workers, --scheduler) takes GRID_FILEs, not --demo")
    try:
        result = run_campaign(
            args.grid_file,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            profile=args.profile or ("quick" if args.quick else "full"),
            seed=args.seed,
            channel=args.channel,
            only=args.only,
            hide_code=args.hide_code,
            force=args.force,
            command=getattr(args, "command_line", None),
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    print(f"index: {result.index}\ntable: {result.table}")
    for row in result.failed:
        print(f"stswidgets: error: {row['file']}: {row['reason']}", file=sys.stderr)
    return 1 if result.failed else 0


def _app(args: argparse.Namespace) -> int:
    """``stswidgets app``: check the input, then run Voila on the app notebook until stopped."""
    import subprocess

    import stswidgets
    from stswidgets.app import server

    if args.demo and args.grid_file is not None:
        raise InputError("give a GRID_FILE or --demo, not both")
    if args.follow and args.grid_file is None:
        raise InputError("--follow needs a GRID_FILE")
    if args.follow and not hasattr(stswidgets, "follow"):
        raise InputError("--follow needs stswidgets.follow, which this installation lacks")
    source = None
    if args.grid_file is not None:
        source = Path(args.grid_file).expanduser().resolve()
        if not args.follow:  # a grid still being measured may hold few spectra yet
            _open_checked(source, args.channel)
        elif not source.is_file():
            raise InputError(f"grid file not found: {source}")
    if not 0 < args.port < 65536 or not server.port_is_free(args.port):
        raise InputError(f"port {args.port} is not free on 127.0.0.1; choose another with --port")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.update(
        server.app_environment(
            source, args.demo, args.channel, args.profile, args.seed, args.follow
        )
    )
    print(f"stswidgets {__version__}: the app at http://127.0.0.1:{args.port}/ (Ctrl-C stops it)")
    voila = subprocess.Popen(server.voila_command(args.port, not args.no_browser), env=env)
    try:
        return voila.wait()
    except KeyboardInterrupt:
        voila.terminate()
        voila.wait(timeout=20)
        print("\nstswidgets: app stopped", file=sys.stderr)
        return 0


@contextlib.contextmanager
def _environment(**values: str):
    """Set environment variables (inherited by the notebook kernels) for the block's duration."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _execute(source: Path, target: Path, parameters: dict, cwd: Path) -> None:
    import papermill

    from stswidgets.learn._training import PROGRESS_ENV

    # an executed notebook has no one watching: no progress-bar lines in it or the report
    with _environment(**{PROGRESS_ENV: "0"}):
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(cwd),
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],  # no kernel start-up chatter
        )


def _describe_failure(error: Exception) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(error, PapermillExecutionError):
        evalue = _one_line(error.evalue) if error.evalue else ""
        count = f" (In [{error.exec_count}])" if error.exec_count else ""
        return f"in cell {error.cell_index + 1}{count}: {error.ename}: {evalue}"
    return f"to run: {type(error).__name__}: {_one_line(error)}"


def _missing_results(out: Path, names: list[str]) -> list[str]:
    results = series.load_results(out)
    present = set() if results is None else set(results.variables)
    expected = [v for name in names for v in EXPECTED_RESULTS.get(name, [])]
    return [v for v in expected if v not in present]
