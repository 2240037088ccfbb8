"""One self-contained HTML report of executed notebooks, complete without an internet connection.

:func:`write_report` joins the notebooks ``stswidgets run`` executed into one page. Everything
the page shows is inside it:

- figures are embedded PNGs (as nbconvert writes them);
- interactive explorers, which need a live kernel and widget JavaScript from a CDN, are shown
  as the static picture each explorer adds to its output (``image/png``, see
  :mod:`stswidgets.widgets._static`); a widget without one is replaced by a line of text
  saying where to use it;
- formulas (``$...$`` in Markdown) are typeset here, with matplotlib's mathtext, into inline
  SVG images: no MathJax;
- no ``<script src>`` or style sheet is loaded from the web (require.js, the widget manager,
  MathJax and mermaid are left out of nbconvert's ``lab`` template).

:func:`remote_references` lists anything in a page that a browser would fetch from the web.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

__all__ = ["remote_references", "write_report"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

#: nbconvert's ``lab`` template without the blocks that load scripts from a CDN.
_TEMPLATE = """\
{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_TEMPLATE_NAME = "stswidgets_offline_report.html.j2"

#: Display math ``$$...$$`` or inline math ``$...$`` (not an escaped ``\\$``) in Markdown.
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\n]+?)\$", re.S)
#: Code spans and fenced code in Markdown, left as they are.
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
#: A resource a browser loads from the web: src/href of script, link, img, ...; CSS url();
#: JavaScript import(). Plain hyperlinks (``<a href>``) are not loaded and not listed.
_REMOTE = re.compile(
    r"<(?!a\b)[a-z]+\b[^>]*?\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)"
    r"|url\(\s*[\"']?((?:https?:)?//[^\"')\s]+)"
    r"|import\(\s*[\"']((?:https?:)?//[^\"']+)",
    re.I,
)


def write_report(
    notebooks: list[Path], path: Path, exclude_input: bool = False, description: str = ""
) -> Path:
    """Combine executed notebooks into one HTML page with a heading per notebook.

    The page opens complete without an internet connection (see the module docstring).

    Parameters
    ----------
    notebooks : list of Path
        Executed notebooks, in the order they appear in the report.
    path : Path
        The HTML file to write.
    exclude_input : bool
        Leave the code cells' source out, keeping their outputs (figures, printed results).
    description : str
        A line of Markdown under the title (what was analysed, with which settings).
    """
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    combined = nbformat.v4.new_notebook()
    parts, contents = [], []
    for number, notebook_file in enumerate(notebooks, start=1):
        notebook = nbformat.read(notebook_file, as_version=4)
        first = notebook.cells[0].source.splitlines() if notebook.cells else []
        title = first[0].lstrip("# ") if first and first[0].startswith("#") else notebook_file.stem
        contents.append(f"{number}. [{title}](#{notebook_file.stem}) ({notebook_file.name})")
        parts.append((notebook_file, notebook))
    summary = f"# stswidgets report\n\nstswidgets {__import__('stswidgets').__version__}. "
    summary += f"{description}\n\nInteractive explorers are shown as pictures of their first "
    summary += "view; open the notebooks in JupyterLab to use them.\n\n" + "\n".join(contents)
    combined.cells.append(nbformat.v4.new_markdown_cell(summary))
    for number, (notebook_file, notebook) in enumerate(parts, start=1):
        if number == 1:
            combined.metadata = notebook.metadata
        anchor = f'<a id="{notebook_file.stem}"></a>\n\n---\n\n*{notebook_file.name}*'
        combined.cells.append(nbformat.v4.new_markdown_cell(anchor))
        for index, cell in enumerate(notebook.cells):
            cell["id"] = f"nb{number}-{index}"
            if cell.cell_type == "markdown":
                cell.source = typeset_math(cell.source)
            for output in cell.get("outputs", []):
                _static_output(output, notebook_file.name)
            combined.cells.append(cell)
    combined.metadata.pop("widgets", None)  # widget state: only a CDN manager would read it
    exporter = HTMLExporter(
        exclude_input=exclude_input,
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
        template_file=_TEMPLATE_NAME,
    )
    body, _ = exporter.from_notebook_node(
        combined, resources={"metadata": {"name": "stswidgets report"}}
    )
    path.write_text(body, encoding="utf-8")
    return path


def _static_output(output, notebook_name: str) -> None:
    """Show a widget output by its static picture, or say where the live widget is."""
    data = output.get("data")
    if not data or WIDGET_VIEW not in data:
        return
    del data[WIDGET_VIEW]
    if not any(key.startswith("image/") for key in data):
        data.pop("text/html", None)
        data["text/plain"] = (
            f"[interactive widget: run {notebook_name} in JupyterLab to see and use it]"
        )


def typeset_math(markdown: str) -> str:
    """Markdown with its ``$...$`` / ``$$...$$`` formulas as inline SVG images.

    Formulas are drawn with matplotlib's mathtext (a large subset of TeX); one it cannot
    draw is shown as its TeX source in a code span. Code spans are left alone.
    """
    pieces = _CODE.split(markdown)
    for i in range(0, len(pieces), 2):  # even pieces lie outside code
        pieces[i] = _MATH.sub(_formula, pieces[i])
    return "".join(pieces)


def _formula(match: re.Match) -> str:
    display = match.group(1) is not None
    tex = (match.group(1) if display else match.group(2)).strip()
    image = _formula_svg(tex, size=13 if display else 11)
    if image is None:
        return f"`{tex}`"
    svg, depth_pt = image
    source = base64.b64encode(svg).decode("ascii")
    alt = html.escape(tex, quote=True)
    style = f"vertical-align: -{depth_pt:.1f}pt; display: inline"
    tag = f'<img class="sts-math" alt="{alt}" style="{style}" '
    tag += f'src="data:image/svg+xml;base64,{source}">'
    return f'<p style="text-align: center">{tag}</p>' if display else tag


def _formula_svg(tex: str, size: int) -> tuple[bytes, float] | None:
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buffer = io.BytesIO()
    try:
        depth = mathtext.math_to_image(
            f"${tex}$", buffer, prop=FontProperties(size=size), format="svg"
        )
    except (ValueError, RuntimeError):
        return None
    return buffer.getvalue(), float(depth or 0.0)


def remote_references(page: str) -> list[str]:
    """Addresses in an HTML page that a browser would load from the web (scripts, style
    sheets, images, fonts, CSS ``url()``, JavaScript ``import()``); hyperlinks are not listed."""
    return [next(g for g in m.groups() if g) for m in _REMOTE.finditer(page)]
