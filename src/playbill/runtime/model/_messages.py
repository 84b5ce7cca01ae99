"""The closed catalogue of messages that a run's journal can hold.

Every message is a frozen msgspec Struct with an explicit snake_case tag under
the ``type`` key. ``Message`` is the union of all of them; decoding only ever
targets that union, so an unknown ``type`` is an error, never a silently kept
blob. New messages are added at the end of the union; existing fields never
change type, and new fields always get a default.

Commands (sent by the supervisor to a role actor) and events (facts reported
by anyone) are both messages: the journal records both.
"""

from __future__ import annotations

import typing
from typing import Literal, TypeAlias

import msgspec

from ._values import (
    Blocker,
    Budget,
    BudgetResource,
    ControlRequest,
    Evidence,
    Failure,
    FailureClass,
    Finding,
    Plan,
    PolicyAction,
    PolicySettings,
    ProcessEnd,
    ProcessInfo,
    ResultEnvelope,
    ReviewOutcome,
    Score,
    StepSpec,
    Usage,
    Validator,
    Verdict,
)


class MessageBase(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    gc=False,
    omit_defaults=True,
    tag_field="type",
):
    """Base of every message. Subclasses set an explicit snake_case ``tag``.

    Messages are immutable trees, hence ``gc=False`` (see ``Value``).
    """


# ---------------------------------------------------------------- run lifecycle


class RunCreated(MessageBase, frozen=True, tag="run_created"):
    """A run came into being.

    Attributes:
        goal: What the run is for.
        strategy: The coordination strategy for steps that name none.
        budget: The run's budget.
        seed: The seed of a simulated run, or ``None`` for a real one.
        labels: Free-form labels for filtering runs (``{"repo": "..."}``).
        policy: The supervisor's policy settings (timeouts, backoff, attempts).
    """

    goal: str
    strategy: str = "pipeline"
    budget: Budget = msgspec.field(default_factory=Budget)
    seed: int | None = None
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    policy: PolicySettings = msgspec.field(default_factory=PolicySettings)


class PlanAttached(MessageBase, frozen=True, tag="plan_attached"):
    """The run's plan (steps, agents, criteria) was fixed or replaced."""

    plan: Plan


class RunPaused(MessageBase, frozen=True, tag="run_paused"):
    """No new work starts until the run is resumed; work in flight finishes.

    Attributes:
        reason: Why, for humans.
        by: Who paused it.
        stopped: When the run's process was stopped (SIGINT, SIGTERM): the
            agents whose actors it stopped, their processes killed. Their
            work is lost (interrupted, and given out again on resume) and
            they take no work until their own ``agent_restarted``.
    """

    reason: str = ""
    by: str = ""
    stopped: tuple[str, ...] = ()


class RunResumed(MessageBase, frozen=True, tag="run_resumed"):
    """The run goes on, after a pause or after its process died.

    Attributes:
        by: Who resumed it.
        reason: Why, for humans.
        restarting: After its process died: the agents whose actors the new
            process restarts. They take no work until their own
            ``agent_restarted``; the work they held is lost.
    """

    by: str = ""
    reason: str = ""
    restarting: tuple[str, ...] = ()


class RunCancelled(MessageBase, frozen=True, tag="run_cancelled"):
    """The run was stopped for good by request; work in flight is cancelled."""

    reason: str = ""
    by: str = ""


class RunCompleted(MessageBase, frozen=True, tag="run_completed"):
    """Every step is done and every criterion met."""

    summary: str = ""


class RunFailed(MessageBase, frozen=True, tag="run_failed"):
    """The run cannot go on."""

    reason: str
    failure_class: FailureClass | None = None


# ---------------------------------------------------------------------- steps


class StepAssigned(MessageBase, frozen=True, tag="step_assigned"):
    """Command: an agent is to make attempt ``attempt`` at ``step``.

    Attributes:
        step: The step.
        agent: The agent that owns the step from now on.
        attempt: The attempt number, 1-based and dense per step.
        heartbeat_timeout_s: The agent must send a heartbeat at least this
            often, or the work is cancelled and the step reassigned.
        feedback: The failure of the previous attempt, fed into this one.
        competition: For an attempt that competes with others at the same
            step (the ``competitive`` strategy), the number of the first
            attempt of its competition; ``None`` for a lone attempt.
    """

    step: str
    agent: str
    attempt: int
    heartbeat_timeout_s: float | None = None
    feedback: Failure | None = None
    competition: int | None = None


