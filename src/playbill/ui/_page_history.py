"""A run's history: its entries as a table, filtered, paginated, followed live."""

from __future__ import annotations

import bisect
from urllib.parse import urlencode

import attrs
import msgspec
import trio

from playbill.runtime import Entry, encode_entry, message_tag, message_types

from ._common import clip, when_precise
from ._html import Html, html, join
from ._index import RunIndex, subject
from ._links import Links
from ._view import View

PAGE = 100
"""Entries per page of the history."""

SCAN_CHUNK = 8192
"""Stored rows a text search reads at once."""

SUMMARY_CHARS = 300
"""Characters of an entry's fields shown in its row (the rest folds away)."""

TYPES = tuple(sorted(str(t.__struct_config__.tag) for t in message_types()))
"""Every message type, for the type filter."""


@attrs.frozen
class Filters:
    """What the history shows: entries of a type, step, agent, holding a text."""

    type_: str = ""
    step: str = ""
    agent: str = ""
    text: str = ""

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (those set)."""
        pairs = {"type": self.type_, "step": self.step, "agent": self.agent, "q": self.text}
        return {k: v for k, v in pairs.items() if v}

    def admits(self, entry: Entry) -> bool:
        """Whether the entry passes every filter."""
        step, agent, _ = subject(entry)
        if self.type_ and message_tag(entry.msg) != self.type_:
            return False
        if self.step and step != self.step:
            return False
        if self.agent and (agent or entry.sender) != self.agent:
            return False
        return not self.text or self.text.lower().encode() in encode_entry(entry).lower()


def fields_text(entry: Entry) -> str:
    """The message's fields as JSON, its type left out."""
    text = msgspec.json.encode(entry.msg).decode()
    prefix = f'{{"type":"{message_tag(entry.msg)}"'
    if text.startswith(prefix):
        text = "{" + text[len(prefix) :].lstrip(",")
    return text


def row(entry: Entry, links: Links) -> Html:
    """One entry's row; its cause links to the cause's row."""
    step, _, attempt = subject(entry)
    fields = fields_text(entry)
    shown: Html = (
        html("<code>{}</code>", fields)
        if len(fields) <= SUMMARY_CHARS
        else html(
            "<details><summary><code>{}</code></summary><pre>{}</pre></details>",
            clip(fields, SUMMARY_CHARS),
            fields,
        )
    )
    where: object = step or ""
    if step is not None and attempt is not None:
        where = html(
            '<a href="{}">{}#{}</a>', links.attempt(entry.run_id, step, attempt), step, str(attempt)
        )
    cause: object = ""
    if entry.cause is not None:
        cause = html(
            '<a href="{}">{}</a>', links.entry(entry.run_id, entry.cause), str(entry.cause)
        )
    return html(
        '<tr id="e-{}"><td class="num"><a href="{}">{}</a></td><td class="mono">{}</td>'
        '<td>{} → {}</td><td>{}</td><td>{}</td><td class="num">{}</td><td>{}</td></tr>',
        str(entry.seq),
        links.time(entry.run_id, entry.seq),
        str(entry.seq),
        when_precise(entry.at_us),
        entry.sender,
        entry.recipient,
        message_tag(entry.msg),
        where,
        cause,
        shown,
    )


HEAD = Html(
    '<thead><tr><th class="num">seq</th><th>time (UTC)</th><th>from → to</th><th>type</th>'
    '<th>step</th><th class="num">cause</th><th>fields</th></tr></thead>'
)


async def matching_seqs(view: View, index: RunIndex, filters: Filters) -> list[int] | None:
    """The seqs the filters admit (``None``: every seq).

    A text filter searches the run's stored bytes (the entries' canonical
    JSON) without decoding them; the entries shown are read and verified as
    usual.
    """
    seqs = index.matching(type_=filters.type_, step=filters.step, agent=filters.agent)
    if not filters.text:
        return seqs
    needle = filters.text.lower().encode()
    found: list[int] = []
    start, end = 1, index.last_seq + 1
    candidates = set(seqs) if seqs is not None else None
    while start < end:
        rows = view.journal.store.read_rows(index.run_id, start, min(start + SCAN_CHUNK, end))
        if not rows:
            break
        found.extend(
            seq
            for seq, data, _ in rows
            if (candidates is None or seq in candidates) and needle in data.lower()
        )
        start = rows[-1][0] + 1
        await trio.lowlevel.checkpoint()
    return found


def filter_form(base: str, filters: Filters, index: RunIndex) -> Html:
    """The filters of the history page."""

    def options(values: list[str], chosen: str, any_label: str) -> Html:
        return join(
            html(
                '<option value="{}"{}>{}</option>',
                v,
                Html(" selected") if v == chosen else Html(""),
                v or any_label,
            )
            for v in ["", *values]
        )

    steps = sorted({s for s in index.steps if s is not None})
    return html(
        '<form class="filters" method="get" action="{}">'
        '<label>Type <select name="type">{}</select></label>'
        '<label>Step <select name="step">{}</select></label>'
        '<label>Agent <select name="agent">{}</select></label>'
        '<label>Text <input name="q" value="{}"></label><button>Filter</button>'
        ' <a href="{}">clear</a></form>',
        base,
        options(list(TYPES), filters.type_, "any type"),
        options(steps, filters.step, "any step"),
        options(list(index.senders), filters.agent, "anyone"),
        filters.text,
        base,
    )


async def history_body(
    view: View, index: RunIndex, filters: Filters, page: int | None, around: int | None
) -> tuple[Html, bool]:
    """The history's table and pager, and whether it shows the last page (then it follows)."""
    seqs = await matching_seqs(view, index, filters)
    total = index.last_seq if seqs is None else len(seqs)
    pages = max((total + PAGE - 1) // PAGE, 1)
    if around is not None:
        position = around if seqs is None else _position(seqs, around)
        page = (max(position, 1) - 1) // PAGE + 1
    page = pages if page is None else min(max(page, 1), pages)
    lo = (page - 1) * PAGE
    chosen = (
        list(range(lo + 1, min(lo + PAGE, total) + 1)) if seqs is None else seqs[lo : lo + PAGE]
    )
    entries = await view.entries(index.run_id, chosen)
    base = view.links.run(index.run_id) + "/history"

    def page_link(p: int, label: str) -> Html:
        query = urlencode({**filters.query(), "page": p})
        return html('<a href="{}?{}">{}</a>', base, query, label)

    pager = html(
        '<div class="pager">{}{}<span>page {} of {} · {} entries</span>{}{}</div>',
        page_link(1, "first") if page > 1 else Html(""),
        page_link(page - 1, "previous") if page > 1 else Html(""),
        str(page),
        str(pages),
        f"{total:,}",
        page_link(page + 1, "next") if page < pages else Html(""),
        page_link(pages, "last") if page < pages else Html(""),
    )
    last_page = page == pages
    stream = ""
    if last_page:
        start = (chosen[-1] + 1) if chosen else (index.last_seq + 1 if seqs is not None else 1)
        stream = f"{base}/stream?" + urlencode({**filters.query(), "from": start})
    body = html(
        '{}<table class="history">{}<tbody id="history-body" data-stream="{}">{}</tbody></table>{}',
        pager,
        HEAD,
        stream,
        join(row(entry, view.links) for entry in entries),
        pager,
    )
    return body, last_page


def _position(seqs: list[int], seq: int) -> int:
    return bisect.bisect_left(seqs, seq) + 1
