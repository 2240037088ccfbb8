"""The JupyterLab environment the explorers run in: nothing installed that breaks bqplot."""

from __future__ import annotations

from pathlib import Path

from jupyter_core.paths import jupyter_path


def test_bqplot_gl_labextension_is_not_installed():
    """bqplot-gl 0.1.1's JupyterLab extension breaks every bqplot selector.

    With it loaded, JupyterLab draws BrushSelector rectangles whose ``selected_x``/``selected_y``
    never reach the kernel, in every bqplot figure, SVG ones included (seen with
    tests/widgets/test_browser.py when the extension is not kept out of the page). The likely
    cause: its remoteEntry provides its own bundled ``d3`` 5.16.0 to JupyterLab's shared module
    scope, the same version bqplot 0.6.1 provides, and bqplot then gets a d3 whose event state
    is not the one its selectors read.
    The explorers draw large latent spaces as a density instead of ``ScatterGL``, so nothing
    here needs it: ``pip uninstall bqplot-gl``.
    """
    found = [
        str(Path(d) / "bqplot-gl")
        for d in jupyter_path("labextensions")
        if (Path(d) / "bqplot-gl").exists()
    ]
    assert not found, (
        "bqplot-gl's JupyterLab extension is installed at "
        f"{found}: it stops BrushSelector/LassoSelector selections from reaching the kernel "
        "in every bqplot figure; uninstall it (pip uninstall bqplot-gl) and drop it from "
        "pyproject.toml"
    )