class StepStarted(MessageBase, frozen=True, tag="step_started"):
    """An agent began an attempt it was assigned."""

    step: str
    agent: str
    attempt: int


class StepCompleted(MessageBase, frozen=True, tag="step_completed"):
    """The step is done: its result was accepted and its validators passed."""

    step: str
    attempt: int
    summary: str = ""


class StepFailed(MessageBase, frozen=True, tag="step_failed"):
    """An attempt failed; policy decides what comes next."""

    step: str
    attempt: int
    failure: Failure


class StepInterrupted(MessageBase, frozen=True, tag="step_interrupted"):
    """An attempt stopped without a result (cancel, crash of the process)."""

    step: str
    attempt: int
    reason: str = ""


class StepBlocked(MessageBase, frozen=True, tag="step_blocked"):
    """The step cannot go on without outside help (a human, a replan)."""

    step: str
    reason: str
    blockers: tuple[Blocker, ...] = ()


class StepRetried(MessageBase, frozen=True, tag="step_retried"):
    """A new attempt was scheduled after a failure.

    Attributes:
        step: The step.
        next_attempt: The attempt number that will run.
        failure_class: The class of the failure being retried.
        backoff_s: Seconds to wait before the new attempt is assigned.
        feedback: The failure, fed into the next attempt.
    """

    step: str
    next_attempt: int
    failure_class: FailureClass
    backoff_s: float = 0.0
    feedback: Failure | None = None


class StepSkipped(MessageBase, frozen=True, tag="step_skipped"):
    """Policy decided the step is not needed; its dependents may go on."""

    step: str
    reason: str = ""


class AttemptCancelled(MessageBase, frozen=True, tag="attempt_cancelled"):
    """Command: stop the work on an attempt now (lost arbitration, budget, cancel)."""

    step: str
    attempt: int
    agent: str
    reason: str = ""


class ReviewRequested(MessageBase, frozen=True, tag="review_requested"):
    """Command: a reviewer is to review attempt ``attempt`` of ``step``.

    The reviewer answers with a ``ResultProposed`` whose payload is a
    ``ReviewPayload``; the supervisor turns its verdict into ``ReviewGiven``.
    """

    step: str
    attempt: int
    reviewer: str
    round: int = 1


class VerificationRequested(MessageBase, frozen=True, tag="verification_requested"):
    """Command: a verifier is to verify attempt ``attempt`` of ``step``.

    The verifier answers with a ``ResultProposed`` whose payload is a
    ``VerificationPayload``; the supervisor turns each check into
    ``ValidationPassed`` or ``ValidationFailed``.
    """

    step: str
    attempt: int
    verifier: str


# ------------------------------------------------------------------ liveness


class Heartbeat(MessageBase, frozen=True, tag="heartbeat"):
    """An agent is alive and working on an attempt."""

    agent: str
    step: str | None = None
    attempt: int | None = None
    progress: str = ""


class HeartbeatMissed(MessageBase, frozen=True, tag="heartbeat_missed"):
    """An agent let its heartbeat deadline pass; its work is orphaned."""

    agent: str
    step: str
    attempt: int


class UsageReported(MessageBase, frozen=True, tag="usage_reported"):
    """An agent consumed resources (reported incrementally or at the end)."""

    agent: str
    usage: Usage
    step: str | None = None
    attempt: int | None = None


# -------------------------------------------------------------------- results


class ResultProposed(MessageBase, frozen=True, tag="result_proposed"):
    """An agent proposed the result of an attempt (Propose-Evidence-Verify)."""

    result: ResultEnvelope


class ReviewGiven(MessageBase, frozen=True, tag="review_given"):
    """A reviewer judged an attempt; ``outcome`` is what the verdict means.

    Attributes:
        step: The step.
        attempt: The attempt reviewed.
        reviewer: Who reviewed it.
        verdict: The reviewer's verdict.
        outcome: What the verdict means for the step.
        round: Which review round of the attempt this is (1-based).
        findings: The review's remarks, for the next attempt and for humans.
    """

    step: str
    attempt: int
    reviewer: str
    verdict: Verdict
    outcome: ReviewOutcome
    round: int = 1
    findings: tuple[Finding, ...] = ()


