"""The pipeline's integration stage: work done in a workspace completes once applied."""

from __future__ import annotations

from playbill.runtime.logic._run_end import can_progress
from playbill.runtime.model._messages import (
    HumanApprovalRequested,
    MergeRequested,
    StepAssigned,
    StepBlocked,
    StepCompleted,
    StepFailed,
    WorkspaceCreated,
    WorkspaceMerged,
)
from playbill.runtime.model._values import StepSpec
from policy_helpers import EX, REV, Driver, kinds, of, one, plan

A = StepSpec(id="a", goal="write a", scope=("src/a.py",))
B = StepSpec(id="b", goal="after a", depends_on=("a",), scope=("src/b.py",))


def in_workspace(d: Driver, step: str, agent: str = "ex") -> None:
    d.start(step, agent)
    created = WorkspaceCreated(
        step=step, attempt=1, path=f"/wt/{step}-1", branch=f"playbill/r/{step}/1", base_commit="b0"
    )
    assert d.send(created, sender=agent) == []  # a quiet entry


def test_accepted_work_in_a_workspace_is_merged_before_the_step_completes() -> None:
    d = Driver(plan(A, B, agents=(EX, REV)))
    in_workspace(d, "a")
    d.propose("a", "ex")
    reviewed = d.review("a", "rev", "pass")
    assert one(MergeRequested, reviewed) == MergeRequested(step="a", attempt=1)
    assert d.recipients(MergeRequested) == ["integrator"]
    assert not of(StepCompleted, reviewed)
    assert can_progress(d.state)  # waiting on the integrator is not a stall

    merged = d.send(
        WorkspaceMerged(step="a", attempt=1, status="applied", into="playbill/r/integration"),
        sender="integrator",
    )
    assert kinds(merged)[:2] == ["step_completed", "step_assigned"]
    assert one(StepAssigned, merged).step == "b"
    assert d.state.workspaces["a#1"].merge_status == "applied"


def test_a_merge_is_requested_once() -> None:
    d = Driver(plan(A, agents=(EX, REV)))
    in_workspace(d, "a")
    d.propose("a", "ex")
    d.review("a", "rev", "pass")
    again = d.heartbeat("rev", after_s=1.0)
    assert not of(MergeRequested, again)
    assert len(of(MergeRequested, (e.msg for e in d.entries))) == 1


def test_a_conflict_blocks_the_step_and_asks_a_person() -> None:
    d = Driver(plan(A, B, agents=(EX, REV)))
    in_workspace(d, "a")
    d.propose("a", "ex")
    d.review("a", "rev", "pass")
    conflicted = d.send(
        WorkspaceMerged(
            step="a",
            attempt=1,
            status="conflicted",
            into="playbill/r/integration",
            detail="src/a.py: patch does not apply",
        ),
        sender="integrator",
    )
    failed = one(StepFailed, conflicted)
    assert (failed.failure.failure_class, failed.failure.kind) == ("validation", "merge_conflicted")
    assert "src/a.py" in one(StepBlocked, conflicted).reason
    assert one(HumanApprovalRequested, conflicted).step == "a"
    assert not of(StepCompleted, conflicted)
    assert not of(StepAssigned, conflicted)  # b waits for a


def test_work_without_a_workspace_completes_as_before() -> None:
    d = Driver(plan(A, agents=(EX, REV)))
    d.start("a", "ex")
    d.propose("a", "ex")
    reviewed = d.review("a", "rev", "pass")
    assert one(StepCompleted, reviewed).step == "a"
    assert not of(MergeRequested, reviewed)
