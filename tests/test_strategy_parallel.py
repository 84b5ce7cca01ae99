"""The parallel strategy: the pipeline without its review stage."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    ReviewRequested,
    StepAssigned,
    StepCompleted,
    StepFailed,
    VerificationRequested,
)
from playbill.runtime.model._values import AgentSpec, ReviewPayload, StepSpec, TestsPass
from policy_helpers import EX, EX2, REV, VER, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="write a", scope=("src/a.py",), validators=(TestsPass(),))
B = StepSpec(id="b", goal="write b", scope=("src/b.py",), validators=(TestsPass(),))


def test_an_executors_result_goes_straight_to_verification() -> None:
    d = Driver(plan(A), strategy="parallel")
    proposed = d.propose("a", "ex")
    assert kinds(proposed) == ["timer_cancelled", "verification_requested", "timer_set"]
    assert one(VerificationRequested, proposed).verifier == "ver"
    assert not of(ReviewRequested, d.entries and [e.msg for e in d.entries])
    verified = d.verify("a", "ver", True)
    assert one(StepCompleted, verified).attempt == 1


def test_the_pipeline_asks_the_reviewer_where_parallel_does_not() -> None:
    pipeline = Driver(plan(A))
    assert one(ReviewRequested, pipeline.propose("a", "ex")).reviewer == "rev"
    parallel = Driver(plan(A), strategy="parallel")
    assert not of(ReviewRequested, parallel.propose("a", "ex"))


def test_a_failed_check_still_fails_the_attempt() -> None:
    d = Driver(plan(A), strategy="parallel")
    d.propose("a", "ex")
    failed = one(StepFailed, d.verify("a", "ver", False))
    assert failed.failure.failure_class == "validation"


def test_a_reviewer_step_is_still_judged_by_its_own_verdict() -> None:
    review = StepSpec(id="r", goal="review it", role="reviewer")
    d = Driver(plan(review), strategy="parallel")
    caused = d.propose("r", "rev", 1, ReviewPayload(verdict="request_changes"))
    assert one(StepFailed, caused).failure.kind == "changes_requested"


def test_independent_steps_run_at_once_and_a_step_may_choose_it() -> None:
    spec_b = StepSpec(id="b", goal="write b", scope=("src/b.py",), strategy="parallel")
    d = Driver(plan(A, spec_b, agents=(EX, EX2, REV, VER)))
    assert [(a.step, a.agent) for a in of(StepAssigned, d.first)] == [("a", "ex"), ("b", "ex2")]
    assert of(ReviewRequested, d.propose("a", "ex"))  # a: the run's pipeline
    assert not of(ReviewRequested, d.propose("b", "ex2"))  # b: parallel


def test_no_verifier_and_no_validators_completes_at_once() -> None:
    lone = StepSpec(id="a", goal="write a")
    d = Driver(plan(lone, agents=(EX, AgentSpec(id="r", roles=("reviewer",)))), strategy="parallel")
    assert one(StepCompleted, d.propose("a", "ex")).attempt == 1


def test_unused_helpers_stay_idle() -> None:
    d = Driver(plan(B), strategy="parallel")
    d.propose("b", "ex")
    assert d.state.agents["rev"].status == "idle"
    assert d.state.agents[VER.id].status == "busy"
