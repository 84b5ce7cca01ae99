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

from typing import Final, final

from ..model._messages import (
    HumanApprovalRequested,
    MergeRequested,
    PlanAttached,
    StepAssigned,
    StepCompleted,
    ValidationFailed,
    ValidationPassed,
)
from ..model._state import AttemptState, StepState
from ..model._values import (
    Blocker,
    Failure,
    HumanApproval,
    PlanPayload,
    ResultEnvelope,
    VerificationPayload,
)
from ._failures import block
from ._policy_context import (
    PolicyContext,
    approval_request,
    clip,
    stall_window_s,
    stall_window_us,
    validator_names,
)
from ._results import merged_plan, summary
from ._scheduling import pick_agent
from ._vetting import Judge, validators_to_check, vet
from ._work import Work, current_attempt, set_deadline

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
                        score=check.score,
                    )
                )
        if not payload.checks and validators_to_check(step):
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
        vet_and_complete(ctx, step)


PIPELINE: Final = Pipeline()
"""The pipeline strategy."""


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
            heartbeat_timeout_s=stall_window_s(ctx.state, agent),
            feedback=feedback,
            competition=competition,
        ),
        to=agent,
    )
    due = ctx.now_us + stall_window_us(ctx.state, agent)
    set_deadline(ctx, Work("implement", step, attempt, agent), due, first=True)
    return attempt


def vet_and_complete(
    ctx: PolicyContext, step: str, *, review: bool = True, judge: Judge | None = None
) -> None:
    """Take the step's current attempt through ``vet``, then approvals and completion.

    The pipeline's ``advance``, and that of strategies that only change how
    an attempt is vetted (``review``, ``judge``: see ``vet``).
    """
    found = ctx.state.steps.get(step)
    attempt = current_attempt(found) if found is not None else None
    if found is None or attempt is None:
        return
    if vet(ctx, step, attempt.number, review=review, judge=judge):
        found = ctx.state.steps[step]
        approve_and_complete(ctx, found, found.attempts[-1])


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
