"""``playbill show RUN [STEP[#N]]``: why a run or a step went as it did, nothing cut.

For a run: what ``status`` shows, then every attempt's failure in full. For
a step: each attempt (or attempt N only) with its agent, times, result,
review findings, each validator's outcome, test counts, evidence and output
tail. With ``--json``, one document (``_show_doc``). Everything an agent
wrote goes through ``printable`` (``say``): no escape sequence reaches the
terminal.
"""

from __future__ import annotations

import re
import shlex

import click
import msgspec
from rich.console import Console

from playbill.runtime import RunState, ValidationFailed

from ._app import (
    CommandFailed,
    Settings,
    make_console,
    pass_settings,
    playbill_command,
    run_async,
    say,
)
from ._format import format_cost, format_seconds, format_tokens
from ._load import opened_journal, read_chunks, require_run, state_at
from ._render import in_plan_order, print_state
from ._show_doc import (
    AttemptDoc,
    RunShow,
    StepShow,
    ValidationDoc,
    run_show,
    step_show,
)
from ._state_doc import EvidenceDoc, FailureDoc

_TARGET = re.compile(r"^(?P<step>.+?)(?:#(?P<attempt>[0-9]+))?$", re.DOTALL)

INDENT = " " * 13
"""Where the text of an attempt's sections starts (after ``  validator  ``)."""


async def _load(
    settings: Settings, run_id: str, step: str | None
) -> tuple[RunState, list[ValidationFailed]]:
    """The run's state and, for a step, the ``validation_failed`` messages about it."""
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        last = await require_run(journal, run_id, settings.journal)
        state = await state_at(journal, run_id, last, warn=_warn)
        failed: list[ValidationFailed] = []
        if step is not None and step in state.steps:
            async for chunk in read_chunks(journal, run_id, 1, last + 1):
                failed.extend(
                    e.msg
                    for e in chunk
                    if isinstance(e.msg, ValidationFailed) and e.msg.step == step
                )
        return state, failed


