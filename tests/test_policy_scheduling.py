"""Scheduling: ready steps over the DAG, scopes, agent choice, pause and cancel."""

from __future__ import annotations

from playbill.runtime.model._messages import (
    AttemptCancelled,
    ControlRequested,
    PolicyDecisionApplied,
    RunCancelled,
    RunFailed,
    RunPaused,
    RunResumed,
    StepAssigned,
    StepInterrupted,
    TimerCancelled,
    TimerSet,
)
from playbill.runtime.model._values import AgentSpec, ControlRequest, PolicySettings, StepSpec
from policy_helpers import EX, EX2, REV, SECOND, VER, Driver, kinds, of, one, plan


def step(sid: str, **kw: object) -> StepSpec:
    return StepSpec(id=sid, goal=f"do {sid}", **kw)  # type: ignore[arg-type]


def test_the_plan_starts_its_ready_steps_with_a_heartbeat_deadline_each() -> None:
    d = Driver(
        plan(step("a"), step("b", depends_on=("a",)), agents=(EX, REV, VER)),
        policy=PolicySettings(heartbeat_timeout_s=30.0),
    )
    assert kinds(d.first) == ["step_assigned", "timer_set"]
    assigned = one(StepAssigned, d.first)
    assert assigned == StepAssigned(step="a", agent="ex", attempt=1, heartbeat_timeout_s=30.0)
    timer = one(TimerSet, d.first)
    plan_seq = 2
    assert timer.timer == "heartbeat:a#1"
    assert (timer.purpose, timer.step, timer.attempt, timer.agent) == ("heartbeat", "a", 1, "ex")
    assert timer.due_us == d.entries[plan_seq - 1].at_us + 30 * SECOND
    # the envelope: commands to the agent, timers to the supervisor, caused by the plan
    by_type = {type(e.msg): e for e in d.entries[plan_seq:]}
    assert by_type[StepAssigned].recipient == "ex"
    assert by_type[TimerSet].recipient == "supervisor"
    assert all(e.sender == "supervisor" and e.cause == plan_seq for e in d.entries[plan_seq:])


def test_a_step_waits_for_its_dependencies() -> None:
    d = Driver(plan(step("a"), step("b", depends_on=("a",)), agents=(EX, EX2)))
    assert [m.step for m in of(StepAssigned, d.first)] == ["a"]
    d.start("a", "ex")
    done = d.propose("a", "ex")
    assert d.state.steps["a"].status == "completed"  # no reviewer or verifier in this plan
    assert [(m.step, m.agent) for m in of(StepAssigned, done)] == [("b", "ex")]


def test_a_skipped_dependency_lets_its_dependents_go_on() -> None:
    d = Driver(plan(step("a"), step("b", depends_on=("a",)), agents=(EX,)))
    out = d.send(PolicyDecisionApplied(action="skip", reason="not needed", step="a"), sender="pat")
    assert kinds(out)[:2] == ["attempt_cancelled", "step_interrupted"]
    assert d.state.steps["a"].status == "skipped"
    assert [m.step for m in of(StepAssigned, out)] == ["b"]


def test_steps_whose_scopes_overlap_never_run_together() -> None:
    d = Driver(
        plan(
            step("wide", scope=("src/**",)),
            step("narrow", scope=("src/a.py",)),
            step("docs", scope=("docs/*.md",)),
            step("read"),
            agents=(EX, EX2, AgentSpec(id="ex3", roles=("executor",)), REV),
        )
    )
    assert [m.step for m in of(StepAssigned, d.first)] == ["wide", "docs", "read"]
    # the scope is held until the step ends, not just until it proposes
    assert kinds(d.propose("wide", "ex")) == ["timer_cancelled", "review_requested", "timer_set"]
    assert d.state.steps["narrow"].status == "pending"
    out = d.review("wide", "rev", "pass")
    assert [(m.step, m.agent) for m in of(StepAssigned, out)] == [("narrow", "ex")]


def test_a_scope_is_free_again_when_the_step_ends() -> None:
    d = Driver(
        plan(step("wide", scope=("src/**",)), step("narrow", scope=("src/a.py",)), agents=(EX, EX2))
    )
    out = d.propose("wide", "ex")
    assert [(m.step, m.agent) for m in of(StepAssigned, out)] == [("narrow", "ex")]


def test_agents_are_chosen_by_role_and_file_editing_in_plan_order() -> None:
    reader = AgentSpec(id="reader", roles=("executor",), edits_files=False)
    d = Driver(plan(step("edit", scope=("src/**",)), step("look"), agents=(reader, EX)))
    assert [(m.step, m.agent) for m in of(StepAssigned, d.first)] == [
        ("edit", "ex"),
        ("look", "reader"),
    ]


