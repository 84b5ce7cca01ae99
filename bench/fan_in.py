"""Benchmark: fan-in, 100 producers into one actor, against trio channels and pykka.

Run with ``python -m bench.fan_in`` (``--quick`` for a short run), or as part
of ``python -m bench``. 100 producers each send an equal share of the same
pre-built heartbeat entries to one consumer, which dispatches each with
``match``; timed from the first send until the consumer has handled the last.
Each figure is the median of 3 repeats, each repeat measures every case.

(a) playbill: 100 trio tasks ``await mailbox.send(entry)`` into the actor's
    bounded ``Mailbox`` (1024); the actor takes a batch at a time. Also with
    producers that ``send_nowait`` and await ``send`` only when it is full,
    as (c) does (``send`` is a checkpoint: a producer yields on every send);
(b) trio, naive: 100 tasks ``await send`` into one ``open_memory_channel(1024)``
    (clones of the send side), the consumer ``async for``\\ s;
(c) trio, batched: producers ``send_nowait`` (awaiting ``send`` only when it
    is full) and the consumer drains with ``receive_nowait``;
(d) pykka: 100 ``ThreadingActor``\\ s each ``tell`` the consumer actor.

Not a test: nothing is asserted but the counts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench import _pykka
from bench._report import Figure, figure, finish, interleaved, machine, skipped, topic_args
from bench.actor_delivery import entries
from playbill.runtime import Entry, Heartbeat, Mailbox

TOPIC = "fan-in"
PRODUCERS = 100
CAPACITY = 1024


def _shares(items: list[Entry]) -> list[list[Entry]]:
    share = len(items) // PRODUCERS
    return [items[i * share : (i + 1) * share] for i in range(PRODUCERS)]


async def playbill_fan_in(items: list[Entry], *, nowait: bool = False) -> float:
    """(a): 100 tasks send into one actor's mailbox; it drains in batches."""
    mailbox: Mailbox[Entry] = Mailbox(CAPACITY, "executor-1")
    shares = _shares(items)
    expected = sum(map(len, shares))
    handled = 0
    done = trio.Event()

    async def producer(share: list[Entry]) -> None:
        for entry in share:
            if nowait:
                try:
                    mailbox.send_nowait(entry)
                    continue
                except trio.WouldBlock:
                    pass
            await mailbox.send(entry)

    async def actor() -> None:
        nonlocal handled
        async for batch in mailbox:
            for entry in batch:
                match entry.msg:
                    case Heartbeat():
                        handled += 1
                    case _:
                        pass
            if handled == expected:
                done.set()
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(actor)
        start = time.perf_counter()
        for share in shares:
            nursery.start_soon(producer, share)
        await done.wait()
        elapsed = time.perf_counter() - start
    return expected / elapsed


async def trio_fan_in(items: list[Entry], *, batched: bool) -> float:
    """(b) and (c): 100 tasks send into one memory channel."""
    send, receive = trio.open_memory_channel[Entry](CAPACITY)
    shares = _shares(items)
    expected = sum(map(len, shares))
    handled = 0

    def handle(entry: Entry) -> None:
        nonlocal handled
        match entry.msg:
            case Heartbeat():
                handled += 1
            case _:
                pass

    async def producer(sender: trio.MemorySendChannel[Entry], share: list[Entry]) -> None:
        async with sender:
            for entry in share:
                if batched:
                    try:
                        sender.send_nowait(entry)
                        continue
                    except trio.WouldBlock:
                        pass
                await sender.send(entry)

    async def consumer() -> None:
        async with receive:
            if not batched:
                async for entry in receive:
                    handle(entry)
                return
            while True:
                try:
                    handle(receive.receive_nowait())
                except trio.WouldBlock:
                    try:
                        handle(await receive.receive())
                    except trio.EndOfChannel:
                        return
                except trio.EndOfChannel:
                    return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        start = time.perf_counter()
        async with send:
            for share in shares:
                nursery.start_soon(producer, send.clone(), share)
    elapsed = time.perf_counter() - start
    assert handled == expected, handled
    return expected / elapsed


def run(quick: bool, repeats: int = 3) -> list[Figure]:
    """Measure every case, interleaved; return the figures (printed as they come)."""
    n = 50_000 if quick else 200_000
    items = entries(n)
    print(f"{TOPIC}: {PRODUCERS} producers, {n:,} messages in all, into one actor")
    cases: dict[str, Callable[[], float]] = {
        "a": lambda: trio.run(playbill_fan_in, items),
        "a2": lambda: trio.run(lambda: playbill_fan_in(items, nowait=True)),
        "b": lambda: trio.run(lambda: trio_fan_in(items, batched=False)),
        "c": lambda: trio.run(lambda: trio_fan_in(items, batched=True)),
    }
    if _pykka.AVAILABLE:
        cases["d"] = lambda: _pykka.fan_in_rate(items, PRODUCERS)
    rates = interleaved(cases, repeats)
    a = rates["a"]
    unit = "msgs/s"
    name_a = "(a) playbill: 100 tasks -> one Mailbox"
    name_a2 = "(a) playbill, producers send_nowait first"
    figures = [
        figure(TOPIC, name_a, a, unit),
        figure(TOPIC, name_a2, rates["a2"], unit),
        figure(TOPIC, "(b) trio channel, one await per message", rates["b"], unit, subject="trio"),
        figure(TOPIC, "(c) trio channel, batched drain", rates["c"], unit, subject="reference"),
        figure(TOPIC, name_a, a, unit, versus=("trio naive", rates["b"])),
        figure(TOPIC, name_a2, rates["a2"], unit, versus=("trio batched drain", rates["c"])),
    ]
    if "d" in rates:
        figures.append(
            figure(TOPIC, "(d) pykka, 100 actors tell one", rates["d"], unit, subject="pykka")
        )
        figures.append(figure(TOPIC, name_a, a, unit, versus=("pykka", rates["d"])))
    else:
        figures.append(skipped(TOPIC, "(d) pykka, 100 actors tell one", unit, "pykka"))
    return figures


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "fewer messages, for a smoke run")
    print(machine())
    finish(run(args.quick, args.repeats), args.json)


if __name__ == "__main__":
    main()
