"""Scheduling over the step DAG: which steps are ready, whose scope is free, which agent.

* A step is ready when it is pending, every step it depends on is completed
  or skipped, and no backoff timer of its is pending.
* A step with a scope holds it from assignment until it ends (in progress,
  or verify pending): a ready step whose scope overlaps a held one waits
  (see ``_scopes`` for the overlap check). Read-only steps (empty scope) run
  beside anything.
* Agents are taken in a fixed order: the step's ``agent_override`` (set by a
  ``change_agent`` decision) first, then plan order. An agent can take a step
  when it has the step's role and, for a step with a scope, edits files. It is
  free when idle and not out of budget. An agent out of budget is out for
  good; a crashed or unresponsive one may come back (``agent_restarted``).
* A step that needs checking by a verifier is not given to the only agent
  that could verify it, when another agent could take it.
"""

from __future__ import annotations

from collections.abc import Collection

from ..model._state import AgentState, RunState, StepState, StepStatus
from ..model._values import HumanApproval, Role
from ._budgets import agent_may_start
from ._policy_context import PolicyContext
from ._scopes import scopes_overlap
from ._step_index import index_of

DONE: frozenset[StepStatus] = frozenset({"completed", "skipped"})
"""Step statuses that let dependents go on."""

HOLDS_SCOPE: frozenset[StepStatus] = frozenset({"in_progress", "verify_pending"})
"""Step statuses during which a step's scope is taken."""


def all_done(state: RunState) -> bool:
    """Whether every step is completed or skipped."""
    return index_of(state.steps).all_done


def unknown_dependencies(state: RunState, step: StepState) -> tuple[str, ...]:
    """The steps a step depends on that the plan does not have."""
    return tuple(d for d in step.spec.depends_on if d not in state.steps)


def dependencies_done(state: RunState, step: StepState) -> bool:
    """Whether every step this one depends on is completed or skipped."""
    for dep in step.spec.depends_on:
        found = state.steps.get(dep)
        if found is None or found.status not in DONE:
            return False
    return True


def backing_off(state: RunState, step: str) -> bool:
    """Whether the step waits for a backoff timer."""
    return any(t.purpose == "backoff" and t.step == step for t in state.timers.values())


def is_ready(state: RunState, step: StepState) -> bool:
    """Whether a step may start now, scopes and agents aside."""
    return (
        step.status == "pending"
        and dependencies_done(state, step)
        and not backing_off(state, step.spec.id)
    )


def scope_free(state: RunState, step: StepState) -> bool:
    """Whether no running step's scope overlaps this step's."""
    if not step.spec.scope:
        return True
    steps = state.steps
    index = index_of(steps)
    return not any(
        other.spec.id != step.spec.id and scopes_overlap(step.spec.scope, other.spec.scope)
        for other in map(steps.__getitem__, index.ids(index.of(*HOLDS_SCOPE)))
    )


def can_play(agent: AgentState, role: Role, *, edits: bool) -> bool:
    """Whether an agent can do work of a role (editing files if ``edits``)."""
    return role in agent.spec.roles and (agent.spec.edits_files or not edits)


def is_out(agent: AgentState) -> bool:
    """Whether an agent takes no more work in the run (it ran out of budget)."""
    return agent.budget_exhausted


def is_free(agent: AgentState) -> bool:
    """Whether an agent could take work now (its budget aside)."""
    return agent.status == "idle" and not agent.budget_exhausted


def capable(
    state: RunState,
    role: Role,
    *,
    edits: bool,
    prefer: str | None = None,
    exclude: Collection[str] = (),
) -> list[AgentState]:
    """Agents that can play a role, ``prefer`` first, then in plan order."""
    ordered = list(state.agents.values())
    if prefer is not None and prefer in state.agents:
        ordered.sort(key=lambda a: a.spec.id != prefer)  # stable: plan order otherwise
    return [a for a in ordered if a.spec.id not in exclude and can_play(a, role, edits=edits)]


def step_candidates(
    state: RunState, step: StepState, exclude: str | None = None
) -> list[AgentState]:
    """Agents that can take a step, in the order they are asked."""
    return capable(
        state,
        step.spec.role,
        edits=bool(step.spec.scope),
        prefer=step.agent_override,
        exclude=() if exclude is None else (exclude,),
    )


def needs_verifier(step: StepState) -> bool:
    """Whether a verifier other than the step's agent must check it."""
    return step.spec.role != "verifier" and any(
        not isinstance(v, HumanApproval) for v in step.spec.validators
    )


def pick_agent(ctx: PolicyContext, step: StepState, *, attempt: int) -> str | None:
    """The first free agent that can take the step and whose budget allows it.

    Agents whose budget refuses are journaled and skipped. When the step needs
    a verifier, agents that are the only possible verifier are passed over as
    long as another agent may take the step.
    """
    candidates = [a for a in step_candidates(ctx.state, step) if not is_out(a)]
    if needs_verifier(step):
        checkable = [
            a for a in candidates if helpers_ever(ctx.state, "verifier", exclude=(a.spec.id,))
        ]
        candidates = checkable or candidates
    for agent in candidates:
        if is_free(agent) and agent_may_start(
            ctx, agent.spec.id, attempt=attempt, step=step.spec.id
        ):
            return agent.spec.id
    return None


def pick_helper(ctx: PolicyContext, role: Role, step: str, exclude: Collection[str]) -> str | None:
    """The first free reviewer or verifier (not ``exclude``) whose budget allows it."""
    for agent in capable(ctx.state, role, edits=False, exclude=exclude):
        if is_free(agent) and agent_may_start(ctx, agent.spec.id, attempt=None, step=step):
            return agent.spec.id
    return None


def helpers_ever(state: RunState, role: Role, exclude: Collection[str]) -> list[AgentState]:
    """Reviewers or verifiers (not ``exclude``) that are, or may again be, able to work."""
    return [a for a in capable(state, role, edits=False, exclude=exclude) if not is_out(a)]


def fallback_agent(state: RunState, step: StepState, instead_of: str) -> str | None:
    """Another agent for a step whose agent failed it: a free one, else one that is busy."""
    others = [a for a in step_candidates(state, step, exclude=instead_of) if not is_out(a)]
    for wanted in ("idle", "busy"):
        for agent in others:
            if agent.status == wanted:
                return agent.spec.id
    return None
