"""The HTML report of ``stswidgets run`` opened in Chromium with every network request blocked.

A report of notebooks 03 and 04 (an explorer each, and formulas in their text), made by the
command with the small test profile, is opened from disk in Debian's Chromium (Playwright)
while the page may load nothing but ``file://``. It must ask for nothing from the web, and
show every output: no empty output area, every image (figures, explorer pictures, typeset
formulas) decoded, and no raw ``$...$`` formula waiting for MathJax. A screenshot goes to
``build/screenshots/report_offline.png``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest
from chromium_session import SCREENSHOTS, chromium_page

from stswidgets import cli
from stswidgets.pipeline.report import remote_references

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTEBOOKS = ["03", "04"]

#: Per output area: its text, how many images and SVGs it holds, and how many failed to decode.
OUTPUTS_JS = """
() => Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(el => ({
  text: el.innerText.trim(),
  images: el.querySelectorAll('img').length + el.querySelectorAll('svg').length,
  broken: Array.from(el.querySelectorAll('img')).filter(i => !(i.complete && i.naturalWidth > 0))
    .length,
}))
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(
            ["run", "--demo", "--profile", "test", "--only", *NOTEBOOKS, "--out", str(out)]
        )
    assert code == 0, stderr.getvalue()
    return out / cli.REPORT_NAME


def test_report_references_nothing_on_the_web(report):
    page = report.read_text()
    assert remote_references(page) == []
    assert "widget-view+json" not in page and "widget-state+json" not in page
    assert "mathjax" not in page.lower()


def test_report_is_complete_with_the_network_blocked(report):
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    pytest.importorskip("playwright.sync_api")

    requested = []

    def only_local(route):
        if route.request.url.startswith(("file://", "data:")):
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    with chromium_page({"width": 1300, "height": 900}) as page:
        page.route("**/*", only_local)
        page.goto(report.as_uri(), wait_until="load")
        outputs = page.evaluate(OUTPUTS_JS)
        markdown = page.eval_on_selector_all(
            ".jp-RenderedMarkdown", "els => els.map(e => e.innerText)"
        )
        formulas = page.eval_on_selector_all(
            "img.sts-math", "els => els.map(i => [i.alt, i.naturalWidth])"
        )
        page.screenshot(path=str(SCREENSHOTS / "report_offline.png"), full_page=False)

    assert requested == [], f"the report asked the web for {requested}"
    assert len(outputs) > 10
    empty = [i for i, o in enumerate(outputs) if not o["text"] and not o["images"]]
    assert not empty, f"empty output areas: {empty} of {len(outputs)}"
    assert sum(o["broken"] for o in outputs) == 0
    assert not [o for o in outputs if "interactive widget" in o["text"]]  # pictures, not notes
    raw = [m for text in markdown for m in re.findall(r"\$[^$\n]+\$", text)]
    assert not raw, f"formulas left raw: {raw}"
    assert len(formulas) >= 5 and all(width > 0 for _, width in formulas)
    assert any("log" in alt for alt, _ in formulas)
