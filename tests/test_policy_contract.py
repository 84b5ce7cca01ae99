"""The contract of ``decide``: who sends what to whom, one-level reactions, purity,
and control requests."""

from __future__ import annotations

import factories
from playbill.runtime.logic._policy import decide
from playbill.runtime.model._messages import (
    ControlRequested,
    HumanApprovalGiven,
    HumanApprovalRequested,
    NoteWritten,
    RunCompleted,
    StepAssigned,
    StepSkipped,
    TimerSet,
)
from playbill.runtime.model._state import encode_state
from playbill.runtime.model._values import ControlRequest, HumanApproval, StepSpec
from policy_helpers import EX, EX2, REV, VER, Driver, kinds, one, plan

A = StepSpec(id="a", goal="x", validators=(HumanApproval(),))


def control(d: Driver, action: str, step: str | None = None) -> list[object]:
    request = ControlRequest(action=action, step=step, by="pat", reason="why not")  # type: ignore[arg-type]
    msg = ControlRequested(request_id=d.state.last_request_id + 1, request=request)
    return d.send(msg, sender="control")


def test_drafts_are_sent_by_the_supervisor_caused_by_the_entry() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), StepSpec(id="b", goal="y"), agents=(EX, EX2)))
    reaction = [e for e in d.entries if e.sender == "supervisor"]
    assert {e.cause for e in reaction} == {2}
    assert [(type(e.msg).__name__, e.recipient) for e in reaction] == [
        ("StepAssigned", "ex"),
        ("TimerSet", "supervisor"),
        ("StepAssigned", "ex2"),
        ("TimerSet", "supervisor"),
    ]


def test_decide_returns_nothing_for_the_supervisors_own_entries() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), agents=(EX,)))
    for entry in d.entries:
        if entry.sender == "supervisor":
            assert decide(d.state, entry) == []


def test_decide_is_deterministic_and_does_not_touch_its_input() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), StepSpec(id="b", goal="y"), agents=(EX, EX2, REV)))
    before = encode_state(d.state)
    entry = factories.entry(
        d.entries[-1].msg,
        seq=d.state.last_seq,
        run_id="run",
        at_us=d.now_us,
        sender="timers",
        recipient="supervisor",
    )
    assert decide(d.state, entry) == decide(d.state, entry)
    assert encode_state(d.state) == before


def test_a_run_waiting_on_a_person_is_not_over() -> None:
    d = Driver(plan(A, agents=(EX,)))
    out = d.propose("a", "ex")
    assert one(HumanApprovalRequested, out)
    assert not d.state.is_terminal


def test_approve_and_reject_control_requests_answer_the_steps_request() -> None:
    d = Driver(plan(A, agents=(EX,)))
    d.propose("a", "ex")
    out = control(d, "approve", "a")
    assert kinds(out) == [
        "human_approval_given",
        "validation_passed",
        "step_completed",
        "run_completed",
    ]
    given = one(HumanApprovalGiven, out)
    assert (given.request, given.approved, given.by, given.step) == (
        "approve:a#1:human_approval",
        True,
        "pat",
        "a",
    )


def test_a_control_request_that_makes_no_sense_is_refused_with_a_note() -> None:
    d = Driver(plan(A, agents=(EX,)))
    out = control(d, "reject", "a")
    note = one(NoteWritten, out)
    assert note.author == "supervisor"
    assert (
        note.text == "control request 1 (reject) refused: nothing of step 'a' waits for an approval"
    )


def test_a_cancel_request_on_a_run_that_ended_is_refused() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), agents=(EX,)))
    d.propose("a", "ex")
    assert d.state.status == "completed"
    out = control(d, "cancel")
    assert one(NoteWritten, out).text.endswith("refused: the run is already completed")


def test_nothing_is_decided_after_the_end() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), agents=(EX, VER)))
    d.send(RunCompleted(summary="by hand"), sender="cli")
    assert d.propose("a", "ex") == []
    assert not d.state.timers


def test_heartbeats_and_starts_need_no_decision() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), agents=(EX,)))
    assert d.start("a", "ex") == []
    assert d.heartbeat("ex", after_s=1) == []
    assert one(StepAssigned, d.first).agent == "ex"
    assert one(TimerSet, d.first).timer == "heartbeat:a#1"


def test_attempts_whose_step_moved_on_are_closed() -> None:
    d = Driver(plan(StepSpec(id="a", goal="x"), agents=(EX,)))
    d.start("a", "ex")
    out = d.send(StepSkipped(step="a", reason="by hand"), sender="pat")
    assert kinds(out)[:2] == ["attempt_cancelled", "step_interrupted"]
    assert d.state.steps["a"].status == "skipped"  # the end of its attempt leaves it skipped
    assert d.state.agents["ex"].status == "idle"
    assert d.state.status == "completed"