def test_a_change_of_agent_comes_first() -> None:
    d = Driver(plan(step("a"), step("b", depends_on=("a",)), agents=(EX, EX2)))
    d.send(
        PolicyDecisionApplied(action="change_agent", reason="r", step="b", new_agent="ex2"),
        sender="pat",
    )
    out = d.propose("a", "ex")
    assert [(m.step, m.agent) for m in of(StepAssigned, out)] == [("b", "ex2")]


def test_a_paused_run_starts_nothing_until_it_is_resumed() -> None:
    d = Driver(plan(step("a"), step("b", depends_on=("a",)), agents=(EX,)))
    d.send(RunPaused(reason="lunch"), sender="cli")
    assert not of(StepAssigned, d.propose("a", "ex"))
    assert d.state.steps["a"].status == "completed"
    out = d.send(RunResumed(), sender="cli")
    assert [m.step for m in of(StepAssigned, out)] == ["b"]


def test_pause_and_resume_control_requests_are_carried_out_or_refused() -> None:
    d = Driver(plan(step("a"), agents=(EX,)))
    pause = ControlRequest(action="pause", by="pat", reason="lunch")
    assert kinds(d.send(ControlRequested(request_id=1, request=pause), sender="control")) == [
        "run_paused"
    ]
    again = d.send(ControlRequested(request_id=2, request=pause), sender="control")
    assert kinds(again) == ["note_written"]
    assert "refused: the run is paused, not running" in again[0].text  # type: ignore[union-attr]
    resume = ControlRequest(action="resume", by="pat")
    assert kinds(d.send(ControlRequested(request_id=3, request=resume), sender="control")) == [
        "run_resumed"
    ]


def test_cancelling_the_run_stops_all_work_and_timers() -> None:
    d = Driver(plan(step("a"), step("b"), agents=(EX, EX2)))
    out = d.send(
        ControlRequested(request_id=1, request=ControlRequest(action="cancel", reason="enough")),
        sender="control",
    )
    assert kinds(out)[0] == "run_cancelled"
    assert {m.agent for m in of(AttemptCancelled, out)} == {"ex", "ex2"}
    assert {m.step for m in of(StepInterrupted, out)} == {"a", "b"}
    assert {m.timer for m in of(TimerCancelled, out)} == {"heartbeat:a#1", "heartbeat:b#1"}
    assert d.state.status == "cancelled" and not d.state.timers
    assert d.propose("a", "ex") == []  # late results change nothing


def test_a_run_cancelled_from_outside_is_wound_down_too() -> None:
    d = Driver(plan(step("a"), agents=(EX,)))
    out = d.send(RunCancelled(reason="user"), sender="cli")
    assert kinds(out) == ["attempt_cancelled", "step_interrupted", "timer_cancelled"]


def test_a_step_no_agent_can_play_fails_the_run_naming_it() -> None:
    d = Driver(plan(step("a", role="verifier"), agents=(EX,)))
    failed = one(RunFailed, d.first)
    assert failed.reason == "step 'a' needs a verifier and no agent of the plan is one"
    assert failed.failure_class == "policy"


def test_a_step_with_a_scope_needs_an_agent_that_edits_files() -> None:
    reader = AgentSpec(id="reader", roles=("executor",), edits_files=False)
    d = Driver(plan(step("a", scope=("src/**",)), agents=(reader,)))
    assert "needs an executor that edits files" in one(RunFailed, d.first).reason


def test_an_unknown_dependency_fails_the_run() -> None:
    d = Driver(plan(step("a", depends_on=("ghost",)), agents=(EX,)))
    assert one(RunFailed, d.first).reason == "step 'a' depends on ghost, not in the plan"


def test_an_unknown_strategy_fails_the_run() -> None:
    d = Driver(plan(step("a", strategy="tournament"), agents=(EX,)))
    assert "strategy 'tournament', which is unknown" in one(RunFailed, d.first).reason


def test_an_empty_plan_completes_at_once() -> None:
    d = Driver(plan(agents=(EX,)))
    assert kinds(d.first) == ["run_completed"]


def test_the_run_completes_when_every_step_is_done() -> None:
    d = Driver(plan(step("a"), agents=(EX,)))
    out = d.propose("a", "ex")
    assert kinds(out) == ["timer_cancelled", "step_completed", "run_completed"]
    assert d.state.status == "completed"
    assert d.max_depth == 1
