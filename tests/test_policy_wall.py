"""Wall-time budgets: deadlines armed as journaled timers, work cancelled at them."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    AttemptCancelled,
    BudgetExhausted,
    PolicyDecisionApplied,
    RunFailed,
    StepAssigned,
    StepInterrupted,
    StepRetried,
    TimerCancelled,
    TimerSet,
)
from playbill.runtime.model._values import AgentSpec, Budget, PolicySettings, StepSpec
from policy_helpers import EX, EX2, SECOND, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="x")
B = StepSpec(id="b", goal="y")
SLOW = AgentSpec(id="slow", roles=("executor",), budget=Budget(wall_s=3.0))


def deadlines(d: Driver) -> dict[str | None, int]:
    """The pending wall deadlines, by agent (``None``: the run's)."""
    return {t.agent: t.due_us for t in d.state.timers.values() if t.purpose == "deadline"}


def test_an_agents_wall_budget_is_a_deadline_armed_with_its_work() -> None:
    d = Driver(plan(A, agents=(SLOW, EX)))
    start = d.now_us
    timer = one(TimerSet, [m for m in d.first if getattr(m, "purpose", "") == "deadline"])
    assert (timer.agent, timer.due_us, timer.step) == ("slow", start + 3 * SECOND, None)
    assert timer.timer == f"wall:slow@{d.state.last_seq - len(d.first)}"


def test_the_work_is_cancelled_at_the_deadline_and_moved_to_another_agent() -> None:
    d = Driver(plan(A, agents=(SLOW, EX)))
    start = d.now_us
    d.start("a", "slow")
    d.heartbeat("slow", after_s=2.0)
    timer = next(t.timer for t in d.state.timers.values() if t.purpose == "deadline")
    out = d.fire(timer)
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
    assert one(BudgetExhausted, out) == BudgetExhausted(
        resource="wall",
        limit=3.0,
        used=3.0,
        action="cancelled",
        agent="slow",
        step="a",
        deadline_us=start + 3 * SECOND,
        reason="slow's wall time used up: 3.0 of 3 s; its work was cancelled at the deadline",
    )
    assert d.recipients(AttemptCancelled) == ["slow"]
    assert one(StepRetried, out).failure_class == "budget"
    assert one(PolicyDecisionApplied, out).new_agent == "ex"
    assert one(StepAssigned, out).agent == "ex"
    assert d.state.agents["slow"].budget_exhausted
    assert deadlines(d) == {}  # ex has no wall budget, and the run none


def test_wall_time_reported_during_the_work_is_not_counted_twice() -> None:
    d = Driver(plan(A, agents=(SLOW, EX)))
    due = deadlines(d)["slow"]
    d.later(1.0)
    assert d.usage("slow", "a", 1, wall_s=1.0) == []  # quiet: the deadline stands
    assert d.state.agents["slow"].busy_wall_s == 1.0
    d.later(1.5)
    out = d.fire_due()  # nothing due yet
    assert out == [] and deadlines(d) == {"slow": due}
    d.now_us = due
    exhausted = one(BudgetExhausted, d.fire_due())
    assert exhausted.used == 3.0


def test_work_that_ends_in_time_cancels_its_deadline() -> None:
    d = Driver(plan(A, agents=(SLOW,)))
    armed = next(t.timer for t in d.state.timers.values() if t.purpose == "deadline")
    d.later(1.0)
    d.usage("slow", "a", 1, wall_s=1.0)
    out = d.propose("a", "slow")
    assert "budget_exhausted" not in kinds(out)
    assert armed in [m.timer for m in of(TimerCancelled, out)]
    assert deadlines(d) == {}
    assert d.state.agents["slow"].busy_since_us is None


def test_the_next_work_gets_what_is_left_of_the_budget() -> None:
    d = Driver(plan(A, B, agents=(SLOW,)))
    d.later(1.0)
    d.usage("slow", "a", 1, wall_s=1.0)
    out = d.propose("a", "slow")
    assert one(StepAssigned, out).step == "b"
    assert deadlines(d) == {"slow": d.now_us + 2 * SECOND}  # 2 of its 3 s are left


def test_the_runs_wall_budget_counts_all_work_in_flight() -> None:
    d = Driver(plan(A, B, agents=(EX, EX2)), budget=Budget(wall_s=10.0))
    start = d.now_us
    assert deadlines(d) == {None: start + 5 * SECOND}  # two at work: 10 s last 5
    d.later(2.0)
    d.usage("ex", "a", 1, wall_s=2.0)
    out = d.propose("a", "ex")  # 2 s used; b alone uses the 8 s left from its start
    timers = of(TimerSet, out)
    assert [(t.agent, t.due_us) for t in timers if t.purpose == "deadline"] == [
        (None, start + 8 * SECOND)
    ]
    d.now_us = start + 8 * SECOND
    out = d.fire_due()
    exhausted = one(BudgetExhausted, out)
    assert (exhausted.agent, exhausted.used, exhausted.step) == (None, 10.0, "b")
    assert exhausted.reason == (
        "the run's wall time used up: 10.0 of 10 s; the work in flight was cancelled "
        "at the deadline"
    )
    failed = one(RunFailed, out)
    assert failed.failure_class == "budget"
    assert failed.reason == "the run's wall budget is used up (10 of 10) at its deadline"
    assert [m.step for m in of(StepInterrupted, out)] == ["b"]
    assert deadlines(d) == {}


def test_a_plan_without_a_wall_budget_gets_no_deadline() -> None:
    d = Driver(plan(A, agents=(EX,)), budget=Budget(tokens=1000))
    assert deadlines(d) == {}
    d.start("a", "ex")
    d.propose("a", "ex")
    assert not [e for e in d.entries if isinstance(e.msg, TimerSet) and e.msg.purpose == "deadline"]


def step_deadlines(d: Driver) -> dict[str, int]:
    """The pending wall deadlines of steps' budgets, by timer id without its seq."""
    return {
        t.timer.rsplit("@", 1)[0]: t.due_us
        for t in d.state.timers.values()
        if t.purpose == "deadline" and t.timer.startswith("wall/")
    }


def test_a_steps_wall_budget_counts_all_its_work_and_only_its_own() -> None:
    timed = StepSpec(id="a", goal="x", budget=Budget(wall_s=3.0))
    d = Driver(plan(timed, B, agents=(EX, EX2)))
    start = d.now_us
    assert step_deadlines(d) == {"wall/a": start + 3 * SECOND}  # b's work does not count
    d.later(1.0)
    d.usage("ex", "a", 1, wall_s=1.0)
    d.propose("a", "ex")  # a is being reviewed: no one works on it
    assert step_deadlines(d) == {}
    d.later(5.0)  # b's agent works on: not a's budget
    assert d.fire_due() == []


def test_a_steps_wall_budget_stops_the_work_at_the_deadline() -> None:
    timed = StepSpec(id="a", goal="x", budget=Budget(wall_s=3.0))
    d = Driver(plan(timed, agents=(EX, EX2)), policy=PolicySettings(on_exhausted="abort"))
    start = d.now_us
    d.start("a", "ex")
    d.later(3.0)
    out = d.fire_due()
    exhausted = one(BudgetExhausted, out)
    assert (exhausted.step, exhausted.of_step, exhausted.agent) == ("a", True, None)
    assert exhausted.deadline_us == start + 3 * SECOND
    assert exhausted.reason == (
        "step 'a''s wall budget is used up (3.0 of 3 s); its work was cancelled at the deadline"
    )
    assert d.recipients(AttemptCancelled) == ["ex"]
    assert one(RunFailed, out).failure_class == "budget"
    assert not d.state.agents["ex"].budget_exhausted  # the step's budget, not the agent's
