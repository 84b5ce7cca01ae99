"""Run state: frozen data folded from the journal.

A ``RunState`` is a projection of a run's journal and nothing else: it can be
thrown away and rebuilt by folding the entries. It is frozen; the reducer
returns new values and shares what did not change. Collections that would grow
with the length of the run (notes, decisions, handoffs, budget events,
anomalies) keep a count and only the most recent ``HISTORY_LIMIT`` records:
the journal holds the full history, and a state's size stays bounded by the
plan, not by the number of entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal, TypeAlias

import msgspec

from ._values import (
    AgentSpec,
    Blocker,
    Budget,
    BudgetResource,
    Evidence,
    Failure,
    Finding,
    Plan,
    PolicyAction,
    PolicySettings,
    ProcessInfo,
    ResultEnvelope,
    ReviewOutcome,
    Score,
    StepSpec,
    Usage,
    Validator,
)

HISTORY_LIMIT = 50
"""How many recent records a bounded history keeps."""

RunStatus: TypeAlias = Literal[
    "new", "created", "running", "paused", "cancelled", "completed", "failed"
]
"""Where a run is in its life. ``new`` is the state before any entry."""

TERMINAL_RUN_STATUSES: frozenset[RunStatus] = frozenset({"cancelled", "completed", "failed"})
"""Run statuses that no entry moves out of."""

WORK_LOST = "work_lost"
"""The ``step_interrupted`` reason for work lost to a restart, not failed."""

StepStatus: TypeAlias = Literal[
    "pending",
    "in_progress",
    "verify_pending",
    "completed",
    "failed",
    "interrupted",
    "blocked",
    "skipped",
]
"""Where a step is in its life."""

AttemptStatus: TypeAlias = Literal[
    "assigned", "running", "proposed", "passed", "failed", "interrupted"
]
"""Where one attempt at a step is in its life."""

AgentStatus: TypeAlias = Literal["idle", "busy", "unresponsive", "failed", "restarting"]
"""What an agent is doing. ``restarting``: its actor is being restarted by a
resumed run (``run_resumed.restarting``); it takes no work until its
``agent_restarted``."""


class StateBase(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    gc=False,
):
    """Base of every state type: frozen, keyword-only, strict on decode.

    States are immutable trees, hence ``gc=False`` (see ``Value``).
    """


class ValidationRecord(StateBase, frozen=True):
    """The outcome of one validator on one attempt."""

    validator: str
    passed: bool
    failure: Failure | None = None
    score: float | None = None
    evidence: tuple[Evidence, ...] = ()


class AttemptState(StateBase, frozen=True):
    """One attempt at a step.

    Attributes:
        number: 1-based, dense per step.
        agent: Who makes the attempt.
        status: Where the attempt is.
        assigned_seq: Seq of the assignment.
        assigned_us: When it was assigned.
        started_us: When the agent started, if it did.
        ended_us: When it ended, if it did.
        usage: What the attempt consumed (from ``UsageReported``).
        result: The result proposed by the attempt's own agent, if any.
        reports: Results that other agents (reviewers, verifiers) proposed
            about this attempt, the latest per agent and role.
        review: What the reviewer's verdict means, if reviewed.
        review_rounds: How many reviews the attempt got.
        findings: The latest review's remarks.
        validations: Validator outcomes, latest per validator last.
        failure: Why it failed, if it did.
        cancel_requested: The supervisor asked the agent to stop.
        feedback: The previous failure that was fed into this attempt.
        reviewer: The reviewer asked to review it, if any.
        verifier: The verifier asked to verify it, if any.
        review_requests: How many times a review of it was asked for.
        verify_requests: How many times a verification of it was asked for.
        reviews_lost: Review requests whose work was lost to a kill or a
            restart of the runner: asked again, never counted against the
            attempts (``review_requests`` less these are what count).
        verifications_lost: The same, for verification requests.
        lost: Its work was lost to a restart (of the runtime, or of its agent
            by the supervision tree), not failed: it does not count against
            the step's ``max_attempts``.
        competition: The first attempt of the competition it is part of
            (``competitive`` strategy), ``None`` for a lone attempt.
        proposed_seq: The seq of its result, for attempts of a competition
            (arbitration breaks ties by arrival).
    """

    number: int
    agent: str
    status: AttemptStatus = "assigned"
    assigned_seq: int = 0
    assigned_us: int = 0
    started_us: int | None = None
    ended_us: int | None = None
    usage: Usage = msgspec.field(default_factory=Usage)
    result: ResultEnvelope | None = None
    reports: tuple[ResultEnvelope, ...] = ()
    review: ReviewOutcome | None = None
    review_rounds: int = 0
    findings: tuple[Finding, ...] = ()
    validations: tuple[ValidationRecord, ...] = ()
    failure: Failure | None = None
    cancel_requested: bool = False
    feedback: Failure | None = None
    reviewer: str | None = None
    verifier: str | None = None
    review_requests: int = 0
    verify_requests: int = 0
    reviews_lost: int = 0
    verifications_lost: int = 0
    lost: bool = False
    competition: int | None = None
    proposed_seq: int | None = None


class StepState(StateBase, frozen=True):
    """A step of the plan and its lifecycle.

    Attributes:
        spec: The step as planned (validators may be overridden by policy).
        status: Where the step is.
        owner: The agent working on it now, if any.
        attempts: Every attempt made, in order.
        retries: Retries scheduled so far.
        last_failure: The most recent failure.
        blocked_reason: Why it is blocked, when it is.
        blockers: What blocks it, when it is.
        completed_attempt: The attempt whose work was accepted.
        agent_override: The agent policy moved the step to, if any.
        handoffs: Handoffs made on this step.
        feedback: The failure to feed into the next attempt.
    """

    spec: StepSpec
    status: StepStatus = "pending"
    owner: str | None = None
    attempts: tuple[AttemptState, ...] = ()
    retries: int = 0
    last_failure: Failure | None = None
    blocked_reason: str | None = None
    blockers: tuple[Blocker, ...] = ()
    completed_attempt: int | None = None
    agent_override: str | None = None
    handoffs: int = 0
    feedback: Failure | None = None

    def attempt(self, number: int) -> AttemptState | None:
        """The attempt with this number, if it exists."""
        if 0 < number <= len(self.attempts):
            found = self.attempts[number - 1]
            if found.number == number:
                return found
        for candidate in self.attempts:
            if candidate.number == number:
                return candidate
        return None

    @property
    def attempts_made(self) -> int:
        """Attempts that count against ``max_attempts``: all but those lost."""
        return sum(1 for a in self.attempts if not a.lost)


class AgentState(StateBase, frozen=True):
    """An agent taking part in the run.

    Attributes:
        spec: The agent as declared in the plan.
        status: What it is doing.
        step: The step it works on, if any.
        attempt: The attempt it works on, if any.
        last_heartbeat_us: Its last sign of life.
        usage: What it consumed in this run.
        attempts: Attempts assigned to it.
        failures: Crashes of its actor.
        restarts: Restarts of its actor.
        missed_heartbeats: Deadlines it let pass.
        last_failure: Its most recent crash.
        budget_exhausted: One of its budgets ran out.
        busy_since_us: When it took the work in hand (``None`` when it has
            none): wall-time budgets count the time since.
        busy_wall_s: Wall seconds it reported of the work in hand so far
            (counted once, not again as time since ``busy_since_us``);
            ``None`` when none.
    """

    spec: AgentSpec
    status: AgentStatus = "idle"
    step: str | None = None
    attempt: int | None = None
    last_heartbeat_us: int | None = None
    usage: Usage = msgspec.field(default_factory=Usage)
    attempts: int = 0
    failures: int = 0
    restarts: int = 0
    missed_heartbeats: int = 0
    last_failure: Failure | None = None
    budget_exhausted: bool = False
    busy_since_us: int | None = None
    busy_wall_s: float | None = None


class CriterionState(StateBase, frozen=True):
    """An acceptance criterion and whether it is met."""

    id: str
    description: str
    met: bool = False
    met_seq: int | None = None
    evidence: tuple[Evidence, ...] = ()


class TimerState(StateBase, frozen=True):
    """A pending timer (fired and cancelled timers leave the state)."""

    timer: str
    due_us: int
    purpose: str
    set_seq: int
    step: str | None = None
    attempt: int | None = None
    agent: str | None = None


class ArbitrationRecord(StateBase, frozen=True):
    """The latest arbitration on a step."""

    policy: str
    winner_attempt: int | None
    scores: tuple[Score, ...]
    margin: float
    tie_break: str
    seq: int


class HandoffRecord(StateBase, frozen=True):
    """A handoff of work between agents."""

    step: str
    from_agent: str
    to_agent: str
    done: str
    open_items: tuple[str, ...]
    seq: int


class WorkspaceRecord(StateBase, frozen=True):
    """The worktree of an attempt and what became of it.

    Attributes:
        step: The step.
        attempt: The attempt.
        path: Where its worktree is.
        branch: Its branch.
        base_commit: The commit it started from.
        merge_status: Whether its work was integrated (``pending`` until the
            integrator says).
        merge_commit: The integration branch's commit that applied it.
        merge_detail: Why it was not applied, or what was.
        merge_requested_seq: The seq at which the policy asked the integrator
            to apply it, if it did (requests are answered in seq order).
    """

    step: str
    attempt: int
    path: str
    branch: str
    base_commit: str
    merge_status: Literal["pending", "applied", "conflicted", "blocked"] = "pending"
    merge_commit: str | None = None
    merge_detail: str = ""
    merge_requested_seq: int | None = None


class NoteRecord(StateBase, frozen=True):
    """A note for humans."""

    author: str
    text: str
    seq: int


class DecisionRecord(StateBase, frozen=True):
    """A policy decision about a failed step."""

    action: PolicyAction
    reason: str
    step: str | None
    seq: int
    new_agent: str | None = None
    new_validator: Validator | None = None


class BudgetRecord(StateBase, frozen=True):
    """A budget that ran out, and what was done about it."""

    resource: BudgetResource
    limit: float
    used: float
    action: Literal["refused", "cancelled"]
    agent: str | None
    step: str | None
    seq: int


class ExhaustedBudget(StateBase, frozen=True):
    """A budget that ran out: the run's (no ``agent``, no ``step``), an agent's or a step's."""

    resource: BudgetResource
    agent: str | None = None
    step: str | None = None


