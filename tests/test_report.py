"""The offline HTML report: formulas typeset, widgets as pictures, nothing loaded from the web."""

from __future__ import annotations

import base64
import re

import nbformat
import pytest

from stswidgets.pipeline.report import WIDGET_VIEW, remote_references, typeset_math, write_report

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(32)).decode("ascii")


def _svg_of(markdown: str) -> list[str]:
    return [
        base64.b64decode(m).decode("utf-8")
        for m in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', markdown)
    ]


def test_typeset_math_turns_formulas_into_svg_and_leaves_code_alone():
    text = r"For $N$ spectra, $N(N-1)/2$ pairs; `$HOME` stays; costs \$5." + "\n$$d^2$$"
    out = typeset_math(text)
    assert out.count('class="sts-math"') == 3
    assert 'alt="N(N-1)/2"' in out and 'alt="d^2"' in out
    assert "`$HOME`" in out and r"\$5" in out
    svgs = _svg_of(out)
    assert len(svgs) == 3 and all(s.lstrip().startswith("<?xml") and "<svg" in s for s in svgs)
    assert 'style="text-align: center"' in out  # display math on its own line


def test_a_formula_mathtext_cannot_draw_stays_readable():
    out = typeset_math(r"see $\notacommand{x}$ here")
    assert out == r"see `\notacommand{x}` here"


def _executed_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    md = nbformat.v4.new_markdown_cell("# Title\n\nThe $\\log(d + \\mathrm{offset})$ rescaling.")
    explorer = nbformat.v4.new_code_cell("explorer")
    explorer.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                WIDGET_VIEW: {"model_id": "a", "version_major": 2},
                "image/png": PNG,
                "text/plain": "LatentExplorer(...)",
            },
        )
    ]
    bare = nbformat.v4.new_code_cell("slider")
    bare.outputs = [
        nbformat.v4.new_output(
            "display_data", data={WIDGET_VIEW: {"model_id": "b"}, "text/plain": "IntSlider(...)"}
        )
    ]
    nb.cells = [md, explorer, bare]
    return nb


@pytest.mark.parametrize("hide_code", [False, True])
def test_report_is_self_contained(tmp_path, hide_code):
    source = tmp_path / "01_demo.ipynb"
    nbformat.write(_executed_notebook(), source)
    page = write_report([source], tmp_path / "report.html", hide_code, "demo").read_text()
    assert remote_references(page) == []
    assert "<script src" not in page and "mathjax" not in page.lower()
    assert WIDGET_VIEW not in page and "widget-state+json" not in page
    assert f"data:image/png;base64,{PNG}" in page  # the explorer's picture
    assert "[interactive widget: run 01_demo.ipynb in JupyterLab" in page  # no picture: a note
    assert "$\\log" not in page and page.count('class="sts-math"') == 1
    assert ('class="n">slider<' in page) != hide_code  # the code, unless hidden
    # the source notebook is not changed by the report
    assert WIDGET_VIEW in nbformat.read(source, as_version=4).cells[1].outputs[0].data


def test_remote_references_lists_loaded_resources_not_links():
    page = (
        '<a href="https://example.org">paper</a><script src="https://cdn.x/r.js"></script>'
        '<link rel="stylesheet" href="//cdn.x/s.css"><img src="http://x/i.png">'
        "<style>@font-face { src: url('https://f.x/a.woff') }</style>"
        '<script type="module">await import("https://cdn.x/m.mjs")</script>'
        '<img src="data:image/png;base64,AAAA"><script src="local.js"></script>'
    )
    assert remote_references(page) == [
        "https://cdn.x/r.js",
        "//cdn.x/s.css",
        "http://x/i.png",
        "https://f.x/a.woff",
        "https://cdn.x/m.mjs",
    ]
