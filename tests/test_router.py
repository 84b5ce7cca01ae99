"""The router: log before deliver, seq order, addressing, backpressure."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import factories
from playbill import Journal, MemoryJournal
from playbill.lowlevel import MemoryStore
from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._errors import InjectedFaultError
from playbill.runtime.model._messages import NoteWritten
from playbill.runtime.shell._mailbox import Mailbox
from playbill.runtime.shell._router import Router
from playbill.testing import FaultyStore


def entry(seq: int, recipient: str = "*") -> Entry:
    msg = NoteWritten(author="t", text=str(seq))
    return factories.entry(msg, seq=seq, run_id="run", at_us=seq, recipient=recipient)


def note(text: str, recipient: str = "*") -> Draft:
    return Draft(msg=NoteWritten(author="t", text=text), sender="t", recipient=recipient)


def seqs(entries: list[Entry]) -> list[int]:
    return [e.seq for e in entries]


def drain(box: Mailbox[Entry]) -> list[Entry]:
    try:
        return box.receive_batch_nowait(10_000)
    except trio.WouldBlock:
        return []


async def test_addressing_star_and_observers() -> None:
    router = Router()
    a: Mailbox[Entry] = Mailbox(100, "a")
    b: Mailbox[Entry] = Mailbox(100, "b")
    everything: Mailbox[Entry] = Mailbox(100, "observer")
    router.subscribe("a", a)
    router.subscribe("b", b)
    router.subscribe_all(everything)
    router.subscribe_all(a)  # a mailbox in two subscriptions gets each entry once
    batch = [entry(1, "a"), entry(2, "b"), entry(3, "*"), entry(4, "nobody"), entry(5, "b")]
    router.feed(batch)
    assert seqs(drain(a)) == [1, 2, 3, 4, 5]
    assert seqs(drain(b)) == [2, 3, 5]
    assert seqs(drain(everything)) == [1, 2, 3, 4, 5]
    stats = router.statistics()
    assert stats.dropped_unaddressed == 1  # seq 4: no one subscribed to "nobody"
    assert (stats.entries_fed, stats.entries_routed, stats.deliveries) == (5, 5, 5 + 3 + 5)
    assert stats.subscriptions == 4


async def test_entries_for_an_absent_address_are_dropped_and_counted() -> None:
    router = Router()
    a: Mailbox[Entry] = Mailbox(100, "a")
    router.subscribe("a", a)
    router.feed([entry(1, "gone"), entry(2, "a"), entry(3, "gone")])
    assert seqs(drain(a)) == [2]
    assert router.statistics().dropped_unaddressed == 2
    router.subscribe("gone", a)  # a late subscriber gets what comes next only
    router.feed([entry(4, "gone")])
    assert seqs(drain(a)) == [4]
    with pytest.raises(ValueError, match="subscribe_all"):
        router.subscribe("*", a)


async def test_unsubscribe_and_resubscribe_while_running() -> None:
    router = Router()
    old: Mailbox[Entry] = Mailbox(100, "old")
    router.subscribe("x", old)
    router.feed([entry(1, "x")])
    router.unsubscribe(old)
    router.feed([entry(2, "x")])
    new: Mailbox[Entry] = Mailbox(100, "new")  # the restarted actor's mailbox
    router.subscribe("x", new)
    router.feed([entry(3, "x"), entry(4, "*")])
    assert seqs(drain(old)) == [1]
    assert seqs(drain(new)) == [3, 4]
    assert router.statistics().dropped_unaddressed == 1


async def test_only_committed_entries_are_delivered_in_seq_order() -> None:
    store = FaultyStore(MemoryStore())
    journal = Journal(store)
    router = Router()
    box: Mailbox[Entry] = Mailbox(10_000, "observer")
    router.subscribe_all(box)
    failed = 0
    async with (
        trio.open_nursery() as nursery,
        journal.writer("run", on_entries=router.feed, wait_for_room=router.wait_for_room) as w,
    ):
        await nursery.start(router.run)

        async def appender(i: int) -> None:
            nonlocal failed
            for j in range(5):
                try:
                    await w.append([note(f"{i}.{j}"), note(f"{i}.{j}b")])
                except InjectedFaultError:
                    failed += 1

        store.fail_next_commit()  # the first batch is never committed
        async with trio.open_nursery() as appenders:
            for i in range(8):
                appenders.start_soon(appender, i)
        delivered = drain(box)
        for e in delivered:  # every delivered entry is durable
            assert journal.store.last_seq("run") >= e.seq
        assert delivered == await journal.read("run")
        assert failed > 0
        assert len(delivered) == 2 * (8 * 5 - failed)
        nursery.cancel_scope.cancel()


async def test_backpressure_reaches_the_writer_and_its_appenders() -> None:
    journal = MemoryJournal()
    router = Router(capacity=4)
    box: Mailbox[Entry] = Mailbox(3, "slow actor")
    router.subscribe("slow", box)
    received: list[Entry] = []
    async with (
        trio.open_nursery() as nursery,
        journal.writer(
            "run", on_entries=router.feed, wait_for_room=router.wait_for_room, max_pending=2
        ) as w,
    ):
        await nursery.start(router.run)
        for i in range(10):
            nursery.start_soon(w.append, [note(f"a{i}", "slow")])
        await trio.testing.wait_all_tasks_blocked()
        # The mailbox is full, the router waits on it, its queue is at capacity,
        # so the writer waits before its next batch and the appenders queue.
        stats = router.statistics()
        assert len(box) == 3
        assert stats.waiting_on == "slow actor"
        assert stats.queued >= router.statistics().capacity
        assert stats.writers_waiting == 1
        assert w.statistics().appends_pending == 2
        committed = await journal.last_seq("run")
        assert committed < 10
        while len(received) < 10:  # the actor drains: everything flows again
            received += await box.receive_batch(2)
        assert [e.msg.text for e in received] == [  # type: ignore[union-attr]
            e.msg.text  # type: ignore[union-attr]
            for e in await journal.read("run")
        ]
        assert router.statistics().blocked >= 1
        nursery.cancel_scope.cancel()


async def test_a_full_mailbox_makes_the_router_wait_and_keep_order() -> None:
    router = Router()
    slow: Mailbox[Entry] = Mailbox(2, "slow")
    fast: Mailbox[Entry] = Mailbox(100, "fast")
    router.subscribe("slow", slow)
    router.subscribe_all(fast)
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        router.feed([entry(1, "slow"), entry(2, "slow"), entry(3, "slow"), entry(4, "x")])
        router.feed([entry(5, "slow")])
        # fast got up to the entry the router waits on (3 is delivered in order,
        # to slow first), nothing past it.
        assert seqs(drain(fast)) == [1, 2]
        await trio.testing.wait_all_tasks_blocked()
        assert router.statistics().waiting_on == "slow"
        got = []
        while len(got) < 4:
            got += seqs(await slow.receive_batch())
            await trio.testing.wait_all_tasks_blocked()
        assert got == [1, 2, 3, 5]
        assert seqs(drain(fast)) == [3, 4, 5]
        assert router.statistics().queued == 0
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("release", ["unsubscribe", "close"])
async def test_a_dead_actors_mailbox_does_not_stall_the_router(release: str) -> None:
    router = Router()
    dead: Mailbox[Entry] = Mailbox(1, "dead")
    other: Mailbox[Entry] = Mailbox(100, "other")
    router.subscribe("dead", dead)
    router.subscribe_all(other)
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        router.feed([entry(1, "dead"), entry(2, "dead"), entry(3, "*")])
        await trio.testing.wait_all_tasks_blocked()
        assert router.statistics().waiting_on == "dead"
        if release == "unsubscribe":
            router.unsubscribe(dead)
        else:
            dead.close()
        await trio.testing.wait_all_tasks_blocked()
        assert seqs(drain(other)) == [1, 2, 3]
        stats = router.statistics()
        assert (stats.queued, stats.waiting_on) == (0, None)
        # Unsubscribed, it gets nothing more; closed, the broadcast seq 3 is refused too.
        assert stats.dropped_closed == (1 if release == "unsubscribe" else 2)
        nursery.cancel_scope.cancel()
    assert seqs(drain(dead)) == [1]


async def test_delivery_order_does_not_depend_on_batching_or_timing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    entries = [entry(seq, ("a", "b", "*", "c")[seq % 4]) for seq in range(1, 301)]

    async def deliver(batch_sizes: list[int], capacity: int) -> dict[str, list[int]]:
        router = Router(capacity=capacity)
        boxes = {name: Mailbox[Entry](capacity, name) for name in ("a", "b", "all")}
        router.subscribe("a", boxes["a"])
        router.subscribe("b", boxes["b"])
        router.subscribe_all(boxes["all"])
        got: dict[str, list[int]] = {name: [] for name in boxes}

        async def actor(name: str, max_batch: int) -> None:
            async for batch in boxes[name]:
                got[name] += seqs(batch)
                await trio.sleep(0.001 * max_batch)  # uneven speeds (virtual time)

        async with trio.open_nursery() as nursery:
            await nursery.start(router.run)
            async with trio.open_nursery() as actors:
                for i, name in enumerate(boxes):
                    actors.start_soon(actor, name, i + 1)
                position = 0
                for size in [*batch_sizes, len(entries)]:
                    await router.wait_for_room()
                    router.feed(entries[position : position + size])
                    position = min(position + size, len(entries))
                await trio.sleep(100)  # virtual: ample for every actor to catch up
                assert router.statistics().queued == 0
                for box in boxes.values():
                    box.close()  # the actors drain what is queued, then end
            nursery.cancel_scope.cancel()
        return got

    reference = await deliver([], 1000)
    assert reference["all"] == list(range(1, 301))
    assert reference["a"] == [s for s in range(1, 301) if s % 4 in (0, 2)]
    for sizes, capacity in (([1] * 50, 2), ([7, 100, 3], 5), ([64, 64, 64], 16)):
        assert await deliver(sizes, capacity) == reference


async def test_the_router_task_runs_once() -> None:
    router = Router()
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        with pytest.raises(RuntimeError, match="already running"):
            await router.run()
        nursery.cancel_scope.cancel()
    with pytest.raises(ValueError, match="positive"):
        Router(capacity=0)
