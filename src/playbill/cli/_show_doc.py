"""What ``playbill show`` tells about a run or a step, as documents (``show --json``).

A run's document is its ``status`` document and every failure of every
attempt, in full. A step's document has each attempt: who made it and when,
what it proposed, its review and findings, each validator's outcome with its
evidence, test counts and output tail, and why it failed. The shapes are
msgspec structs, every key always present, in declaration order (see
docs/cli.md). Nothing here is cut: the text is what the journal holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, final

import msgspec

from playbill.runtime import (
    AttemptState,
    Check,
    ImplementationPayload,
    PlanPayload,
    ResultEnvelope,
    ReviewPayload,
    RunState,
    StepState,
    ValidationFailed,
    VerificationPayload,
)

from ._format import format_time, round_money
from ._render import in_plan_order
from ._state_doc import (
    EvidenceDoc,
    FailureDoc,
    StatusDoc,
    StepRow,
    evidence_docs,
    failure_doc,
    status_doc,
    step_row,
)


@final
class FailureAt(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt's failure, in full: which step and attempt, whose, and why."""

    step: str
    attempt: int
    agent: str
    failure: FailureDoc


@final
class RunShow(msgspec.Struct, frozen=True, kw_only=True):
    """``show RUN --json``: the run's status document and every attempt's failure."""

    kind: Literal["run"]
    run: StatusDoc
    failures: list[FailureAt]


@final
class UsageDoc(msgspec.Struct, frozen=True, kw_only=True):
    """What some work consumed."""

    tokens: int
    cost_usd: float
    wall_s: float


@final
class NoteDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A gap or a blocker an agent reported (``blocking`` is false for gaps and risks)."""

    kind: str
    detail: str
    blocking: bool


@final
class ResultDoc(msgspec.Struct, frozen=True, kw_only=True):
    """The result an attempt's own agent proposed.

    ``payload`` is its kind (``implementation``, ``plan``, ``review``,
    ``verification``); ``summary``, ``changed_files`` and ``commit`` are an
    implementation's (empty otherwise).
    """

    exit_status: str
    exit_code: int | None
    payload: str
    summary: str
    changed_files: list[str]
    commit: str | None
    evidence: list[EvidenceDoc]
    gaps: list[NoteDoc]
    blockers: list[NoteDoc]


@final
class FindingDoc(msgspec.Struct, frozen=True, kw_only=True):
    """One remark of a review."""

    severity: str
    message: str
    path: str | None
    line: int | None


@final
class ReviewDoc(msgspec.Struct, frozen=True, kw_only=True):
    """An attempt's review: who, the verdict they gave, what it means, the findings."""

    reviewer: str | None
    verdict: str | None
    outcome: str | None
    rounds: int
    findings: list[FindingDoc]


@final
class ValidationDoc(msgspec.Struct, frozen=True, kw_only=True):
    """One validator's outcome on an attempt.

    ``tests_passed`` and ``tests_failed`` are the counts the verifier
    reported (``None`` when it ran no tests); ``detail`` is the check's own
    account; ``output_tail`` the end of the command's output, for a failure.
    """

    validator: str
    passed: bool
    verifier: str | None
    failure: FailureDoc | None
    score: float | None
    tests_passed: int | None
    tests_failed: int | None
    detail: str
    output_tail: str
    evidence: list[EvidenceDoc]


