"""A run's page: summary, timeline, step graph, budget, merges, approvals, controls."""

from __future__ import annotations

from urllib.parse import quote

from playbill.runtime import RunState

from ._common import budget_rows, clip, cost, duration, run_duration, status, table, tokens, when
from ._html import Html, html, join
from ._index import RunIndex
from ._links import Links
from ._svg import MAX_DAG_STEPS, dag, legend, timeline

MAX_STEP_ROWS = 500
"""Steps listed at most in the steps table (a larger plan says how many more)."""

LEGEND = (
    ("ok", "passed"),
    ("bad", "failed"),
    ("run", "running"),
    ("wait", "assigned / proposed"),
    ("lost", "interrupted or lost"),
)


def summary(state: RunState) -> Html:
    """The run's key facts, as a grid."""
    facts: list[tuple[str, object]] = [
        ("status", status(state.status)),
        ("goal", state.goal),
        ("strategy", state.strategy),
        ("steps", f"{state.steps_done()}/{len(state.steps)} done"),
        ("cost", cost(state.usage.cost_usd)),
        ("tokens", tokens(state.usage.tokens)),
        ("started", when(state.created_us)),
        ("duration", duration(run_duration(state))),
        ("entries", str(state.last_seq)),
    ]
    if state.labels:
        facts.append(("labels", ", ".join(f"{k}={v}" for k, v in sorted(state.labels.items()))))
    if state.reason:
        facts.append(("reason", state.reason))
    if state.summary:
        facts.append(("summary", state.summary))
    return html(
        '<div class="grid">{}</div>',
        join(html("<b>{}</b><span>{}</span>", k, v) for k, v in facts),
    )


def steps_table(state: RunState, links: Links) -> Html:
    """Every step: status, owner, attempts (each linked), last failure."""
    rows = []
    for step_id, step in list(state.steps.items())[:MAX_STEP_ROWS]:
        attempts = join(
            (
                html(
                    '<a href="{}">#{}</a>',
                    links.attempt(state.run_id, step_id, a.number),
                    str(a.number),
                )
                for a in step.attempts
            ),
            " ",
        )
        failure = (
            f"{step.last_failure.failure_class}/{step.last_failure.kind}: "
            f"{clip(step.last_failure.detail, 120)}"
            if step.last_failure
            else ""
        )
        rows.append(
            (
                step_id,
                step.spec.role,
                ", ".join(step.spec.depends_on),
                status(step.status),
                step.owner or "",
                attempts,
                failure,
            )
        )
    more = len(state.steps) - MAX_STEP_ROWS
    note = html('<p class="note">{} more steps not listed.</p>', str(more)) if more > 0 else ""
    return html(
        "{}{}",
        table(("step", "role", "after", "status", "owner", "attempts", "last failure"), rows),
        note,
    )


def merges(state: RunState, links: Links) -> Html:
    """The merge report: each attempt's worktree and whether its work was integrated."""
    if not state.workspaces:
        return html('<p class="muted">No worktree was created.</p>')
    rows = [
        (
            html(
                '<a href="{}">{}#{}</a>',
                links.attempt(state.run_id, w.step, w.attempt),
                w.step,
                str(w.attempt),
            ),
            w.branch,
            w.base_commit[:12],
            status(w.merge_status),
            (w.merge_commit or "")[:12],
            w.merge_detail,
        )
        for w in state.workspaces.values()
    ]
    applied = sum(1 for w in state.workspaces.values() if w.merge_status == "applied")
    return html(
        "<p>{} of {} worktrees applied.</p>{}",
        str(applied),
        str(len(state.workspaces)),
        table(("attempt", "branch", "base", "merge", "commit", "detail"), rows),
    )


def control_form(run_id: str, action: str, token: str, *, step: str = "", label: str) -> Html:
    """A POST form with one button for a control request."""
    reason = (
        Html('<input name="reason" placeholder="reason" required>')
        if action == "reject"
        else Html('<input name="reason" placeholder="reason (optional)">')
    )
    return html(
        '<form class="inline control" method="post" action="/runs/{}/control">'
        '<input type="hidden" name="token" value="{}">'
        '<input type="hidden" name="action" value="{}">'
        '<input type="hidden" name="step" value="{}">{}'
        '<button type="submit" data-action="{}">{}</button></form>',
        quote(run_id, safe=""),
        token,
        action,
        step,
        reason,
        action,
        label,
    )


def approvals(state: RunState, token: str | None) -> Html:
    """Pending approvals, with approve and reject buttons when control is allowed."""
    pending = state.pending_approvals()
    if not pending:
        return html('<p class="muted">None pending.</p>')
    rows = []
    for request in pending:
        buttons: object = ""
        if token is not None and request.step:
            buttons = html(
                "{} {}",
                control_form(state.run_id, "approve", token, step=request.step, label="Approve"),
                control_form(state.run_id, "reject", token, step=request.step, label="Reject"),
            )
        rows.append((request.request, request.step or "", request.prompt, buttons))
    return table(("request", "step", "prompt", ""), rows)


def controls(state: RunState, token: str) -> Html:
    """Pause, resume and cancel buttons (those that make sense in the run's status)."""
    if state.is_terminal:
        return html('<p class="muted">The run {}; nothing to steer.</p>', state.status)
    buttons = []
    if state.status != "paused":
        buttons.append(control_form(state.run_id, "pause", token, label="Pause"))
    else:
        buttons.append(control_form(state.run_id, "resume", token, label="Resume"))
    buttons.append(control_form(state.run_id, "cancel", token, label="Cancel"))
    return html(
        '<div class="controls">{}</div><p class="note">A request is queued in the journal; '
        "a live run takes it within a second, a stopped one when it is resumed.</p>",
        join(buttons),
    )


def run_body(
    state: RunState,
    index: RunIndex,
    links: Links,
    *,
    token: str | None,
    src: str,
    live: bool = True,
) -> Html:
    """The live part of a run's page (polled while the run is not over, if ``live``)."""
    graph = dag(state)
    graph_note = (
        html('<p class="note">The plan has more than {} steps: no graph.</p>', str(MAX_DAG_STEPS))
        if len(state.steps) > MAX_DAG_STEPS
        else Html("")
    )
    notes = (
        table(
            ("seq", "author", "note"),
            (
                (
                    html('<a href="{}">{}</a>', links.entry(state.run_id, n.seq), str(n.seq)),
                    n.author,
                    n.text,
                )
                for n in state.notes[-10:]
            ),
        )
        if state.notes
        else html('<p class="muted">No notes.</p>')
    )
    return html(
        '<div id="run-live" data-poll="2000" data-live="{}" data-src="{}">'
        "{}"
        "{}"
        '<h2>Timeline</h2><p class="note">{} · marks: ◆ review, ▲ verification, '
        "■ merge, ▲ budget (run lane), shaded: waits for a person, pauses</p>{}"
        "<h2>Steps</h2>{}{}{}"
        "<h2>Budget</h2>{}"
        "<h2>Merges</h2>{}"
        "<h2>Pending approvals</h2>{}"
        "<h2>Recent notes</h2>{}"
        "</div>",
        "1" if live and not state.is_terminal else "0",
        src,
        summary(state),
        controls(state, token) if token is not None else Html(""),
        legend(LEGEND),
        timeline(state, index, links),
        graph,
        graph_note,
        steps_table(state, links),
        table(("resource", "used", "limit"), budget_rows(state), numeric=(1, 2)),
        merges(state, links),
        approvals(state, token),
        notes,
    )
