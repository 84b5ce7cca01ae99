"""Value types shared by messages and run state.

Everything here is a frozen msgspec Struct: it crosses a boundary (the journal)
and must encode deterministically. Optional fields have defaults so that old
journals keep decoding when fields are added (schema evolution is additive).
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import msgspec

Role: TypeAlias = Literal["planner", "executor", "reviewer", "verifier"]
"""The four agent roles of a run."""

ROLES: tuple[Role, ...] = ("planner", "executor", "reviewer", "verifier")
"""Every role, in pipeline order."""

FailureClass: TypeAlias = Literal["transient", "agent", "validation", "policy", "budget"]
"""Why work failed; decides whether and how it may be retried.

* ``transient``: the outside world hiccuped (network, rate limit); retry as is.
* ``agent``: the agent misbehaved (crash, hang, malformed output); retry,
  possibly with another agent.
* ``validation``: the work was done but did not pass its validators; retry with
  the failure fed back.
* ``policy``: the work broke a rule (scope violation, forbidden action); never
  retried.
* ``budget``: a budget ran out; retried only if budget is added.
"""

ExitStatus: TypeAlias = Literal["ok", "error", "timeout", "crashed", "cancelled"]
"""How an agent's piece of work ended."""

Verdict: TypeAlias = Literal["pass", "fail", "request_changes", "blocked"]
"""A reviewer's verdict on an attempt."""

ReviewOutcome: TypeAlias = Literal["approved", "rejected", "changes_requested", "replan_required"]
"""What a verdict means for the step (``pass`` -> approved, ``blocked`` ->
replan required, ``request_changes`` -> changes requested, else rejected)."""

BudgetResource: TypeAlias = Literal["tokens", "cost", "wall", "attempts", "retries"]
"""A resource a budget limits."""

PolicyAction: TypeAlias = Literal[
    "retry", "decompose", "change_agent", "change_validator", "skip", "abort", "escalate"
]
"""What the policy decided to do about a failed step."""


class Value(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    gc=False,
):
    """Base of every value type: frozen, keyword-only, strict on decode.

    ``gc=False``: values are immutable trees (they can never be part of a
    reference cycle), so the garbage collector need not track them; this
    halves the cost of decoding a journal.
    """


class Usage(Value, frozen=True):
    """Resources consumed by a piece of work.

    Attributes:
        tokens_in: Prompt tokens.
        tokens_out: Completion tokens.
        cost_usd: Money spent, in US dollars.
        wall_s: Wall-clock seconds (virtual seconds under simulation).
    """

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0

    @property
    def tokens(self) -> int:
        """Tokens in and out together."""
        return self.tokens_in + self.tokens_out

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
            cost_usd=self.cost_usd + other.cost_usd,
            wall_s=self.wall_s + other.wall_s,
        )


ZERO_USAGE = Usage()
"""Usage of nothing at all."""


class Budget(Value, frozen=True):
    """Limits on what a run or an agent may consume. ``None`` means unlimited.

    Attributes:
        tokens: Total tokens (in + out).
        cost_usd: Money, in US dollars.
        wall_s: Wall-clock seconds of agent work.
        attempts: Attempts started.
        retries: Retries scheduled.
    """

    tokens: int | None = None
    cost_usd: float | None = None
    wall_s: float | None = None
    attempts: int | None = None
    retries: int | None = None


UNLIMITED = Budget()
"""A budget that limits nothing."""


class Evidence(Value, frozen=True):
    """A piece of proof attached to a result or a validation.

    Attributes:
        kind: What sort of proof (``file``, ``command``, ``test``, ``commit``,
            ``log``, ``url`` or ``note``).
        ref: Where it is: a path, a commit, a URL, a command line.
        detail: A short human-readable description.
        sha256: Content hash, when the evidence is a file.
    """

    kind: Literal["file", "command", "test", "commit", "log", "url", "note"]
    ref: str
    detail: str = ""
    sha256: str | None = None


class Gap(Value, frozen=True):
    """Something an agent knows it did not do."""

    kind: str
    detail: str


class Blocker(Value, frozen=True):
    """Something that stops progress until it is resolved.

    Attributes:
        kind: A short machine-friendly category (``missing_input``, ``conflict``...).
        detail: What is blocking, for a human.
        blocking: False when it is only a risk, not a hard stop.
    """

    kind: str
    detail: str
    blocking: bool = True


class Failure(Value, frozen=True):
    """A typed reason for failed work.

    Attributes:
        failure_class: Decides retry behaviour (see ``FailureClass``).
        kind: A specific machine-friendly kind (``crash``, ``timeout``,
            ``scope_violation``, ``malformed_output``...).
        detail: For humans; never parsed.
    """

    failure_class: FailureClass
    kind: str
    detail: str = ""


