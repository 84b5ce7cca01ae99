"""Liveness: heartbeat deadlines, missed heartbeats, crashes and restarts."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    AgentFailed,
    AgentRestarted,
    AttemptCancelled,
    HeartbeatMissed,
    PolicyDecisionApplied,
    ReviewRequested,
    RunFailed,
    RunResumed,
    StepAssigned,
    StepFailed,
    StepInterrupted,
    StepRetried,
    TimerCancelled,
    TimerSet,
)
from playbill.runtime.model._values import AgentSpec, Failure, PolicySettings, StepSpec
from policy_helpers import EX, EX2, REV, SECOND, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="x")
TIMEOUT = PolicySettings(heartbeat_timeout_s=60.0)
CRASH = Failure(failure_class="agent", kind="crash")


def test_a_deadline_with_a_recent_heartbeat_is_set_again_from_it() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=TIMEOUT)
    d.start("a", "ex")
    d.heartbeat("ex", after_s=45)
    out = d.fire("heartbeat:a#1")
    timer = one(TimerSet, out)
    assert timer.timer == f"heartbeat:a#1@{d.state.last_seq - 1}"
    assert timer.due_us == d.state.agents["ex"].last_heartbeat_us + 60 * SECOND
    assert (timer.step, timer.attempt, timer.agent) == ("a", 1, "ex")


STALLED = Failure(
    failure_class="transient", kind="stalled", detail="ex showed no sign of progress for 60 s"
)


def test_a_missed_heartbeat_fails_the_attempt_as_stalled_and_moves_it_to_a_fallback() -> None:
    d = Driver(plan(A, agents=(EX, EX2)), policy=TIMEOUT)
    d.start("a", "ex")
    out = d.fire("heartbeat:a#1")  # 60 s after the assignment, and not one heartbeat
    assert kinds(out) == [
        "heartbeat_missed",
        "attempt_cancelled",
        "step_failed",
        "policy_decision_applied",
        "step_retried",
        "step_assigned",
        "timer_set",
    ]
    assert one(HeartbeatMissed, out) == HeartbeatMissed(agent="ex", step="a", attempt=1)
    assert one(AttemptCancelled, out).agent == "ex"
    assert d.recipients(AttemptCancelled) == ["ex"]
    assert one(StepFailed, out) == StepFailed(step="a", attempt=1, failure=STALLED)
    assert d.state.steps["a"].attempts[0].status == "failed"
    assert d.state.steps["a"].attempts[0].failure == STALLED
    assert one(PolicyDecisionApplied, out).new_agent == "ex2"
    retried = one(StepRetried, out)
    assert (retried.failure_class, retried.feedback, retried.backoff_s) == ("transient", STALLED, 0)
    assigned = one(StepAssigned, out)
    assert (assigned.agent, assigned.attempt) == ("ex2", 2)
    assert d.state.agents["ex"].status == "unresponsive"


def test_an_unresponsive_agent_gets_no_work_until_restarted() -> None:
    d = Driver(plan(A, StepSpec(id="b", goal="y"), agents=(EX, EX2)), policy=TIMEOUT)
    d.fire("heartbeat:a#1")  # ex missed it; a moves to... nobody free: ex2 has b
    assert d.state.steps["a"].status == "pending"
    out = d.propose("b", "ex2")
    assert one(StepAssigned, out).agent == "ex2"
    out = d.send(AgentRestarted(agent="ex", restarts=1), sender="runtime")
    assert out == []  # nothing waits for ex now


def test_the_only_agent_missing_its_heartbeat_is_waited_for_until_it_restarts() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=TIMEOUT)
    out = d.fire("heartbeat:a#1")
    assert kinds(out)[-2:] == ["step_retried", "timer_set"]  # the same agent, after a backoff
    out = d.fire("backoff:a#2")
    assert "run_failed" not in kinds(out)  # its actor restarts it: the run waits
    out = d.send(AgentRestarted(agent="ex", restarts=1), sender="ex")
    assert one(StepAssigned, out).agent == "ex"


def test_a_crashed_agents_work_is_interrupted_and_retried_on_another() -> None:
    d = Driver(plan(A, agents=(EX, EX2)))
    d.start("a", "ex")
    out = d.send(AgentFailed(agent="ex", failure=CRASH, step="a", attempt=1), sender="runtime")
    assert kinds(out) == [
        "attempt_cancelled",
        "step_interrupted",
        "policy_decision_applied",
        "step_retried",
        "timer_cancelled",
        "step_assigned",
        "timer_set",
    ]
    assert one(StepInterrupted, out).reason == "agent_crashed"
    assert one(StepRetried, out).failure_class == "agent"
    assert one(StepAssigned, out).agent == "ex2"
    assert one(TimerCancelled, out).timer == "heartbeat:a#1"


def test_a_crashed_agent_is_waited_for_and_takes_work_again_once_restarted() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=PolicySettings(backoff_base_s=0.0))
    out = d.send(AgentFailed(agent="ex", failure=CRASH), sender="runtime")
    assert not of(RunFailed, out)  # the supervision tree will restart it
    assert d.state.steps["a"].status == "pending"
    out = d.send(AgentRestarted(agent="ex", restarts=1), sender="runtime")
    assert [(m.step, m.agent, m.attempt) for m in of(StepAssigned, out)] == [("a", "ex", 2)]


def test_a_restart_without_a_crash_report_still_orphans_the_work() -> None:
    d = Driver(plan(A, agents=(EX,)), policy=PolicySettings(backoff_base_s=0.0))
    out = d.send(AgentRestarted(agent="ex", restarts=1), sender="runtime")
    assert one(StepRetried, out).failure_class == "transient"
    assert one(StepAssigned, out).attempt == 2


def test_a_reviewer_that_misses_its_heartbeat_is_replaced() -> None:
    rev2 = AgentSpec(id="rev2", roles=("reviewer",), edits_files=False)
    d = Driver(plan(A, agents=(EX, REV, rev2)), policy=TIMEOUT)
    d.propose("a", "ex")
    timer = next(t for t in d.state.timers.values() if t.agent == "rev").timer
    out = d.fire(timer)
    assert kinds(out) == ["heartbeat_missed", "attempt_cancelled", "review_requested", "timer_set"]
    assert one(ReviewRequested, out).reviewer == "rev2"
    assert d.state.steps["a"].attempts[0].status == "proposed"  # the work itself stands


def test_timers_of_ended_work_are_cancelled() -> None:
    d = Driver(plan(A, agents=(EX, REV)))
    out = d.propose("a", "ex")
    assert one(TimerCancelled, out).timer == "heartbeat:a#1"
    assert list(d.state.timers) == [one(TimerSet, out).timer]


def test_work_assigned_from_outside_gets_a_deadline() -> None:
    d = Driver(plan(A, StepSpec(id="b", goal="y", depends_on=("a",)), agents=(EX, EX2)))
    out = d.send(StepAssigned(step="b", agent="ex2", attempt=1), sender="pat")
    timer = one(TimerSet, out)
    assert (timer.timer, timer.agent) == (f"heartbeat:b#1@{d.state.last_seq - 1}", "ex2")
    assert timer.due_us == d.now_us + 300 * SECOND


def test_on_resume_restarted_agents_lose_their_work_which_is_redone_or_asked_again() -> None:
    d = Driver(plan(A, StepSpec(id="b", goal="y"), agents=(EX, EX2, REV)))
    d.propose("a", "ex")  # rev reviews a, ex2 works on b... and the process dies
    assert d.send(RunResumed(by="runtime"), sender="runtime") == []
    for agent in ("ex", "ex2"):
        d.send(AgentRestarted(agent=agent, restarts=1), sender="runtime")
    out = d.send(AgentRestarted(agent="rev", restarts=1), sender="runtime")
    assert kinds(out) == ["timer_cancelled", "review_requested", "timer_set"]
    assert one(ReviewRequested, out).reviewer == "rev"
    b = d.state.steps["b"]
    assert [a.status for a in b.attempts] == ["interrupted"]
    assert "backoff:b#2" in d.state.timers  # a transient loss: the same agents, after a wait
    assert b.feedback == Failure(
        failure_class="transient", kind="work_lost", detail="ex2 no longer works on attempt 1"
    )


def test_the_hung_agent_is_not_asked_again_first_even_once_it_restarted() -> None:
    d = Driver(plan(A, StepSpec(id="b", goal="y"), agents=(EX, EX2)), policy=TIMEOUT)
    d.start("a", "ex")
    d.propose("b", "ex2")  # ex2 is free again before ex stalls
    out = d.fire("heartbeat:a#1")
    assert one(StepAssigned, out) == StepAssigned(
        step="a", agent="ex2", attempt=2, heartbeat_timeout_s=60.0, feedback=STALLED
    )
    out = d.send(AgentRestarted(agent="ex", restarts=1), sender="ex")
    assert not of(StepAssigned, out)  # ex is back, and a stays with ex2
    assert d.state.steps["a"].owner == "ex2"


def test_an_agent_that_timed_out_gives_its_step_to_another_agent_at_once() -> None:
    d = Driver(plan(A, agents=(EX, EX2)), policy=TIMEOUT)
    d.start("a", "ex")
    timeout = Failure(failure_class="transient", kind="timeout", detail="killed after 1800 s")
    out = d.send(StepFailed(step="a", attempt=1, failure=timeout), sender="ex")
    assert one(PolicyDecisionApplied, out).new_agent == "ex2"
    assert one(StepRetried, out).backoff_s == 0
    assert one(StepAssigned, out).agent == "ex2"


def test_other_transient_failures_still_wait_a_backoff_for_whoever_is_free() -> None:
    d = Driver(plan(A, agents=(EX, EX2)), policy=TIMEOUT)
    d.start("a", "ex")
    flaky = Failure(failure_class="transient", kind="rate_limited")
    out = d.send(StepFailed(step="a", attempt=1, failure=flaky), sender="ex")
    assert not of(PolicyDecisionApplied, out)
    assert one(StepRetried, out).backoff_s == 5.0
    assert one(TimerSet, out).timer == "backoff:a#2"


def test_an_agents_own_stall_window_replaces_the_policys() -> None:
    quick = AgentSpec(id="ex", roles=("executor",), heartbeat_timeout_s=10.0)
    d = Driver(plan(A, agents=(quick, EX2)), policy=TIMEOUT)
    assigned = one(StepAssigned, d.first)
    assert (assigned.agent, assigned.heartbeat_timeout_s) == ("ex", 10.0)
    assert d.state.timers["heartbeat:a#1"].due_us == d.now_us + 10 * SECOND
    d.heartbeat("ex", after_s=8)
    out = d.fire("heartbeat:a#1")  # a heartbeat 2 s ago: 8 s more
    assert one(TimerSet, out).due_us == d.now_us + 8 * SECOND
    d.later(8)
    out = d.fire_due()
    failed = one(StepFailed, out)
    assert failed.failure == Failure(
        failure_class="transient", kind="stalled", detail="ex showed no sign of progress for 10 s"
    )
    # ex2 keeps the policy's window
    assert one(StepAssigned, out).heartbeat_timeout_s == 60.0


def test_a_stalled_reviewer_is_replaced_and_the_attempt_stands() -> None:
    rev2 = AgentSpec(id="rev2", roles=("reviewer",), edits_files=False)
    d = Driver(plan(A, agents=(EX, REV, rev2)), policy=TIMEOUT)
    d.propose("a", "ex")
    timer = next(t for t in d.state.timers.values() if t.agent == "rev").timer
    out = d.fire(timer)
    assert one(AttemptCancelled, out).reason == "stalled: rev showed no sign of progress for 60 s"
    assert not of(StepFailed, out)
    assert d.state.steps["a"].attempts[0].status == "proposed"
