"""The pipeline strategy: implement, review, verify, complete (the default).

One attempt at a time per step:

1. **Implement.** A free agent that can play the step's role is assigned
   (``step_assigned`` with a heartbeat deadline). Its result must end ``ok``
   with the payload of its role (planner: plan, executor: implementation,
   reviewer: review, verifier: verification); otherwise the attempt fails
   (``transient`` for an error, a timeout or a cancel, ``agent`` for a crash
   or a malformed result). Blocking blockers in the result block the step and
   ask a human.
2. **Review** (executor steps). A reviewer other than the executor is asked
   (``review_requested``); its report becomes ``review_given``: ``pass`` ->
   approved, ``blocked`` -> replan required (the step is blocked and a human
   asked), ``request_changes`` -> changes requested, anything else ->
   rejected; the last two fail the attempt with the findings as feedback.
   When no agent of the plan could ever review, the stage is skipped. A
   reviewer step's own verdict is judged the same way.
3. **Verify.** Executor steps, and steps with validators other than
   ``human_approval``, are verified by a verifier other than the attempt's
   agent (``verification_requested``); each of its checks becomes a
   ``validation_passed`` or ``validation_failed``; a failed check fails the
   attempt, and so does a verifier that ran no check when the step has
   validators. A verifier step's own checks are its verification. A step
   whose validators no agent could ever check fails with a ``policy``
   failure (no validator auto-passes) unless validation records from
   elsewhere cover them all. Then each ``human_approval`` validator asks a
   person.
4. **Integrate.** An attempt that worked in a workspace (``workspace_created``)
   is applied onto the run's integration branch: ``merge_requested`` to the
   integrator, which answers ``workspace_merged``; a conflict blocks the step
   and asks a person.
5. **Complete.** ``step_completed``; a planner step first merges the steps
   and criteria it proposed into the plan (``plan_attached``; steps already
   planned are kept as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal, TypeAlias, final

from ._failures import block, fail_attempt
from ._messages import (
    HumanApprovalRequested,
    MergeRequested,
    PlanAttached,
    ReviewGiven,
    ReviewRequested,
    StepAssigned,
    StepCompleted,
    ValidationFailed,
    ValidationPassed,
    VerificationRequested,
)
from ._policy_context import (
    PolicyContext,
    approval_request,
    clip,
    heartbeat_timeout_s,
    heartbeat_timeout_us,
    validator_names,
)
from ._results import OUTCOMES, findings_text, merged_plan, result_failure, summary
from ._scheduling import helpers_ever, pick_agent, pick_helper
from ._state import AttemptState, RunState, StepState
from ._values import (
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
from ._work import Work, WorkKind, current_attempt, held, report_of, set_deadline

INTEGRATOR: Final = "integrator"
"""The address of the runtime's integrator (it answers ``merge_requested``)."""