# ----------------------------------------------------------------- validators


class ValidatorBase(Value, frozen=True, tag_field="kind"):
    """Base of the validator union. Every validator can fail; none auto-passes."""


class CommandPasses(ValidatorBase, frozen=True, tag="command_passes"):
    """A command, run in the attempt's worktree, exits with the expected code.

    Attributes:
        argv: The command line, as an argument list (never a shell string).
        cwd: Working directory relative to the worktree root.
        timeout_s: Seconds before the command is killed and the check fails.
        expect_exit: The exit code that means success.
        shell: Run through the shell; only when the plan asks for it.
    """

    argv: tuple[str, ...]
    cwd: str = "."
    timeout_s: float = 600.0
    expect_exit: int = 0
    shell: bool = False


class TestsPass(ValidatorBase, frozen=True, tag="tests_pass"):
    """The test suite passes; counts are read from its JUnit XML report."""

    argv: tuple[str, ...] = ("python", "-m", "pytest")
    cwd: str = "."
    timeout_s: float = 1800.0
    min_passed: int = 1


class BuildPasses(ValidatorBase, frozen=True, tag="build_passes"):
    """The build command exits with status 0."""

    argv: tuple[str, ...]
    cwd: str = "."
    timeout_s: float = 1800.0


class FileChanged(ValidatorBase, frozen=True, tag="file_changed"):
    """The attempt's diff touches a path matching ``path`` (a glob)."""

    path: str


class ArtifactExists(ValidatorBase, frozen=True, tag="artifact_exists"):
    """A file exists at ``path`` (relative to the worktree) after the attempt."""

    path: str


class HumanApproval(ValidatorBase, frozen=True, tag="human_approval"):
    """A person approves the step (``playbill approve RUN STEP``)."""

    prompt: str = ""


Validator: TypeAlias = (
    CommandPasses | TestsPass | BuildPasses | FileChanged | ArtifactExists | HumanApproval
)
"""Every kind of validator."""


# ---------------------------------------------------------------------- plans


class AgentSpec(Value, frozen=True):
    """An agent that takes part in a run.

    Attributes:
        id: Unique within the run.
        roles: The roles it can play.
        backend: Name of the backend that does its work.
        edits_files: Whether it can change files (may be given mutating steps).
        budget: Its own budget, on top of the run's.
        heartbeat_timeout_s: Its own stall window: the longest it may show no
            sign of progress before its work is cancelled and moved; the
            policy's ``heartbeat_timeout_s`` when ``None``.
        max_restarts: How often the runtime restarts it after a crash within
            ``restart_window_s`` before the run gives up; the runner's limit
            (shared by the agents without one) when ``None``.
        restart_window_s: The window of its ``max_restarts``; the runner's
            when ``None``.
    """

    id: str
    roles: tuple[Role, ...]
    backend: str = "simulated"
    edits_files: bool = True
    budget: Budget = msgspec.field(default_factory=Budget)
    heartbeat_timeout_s: float | None = None
    max_restarts: int | None = None
    restart_window_s: float | None = None


StepExhaustedAction: TypeAlias = Literal["abort", "escalate", "skip", "decompose"]
"""What happens to a step out of attempts, as a step says it (``StepSpec.on_exhausted``)."""


class StepSpec(Value, frozen=True):
    """One step of a plan.

    Attributes:
        id: Unique within the plan.
        goal: What the step must achieve, for the agent.
        role: The role of the agent that does it.
        depends_on: Steps that must complete first.
        scope: Globs (relative to the repository) the step may change. Empty
            means the step is read-only and may run beside anything.
        validators: What must pass before the step completes.
        strategy: Coordination strategy for this step; the run's when ``None``.
        max_attempts: Attempts allowed; the run's budget decides when ``None``.
        budget: The step's own limits on tokens, cost and wall time, over
            all its attempts, reviews and verifications (``attempts`` and
            ``retries`` are ``max_attempts``'s business, not a step
            budget's); ``None`` for none.
        competitors: How many agents attempt the step at once under the
            ``competitive`` strategy; the policy's ``competitors`` when ``None``.
        on_exhausted: What happens to the step once out of attempts; the
            policy's ``on_exhausted`` when ``None``. ``decompose`` replaces it
            by ``decompose_into``.
        decompose_into: The steps that replace it when it is decomposed.
    """

    id: str
    goal: str
    role: Role = "executor"
    depends_on: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()
    validators: tuple[Validator, ...] = ()
    strategy: str | None = None
    max_attempts: int | None = None
    competitors: int | None = None
    budget: Budget | None = None
    on_exhausted: StepExhaustedAction | None = None
    decompose_into: tuple[StepSpec, ...] = ()


