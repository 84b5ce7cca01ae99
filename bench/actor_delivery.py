"""Benchmark: delivering messages to an actor, against trio's own limits.

Run with ``python -m bench.actor_delivery`` (``--quick`` for a short run).
Everything runs in one process, with the same pre-built msgspec ``Entry``
objects (heartbeats addressed to the actor); each figure is the median of 3
repeats, and each repeat measures every case.

(a) the raw trio batched-drain limit: a producer ``send_nowait``\\ s into a
    ``trio.open_memory_channel(1024)`` (awaiting ``send`` when it is full)
    and a consumer drains with ``receive_nowait`` until ``WouldBlock``, then
    one ``receive()``;
(b) one await per message: ``await send`` / ``async for`` over the same
    channel;
(c) typed in-memory delivery: batches fed to a ``Router`` as the writer would
    (``wait_for_room``, ``feed``, then a scheduler pass), into the actor's
    ``Mailbox``; the actor drains it a batch at a time and dispatches each
    entry with ``match`` on its message type. Targets: c/a >= 0.5 and
    c/b >= 10. Also, for the router's worst case, the same entries addressed
    in turn to 8 actors, with a 9th subscribed to everything;
(d) journaled delivery, log before deliver: appenders append to a
    ``SqliteJournal`` writer whose ``on_entries`` feeds the router; measured
    from the first append until the actor has handled the last entry. Also
    with a reactor that returns nothing: the writer then folds every entry
    (what the supervisor's policy costs before it decides anything).

Not a test: nothing is asserted but the counts.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import machine, ratio_line
from playbill.runtime._entry import FORMAT_VERSION, Draft, Entry
from playbill.runtime._journal import SqliteJournal
from playbill.runtime._mailbox import Mailbox
from playbill.runtime._messages import Heartbeat, NoteWritten, StepAssigned, UsageReported
from playbill.runtime._reactions import Reactor
from playbill.runtime._router import Router
from playbill.runtime._state import RunState

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


def no_reaction(state: RunState, entry: Entry) -> list[Draft]:
    return []


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


async def journaled(
    path: Path, n: int, appenders: int, per_append: int, reactor: Reactor | None = None
) -> float:
    router = Router()
    mailbox: Mailbox[Entry] = Mailbox(CHANNEL_SIZE, ACTOR)
    router.subscribe(ACTOR, mailbox)
    handler = Handler()
    drafts = [Draft(msg=HEARTBEAT, sender="executor-2", recipient=ACTOR)] * per_append
    per_task = n // appenders // per_append
    total = per_task * appenders * per_append
    done = trio.Event()

    async def counting_actor() -> None:
        async for batch in mailbox:
            for entry in batch:
                match entry.msg:
                    case Heartbeat():
                        handler.heartbeats += 1
                    case _:
                        handler.other += 1
            if handler.heartbeats >= total:
                done.set()

    async def appender(writer_append: Callable[[list[Draft]], object]) -> None:
        for _ in range(per_task):
            await writer_append(drafts)  # type: ignore[misc]

    with SqliteJournal(path) as journal:
        async with trio.open_nursery() as nursery:
            await nursery.start(router.run)
            nursery.start_soon(counting_actor)
            async with journal.writer(
                RUN_ID,
                clock=lambda: AT_US,
                on_entries=router.feed,
                wait_for_room=router.wait_for_room,
                reactor=reactor,
            ) as writer:
                start = time.perf_counter()
                async with trio.open_nursery() as workers:
                    for _ in range(appenders):
                        workers.start_soon(appender, writer.append)
                await done.wait()
                elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
    assert handler.heartbeats == total
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages, for a smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = 100_000 if args.quick else 500_000
    n_slow = n // 5  # one await per message and SQLite: keep them to a second or two
    items = entries(n)
    slow_items = items[:n_slow]

    print(machine())
    print(
        f"{n} messages for (a) and (c), {n_slow} for (b) and (d); median of {args.repeats}; "
        f"channel and mailbox size {CHANNEL_SIZE}, {FEED_BATCH} entries per batch fed in (c)"
    )
    cases: dict[str, Callable[[], float]] = {
        "a": lambda: n / timed_run(lambda: raw_batched(items)),
        "b": lambda: n_slow / timed_run(lambda: one_await_each(slow_items)),
        "c": lambda: n / timed_run(lambda: routed(items)),
        "c8": lambda: n / timed_run(lambda: routed_mixed(items)),
    }
    journal_cases: dict[str, tuple[int, int, Reactor | None]] = {
        "d1": (10, 1, None),
        "d2": (100, 1, None),
        "d3": (1, 256, None),
        "d4": (100, 1, no_reaction),
    }
    rates: dict[str, list[float]] = {name: [] for name in [*cases, *journal_cases]}
    for _ in range(args.repeats):
        for name, work in cases.items():
            rates[name].append(work())
        for name, (appenders, per_append, reactor) in journal_cases.items():
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "bench.db"
                seconds = timed_run(
                    lambda p=path, a=appenders, k=per_append, r=reactor: journaled(
                        p, n_slow, a, k, r
                    )
                )
            rates[name].append(n_slow / seconds)
    rate = {name: statistics.median(values) for name, values in rates.items()}
    ratio_ca = statistics.median(c / a for c, a in zip(rates["c"], rates["a"], strict=True))
    ratio_cb = statistics.median(c / b for c, b in zip(rates["c"], rates["b"], strict=True))
    print(ratio_line("(a) raw trio batched drain", rate["a"], "msgs/s", None))
    print(ratio_line("(b) one await per message", rate["b"], "msgs/s", None))
    name_c = "(c) router + mailbox + match"
    print(ratio_line(f"{name_c}, vs (a)", rate["c"], "msgs/s", ratio_ca, target=0.5))
    print(ratio_line(f"{name_c}, vs (b)", rate["c"], "msgs/s", ratio_cb, target=10))
    print(
        ratio_line("(c) 8 actors interleaved + 1 observer", rate["c8"], "msgs/s", None)
        + "  (messages fed/s; each is delivered twice)"
    )
    for name, (appenders, per_append, reactor) in journal_cases.items():
        label = f"(d) journaled, {appenders} appenders x {per_append}"
        label += " + reactor" if reactor is not None else ""
        print(ratio_line(label, rate[name], "msgs/s", None))


if __name__ == "__main__":
    main()