class ApprovalState(StateBase, frozen=True):
    """A request for a human's approval."""

    request: str
    prompt: str
    step: str | None = None
    status: Literal["pending", "approved", "rejected"] = "pending"
    by: str = ""
    reason: str = ""


class ProcessRecord(StateBase, frozen=True):
    """A process that work in flight started (``process_started``).

    It belongs to its agent's piece of work: it is dropped from the state
    when the agent is released from that work (a result, a failure, a
    cancel), when a resumed run deals with it (``process_ended``), and never
    recorded for work that had already ended.

    Attributes:
        agent: The agent whose work started it.
        step: The step of the work.
        attempt: The attempt of the work.
        process: The process.
        seq: Seq of its ``process_started``.
    """

    agent: str
    step: str
    attempt: int
    process: ProcessInfo
    seq: int


class RunState(StateBase, frozen=True):
    """Everything known about a run, folded from its journal.

    Attributes:
        run_id: The run.
        status: Where the run is.
        goal: What the run is for.
        strategy: The run's default coordination strategy.
        seed: The seed of a simulated run.
        labels: Labels given at creation.
        budget: The run's budget.
        created_us: Time of the first entry.
        updated_us: Time of the last entry.
        last_seq: Seq of the last entry folded (0 before any).
        plan: The plan, once attached.
        steps: Step states by id, in plan order: a read-only mapping (the
            reducer keeps them in a ``StepMap``, which changes a step
            without copying the others).
        agents: Agent states by id, in plan order.
        criteria: Acceptance criteria by id.
        usage: What the whole run consumed.
        attempts: Attempts assigned over the whole run.
        retries: Retries scheduled over the whole run.
        timers: Pending timers by id.
        arbitrations: The latest arbitration per step.
        workspaces: Worktrees by ``step#attempt``.
        approvals: Requests for human approval by id.
        handoffs: Most recent handoffs (bounded); ``handoff_count`` counts all.
        notes: Most recent notes (bounded); ``note_count`` counts all.
        decisions: Most recent policy decisions (bounded).
        budget_events: Most recent exhausted budgets (bounded).
        anomalies: Most recent entries that made no sense in the state they
            met (bounded); folding never raises, it records them here.
        reason: Why the run paused, failed or was cancelled.
        summary: The completion summary.
        last_request_id: The id of the last control request journaled
            (requests are taken in id order, each once).
        late_results: Results that arrived after their attempt had ended
            (cancelled, timed out); they change nothing else.
        policy: The supervisor's policy settings, from ``run_created``.
        exhausted: Every budget that ran out, once each (at most one per
            resource for the run and for each agent).
        processes: Processes that work in flight started, oldest first: what
            a run resumed after its runner died looks for (see
            ``ProcessRecord``).
    """

    run_id: str = ""
    status: RunStatus = "new"
    goal: str = ""
    strategy: str = "pipeline"
    seed: int | None = None
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    budget: Budget = msgspec.field(default_factory=Budget)
    created_us: int = 0
    updated_us: int = 0
    last_seq: int = 0
    plan: Plan | None = None
    steps: Mapping[str, StepState] = msgspec.field(default_factory=dict)
    agents: dict[str, AgentState] = msgspec.field(default_factory=dict)
    criteria: dict[str, CriterionState] = msgspec.field(default_factory=dict)
    usage: Usage = msgspec.field(default_factory=Usage)
    attempts: int = 0
    retries: int = 0
    timers: dict[str, TimerState] = msgspec.field(default_factory=dict)
    arbitrations: dict[str, ArbitrationRecord] = msgspec.field(default_factory=dict)
    workspaces: dict[str, WorkspaceRecord] = msgspec.field(default_factory=dict)
    approvals: dict[str, ApprovalState] = msgspec.field(default_factory=dict)
    handoffs: tuple[HandoffRecord, ...] = ()
    handoff_count: int = 0
    notes: tuple[NoteRecord, ...] = ()
    note_count: int = 0
    decisions: tuple[DecisionRecord, ...] = ()
    decision_count: int = 0
    budget_events: tuple[BudgetRecord, ...] = ()
    budget_event_count: int = 0
    anomalies: tuple[str, ...] = ()
    anomaly_count: int = 0
    reason: str = ""
    summary: str = ""
    last_request_id: int = 0
    late_results: int = 0
    policy: PolicySettings = msgspec.field(default_factory=PolicySettings)
    exhausted: tuple[ExhaustedBudget, ...] = ()
    processes: tuple[ProcessRecord, ...] = ()

    @property
    def is_terminal(self) -> bool:
        """Whether no entry can move the run any further."""
        return self.status in TERMINAL_RUN_STATUSES

    def steps_done(self) -> int:
        """Steps completed or skipped."""
        return sum(1 for s in self.steps.values() if s.status in ("completed", "skipped"))

    def pending_approvals(self) -> tuple[ApprovalState, ...]:
        """Approval requests still waiting for a human."""
        return tuple(a for a in self.approvals.values() if a.status == "pending")


