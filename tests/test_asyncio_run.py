"""The run handle for asyncio programs: ``playbill.asyncio``.

Plain tests that start their own asyncio loop (``asyncio.run``, anyio on
its asyncio backend, a Starlette application): the run's trio program is
a guest of that loop.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

import playbill
import playbill.asyncio
from needs import need
from playbill import (
    ControlRequested,
    Entry,
    HumanApproval,
    HumanApprovalRequested,
    Plan,
    RunState,
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


async def approve_and_finish(**options: Any) -> tuple[list[Entry], RunState, list[Entry]]:
    """Follow a run until it waits, approve, follow it to its end."""
    async with playbill.asyncio.start(APPROVED, [coder], control_poll_s=HOUR, **options) as run:
        asyncio.get_running_loop()  # asyncio's, in this very task
        first = [entry async for entry in run.events()]
        with pytest.raises(playbill.RunNeedsAttentionError):
            await run.result()
        await run.approve("build")
        state = await run.result()
        rest = [entry async for entry in run.events(since=first[-1].seq)]
    return first, state, rest


def test_a_run_under_asyncio_run(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    first, state, rest = asyncio.run(approve_and_finish(journal=path, run_id="r"))
    assert isinstance(first[-1].msg, HumanApprovalRequested)
    assert state.status == "completed"
    assert "HumanApprovalGiven" in kinds(rest)
    with SyncJournal(path) as journal:
        entries = journal.read("r")
    assert kinds(entries).count("ControlRequested") == 1
    assert "RunResumed" not in kinds(entries)


def test_a_run_under_anyio_on_asyncio() -> None:
    async def main() -> RunState:
        _, state, _ = await approve_and_finish()
        return state

    assert anyio.run(main, backend="asyncio").status == "completed"


def test_asyncio_tasks_go_on_while_the_run_works() -> None:
    async def main() -> tuple[list[str], RunState]:
        ticks: list[str] = []
        gate = asyncio.Event()
        release = threading.Event()

        @playbill.agent
        def slow() -> str:
            release.wait()
            return "done"

        async def other() -> None:
            ticks.append("asyncio ran")
            gate.set()

        plan = Plan(steps=(StepSpec(id="a", goal="a"),))
        try:
            async with playbill.asyncio.start(plan, [slow]) as run:
                await run.wait_for(lambda s: s.steps["a"].status != "pending")
                task = asyncio.create_task(other())
                await gate.wait()  # asyncio's own tasks run while the run waits
                release.set()
                state = await run.result()
                await task
        finally:
            release.set()
        return ticks, state

    ticks, state = asyncio.run(main())
    assert ticks == ["asyncio ran"]
    assert state.status == "completed"


def test_errors_and_controls_cross_over() -> None:
    async def main() -> None:
        plan = Plan(steps=(StepSpec(id="a", goal="a"),))
        async with playbill.asyncio.start(plan, [coder], control_poll_s=HOUR) as run:
            done = await run.result()
            with pytest.raises(playbill.RunSettledError) as settled:
                await run.wait_for(lambda s: s.steps_done() == 2)
            assert settled.value.state == done
            refused = await run.cancel()
            assert refused.status == "completed"
            assert isinstance(refused, RunState)
            assert run.state.last_request_id == refused.last_request_id
        with pytest.raises(RuntimeError, match="block was left"):
            await run.pause()

    asyncio.run(main())


def test_cancelling_an_asyncio_wait_leaves_the_run_alone() -> None:
    async def main() -> RunState:
        release = threading.Event()

        @playbill.agent
        def slow() -> str:
            release.wait()
            return "done"

        plan = Plan(steps=(StepSpec(id="a", goal="a"),))
        try:
            async with playbill.asyncio.start(plan, [slow]) as run:
                waiting = asyncio.create_task(run.result())
                await run.wait_for(lambda s: s.steps["a"].status != "pending")
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                release.set()
                return await run.result()
        finally:
            release.set()

    assert asyncio.run(main()).status == "completed"


def test_a_mistake_at_the_start_is_raised_in_asyncio() -> None:
    async def main() -> None:
        plan = Plan(steps=APPROVED.steps, agents=(playbill.AgentSpec(id="x", roles=("executor",)),))
        async with playbill.asyncio.start(plan, [coder]):
            pass  # pragma: no cover

    with pytest.raises(ValueError, match="no agent given"):
        asyncio.run(main())


def test_resume_under_asyncio(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"

    async def main() -> RunState:
        async with playbill.asyncio.start(APPROVED, [coder], journal=path, run_id="r") as run:
            await run.settled()
        async with playbill.asyncio.resume("r", [coder], journal=path) as run:
            await run.approve("build")
            return await run.result()

    assert asyncio.run(main()).status == "completed"
    with SyncJournal(path) as journal:
        requested = [e.msg for e in journal.read("r") if isinstance(e.msg, ControlRequested)]
    assert [m.request.action for m in requested] == ["approve"]


def test_a_run_inside_a_starlette_route() -> None:
    need("starlette")
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def run_plan(request: Request) -> JSONResponse:
        async with playbill.asyncio.start(APPROVED, [coder], control_poll_s=HOUR) as run:
            waited = [type(e.msg).__name__ async for e in run.events()]
            await run.approve("build", reason=f"by {request.query_params['who']}")
            state = await run.result()
        return JSONResponse({"status": state.status, "last": waited[-1]})

    app = Starlette(routes=[Route("/run", run_plan, methods=["POST"])])

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/run", params={"who": "ada"})

    response = asyncio.run(call())
    assert response.status_code == 200
    assert response.json() == {"status": "completed", "last": "HumanApprovalRequested"}


def test_breaking_out_of_the_events_under_asyncio() -> None:
    async def main() -> RunState:
        async with playbill.asyncio.start(APPROVED, [coder]) as run:
            async for entry in run.events():
                if entry.seq == 2:
                    break
            return await run.settled()

    assert asyncio.run(main()).pending_approvals()
