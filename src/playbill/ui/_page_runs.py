"""The runs page: every run of the journal, filtered by status and label, kept live."""

from __future__ import annotations

from urllib.parse import urlencode

from ._common import cost, duration, status, table, tokens, when
from ._html import Html, html, join
from ._view import RunRow, View

STATUSES = ("created", "running", "paused", "completed", "failed", "cancelled")
"""The statuses the filter offers."""


def label_matches(row: RunRow, label: str) -> bool:
    """Whether the run has the label ``key`` or ``key=value`` (empty: every run)."""
    if not label:
        return True
    key, _, value = label.partition("=")
    if key not in row.labels:
        return False
    return not value or row.labels[key] == value


async def runs_table(view: View, status_filter: str, label: str) -> Html:
    """The live part of the runs page: the table (or a line saying there is none)."""
    rows = []
    for info in await view.runs():
        row = await view.row(info)
        if status_filter and row.status != status_filter:
            continue
        if not label_matches(row, label):
            continue
        rows.append(
            (
                html('<a href="{}">{}</a>', view.links.run(row.run_id), row.run_id),
                status(row.status),
                row.goal,
                f"{row.steps_done}/{row.steps_total}",
                cost(row.cost_usd),
                tokens(row.tokens),
                duration(row.duration_s),
                when(row.created_us),
            )
        )
    query = urlencode({"status": status_filter, "label": label})
    body = (
        table(
            ("run", "status", "goal", "steps", "cost", "tokens", "duration", "started (UTC)"),
            rows,
            numeric=(3, 4, 5, 6),
        )
        if rows
        else html('<p class="muted">No run matches.</p>')
    )
    return html(
        '<div id="runs" data-poll="2000" data-live="1" data-src="/runs-table?{}">{}</div>',
        query,
        body,
    )


def filters(status_filter: str, label: str) -> Html:
    """The filter form of the runs page."""
    options = join(
        html(
            '<option value="{}"{}>{}</option>',
            value,
            Html(" selected") if value == status_filter else Html(""),
            value or "any status",
        )
        for value in ("", *STATUSES)
    )
    return html(
        '<form class="filters" method="get" action="/">'
        '<label>Status <select name="status">{}</select></label>'
        '<label>Label <input name="label" value="{}" placeholder="key or key=value"></label>'
        "<button>Filter</button></form>",
        options,
        label,
    )
