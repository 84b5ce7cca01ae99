"""Budgets: what a run or an agent may still start, and which budgets just ran out.

A budget (``Budget``) limits tokens, cost and wall time (read from reported
usage), attempts (counted when they are assigned) and retries (counted when
they are scheduled). The run has one; each agent may have its own; each
step may have its own on tokens, cost and wall time, over all the step's
attempts, reviews and verifications.

The rules, which together bound every overrun by the work in flight:

* Nothing starts past a budget. Before work starts the policy asks
  ``run_may_start`` / ``agent_may_start``; a budget that is used up refuses,
  and the refusal is journaled (``budget_exhausted``, action ``refused``) once
  per resource and agent, never again.
* Usage that reaches a limit (``crossed``) makes the policy journal
  ``budget_exhausted`` (action ``cancelled``) and cancel the work that budget
  covers: everything in flight for the run's budget, that agent's work for an
  agent's.
* An agent that ran out of any budget takes no more work in the run; a step
  that ran out of its own is out of attempts (the settings' ``on_exhausted``
  action applies).
* Work lost to a kill or a restart of the runner (an attempt interrupted
  with ``work_lost``) is charged to no attempts or retries budget, the
  run's or an agent's: the attempt lost is not counted, nor the retry that
  gives its work out again. (The usage it reported was spent, and stays.)
"""

from __future__ import annotations

from typing import NamedTuple

from ..model._messages import BudgetExhausted
from ..model._state import ExhaustedBudget, RunState, StepState
from ..model._values import Budget, BudgetResource, Usage
from ._policy_context import PolicyContext
from ._step_index import index_of

USAGE_RESOURCES: tuple[BudgetResource, ...] = ("tokens", "cost", "wall")
"""The resources read from reported usage."""


class Overrun(NamedTuple):
    """A budget used up: ``used >= limit`` for ``resource``.

    Whose: an agent's (``agent``), a step's (``step``), or the run's (both ``None``).
    """

    resource: BudgetResource
    limit: float
    used: float
    agent: str | None
    step: str | None = None


def used_of(usage: Usage, resource: BudgetResource) -> float:
    """How much of a usage resource was used."""
    if resource == "tokens":
        return float(usage.tokens)
    if resource == "cost":
        return usage.cost_usd
    return usage.wall_s


def limit_of(budget: Budget, resource: BudgetResource) -> float | None:
    """A budget's limit on a resource, ``None`` when unlimited."""
    match resource:
        case "tokens":
            return None if budget.tokens is None else float(budget.tokens)
        case "cost":
            return budget.cost_usd
        case "wall":
            return budget.wall_s
        case "attempts":
            return None if budget.attempts is None else float(budget.attempts)
        case "retries":
            return None if budget.retries is None else float(budget.retries)


def usage_overruns(
    budget: Budget, usage: Usage, agent: str | None, step: str | None = None
) -> list[Overrun]:
    """The usage resources of a budget that are used up."""
    if budget.tokens is None and budget.cost_usd is None and budget.wall_s is None:
        return []  # no usage limit: most budgets, checked on every decision
    out = []
    for resource in USAGE_RESOURCES:
        limit = limit_of(budget, resource)
        used = used_of(usage, resource)
        if limit is not None and used >= limit:
            out.append(Overrun(resource, limit, used, agent, step))
    return out


def journaled(
    state: RunState, resource: BudgetResource, agent: str | None, step: str | None = None
) -> bool:
    """Whether that budget's exhaustion is already in the journal."""
    return ExhaustedBudget(resource=resource, agent=agent, step=step) in state.exhausted


def step_usage(step: StepState) -> Usage:
    """What a step consumed: the usage of all its attempts."""
    total = Usage()
    for attempt in step.attempts:
        total = total + attempt.usage
    return total


def step_budgets(state: RunState) -> list[tuple[StepState, Budget]]:
    """The steps at work (in progress or verifying) with a budget of their own, in plan order.

    Only they consume anything: a budget is looked at where work goes on,
    so that a large plan costs nothing here.
    """
    steps = state.steps
    index = index_of(steps)
    out = []
    at_work = index.of("in_progress", "verify_pending") & index.layout.budgeted
    for sid in index.ids(at_work):
        budget = steps[sid].spec.budget
        if budget is not None:
            out.append((steps[sid], budget))
    return out


