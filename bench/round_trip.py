"""Benchmark: request/reply round trips between two actors, against trio and peer runtimes.

Run with ``python -m bench.round_trip`` (``--quick`` for a short run), or as
part of ``python -m bench``. One request in flight at a time: actor A sends a
request to actor B and waits for B's reply before it sends the next. Each
case times itself (start-up, registration and cluster start excluded); each
figure is the median of 3 repeats, and each repeat measures every case.

(a) playbill, in memory: A and B are trio tasks with a ``Mailbox`` each,
    subscribed to a ``Router``; A feeds a typed request ``Entry``
    (``step_assigned``) addressed to B, B takes its batch, dispatches with
    ``match`` and feeds a typed reply (``step_started``) addressed to A. The
    actors build each message as they send it;
(b) playbill through the journal, as actors talk in a run: the same, but A
    and B ``append`` drafts to a ``MemoryJournal`` writer whose committed
    batches feed the router (log before deliver; no disk);
(c) trio ping-pong over two memory channels, ``await send`` / ``await
    receive``, small ints (the floor of any trio actor);
(d) pykka: actor A ``ask``\\ s actor B (threads, blocking ask);
(e) autogen-core: a RoutedAgent awaits ``send_message`` to another
    (``SingleThreadedAgentRuntime``, asyncio);
(f) ray: actor A ``ray.get``\\ s a call on actor B (local cluster,
    ``ray.init(num_cpus=2)``, each actor a process).

Targets: (a) >= 20x autogen-core and >= 100x ray. Not a test.
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

from bench import _autogen, _pykka, _ray
from bench._report import Figure, figure, finish, interleaved, machine, skipped, topic_args
from playbill.runtime import (
    FORMAT_VERSION,
    Draft,
    Entry,
    Mailbox,
    MemoryJournal,
    Router,
    StepAssigned,
    StepStarted,
)

TOPIC = "round trip"
RUN_ID = "bench-run"
AT_US = 1_767_225_600_000_000
CAPACITY = 1024


def _entry(seq: int, recipient: str, msg: StepAssigned | StepStarted) -> Entry:
    return Entry(
        v=FORMAT_VERSION,
        run_id=RUN_ID,
        seq=seq,
        at_us=AT_US,
        sender="b" if recipient == "a" else "a",
        recipient=recipient,
        cause=None,
        msg=msg,
    )


async def in_memory(n: int) -> float:
    """(a): typed entries through a router into two actors' mailboxes."""
    router = Router()
    a_box: Mailbox[Entry] = Mailbox(CAPACITY, "a")
    b_box: Mailbox[Entry] = Mailbox(CAPACITY, "b")
    router.subscribe("a", a_box)
    router.subscribe("b", b_box)

    async def actor_b() -> None:
        async for batch in b_box:
            replies = []
            for entry in batch:
                match entry.msg:
                    case StepAssigned(step=step, agent=agent, attempt=attempt):
                        reply = StepStarted(step=step, agent=agent, attempt=attempt)
                        replies.append(_entry(entry.seq, "a", reply))
                    case _:
                        pass
            router.feed(replies)

    async with trio.open_nursery() as nursery:
        await nursery.start(router.run)
        nursery.start_soon(actor_b)
        start = time.perf_counter()
        for i in range(n):
            request = StepAssigned(step="step-3", agent="b", attempt=i, heartbeat_timeout_s=30.0)
            router.feed([_entry(i, "b", request)])
            (reply,) = await a_box.receive_batch()
            match reply.msg:
                case StepStarted(attempt=attempt):
                    assert attempt == i
                case _:
                    raise AssertionError(reply)
        elapsed = time.perf_counter() - start
        nursery.cancel_scope.cancel()
    return elapsed


