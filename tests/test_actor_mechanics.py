"""The actor mechanics together: a reactor policy, the router, mailboxes, supervision.

A worker pings; the policy (the writer's reactor) answers each ping with a
pong addressed to the worker, in the same batch; the router delivers the pong
once committed. The worker crashes once; the supervisor journals the crash
and the restart before the new life starts, and the new life subscribes a new
mailbox and goes on.
"""

from __future__ import annotations

from collections.abc import Sequence

import trio
import trio.testing

from playbill.runtime import MemoryJournal
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._messages import AgentFailed, AgentRestarted, NoteWritten
from playbill.runtime.model._state import RunState
from playbill.runtime.model._values import Failure
from playbill.runtime.shell._mailbox import Mailbox
from playbill.runtime.shell._router import Router
from playbill.runtime.shell._supervision import ChildSpec, Supervisor


class Boom(Exception):
    pass


def policy(state: RunState, entry: Entry) -> Sequence[Draft]:
    match entry.msg:
        case NoteWritten(text=text) if text.startswith("ping:"):
            pong = NoteWritten(author="supervisor", text="pong:" + text[5:])
            return [Draft(msg=pong, sender="supervisor", recipient=entry.sender)]
        case _:
            return []


def text(entry: Entry) -> str:
    match entry.msg:
        case NoteWritten(text=t):
            return t
        case AgentFailed(agent=agent):
            return f"failed {agent}"
        case AgentRestarted(agent=agent, restarts=n):
            return f"restarted {agent} {n}"
        case _:
            return "?"


async def test_ping_pong_with_a_crash_and_a_restart(autojump_clock: trio.testing.MockClock) -> None:
    journal = MemoryJournal()
    router = Router(capacity=16)
    observer: Mailbox[Entry] = Mailbox(1000, "observer")
    router.subscribe_all(observer)
    lives = 0
    received: list[tuple[int, Entry]] = []

    async with (
        trio.open_nursery() as nursery,
        journal.writer(
            "run",
            reactor=policy,
            on_entries=router.feed,
            wait_for_room=router.wait_for_room,
        ) as writer,
    ):
        await nursery.start(router.run)

        def ping(n: int) -> list[Draft]:
            msg = NoteWritten(author="worker", text=f"ping:{n}")
            return [Draft(msg=msg, sender="worker", recipient="supervisor")]

        async def worker(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            nonlocal lives
            lives += 1
            with Mailbox[Entry](4, f"worker life {lives}") as mailbox:
                router.subscribe("worker", mailbox)
                try:
                    task_status.started()
                    await writer.append(ping(1 if lives == 1 else 3))
                    async for batch in mailbox:
                        for entry in batch:
                            # Log before deliver: what an actor sees is committed.
                            assert journal.store.last_seq("run") >= entry.seq
                            received.append((lives, entry))
                            n = int(text(entry).removeprefix("pong:"))
                            if n == 2 and lives == 1:
                                raise Boom("pong 2 is too much")
                            if n == 4:
                                return
                            await writer.append(ping(n + 1))
                finally:
                    router.unsubscribe(mailbox)

        async def on_crash(child_id: str, exc: Exception) -> None:
            failure = Failure(failure_class="agent", kind="crash", detail=repr(exc))
            msg = AgentFailed(agent=child_id, failure=failure)
            await writer.append([Draft(msg=msg, sender="supervision")])

        async def on_restart(child_id: str, restarts: int) -> None:
            msg = AgentRestarted(agent=child_id, restarts=restarts)
            await writer.append([Draft(msg=msg, sender="supervision")])

        tree = Supervisor(
            "agents", [ChildSpec("worker", worker)], on_crash=on_crash, on_restart=on_restart
        )
        await tree.run()  # returns when the worker is done
        state = writer.state
        nursery.cancel_scope.cancel()

    entries = await journal.read("run")
    assert [text(e) for e in entries] == [
        "ping:1",
        "pong:1",
        "ping:2",
        "pong:2",
        "failed worker",
        "restarted worker 1",
        "ping:3",
        "pong:3",
        "ping:4",
        "pong:4",
    ]
    for ping_entry, pong_entry in zip(entries[0::2], entries[1::2], strict=False):
        if text(pong_entry).startswith("pong"):
            assert pong_entry.cause == ping_entry.seq  # the reaction follows its cause
            assert pong_entry.at_us == ping_entry.at_us  # in the same batch
    assert [(life, text(e)) for life, e in received] == [
        (1, "pong:1"),
        (1, "pong:2"),
        (2, "pong:3"),
        (2, "pong:4"),
    ]
    assert observer.receive_batch_nowait(100) == entries  # everything, in seq order
    assert state == fold(entries)
    # The pings: addressed to the supervisor, whose policy is the reactor, not a mailbox.
    assert router.statistics().dropped_unaddressed == 4
