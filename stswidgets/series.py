"""The notebook series: its order, its parameters and its shared results.

Every notebook in ``stswidgets/notebooks/`` has a tagged ``parameters`` cell holding exactly
:data:`COMMON_PARAMETERS`; its first code cell builds the configuration
(``pipeline.config_for(profile, seed=seed, **settings)``) and reads the grid with
:func:`stswidgets.pipeline.load`. Papermill (``make demo``, ``stswidgets run``) and the nbval tests
(``make test``) inject parameters into it: the ``profile`` (``full``, ``quick`` for a first
look, ``test`` for CI), whose settings are a :class:`stswidgets.pipeline.PipelineConfig`
(:data:`stswidgets.pipeline.PROFILES`), and ``settings`` overriding any of them.

Notebooks exchange per-pixel results (PCA scores, the 1D score, ...) through
``results_dir/results.nc`` with :func:`save_results` / :func:`load_results` (from
:mod:`stswidgets.results`, which documents the file: units, class flags, global attributes),
so a later notebook can reuse what an earlier one computed, and ``stswidgets run`` ships one
file.

The quick profile bounds training by time, not by epochs (``max_time``, seconds per
training), with ``max_epochs`` at its full default, so a first look trains to convergence
(early stopping) or until its time is up. A time bound makes results depend on the machine's
speed (not bitwise reproducible).
"""

from __future__ import annotations

from pathlib import Path

from stswidgets.pipeline.notebooks import (
    COMMON_PARAMETERS,
    NOTEBOOK_DIR,
    NOTEBOOKS,
    PROFILE_NAMES,
    notebook_path,
    parameters_for,
)
from stswidgets.results import RESULT_VARIABLES, load_results, save_results, start_results

__all__ = [
    "COMMON_PARAMETERS",
    "NOTEBOOKS",
    "NOTEBOOK_DIR",
    "PROFILE_NAMES",
    "RESULT_VARIABLES",
    "load_results",
    "notebook_path",
    "parameters_for",
    "prepare",
    "save_results",
    "start_results",
]


def prepare(
    out_dir: str | Path, profile: str = "test", only: list[str] | None = None, **overrides
) -> list[Path]:
    """Write copies of the series into ``out_dir`` with parameters injected (not executed).

    The copies run under nbval (``pytest --nbval-lax out_dir``) or in JupyterLab with the
    profile's settings. ``only`` selects notebooks by stem or number prefix (``"03"``).
    """
    import nbformat
    from papermill.parameterize import parameterize_notebook

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [n for n in NOTEBOOKS if only is None or any(n.startswith(o) for o in only)]
    written = []
    for name in names:
        try:
            source = notebook_path(name)
        except FileNotFoundError:
            continue
        nb = nbformat.read(source, as_version=4)
        # papermill expects these metadata keys, which stripped notebooks may lack
        nb.metadata.setdefault("papermill", {})
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
        nb = parameterize_notebook(nb, parameters_for(name, profile, **overrides))
        target = out_dir / source.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m stswidgets.series",
        description="Write parameterised copies of the notebook series (for nbval or JupyterLab).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="write parameterised, unexecuted copies")
    prep.add_argument("out_dir")
    prep.add_argument("--profile", choices=["full", "quick", "test"], default="test")
    prep.add_argument("--only", nargs="*", help="notebook stems or number prefixes, e.g. 01 03")
    args = parser.parse_args(argv)
    written = prepare(args.out_dir, args.profile, args.only)
    if not written:
        print(f"no notebook of the series matches {args.only}")
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