async def journaled(n: int) -> float:
    """(b): the same conversation, each message appended and committed before delivery."""
    router = Router()
    a_box: Mailbox[Entry] = Mailbox(CAPACITY, "a")
    b_box: Mailbox[Entry] = Mailbox(CAPACITY, "b")
    router.subscribe("a", a_box)
    router.subscribe("b", b_box)
    with MemoryJournal() as journal:
        async with trio.open_nursery() as nursery:
            await nursery.start(router.run)
            async with journal.writer(
                RUN_ID,
                clock=lambda: AT_US,
                on_entries=router.feed,
                wait_for_room=router.wait_for_room,
            ) as writer:

                async def actor_b() -> None:
                    async for batch in b_box:
                        replies = []
                        for entry in batch:
                            match entry.msg:
                                case StepAssigned(step=step, agent=agent, attempt=attempt):
                                    reply = StepStarted(step=step, agent=agent, attempt=attempt)
                                    replies.append(
                                        Draft(msg=reply, sender="b", recipient="a", cause=entry.seq)
                                    )
                                case _:
                                    pass
                        await writer.append(replies)

                nursery.start_soon(actor_b)
                start = time.perf_counter()
                for i in range(n):
                    request = StepAssigned(
                        step="step-3", agent="b", attempt=i, heartbeat_timeout_s=30.0
                    )
                    await writer.append([Draft(msg=request, sender="a", recipient="b")])
                    (reply,) = await a_box.receive_batch()
                    match reply.msg:
                        case StepStarted(attempt=attempt):
                            assert attempt == i
                        case _:
                            raise AssertionError(reply)
                elapsed = time.perf_counter() - start
                nursery.cancel_scope.cancel()
    return elapsed


async def trio_ping_pong(n: int) -> float:
    """(c): two tasks, two memory channels, one await per send and per receive."""
    to_b, b_inbox = trio.open_memory_channel[int](CAPACITY)
    to_a, a_inbox = trio.open_memory_channel[int](CAPACITY)

    async def ponger() -> None:
        async for i in b_inbox:
            await to_a.send(i)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ponger)
        start = time.perf_counter()
        for i in range(n):
            await to_b.send(i)
            assert await a_inbox.receive() == i
        elapsed = time.perf_counter() - start
        await to_b.aclose()
    return elapsed


def run(quick: bool, repeats: int = 3) -> list[Figure]:
    """Measure every case, interleaved; return the figures (printed as they come)."""
    n = 10_000 if quick else 30_000  # playbill and trio
    n_pykka = n // 4
    n_autogen = n // 10
    n_ray = 300 if quick else 1_000
    print(
        f"{TOPIC}: one request in flight; {n:,} round trips for playbill and trio, "
        f"{n_pykka:,} for pykka, {n_autogen:,} for autogen-core, {n_ray:,} for ray"
    )

    def in_trio(work: Callable[[int], object], count: int) -> Callable[[], float]:
        return lambda: count / trio.run(work, count)  # type: ignore[arg-type]

    cases: dict[str, Callable[[], float]] = {
        "a": in_trio(in_memory, n),
        "b": in_trio(journaled, n),
        "c": in_trio(trio_ping_pong, n),
    }
    peers = {
        "d": ("pykka", "(d) pykka ask A->B", _pykka.AVAILABLE, lambda: _pykka.ask_rate(n_pykka)),
        "e": (
            "autogen-core",
            "(e) autogen-core send_message RoutedAgent->RoutedAgent",
            _autogen.AVAILABLE,
            lambda: _autogen.round_trip_rate(n_autogen),
        ),
        "f": (
            "ray",
            "(f) ray actor A->actor B, ray.get",
            _ray.AVAILABLE,
            lambda: _ray.round_trip_rate(n_ray),
        ),
    }
    for key, (_, _, available, work) in peers.items():
        if available:
            cases[key] = work
    rates = interleaved(cases, repeats, warmup=["a", "b", "c"])
    a = rates["a"]
    unit = "round trips/s"
    name_a = "(a) playbill in memory: router + mailboxes + match"
    name_b = "(b) playbill through the journal (MemoryJournal)"
    figures = [
        figure(TOPIC, name_a, a, unit),
        figure(TOPIC, name_b, rates["b"], unit),
        figure(TOPIC, "(c) trio ping-pong, two channels", rates["c"], unit, subject="trio"),
        figure(TOPIC, name_a, a, unit, versus=("trio ping-pong", rates["c"])),
    ]
    targets = {"e": 20.0, "f": 100.0}
    for key, (peer, name, available, _) in peers.items():
        if not available:
            figures.append(skipped(TOPIC, name, unit, peer))
            continue
        figures.append(figure(TOPIC, name, rates[key], unit, subject=peer))
        figures.append(
            figure(TOPIC, name_a, a, unit, versus=(peer, rates[key]), target=targets.get(key))
        )
        if key in targets:
            figures.append(figure(TOPIC, name_b, rates["b"], unit, versus=(peer, rates[key])))
    return figures


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "fewer round trips, for a smoke run")
    print(machine())
    finish(run(args.quick, args.repeats), args.json)


if __name__ == "__main__":
    main()
