"""The run handle: ``playbill.start`` and ``playbill.resume``.

A run's events end when it settles; ``result`` returns a completed run and
raises a typed error for any other; the controls are taken at once, through
the run's own control loop (the tests poll the queue once an hour, so only
the doorbell can deliver them), journaled as the CLI's are.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import trio

import playbill
from playbill import (
    AgentSpec,
    ControlRequest,
    ControlRequested,
    Entry,
    HumanApproval,
    HumanApprovalRequested,
    ImplementationPayload,
    MemoryJournal,
    Plan,
    ResultEnvelope,
    RunCompleted,
    RunState,
    SqliteJournal,
    StepSpec,
    SyncJournal,
    UnknownRunError,
    WorkOrder,
)

HOUR = 3600.0
"""A control poll that never comes during a test: requests go by the doorbell."""

APPROVED = Plan(steps=(StepSpec(id="build", goal="Build it", validators=(HumanApproval(),)),))
"""One step that a person approves once its work is done."""

TWO = Plan(
    steps=(
        StepSpec(id="build", goal="Build it"),
        StepSpec(id="docs", goal="Document it", depends_on=("build",)),
    )
)
"""Two steps, one after the other, no reviewer or verifier."""


@playbill.agent(role="executor")
def coder(order: WorkOrder) -> str:
    return f"did {order.step.id}"


def kinds(entries: list[Entry]) -> list[str]:
    return [type(entry.msg).__name__ for entry in entries]


class Gate:
    """An executor that works until the test opens its gate."""

    def __init__(self) -> None:
        self.started = trio.Event()
        self.open = trio.Event()
        self.agent = playbill.agent(name="coder")(self.work)

    async def work(self, order: WorkOrder) -> str:
        self.started.set()
        await self.open.wait()
        return f"did {order.step.id}"


async def test_a_run_on_no_journal_is_an_in_memory_sqlite_one() -> None:
    async with playbill.start(TWO, [coder], goal="Two steps") as run:
        journal = run.journal
        assert isinstance(journal, SqliteJournal)
        state = await run.result()
        assert state.status == "completed"
        assert state.goal == "Two steps"
        assert run.run_id.startswith("run-")
    with pytest.raises(playbill.JournalClosedError):
        await journal.list_runs()  # opened by start, closed with its block
    assert run.state.status == "completed"  # the last state stays


async def test_a_path_makes_a_sqlite_file_that_outlives_the_run(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "journal.db"  # its directory is made too
    async with playbill.start(TWO, [coder], journal=path, run_id="two") as run:
        await run.result()
    with SqliteJournal(path) as journal:
        state = await journal.state_at("two")
    assert state.status == "completed"
    assert state.goal == "Build it (and 1 more steps)"


async def test_a_journal_given_stays_open() -> None:
    with MemoryJournal() as journal:
        async with playbill.start(TWO, [coder], journal=journal, run_id="r") as run:
            await run.result()
        assert [info.run_id for info in await journal.list_runs()] == ["r"]


async def test_events_give_every_entry_and_end_when_the_run_ends() -> None:
    async with playbill.start(TWO, [coder]) as run:
        seen = [entry async for entry in run.events()]
        assert [entry.seq for entry in seen] == list(range(1, run.state.last_seq + 1))
        assert run.state.status == "completed"
        assert sum(isinstance(e.msg, RunCompleted) for e in seen) == 1
        assert seen == await run.journal.read(run.run_id)
        later = [entry.seq async for entry in run.events(since=5)]
        assert later == list(range(6, run.state.last_seq + 1))


async def test_events_end_when_the_run_waits_for_an_approval_and_go_on_after_it() -> None:
    async with playbill.start(APPROVED, [coder], control_poll_s=HOUR) as run:
        first = [entry async for entry in run.events()]
        assert isinstance(first[-1].msg, HumanApprovalRequested)
        assert run.state.status == "running"
        with pytest.raises(playbill.RunNeedsAttentionError) as waiting:
            await run.result()
        assert [a.step for a in waiting.value.approvals] == ["build"]
        assert waiting.value.waiting_for == ("approve:build#1:human_approval (step build)",)
        assert not waiting.value.paused
        assert waiting.value.state.status == "running"

        state = await run.approve("build", reason="looks right")
        assert state.status == "completed"  # taken at once: the poll is an hour away
        rest = [entry async for entry in run.events(since=first[-1].seq)]
        assert "ControlRequested" in kinds(rest)
        assert (await run.result()).status == "completed"
        entries = await run.journal.read(run.run_id)
    assert kinds(entries).count("ControlRequested") == 1
    assert "RunResumed" not in kinds(entries)


async def test_approving_inside_the_loop_keeps_the_events_coming() -> None:
    async with playbill.start(APPROVED, [coder], control_poll_s=HOUR) as run:
        seen = []
        async for entry in run.events():
            seen.append(entry)
            if isinstance(entry.msg, HumanApprovalRequested):
                await run.approve(entry.msg.step)
        assert "RunCompleted" in kinds(seen)
        assert "HumanApprovalGiven" in kinds(seen)
        assert [entry.seq for entry in seen] == list(range(1, run.state.last_seq + 1))


async def test_a_paused_run_settles_paused_and_resume_moves_it_on() -> None:
    gate = Gate()
    async with playbill.start(TWO, [gate.agent], control_poll_s=HOUR) as run:
        await gate.started.wait()
        paused = await run.pause("lunch")
        assert paused.status == "paused"
        gate.open.set()  # the work in flight finishes; nothing new starts
        with pytest.raises(playbill.RunNeedsAttentionError) as waiting:
            await run.result()
        assert waiting.value.paused
        assert waiting.value.reason == "lunch"
        assert waiting.value.state.steps["docs"].status == "pending"

        resumed = await run.resume()
        assert resumed.status == "running"
        assert (await run.result()).status == "completed"


async def test_a_low_level_wait_counts_a_queued_resume() -> None:
    gate = Gate()
    async with playbill.start(TWO, [gate.agent], control_poll_s=HOUR) as run:
        await gate.started.wait()
        await run.pause()
        gate.open.set()
        assert (await run.run.wait()).status == "paused"
        # Queued, not yet taken: the run is not settled until it took it.
        await run.run.request(ControlRequest(action="resume"))
        assert (await run.run.wait()).status == "completed"


async def test_cancel_ends_the_run_and_result_says_so() -> None:
    gate = Gate()
    async with playbill.start(TWO, [gate.agent], control_poll_s=HOUR) as run:
        await gate.started.wait()
        state = await run.cancel("changed my mind")
        assert state.status == "cancelled"
        with pytest.raises(playbill.RunCancelledError) as cancelled:
            await run.result()
        assert cancelled.value.reason == "changed my mind"
        assert cancelled.value.state.status == "cancelled"
        with pytest.raises(playbill.RunCancelledError):
            await run.wait_for(lambda s: s.steps_done() == 2)


async def test_a_failed_run_raises_run_failed_with_its_reason() -> None:
    @playbill.agent
    def broken(order: WorkOrder) -> str:
        raise RuntimeError("no luck")

    plan = Plan(steps=(StepSpec(id="build", goal="Build", max_attempts=1, on_exhausted="abort"),))
    async with playbill.start(plan, [broken]) as run:
        with pytest.raises(playbill.RunFailedError) as failed:
            await run.result()
    assert "RuntimeError: no luck" in failed.value.reason
    assert failed.value.state.status == "failed"
    assert isinstance(failed.value, playbill.RunSettledError)
    assert isinstance(failed.value, playbill.PlaybillError)


async def test_wait_for_returns_once_the_predicate_holds() -> None:
    gate = Gate()
    async with playbill.start(TWO, [gate.agent]) as run:
        busy = await run.wait_for(lambda s: s.steps["build"].status != "pending")
        assert busy.steps["build"].status != "pending"
        gate.open.set()
        done = await run.wait_for(lambda s: s.steps["build"].status == "completed")
        assert done.steps["build"].status == "completed"
        waiting = await run.settled()
        assert waiting.status == "completed"


async def test_wait_for_raises_when_the_run_ends_first() -> None:
    async with playbill.start(TWO, [coder]) as run:
        with pytest.raises(playbill.RunSettledError) as settled:
            await run.wait_for(lambda s: s.steps_done() == 3)
    assert type(settled.value) is playbill.RunSettledError
    assert settled.value.state.status == "completed"


async def test_wait_for_raises_when_the_run_waits_for_a_person() -> None:
    async with playbill.start(APPROVED, [coder]) as run:
        with pytest.raises(playbill.RunNeedsAttentionError):
            await run.wait_for(lambda s: s.status == "completed")
        pending = await run.wait_for(lambda s: bool(s.pending_approvals()))
        assert [a.step for a in pending.pending_approvals()] == ["build"]


async def test_wait_for_refuses_a_method_left_uncalled() -> None:
    async with playbill.start(APPROVED, [coder]) as run:
        with pytest.raises(TypeError, match="call it"):
            await run.wait_for(lambda s: s.pending_approvals)  # type: ignore[arg-type,return-value]


async def test_wait_for_gives_up_after_its_timeout() -> None:
    gate = Gate()  # never opened: the run never settles
    async with playbill.start(TWO, [gate.agent]) as run:
        await gate.started.wait()
        with pytest.raises(TimeoutError):
            await run.wait_for(lambda s: s.status == "completed", timeout=0.01)
        assert run.state.status == "running"


async def test_a_refused_control_is_journaled_and_changes_nothing() -> None:
    async with playbill.start(TWO, [coder], control_poll_s=HOUR) as run:
        before = await run.result()
        state = await run.approve("build")
        assert state.status == "completed"
        assert state.last_seq == before.last_seq + 2  # the request, and the note refusing it
        assert "build" in state.notes[-1].text


async def test_leaving_the_block_stops_the_controls() -> None:
    async with playbill.start(TWO, [coder]) as run:
        await run.result()
    assert run.closed
    with pytest.raises(RuntimeError, match="block was left"):
        await run.pause()
    assert (await run.result()).status == "completed"


async def test_resume_goes_on_with_a_run_and_takes_its_queued_approval(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with playbill.start(APPROVED, [coder], journal=path, run_id="r") as run:
        await run.settled()
    with SqliteJournal(path) as journal:
        await journal.post_request("r", ControlRequest(action="approve", step="build"))
    async with playbill.resume("r", [coder], journal=path, control_poll_s=HOUR) as run:
        state = await run.result()
        entries = await run.journal.read("r")
    assert state.status == "completed"
    assert kinds(entries).count("RunResumed") == 1
    assert kinds(entries).count("ControlRequested") == 1


async def test_resume_refuses_an_unknown_run() -> None:
    with pytest.raises(UnknownRunError):
        async with playbill.resume("nope", [coder], journal=MemoryJournal()):
            pass  # pragma: no cover


def test_the_sync_journal_finishes_an_approval_in_one_call(tmp_path: Path) -> None:
    """A queued approval is taken before ``run`` settles: one call, one resume."""
    plan = Plan(steps=APPROVED.steps, agents=(coder.spec,))
    spec = playbill.RunSpec(goal="g", plan=plan)
    with SyncJournal(tmp_path / "j.db") as journal:
        assert journal.run("r", lambda agent: coder, spec=spec).pending_approvals()
        journal.request("r", ControlRequest(action="approve", step="build"))
        assert journal.run("r", lambda agent: coder).status == "completed"
        entries = journal.read("r")
    assert kinds(entries).count("RunResumed") == 1
    assert kinds(entries).count("ControlRequested") == 1


async def test_agents_given_as_a_mapping_or_a_factory() -> None:
    class Backend:
        name = "mine"
        capabilities = playbill.Capabilities(roles=frozenset({"executor"}), edits_files=True)

        async def run(self, order: WorkOrder, report: playbill.Reporter) -> ResultEnvelope:
            return ResultEnvelope(
                agent=order.agent,
                role=order.role,
                step=order.step.id,
                attempt=order.attempt,
                exit_status="ok",
                payload=ImplementationPayload(summary="mine"),
            )

    plan = Plan(steps=TWO.steps, agents=(AgentSpec(id="coder", roles=("executor",)),))
    async with playbill.start(plan, {"coder": Backend()}) as run:
        assert (await run.result()).status == "completed"

    def factory(spec: AgentSpec) -> Backend:
        return Backend()

    async with playbill.start(plan, factory) as run:
        state: RunState = await run.result()
        assert state.status == "completed"


async def test_pausing_twice_is_journaled_once_each() -> None:
    gate = Gate()
    async with playbill.start(TWO, [gate.agent], control_poll_s=HOUR) as run:
        await gate.started.wait()
        await run.pause()
        await run.pause()
        gate.open.set()
        await run.resume()
        await run.result()
        entries = await run.journal.read(run.run_id)
    requested = [e.msg for e in entries if isinstance(e.msg, ControlRequested)]
    assert [m.request.action for m in requested] == ["pause", "pause", "resume"]
    assert kinds(entries).count("RunPaused") == 1  # the second pause is refused
    assert kinds(entries).count("RunResumed") == 1


async def test_an_error_of_the_block_comes_out_as_itself() -> None:
    with pytest.raises(KeyError):
        async with playbill.start(TWO, [coder]):
            raise KeyError("mine")


async def test_follow_until_ended_ends_with_the_run() -> None:
    gate = Gate()
    with MemoryJournal() as journal:
        async with playbill.start(TWO, [gate.agent], journal=journal, run_id="r") as run:
            followed: list[Entry] = []

            async def follow() -> None:
                async with contextlib.aclosing(journal.follow("r", until_ended=True)) as entries:
                    followed.extend([entry async for entry in entries])

            async with trio.open_nursery() as nursery:
                nursery.start_soon(follow)
                await gate.started.wait()
                gate.open.set()
            final = await run.result()
        assert [e.seq for e in followed] == list(range(1, final.last_seq + 1))
        # A run that has ended: its entries from a seq on, then the end.
        tail = [e.seq async for e in journal.follow("r", 4, until_ended=True)]
        assert tail == list(range(4, final.last_seq + 1))


async def test_a_request_another_process_queued_is_taken_before_the_run_settles() -> None:
    async with playbill.start(APPROVED, [coder], control_poll_s=HOUR) as run:
        seen = [entry async for entry in run.events()]
        assert isinstance(seen[-1].msg, HumanApprovalRequested)
        # As `playbill approve` does, from elsewhere: straight into the queue.
        await run.journal.post_request(run.run_id, ControlRequest(action="approve", step="build"))
        assert (await run.result()).status == "completed"  # not RunNeedsAttentionError


async def test_the_low_level_wait_refuses_a_method_left_uncalled() -> None:
    async with playbill.start(APPROVED, [coder]) as run:
        with pytest.raises(TypeError, match="call it"):
            await run.run.wait(lambda s: s.pending_approvals)  # type: ignore[arg-type,return-value]


async def test_a_step_out_of_attempts_waits_for_a_decision_that_the_handle_gives() -> None:
    tries: list[int] = []

    @playbill.agent(name="coder")
    def stubborn(order: WorkOrder) -> str:
        tries.append(order.attempt)
        if len(tries) == 1:
            raise RuntimeError("not yet")
        return "done"

    plan = Plan(
        steps=(StepSpec(id="build", goal="Build", max_attempts=1, on_exhausted="escalate"),)
    )
    async with playbill.start(plan, [stubborn], control_poll_s=HOUR) as run:
        with pytest.raises(playbill.RunNeedsAttentionError) as waiting:
            await run.result()
        [request] = waiting.value.waiting_for
        assert request.startswith("escalate:build") and request.endswith("(step build)")
        await run.approve("build", reason="try once more")
        assert (await run.result()).status == "completed"
    assert len(tries) == 2
