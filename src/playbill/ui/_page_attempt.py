"""An attempt's page: what it was asked, what it answered, its output, diff, checks and cost."""

from __future__ import annotations

import math
from pathlib import Path

import trio

from playbill.actors import REPO_LABEL
from playbill.backends import WorkOrder, render_prompt
from playbill.runtime import (
    AgentFailed,
    AttemptState,
    Entry,
    Heartbeat,
    ImplementationPayload,
    PlanPayload,
    ResultEnvelope,
    ReviewPayload,
    RunState,
    StepFailed,
    StepState,
    ValidationFailed,
    VerificationPayload,
)

from ._common import cost, duration, status, table, tokens, when
from ._html import Html, html, join
from ._links import Links

MAX_DIFF_BYTES = 400_000
"""A diff longer than this is cut (and says so)."""

GIT_TIMEOUT_S = 10.0
"""How long ``git diff`` may take."""


async def worktree_diff(state: RunState, step: str, attempt: int, commit: str | None) -> str | None:
    """The diff of the attempt's commit against its base, or ``None`` if none is recorded.

    Needs the run's repository (its ``repo`` label), the attempt's worktree
    (its base commit) and the commit its agent proposed; ``git diff`` runs in
    the repository, which must still hold both commits.
    """
    repo = state.labels.get(REPO_LABEL)
    workspace = state.workspaces.get(f"{step}#{attempt}")
    if repo is None or workspace is None or not commit:
        return None
    argv = ["git", "-C", repo, "diff", "--no-color", "--no-ext-diff", workspace.base_commit, commit]
    try:
        with trio.fail_after(GIT_TIMEOUT_S):
            done = await trio.run_process(
                argv, capture_stdout=True, capture_stderr=True, check=False
            )
    except (OSError, trio.TooSlowError) as error:
        return f"(git diff could not run: {error})"
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip()
        return f"(no diff: git diff failed in {Path(repo)}: {detail})"
    return done.stdout[:MAX_DIFF_BYTES].decode(errors="replace") + (
        "\n… (cut)" if len(done.stdout) > MAX_DIFF_BYTES else ""
    )


def diff_block(diff: str | None) -> Html:
    """A diff, its lines coloured; ``None`` says no diff is recorded."""
    if diff is None:
        return html('<p class="muted">No diff recorded (no repository, worktree or commit).</p>')
    if not diff.strip():
        return html('<p class="muted">The commit changes nothing.</p>')

    def line(text: str) -> Html:
        cls = ""
        if text.startswith("+") and not text.startswith("+++"):
            cls = "add"
        elif text.startswith("-") and not text.startswith("---"):
            cls = "del"
        elif text.startswith("@@"):
            cls = "hunk"
        return html('<span class="{}">{}</span>', cls, text) if cls else html("{}", text)

    return html('<pre class="diff">{}</pre>', join((line(t) for t in diff.split("\n")), "\n"))


def result_block(result: ResultEnvelope | None) -> Html:
    """What the attempt's agent answered."""
    if result is None:
        return html('<p class="muted">No result proposed.</p>')
    payload = result.payload
    facts: list[tuple[str, object]] = [("exit", result.exit_status)]
    if result.exit_code is not None:
        facts.append(("exit code", str(result.exit_code)))
    match payload:
        case ImplementationPayload():
            facts += [
                ("summary", payload.summary),
                ("changed files", ", ".join(payload.changed_files)),
                ("commit", payload.commit or "-"),
            ]
        case PlanPayload():
            facts += [
                ("steps", ", ".join(s.id for s in payload.steps)),
                ("rationale", payload.rationale),
            ]
        case ReviewPayload():
            facts.append(("verdict", payload.verdict))
        case VerificationPayload():
            facts.append(("checks", str(len(payload.checks))))
    facts += [(f"evidence ({e.kind})", f"{e.ref} {e.detail}".strip()) for e in result.evidence]
    facts += [(f"gap ({g.kind})", g.detail) for g in result.gaps]
    facts += [(f"blocker ({b.kind})", b.detail) for b in result.blockers]
    return html(
        '<div class="grid">{}</div>', join(html("<b>{}</b><span>{}</span>", k, v) for k, v in facts)
    )


def checks_block(attempt: AttemptState) -> Html:
    """The validators' outcomes and the verifiers' checks (test counts, failures)."""
    rows: list[tuple[object, ...]] = []
    for record in attempt.validations:
        evidence = "; ".join(f"{e.ref}: {e.detail}" for e in record.evidence)
        failure = f"{record.failure.kind}: {record.failure.detail}" if record.failure else ""
        score = "" if record.score is None or math.isnan(record.score) else f"{record.score:g}"
        rows.append(
            (
                record.validator,
                status("passed" if record.passed else "failed"),
                score,
                evidence,
                failure,
            )
        )
    checks: list[Html] = []
    for report in attempt.reports:
        if isinstance(report.payload, VerificationPayload):
            for check in report.payload.checks:
                counts = (
                    f"{check.tests_passed} passed, {check.tests_failed} failed"
                    if check.tests_passed is not None or check.tests_failed is not None
                    else ""
                )
                checks.append(
                    html(
                        "<h3>{} by {}: {} {}</h3><pre>{}</pre>",
                        check.name,
                        report.agent,
                        status("passed" if check.passed else "failed"),
                        counts,
                        check.detail or "(no output)",
                    )
                )
    outcomes = (
        table(("validator", "outcome", "score", "evidence", "failure"), rows)
        if rows
        else html('<p class="muted">No validator ran.</p>')
    )
    return html("{}{}", outcomes, join(checks))


