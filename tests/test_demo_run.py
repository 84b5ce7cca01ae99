"""The scripted demo run: a realistic journal that folds without a single anomaly."""

from __future__ import annotations

import pytest

from playbill.cli._demo import (
    DEMO_BASE_US,
    demo_drafts,
    demo_run,
    demo_run_id,
    next_demo_run_id,
)
from playbill.cli._demo_script import DemoScript, ScriptError
from playbill.runtime import check_replay
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import decode_entry, encode_entry
from playbill.runtime.model._messages import (
    ArbitrationDecided,
    NoteWritten,
    ResultProposed,
    ReviewGiven,
    RunCompleted,
    RunCreated,
    StepFailed,
    StepRetried,
    ValidationPassed,
    WorkspaceMerged,
    message_tag,
)
from playbill.runtime.model._state import state_digest
from playbill.runtime.model._values import (
    ImplementationPayload,
    PlanPayload,
    ReviewPayload,
    Usage,
    VerificationPayload,
)


def test_demo_folds_to_a_completed_run_with_zero_anomalies() -> None:
    state = fold(demo_run().entries("demo-0001"))
    assert state.anomaly_count == 0, state.anomalies
    assert state.status == "completed"
    assert state.steps_done() == len(state.steps) == 4
    assert {c.id: c.met for c in state.criteria.values()} == {
        "suite-green": True,
        "csv-roundtrip": True,
    }
    assert not state.timers
    assert all(agent.status == "idle" for agent in state.agents.values())
    assert {a.spec.roles for a in state.agents.values()} == {
        ("planner",),
        ("executor",),
        ("reviewer",),
        ("verifier",),
    }
    assert len(state.agents) == 5
    assert state.attempts == 6
    assert state.retries == 1


def test_demo_tells_the_whole_story() -> None:
    drafts = demo_drafts()
    msgs = [d.msg for d in drafts]
    assert isinstance(msgs[0], RunCreated)
    assert sum(isinstance(m, RunCompleted) for m in msgs) == 1
    payloads = {type(m.result.payload) for m in msgs if isinstance(m, ResultProposed)}
    assert payloads == {PlanPayload, ImplementationPayload, ReviewPayload, VerificationPayload}
    verdicts = [(m.step, m.attempt, m.verdict) for m in msgs if isinstance(m, ReviewGiven)]
    assert verdicts == [
        ("csv-writer", 1, "request_changes"),
        ("csv-writer", 2, "pass"),
        ("cli-flag", 2, "pass"),
        ("cli-flag", 1, "pass"),
    ]
    failed = [m for m in msgs if isinstance(m, StepFailed)]
    assert [(f.step, f.failure.failure_class) for f in failed] == [("csv-writer", "validation")]
    retried = [m for m in msgs if isinstance(m, StepRetried)]
    assert [(r.step, r.next_attempt) for r in retried] == [("csv-writer", 2)]
    assert retried[0].feedback is not None and "quoted" in retried[0].feedback.detail
    assert any(isinstance(m, ValidationPassed) for m in msgs)
    assert any(isinstance(m, NoteWritten) for m in msgs)
    merged = [(m.step, m.attempt) for m in msgs if isinstance(m, WorkspaceMerged)]
    assert merged == [("csv-writer", 2), ("cli-flag", 2)]
    arbitrations = [m for m in msgs if isinstance(m, ArbitrationDecided)]
    assert len(arbitrations) == 1
    assert arbitrations[0].winner_attempt == 2
    assert [(s.attempt, s.score) for s in arbitrations[0].scores] == [(2, 0.91), (1, 0.84)]


def test_every_supervisor_entry_of_the_demo_is_what_the_policy_decides() -> None:
    entries = demo_run().entries("demo-0001")
    assert any(e.sender == "supervisor" for e in entries)
    assert check_replay(entries) is None


def test_a_story_that_drifts_from_the_policy_fails_when_it_is_built() -> None:
    script = DemoScript(now_us=DEMO_BASE_US)
    with pytest.raises(ScriptError, match="never assigned"):
        script.start("executor-a", "csv-writer", 1, after_s=1.0)
    with pytest.raises(ScriptError, match="nobody asked for a review"):
        script.review("reviewer", "csv-writer", 1, "pass", Usage(), after_s=1.0)
    with pytest.raises(ScriptError, match="no backoff timer"):
        script.fire("backoff")


def test_demo_causes_point_backwards() -> None:
    drafts = demo_drafts()
    assert any(draft.cause is not None for draft in drafts)  # the check below is not vacuous
    for seq, draft in enumerate(drafts, 1):
        assert draft.cause is None or 0 < draft.cause < seq


def test_demo_times_start_at_the_base_and_never_go_back() -> None:
    times = demo_run().times_us
    assert times[0] == DEMO_BASE_US
    assert list(times) == sorted(times)


def test_demo_is_deterministic() -> None:
    first = [encode_entry(e) for e in demo_run().entries("demo-0001")]
    second = [encode_entry(e) for e in demo_run().entries("demo-0001")]
    assert first == second
    assert state_digest(fold(demo_run().entries("x"))) == state_digest(
        fold(demo_run().entries("x"))
    )


def test_demo_entries_round_trip_through_the_codec() -> None:
    for entry in demo_run().entries("demo-0001"):
        assert decode_entry(encode_entry(entry)) == entry


def test_demo_uses_many_message_types() -> None:
    tags = {message_tag(d.msg) for d in demo_drafts()}
    assert len(tags) >= 20


def test_demo_run_ids() -> None:
    assert demo_run_id(1) == "demo-0001"
    assert next_demo_run_id(set()) == "demo-0001"
    assert next_demo_run_id({"demo-0001", "demo-0002", "other"}) == "demo-0003"
    assert next_demo_run_id({"demo-0002"}) == "demo-0001"
