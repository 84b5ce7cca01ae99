"""The reducer's transitions, one behaviour at a time."""

from __future__ import annotations

from factories import entry, run_state
from playbill.runtime import (
    HISTORY_LIMIT,
    AgentSpec,
    AttemptCancelled,
    Failure,
    Finding,
    Heartbeat,
    ImplementationPayload,
    NoteWritten,
    Plan,
    PlanAttached,
    PolicyDecisionApplied,
    ProcessEnded,
    ProcessInfo,
    ProcessStarted,
    ResultEnvelope,
    ResultProposed,
    ReviewGiven,
    ReviewPayload,
    RunCompleted,
    RunCreated,
    RunPaused,
    RunResumed,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepRetried,
    StepSpec,
    StepStarted,
    TestsPass,
    TimerFired,
    TimerSet,
    Usage,
    UsageReported,
    evolve,
    fold,
    initial_state,
)

PLAN = Plan(
    steps=(StepSpec(id="b", goal="second"), StepSpec(id="a", goal="first")),
    agents=(
        AgentSpec(id="ex", roles=("executor",)),
        AgentSpec(id="rev", roles=("reviewer",)),
    ),
)

BASE = (RunCreated(goal="g"), PlanAttached(plan=PLAN))


def test_plan_order_is_kept_for_steps_and_agents() -> None:
    state = run_state(*BASE)
    assert state.status == "running"
    assert list(state.steps) == ["b", "a"]
    assert list(state.agents) == ["ex", "rev"]


def test_assignment_makes_the_agent_busy_and_the_step_owned() -> None:
    state = run_state(*BASE, StepAssigned(step="a", agent="ex", attempt=1))
    assert state.steps["a"].status == "in_progress"
    assert state.steps["a"].owner == "ex"
    assert state.agents["ex"].status == "busy"
    assert (state.agents["ex"].step, state.agents["ex"].attempt) == ("a", 1)
    assert state.attempts == 1
    assert state.anomaly_count == 0


def test_attempt_numbers_must_be_dense() -> None:
    state = run_state(*BASE, StepAssigned(step="a", agent="ex", attempt=2))
    assert state.steps["a"].attempts == ()
    assert state.anomaly_count == 1
    assert "expected attempt 1" in state.anomalies[0]


def result(agent: str, payload, attempt: int = 1) -> ResultProposed:
    return ResultProposed(
        result=ResultEnvelope(
            agent=agent,
            role="executor" if agent == "ex" else "reviewer",
            step="a",
            attempt=attempt,
            exit_status="ok",
            payload=payload,
        )
    )


def test_a_reviewers_report_does_not_replace_the_executors_result() -> None:
    impl = ImplementationPayload(summary="done")
    finding = Finding(severity="major", message="quote fields")
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        StepStarted(step="a", agent="ex", attempt=1),
        result("ex", impl),
        result("rev", ReviewPayload(verdict="request_changes", findings=(finding,))),
        ReviewGiven(
            step="a",
            attempt=1,
            reviewer="rev",
            verdict="request_changes",
            outcome="changes_requested",
            findings=(finding,),
        ),
    )
    attempt = state.steps["a"].attempts[0]
    assert attempt.result is not None and attempt.result.payload == impl
    assert [r.agent for r in attempt.reports] == ["rev"]
    assert attempt.review == "changes_requested"
    assert attempt.findings == (finding,)
    assert state.steps["a"].status == "verify_pending"
    assert state.agents["ex"].status == "idle"


def test_failure_then_retry_feeds_the_failure_into_the_next_attempt() -> None:
    failure = Failure(failure_class="validation", kind="tests_failed", detail="2 failed")
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        StepFailed(step="a", attempt=1, failure=failure),
        StepRetried(step="a", next_attempt=2, failure_class="validation", feedback=failure),
        StepAssigned(step="a", agent="ex", attempt=2, feedback=failure),
    )
    step = state.steps["a"]
    assert step.retries == 1 and state.retries == 1
    assert step.last_failure == failure
    assert [a.status for a in step.attempts] == ["failed", "assigned"]
    assert step.attempts[1].feedback == failure


def test_usage_adds_up_per_attempt_agent_and_run() -> None:
    usage = Usage(tokens_in=10, tokens_out=5, cost_usd=0.5, wall_s=2.0)
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        UsageReported(agent="ex", usage=usage, step="a", attempt=1),
        UsageReported(agent="ex", usage=usage),
    )
    assert state.usage == usage + usage
    assert state.agents["ex"].usage == usage + usage
    assert state.steps["a"].attempts[0].usage == usage


def test_heartbeats_track_the_agents_last_sign_of_life() -> None:
    state = run_state(*BASE, Heartbeat(agent="ex"), Heartbeat(agent="ex"))
    assert state.agents["ex"].last_heartbeat_us == 4000


def test_timers_leave_the_state_when_they_fire() -> None:
    state = run_state(*BASE, TimerSet(timer="t1", due_us=99, purpose="backoff"))
    assert list(state.timers) == ["t1"]
    state = run_state(
        *BASE, TimerSet(timer="t1", due_us=99, purpose="backoff"), TimerFired(timer="t1")
    )
    assert state.timers == {}
    state = run_state(*BASE, TimerFired(timer="never-set"))
    assert state.anomaly_count == 1


def test_terminal_status_is_absorbing() -> None:
    state = run_state(*BASE, RunCompleted(summary="ok"), RunResumed(by="someone"))
    assert state.status == "completed"
    assert state.anomaly_count == 1


