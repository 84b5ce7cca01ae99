"""The reducer keeps the facts the supervisor's policy reads.

Policy settings come with ``run_created``; exhausted budgets are remembered
once each; an attempt that ends frees everyone working on it; a cancelled
agent is free at once; a stale end of an old attempt does not hijack the
step, nor does the end of an attempt whose step moved on.
"""

from __future__ import annotations

from factories import run_state
from playbill.runtime.model._messages import (
    AttemptCancelled,
    BudgetExhausted,
    Message,
    PlanAttached,
    ResultProposed,
    ReviewRequested,
    RunCreated,
    StepAssigned,
    StepBlocked,
    StepCompleted,
    StepFailed,
    StepInterrupted,
    StepRetried,
    StepSkipped,
)
from playbill.runtime.model._state import ExhaustedBudget, encode_state, state_digest
from playbill.runtime.model._values import (
    DEFAULT_POLICY,
    AgentSpec,
    Failure,
    ImplementationPayload,
    Plan,
    PolicySettings,
    ResultEnvelope,
    StepSpec,
)

PLAN = Plan(
    steps=(StepSpec(id="a", goal="first"),),
    agents=(
        AgentSpec(id="ex", roles=("executor",)),
        AgentSpec(id="rev", roles=("reviewer",)),
    ),
)

BASE: tuple[Message, ...] = (RunCreated(goal="g"), PlanAttached(plan=PLAN))


def test_policy_settings_come_with_the_run() -> None:
    policy = PolicySettings(heartbeat_timeout_s=7.0, on_exhausted="escalate")
    state = run_state(RunCreated(goal="g", policy=policy))
    assert state.policy == policy


def test_a_default_policy_written_out_digests_like_an_omitted_one() -> None:
    implicit = run_state(RunCreated(goal="g"))
    explicit = run_state(RunCreated(goal="g", policy=PolicySettings()))
    assert implicit.policy == explicit.policy == DEFAULT_POLICY
    assert encode_state(implicit) == encode_state(explicit)
    assert state_digest(implicit) == state_digest(explicit)


def test_exhausted_budgets_are_remembered_once_each() -> None:
    state = run_state(
        *BASE,
        BudgetExhausted(resource="tokens", limit=1, used=2, action="refused"),
        BudgetExhausted(resource="tokens", limit=1, used=3, action="cancelled"),
        BudgetExhausted(resource="tokens", limit=1, used=2, action="refused", agent="ex"),
    )
    assert state.exhausted == (
        ExhaustedBudget(resource="tokens"),
        ExhaustedBudget(resource="tokens", agent="ex"),
    )
    assert state.budget_event_count == 3


def proposed() -> tuple[Message, ...]:
    envelope = ResultEnvelope(
        agent="ex",
        role="executor",
        step="a",
        attempt=1,
        exit_status="ok",
        payload=ImplementationPayload(),
    )
    return (
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        ResultProposed(result=envelope),
        ReviewRequested(step="a", attempt=1, reviewer="rev"),
    )


def test_an_ended_attempt_frees_its_reviewer() -> None:
    reviewing = run_state(*proposed())
    assert reviewing.agents["rev"].status == "busy"
    for end in (
        StepCompleted(step="a", attempt=1),
        StepInterrupted(step="a", attempt=1, reason="cancelled"),
    ):
        state = run_state(*proposed(), end)
        assert state.agents["rev"].status == "idle"
        assert state.agents["rev"].step is None
        assert state.anomaly_count == 0


def test_a_cancelled_agent_is_free_at_once() -> None:
    state = run_state(*proposed(), AttemptCancelled(step="a", attempt=1, agent="rev"))
    assert state.agents["rev"].status == "idle"
    assert state.steps["a"].attempts[0].cancel_requested


def test_a_stale_failure_of_an_old_attempt_leaves_the_step_to_the_live_one() -> None:
    failure = Failure(failure_class="transient", kind="x")
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        StepInterrupted(step="a", attempt=1),
        StepRetried(step="a", next_attempt=2, failure_class="transient"),
        StepAssigned(step="a", agent="ex", attempt=2),
        StepFailed(step="a", attempt=1, failure=failure),
    )
    step = state.steps["a"]
    assert step.status == "in_progress"
    assert step.owner == "ex"
    assert step.attempts[0].failure == failure
    assert state.agents["ex"].status == "busy"
    assert state.anomaly_count == 0


def test_the_end_of_an_attempt_leaves_a_step_that_moved_on_alone() -> None:
    for moved in (StepSkipped(step="a"), StepBlocked(step="a", reason="which API?")):
        state = run_state(
            *BASE,
            StepAssigned(step="a", agent="ex", attempt=1),
            moved,
            StepInterrupted(step="a", attempt=1, reason="not needed"),
        )
        expected = "skipped" if isinstance(moved, StepSkipped) else "blocked"
        assert state.steps["a"].status == expected
        assert state.steps["a"].attempts[0].status == "interrupted"
        assert state.agents["ex"].status == "idle"
