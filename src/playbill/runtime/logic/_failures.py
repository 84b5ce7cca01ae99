"""What happens after an attempt fails or is interrupted, and policy decisions.

The rules (``after_failure``), in order:

1. A ``policy`` failure is never retried: the step is out of attempts.
2. A step whose reviews asked for changes (or rejected it)
   ``max_review_rounds`` times is out of attempts.
3. A step that made its ``max_attempts`` is out of attempts (attempts whose
   work was lost to a restart, ``work_lost``, do not count).
4. Otherwise it is retried: ``step_retried`` with the failure fed back. An
   ``agent`` or ``budget`` failure, and an agent that stalled or ran out of
   time (``transient``/``stalled``, ``transient``/``timeout``), moves the
   step to another agent when there is one
   (``policy_decision_applied(change_agent)``) and retries at once; any
   other retry waits an exponential backoff, journaled as a timer. The
   run's ``retries`` budget is checked first: when it is used up, the run
   fails (budgets are never exceeded, and a step that cannot be retried
   cannot complete).

A step out of attempts gets the settings' ``on_exhausted`` action, journaled
as ``policy_decision_applied``: ``abort`` fails the run, ``escalate`` asks a
human (approve: one more attempt; reject: the run fails), ``skip`` skips it.

Decisions journaled by someone else (a person, a tool) are carried out by
``apply_decision``: ``retry``, ``change_agent`` and ``change_validator`` retry
a failed, interrupted or blocked step at once (the reducer already moved the
agent or swapped the validator); ``skip`` skips it; ``abort`` fails the run;
``escalate`` asks a human; ``decompose`` replaces the step by the new steps:
they join the plan after it, its dependents wait for them too, and it is
skipped.
"""

from __future__ import annotations

from msgspec.structs import replace

from ..model._messages import (
    HumanApprovalRequested,
    PlanAttached,
    PolicyDecisionApplied,
    StepBlocked,
    StepFailed,
    StepRetried,
    StepSkipped,
    TimerSet,
)
from ..model._state import WORK_LOST, StepState
from ..model._values import Blocker, Failure, Plan, StepSpec
from ._budgets import refuse, retry_overrun
from ._policy_context import (
    PolicyContext,
    backoff_s,
    backoff_timer,
    clip,
    escalation_request,
    max_attempts,
    replan_request,
    seconds_us,
)
from ._scheduling import DONE, fallback_agent
from ._work import STALLED, cancel_step_work, fail_run

RETRY_ON_ANOTHER_AGENT = frozenset({"agent", "budget"})
"""Failure classes whose retry prefers another agent."""

MOVE_ON_TRANSIENT = frozenset({STALLED, "timeout"})
"""Kinds of ``transient`` failure whose retry prefers another agent: the agent
hung or ran out of time, and would likely do so again."""


def prefers_another_agent(failure: Failure) -> bool:
    """Whether a failure's retry goes to another agent first (when one can take it)."""
    return failure.failure_class in RETRY_ON_ANOTHER_AGENT or (
        failure.failure_class == "transient" and failure.kind in MOVE_ON_TRANSIENT
    )


REVIEW_FAILURES = frozenset({"changes_requested", "rejected"})
"""Review outcomes that count against ``max_review_rounds``."""

NEEDS_DECISION = frozenset({"failed", "interrupted"})
"""Step statuses that wait for ``after_failure`` (unless a human was asked)."""


def fail_attempt(ctx: PolicyContext, step: str, attempt: int, failure: Failure) -> None:
    """Journal that an attempt failed, then decide what comes next."""
    ctx.emit(StepFailed(step=step, attempt=attempt, failure=failure))
    after_failure(ctx, step, failure)


def block(
    ctx: PolicyContext,
    step: str,
    attempt: int,
    failure: Failure,
    blockers: tuple[Blocker, ...],
) -> None:
    """The attempt failed and the step needs a human (a replan): block and ask."""
    ctx.emit(StepFailed(step=step, attempt=attempt, failure=failure))
    ctx.emit(StepBlocked(step=step, reason=clip(failure.detail or failure.kind), blockers=blockers))
    request_replan(ctx, step)


