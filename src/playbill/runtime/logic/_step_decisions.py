"""A person's decisions about a step: skip, change its agent or validator, decompose it.

``playbill skip|change-agent|change-validator|decompose`` (and
``Run.request``) queue a ``ControlRequest`` whose action is one of
``STEP_DECISIONS``. The policy checks that it makes sense now (the run has
not ended, the step exists and is not done, the agent can play the step's
role, the new steps are new and depend on steps that exist), and refuses it
with a note otherwise. A decision that makes sense:

1. closes every pending approval request of the step it answers, with a
   ``human_approval_given`` naming the decision: the escalation or unblock of
   a step that is stuck (failed, interrupted, blocked), and, for ``skip`` and
   ``decompose`` (the step goes no further), its ``human_approval``
   validators too. Nothing is left pending for ever;
2. is journaled as ``policy_decision_applied`` (by whom, and why), which the
   reducer folds (the agent override, the new validator, the new steps);
3. is carried out as any journaled decision is (``apply_decision``): a stuck
   step is retried at once (``change_agent``, ``change_validator``),
   skipped, or replaced by the new steps.

A ``change_agent`` or ``change_validator`` about a step whose attempt is
still in flight does not stop that attempt: it holds from the step's next
attempt.
"""

from __future__ import annotations

from ..model._messages import ControlRequested, HumanApprovalGiven, PolicyDecisionApplied
from ..model._state import RunState, StepState
from ..model._values import ControlRequest, PolicyAction
from ._failures import apply_decision
from ._policy_context import PolicyContext, clip
from ._scheduling import DONE, can_play

STUCK = frozenset({"failed", "interrupted", "blocked"})
"""Step statuses in which a step waits for a decision."""


def refusal_of(state: RunState, req: ControlRequest) -> str:
    """Why a person's decision about a step cannot be carried out now ('' when it can)."""
    if state.is_terminal:
        return f"the run is already {state.status}"
    step = state.steps.get(req.step) if req.step is not None else None
    if step is None:
        return f"the run has no step {req.step!r}"
    if step.status in DONE:
        return f"step {step.spec.id!r} is already {step.status}"
    match req.action:
        case "change_agent":
            return _agent_refusal(state, step, req.agent)
        case "change_validator":
            return "" if req.validator is not None else "no validator given"
        case "decompose":
            return _steps_refusal(state, step, req)
        case _:
            return ""


def _agent_refusal(state: RunState, step: StepState, agent: str | None) -> str:
    found = state.agents.get(agent) if agent is not None else None
    if found is None:
        return f"the run has no agent {agent!r}"
    if not can_play(found, step.spec.role, edits=bool(step.spec.scope)):
        edits = " and edit files" if step.spec.scope else ""
        return f"agent {agent!r} cannot play the role {step.spec.role!r}{edits}"
    if found.budget_exhausted:
        return f"agent {agent!r} is out of budget"
    return ""


def _steps_refusal(state: RunState, step: StepState, req: ControlRequest) -> str:
    if not req.new_steps:
        return "no new steps given"
    new_ids = [s.id for s in req.new_steps]
    taken = [i for i in new_ids if i in state.steps]
    if taken:
        return f"the run already has a step {taken[0]!r}"
    if len(set(new_ids)) != len(new_ids):
        return "the new steps repeat an id"
    known = set(state.steps) | set(new_ids)
    for spec in req.new_steps:
        for dep in spec.depends_on:
            if dep not in known or dep == step.spec.id:
                return f"new step {spec.id!r} depends on {dep!r}, not a step it can wait for"
    return ""


def on_step_decision(ctx: PolicyContext, msg: ControlRequested) -> str:
    """Carry out a person's decision about a step (see the module); why not, if it cannot be."""
    req = msg.request
    action: PolicyAction
    match req.action:
        case "skip" | "change_agent" | "change_validator" | "decompose":
            action = req.action
        case _:
            return f"{req.action} is not a decision about a step"
    refusal = refusal_of(ctx.state, req)
    if refusal or req.step is None:
        return refusal
    step = ctx.state.steps[req.step]
    closes_all = req.action in ("skip", "decompose")
    if closes_all or step.status in STUCK:
        for approval in ctx.state.pending_approvals():
            if approval.step != req.step:
                continue
            answer = f"answered by the decision {req.action}" + (
                f": {req.reason}" if req.reason else ""
            )
            ctx.emit(
                HumanApprovalGiven(
                    request=approval.request,
                    approved=req.action != "skip",
                    by=req.by,
                    reason=clip(answer),
                    step=req.step,
                )
            )
    who = req.by or "a person"
    reason = f"{req.action} by {who}" + (f": {req.reason}" if req.reason else "")
    decision = PolicyDecisionApplied(
        action=action,
        reason=clip(reason),
        step=req.step,
        new_agent=req.agent if req.action == "change_agent" else None,
        new_validator=req.validator if req.action == "change_validator" else None,
        new_steps=req.new_steps if req.action == "decompose" else (),
    )
    ctx.emit(decision)
    apply_decision(ctx, decision)
    return ""
