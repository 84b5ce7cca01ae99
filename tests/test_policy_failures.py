"""Failures: retries by class, backoff, attempts, out-of-attempts actions, decisions."""

from __future__ import annotations

import pytest

from playbill.runtime.logic._policy_context import backoff_s
from playbill.runtime.model._messages import (
    HumanApprovalGiven,
    HumanApprovalRequested,
    PlanAttached,
    PolicyDecisionApplied,
    RunFailed,
    StepAssigned,
    StepBlocked,
    StepFailed,
    StepInterrupted,
    StepRetried,
    StepSkipped,
    TimerSet,
)
from playbill.runtime.model._values import (
    ExhaustedAction,
    Failure,
    PolicySettings,
    StepSpec,
    TestsPass,
)
from policy_helpers import EX, EX2, VER, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="x")
B = StepSpec(id="b", goal="y", depends_on=("a",))
TRANSIENT = Failure(failure_class="transient", kind="rate_limited")
POLICY = Failure(failure_class="policy", kind="scope_violation", detail="wrote /etc")


def fail(d: Driver, failure: Failure, attempt: int = 1, step: str = "a") -> list[object]:
    return d.send(StepFailed(step=step, attempt=attempt, failure=failure), sender="workspaces")


def test_a_transient_failure_is_retried_after_a_journaled_backoff() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=PolicySettings(backoff_base_s=5.0))
    out = fail(d, TRANSIENT)
    assert kinds(out) == ["step_retried", "timer_set", "timer_cancelled"]
    retried = one(StepRetried, out)
    assert retried == StepRetried(
        step="a", next_attempt=2, failure_class="transient", backoff_s=5.0, feedback=TRANSIENT
    )
    timer = one(TimerSet, out)
    assert (timer.timer, timer.purpose, timer.step, timer.attempt) == (
        "backoff:a#2",
        "backoff",
        "a",
        2,
    )
    assert timer.due_us == d.now_us + 5_000_000
    assert d.state.steps["a"].status == "pending"
    assert d.usage("ex", tokens_in=5) == []  # nothing due
    fired = d.fire("backoff:a#2")
    assert kinds(fired) == ["step_assigned", "timer_set"]
    assert one(StepAssigned, fired).feedback == TRANSIENT


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    settings = PolicySettings(backoff_base_s=2.0, backoff_multiplier=3.0, backoff_max_s=30.0)
    assert [backoff_s(settings, k) for k in range(5)] == [2.0, 6.0, 18.0, 30.0, 30.0]
    huge = PolicySettings(backoff_base_s=1e300, backoff_multiplier=1e300, backoff_max_s=1e300)
    assert backoff_s(huge, 10_000) == 1e9  # capped, and no overflow


def test_retries_back_off_longer_each_time() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=PolicySettings(backoff_base_s=1.0, max_attempts=5))
    waits = []
    for attempt in (1, 2, 3):
        out = fail(d, TRANSIENT, attempt)
        waits.append(one(StepRetried, out).backoff_s)
        d.fire(f"backoff:a#{attempt + 1}")
    assert waits == [1.0, 2.0, 4.0]


def test_an_agent_failure_moves_the_step_to_another_agent_at_once() -> None:
    d = Driver(plan(A, agents=(EX, EX2)))
    crash = Failure(failure_class="agent", kind="malformed_output")
    out = fail(d, crash)
    assert kinds(out) == [
        "policy_decision_applied",
        "step_retried",
        "timer_cancelled",
        "step_assigned",
        "timer_set",
    ]
    decision = one(PolicyDecisionApplied, out)
    assert (decision.action, decision.step, decision.new_agent) == ("change_agent", "a", "ex2")
    assert one(StepRetried, out).backoff_s == 0.0
    assert one(StepAssigned, out).agent == "ex2"


def test_an_agent_failure_with_no_other_agent_retries_the_same_after_backoff() -> None:
    d = Driver(plan(A, agents=(EX,)))
    out = fail(d, Failure(failure_class="agent", kind="malformed_output"))
    assert kinds(out)[:2] == ["step_retried", "timer_set"]


@pytest.mark.parametrize("action", ["abort", "escalate", "skip"])
def test_a_policy_failure_is_never_retried(action: ExhaustedAction) -> None:
    d = Driver(plan(A, B, agents=(EX,)), policy=PolicySettings(on_exhausted=action))
    out = fail(d, POLICY)
    assert not of(StepRetried, out)
    decision = one(PolicyDecisionApplied, out)
    assert decision.action == action
    assert "policy failures are never retried" in decision.reason
    if action == "abort":
        assert one(RunFailed, out).failure_class == "policy"
    elif action == "skip":
        assert one(StepSkipped, out).step == "a"
        assert one(StepAssigned, out).step == "b"
    else:
        assert one(HumanApprovalRequested, out).request == "escalate:a#1"
        assert d.state.status == "running"


def test_a_step_out_of_attempts_gets_the_settings_action() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x", max_attempts=2), agents=(EX,)))
    fail(d, TRANSIENT)
    d.fire("backoff:a#2")
    out = fail(d, TRANSIENT, attempt=2)
    decision = one(PolicyDecisionApplied, out)
    assert decision.action == "abort"
    assert decision.reason.startswith("step 'a': 2 of 2 attempts made; last failure: transient")
    assert one(RunFailed, out).reason == decision.reason


