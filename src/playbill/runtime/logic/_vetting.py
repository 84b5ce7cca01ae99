"""The pipeline's vetting of an attempt: its result, its review, its verification.

Shared by every strategy that vets attempts the pipeline's way (see
``vet``): a result must be ``ok`` with its role's payload and no blocking
blocker, and a planner's proposal must keep the plan's rules
(``proposal_problems``: else ``validation``/``bad_plan``, the problems its
feedback); an executor's attempt is reviewed by another agent (``judged``
turns a verdict that does not approve into a failure or a block); then it is
verified, each check a validation record, until every validator of the step
passed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeAlias

from ..model._messages import (
    ReviewGiven,
    ReviewRequested,
    VerificationRequested,
)
from ..model._state import AttemptState, RunState, StepState
from ..model._values import (
    Blocker,
    Failure,
    Finding,
    HumanApproval,
    PlanPayload,
    ResultEnvelope,
    ReviewOutcome,
    ReviewPayload,
    VerificationPayload,
)
from ._failures import block, fail_attempt
from ._plan_rules import proposal_problems
from ._policy_context import (
    PolicyContext,
    approval_request,
    clip,
    stall_window_us,
    validator_names,
)
from ._results import OUTCOMES, findings_text, result_failure
from ._scheduling import helpers_ever, pick_helper
from ._work import Work, WorkKind, held, report_of, set_deadline

Judge: TypeAlias = Callable[
    [
        PolicyContext,
        StepState,
        AttemptState,
        ReviewOutcome,
        tuple[Finding, ...],
        tuple[Blocker, ...],
    ],
    None,
]
"""What to do with a review that did not approve an attempt (see ``judged``)."""


def vet(
    ctx: PolicyContext,
    step: str,
    number: int,
    *,
    review: bool = True,
    judge: Judge | None = None,
) -> bool:
    """Take a proposed attempt through the pipeline's checks as far as it can go now.

    Its own result (exit status and payload), its blockers, a reviewer step's
    verdict, the review stage (executor steps, when ``review``) and the
    verification stage: asks for what is due, fails (or blocks) the attempt
    when a stage failed. Level-based: calling it again issues nothing new.

    Args:
        ctx: The decision in progress.
        step: The step, verifying.
        number: The attempt, proposed.
        review: Whether executor steps go through the review stage.
        judge: What to do with a review that does not approve (``judged``,
            the pipeline's, when ``None``).

    Returns:
        Whether the attempt passed every stage: only human approvals,
        integration and completion are left.
    """
    found = ctx.state.steps.get(step)
    attempt = found.attempt(number) if found is not None else None
    if found is None or attempt is None or attempt.result is None:
        return False
    if found.status != "verify_pending" or attempt.status != "proposed":
        return False
    on_review = judge if judge is not None else judged
    result = attempt.result
    failure = result_failure(found.spec.role, result)
    if failure is None and isinstance(result.payload, PlanPayload):
        failure = _bad_plan(ctx, result.payload)
    if failure is not None:
        fail_attempt(ctx, step, attempt.number, failure)
        return False
    blocking = tuple(b for b in result.blockers if b.blocking)
    if blocking:
        detail = clip("; ".join(b.detail for b in blocking))
        failure = Failure(failure_class="validation", kind="blocked", detail=detail)
        block(ctx, step, attempt.number, failure, blocking)
        return False
    if isinstance(result.payload, ReviewPayload) and found.spec.role == "reviewer":
        outcome = OUTCOMES.get(result.payload.verdict, "rejected")
        if outcome != "approved":
            on_review(ctx, found, attempt, outcome, result.payload.findings, ())
            return False
    if review and found.spec.role == "executor" and not _reviewed(ctx, found, attempt, on_review):
        return False
    found = ctx.state.steps[step]
    attempt = found.attempt(number)
    return attempt is not None and _verified(ctx, found, attempt)


def validators_to_check(step: StepState) -> list[str]:
    """Names of the step's validators that a verifier must check."""
    return [
        name
        for name, validator in validator_names(step.spec.validators)
        if not isinstance(validator, HumanApproval)
    ]


def _review_round(step: StepState) -> int:
    return 1 + sum(1 for a in step.attempts[:-1] if a.review is not None)


def judged(
    ctx: PolicyContext,
    step: StepState,
    attempt: AttemptState,
    outcome: ReviewOutcome,
    findings: tuple[Finding, ...],
    blockers: tuple[Blocker, ...],
) -> None:
    """The pipeline's judge: a review that did not approve fails the attempt.

    ``replan_required`` blocks the step and asks a person instead.
    """
    sid, n = step.spec.id, attempt.number
    detail = clip(f"review: {findings_text(findings) or outcome}")
    if outcome == "replan_required":
        kept = tuple(b for b in blockers if b.blocking) or (Blocker(kind="review", detail=detail),)
        failure = Failure(failure_class="validation", kind="replan_required", detail=detail)
        block(ctx, sid, n, failure, kept)
    else:
        fail_attempt(ctx, sid, n, Failure(failure_class="validation", kind=outcome, detail=detail))


def _past_review(state: RunState, step: StepState, attempt: AttemptState) -> bool:
    """Whether verification of the attempt began (so its review is settled)."""
    if attempt.verifier is not None or attempt.validations:
        return True
    return any(
        approval_request(step.spec.id, attempt.number, name) in state.approvals
        for name, _ in validator_names(step.spec.validators)
    )


def _reviewed(ctx: PolicyContext, step: StepState, attempt: AttemptState, judge: Judge) -> bool:
    """Whether the review stage is over and approved (or skipped); requests it if due."""
    sid, n = step.spec.id, attempt.number
    if attempt.review is not None:
        if attempt.review == "approved":
            return True
        judge(ctx, step, attempt, attempt.review, attempt.findings, ())
        return False
    if _past_review(ctx.state, step, attempt):
        return True
    report = _ask(ctx, step, attempt, "reviewer")
    if report == "nobody":
        return True
    if not isinstance(report, ResultEnvelope):
        return False
    assert isinstance(report.payload, ReviewPayload)
    payload = report.payload
    outcome = OUTCOMES.get(payload.verdict, "rejected")
    ctx.emit(_review_given(sid, n, report.agent, payload, outcome, _review_round(step)))
    if outcome == "approved":
        return True
    judge(ctx, step, attempt, outcome, payload.findings, report.blockers)
    return False


def _ask(
    ctx: PolicyContext,
    step: StepState,
    attempt: AttemptState,
    role: Literal["reviewer", "verifier"],
) -> ResultEnvelope | Literal["wait", "nobody", "failed"]:
    """The report of a reviewer or verifier on the attempt, asking for it when due.

    Returns the report once a good one is in; ``wait`` while one is asked
    for (or nobody is free); ``nobody`` when no agent other than the
    attempt's could ever do it; ``failed`` (the attempt failed) when every one
    that could sent a bad report. A bad report (not ``ok``, or the wrong
    payload) makes the policy ask another agent, never the same one again.
    """
    sid, n = step.spec.id, attempt.number
    kind: WorkKind = "review" if role == "reviewer" else "verify"
    asked = attempt.reviewer if role == "reviewer" else attempt.verifier
    payload = ReviewPayload if role == "reviewer" else VerificationPayload
    report = report_of(attempt, asked, role)
    if report is not None and report.exit_status == "ok" and isinstance(report.payload, payload):
        return report
    if report is None and asked is not None and held(ctx.state, Work(kind, sid, n, asked)):
        return "wait"
    tried = {r.agent for r in attempt.reports if r.role == role}
    # requests whose work a kill or a restart lost are asked again, uncounted
    if role == "reviewer":
        requests = attempt.review_requests - attempt.reviews_lost
    else:
        requests = attempt.verify_requests - attempt.verifications_lost
    if requests >= ctx.settings.max_attempts:
        # Asked that often and never a usable report (crashes, hangs): the
        # attempt fails, and its retry is a new attempt, not the same request.
        detail = f"no usable {kind} after {requests} requests"
        failure = Failure(failure_class="agent", kind=f"{kind}_failed", detail=detail)
        fail_attempt(ctx, sid, n, failure)
        return "failed"
    if not helpers_ever(ctx.state, role, exclude={attempt.agent, *tried}):
        if not tried:
            return "nobody"
        detail = f"no {role} could report on it ({', '.join(sorted(tried))} sent no usable report)"
        failure = Failure(failure_class="agent", kind=f"{kind}_failed", detail=detail)
        fail_attempt(ctx, sid, n, failure)
        return "failed"
    if not ctx.may_start_work:
        return "wait"
    helper = pick_helper(ctx, role, sid, exclude={attempt.agent, *tried})
    if helper is not None:
        msg: ReviewRequested | VerificationRequested
        if role == "reviewer":
            msg = ReviewRequested(step=sid, attempt=n, reviewer=helper, round=_review_round(step))
        else:
            msg = VerificationRequested(step=sid, attempt=n, verifier=helper)
        ctx.emit(msg, to=helper)
        due = ctx.now_us + stall_window_us(ctx.state, helper)
        set_deadline(ctx, Work(kind, sid, n, helper), due)
    return "wait"


def _review_given(
    step: str, attempt: int, reviewer: str, payload: ReviewPayload, outcome: ReviewOutcome, rnd: int
) -> ReviewGiven:
    return ReviewGiven(
        step=step,
        attempt=attempt,
        reviewer=reviewer,
        verdict=payload.verdict,
        outcome=outcome,
        round=rnd,
        findings=payload.findings,
    )


def _verified(ctx: PolicyContext, step: StepState, attempt: AttemptState) -> bool:
    """Whether verification is over and passed; requests it if due, fails it if it failed."""
    sid, n = step.spec.id, attempt.number
    failed = [r for r in attempt.validations if not r.passed]
    if failed:
        record = failed[0]
        failure = record.failure or Failure(
            failure_class="validation", kind="validation_failed", detail=record.validator
        )
        fail_attempt(ctx, sid, n, failure)
        return False
    checked = validators_to_check(step)
    if step.spec.role == "verifier":
        return True  # its own checks are its verification (recorded when it reported)
    passed = {r.validator for r in attempt.validations if r.passed}
    covered = bool(checked) and all(name in passed for name in checked)
    if step.spec.role != "executor" and (not checked or covered):
        return True
    report = _ask(ctx, step, attempt, "verifier")
    if report == "nobody":
        if checked and not covered:
            detail = f"validators {', '.join(checked)} need a verifier and no agent can verify"
            failure = Failure(failure_class="policy", kind="unverifiable", detail=detail)
            fail_attempt(ctx, sid, n, failure)
            return False
        return True
    return isinstance(report, ResultEnvelope)


def _bad_plan(ctx: PolicyContext, proposal: PlanPayload) -> Failure | None:
    """Why a planner's proposal cannot join the plan (``validation``/``bad_plan``), or ``None``.

    The attempt fails with every problem listed, and the next attempt gets
    them as its feedback; the run goes on.
    """
    problems = proposal_problems(ctx.state, proposal)
    if not problems:
        return None
    detail = clip(f"the proposed plan has {len(problems)} problem(s): " + "; ".join(problems))
    return Failure(failure_class="validation", kind="bad_plan", detail=detail)
