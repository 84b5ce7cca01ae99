"""What every page shares: the layout, numbers and times as people read them, small tables."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from playbill.runtime import Budget, RunState, Usage

from ._html import Html, html, join
from ._static import CSS, JS


def page(
    title: str,
    body: Html,
    *,
    control: bool = False,
    nav: Html | None = None,
    standalone: bool = False,
    sweep: bool = False,
) -> Html:
    """A whole page: head with the inline style and script, the header, the body.

    A ``standalone`` page (a report file) links nowhere outside itself;
    ``sweep`` adds a link to the sweep's page.
    """
    mode = "control enabled" if control else "read-only"
    if standalone:
        return html(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>{} · playbill</title><style>{}</style></head><body>"
            '<header><span class="brand">playbill</span><a href="#run">Run</a>'
            '<a href="#history">History</a></header><main>{}</main>'
            "<script>{}</script></body></html>",
            title,
            Html(CSS),
            body,
            Html(JS),
        )
    return html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{} · playbill</title><style>{}</style></head><body>"
        '<header><a class="brand" href="/">playbill</a><a href="/">Runs</a>{}{}'
        '<span class="mode">{}</span></header><main>{}</main>'
        "<script>{}</script></body></html>",
        title,
        Html(CSS),
        Html('<a href="/sweep">Sweep</a>') if sweep else Html(""),
        nav or Html(""),
        mode,
        body,
        Html(JS),
    )


def when(at_us: int | None) -> str:
    """A time in UTC, to the second: ``2026-03-14 10:20:00Z``."""
    if not at_us:
        return "-"
    moment = datetime.datetime.fromtimestamp(at_us / 1e6, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def when_precise(at_us: int) -> str:
    """A time in UTC, to the millisecond."""
    moment = datetime.datetime.fromtimestamp(at_us / 1e6, tz=datetime.UTC)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def duration(seconds: float | None) -> str:
    """``0.4s``, ``12s``, ``3m 20s``, ``2h 05m``."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"


def cost(usd: float) -> str:
    """``$0.22``."""
    return f"${usd:,.2f}"


def tokens(n: int) -> str:
    """``36,370``."""
    return f"{n:,}"


def status(value: str) -> Html:
    """A status as a coloured tag."""
    return html('<span class="status {}">{}</span>', value, value)


def table(
    head: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[int] = ()
) -> Html:
    """A table; cells are escaped unless ``Html``; columns in ``numeric`` align right."""

    def cell(tag: str, i: int, value: object) -> Html:
        cls = ' class="num"' if i in numeric else ""
        return html("<" + tag + cls + ">{}</" + tag + ">", value)

    header = join(cell("th", i, h) for i, h in enumerate(head))
    body = join(
        html("<tr>{}</tr>", join(cell("td", i, v) for i, v in enumerate(row))) for row in rows
    )
    return html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, body)


def budget_rows(state: RunState) -> list[tuple[str, str, str]]:
    """The budget table: each resource's use and limit."""
    budget: Budget = state.budget
    usage: Usage = state.usage

    def limit(value: float | None, shown: str) -> str:
        return "unlimited" if value is None else shown

    return [
        ("tokens", tokens(usage.tokens), limit(budget.tokens, tokens(budget.tokens or 0))),
        ("cost", cost(usage.cost_usd), limit(budget.cost_usd, cost(budget.cost_usd or 0))),
        ("wall", duration(usage.wall_s), limit(budget.wall_s, duration(budget.wall_s))),
        ("attempts", str(state.attempts), limit(budget.attempts, str(budget.attempts))),
        ("retries", str(state.retries), limit(budget.retries, str(budget.retries))),
    ]


def run_duration(state: RunState) -> float:
    """Seconds from the run's first entry to its last."""
    return max(state.updated_us - state.created_us, 0) / 1e6


def clip(text: str, n: int) -> str:
    """``text`` cut to ``n`` characters, with an ellipsis when cut."""
    return text if len(text) <= n else text[: n - 1] + "…"
