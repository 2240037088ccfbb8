"""The ``stswidgets`` command: run the notebook series on a grid file with papermill.

``stswidgets run GRID_FILE --out DIR`` is :func:`stswidgets.pipeline.run_file`: it checks that
the file opens as a grid, executes notebooks 01-07 and 09 of :data:`stswidgets.series.NOTEBOOKS` on
it, and leaves in ``DIR`` the executed notebooks, one HTML report with all their figures and
``results.nc`` with the per-pixel results. Several files (or ``--workers`` / ``--scheduler``)
make a campaign on a dask cluster, one subfolder per file (:mod:`stswidgets.campaign`).
Spectra that are not on a grid (a file of a line, points or repeats; a folder, a glob or the
files of a series) are one run on the collection: steps that need a 2D map are skipped. Exit
codes: 0 success, 1 a notebook (or a campaign's file) failed, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from pathlib import Path

from stswidgets import __version__
from stswidgets.pipeline.config import QUICK_MAX_TIME_S
from stswidgets.pipeline.data import InputError
from stswidgets.pipeline.run import REPORT_NAME, RUN_NOTEBOOKS

__all__ = ["REPORT_NAME", "RUN_NOTEBOOKS", "InputError", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stswidgets",
        description="Similarity analysis of scanning tunneling spectroscopy grids.",
    )
    parser.add_argument("--version", action="version", version=f"stswidgets {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run the notebook series (01-07, 09) on a grid file",
        description="Run notebooks 01-07 and 09 on a grid file; write the executed notebooks, "
        f"{REPORT_NAME} and results.nc into --out.",
    )
    run.add_argument(
        "grid_file",
        nargs="*",
        metavar="GRID_FILE",
        help="grid file(s) of any supported format (Nanonis .3ds, RHK .sm4, Nanosurf .nid, "
        "Omicron .ibw, Createc .specgrid; recognised by content) or a saved .nc/.npz; "
        "several: a campaign (see --workers). Spectra that are not on a grid (a line, "
        "points, repeats: Nanonis .dat, RHK .sm4, Createc .VERT, Omicron .mtrx): one file, "
        "a folder or a glob of a series, or the series' files, analysed together",
    )
    run.add_argument("--demo", action="store_true", help="use the embedded simulated grid")
    run.add_argument("--out", required=True, type=Path, help="output directory")
    run.add_argument("--channel", help="channel to analyse (default: the dI/dV lock-in channel)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--normalize",
        choices=["auto", "none", "setpoint", "feenstra", "zscore"],
        default="auto",
        help="the one per-spectrum normalisation of every step (default auto: chosen from the "
        "set-point spread, the reason printed)",
    )
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


def _config(args: argparse.Namespace):
    from stswidgets.pipeline.config import config_for

    profile = args.profile or ("quick" if args.quick else "full")
    return config_for(profile, seed=args.seed, normalize=getattr(args, "normalize", "auto"))


def _run(args: argparse.Namespace) -> int:
    """One file (or --demo): :func:`stswidgets.pipeline.run_file`, its progress printed."""
    from stswidgets.pipeline.run import RunError, run_file

    series = len(args.grid_file) > 1 and _one_series(args.grid_file)
    if (len(args.grid_file) > 1 and not series) or args.workers is not None or args.scheduler:
        _refuse_series_files(args.grid_file)
        return _run_campaign(args)
    grid_file = args.grid_file if series else (args.grid_file[0] if args.grid_file else None)
    if args.demo == (grid_file is not None):
        raise InputError("give either a GRID_FILE or --demo")
    try:
        result = run_file(
            grid_file,
            args.out,
            _config(args),
            channel=args.channel,
            only=args.only,
            hide_code=args.hide_code,
            force=args.force,
            command=getattr(args, "command_line", None),
            progress=lambda text: print(text, end="", flush=True),
        )
    except RunError as error:
        print(f"stswidgets: error: {error}", file=sys.stderr)
        return 1
    if result.missing:
        print(f"stswidgets: warning: results.nc lacks {', '.join(result.missing)}", file=sys.stderr)
    print(f"results: {result.results}")
    return 0


def _one_series(paths: list[str]) -> bool:
    """True when ``paths`` (a shell-expanded glob) are the files of one series of spectra:
    one folder, one suffix, and the first holds spectra that are not on a grid. A series is
    analysed as one collection; grid files stay a campaign, one run each."""
    from stswidgets.io import open_measurement

    files = [Path(p) for p in paths]
    if len({f.parent.resolve() for f in files}) > 1 or len({f.suffix for f in files}) > 1:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "spectrum" in open_measurement(files[0]).dims
    except Exception:
        return False  # the campaign reports the unreadable file


def _refuse_series_files(paths: list[str]) -> None:
    """A campaign analyses each argument on its own: refuse the files of one series given among
    other arguments (a shell-expanded ``folder/*.dat`` beside a grid), which would be analysed
    one spectrum at a time, and say how to pass the series instead."""
    groups: dict[tuple, list[Path]] = {}
    for path in map(Path, paths):
        if path.is_file():
            groups.setdefault((path.parent.resolve(), path.suffix.lower()), []).append(path)
    for (folder, _), files in groups.items():
        if len(files) > 1 and _one_series([str(f) for f in files]):
            raise InputError(
                f"the {len(files)} files {files[0].name} ... {files[-1].name} in {folder} are one "
                "series of spectra, but a campaign analyses each argument on its own (here one "
                f"spectrum at a time); give the series as its folder (stswidgets run ... {folder}) "
                "to analyse it as one collection beside the other files, or run it alone"
            )


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
            config=_config(args),
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
        reason = row["reason"]
        named = Path(row["file"]).name in reason  # the reasons name their file
        print(
            f"stswidgets: error: {reason if named else row['file'] + ': ' + reason}",
            file=sys.stderr,
        )
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
            from stswidgets.pipeline.data import load

            load(source, channel=args.channel)
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
