"""Rendering run state for people: the status summary and the runs table.

``print_state`` is the one renderer of a run's state; ``status`` and
``replay`` both use it, and it always ends with the line
``state-digest: <hex>``, so that two renderings of equal states end alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypeVar, final, overload

import msgspec
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from playbill.runtime import (
    AgentState,
    CriterionState,
    RunState,
    StepState,
    shown_status,
    state_digest,
    waiting_for,
)

from ._escape import SafeTable, printable
from ._format import (
    clip,
    format_cost,
    format_seconds,
    format_time,
    format_tokens,
    round_money,
)

_N = TypeVar("_N", int, float)
_V = TypeVar("_V")

ANOMALIES_SHOWN = 5
"""How many of the most recent anomalies the summary lists."""

_STATUS_STYLE = {
    "completed": "green",
    "running": "cyan",
    "in_progress": "cyan",
    "verify_pending": "cyan",
    "busy": "cyan",
    "paused": "yellow",
    "waiting": "yellow",
    "blocked": "yellow",
    "interrupted": "yellow",
    "unresponsive": "yellow",
    "restarting": "yellow",
    "pending": "dim",
    "idle": "dim",
    "skipped": "dim",
    "failed": "red",
    "cancelled": "red",
}


@final
class RunRow(msgspec.Struct, frozen=True, kw_only=True):
    """One run as ``runs --json`` prints it (the keys, in this order, are stable).

    Attributes:
        run_id: The run.
        status: Its status (``created``, ``running``, ``completed``...);
            ``waiting`` for a running run that only a person can move.
        goal: What it is for.
        created: When its first entry was recorded, ISO 8601 UTC.
        created_us: The same, in microseconds since the epoch.
        updated_us: When its last entry was recorded.
        last_seq: Seq of its last entry.
        steps_done: Steps completed or skipped.
        steps_total: Steps in its plan.
        tokens: Tokens used (in + out).
        cost_usd: Money spent, in US dollars.
        anomalies: Entries that made no sense when folded (0 in a sound run).
    """

    run_id: str
    status: str
    goal: str
    created: str
    created_us: int
    updated_us: int
    last_seq: int
    steps_done: int
    steps_total: int
    tokens: int
    cost_usd: float
    anomalies: int


def run_row(state: RunState) -> RunRow:
    """The ``runs`` row of a run's state."""
    return RunRow(
        run_id=state.run_id,
        status=shown_status(state),
        goal=state.goal,
        created=format_time(state.created_us, precise=True),
        created_us=state.created_us,
        updated_us=state.updated_us,
        last_seq=state.last_seq,
        steps_done=state.steps_done(),
        steps_total=len(state.steps),
        tokens=state.usage.tokens,
        cost_usd=round_money(state.usage.cost_usd),
        anomalies=state.anomaly_count,
    )


def runs_table(rows: Sequence[RunRow]) -> Table:
    """The runs as a table: id, status, created, steps done/total, tokens, cost."""
    table = SafeTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    table.add_column("run")
    table.add_column("status")
    table.add_column("created (UTC)")
    table.add_column("steps", justify="right")
    table.add_column("tokens", justify="right")
    table.add_column("cost", justify="right")
    for row in rows:
        table.add_row(
            row.run_id,
            _status(row.status),
            format_time(row.created_us),
            f"{row.steps_done}/{row.steps_total}",
            format_tokens(row.tokens),
            format_cost(row.cost_usd),
        )
    return table


def print_state(console: Console, state: RunState) -> None:
    """Print a readable summary of a run's state, ending with ``state-digest: <hex>``."""
    console.print(_header(state))
    console.print()
    console.print(budget_table(state))
    if state.steps:
        console.print()
        console.print(steps_table(state))
    if state.agents:
        console.print()
        console.print(agents_table(state))
    if state.criteria:
        console.print()
        console.print(_criteria(state))
    console.print()
    _print_approvals(console, state)
    _print_timers(console, state)
    _print_anomalies(console, state)
    console.print(f"state-digest: {state_digest(state)}", markup=False, soft_wrap=True)