def test_an_entry_that_does_not_follow_is_an_anomaly_not_a_crash() -> None:
    state = fold(
        [
            entry(RunCreated(goal="g"), seq=1, at_us=1),
            entry(NoteWritten(author="a", text="x"), seq=5, at_us=2),
            entry(NoteWritten(author="a", text="x"), seq=2, run_id="other", at_us=3),
        ]
    )
    assert state.last_seq == 1
    assert state.note_count == 0
    assert state.anomaly_count == 2


def test_histories_are_bounded_but_counted() -> None:
    notes = [NoteWritten(author="a", text=str(i)) for i in range(HISTORY_LIMIT + 7)]
    state = run_state(*BASE, *notes)
    assert state.note_count == HISTORY_LIMIT + 7
    assert len(state.notes) == HISTORY_LIMIT
    assert state.notes[-1].text == str(HISTORY_LIMIT + 6)
    assert state.notes[0].text == "7"


def test_policy_can_decompose_move_and_revalidate_steps() -> None:
    validator = TestsPass(argv=("pytest", "-q"))
    state = run_state(
        *BASE,
        PolicyDecisionApplied(action="change_agent", reason="r", step="a", new_agent="rev"),
        PolicyDecisionApplied(
            action="change_validator", reason="r", step="a", new_validator=validator
        ),
        PolicyDecisionApplied(
            action="decompose",
            reason="too big",
            step="b",
            new_steps=(StepSpec(id="b1", goal="half"), StepSpec(id="a", goal="dup")),
        ),
    )
    assert state.steps["a"].agent_override == "rev"
    assert state.steps["a"].spec.validators == (validator,)
    assert list(state.steps) == ["b", "a", "b1"]
    assert state.steps["a"].spec.goal == "first"  # an existing step is never replaced
    assert state.decision_count == 3


def test_completion_records_the_accepted_attempt() -> None:
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        StepCompleted(step="a", attempt=1),
    )
    assert state.steps["a"].completed_attempt == 1
    assert state.steps["a"].owner is None
    assert state.steps_done() == 1


def test_evolve_returns_new_values_and_leaves_the_old_state_alone() -> None:
    before = run_state(*BASE)
    assigned = entry(StepAssigned(step="a", agent="ex", attempt=1), seq=3, at_us=9)
    after = evolve(before, assigned)
    assert before.steps["a"].status == "pending"
    assert after.steps["a"].status == "in_progress"
    assert before != after
    assert initial_state().status == "new"


def test_a_result_after_its_attempt_ended_changes_nothing_but_a_count() -> None:
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        StepFailed(step="a", attempt=1, failure=Failure(failure_class="agent", kind="hang")),
        result("ex", ImplementationPayload(summary="too late")),
    )
    attempt = state.steps["a"].attempts[0]
    assert attempt.status == "failed" and attempt.result is None
    assert state.steps["a"].status == "failed"
    assert state.late_results == 1 and state.anomaly_count == 0


def process(pid: int, host: str = "h") -> ProcessInfo:
    return ProcessInfo(pid=pid, pgid=pid, start_ticks=7, boot_id="b", host=host)


def test_processes_of_work_in_flight_are_kept_until_the_work_ends() -> None:
    started = ProcessStarted(agent="ex", process=process(41), step="a", attempt=1)
    working = (*BASE, StepAssigned(step="a", agent="ex", attempt=1), started)
    state = run_state(*working)
    assert [(p.agent, p.step, p.attempt, p.process.pid, p.seq) for p in state.processes] == [
        ("ex", "a", 1, 41, 4)
    ]
    # the work ends (a result, a failure, a cancel): its processes go with it
    failure = Failure(failure_class="agent", kind="exit_status")
    assert run_state(*working, StepFailed(step="a", attempt=1, failure=failure)).processes == ()
    cancelled = AttemptCancelled(step="a", attempt=1, agent="ex", reason="budget")
    assert run_state(*working, cancelled).processes == ()
    assert run_state(*working, result("ex", ImplementationPayload(summary="done"))).processes == ()
    assert run_state(*working).anomaly_count == 0


def test_a_process_of_work_that_already_ended_is_not_kept() -> None:
    late = ProcessStarted(agent="ex", process=process(41), step="a", attempt=1)
    cancelled = AttemptCancelled(step="a", attempt=1, agent="ex")
    state = run_state(*BASE, StepAssigned(step="a", agent="ex", attempt=1), cancelled, late)
    assert state.processes == ()
    assert state.anomaly_count == 0


def test_a_resumed_run_ends_the_processes_it_dealt_with() -> None:
    working = (
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        ProcessStarted(agent="ex", process=process(41), step="a", attempt=1),
        ProcessStarted(agent="ex", process=process(42, host="other"), step="a", attempt=1),
    )
    state = run_state(*working, ProcessEnded(agent="ex", pid=41, host="h", how="reaped"))
    assert [(p.process.pid, p.process.host) for p in state.processes] == [(42, "other")]
    assert state.anomaly_count == 0
    unknown = run_state(*working, ProcessEnded(agent="ex", pid=41, host="other", how="gone"))
    assert len(unknown.processes) == 2
    assert unknown.anomaly_count == 1
    assert "end of unknown process 41" in unknown.anomalies[0]


def test_a_pause_that_stopped_agents_leaves_them_restarting() -> None:
    state = run_state(
        *BASE,
        StepAssigned(step="a", agent="ex", attempt=1),
        RunPaused(reason="interrupted by SIGINT", stopped=("ex", "rev")),
    )
    assert state.status == "paused"
    assert state.reason == "interrupted by SIGINT"
    assert [a.status for a in state.agents.values()] == ["restarting", "restarting"]
    assert run_state(*BASE, RunPaused(reason="coffee")).agents["ex"].status == "idle"