@final
class AttemptDoc(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt at a step, everything the journal knows of it.

    Times are ISO 8601 UTC strings and microseconds since the epoch
    (``None`` until they happen). ``feedback`` is the earlier failure the
    attempt was told about; ``lost`` marks work lost to a restart.
    """

    number: int
    agent: str
    status: str
    lost: bool
    assigned: str
    assigned_us: int
    started: str | None
    started_us: int | None
    ended: str | None
    ended_us: int | None
    usage: UsageDoc
    feedback: FailureDoc | None
    result: ResultDoc | None
    review: ReviewDoc | None
    validations: list[ValidationDoc]
    failure: FailureDoc | None


@final
class StepShow(msgspec.Struct, frozen=True, kw_only=True):
    """``show RUN STEP[#N] --json``: the step, its goal, and its attempts (only #N if given)."""

    kind: Literal["step"]
    run_id: str
    step: StepRow
    goal: str
    attempts: list[AttemptDoc]


def run_show(state: RunState) -> RunShow:
    """The document of ``show RUN``."""
    failures = [
        FailureAt(step=step.spec.id, attempt=attempt.number, agent=attempt.agent, failure=failed)
        for step in in_plan_order(state, "steps")
        for attempt in step.attempts
        if (failed := failure_doc(attempt.failure)) is not None
    ]
    return RunShow(kind="run", run=status_doc(state), failures=failures)


def step_show(
    state: RunState,
    step: StepState,
    attempts: Iterable[AttemptState],
    failed: Iterable[ValidationFailed],
) -> StepShow:
    """The document of ``show RUN STEP``: ``attempts`` of ``step``.

    Args:
        state: The run's state.
        step: The step.
        attempts: Its attempts to show.
        failed: The run's ``validation_failed`` messages about the step, in
            seq order: they hold the output tails, which the state does not.
    """
    tails = {(m.attempt, m.validator): m.output_tail for m in failed if m.step == step.spec.id}
    return StepShow(
        kind="step",
        run_id=state.run_id,
        step=step_row(step),
        goal=step.spec.goal,
        attempts=[_attempt(attempt, tails) for attempt in attempts],
    )


def _attempt(attempt: AttemptState, tails: dict[tuple[int, str], str]) -> AttemptDoc:
    def when(at_us: int | None) -> str | None:
        return None if at_us is None else format_time(at_us, precise=True)

    usage = attempt.usage
    return AttemptDoc(
        number=attempt.number,
        agent=attempt.agent,
        status=attempt.status,
        lost=attempt.lost,
        assigned=format_time(attempt.assigned_us, precise=True),
        assigned_us=attempt.assigned_us,
        started=when(attempt.started_us),
        started_us=attempt.started_us,
        ended=when(attempt.ended_us),
        ended_us=attempt.ended_us,
        usage=UsageDoc(
            tokens=usage.tokens, cost_usd=round_money(usage.cost_usd), wall_s=usage.wall_s
        ),
        feedback=failure_doc(attempt.feedback),
        result=None if attempt.result is None else _result(attempt.result),
        review=_review(attempt),
        validations=_validations(attempt, tails),
        failure=failure_doc(attempt.failure),
    )


def _result(result: ResultEnvelope) -> ResultDoc:
    payload = result.payload
    summary, files, commit = "", [], None
    if isinstance(payload, ImplementationPayload):
        summary, files, commit = payload.summary, list(payload.changed_files), payload.commit
    elif isinstance(payload, PlanPayload):
        summary = f"{len(payload.steps)} steps, {len(payload.criteria)} criteria"
    tag = payload.__struct_config__.tag
    return ResultDoc(
        exit_status=result.exit_status,
        exit_code=result.exit_code,
        payload=tag if isinstance(tag, str) else type(payload).__name__,
        summary=summary,
        changed_files=files,
        commit=commit,
        evidence=evidence_docs(result.evidence),
        gaps=[NoteDoc(kind=g.kind, detail=g.detail, blocking=False) for g in result.gaps],
        blockers=[
            NoteDoc(kind=b.kind, detail=b.detail, blocking=b.blocking) for b in result.blockers
        ],
    )


def _review(attempt: AttemptState) -> ReviewDoc | None:
    verdicts = [
        (report.agent, report.payload.verdict)
        for report in attempt.reports
        if isinstance(report.payload, ReviewPayload)
    ]
    if attempt.review is None and not verdicts and not attempt.findings:
        return None
    reviewer, verdict = verdicts[-1] if verdicts else (attempt.reviewer, None)
    return ReviewDoc(
        reviewer=attempt.reviewer or reviewer,
        verdict=verdict,
        outcome=attempt.review,
        rounds=attempt.review_rounds,
        findings=[
            FindingDoc(severity=f.severity, message=f.message, path=f.path, line=f.line)
            for f in attempt.findings
        ],
    )


def _validations(attempt: AttemptState, tails: dict[tuple[int, str], str]) -> list[ValidationDoc]:
    checks: dict[str, tuple[str | None, Check | None]] = {}
    for report in attempt.reports:
        if isinstance(report.payload, VerificationPayload):
            for ran in report.payload.checks:
                checks[ran.name] = (report.agent, ran)
    docs = []
    for record in attempt.validations:
        verifier, check = checks.get(record.validator, (attempt.verifier, None))
        docs.append(
            ValidationDoc(
                validator=record.validator,
                passed=record.passed,
                verifier=verifier,
                failure=failure_doc(record.failure),
                score=record.score,
                tests_passed=None if check is None else check.tests_passed,
                tests_failed=None if check is None else check.tests_failed,
                detail="" if check is None else check.detail,
                output_tail=tails.get((attempt.number, record.validator), ""),
                evidence=evidence_docs(record.evidence),
            )
        )
    return docs
