"""``playbill report``: a run's page, history and attempts as one self-contained HTML file.

Everything is inline (style, script, SVG); the file links only to anchors
within itself, so it opens offline and can be mailed or attached to a ticket.
"""

from __future__ import annotations

from playbill.runtime import Journal, UnknownRunError

from ._common import page
from ._html import Html, html, join
from ._links import ReportLinks, anchor_id
from ._page_attempt import attempt_body, worktree_diff
from ._page_history import HEAD, row
from ._page_run import run_body
from ._view import View

MAX_REPORT_ENTRIES = 20_000
"""History rows a report holds at most: a longer run keeps its latest entries."""


async def render_report(journal: Journal, run_id: str, where: str) -> str:
    """The report of a run, as one HTML document.

    Raises:
        UnknownRunError: The journal has no entry of the run.
        CorruptEntryError: A stored entry is damaged or missing.
    """
    links = ReportLinks()
    view = View(journal, where, links=links)
    last = await journal.last_seq(run_id)
    if last == 0:
        raise UnknownRunError(run_id, where)
    state = await view.state(run_id, last)
    index = await view.index(run_id)
    sections: list[Html] = [
        html(
            '<h1 id="run">Run {}</h1><p class="note">Report of {} at seq {}; '
            "written by playbill report.</p>",
            run_id,
            where,
            str(last),
        ),
        run_body(state, index, links, token=None, src="", live=False),
        html("<h2>Attempts</h2>"),
    ]
    for step_id, step in state.steps.items():
        for attempt in step.attempts:
            seqs = index.attempt_seqs.get((step_id, attempt.number), [])[-500:]
            entries = await view.entries(run_id, seqs)
            commit = index.commits.get((step_id, attempt.number))
            diff = await worktree_diff(state, step_id, attempt.number, commit)
            sections.append(
                html(
                    '<section id="{}"><h2>Attempt {}#{}</h2>{}</section>',
                    anchor_id("attempt", step_id, attempt.number),
                    step_id,
                    str(attempt.number),
                    attempt_body(state, step, attempt, entries, diff, links),
                )
            )
    first = max(1, last - MAX_REPORT_ENTRIES + 1)
    rows: list[Html] = []
    start = first
    while start <= last:
        chunk = await journal.read(run_id, start, min(start + 4096, last + 1))
        if not chunk:
            break
        rows.extend(row(entry, links) for entry in chunk)
        start = chunk[-1].seq + 1
    cut = (
        html(
            '<p class="note">The latest {} of {} entries.</p>', f"{last - first + 1:,}", f"{last:,}"
        )
        if first > 1
        else Html("")
    )
    sections.append(
        html(
            '<h2 id="history">History</h2>{}<table class="history">{}<tbody>{}</tbody></table>',
            cut,
            HEAD,
            join(rows),
        )
    )
    return str(page(f"report of {run_id}", join(sections), standalone=True))
