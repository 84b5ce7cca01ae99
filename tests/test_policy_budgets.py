"""Budgets: refused before work starts, cancelled when usage crosses them."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    AttemptCancelled,
    BudgetExhausted,
    PolicyDecisionApplied,
    RunFailed,
    StepAssigned,
    StepFailed,
    StepInterrupted,
    StepRetried,
)
from playbill.runtime.model._values import AgentSpec, Budget, Failure, PolicySettings, StepSpec
from policy_helpers import EX, EX2, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="x")
B = StepSpec(id="b", goal="y")
C = StepSpec(id="c", goal="z", depends_on=("a",))
TRANSIENT = Failure(failure_class="transient", kind="flaky")


def test_usage_crossing_the_run_budget_cancels_all_work_and_fails_the_run() -> None:
    d = Driver(plan(A, B, agents=(EX, EX2)), budget=Budget(tokens=1_000))
    assert d.usage("ex", "a", 1, tokens_in=600) == []
    out = d.usage("ex2", "b", 1, tokens_in=500)
    assert kinds(out)[:2] == ["budget_exhausted", "run_failed"]
    exhausted = one(BudgetExhausted, out)
    assert exhausted == BudgetExhausted(
        resource="tokens", limit=1000.0, used=1100.0, action="cancelled", step="a"
    )
    failed = one(RunFailed, out)
    assert failed.reason == "the run's tokens budget is used up (1100 of 1000)"
    assert failed.failure_class == "budget"
    assert {m.agent for m in of(AttemptCancelled, out)} == {"ex", "ex2"}
    assert {m.step for m in of(StepInterrupted, out)} == {"a", "b"}


def test_usage_crossing_an_agent_budget_moves_its_work_to_another_agent() -> None:
    cheap = AgentSpec(id="cheap", roles=("executor",), budget=Budget(cost_usd=1.0))
    d = Driver(plan(A, agents=(cheap, EX)))
    out = d.usage("cheap", "a", 1, cost_usd=1.5)
    assert kinds(out) == [
        "budget_exhausted",
        "attempt_cancelled",
        "step_interrupted",
        "policy_decision_applied",
        "step_retried",
        "timer_cancelled",
        "step_assigned",
        "timer_set",
    ]
    exhausted = one(BudgetExhausted, out)
    assert (exhausted.resource, exhausted.agent, exhausted.action) == ("cost", "cheap", "cancelled")
    assert one(StepRetried, out).failure_class == "budget"
    assert one(PolicyDecisionApplied, out).new_agent == "ex"
    assert one(StepAssigned, out).agent == "ex"
    assert d.state.agents["cheap"].budget_exhausted
    # it is journaled once, however much more is reported
    assert d.usage("cheap", cost_usd=1.0) == []


def test_an_agent_out_of_attempts_is_refused_once_and_given_no_more_work() -> None:
    limited = AgentSpec(id="lim", roles=("executor",), budget=Budget(attempts=1))
    d = Driver(plan(A, C, B, agents=(limited, EX)))
    assert [(m.step, m.agent) for m in of(StepAssigned, d.first)] == [("a", "lim"), ("b", "ex")]
    out = d.propose("a", "lim")
    refused = one(BudgetExhausted, out)
    assert (refused.resource, refused.agent, refused.action, refused.step) == (
        "attempts",
        "lim",
        "refused",
        "c",
    )
    assert not of(StepAssigned, out)  # c waits for ex
    out = d.propose("b", "ex")
    assert not of(BudgetExhausted, out)
    assert [(m.step, m.agent) for m in of(StepAssigned, out)] == [("c", "ex")]


def test_an_agent_out_of_retries_takes_no_retry() -> None:
    once = AgentSpec(id="once", roles=("executor",), budget=Budget(retries=0))
    d = Driver(plan(A, agents=(once, EX)), policy=PolicySettings(backoff_base_s=0.0))
    out = d.send(StepFailed(step="a", attempt=1, failure=TRANSIENT), sender="validators")
    assert one(BudgetExhausted, out).resource == "retries"
    assert one(StepAssigned, out).agent == "ex"


def test_the_run_out_of_attempts_fails_when_a_step_cannot_start() -> None:
    d = Driver(plan(A, C, agents=(EX,)), budget=Budget(attempts=1))
    out = d.propose("a", "ex")
    refused = one(BudgetExhausted, out)
    assert (refused.resource, refused.action, refused.agent) == ("attempts", "refused", None)
    assert one(RunFailed, out).reason == (
        "step 'c' cannot start: the run's attempts budget is used up (1 of 1)"
    )


def test_the_run_out_of_retries_fails_when_a_step_needs_one() -> None:
    d = Driver(plan(A, agents=(EX,)), budget=Budget(retries=0))
    out = d.send(StepFailed(step="a", attempt=1, failure=TRANSIENT), sender="validators")
    assert one(BudgetExhausted, out).resource == "retries"
    assert not of(StepRetried, out)
    assert one(RunFailed, out).failure_class == "budget"


def test_a_reviewer_out_of_budget_is_not_asked() -> None:
    broke = AgentSpec(id="broke", roles=("reviewer",), edits_files=False, budget=Budget(tokens=10))
    d = Driver(plan(A, agents=(EX, broke)))
    d.usage("broke", tokens_in=50)
    assert d.state.agents["broke"].budget_exhausted
    out = d.propose("a", "ex")
    assert kinds(out) == ["timer_cancelled", "step_completed", "run_completed"]


def test_usage_crossing_a_steps_budget_stops_its_work_and_the_step_is_out_of_attempts() -> None:
    thrifty = StepSpec(id="a", goal="x", budget=Budget(tokens=1_000))
    d = Driver(plan(thrifty, B, agents=(EX, EX2)), policy=PolicySettings(on_exhausted="skip"))
    assert d.usage("ex", "a", 1, tokens_in=600) == []
    assert d.usage("ex2", "b", 1, tokens_in=5_000) == []  # another step's usage: not a's
    out = d.usage("ex", "a", 1, tokens_in=500)
    assert kinds(out)[:4] == [
        "budget_exhausted",
        "attempt_cancelled",
        "step_interrupted",
        "policy_decision_applied",
    ]
    assert one(BudgetExhausted, out) == BudgetExhausted(
        resource="tokens",
        limit=1000.0,
        used=1100.0,
        action="cancelled",
        step="a",
        of_step=True,
        reason="step 'a''s tokens budget is used up (1100 of 1000)",
    )
    assert one(AttemptCancelled, out).agent == "ex"
    decision = one(PolicyDecisionApplied, out)
    assert (decision.action, decision.step) == ("skip", "a")
    assert "its budget is used up" in decision.reason
    assert d.state.steps["a"].status == "skipped"
    # no retry of a, and the other step goes on; the agent keeps its own budget
    assert not of(StepRetried, out)
    assert d.state.steps["b"].status == "in_progress"
    assert not d.state.agents["ex"].budget_exhausted
    assert d.usage("ex", "a", 1, tokens_in=500) == []  # journaled once