class Criterion(Value, frozen=True):
    """An acceptance criterion of the whole run."""

    id: str
    description: str
    validator: Validator | None = None


class Plan(Value, frozen=True):
    """The steps, agents and acceptance criteria of a run."""

    steps: tuple[StepSpec, ...] = ()
    agents: tuple[AgentSpec, ...] = ()
    criteria: tuple[Criterion, ...] = ()


# ---------------------------------------------------------- result envelopes


class PayloadBase(Value, frozen=True, tag_field="kind"):
    """Base of the role-specific result payloads."""


class PlanPayload(PayloadBase, frozen=True, tag="plan"):
    """A planner's result: the steps it proposes."""

    steps: tuple[StepSpec, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    rationale: str = ""


class ImplementationPayload(PayloadBase, frozen=True, tag="implementation"):
    """An executor's result: what it changed."""

    summary: str = ""
    changed_files: tuple[str, ...] = ()
    commit: str | None = None


class Finding(Value, frozen=True):
    """One remark of a review."""

    severity: Literal["info", "minor", "major", "critical"]
    message: str
    path: str | None = None
    line: int | None = None


class ReviewPayload(PayloadBase, frozen=True, tag="review"):
    """A reviewer's result: a verdict and its findings."""

    verdict: Verdict
    findings: tuple[Finding, ...] = ()


class Check(Value, frozen=True):
    """One verification check and its outcome.

    Attributes:
        name: The validator's name (``validator_names``) or the check's own.
        passed: Whether it passed.
        detail: What happened, for humans (an output tail, a count).
        tests_passed: Tests that passed, when it ran tests.
        tests_failed: Tests that failed, when it ran tests.
        failure: Why it failed, typed (a validator that timed out or could
            not run has its own kind); ``check_failed`` when not given.
        score: How well it passed, in ``[0, 1]`` (for arbitration).
    """

    name: str
    passed: bool
    detail: str = ""
    tests_passed: int | None = None
    tests_failed: int | None = None
    failure: Failure | None = None
    score: float | None = None


class VerificationPayload(PayloadBase, frozen=True, tag="verification"):
    """A verifier's result: the checks it ran."""

    checks: tuple[Check, ...] = ()


RolePayload: TypeAlias = PlanPayload | ImplementationPayload | ReviewPayload | VerificationPayload
"""The typed payload of a result envelope, one kind per role."""


class ResultEnvelope(Value, frozen=True):
    """A role-aware result: a common header and a typed payload.

    Attributes:
        agent: Who did the work.
        role: The role it played.
        step: The step it worked on.
        attempt: The attempt number (1-based).
        exit_status: How the work ended.
        exit_code: The process exit code, when there was a process.
        usage: What the work consumed.
        evidence: Proof of what was done.
        gaps: What the agent knows it did not do.
        blockers: What stops progress.
        payload: The role-specific result.
    """

    agent: str
    role: Role
    step: str
    attempt: int
    exit_status: ExitStatus
    payload: RolePayload
    exit_code: int | None = None
    usage: Usage = msgspec.field(default_factory=Usage)
    evidence: tuple[Evidence, ...] = ()
    gaps: tuple[Gap, ...] = ()
    blockers: tuple[Blocker, ...] = ()


class Score(Value, frozen=True):
    """One row of an arbitration score table.

    Attributes:
        agent: The competitor.
        attempt: Its attempt.
        passed: Whether the attempt passed review and verification.
        score: Its validators' mean score in ``[0, 1]``, failing checks
            included (when they gave none: 1 if it passed, 0 if not).
        cost_usd: What the attempt cost.
        tokens: Tokens the attempt used.
        arrival_seq: The seq of its result (0 when it sent none).
        vote: The review's vote in ``(0, 1]`` (``reviewer_vote`` only): 1 for
            an approval without findings, less the more (and the graver) the
            findings.
    """

    agent: str
    attempt: int
    passed: bool
    score: float
    cost_usd: float = 0.0
    tokens: int = 0
    arrival_seq: int = 0
    vote: float | None = None


ControlAction: TypeAlias = Literal[
    "pause",
    "resume",
    "cancel",
    "approve",
    "reject",
    "skip",
    "change_agent",
    "change_validator",
    "decompose",
]
"""What a control request asks (see ``ControlRequest``)."""

STEP_DECISIONS: Final = frozenset({"skip", "change_agent", "change_validator", "decompose"})
"""The control actions that are a person's decision about a step."""


class ControlRequest(Value, frozen=True):
    """A request from outside the run (another process, a person) to steer it.

    Posted to the journal's request queue by ``playbill pause|resume|cancel|
    approve|reject|skip|change-agent|change-validator|decompose`` (or
    ``Run.request``); the run's own writer takes it and journals it as
    ``ControlRequested``, and the policy carries it out (or refuses it, with
    a reason). The last four are a person's decisions about a step: each is
    journaled as ``policy_decision_applied`` and closes the escalation or
    unblock request of the step it answers.

    Attributes:
        action: What is asked.
        step: For ``approve``/``reject``: the step whose approval is
            answered; for a decision: the step decided about.
        reason: Why, for the journal.
        by: Who asks.
        agent: For ``change_agent``: the agent that takes the step.
        validator: For ``change_validator``: the step's new validator (it
            replaces the step's validators).
        new_steps: For ``decompose``: the steps that replace the step.
    """

    action: ControlAction
    step: str | None = None
    reason: str = ""
    by: str = ""
    agent: str | None = None
    validator: Validator | None = None
    new_steps: tuple[StepSpec, ...] = ()


ProcessEnd: TypeAlias = Literal["reaped", "gone", "unchecked"]
"""What a resumed run found of a process its dead runner had started.

* ``reaped``: still running, the same process (pid and start time): its
  process group was killed before any new work started.
* ``gone``: it had ended (no such pid, another process under that pid, or
  another boot of the host).
* ``unchecked``: it cannot be told apart from another process here (started
  on another host, or its start time is unknown): left alone.
"""


class ProcessInfo(Value, frozen=True):
    """A process playbill started for an agent, as the operating system knows it.

    A pid alone names a process only while it runs: once it ended, the pid
    may be handed to an unrelated one. The pid with the process's start time
    (and the boot and host it ran on) names it for good, so that a resumed
    run never kills a process that merely inherited the pid.

    Attributes:
        pid: Its process id.
        pgid: Its process group (its pid: it leads a session of its own).
        start_ticks: When it started, in clock ticks since the host booted
            (Linux: field 22 of ``/proc/<pid>/stat``); ``None`` where unknown.
        boot_id: The boot it started in (Linux:
            ``/proc/sys/kernel/random/boot_id``); empty where unknown.
        host: The host name of the machine it runs on.
        label: What it is, for people (``command fix_agent.py``).
    """

    pid: int
    pgid: int
    start_ticks: int | None = None
    boot_id: str = ""
    host: str = ""
    label: str = ""


# -------------------------------------------------------------------- policy

ArbitrationPolicy: TypeAlias = Literal[
    "first_passing", "best_score", "lowest_cost", "reviewer_vote"
]
"""How the ``competitive`` strategy picks a winner among attempts that passed:
the first to arrive, the best validator score, the lowest cost, or the best
review (see ``playbill.runtime.arbitrate``)."""

ExhaustedAction: TypeAlias = Literal["abort", "escalate", "skip"]
"""What the policy does with a step that has no attempt left: fail the run
(``abort``), ask a human (``escalate``) or let its dependents go on (``skip``)."""


class PolicySettings(Value, frozen=True):
    """The supervisor's policy knobs, journaled with the run so replay is exact.

    Attributes:
        heartbeat_timeout_s: The stall window: an agent working on something
            must show progress (a heartbeat) at least this often, or its
            work is cancelled (``transient``/``stalled``) and moved to
            another agent. An agent's own ``heartbeat_timeout_s`` replaces it
            for that agent.
        backoff_base_s: Wait before the first retry of a step.
        backoff_multiplier: Each further retry of the step waits this much longer.
        backoff_max_s: The longest wait before a retry.
        max_attempts: Attempts per step, for steps that set no ``max_attempts``.
        max_review_rounds: Reviews that may ask for changes (or reject) before
            the step counts as out of attempts.
        on_exhausted: What to do with a step that is out of attempts, or whose
            failure may not be retried (a ``policy`` failure).
        competitors: Agents that attempt a step at once under the
            ``competitive`` strategy, for steps that set none (at most the
            capable free agents, and the attempts the step has left).
        arbitration: How the ``competitive`` strategy picks the winner.
    """

    heartbeat_timeout_s: float = 300.0
    backoff_base_s: float = 5.0
    backoff_multiplier: float = 2.0
    backoff_max_s: float = 300.0
    max_attempts: int = 3
    max_review_rounds: int = 3
    on_exhausted: ExhaustedAction = "abort"
    competitors: int = 2
    arbitration: ArbitrationPolicy = "best_score"


DEFAULT_POLICY = PolicySettings()
"""The policy of runs that set none."""
