"""A run's state as a JSON document: what ``status``, ``replay`` and ``sim`` print with ``--json``.

The documents are msgspec structs, so their keys come out in declaration
order, every key every time (``None`` as ``null``): the shapes are stable,
and documented in docs/cli.md. Text in them is as the journal holds it (JSON
escapes control characters itself); amounts of money are rounded once, to
the micro-dollar, like every figure the CLI shows.
"""

from __future__ import annotations

from typing import final

import msgspec

from playbill.runtime import (
    Evidence,
    Failure,
    RunState,
    StepState,
    shown_status,
    state_digest,
    waiting_for,
)

from ._format import format_time, round_money
from ._render import ANOMALIES_SHOWN, in_plan_order, reports_by_agent


@final
class FailureDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A failure: its class (decides retries), its kind, and the full detail."""

    failure_class: str
    kind: str
    detail: str


@final
class EvidenceDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of proof: its kind (``command``, ``file``, ``test``...), where, and what it says."""

    kind: str
    ref: str
    detail: str


@final
class Limit(msgspec.Struct, frozen=True, kw_only=True):
    """A budget resource: what was used, and the limit (``None``: unlimited)."""

    used: float
    limit: float | None


@final
class BudgetDoc(msgspec.Struct, frozen=True, kw_only=True):
    """The run's budget, resource by resource."""

    tokens: Limit
    cost_usd: Limit
    wall_s: Limit
    attempts: Limit
    retries: Limit


@final
class StepRow(msgspec.Struct, frozen=True, kw_only=True):
    """One step as ``status`` lists it, with its last failure in full."""

    id: str
    role: str
    status: str
    owner: str | None
    attempts: int
    max_attempts: int | None
    accepted_attempt: int | None
    blocked_reason: str | None
    last_failure: FailureDoc | None


@final
class AgentRow(msgspec.Struct, frozen=True, kw_only=True):
    """One agent: what it is doing, what it used, how often it worked and restarted."""

    id: str
    roles: list[str]
    status: str
    step: str | None
    attempt: int | None
    tokens: int
    cost_usd: float
    wall_s: float
    attempts: int
    restarts: int
    budget_exhausted: bool


@final
class CriterionRow(msgspec.Struct, frozen=True, kw_only=True):
    """An acceptance criterion: met or not, and at which seq."""

    id: str
    met: bool
    met_seq: int | None
    description: str


@final
class ApprovalRow(msgspec.Struct, frozen=True, kw_only=True):
    """A pending approval request."""

    request: str
    step: str | None
    prompt: str


@final
class TimerRow(msgspec.Struct, frozen=True, kw_only=True):
    """A pending timer: what it is for and when it is due."""

    timer: str
    purpose: str
    due_us: int
    step: str | None
    attempt: int | None
    agent: str | None


@final
class StatusDoc(msgspec.Struct, frozen=True, kw_only=True):
    """A run's state, as ``status --json`` prints it (the keys, in this order, are stable).

    ``status`` is as ``runs`` shows it (``waiting`` for a running run that
    only a person can move, then ``waiting_for`` says for what);
    ``anomalies`` counts them all, ``recent_anomalies`` lists the last few.
    """

    run_id: str
    status: str
    reason: str
    waiting_for: list[str]
    goal: str
    summary: str
    strategy: str
    seed: int | None
    labels: dict[str, str]
    created: str
    created_us: int
    updated_us: int
    last_seq: int
    budget: BudgetDoc
    steps: list[StepRow]
    agents: list[AgentRow]
    criteria: list[CriterionRow]
    pending_approvals: list[ApprovalRow]
    timers: list[TimerRow]
    anomalies: int
    recent_anomalies: list[str]
    state_digest: str


def failure_doc(failure: Failure | None) -> FailureDoc | None:
    """A failure as a document (``None`` stays ``None``)."""
    if failure is None:
        return None
    return FailureDoc(failure_class=failure.failure_class, kind=failure.kind, detail=failure.detail)


def evidence_docs(evidence: tuple[Evidence, ...]) -> list[EvidenceDoc]:
    """Pieces of proof as documents."""
    return [EvidenceDoc(kind=e.kind, ref=e.ref, detail=e.detail) for e in evidence]


def step_row(step: StepState) -> StepRow:
    """A step as ``status --json`` lists it."""
    return StepRow(
        id=step.spec.id,
        role=step.spec.role,
        status=step.status,
        owner=step.owner,
        attempts=len(step.attempts),
        max_attempts=step.spec.max_attempts,
        accepted_attempt=step.completed_attempt,
        blocked_reason=step.blocked_reason,
        last_failure=failure_doc(step.last_failure),
    )


def status_doc(state: RunState) -> StatusDoc:
    """The document of a run's state."""
    budget, usage = state.budget, state.usage
    reports = reports_by_agent(state)
    return StatusDoc(
        run_id=state.run_id,
        status=shown_status(state),
        reason=state.reason,
        waiting_for=list(waiting_for(state)),
        goal=state.goal,
        summary=state.summary,
        strategy=state.strategy,
        seed=state.seed,
        labels=dict(sorted(state.labels.items())),
        created=format_time(state.created_us, precise=True),
        created_us=state.created_us,
        updated_us=state.updated_us,
        last_seq=state.last_seq,
        budget=BudgetDoc(
            tokens=Limit(used=usage.tokens, limit=budget.tokens),
            cost_usd=Limit(
                used=round_money(usage.cost_usd),
                limit=None if budget.cost_usd is None else round_money(budget.cost_usd),
            ),
            wall_s=Limit(used=usage.wall_s, limit=budget.wall_s),
            attempts=Limit(used=state.attempts, limit=budget.attempts),
            retries=Limit(used=state.retries, limit=budget.retries),
        ),
        steps=[step_row(step) for step in in_plan_order(state, "steps")],
        agents=[
            AgentRow(
                id=agent.spec.id,
                roles=list(agent.spec.roles),
                status=agent.status,
                step=agent.step,
                attempt=agent.attempt,
                tokens=agent.usage.tokens,
                cost_usd=round_money(agent.usage.cost_usd),
                wall_s=agent.usage.wall_s,
                attempts=agent.attempts + reports.get(agent.spec.id, 0),
                restarts=agent.restarts,
                budget_exhausted=agent.budget_exhausted,
            )
            for agent in in_plan_order(state, "agents")
        ],
        criteria=[
            CriterionRow(id=c.id, met=c.met, met_seq=c.met_seq, description=c.description)
            for c in in_plan_order(state, "criteria")
        ],
        pending_approvals=[
            ApprovalRow(request=a.request, step=a.step, prompt=a.prompt)
            for a in state.pending_approvals()
        ],
        timers=[
            TimerRow(
                timer=t.timer,
                purpose=t.purpose,
                due_us=t.due_us,
                step=t.step,
                attempt=t.attempt,
                agent=t.agent,
            )
            for t in sorted(state.timers.values(), key=lambda t: (t.due_us, t.set_seq))
        ],
        anomalies=state.anomaly_count,
        recent_anomalies=[str(a) for a in state.anomalies[-ANOMALIES_SHOWN:]],
        state_digest=state_digest(state),
    )