def test_an_escalation_approved_grants_one_more_attempt() -> None:
    d = Driver(
        plan(A, agents=(EX,)), policy=PolicySettings(max_attempts=1, on_exhausted="escalate")
    )
    out = fail(d, TRANSIENT)
    request = one(HumanApprovalRequested, out)
    assert (request.request, request.step) == ("escalate:a#1", "a")
    again = d.send(HumanApprovalGiven(request="escalate:a#1", approved=True), sender="cli")
    assert kinds(again)[:2] == ["step_retried", "step_assigned"]
    out = fail(d, TRANSIENT, attempt=2)
    assert one(HumanApprovalRequested, out).request == "escalate:a#2"


def test_an_escalation_rejected_fails_the_run() -> None:
    d = Driver(
        plan(A, agents=(EX,)), policy=PolicySettings(max_attempts=1, on_exhausted="escalate")
    )
    fail(d, TRANSIENT)
    out = d.send(HumanApprovalGiven(request="escalate:a#1", approved=False, by="pat"), sender="cli")
    assert one(RunFailed, out).reason == "pat rejected the escalation of step 'a'"


def test_a_rejected_unblock_skips_the_step_when_the_settings_say_skip() -> None:
    d = Driver(plan(A, B, agents=(EX,)), policy=PolicySettings(on_exhausted="skip"))
    d.send(StepBlocked(step="a", reason="which API?"), sender="ex")
    out = d.send(HumanApprovalGiven(request="replan:a#1", approved=False, by="pat"), sender="cli")
    decision = one(PolicyDecisionApplied, out)
    assert (decision.action, decision.reason) == ("skip", "pat rejected the replan of step 'a'")
    assert one(StepSkipped, out).step == "a"
    assert one(StepAssigned, out).step == "b"


def test_a_stale_answer_changes_nothing() -> None:
    d = Driver(
        plan(A, agents=(EX,)), policy=PolicySettings(max_attempts=1, on_exhausted="escalate")
    )
    fail(d, TRANSIENT)
    d.send(PolicyDecisionApplied(action="retry", reason="try again", step="a"), sender="pat")
    assert d.state.steps["a"].status == "in_progress"
    assert d.send(HumanApprovalGiven(request="escalate:a#1", approved=False), sender="cli") == []


def test_an_interruption_from_outside_is_retried() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=PolicySettings(backoff_base_s=0.0))
    out = d.send(StepInterrupted(step="a", attempt=1, reason="process died"), sender="runtime")
    assert kinds(out) == ["step_retried", "timer_cancelled", "step_assigned", "timer_set"]
    assert one(StepRetried, out).feedback == Failure(failure_class="transient", kind="interrupted")


# ---------------------------------------------------------------- decisions


def stuck(action: ExhaustedAction = "escalate") -> Driver:
    d = Driver(
        plan(A, B, agents=(EX, EX2, VER)),
        policy=PolicySettings(max_attempts=1, on_exhausted=action),
    )
    fail(d, TRANSIENT)
    return d


def decide_on(d: Driver, **kw: object) -> list[object]:
    return d.send(PolicyDecisionApplied(reason="a person decided", step="a", **kw), sender="pat")  # type: ignore[arg-type]


def test_a_retry_decision_retries_at_once_whatever_the_attempts() -> None:
    d = stuck()
    out = decide_on(d, action="retry")
    assert kinds(out)[:2] == ["step_retried", "step_assigned"]


def test_a_change_agent_decision_retries_on_the_new_agent() -> None:
    d = stuck()
    out = decide_on(d, action="change_agent", new_agent="ex2")
    assert one(StepAssigned, out).agent == "ex2"


def test_a_change_validator_decision_retries_with_the_new_validator() -> None:
    d = stuck()
    out = decide_on(d, action="change_validator", new_validator=TestsPass(argv=("make", "check")))
    assert d.state.steps["a"].spec.validators == (TestsPass(argv=("make", "check")),)
    assert one(StepAssigned, out).step == "a"


def test_a_skip_decision_skips_the_step() -> None:
    d = stuck()
    out = decide_on(d, action="skip")
    assert kinds(out)[:2] == ["step_skipped", "step_assigned"]
    assert one(StepAssigned, out).step == "b"


def test_an_abort_decision_fails_the_run() -> None:
    d = stuck()
    out = decide_on(d, action="abort")
    assert one(RunFailed, out).reason == "aborted by decision: a person decided"


def test_an_escalate_decision_asks_a_person() -> None:
    d = Driver(plan(A, agents=(EX,)))
    # a failure journaled as the supervisor's own, with no decision after it
    # (as older code might have left it): decide leaves it to a decision
    d.send(StepFailed(step="a", attempt=1, failure=TRANSIENT), sender="supervisor")
    out = d.send(PolicyDecisionApplied(action="escalate", reason="look", step="a"), sender="pat")
    assert one(HumanApprovalRequested, out).request == "escalate:a#1"


def test_a_decompose_decision_replaces_the_step_by_its_parts() -> None:
    d = stuck()
    parts = (
        StepSpec(id="a1", goal="half"),
        StepSpec(id="a2", goal="other half", depends_on=("a1",)),
    )
    out = decide_on(d, action="decompose", new_steps=parts)
    assert kinds(out)[:2] == ["plan_attached", "step_skipped"]
    new_plan = one(PlanAttached, out).plan
    assert [s.id for s in new_plan.steps] == ["a", "a1", "a2", "b"]
    assert new_plan.steps[3].depends_on == ("a", "a1", "a2")
    assert [m.step for m in of(StepAssigned, out)] == ["a1"]
    assert d.state.steps["a"].status == "skipped"
    assert d.state.steps["b"].status == "pending"
