"""Benchmark: appending to a SqliteJournal, against a raw batched SQLite insert.

Run with ``python -m bench.journal_append`` (or ``python bench/journal_append.py``);
``--quick`` for a short run. Everything is measured in one process, each figure
the median of 3 repeats, and printed with its ratio to the reference:

(a) reference: the same encoded entry bytes inserted with ``executemany``, one
    transaction per 256 rows, same pragmas, into a plain table; and, for each
    case, the same raw insert with the transaction size that case can reach
    (so that ratio is the journal's own overhead over the SQLite work);
(b) the journal, one appender awaiting each single-entry append: one
    transaction per entry (this is also group commit with 1 appender);
(c) group commit: 10 and 100 concurrent trio appenders, each appending
    single-entry batches;
(d) for scale: one appender appending 256 drafts per call.

Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import machine
from playbill.runtime import SqliteJournal
from playbill.runtime.model._entry import FORMAT_VERSION, SEALED_CODEC, Draft, Entry
from playbill.runtime.model._messages import Heartbeat

RUN_ID = "bench-run"
AT_US = 1_767_225_600_000_000
DRAFT = Draft(
    msg=Heartbeat(agent="executor-1", step="step-3", attempt=2, progress="editing src/app.py"),
    sender="actor/executor-1",
    recipient="supervisor",
    cause=41,
)


def encoded_entries(n: int) -> list[bytes]:
    """The bytes a SQLite journal stores for n appends of DRAFT (sealed MessagePack records)."""
    return [
        SEALED_CODEC.encode(
            Entry(
                v=FORMAT_VERSION,
                run_id=RUN_ID,
                seq=seq,
                at_us=AT_US,
                sender=DRAFT.sender,
                recipient=DRAFT.recipient,
                cause=DRAFT.cause,
                msg=DRAFT.msg,
            )
        )
        for seq in range(1, n + 1)
    ]


def reference(path: Path, n: int, batch: int = 256) -> float:
    datas = encoded_entries(n)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE raw (seq INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    rows = list(enumerate(datas, 1))
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO raw (seq, data) VALUES (?, ?)", rows[start : start + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    assert conn.execute("SELECT count(*) FROM raw").fetchone()[0] == n
    conn.close()
    return elapsed


def journal(path: Path, n: int, appenders: int, per_append: int = 1) -> float:
    per_task = n // appenders // per_append
    drafts = [DRAFT] * per_append
    elapsed = 0.0

    async def main() -> None:
        nonlocal elapsed
        with SqliteJournal(path) as j:
            async with j.writer(RUN_ID, clock=lambda: AT_US) as w:

                async def appender() -> None:
                    for _ in range(per_task):
                        await w.append(drafts)

                t0 = time.perf_counter()
                async with trio.open_nursery() as nursery:
                    for _ in range(appenders):
                        nursery.start_soon(appender)
                elapsed = time.perf_counter() - t0
                stats = w.statistics()
                assert stats.entries_committed == per_task * appenders * per_append, stats

    trio.run(main)
    return elapsed


def rate(work: Callable[[Path], float], n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return n / work(Path(tmp) / "bench.db")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer entries, for a smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    n_single = n // 5  # one transaction per entry is slow; keep it to a second or two

    print(machine())
    print(
        f"{n} entries per figure ({n_single} for one transaction per entry); median of "
        f"{args.repeats}; each repeat measures every case right after its references"
    )
    # Each journal case has two references, measured in the same repeat: the
    # raw insert with 256 rows per transaction (the absolute yardstick), and
    # the raw insert with the transaction size the case can reach at most
    # (appenders x drafts per append): the SQLite work the same durability
    # needs, so that ratio is the journal's own overhead.
    cases: list[tuple[str, int, int, Callable[[Path], float]]] = [
        ("(b) 1 appender: 1 transaction per entry", n_single, 1, lambda p: journal(p, n_single, 1)),
        ("(c) group commit, 10 appenders", n, 10, lambda p: journal(p, n, 10)),
        ("(c) group commit, 100 appenders", n, 100, lambda p: journal(p, n, 100)),
        ("(d) 1 appender, 256 drafts per append", n, 256, lambda p: journal(p, n, 1, 256)),
    ]
    refs: list[float] = []
    rates: list[list[float]] = [[] for _ in cases]
    absolute: list[list[float]] = [[] for _ in cases]
    overhead: list[list[float]] = [[] for _ in cases]
    for _ in range(args.repeats):
        ref = rate(lambda p: reference(p, n), n)
        refs.append(ref)
        for i, (_, count, batch, work) in enumerate(cases):
            same = ref
            if batch != 256:
                same = rate(lambda p, b=batch, c=count: reference(p, c, b), count)
            r = rate(work, count)
            rates[i].append(r)
            absolute[i].append(r / ref)
            overhead[i].append(r / same)
    width = max(len(name) for name, *_ in cases)
    name = "(a) raw executemany, 256 rows per transaction"
    print(f"{name:<{width}}  {statistics.median(refs):>10,.0f} entries/s")
    for i, (name, *_rest) in enumerate(cases):
        print(
            f"{name:<{width}}  {statistics.median(rates[i]):>10,.0f} entries/s"
            f"  vs raw at the same transaction size {statistics.median(overhead[i]):.2f}"
            f"  vs (a) {statistics.median(absolute[i]):.2f}"
            f" (range {min(absolute[i]):.2f}-{max(absolute[i]):.2f})"
        )


if __name__ == "__main__":
    main()
