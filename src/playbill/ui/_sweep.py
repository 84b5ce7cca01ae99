"""A sweep's page (``playbill ui --sweep DIR``): its summary table, plots and report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ._common import table
from ._html import Html, html, join


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def number(cell: str) -> str:
    """A summary cell as people read it: ``0.333``, ``14.4``, ``122,225``; text as it is."""
    if not _is_number(cell) or cell.strip().lower() in ("nan", "inf", "-inf"):
        return cell
    value = float(cell)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def sweep_file(directory: Path, name: str) -> Path | None:
    """One of the sweep's plots, if ``name`` is one and it was drawn (nothing else is served)."""
    from playbill.sweeps import PLOTS

    if name not in PLOTS:
        return None
    path = directory / name
    return path if path.is_file() else None


def sweep_page(directory: Path) -> Html:
    """The sweep's summary (``summary.csv``) as a table, its plots, and ``report.md`` as text."""
    from playbill.sweeps import PLOTS, REPORT_MD, SUMMARY_CSV

    parts: list[Html] = [html('<h1>Sweep</h1><p class="note">{}</p>', str(directory.absolute()))]
    summary = directory / SUMMARY_CSV
    if summary.is_file():
        rows = list(csv.reader(io.StringIO(summary.read_text(encoding="utf-8"))))
        if rows:
            body = [[number(cell) for cell in row] for row in rows[1:]]
            numeric = [
                i
                for i in range(len(rows[0]))
                if body and all(_is_number(r[i]) for r in rows[1:] if i < len(r))
            ]
            parts.append(
                html(
                    '<h2>Summary</h2><div style="overflow-x:auto">{}</div>',
                    table(rows[0], body, numeric=numeric),
                )
            )
    else:
        parts.append(html('<p class="muted">No {} here.</p>', SUMMARY_CSV))
    plots = [name for name in PLOTS if (directory / name).is_file()]
    if plots:
        parts.append(
            html(
                "<h2>Plots</h2>{}",
                join(
                    html(
                        '<figure><img src="/sweep/files/{}" alt="{}" '
                        'style="max-width:720px"></figure>',
                        n,
                        n,
                    )
                    for n in plots
                ),
            )
        )
    report = directory / REPORT_MD
    if report.is_file():
        parts.append(html("<h2>Report</h2><pre>{}</pre>", report.read_text(encoding="utf-8")))
    return join(parts)