@final
class Pipeline:
    """The default strategy (see the module)."""

    name = "pipeline"

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Assign the next attempt of a ready step to the first free agent that fits."""
        found = ctx.state.steps.get(step)
        if found is None:
            return False
        attempt = len(found.attempts) + 1
        agent = pick_agent(ctx, found, attempt=attempt)
        if agent is None:
            return False
        assign(ctx, step, agent, feedback=found.feedback)
        return True

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Turn a verification's checks into one validation record each.

        The verification is a verifier's report, or a verifier step's own result.
        """
        step = ctx.state.steps.get(result.step)
        attempt = step.attempt(result.attempt) if step is not None else None
        if step is None or attempt is None or step.status != "verify_pending":
            return
        payload = result.payload
        if (
            attempt.status != "proposed"
            or result.exit_status != "ok"
            or not isinstance(payload, VerificationPayload)
        ):
            return
        own = result.agent == attempt.agent and step.spec.role == "verifier"
        asked = result.agent == attempt.verifier and result.agent != attempt.agent
        if not (own or asked):
            return
        sid, n = step.spec.id, attempt.number
        for check in payload.checks:
            if check.passed:
                ctx.emit(
                    ValidationPassed(
                        step=sid,
                        attempt=n,
                        validator=check.name,
                        evidence=result.evidence,
                        score=check.score,
                    )
                )
            else:
                detail = clip(f"{check.name}: {check.detail}" if check.detail else check.name)
                failure = check.failure or Failure(
                    failure_class="validation", kind="check_failed", detail=detail
                )
                ctx.emit(
                    ValidationFailed(
                        step=sid,
                        attempt=n,
                        validator=check.name,
                        failure=failure,
                        output_tail=clip(check.detail),
                    )
                )
        if not payload.checks and _checked(step):
            failure = Failure(
                failure_class="validation",
                kind="no_checks",
                detail=f"{result.agent} ran no check; the step has validators",
            )
            ctx.emit(
                ValidationFailed(step=sid, attempt=n, validator="verification", failure=failure)
            )

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Move a step with a proposed result through review and verification."""
        found = ctx.state.steps.get(step)
        attempt = current_attempt(found) if found is not None else None
        if found is None or attempt is None or attempt.result is None:
            return
        if vet(ctx, step, attempt.number):
            found = ctx.state.steps[step]
            approve_and_complete(ctx, found, found.attempts[-1])


PIPELINE: Final = Pipeline()
"""The pipeline strategy."""

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


def assign(
    ctx: PolicyContext,
    step: str,
    agent: str,
    *,
    feedback: Failure | None,
    competition: int | None = None,
) -> int:
    """Assign the step's next attempt to ``agent``, with its heartbeat deadline.

    Args:
        ctx: The decision in progress.
        step: The step (it exists).
        agent: The agent (free, able and within budget: the caller checked).
        feedback: What to feed into the attempt.
        competition: The first attempt of the competition it joins, if any.

    Returns:
        The attempt's number.
    """
    attempt = len(ctx.state.steps[step].attempts) + 1
    ctx.emit(
        StepAssigned(
            step=step,
            agent=agent,
            attempt=attempt,
            heartbeat_timeout_s=heartbeat_timeout_s(ctx.settings),
            feedback=feedback,
            competition=competition,
        ),
        to=agent,
    )
    due = ctx.now_us + heartbeat_timeout_us(ctx.settings)
    set_deadline(ctx, Work("implement", step, attempt, agent), due, first=True)
    return attempt


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


def _checked(step: StepState) -> list[str]:
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
    requests = attempt.review_requests if role == "reviewer" else attempt.verify_requests
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
        due = ctx.now_us + heartbeat_timeout_us(ctx.settings)
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
    checked = _checked(step)
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


def approve_and_complete(ctx: PolicyContext, step: StepState, attempt: AttemptState) -> None:
    """Ask a person for each ``human_approval`` not yet given; complete when none is left.

    The attempt (which passed ``vet``) is integrated first when it worked in a
    workspace; a planner's proposal joins the plan; then ``step_completed``.
    """
    sid, n = step.spec.id, attempt.number
    passed = {r.validator for r in attempt.validations if r.passed}
    waiting = False
    for name, validator in validator_names(step.spec.validators):
        if not isinstance(validator, HumanApproval) or name in passed:
            continue
        waiting = True
        request = approval_request(sid, n, name)
        if request not in ctx.state.approvals:
            prompt = validator.prompt or f"Approve attempt {n} of step {sid!r}: {step.spec.goal}"
            ctx.emit(HumanApprovalRequested(request=request, prompt=clip(prompt), step=sid))
    if waiting or not _integrated(ctx, step, attempt):
        return
    assert attempt.result is not None
    payload = attempt.result.payload
    if isinstance(payload, PlanPayload):
        merged = merged_plan(ctx.state, payload)
        if merged is not None:
            ctx.emit(PlanAttached(plan=merged))
    ctx.emit(StepCompleted(step=sid, attempt=n, summary=clip(summary(attempt.result), 500)))


def _integrated(ctx: PolicyContext, step: StepState, attempt: AttemptState) -> bool:
    """Whether the attempt's work is integrated (or has no workspace); asks for it when due.

    An attempt that worked in a workspace completes only once the integrator
    applied its work (``workspace_merged`` ``applied``); a conflict, or work
    the integrator could not apply, blocks the step and asks a person.
    """
    sid, n = step.spec.id, attempt.number
    workspace = ctx.state.workspaces.get(f"{sid}#{n}")
    if workspace is None or workspace.merge_status == "applied":
        return True
    if workspace.merge_status == "pending":
        if workspace.merge_requested_seq is None:
            ctx.emit(MergeRequested(step=sid, attempt=n), to=INTEGRATOR)
        return False
    detail = clip(workspace.merge_detail or f"its work was {workspace.merge_status}")
    failure = Failure(
        failure_class="validation", kind=f"merge_{workspace.merge_status}", detail=detail
    )
    block(ctx, sid, n, failure, (Blocker(kind="conflict", detail=detail),))
    return False