def initial_state() -> RunState:
    """The state of a run before its first entry."""
    return RunState()


_state_decoder = msgspec.json.Decoder(RunState)

# States keep their dicts in insertion order (steps and agents in plan order,
# timers in the order they were set): that order is a function of the journal,
# and code that iterates a state must see the same order after a snapshot is
# loaded as after a full fold. So the state encoder does not sort keys.


def _encode_mapping(obj: object) -> object:
    """A state's ``StepMap`` encodes as the ``dict`` of its items, in their order."""
    if isinstance(obj, Mapping):
        return dict(obj.items())
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_state_encoder = msgspec.json.Encoder(enc_hook=_encode_mapping)


def encode_state(state: RunState) -> bytes:
    """The canonical bytes of a state (what snapshots store and digests hash).

    Dicts are encoded in their order, which folding makes a function of the
    journal: a state decoded from a snapshot iterates exactly like the state
    it was taken from.
    """
    return _state_encoder.encode(state)


def decode_state(data: bytes) -> RunState:
    """Decode a state encoded by ``encode_state``.

    Raises:
        msgspec.ValidationError: The bytes are not a valid state.
        msgspec.DecodeError: The bytes are not JSON.
    """
    return _state_decoder.decode(data)


def state_digest(state: RunState) -> str:
    """A hex SHA-256 of the state's canonical encoding.

    Two states folded from journals have the same digest exactly when they
    are equal, including the order of their collections.
    """
    return hashlib.sha256(encode_state(state)).hexdigest()


def outcome_digest(state: RunState) -> str:
    """A hex SHA-256 of what a run came to, leaving out how it got there.

    The run's status, each step's status and each criterion's, in plan
    order. Two runs of the same plan that end alike have the same outcome
    digest even when one of them was killed and resumed on the way (and so
    has more entries, interrupted attempts and retries): ``state_digest``
    tells those apart, this does not.
    """
    outcome = (
        state.status,
        [(step_id, step.status) for step_id, step in state.steps.items()],
        [(criterion_id, c.met) for criterion_id, c in state.criteria.items()],
    )
    return hashlib.sha256(_state_encoder.encode(outcome)).hexdigest()