class ValidationPassed(MessageBase, frozen=True, tag="validation_passed"):
    """A validator passed for an attempt."""

    step: str
    attempt: int
    validator: str
    evidence: tuple[Evidence, ...] = ()
    score: float | None = None


class ValidationFailed(MessageBase, frozen=True, tag="validation_failed"):
    """A validator failed (or crashed, or timed out) for an attempt."""

    step: str
    attempt: int
    validator: str
    failure: Failure
    output_tail: str = ""
    score: float | None = None


class ArbitrationDecided(MessageBase, frozen=True, tag="arbitration_decided"):
    """Among competing attempts at a step, one won.

    Attributes:
        step: The step.
        policy: The arbitration policy that decided.
        winner_attempt: The attempt that won, or ``None`` when none qualified.
        scores: The whole score table, in the order the policy ranked it.
        margin: Score of the winner minus the runner-up's.
        tie_break: How a tie was broken, when there was one.
    """

    step: str
    policy: str
    winner_attempt: int | None
    scores: tuple[Score, ...] = ()
    margin: float = 0.0
    tie_break: str = ""


class HandoffRecorded(MessageBase, frozen=True, tag="handoff_recorded"):
    """An agent handed its work on a step to another, with context."""

    step: str
    from_agent: str
    to_agent: str
    done: str = ""
    open_items: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


class CriterionMet(MessageBase, frozen=True, tag="criterion_met"):
    """An acceptance criterion of the run is met."""

    criterion: str
    evidence: tuple[Evidence, ...] = ()


# --------------------------------------------------------- budgets and policy


class BudgetExhausted(MessageBase, frozen=True, tag="budget_exhausted"):
    """A budget ran out; work was refused or cancelled.

    Attributes:
        resource: Which resource ran out.
        limit: The budget's limit.
        used: What was used when the decision was taken.
        action: ``refused`` (work not started) or ``cancelled`` (work stopped).
        agent: The agent whose budget ran out, or ``None`` for the run's.
        step: The step affected, if any.
        deadline_us: For a wall budget that ran out while work was in
            flight: its deadline, when the work was cancelled (``None`` when
            the budget was found used up from reported usage).
        reason: What happened, for people (set with ``deadline_us``).
        of_step: The budget that ran out is ``step``'s own (``[steps.budget]``),
            not the run's or an agent's.
    """

    resource: BudgetResource
    limit: float
    used: float
    action: Literal["refused", "cancelled"]
    agent: str | None = None
    step: str | None = None
    deadline_us: int | None = None
    reason: str = ""
    of_step: bool = False


class PolicyDecisionApplied(MessageBase, frozen=True, tag="policy_decision_applied"):
    """The policy decided what to do about a failed step."""

    action: PolicyAction
    reason: str
    step: str | None = None
    new_agent: str | None = None
    new_validator: Validator | None = None
    new_steps: tuple[StepSpec, ...] = ()


# ----------------------------------------------------------------- agents


class AgentFailed(MessageBase, frozen=True, tag="agent_failed"):
    """An agent's actor crashed; the failure is typed, never a bare traceback."""

    agent: str
    failure: Failure
    step: str | None = None
    attempt: int | None = None


class AgentRestarted(MessageBase, frozen=True, tag="agent_restarted"):
    """The supervision tree restarted an agent's actor."""

    agent: str
    restarts: int


class ProcessStarted(MessageBase, frozen=True, tag="process_started"):
    """An agent's work started a process (a coding-agent CLI, a validator's command).

    Journaled so that a run resumed after its runner died can find the
    process and kill it if it still runs (see ``ProcessInfo``).

    Attributes:
        agent: The agent whose work started it.
        process: The process.
        step: The step of the work.
        attempt: The attempt of the work.
    """

    agent: str
    process: ProcessInfo
    step: str | None = None
    attempt: int | None = None


class ProcessEnded(MessageBase, frozen=True, tag="process_ended"):
    """A resumed run dealt with a process its dead runner had started.

    Journaled before the resumed run starts any work.

    Attributes:
        agent: The agent whose work had started it.
        pid: Its process id.
        host: The host it ran on.
        how: What the resumed run found (``reaped``, ``gone``, ``unchecked``).
    """

    agent: str
    pid: int
    how: ProcessEnd
    host: str = ""


