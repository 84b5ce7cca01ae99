"""The review_loop strategy: the author revises at once, K review rounds at most."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    HumanApprovalRequested,
    PolicyDecisionApplied,
    RunFailed,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepRetried,
    StepSkipped,
    TimerSet,
)
from playbill.runtime.model._values import Finding, PolicySettings, ReviewPayload, StepSpec
from policy_helpers import EX, EX2, REV, VER, Driver, of, one, plan

A = StepSpec(id="a", goal="write a", scope=("src/a.py",))
FIX = (Finding(severity="major", message="handle the empty file", path="src/a.py", line=3),)


def driver(**policy: object) -> Driver:
    settings = PolicySettings(backoff_base_s=30.0, **policy)  # type: ignore[arg-type]
    return Driver(plan(A, agents=(EX, EX2, REV, VER)), policy=settings, strategy="review_loop")


def round_of_changes(d: Driver, agent: str, attempt: int) -> list:
    d.propose("a", agent, attempt)
    return d.review("a", "rev", "request_changes", attempt=attempt, findings=FIX)


def test_changes_requested_go_back_to_the_author_at_once_with_the_findings() -> None:
    d = driver()
    caused = round_of_changes(d, "ex", 1)
    assert one(StepFailed, caused).failure.kind == "changes_requested"
    retried = one(StepRetried, caused)
    assert retried.backoff_s == 0.0
    assert not [t for t in of(TimerSet, caused) if t.purpose == "backoff"]
    assigned = one(StepAssigned, caused)
    assert (assigned.agent, assigned.attempt) == ("ex", 2)
    assert assigned.feedback is not None and "handle the empty file" in assigned.feedback.detail


def test_the_pipeline_waits_a_backoff_where_the_loop_does_not() -> None:
    pipeline = Driver(
        plan(A, agents=(EX, EX2, REV, VER)), policy=PolicySettings(backoff_base_s=30.0)
    )
    caused = round_of_changes(pipeline, "ex", 1)
    assert one(StepRetried, caused).backoff_s == 30.0
    assert not of(StepAssigned, caused)


def test_the_revision_that_passes_review_completes() -> None:
    d = driver()
    round_of_changes(d, "ex", 1)
    d.propose("a", "ex", 2)
    d.review("a", "rev", "pass", attempt=2)
    assert one(StepCompleted, d.verify("a", "ver", True, attempt=2)).attempt == 2


def test_after_k_rounds_the_on_exhausted_action_is_journaled_and_applied() -> None:
    d = driver(max_review_rounds=2, max_attempts=1, on_exhausted="skip")
    round_of_changes(d, "ex", 1)  # max_attempts does not bound revisions
    caused = round_of_changes(d, "ex", 2)
    decision = one(PolicyDecisionApplied, caused)
    assert decision.action == "skip"
    assert "2 of 2 review rounds asked for changes" in decision.reason
    assert one(StepSkipped, caused).step == "a"


def test_k_rounds_then_abort_fails_the_run_and_escalate_asks_a_person() -> None:
    d = driver(max_review_rounds=1)
    assert one(RunFailed, round_of_changes(d, "ex", 1)).failure_class == "validation"
    d = driver(max_review_rounds=1, on_exhausted="escalate")
    asked = one(HumanApprovalRequested, round_of_changes(d, "ex", 1))
    assert asked.request == "escalate:a#1"


def test_a_busy_author_leaves_the_revision_to_another_agent() -> None:
    b = StepSpec(id="b", goal="write b", scope=("src/b.py",))
    c = StepSpec(id="c", goal="write c", scope=("src/c.py",))
    d = Driver(plan(A, b, c, agents=(EX, EX2, REV, VER)), strategy="review_loop")
    assert one(StepAssigned, d.propose("a", "ex")).step == "c"  # the author moves on to c
    d.review("a", "rev", "request_changes", findings=FIX)
    assert d.state.steps["a"].status == "pending"  # both executors are busy
    revision = one(StepAssigned, d.propose("b", "ex2"))
    assert (revision.step, revision.agent, revision.attempt) == ("a", "ex2", 2)


def test_a_rejection_is_judged_as_in_the_pipeline() -> None:
    d = driver()
    d.propose("a", "ex")
    caused = d.review("a", "rev", "fail")
    assert one(StepFailed, caused).failure.kind == "rejected"
    assert one(StepRetried, caused).backoff_s == 30.0


def test_a_reviewer_steps_own_verdict_is_no_review_round() -> None:
    review = StepSpec(id="r", goal="review the design", role="reviewer")
    d = Driver(plan(review), strategy="review_loop", policy=PolicySettings(backoff_base_s=30.0))
    caused = d.propose("r", "rev", 1, ReviewPayload(verdict="request_changes"))
    assert one(StepRetried, caused).backoff_s == 30.0  # judged as in the pipeline
