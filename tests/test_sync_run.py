"""The run handle for synchronous code: ``playbill.start_sync`` and ``resume_sync``.

Plain (not async) tests: the run's trio program lives in a thread of its own
for the whole ``with`` block, and every call is carried into it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import playbill
from playbill import (
    ControlRequest,
    Entry,
    HumanApproval,
    HumanApprovalRequested,
    Plan,
    StepSpec,
    SyncJournal,
    WorkOrder,
)

HOUR = 3600.0
"""A control poll that never comes during a test: requests go by the doorbell."""

APPROVED = Plan(steps=(StepSpec(id="build", goal="Build it", validators=(HumanApproval(),)),))
"""One step that a person approves once its work is done."""


@playbill.agent
def coder(order: WorkOrder) -> str:
    return f"did {order.step.id}"


def kinds(entries: list[Entry]) -> list[str]:
    return [type(entry.msg).__name__ for entry in entries]


def test_events_until_settled_then_approve_then_the_result(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with playbill.start_sync(
        APPROVED, [coder], journal=path, run_id="r", control_poll_s=HOUR
    ) as run:
        seen = list(run.events())
        assert isinstance(seen[-1].msg, HumanApprovalRequested)
        with pytest.raises(playbill.RunNeedsAttentionError) as waiting:
            run.result()
        assert [a.step for a in waiting.value.approvals] == ["build"]

        assert run.approve("build").status == "completed"
        state = run.result()
        assert state.status == "completed"
        assert run.state == state
        rest = list(run.events(since=seen[-1].seq))
        assert "HumanApprovalGiven" in kinds(rest)
    with SyncJournal(path) as journal:
        entries = journal.read("r")
    assert kinds(entries).count("ControlRequested") == 1
    assert "RunResumed" not in kinds(entries)
    assert [e.seq for e in [*seen, *rest]] == [e.seq for e in entries]


def test_the_run_lives_in_one_thread_of_its_own() -> None:
    threads: set[int] = set()

    @playbill.agent
    async def worker(order: WorkOrder) -> str:
        threads.add(threading.get_ident())
        return "done"

    plan = Plan(steps=(StepSpec(id="a", goal="a"), StepSpec(id="b", goal="b")))
    with playbill.start_sync(plan, [worker]) as run:
        assert run.wait_for(lambda s: s.steps["a"].status == "completed").steps["a"]
        assert run.result().status == "completed"
    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_controls_and_errors_cross_over() -> None:
    release = threading.Event()

    @playbill.agent
    def slow() -> str:
        release.wait()
        return "done"

    plan = Plan(steps=(StepSpec(id="a", goal="a"), StepSpec(id="b", goal="b", depends_on=("a",))))
    try:
        with playbill.start_sync(plan, [slow], control_poll_s=HOUR) as run:
            run.wait_for(lambda s: s.steps["a"].status != "pending")
            assert run.pause("wait").status == "paused"
            release.set()
            with pytest.raises(playbill.RunNeedsAttentionError) as paused:
                run.result()
            assert paused.value.paused
            assert run.resume().status == "running"
            assert run.result().status == "completed"
            with pytest.raises(playbill.RunSettledError):
                run.wait_for(lambda s: s.steps_done() == 3)
            refused = run.request(ControlRequest(action="cancel"))
            assert refused.status == "completed"
    finally:
        release.set()


def test_a_mistake_at_the_start_is_raised_in_the_caller() -> None:
    plan = Plan(steps=APPROVED.steps, agents=(playbill.AgentSpec(id="x", roles=("executor",)),))
    with pytest.raises(ValueError, match="no agent given"), playbill.start_sync(plan, [coder]):
        pass  # pragma: no cover


def test_resume_sync_takes_an_approval_queued_while_nothing_ran(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with playbill.start_sync(APPROVED, [coder], journal=path, run_id="r") as run:
        run.settled()
    with SyncJournal(path) as journal:
        journal.request("r", ControlRequest(action="approve", step="build"))
    with playbill.resume_sync("r", [coder], journal=path, control_poll_s=HOUR) as run:
        assert run.result().status == "completed"
        assert run.run_id == "r"


def test_breaking_out_of_the_events_is_fine() -> None:
    with playbill.start_sync(APPROVED, [coder]) as run:
        for entry in run.events():
            if entry.seq == 2:
                break
        assert run.settled().pending_approvals()