def _header(state: RunState) -> Table:
    grid = SafeTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    status = _status(shown_status(state))
    if state.reason:
        status.append(f" ({state.reason})")
    waits = waiting_for(state)
    if waits:
        status.append(f" for {', '.join(waits)}")
    grid.add_row("run", Text(state.run_id or "-", style="bold"))
    grid.add_row("goal", state.goal or "-")
    grid.add_row("status", status)
    if state.summary:
        grid.add_row("summary", state.summary)
    grid.add_row("strategy", state.strategy)
    if state.seed is not None:
        grid.add_row("seed", str(state.seed))
    if state.labels:
        grid.add_row("labels", ", ".join(f"{k}={v}" for k, v in sorted(state.labels.items())))
    if state.created_us:
        took = format_seconds((state.updated_us - state.created_us) / 1_000_000)
        grid.add_row("created", format_time(state.created_us))
        grid.add_row("updated", f"{format_time(state.updated_us)} ({took} after creation)")
    grid.add_row("last seq", str(state.last_seq))
    grid.add_row(
        "history",
        ", ".join(
            (
                _count(state.note_count, "note"),
                _count(state.decision_count, "policy decision"),
                _count(state.handoff_count, "handoff"),
                _count(state.budget_event_count, "budget event"),
            )
        ),
    )
    return grid


