"""Benchmark: journaled, durable delivery (log before deliver) against raw batched SQLite inserts.

Run with ``python -m bench.durable`` (``--quick`` for a short run), or as part
of ``python -m bench``. Each figure is the median of 3 repeats; each repeat
measures every case, each into a new SQLite file (WAL, ``synchronous=NORMAL``).

(a) reference: the same encoded entry bytes the journal stores (a heartbeat,
    185 bytes of sealed MessagePack; see ``bench/journal_append.py``) inserted with
    ``executemany`` into a plain two-column table, 256 rows per transaction;
    and, for (c), 100 rows per transaction (the most its commits can hold);
(b) playbill, one appender appending 256 drafts per call to a
    ``SqliteJournal`` writer whose ``on_entries`` feeds a ``Router``, into the
    actor's ``Mailbox``; the actor handles each entry with ``match``. Timed
    from the first append until the actor has handled the last entry: stamp,
    encode, checksum, insert, commit, decode back, route, deliver, handle.
    Target: (b) >= 0.5 x (a), the same bytes in transactions of the same size;
(c) the same with 100 concurrent appenders of one draft each: group commit,
    each appender waiting for its own commit.

Not a test: nothing is asserted but the counts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import Figure, figure, finish, interleaved, machine, topic_args
from bench.journal_append import AT_US, DRAFT, RUN_ID, reference
from playbill.runtime import Entry, Heartbeat, Mailbox, Router, SqliteJournal

TOPIC = "journaled delivery"
CAPACITY = 1024


async def journaled(path: Path, n: int, appenders: int, per_append: int) -> float:
    """Entries/s from the first append until the actor has handled the last entry."""
    router = Router()
    mailbox: Mailbox[Entry] = Mailbox(CAPACITY, DRAFT.recipient)
    router.subscribe(DRAFT.recipient, mailbox)
    drafts = [DRAFT] * per_append
    per_task = n // appenders // per_append
    total = per_task * appenders * per_append
    handled = 0
    done = trio.Event()

    async def actor() -> None:
        nonlocal handled
        async for batch in mailbox:
            for entry in batch:
                match entry.msg:
                    case Heartbeat():
                        handled += 1
                    case _:
                        pass
            if handled >= total:
                done.set()

    with SqliteJournal(path) as journal:
        async with trio.open_nursery() as nursery:
            await nursery.start(router.run)
            nursery.start_soon(actor)
            async with journal.writer(
                RUN_ID,
                clock=lambda: AT_US,
                on_entries=router.feed,
                wait_for_room=router.wait_for_room,
            ) as writer:

                async def appender() -> None:
                    for _ in range(per_task):
                        await writer.append(drafts)

                start = time.perf_counter()
                async with trio.open_nursery() as workers:
                    for _ in range(appenders):
                        workers.start_soon(appender)
                await done.wait()
                elapsed = time.perf_counter() - start
            nursery.cancel_scope.cancel()
    assert handled == total, handled
    return total / elapsed


def in_temp(work: Callable[[Path], float]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return work(Path(tmp) / "bench.db")


def run(quick: bool, repeats: int = 3) -> list[Figure]:
    """Measure every case, interleaved; return the figures (printed as they come)."""
    n = 25_600 if quick else 102_400
    print(f"{TOPIC}: {n:,} entries per case, SQLite WAL, synchronous=NORMAL")
    cases: dict[str, Callable[[], float]] = {
        "a": lambda: in_temp(lambda p: n / reference(p, n, 256)),
        "b": lambda: in_temp(lambda p: trio.run(journaled, p, n, 1, 256)),
        "a100": lambda: in_temp(lambda p: n / reference(p, n, 100)),
        "c": lambda: in_temp(lambda p: trio.run(journaled, p, n, 100, 1)),
    }
    rates = interleaved(cases, repeats, warmup=["b"])
    unit = "msgs/s"
    name_b = "(b) playbill journaled delivery, 256 drafts per append"
    name_c = "(c) playbill journaled delivery, 100 appenders x 1"
    return [
        figure(TOPIC, "(a) raw executemany, 256 rows/txn", rates["a"], unit, subject="reference"),
        figure(
            TOPIC, "(a) raw executemany, 100 rows/txn", rates["a100"], unit, subject="reference"
        ),
        figure(
            TOPIC, name_b, rates["b"], unit, versus=("raw 256 rows/txn", rates["a"]), target=0.5
        ),
        figure(TOPIC, name_c, rates["c"], unit, versus=("raw 256 rows/txn", rates["a"])),
        figure(TOPIC, name_c, rates["c"], unit, versus=("raw 100 rows/txn", rates["a100"])),
    ]


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "fewer entries, for a smoke run")
    print(machine())
    finish(run(args.quick, args.repeats), args.json)


if __name__ == "__main__":
    main()