@click.command()
@click.argument("run_id", metavar="RUN")
@click.argument("target", metavar="[STEP[#N]]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_settings
def show(settings: Settings, run_id: str, target: str | None, as_json: bool) -> None:
    """Explain a run, a step or one attempt of a step, nothing cut.

    For RUN: what `status` shows, then the full reason of every attempt that
    failed. For STEP: each attempt with its agent, start and end, result,
    review and findings, each validator's outcome with its test counts,
    evidence and output tail. STEP#N shows attempt N only. With --json, one
    JSON document (its shape is in docs/cli.md).
    """
    step_id, number = _parse_target(target)
    state, failed = run_async(_load, settings, run_id, step_id)
    if step_id is None:
        doc: RunShow | StepShow = run_show(state)
    else:
        step = state.steps.get(step_id)
        if step is None:
            known = ", ".join(s.spec.id for s in in_plan_order(state, "steps")) or "none"
            raise CommandFailed(f"run {run_id} has no step {step_id!r}; its steps: {known}")
        attempts = step.attempts
        if number is not None:
            attempts = tuple(a for a in step.attempts if a.number == number)
            if not attempts:
                made = ", ".join(f"#{a.number}" for a in step.attempts) or "none yet"
                raise CommandFailed(
                    f"step {step_id} of run {run_id} has no attempt #{number}; its attempts: {made}"
                )
        doc = step_show(state, step, attempts, failed)
    if as_json:
        click.echo(msgspec.json.encode(doc))
    elif isinstance(doc, RunShow):
        _print_run(settings, state, doc)
    else:
        _print_step(doc)


def _parse_target(target: str | None) -> tuple[str | None, int | None]:
    if target is None:
        return None, None
    found = _TARGET.match(target)
    if found is None or (found["attempt"] is not None and int(found["attempt"]) < 1):
        raise click.BadParameter(
            f"{target!r} is not STEP or STEP#N (N from 1)", param_hint="'[STEP[#N]]'"
        )
    attempt = found["attempt"]
    return found["step"], None if attempt is None else int(attempt)


def _warn(message: str) -> None:
    say(make_console(stderr=True), f"playbill: warning: {message}")


def _print_run(settings: Settings, state: RunState, doc: RunShow) -> None:
    console = make_console()
    print_state(console, state)
    say(console, "")
    if not doc.failures:
        say(console, "Failures: none")
        return
    say(console, f"Failures: {len(doc.failures)}")
    for failed in doc.failures:
        head = f"  {failed.step} #{failed.attempt} ({failed.agent}): "
        _block(console, head, _in_full(failed.failure), " " * 4)
    journal = "" if settings.is_default_journal else f" --journal {shlex.quote(settings.where)}"
    say(console, f"Each attempt in full: {playbill_command()}{journal} show {state.run_id} STEP")


def _print_step(doc: StepShow) -> None:
    console = make_console()
    step = doc.step
    accepted = f", attempt #{step.accepted_attempt} accepted" if step.accepted_attempt else ""
    say(console, f"step {step.id} of run {doc.run_id}: {step.status} ({step.role}){accepted}")
    say(console, f"goal: {doc.goal}" if doc.goal else "goal: -")
    if step.blocked_reason:
        say(console, f"blocked: {step.blocked_reason}")
    for attempt in doc.attempts:
        say(console, "")
        _print_attempt(console, step.id, attempt)


def _print_attempt(console: Console, step: str, attempt: AttemptDoc) -> None:
    lost = " (lost to a restart)" if attempt.lost else ""
    say(console, f"{step} #{attempt.number}  {attempt.agent}  {attempt.status}{lost}")
    times = [f"assigned {attempt.assigned}"]
    times.append(f"started {attempt.started or '-'}")
    times.append(f"ended {attempt.ended or '-'}")
    _line(console, "time", "  ".join(times))
    usage = attempt.usage
    spent = [f"{format_tokens(usage.tokens)} tokens", format_cost(usage.cost_usd)]
    _line(console, "usage", " ".join([*spent, format_seconds(usage.wall_s)]))
    if attempt.feedback is not None:
        _line(console, "feedback", _in_full(attempt.feedback))
    result = attempt.result
    if result is None:
        _line(console, "result", "none")
    else:
        code = f" (exit code {result.exit_code})" if result.exit_code is not None else ""
        about = f": {result.summary}" if result.summary else ""
        _line(console, "result", f"{result.exit_status}{code}, {result.payload}{about}")
        if result.changed_files:
            _line(console, "", "changed " + ", ".join(result.changed_files))
        if result.commit:
            _line(console, "", f"commit {result.commit}")
        _evidence(console, result.evidence)
        for note in (*result.gaps, *result.blockers):
            what = "blocker" if note.blocking else "gap"
            _line(console, "", f"{what} {note.kind}: {note.detail}")
    review = attempt.review
    if review is not None:
        verdict = review.verdict or "-"
        outcome = f" ({review.outcome})" if review.outcome else ""
        rounds = f", {review.rounds} rounds" if review.rounds > 1 else ""
        _line(console, "review", f"{review.reviewer or '-'}: {verdict}{outcome}{rounds}")
        for finding in review.findings:
            where = finding.path or ""
            if where and finding.line is not None:
                where += f":{finding.line}"
            place = f" {where}:" if where else ""
            _line(console, "", f"[{finding.severity}]{place} {finding.message}")
    for validation in attempt.validations:
        _validation(console, validation)
    if attempt.failure is not None:
        _line(console, "failure", _in_full(attempt.failure))


def _validation(console: Console, validation: ValidationDoc) -> None:
    outcome = "passed" if validation.passed else "FAILED"
    by = f" by {validation.verifier}" if validation.verifier else ""
    figures = []
    if validation.tests_passed is not None:
        figures.append(f"{validation.tests_passed} tests passed")
    if validation.tests_failed is not None:
        figures.append(f"{validation.tests_failed} failed")
    if validation.score is not None:
        figures.append(f"score {validation.score:g}")
    extra = f": {', '.join(figures)}" if figures else ""
    _line(console, "validator", f"{validation.validator}{by} {outcome}{extra}")
    if validation.failure is not None:
        _line(console, "", _in_full(validation.failure))
    _evidence(console, validation.evidence)
    text = validation.output_tail or (validation.detail if not validation.passed else "")
    if text and (validation.failure is None or text not in validation.failure.detail):
        _line(console, "", "output:")
        for row in text.splitlines():
            say(console, f"{INDENT}  | {row}".rstrip())


def _evidence(console: Console, evidence: list[EvidenceDoc]) -> None:
    for proof in evidence:
        detail = f" ({proof.detail})" if proof.detail else ""
        _line(console, "", f"evidence {proof.kind}: {proof.ref}{detail}")


def _line(console: Console, label: str, text: str) -> None:
    _block(console, f"  {label:<10} ", text, INDENT)


def _block(console: Console, head: str, text: str, indent: str) -> None:
    """``head`` then ``text``, its further lines indented: multi-line details stay readable."""
    first, *rest = text.splitlines() or [""]
    say(console, f"{head}{first}".rstrip())
    for row in rest:
        say(console, f"{indent}{row}".rstrip())


def _in_full(failure: FailureDoc) -> str:
    """``class/kind: detail``, the detail whole (``status`` shows the kind only)."""
    head = f"{failure.failure_class}/{failure.kind}"
    return f"{head}: {failure.detail}" if failure.detail else head
