"""Benchmark: one-way tells to an actor, against trio's own limits and pykka.

Run with ``python -m bench.actor_delivery`` (``--quick`` for a short run), or
as part of ``python -m bench``. Everything runs in one process, with the same
pre-built msgspec ``Entry`` objects (heartbeats addressed to the actor); each
figure is the median of 3 repeats, and each repeat measures every case.

(a) the raw trio batched-drain limit: a producer ``send_nowait``\\ s into a
    ``trio.open_memory_channel(1024)`` (awaiting ``send`` when it is full)
    and a consumer drains with ``receive_nowait`` until ``WouldBlock``, then
    one ``receive()``;
(b) one await per message: ``await send`` / ``async for`` over the same
    channel (the naive trio actor);
(c) typed in-memory delivery: batches fed to a ``Router`` as the writer would
    (``wait_for_room``, ``feed``, then a scheduler pass), into the actor's
    ``Mailbox``; the actor drains it a batch at a time and dispatches each
    entry with ``match`` on its message type. Targets: c/a >= 0.5 and
    c/b >= 10. Also, for the router's worst case, the same entries addressed
    in turn to 8 actors, with a 9th subscribed to everything;
(e) pykka: actor A ``tell``\\ s actor B every entry (each actor a thread);
    timed until B has handled the last one.

Journaled delivery (log before deliver, SQLite) is ``bench/durable.py``.
Not a test: nothing is asserted but the counts.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench import _pykka
from bench._report import Figure, figure, finish, interleaved, machine, skipped, topic_args
from playbill.runtime.model._entry import FORMAT_VERSION, Entry
from playbill.runtime.model._messages import Heartbeat, NoteWritten, StepAssigned, UsageReported
from playbill.runtime.shell._mailbox import Mailbox
from playbill.runtime.shell._router import Router

RUN_ID = "bench-run"
ACTOR = "executor-1"
AT_US = 1_767_225_600_000_000
HEARTBEAT = Heartbeat(agent=ACTOR, step="step-3", attempt=2, progress="editing src/app.py")
CHANNEL_SIZE = 1024
FEED_BATCH = 256  # entries per committed batch fed to the router in (c)


def entries(n: int) -> list[Entry]:
    """n heartbeats addressed to the actor, as the writer hands them out."""
    return [
        Entry(
            v=FORMAT_VERSION,
            run_id=RUN_ID,
            seq=seq,
            at_us=AT_US,
            sender="executor-2",
            recipient=ACTOR,
            cause=None,
            msg=HEARTBEAT,
        )
        for seq in range(1, n + 1)
    ]


class Handler:
    """What the actor counts; it dispatches each message with ``match`` on its type."""

    def __init__(self) -> None:
        self.heartbeats = 0
        self.other = 0


def timed_run(work: Callable[[], object]) -> float:
    """Seconds ``work`` reports for itself (inside ``trio.run``)."""
    gc.collect()
    return trio.run(work)  # type: ignore[arg-type]


# ------------------------------------------------------------------ (a), (b)


async def raw_batched(items: list[Entry]) -> float:
    send, receive = trio.open_memory_channel[Entry](CHANNEL_SIZE)
    received = 0

    async def producer() -> None:
        async with send:
            for item in items:
                try:
                    send.send_nowait(item)
                except trio.WouldBlock:
                    await send.send(item)

    async def consumer() -> None:
        nonlocal received
        async with receive:
            while True:
                try:
                    receive.receive_nowait()
                    received += 1
                except trio.WouldBlock:
                    try:
                        await receive.receive()
                        received += 1
                    except trio.EndOfChannel:
                        return
                except trio.EndOfChannel:
                    return

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        nursery.start_soon(producer)
    elapsed = time.perf_counter() - start
    assert received == len(items), received
    return elapsed


async def one_await_each(items: list[Entry]) -> float:
    send, receive = trio.open_memory_channel[Entry](CHANNEL_SIZE)
    handler = Handler()

    async def producer() -> None:
        async with send:
            for item in items:
                await send.send(item)

    async def consumer() -> None:
        async with receive:
            async for item in receive:
                match item.msg:  # the same dispatch as the actor of (c)
                    case Heartbeat():
                        handler.heartbeats += 1
                    case StepAssigned() | UsageReported() | NoteWritten():
                        handler.other += 1
                    case _:
                        handler.other += 1

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        nursery.start_soon(producer)
    elapsed = time.perf_counter() - start
    assert handler.heartbeats == len(items)
    return elapsed


# ------------------------------------------------------------------ (c), (d)


async def actor(mailbox: Mailbox[Entry], handler: Handler) -> None:
    """A role actor's loop: a batch at a time, ``match`` per message."""
    async for batch in mailbox:
        for entry in batch:
            match entry.msg:
                case Heartbeat():
                    handler.heartbeats += 1
                case StepAssigned() | UsageReported() | NoteWritten():
                    handler.other += 1
                case _:
                    handler.other += 1


