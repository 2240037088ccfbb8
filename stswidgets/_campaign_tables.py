"""``index.html`` and ``campaign.csv`` of a campaign (:mod:`stswidgets.campaign`)."""

from __future__ import annotations

import csv
import datetime
import html
from pathlib import Path
from urllib.parse import quote

INDEX_NAME = "index.html"
TABLE_NAME = "campaign.csv"


def write_tables(
    rows: list[dict], columns: dict[str, str], out: Path, command: str | None, elapsed: float
) -> None:
    """Write ``out/campaign.csv`` and ``out/index.html``: ``rows`` under ``columns`` (name:
    description), each file linking to its report where there is one."""
    rows = [{**dict.fromkeys(columns, ""), **row} for row in rows]
    with open(out / TABLE_NAME, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (out / INDEX_NAME).write_text(index_page(rows, columns, out, command, elapsed))


_STYLE = """
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; }
th { background: #eee; }
tr.failed td { background: #fde8e8; }
tr.pending td { color: #888; }
"""


def index_page(
    rows: list[dict], columns: dict[str, str], out: Path, command: str | None, elapsed: float
) -> str:
    """The table of the campaign as a self-contained page (no script, nothing from the web)."""
    from stswidgets.pipeline.run import REPORT_NAME

    head = "".join(f'<th title="{html.escape(columns[c])}">{c}</th>' for c in columns)
    body = []
    for row in rows:
        cells = []
        for column in columns:
            text = html.escape(str(row[column]))
            report = out / row["folder"] / REPORT_NAME
            if column == "file" and report.exists():
                text = f'<a href="{quote(row["folder"])}/{REPORT_NAME}">{text}</a>'
            cells.append(f"<td>{text}</td>")
        body.append(f'<tr class="{html.escape(row["status"])}">{"".join(cells)}</tr>')
    counts = {s: sum(r["status"] == s for r in rows) for s in ("complete", "failed", "pending")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    described = "".join(f"<li><b>{c}</b>: {html.escape(w)}</li>" for c, w in columns.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>stswidgets campaign</title>
<style>{_STYLE}</style></head><body>
<h1>stswidgets campaign</h1>
<p>{len(rows)} files: {summary}; {elapsed:.0f} s so far ({now}).</p>
<p><code>{html.escape(command or "")}</code></p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<h2>Columns</h2><ul>{described}</ul>
</body></html>
"""
