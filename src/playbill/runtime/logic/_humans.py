"""People in the loop: approval requests, their answers, and control requests.

The policy asks a person four things, each under an id it builds (see
``_policy_context``): to approve an attempt for a ``human_approval``
validator (``approve:...``), to unblock a blocked step (``replan:...``), to
decide about a step out of attempts (``escalate:...``), and to confirm a
criterion of the run that no step checked (``criterion:...``).

An answer is matched against what the state still waits for; an answer to a
request that no longer matters (the step moved on) changes nothing. Approving
a validator passes it; rejecting it fails the attempt with a ``policy``
failure. Approving an unblock or an escalation retries the step at once;
rejecting it skips the step when ``on_exhausted`` is ``skip`` and fails the
run otherwise (never asking again), as a journaled policy decision. Approving
a criterion meets it; rejecting it fails the run.

Control requests (``control_requested``, from ``playbill pause|resume|cancel|
approve|reject``, and a person's decisions about a step, see
``_step_decisions``) are carried out when they make sense, and otherwise
refused with a note that says why.
"""

from __future__ import annotations

from ..model._messages import (
    ControlRequested,
    CriterionMet,
    HumanApprovalGiven,
    NoteWritten,
    PolicyDecisionApplied,
    RunCancelled,
    RunPaused,
    RunResumed,
    StepSkipped,
    ValidationFailed,
    ValidationPassed,
)
from ..model._state import ApprovalState, RunState
from ..model._values import Evidence, Failure, HumanApproval, PolicyAction
from ._failures import feedback_of, retry
from ._policy_context import (
    SUPERVISOR,
    PolicyContext,
    approval_request,
    clip,
    criterion_request,
    escalation_request,
    replan_request,
    validator_names,
)
from ._step_decisions import on_step_decision
from ._work import current_attempt, fail_run, wind_down


def approval_requests(state: RunState, step: str) -> dict[str, str]:
    """The requests a step's situation waits for, with what each is for."""
    found = state.steps.get(step)
    if found is None:
        return {}
    n = len(found.attempts)
    if found.status in ("failed", "interrupted"):
        return {escalation_request(step, n): "escalation"}
    if found.status == "blocked":
        return {replan_request(step, n): "replan"}
    attempt = current_attempt(found)
    if found.status == "verify_pending" and attempt is not None and attempt.status == "proposed":
        return {
            approval_request(step, n, name): name
            for name, validator in validator_names(found.spec.validators)
            if isinstance(validator, HumanApproval)
        }
    return {}


def unmet_criteria(state: RunState) -> list[str]:
    """Criteria with a validator that are not met yet, in plan order."""
    plan = state.plan
    if plan is None:
        return []
    return [
        c.id
        for c in plan.criteria
        if c.validator is not None and not (c.id in state.criteria and state.criteria[c.id].met)
    ]


def is_live(state: RunState, approval: ApprovalState) -> bool:
    """Whether a pending approval request is one the run still waits for."""
    if approval.status != "pending":
        return False
    if approval.step is None:
        return approval.request in {criterion_request(c) for c in unmet_criteria(state)}
    return approval.request in approval_requests(state, approval.step)


def live_approvals(state: RunState) -> list[ApprovalState]:
    """Pending approval requests the run waits for (others are stale; none once it ended)."""
    if state.is_terminal:
        return []
    return [a for a in state.approvals.values() if is_live(state, a)]


def on_approval(ctx: PolicyContext, request: str) -> None:
    """Carry out a person's answer to an approval request (see the module)."""
    state = ctx.state
    answer = state.approvals.get(request)
    if answer is None or answer.status == "pending":
        return
    approved = answer.status == "approved"
    who = answer.by or "a person"
    if answer.step is None:
        for criterion in unmet_criteria(state):
            if request != criterion_request(criterion):
                continue
            if approved:
                note = Evidence(kind="note", ref=request, detail=clip(f"confirmed by {who}"))
                ctx.emit(CriterionMet(criterion=criterion, evidence=(note,)))
            else:
                fail_run(ctx, clip(f"criterion {criterion!r} rejected by {who}"), "validation")
        return
    step = answer.step
    found = state.steps.get(step)
    wanted = approval_requests(state, step).get(request)
    if found is None or wanted is None:
        return
    if wanted in ("escalation", "replan"):
        if approved:
            retry(ctx, step, feedback_of(found), at_once=True)
            return
        # a person said no: the step goes no further, and asking again is pointless
        reason = clip(f"{who} rejected the {wanted} of step {step!r}")
        action: PolicyAction = "skip" if ctx.settings.on_exhausted == "skip" else "abort"
        ctx.emit(PolicyDecisionApplied(action=action, reason=reason, step=step))
        if action == "skip":
            ctx.emit(StepSkipped(step=step, reason=reason))
        else:
            fail_run(ctx, reason, "policy")
        return
    attempt = len(found.attempts)
    if approved:
        proof = Evidence(kind="note", ref=request, detail=clip(f"approved by {who}"))
        ctx.emit(ValidationPassed(step=step, attempt=attempt, validator=wanted, evidence=(proof,)))
    else:
        failure = Failure(
            failure_class="policy",
            kind="rejected_by_human",
            detail=clip(f"{who} rejected it" + (f": {answer.reason}" if answer.reason else "")),
        )
        ctx.emit(ValidationFailed(step=step, attempt=attempt, validator=wanted, failure=failure))


def on_control(ctx: PolicyContext, msg: ControlRequested) -> None:
    """Carry out a control request, or refuse it with a note."""
    state = ctx.state
    req = msg.request
    refusal = ""
    match req.action:
        case "pause":
            if state.status == "running":
                ctx.emit(RunPaused(reason=req.reason, by=req.by))
            else:
                refusal = f"the run is {state.status}, not running"
        case "resume":
            if state.status == "paused":
                ctx.emit(RunResumed(by=req.by, reason=req.reason))
            else:
                refusal = f"the run is {state.status}, not paused"
        case "cancel":
            if state.is_terminal:
                refusal = f"the run is already {state.status}"
            else:
                ctx.emit(RunCancelled(reason=req.reason, by=req.by))
                wind_down(ctx, f"run cancelled: {req.reason}" if req.reason else "run cancelled")
        case "approve" | "reject":
            waiting = [a for a in live_approvals(state) if a.step == req.step]
            if state.is_terminal or not waiting:
                what = f"step {req.step!r}" if req.step is not None else "the run"
                refusal = f"nothing of {what} waits for an approval"
            else:
                request = waiting[0].request
                ctx.emit(
                    HumanApprovalGiven(
                        request=request,
                        approved=req.action == "approve",
                        by=req.by,
                        reason=req.reason,
                        step=req.step,
                    )
                )
                on_approval(ctx, request)
        case "skip" | "change_agent" | "change_validator" | "decompose":
            refusal = on_step_decision(ctx, msg)
    if refusal:
        text = f"control request {msg.request_id} ({req.action}) refused: {refusal}"
        ctx.emit(NoteWritten(author=SUPERVISOR, text=clip(text)))