async def routed(items: list[Entry]) -> float:
    router = Router()
    mailbox: Mailbox[Entry] = Mailbox(CHANNEL_SIZE, ACTOR)
    router.subscribe(ACTOR, mailbox)
    handler = Handler()
    batches = [items[i : i + FEED_BATCH] for i in range(0, len(items), FEED_BATCH)]
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        async with trio.open_nursery() as actors:
            actors.start_soon(actor, mailbox, handler)
            for batch in batches:  # as the writer's flusher does, batch after batch
                await router.wait_for_room()
                router.feed(batch)
                await trio.lowlevel.checkpoint()
            while router.statistics().queued:
                await router.wait_for_room()
                await trio.lowlevel.checkpoint()
            mailbox.close()
        nursery.cancel_scope.cancel()
    elapsed = time.perf_counter() - start
    assert handler.heartbeats == len(items), handler.heartbeats
    return elapsed


async def routed_mixed(items: list[Entry], actors: int = 8) -> float:
    """(c) with recipients interleaved over ``actors`` actors, and an observer of everything."""
    names = [f"executor-{i}" for i in range(actors)]
    mixed = [
        msgspec.structs.replace(entry, recipient=names[i % actors]) for i, entry in enumerate(items)
    ]
    router = Router()
    boxes = {name: Mailbox[Entry](CHANNEL_SIZE, name) for name in names}
    for name, box in boxes.items():
        router.subscribe(name, box)
    observer: Mailbox[Entry] = Mailbox(CHANNEL_SIZE * 4, "observer")
    router.subscribe_all(observer)
    handler = Handler()
    batches = [mixed[i : i + FEED_BATCH] for i in range(0, len(mixed), FEED_BATCH)]
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        async with trio.open_nursery() as workers:
            for box in [*boxes.values(), observer]:
                workers.start_soon(actor, box, handler)
            for batch in batches:
                await router.wait_for_room()
                router.feed(batch)
                await trio.lowlevel.checkpoint()
            while router.statistics().queued:
                await router.wait_for_room()
                await trio.lowlevel.checkpoint()
            for box in [*boxes.values(), observer]:
                box.close()
        nursery.cancel_scope.cancel()
    elapsed = time.perf_counter() - start
    assert handler.heartbeats == 2 * len(items), handler.heartbeats
    return elapsed


TOPIC = "one-way tell"


def run(quick: bool, repeats: int = 3) -> list[Figure]:
    """Measure every case, interleaved; return the figures (printed as they come)."""
    n = 100_000 if quick else 500_000
    n_slow = n // 5  # one await per message and pykka: keep them to a second or two
    items = entries(n)
    slow_items = items[:n_slow]
    print(f"{TOPIC}: {n:,} messages for (a) and (c), {n_slow:,} for (b) and (e)")
    cases: dict[str, Callable[[], float]] = {
        "a": lambda: n / timed_run(lambda: raw_batched(items)),
        "b": lambda: n_slow / timed_run(lambda: one_await_each(slow_items)),
        "c": lambda: n / timed_run(lambda: routed(items)),
        "c8": lambda: n / timed_run(lambda: routed_mixed(items)),
    }
    if _pykka.AVAILABLE:
        cases["e"] = lambda: _pykka.tell_rate(slow_items)
    rates = interleaved(cases, repeats)
    a, b, c = rates["a"], rates["b"], rates["c"]
    unit = "msgs/s"
    figures = [
        figure(TOPIC, "(a) raw trio batched drain", a, unit, subject="reference"),
        figure(TOPIC, "(b) trio, one await per message", b, unit, subject="trio"),
        figure(
            TOPIC,
            "(c) playbill router + mailbox + match",
            c,
            unit,
            versus=("trio batched drain", a),
            target=0.5,
        ),
        figure(TOPIC, "(c) playbill router + mailbox + match", c, unit, versus=("trio naive", b)),
        figure(
            TOPIC,
            "(c) playbill, 8 actors interleaved + 1 observer",
            rates["c8"],
            unit,
            note="messages fed/s; each is delivered twice",
        ),
    ]
    if "e" in rates:
        figures.append(figure(TOPIC, "(e) pykka tell A->B", rates["e"], unit, subject="pykka"))
        name = "(c) playbill router + mailbox + match"
        figures.append(figure(TOPIC, name, c, unit, versus=("pykka", rates["e"])))
    else:
        figures.append(skipped(TOPIC, "(e) pykka tell A->B", unit, "pykka"))
    return figures


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "fewer messages, for a smoke run")
    print(machine())
    finish(run(args.quick, args.repeats), args.json)


if __name__ == "__main__":
    main()