def request_replan(ctx: PolicyContext, step: str) -> None:
    """Ask a human to unblock a blocked step (once per attempt)."""
    found = ctx.state.steps.get(step)
    if found is None:
        return
    request = replan_request(step, len(found.attempts))
    if request in ctx.state.approvals:
        return
    prompt = f"Step {step!r} is blocked: {found.blocked_reason or 'no reason given'}. "
    prompt += "Approve to retry it (after changing the plan if needed); reject to fail the run."
    ctx.emit(HumanApprovalRequested(request=request, prompt=clip(prompt), step=step))


def review_failures(step: StepState) -> int:
    """Attempts of the step whose review asked for changes or rejected it."""
    return sum(1 for a in step.attempts if a.review in REVIEW_FAILURES)


def after_failure(ctx: PolicyContext, step: str, failure: Failure) -> None:
    """Retry a failed or interrupted step, or apply the out-of-attempts action."""
    found = ctx.state.steps.get(step)
    if found is None or found.status not in NEEDS_DECISION or ctx.state.is_terminal:
        return
    settings = ctx.settings
    attempts = found.attempts_made
    limit = max_attempts(settings, found.spec.max_attempts)
    if failure.failure_class == "policy":
        exhaust(ctx, found, failure, "policy failures are never retried")
    elif review_failures(found) >= settings.max_review_rounds:
        exhaust(ctx, found, failure, f"{review_failures(found)} review rounds asked for changes")
    elif attempts >= limit:
        exhaust(ctx, found, failure, f"{attempts} of {limit} attempts made")
    else:
        retry(ctx, step, failure, another_agent=prefers_another_agent(failure))


def retry(
    ctx: PolicyContext,
    step: str,
    failure: Failure,
    *,
    another_agent: bool = False,
    at_once: bool = False,
) -> None:
    """Schedule the next attempt of a step, with the failure fed back."""
    found = ctx.state.steps.get(step)
    if found is None or ctx.state.is_terminal:
        return
    # lost work given out again is no retry the budget pays for
    overrun = None if failure.kind == WORK_LOST else retry_overrun(ctx.state)
    if overrun is not None:
        refuse(ctx, overrun, step)
        fail_run(
            ctx,
            f"step {step!r} needs a retry and the run's retries budget is used up "
            f"({overrun.used:g} of {overrun.limit:g})",
            "budget",
        )
        return
    moved = False
    last = found.attempts[-1].agent if found.attempts else None
    if another_agent and last is not None:
        other = fallback_agent(ctx.state, found, last)
        if other is not None:
            moved = True
            if other != found.agent_override:
                reason = f"{failure.failure_class} failure of {last}: {failure.kind}"
                ctx.emit(
                    PolicyDecisionApplied(
                        action="change_agent", reason=clip(reason), step=step, new_agent=other
                    )
                )
    wait = 0.0 if moved or at_once else backoff_s(ctx.settings, found.retries)
    attempt = len(found.attempts) + 1
    ctx.emit(
        StepRetried(
            step=step,
            next_attempt=attempt,
            failure_class=failure.failure_class,
            backoff_s=wait,
            feedback=failure,
        )
    )
    if wait > 0:
        ctx.emit(
            TimerSet(
                timer=backoff_timer(step, attempt),
                due_us=ctx.now_us + seconds_us(wait),
                purpose="backoff",
                step=step,
                attempt=attempt,
            ),
            to="supervisor",
        )