def output_block(entries: list[Entry]) -> Html:
    """The output the journal kept of the attempt.

    Its agent's progress, its failure (an agent's carries the tail of what
    the agent printed), and the validators' output tails.
    """
    pieces: list[Html] = []
    for entry in entries:
        msg = entry.msg
        if isinstance(msg, Heartbeat) and msg.progress:
            pieces.append(html("[{}] {}: {}\n", str(entry.seq), msg.agent, msg.progress))
        elif isinstance(msg, ValidationFailed):
            pieces.append(
                html(
                    "[{}] {} failed: {}\n{}\n",
                    str(entry.seq),
                    msg.validator,
                    msg.failure.detail,
                    msg.output_tail,
                )
            )
        elif isinstance(msg, StepFailed):  # an agent's failure carries its output's tail
            pieces.append(
                html(
                    "[{}] the attempt failed: {}/{}: {}\n",
                    str(entry.seq),
                    msg.failure.failure_class,
                    msg.failure.kind,
                    msg.failure.detail,
                )
            )
        elif isinstance(msg, AgentFailed):
            pieces.append(
                html(
                    "[{}] {} failed: {} {}\n",
                    str(entry.seq),
                    msg.agent,
                    msg.failure.kind,
                    msg.failure.detail,
                )
            )
    if not pieces:
        return html('<p class="muted">No output recorded.</p>')
    return html('<pre class="output">{}</pre>', join(pieces[-200:]))


SCRIPTED_BACKENDS = frozenset({"simulated", "scripted"})
"""Backends whose agents are not given a prompt."""


def prompt_text(state: RunState, step: StepState, attempt: AttemptState) -> str:
    """The prompt a coding agent is given for the attempt, rendered again from the journal.

    ``render_prompt`` is deterministic, and its order is made of what the
    journal recorded: the run, the agent, the step as planned, the attempt
    and the failure fed back into it (a planner's order also names the copy
    of the repository it reads, which the journal does not keep).
    """
    workspace = state.workspaces.get(f"{step.spec.id}#{attempt.number}")
    order = WorkOrder(
        run_id=state.run_id,
        agent=attempt.agent,
        role=step.spec.role,
        kind="work",
        step=step.spec,
        attempt=attempt.number,
        feedback=attempt.feedback,
        workspace=workspace.path if workspace is not None else None,
    )
    return render_prompt(order)


def prompt_block(state: RunState, step: StepState, attempt: AttemptState) -> Html:
    """The attempt's prompt, folded (or why its agent was given none)."""
    agent = state.agents.get(attempt.agent)
    backend = agent.spec.backend if agent is not None else ""
    if backend in SCRIPTED_BACKENDS:
        return html(
            '<p class="note">Agent {} is {}: it is given no prompt.</p>', attempt.agent, backend
        )
    return html(
        "<details><summary>The prompt, as playbill renders it for a coding agent</summary>"
        '<pre class="prompt">{}</pre></details>',
        prompt_text(state, step, attempt),
    )


def attempt_body(
    state: RunState,
    step: StepState,
    attempt: AttemptState,
    entries: list[Entry],
    diff: str | None,
    links: Links,
) -> Html:
    """The attempt's page content."""
    end = attempt.ended_us
    start = attempt.started_us or attempt.assigned_us
    facts: list[tuple[str, object]] = [
        ("status", status(attempt.status)),
        ("agent", attempt.agent),
        ("assigned", when(attempt.assigned_us)),
        ("ended", when(end)),
        ("took", duration((end - start) / 1e6) if end else "-"),
        ("tokens", tokens(attempt.usage.tokens)),
        ("cost", cost(attempt.usage.cost_usd)),
        ("wall", duration(attempt.usage.wall_s)),
    ]
    if attempt.failure:
        facts.append(
            (
                "failure",
                f"{attempt.failure.failure_class}/{attempt.failure.kind}: {attempt.failure.detail}",
            )
        )
    if attempt.review:
        facts.append(("review", attempt.review))
    spec = step.spec
    prompt = [("goal", spec.goal), ("role", spec.role)]
    if spec.scope:
        prompt.append(("scope", ", ".join(spec.scope)))
    if spec.validators:
        prompt.append(
            ("validators", ", ".join(str(v.__struct_config__.tag) for v in spec.validators))
        )
    if attempt.feedback:
        prompt.append(("feedback", f"{attempt.feedback.kind}: {attempt.feedback.detail}"))
    findings = [
        (f.severity, f"{f.path or ''}{':' + str(f.line) if f.line else ''}", f.message)
        for f in attempt.findings
    ]
    others = [
        html(
            '<a href="{}">#{}</a>',
            links.attempt(state.run_id, step.spec.id, a.number),
            str(a.number),
        )
        for a in step.attempts
    ]
    entry_links = join(
        (
            html('<a href="{}">{}</a>', links.entry(state.run_id, e.seq), str(e.seq))
            for e in entries[-300:]
        ),
        " ",
    )
    return html(
        '<div class="grid">{}</div><p>Attempts of this step: {}</p>'
        '<h2>Prompt</h2><p class="note">What the agent was given: the step as planned, and the '
        'failure fed back from the previous attempt.</p><div class="grid">{}</div>{}'
        "<h2>Result</h2>{}"
        "<h2>Output</h2>{}"
        "<h2>Diff</h2>{}"
        "<h2>Validators</h2>{}"
        "<h2>Review findings</h2>{}"
        '<h2>Entries</h2><p class="mono">{}</p>',
        join(html("<b>{}</b><span>{}</span>", k, v) for k, v in facts),
        join(others, " "),
        join(html("<b>{}</b><span>{}</span>", k, v) for k, v in prompt),
        prompt_block(state, step, attempt),
        result_block(attempt.result),
        output_block(entries),
        diff_block(diff),
        checks_block(attempt),
        table(("severity", "where", "finding"), findings)
        if findings
        else html('<p class="muted">None.</p>'),
        entry_links,
    )