# ------------------------------------------------------------------ timers


TimerPurpose: TypeAlias = Literal["heartbeat", "backoff", "deadline", "approval"]
"""What a timer is for."""


class TimerSet(MessageBase, frozen=True, tag="timer_set"):
    """A timer was set; it fires at ``due_us`` (microseconds, runtime clock).

    Attributes:
        timer: Unique id within the run.
        due_us: When it fires.
        purpose: What it is for.
        step: The step it concerns, if any.
        attempt: The attempt it concerns, if any.
        agent: The agent it concerns, if any.
    """

    timer: str
    due_us: int
    purpose: TimerPurpose
    step: str | None = None
    attempt: int | None = None
    agent: str | None = None


class TimerFired(MessageBase, frozen=True, tag="timer_fired"):
    """A timer's time came (recorded, so that replay needs no clock)."""

    timer: str


class TimerCancelled(MessageBase, frozen=True, tag="timer_cancelled"):
    """A timer will not fire (its reason went away)."""

    timer: str


# ------------------------------------------------------------- workspaces


class WorkspaceCreated(MessageBase, frozen=True, tag="workspace_created"):
    """A worktree and branch were made for an attempt."""

    step: str
    attempt: int
    path: str
    branch: str
    base_commit: str


class WorkspaceMerged(MessageBase, frozen=True, tag="workspace_merged"):
    """An attempt's work was applied (or not) onto the integration branch."""

    step: str
    attempt: int
    status: Literal["applied", "conflicted", "blocked"]
    into: str
    commit: str | None = None
    detail: str = ""


class MergeRequested(MessageBase, frozen=True, tag="merge_requested"):
    """The policy asks the integrator to apply an accepted attempt's work.

    Sent once per attempt whose work is in a workspace, after review,
    verification and approvals; the step completes when the integrator
    journals ``workspace_merged`` with ``applied``, and is blocked otherwise.
    """

    step: str
    attempt: int


# ------------------------------------------------------------------- humans


class NoteWritten(MessageBase, frozen=True, tag="note_written"):
    """A free-text note for humans; never drives decisions."""

    author: str
    text: str


class HumanApprovalRequested(MessageBase, frozen=True, tag="human_approval_requested"):
    """The run waits for a person to approve or reject."""

    request: str
    prompt: str
    step: str | None = None


class HumanApprovalGiven(MessageBase, frozen=True, tag="human_approval_given"):
    """A person answered an approval request."""

    request: str
    approved: bool
    by: str = ""
    reason: str = ""
    step: str | None = None


class ControlRequested(MessageBase, frozen=True, tag="control_requested"):
    """A control request from outside the run was taken by the run's writer.

    Attributes:
        request_id: The request's id in the journal's request queue; the
            state remembers the last one, so a request is journaled once.
        request: What was asked.
    """

    request_id: int
    request: ControlRequest


Message: TypeAlias = (
    RunCreated
    | PlanAttached
    | RunPaused
    | RunResumed
    | RunCancelled
    | RunCompleted
    | RunFailed
    | StepAssigned
    | StepStarted
    | StepCompleted
    | StepFailed
    | StepInterrupted
    | StepBlocked
    | StepRetried
    | StepSkipped
    | AttemptCancelled
    | Heartbeat
    | HeartbeatMissed
    | UsageReported
    | ResultProposed
    | ReviewGiven
    | ValidationPassed
    | ValidationFailed
    | ArbitrationDecided
    | HandoffRecorded
    | CriterionMet
    | BudgetExhausted
    | PolicyDecisionApplied
    | AgentFailed
    | AgentRestarted
    | TimerSet
    | TimerFired
    | TimerCancelled
    | WorkspaceCreated
    | WorkspaceMerged
    | MergeRequested
    | NoteWritten
    | HumanApprovalRequested
    | HumanApprovalGiven
    | ReviewRequested
    | VerificationRequested
    | ControlRequested
    | ProcessStarted
    | ProcessEnded
)
"""The closed union of every message a journal can hold."""


def message_types() -> tuple[type[MessageBase], ...]:
    """Every concrete message class, in catalogue order."""
    return typing.get_args(Message)


def message_tag(msg: MessageBase) -> str:
    """The ``type`` tag a message is stored under."""
    tag = msg.__struct_config__.tag
    assert isinstance(tag, str)
    return tag