def exhaust(ctx: PolicyContext, step: StepState, failure: Failure, why: str) -> None:
    """A step is out of attempts: apply its own action, else the settings'.

    A step that says ``decompose`` is replaced by its ``decompose_into``
    steps (a person is asked when it has none).
    """
    sid = step.spec.id
    action = step.spec.on_exhausted or ctx.settings.on_exhausted
    reason = clip(
        f"step {sid!r}: {why}; last failure: {failure.failure_class}/{failure.kind}"
        + (f": {failure.detail}" if failure.detail else "")
    )
    if action == "decompose":
        if step.spec.decompose_into:  # the plan's fragment replaces it
            decision = PolicyDecisionApplied(
                action="decompose", reason=reason, step=sid, new_steps=step.spec.decompose_into
            )
            ctx.emit(decision)
            _decompose(ctx, ctx.state.steps[sid], decision)
            return
        action = "escalate"  # nothing to decompose it into: a person decides
    ctx.emit(PolicyDecisionApplied(action=action, reason=reason, step=sid))
    if action == "abort":
        fail_run(ctx, reason, failure.failure_class)
    elif action == "skip":
        ctx.emit(StepSkipped(step=sid, reason=reason))
    else:
        request = escalation_request(sid, len(step.attempts))
        if request not in ctx.state.approvals:
            prompt = f"{reason}. Approve to grant one more attempt; reject to fail the run."
            ctx.emit(HumanApprovalRequested(request=request, prompt=clip(prompt), step=sid))


def feedback_of(step: StepState) -> Failure:
    """The failure to feed into the next attempt of a step that failed or stopped."""
    if step.status == "failed" and step.last_failure is not None:
        return step.last_failure
    if step.status == "interrupted":
        return Failure(failure_class="transient", kind="interrupted")
    return step.last_failure or Failure(failure_class="policy", kind="blocked")


def apply_decision(ctx: PolicyContext, decision: PolicyDecisionApplied) -> None:
    """Carry out a policy decision journaled by someone else (see the module)."""
    state = ctx.state
    step = state.steps.get(decision.step) if decision.step is not None else None
    if decision.action == "abort":
        fail_run(ctx, clip(f"aborted by decision: {decision.reason}"), "policy")
        return
    if step is None or step.status in DONE:
        return
    sid = step.spec.id
    stuck = step.status in ("failed", "interrupted", "blocked")
    match decision.action:
        case "retry" | "change_agent" | "change_validator":
            if stuck:
                retry(ctx, sid, feedback_of(step), at_once=True)
        case "skip":
            cancel_step_work(ctx, sid, "skipped by decision")
            ctx.emit(StepSkipped(step=sid, reason=clip(decision.reason)))
        case "escalate":
            if step.status == "blocked":
                request_replan(ctx, sid)
            elif stuck:
                request = escalation_request(sid, len(step.attempts))
                if request not in state.approvals:
                    prompt = (
                        f"{decision.reason}. Approve to retry the step; reject to fail the run."
                    )
                    ctx.emit(HumanApprovalRequested(request=request, prompt=clip(prompt), step=sid))
        case "decompose":
            _decompose(ctx, step, decision)


def _decompose(ctx: PolicyContext, step: StepState, decision: PolicyDecisionApplied) -> None:
    plan = ctx.state.plan or Plan()
    planned = {s.id for s in plan.steps}
    sid = step.spec.id
    new_ids = tuple(
        dict.fromkeys(s.id for s in decision.new_steps if s.id not in planned and s.id != sid)
    )
    if not new_ids:
        return
    cancel_step_work(ctx, sid, "decomposed")
    specs: list[StepSpec] = []
    for current in ctx.state.steps.values():
        spec = current.spec
        if spec.id in new_ids:
            continue  # placed right after the step they replace
        if sid in spec.depends_on:
            extra = tuple(i for i in new_ids if i not in spec.depends_on)
            spec = replace(spec, depends_on=(*spec.depends_on, *extra))
        specs.append(spec)
        if spec.id == sid:
            specs.extend(ctx.state.steps[i].spec for i in new_ids if i in ctx.state.steps)
    ctx.emit(PlanAttached(plan=replace(plan, steps=tuple(specs))))
    ctx.emit(StepSkipped(step=sid, reason=clip(f"decomposed into {', '.join(new_ids)}")))
