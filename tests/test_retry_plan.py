"""The retry plan: six answers computed from stored state alone, and their text."""

from __future__ import annotations

from pathlib import Path

from factories import entries
from playbill.cli._jsonl import parse_run_file
from playbill.runtime.logic._reducer import fold
from playbill.runtime.logic._retry_plan import (
    AgentChange,
    BlockingInput,
    InvalidatedWork,
    ResumePoint,
    render_retry_plan,
    retry_plan,
)
from playbill.runtime.model._entry import Entry
from playbill.runtime.model._messages import (
    HeartbeatMissed,
    PlanAttached,
    RunCreated,
    StepAssigned,
    StepCompleted,
    StepRetried,
    WorkspaceCreated,
    WorkspaceMerged,
)
from playbill.runtime.model._state import decode_state, encode_state
from playbill.runtime.model._values import (
    AgentSpec,
    Budget,
    HumanApproval,
    Plan,
    PolicySettings,
    StepSpec,
)
from policy_helpers import EX, EX2, REV, Driver, plan

GOLDEN = Path(__file__).parent / "golden" / "demo-0001.jsonl"


def golden() -> list[Entry]:
    return parse_run_file(str(GOLDEN), GOLDEN.read_bytes())


def test_a_completed_run_reuses_every_accepted_attempt() -> None:
    result = retry_plan(fold(golden()))
    assert result.why_resuming == "the run completed: there is nothing to resume"
    assert not result.resumable and result.instead == "nothing: the run completed"
    assert result.invalidated == ()
    assert [(p.step, p.attempt, p.agent) for p in result.reusable_proof] == [
        ("plan", 1, "planner"),
        ("csv-writer", 2, "executor-a"),
        ("cli-flag", 2, "executor-b"),
        ("verify", 1, "verifier"),
    ]
    assert result.reusable_proof[3].validations == ("tests_pass", "command_passes")
    assert result.resume_from == result.agent_changes == result.human_inputs_blocking == ()


def test_a_proposed_result_is_kept_and_resumes_at_review() -> None:
    entries = golden()[:44]  # csv-writer's second attempt just proposed its result
    result = retry_plan(fold(entries))
    assert result.why_resuming.startswith(
        "the run is running; last failure: step 'csv-writer' attempt 1: "
        "validation/changes_requested"
    )
    assert result.resume_from == (
        ResumePoint(
            step="csv-writer",
            stage="review",
            reason="attempt 2 proposed a result; it is kept",
            attempt=2,
        ),
        ResumePoint(
            step="cli-flag",
            stage="implement",
            reason="not started yet; next: attempt 1",
            attempt=1,
        ),
        ResumePoint(
            step="verify", stage="implement", reason="not started yet; next: attempt 1", attempt=1
        ),
    )
    assert [p.step for p in result.reusable_proof] == ["plan"]


def test_work_in_flight_agents_to_replace_and_people_to_ask() -> None:
    d = Driver(
        plan(
            StepSpec(id="a", goal="x", validators=(HumanApproval(prompt="ok?"),)),
            StepSpec(id="b", goal="y"),
            StepSpec(id="c", goal="z"),
            agents=(EX, EX2, REV, AgentSpec(id="ex3", roles=("executor",))),
        ),
        policy=PolicySettings(heartbeat_timeout_s=60.0),
    )
    d.propose("a", "ex")  # now reviewed by rev
    d.review("a", "rev", "pass")  # a waits on a person
    # ex3 stops answering: its step c moves to ex, free again since it proposed a
    d.send(HeartbeatMissed(agent="ex3", step="c", attempt=1), sender="watchdog")
    result = retry_plan(d.state)
    assert result.why_resuming.startswith("the run is running with 2 piece(s) of work in flight")
    redo = "in flight: a resume interrupts it and starts a new attempt"
    assert result.invalidated == (
        InvalidatedWork(step="b", attempt=1, agent="ex2", reason=redo),
        InvalidatedWork(step="c", attempt=2, agent="ex", reason=redo),
    )
    assert result.human_inputs_blocking == (
        BlockingInput(request="approve:a#1:human_approval", prompt="ok?", step="a"),
    )
    assert result.agent_changes == (
        AgentChange(agent="ex3", why="unresponsive", roles=("executor",), replacement="ex"),
    )
    assert [(r.step, r.stage) for r in result.resume_from] == [
        ("a", "verify"),
        ("b", "implement"),
        ("c", "implement"),
    ]


def test_stale_proof_is_invalidated() -> None:
    steps = (
        StepSpec(id="a", goal="x"),
        StepSpec(id="b", goal="y", depends_on=("a",)),
        StepSpec(id="c", goal="z"),
    )
    state = fold(
        entries(
            RunCreated(goal="g", budget=Budget()),
            PlanAttached(plan=Plan(steps=steps, agents=(EX,))),
            StepAssigned(step="a", agent="ex", attempt=1),
            StepCompleted(step="a", attempt=1),
            StepAssigned(step="b", agent="ex", attempt=1),
            StepCompleted(step="b", attempt=1),
            StepAssigned(step="c", agent="ex", attempt=1),
            WorkspaceCreated(step="c", attempt=1, path="/w", branch="c1", base_commit="0"),
            StepCompleted(step="c", attempt=1),
            WorkspaceMerged(step="c", attempt=1, status="conflicted", into="main"),
            StepRetried(step="a", next_attempt=2, failure_class="policy"),
        )
    )
    result = retry_plan(state)
    assert [(w.step, w.reason) for w in result.invalidated] == [
        ("b", "stale proof: it depends on a, which is pending again"),
        ("c", "stale proof: its accepted work was not integrated (conflicted)"),
    ]
    assert result.reusable_proof == ()
    assert [(r.step, r.stage) for r in result.resume_from] == [
        ("a", "implement"),
        ("b", "implement"),
        ("c", "integrate"),
    ]


def test_the_plan_is_a_function_of_the_stored_state() -> None:
    state = fold(golden()[:50])
    again = decode_state(encode_state(state))
    assert retry_plan(state) == retry_plan(again)
    assert render_retry_plan(retry_plan(state)) == render_retry_plan(retry_plan(again))


def test_the_text_has_one_section_per_question() -> None:
    text = render_retry_plan(retry_plan(fold(golden()[:44])))
    assert text.startswith("Retry plan for run demo-0001 (running, as of seq 44)\n\nWhy resuming: ")
    sections = [
        line for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")
    ]
    assert sections == [
        "Invalidated:",
        "Reusable proof:",
        "Resume from:",
        "Agent changes:",
        "Human inputs blocking:",
    ]
    assert (
        "  - plan#1 by planner\n      file ledger/cli.py: subcommands live in build_parser()\n"
        in text
    )
    assert "  - csv-writer: review (attempt 2 proposed a result; it is kept)\n" in text
    assert "Agent changes:\n  (none)\n" in text