def crossed(state: RunState) -> list[Overrun]:
    """Usage budgets (the run's, then each agent's) used up and not yet journaled."""
    out = [
        o
        for o in usage_overruns(state.budget, state.usage, None)
        if not journaled(state, o.resource, None)
    ]
    for agent in state.agents.values():
        overruns = usage_overruns(agent.spec.budget, agent.usage, agent.spec.id)
        if overruns:
            out.extend(o for o in overruns if not journaled(state, o.resource, agent.spec.id))
    for step, budget in step_budgets(state):
        sid = step.spec.id
        out.extend(
            o
            for o in usage_overruns(budget, step_usage(step), None, sid)
            if not journaled(state, o.resource, None, sid)
        )
    return out


def refuse(ctx: PolicyContext, overrun: Overrun, step: str | None = None) -> None:
    """Journal that work was refused for a budget, unless that is journaled already."""
    if journaled(ctx.state, overrun.resource, overrun.agent):
        return
    ctx.emit(
        BudgetExhausted(
            resource=overrun.resource,
            limit=overrun.limit,
            used=overrun.used,
            action="refused",
            agent=overrun.agent,
            step=step,
        )
    )


def run_overrun(state: RunState, *, attempt: bool) -> Overrun | None:
    """The run budget that forbids starting work (an attempt if ``attempt``), if any."""
    overruns = usage_overruns(state.budget, state.usage, None)
    if overruns:
        return overruns[0]
    limit = state.budget.attempts
    if attempt and limit is not None:
        used = state.attempts - lost_attempts(state, None)
        if used >= limit:
            return Overrun("attempts", float(limit), float(used), None)
    return None


def lost_attempts(state: RunState, agent: str | None) -> int:
    """Attempts (of one agent, or of all when ``agent`` is None) whose work was lost."""
    steps = state.steps
    index = index_of(steps)
    return sum(
        1
        for sid in index.ids(index.lost)
        for a in steps[sid].attempts
        if a.lost and (agent is None or a.agent == agent)
    )


def charged_retries(state: RunState) -> int:
    """The run's retries that count against its budget: those of lost work do not.

    A lost attempt was retried when a later attempt of its step exists, or
    when it is its step's last and the step waits for that retry (pending).
    """
    free = 0
    index = index_of(state.steps)
    for sid in index.ids(index.lost):  # the others have no lost attempt
        step = state.steps[sid]
        last = len(step.attempts)
        for i, a in enumerate(step.attempts, start=1):
            if a.lost and (i < last or step.status == "pending"):
                free += 1
    return max(0, state.retries - free)


def retry_overrun(state: RunState) -> Overrun | None:
    """The run's retries budget, if it forbids scheduling one more retry."""
    limit = state.budget.retries
    used = charged_retries(state)
    if limit is not None and used >= limit:
        return Overrun("retries", float(limit), float(used), None)
    return None


def agent_retries(state: RunState, agent: str) -> int:
    """Attempts assigned to an agent that were retries (attempt number above 1).

    An attempt that gives out again the work of a lost one is no retry.
    """
    count = 0
    index = index_of(state.steps)
    for sid in index.ids(index.retried):  # the others have attempt 1 alone
        step = state.steps[sid]
        before = None
        for a in step.attempts:
            if a.agent == agent and a.number > 1 and not (before is not None and before.lost):
                count += 1
            before = a
    return count


def _redoes_lost_work(state: RunState, step: str | None) -> bool:
    """Whether the step's next attempt gives out again the work of a lost one."""
    found = None if step is None else state.steps.get(step)
    return found is not None and bool(found.attempts) and found.attempts[-1].lost


def agent_may_start(
    ctx: PolicyContext, agent: str, *, attempt: int | None, step: str | None = None
) -> bool:
    """Whether an agent's budget lets it start work (attempt number ``attempt``).

    ``attempt`` is ``None`` for a review or a verification, which count only
    against usage. A refusal is journaled (once), which puts the agent out.
    """
    state = ctx.state
    found = state.agents.get(agent)
    if found is None or found.budget_exhausted:
        return False
    budget = found.spec.budget
    overruns = usage_overruns(budget, found.usage, agent)
    if attempt is not None:
        if budget.attempts is not None:
            made = found.attempts - lost_attempts(state, agent)
            if made >= budget.attempts:
                overruns.append(Overrun("attempts", budget.attempts, made, agent))
        if attempt > 1 and budget.retries is not None and not _redoes_lost_work(state, step):
            retries = agent_retries(state, agent)
            if retries >= budget.retries:
                overruns.append(Overrun("retries", budget.retries, retries, agent))
    if overruns:
        refuse(ctx, overruns[0], step)
        return False
    return True