def budget_table(state: RunState) -> Table:
    """The run's budget: used against limit, per resource."""
    table = _table("Budget", "resource", "used", "limit", right=("used", "limit"))
    budget, usage = state.budget, state.usage
    rows: list[tuple[str, str, str]] = [
        ("tokens", format_tokens(usage.tokens), _limit(budget.tokens, format_tokens)),
        ("cost", format_cost(usage.cost_usd), _limit(budget.cost_usd, format_cost)),
        ("wall", format_seconds(usage.wall_s), _limit(budget.wall_s, format_seconds)),
        ("attempts", str(state.attempts), _limit(budget.attempts, str)),
        ("retries", str(state.retries), _limit(budget.retries, str)),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def steps_table(state: RunState) -> Table:
    """The steps in plan order: role, status, owner, attempts, last failure."""
    table = _table("Steps", "step", "role", "status", "owner", "attempts", "last failure")
    planned = [spec.id for spec in state.plan.steps] if state.plan is not None else []
    for step in _in_order(state.steps, planned):
        status = _status(step.status)
        if step.blocked_reason:
            status.append(f" ({clip(step.blocked_reason, 40)})")
        limit = step.spec.max_attempts
        attempts = f"{len(step.attempts)}/{limit}" if limit is not None else str(len(step.attempts))
        if step.completed_attempt is not None and len(step.attempts) > 1:
            attempts += f" (#{step.completed_attempt})"  # which one was accepted
        # The kind only: details are long, and `playbill events` shows them in full.
        failure = step.last_failure
        failed = f"{failure.failure_class}/{failure.kind}" if failure is not None else ""
        table.add_row(step.spec.id, step.spec.role, status, step.owner or "-", attempts, failed)
    return table


def agents_table(state: RunState) -> Table:
    """The agents in plan order: role, status, usage, attempts, restarts.

    Attempts are the pieces of work an agent did: its own attempts, and the
    reviews and verifications it reported.
    """
    table = _table(
        "Agents",
        "agent",
        "role",
        "status",
        "tokens",
        "cost",
        "wall",
        "attempts",
        "restarts",
        right=("tokens", "cost", "wall", "attempts", "restarts"),
    )
    planned = [spec.id for spec in state.plan.agents] if state.plan is not None else []
    reports = reports_by_agent(state)
    for agent in _in_order(state.agents, planned):
        status = _status(agent.status)
        if agent.step is not None:
            status.append(f" on {agent.step}#{agent.attempt}")
        if agent.budget_exhausted:
            status.append(" (budget exhausted)", style="red")
        table.add_row(
            agent.spec.id,
            ",".join(agent.spec.roles) or "-",
            status,
            format_tokens(agent.usage.tokens),
            format_cost(agent.usage.cost_usd),
            format_seconds(agent.usage.wall_s),
            str(agent.attempts + reports.get(agent.spec.id, 0)),
            str(agent.restarts),
        )
    return table


def reports_by_agent(state: RunState) -> dict[str, int]:
    """How many reviews and verifications each agent reported, over every attempt.

    An agent's ``attempts`` in the table are the pieces of work it did: the
    attempts it made, and the attempts of others it reviewed or verified.
    """
    counts: dict[str, int] = {}
    for step in state.steps.values():
        for attempt in step.attempts:
            for report in attempt.reports:
                counts[report.agent] = counts.get(report.agent, 0) + 1
    return counts


def _criteria(state: RunState) -> Table:
    table = _table("Criteria", "criterion", "met", "description")
    planned = [c.id for c in state.plan.criteria] if state.plan is not None else []
    for criterion in _in_order(state.criteria, planned):
        met = Text("yes", style="green") if criterion.met else Text("no", style="yellow")
        if criterion.met_seq is not None:
            met.append(f" (seq {criterion.met_seq})")
        table.add_row(criterion.id, met, criterion.description)
    return table


def _print_approvals(console: Console, state: RunState) -> None:
    pending = state.pending_approvals()
    if not pending:
        console.print("Pending approvals: none")
        return
    table = _table("Pending approvals", "request", "step", "prompt")
    for approval in pending:
        table.add_row(approval.request, approval.step or "-", approval.prompt)
    console.print(table)


def _print_timers(console: Console, state: RunState) -> None:
    if not state.timers:
        console.print("Pending timers: none")
        return
    table = _table("Pending timers", "timer", "purpose", "due (UTC)", "for")
    for timer in sorted(state.timers.values(), key=lambda t: (t.due_us, t.set_seq)):
        about = timer.step or timer.agent or "-"
        if timer.step is not None and timer.attempt is not None:
            about = f"{timer.step}#{timer.attempt}"
        table.add_row(timer.timer, timer.purpose, format_time(timer.due_us, precise=True), about)
    console.print(table)


def _print_anomalies(console: Console, state: RunState) -> None:
    if not state.anomaly_count:
        console.print("Anomalies: 0")
        return
    console.print(Text(f"Anomalies: {state.anomaly_count}", style="bold red"))
    for anomaly in state.anomalies[-ANOMALIES_SHOWN:]:
        console.print(f"  {printable(str(anomaly))}", markup=False)


@overload
def in_plan_order(state: RunState, what: Literal["steps"]) -> list[StepState]: ...
@overload
def in_plan_order(state: RunState, what: Literal["agents"]) -> list[AgentState]: ...
@overload
def in_plan_order(state: RunState, what: Literal["criteria"]) -> list[CriterionState]: ...
def in_plan_order(
    state: RunState, what: Literal["steps", "agents", "criteria"]
) -> list[StepState] | list[AgentState] | list[CriterionState]:
    """A run's steps, agents or criteria in plan order, then any the plan does not list."""
    plan = state.plan
    if what == "steps":
        return _in_order(state.steps, [s.id for s in plan.steps] if plan else [])
    if what == "agents":
        return _in_order(state.agents, [a.id for a in plan.agents] if plan else [])
    return _in_order(state.criteria, [c.id for c in plan.criteria] if plan else [])


def _in_order(by_id: Mapping[str, _V], planned: Sequence[str]) -> list[_V]:
    """The values in plan order, then any the plan does not list, by id.

    A state decoded from a snapshot has its dicts in key order, not plan
    order, so the order is taken from the plan.
    """
    listed = set(planned)
    ordered = [by_id[key] for key in planned if key in by_id]
    return ordered + [by_id[key] for key in sorted(by_id) if key not in listed]


def _table(title: str, *columns: str, right: tuple[str, ...] = ()) -> Table:
    table = SafeTable(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left")
    return table


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLE.get(status, ""))


def _limit(value: _N | None, fmt: Callable[[_N], str]) -> str:
    return "unlimited" if value is None else fmt(value)
