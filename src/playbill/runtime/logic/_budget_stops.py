"""Stopping the work a budget covers, once it ran out.

Whatever found the budget used up — usage reported past it (``crossed``), or
a wall budget's deadline coming while work was in flight (``_wall``) — the
policy does the same: it journals ``budget_exhausted`` and stops the work the
budget covers. The run's budget fails the run; an agent's cancels that
agent's work, whose steps are retried on other agents (``budget`` failures);
a step's cancels the step's work and puts the step out of attempts (the
settings' ``on_exhausted`` action: ask a person, skip, or abort).
"""

from __future__ import annotations

from ..model._messages import BudgetExhausted, StepFailed
from ..model._values import Failure
from ._budgets import Overrun
from ._failures import NEEDS_DECISION, after_failure, exhaust
from ._policy_context import PolicyContext, clip
from ._work import cancel, claimed_work, fail_run


def stop_for_budget(
    ctx: PolicyContext, overrun: Overrun, *, deadline_us: int | None = None
) -> None:
    """Journal a budget used up and stop the work it covers.

    Everything, and the run fails, for the run's budget; the agent's work,
    retried on another agent, for an agent's. ``deadline_us``: the instant a
    wall budget ran out while work was in flight (its deadline timer fired).
    """
    if overrun.step is not None:
        _stop_step(ctx, overrun, deadline_us)
        return
    covered = [
        w for w in claimed_work(ctx.state) if overrun.agent is None or w.agent == overrun.agent
    ]
    reason = ""
    if deadline_us is not None:
        whose = "the run's" if overrun.agent is None else f"{overrun.agent}'s"
        what = "the work in flight was" if overrun.agent is None else "its work was"
        reason = (
            f"{whose} wall time used up: {overrun.used:.1f} of {overrun.limit:g} s; "
            f"{what} cancelled at the deadline"
        )
    ctx.emit(
        BudgetExhausted(
            resource=overrun.resource,
            limit=overrun.limit,
            used=overrun.used,
            action="cancelled" if covered else "refused",
            agent=overrun.agent,
            step=covered[0].step if covered else None,
            deadline_us=deadline_us,
            reason=clip(reason),
        )
    )
    if overrun.agent is None:
        why = (
            f"the run's {overrun.resource} budget is used up "
            f"({overrun.used:g} of {overrun.limit:g})"
        )
        fail_run(ctx, why + (" at its deadline" if deadline_us is not None else ""), "budget")
        return
    for work in covered:
        cancel(ctx, work, f"{overrun.agent}'s {overrun.resource} budget is used up")
        if work.kind == "implement":
            failure = Failure(
                failure_class="budget",
                kind=f"{overrun.resource}_budget",
                detail=clip(
                    f"{overrun.agent} used {overrun.used:g} of {overrun.limit:g} {overrun.resource}"
                ),
            )
            after_failure(ctx, work.step, failure)


def _stop_step(ctx: PolicyContext, overrun: Overrun, deadline_us: int | None) -> None:
    """A step's own budget ran out: stop its work, and the step is out of attempts."""
    sid = overrun.step
    assert sid is not None
    covered = [w for w in claimed_work(ctx.state) if w.step == sid]
    spent = f"{overrun.used:g} of {overrun.limit:g}"
    if overrun.resource == "wall":
        spent = f"{overrun.used:.1f} of {overrun.limit:g} s"
    why = f"step {sid!r}'s {overrun.resource} budget is used up ({spent})"
    ctx.emit(
        BudgetExhausted(
            resource=overrun.resource,
            limit=overrun.limit,
            used=overrun.used,
            action="cancelled" if covered else "refused",
            step=sid,
            of_step=True,
            deadline_us=deadline_us,
            reason=clip(why + ("; its work was cancelled at the deadline" if deadline_us else "")),
        )
    )
    for work in covered:
        cancel(ctx, work, why)
    step = ctx.state.steps[sid]
    failure = Failure(failure_class="budget", kind=f"step_{overrun.resource}_budget", detail=why)
    if step.status in ("in_progress", "verify_pending") and step.attempts:
        # a review or a verification was cancelled: the attempt it was about fails
        ctx.emit(StepFailed(step=sid, attempt=step.attempts[-1].number, failure=failure))
        step = ctx.state.steps[sid]
    if step.status in NEEDS_DECISION:
        exhaust(ctx, step, failure, "its budget is used up")
