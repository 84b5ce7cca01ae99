"""The end of a run: completion, and failing closed when nothing can go on.

* The run completes when every step is completed or skipped and every
  criterion that has a validator is met. A criterion whose validator is also
  a validator of a completed step is met by that step (with its proof); any
  other is put to a person (``criterion:...``).
* The run fails, naming what is wrong, when a ready step can never start:
  a dependency the plan does not have, or no agent of the plan that can play
  its role (and edit files, for a step with a scope) and is not out of budget.
* The run fails when nothing can move any more: no work in flight, no person
  asked, no backoff pending, no crashed or unresponsive agent waiting to be
  restarted (the supervision tree restarts crashed actors; a role actor whose
  heartbeat was missed drops its work and journals ``agent_restarted``), and
  steps still not done. The reason names each step left and what it waits
  for.

A run waiting on a person is not over; neither is a paused one.
"""

from __future__ import annotations

from ..model._messages import CriterionMet, HumanApprovalRequested, RunCompleted
from ..model._state import AgentState, RunState
from ..model._values import Evidence, Validator
from ._humans import live_approvals, unmet_criteria
from ._policy_context import PolicyContext, clip, criterion_request
from ._scheduling import (
    DONE,
    can_play,
    dependencies_done,
    is_out,
    is_ready,
    scope_free,
    step_candidates,
    unknown_dependencies,
)
from ._step_index import index_of
from ._work import claimed_work, fail_run, held


def check_end(ctx: PolicyContext) -> None:
    """Complete the run, or fail it closed, when that is due."""
    state = ctx.state
    if state.plan is None:
        return
    index = index_of(state.steps)
    if index.all_done:
        _meet_criteria(ctx)
        if not ctx.state.is_terminal and not unmet_criteria(ctx.state):
            ctx.emit(RunCompleted(summary=_summary(ctx.state)))
        return
    if state.status != "running":
        return
    for sid in index.ids(index.of("pending") & index.layout.unknown):
        unknown = unknown_dependencies(state, state.steps[sid])
        reason = f"step {sid!r} depends on {', '.join(unknown)}, not in the plan"
        fail_run(ctx, reason, "policy")
        return
    # only a step whose every able agent is out of budget is unassignable
    agents = state.agents.values()
    dead = [
        (role, edits)
        for role, edits in (index.layout.needs if index.ready else ())
        if not any(can_play(a, role, edits=edits) and not is_out(a) for a in agents)
    ]
    for sid in index.ids(index.ready & index.needing(dead)):
        step = state.steps[sid]
        if is_ready(state, step) and ctx.strategy_for(sid) is not None:
            reason = _unassignable(state, sid)
            if reason:
                fail_run(ctx, reason, "policy")
                return
    if not can_progress(state):
        fail_run(ctx, _stall_reason(state), None)


def can_progress(state: RunState) -> bool:
    """Whether anything may still move the run without a new plan."""
    if any(held(state, w) for w in claimed_work(state)) or live_approvals(state):
        return True
    if any(
        w.merge_requested_seq is not None and w.merge_status == "pending"
        for w in state.workspaces.values()
    ):
        return True  # the integrator answers
    for timer in state.timers.values():
        step = state.steps.get(timer.step) if timer.step is not None else None
        if timer.purpose == "backoff" and step is not None and step.status == "pending":
            return True
    # A crashed agent is restarted by the supervision tree, an unresponsive
    # one by its own actor, which drops the lost work, and a restarting one
    # by the resumed run; each journals agent_restarted: it may still move
    # the run.
    return any(
        agent.status in ("failed", "unresponsive", "restarting") for agent in state.agents.values()
    )


def _unassignable(state: RunState, sid: str) -> str:
    step = state.steps[sid]
    candidates = step_candidates(state, step)
    if any(not is_out(a) for a in candidates):
        return ""
    need = _need(state, sid)
    if not candidates:
        return f"step {sid!r} needs {need} and no agent of the plan is one"
    outs = ", ".join(a.spec.id for a in candidates)
    return clip(f"step {sid!r} needs {need} and every such agent is out of budget: {outs}")


def _need(state: RunState, sid: str) -> str:
    step = state.steps[sid]
    role = step.spec.role
    need = f"{'an' if role[0] in 'aeiou' else 'a'} {role}"
    return need + " that edits files" if step.spec.scope else need


def _stall_reason(state: RunState) -> str:
    parts = []
    for step in state.steps.values():
        if step.status in DONE:
            continue
        text = f"{step.spec.id} ({step.status}"
        if step.status == "pending" and not dependencies_done(state, step):
            waits = [
                d
                for d in step.spec.depends_on
                if d in state.steps and state.steps[d].status not in DONE
            ]
            text += f", waits on {', '.join(waits)}"
        elif step.status == "pending" and not scope_free(state, step):
            text += ", its scope is held by another step"
        elif step.status == "pending":
            agents = step_candidates(state, step)
            text += f", needs {_need(state, step.spec.id)}: " + (
                ", ".join(f"{a.spec.id} is {_agent_status(a)}" for a in agents) or "none"
            )
        elif step.status == "verify_pending":
            text += ", waits for a reviewer or a verifier"
        parts.append(text + ")")
    return clip(f"nothing can move the run on: {'; '.join(parts[:6])}")


def _agent_status(agent: AgentState) -> str:
    return "out of budget" if agent.budget_exhausted else agent.status


def _meet_criteria(ctx: PolicyContext) -> None:
    plan = ctx.state.plan
    if plan is None:
        return
    by_id = {c.id: c for c in plan.criteria}
    for cid in unmet_criteria(ctx.state):
        criterion = by_id[cid]
        assert criterion.validator is not None  # unmet_criteria keeps those with one
        proof = _proof_from_steps(ctx.state, criterion.validator)
        if proof is not None:
            ctx.emit(CriterionMet(criterion=cid, evidence=proof))
            continue
        request = criterion_request(cid)
        if request not in ctx.state.approvals:
            kind = criterion.validator.__struct_config__.tag
            prompt = (
                f"Is the run's criterion {cid!r} met? {criterion.description} "
                f"(no step checked its {kind} validator)"
            )
            ctx.emit(HumanApprovalRequested(request=request, prompt=clip(prompt)))


def _proof_from_steps(state: RunState, validator: Validator) -> tuple[Evidence, ...] | None:
    """The proof of a completed step that had this very validator, if one did."""
    for step in state.steps.values():
        if step.status != "completed" or validator not in step.spec.validators:
            continue
        number = step.completed_attempt
        attempt = step.attempt(number) if number is not None else None
        if attempt is None:
            continue
        evidence = tuple(e for r in attempt.validations if r.passed for e in r.evidence)
        note = Evidence(
            kind="note",
            ref=f"{step.spec.id}#{attempt.number}",
            detail=f"step {step.spec.id} passed this validator",
        )
        return evidence or (note,)
    return None


def _summary(state: RunState) -> str:
    done = sum(1 for s in state.steps.values() if s.status == "completed")
    skipped = sum(1 for s in state.steps.values() if s.status == "skipped")
    text = f"{done} steps completed"
    if skipped:
        text += f", {skipped} skipped"
    return f"{text}; {state.attempts} attempts, {state.retries} retries"
