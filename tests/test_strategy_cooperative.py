"""The cooperative strategy: failed or partial work is handed to another agent, with context."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    HandoffRecorded,
    ReviewRequested,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepRetried,
)
from playbill.runtime.model._values import (
    Evidence,
    Finding,
    Gap,
    ImplementationPayload,
    PolicySettings,
    StepSpec,
)
from policy_helpers import EX, EX2, REV, VER, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="write a", scope=("src/a.py",))
PROOF = (Evidence(kind="commit", ref="abc123"),)


def driver(**policy: object) -> Driver:
    settings = PolicySettings(backoff_base_s=5.0, **policy)  # type: ignore[arg-type]
    return Driver(plan(A, agents=(EX, EX2, REV, VER)), policy=settings, strategy="cooperative")


def test_a_failed_attempt_is_handed_to_another_agent_with_what_was_done_and_what_is_open() -> None:
    d = driver()
    d.propose("a", "ex", 1, ImplementationPayload(summary="parser written"), evidence=PROOF)
    caused = d.review(
        "a", "rev", "request_changes", findings=(Finding(severity="major", message="no tests"),)
    )
    retried = one(StepRetried, caused)
    d.later(retried.backoff_s)
    caused = d.fire_due()
    assert kinds(caused)[:2] == ["handoff_recorded", "step_assigned"]
    handoff = one(HandoffRecorded, caused)
    assert (handoff.from_agent, handoff.to_agent) == ("ex", "ex2")
    assert handoff.done == "parser written"
    assert any("no tests" in item for item in handoff.open_items)
    assert handoff.evidence == PROOF
    assigned = one(StepAssigned, caused)
    assert assigned.agent == "ex2"
    assert assigned.feedback is not None
    assert "handed over by ex" in assigned.feedback.detail
    assert "parser written" in assigned.feedback.detail
    assert d.state.handoff_count == 1
    assert d.state.steps["a"].handoffs == 1


def test_the_pipeline_gives_the_retry_to_the_first_free_agent_without_a_handoff() -> None:
    d = Driver(plan(A, agents=(EX, EX2, REV, VER)), policy=PolicySettings(backoff_base_s=5.0))
    d.propose("a", "ex")
    d.later(one(StepRetried, d.review("a", "rev", "fail")).backoff_s)
    caused = d.fire_due()
    assert not of(HandoffRecorded, caused)
    assert one(StepAssigned, caused).agent == "ex"


def test_a_result_with_gaps_is_handed_on_at_once_and_not_reviewed() -> None:
    d = driver()
    gaps = (Gap(kind="todo", detail="the CLI flag is not wired"),)
    caused = d.propose("a", "ex", 1, ImplementationPayload(summary="library part"), gaps=gaps)
    assert not of(ReviewRequested, caused)
    failed = one(StepFailed, caused)
    assert (failed.failure.failure_class, failed.failure.kind) == ("validation", "gaps")
    assert one(StepRetried, caused).backoff_s == 0.0
    handoff = one(HandoffRecorded, caused)
    assert (handoff.from_agent, handoff.to_agent, handoff.done) == ("ex", "ex2", "library part")
    assert "gap: the CLI flag is not wired" in handoff.open_items
    assert one(StepAssigned, caused).agent == "ex2"


def test_gaps_are_accepted_once_the_step_has_no_attempts_left() -> None:
    d = driver(max_attempts=1)
    caused = d.propose("a", "ex", 1, gaps=(Gap(kind="todo", detail="docs"),))
    assert not of(StepFailed, caused)
    assert one(ReviewRequested, caused).reviewer == "rev"
    d.review("a", "rev", "pass")
    assert one(StepCompleted, d.verify("a", "ver", True)).attempt == 1


def test_with_no_other_agent_free_the_step_goes_on_without_a_handoff() -> None:
    d = Driver(plan(A), strategy="cooperative", policy=PolicySettings(backoff_base_s=5.0))
    d.propose("a", "ex")
    d.later(one(StepRetried, d.review("a", "rev", "fail")).backoff_s)
    caused = d.fire_due()
    assert not of(HandoffRecorded, caused)
    assert one(StepAssigned, caused).agent == "ex"


def test_work_lost_to_a_restart_is_not_handed_off() -> None:
    from playbill.runtime.model._messages import AgentRestarted

    d = driver()
    d.send(AgentRestarted(agent="ex", restarts=1), sender="runtime")
    d.later(5)
    caused = d.fire_due()
    assert not of(HandoffRecorded, caused)
    assert one(StepAssigned, caused).attempt == 2
