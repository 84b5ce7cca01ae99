"""Benchmark: a PostgreSQL journal with 1, 4 and 16 writers, against SQLite in the same run.

Run with ``python -m bench.postgres_journal`` (``--quick`` for a short run;
``--url postgresql://...`` to measure an existing server, by default a
throwaway one is started on loopback with PostgreSQL's default durability:
``fsync`` and ``synchronous_commit`` on).

Each writer is a process of its own holding one run's lease, as runners on
several hosts would be, with ``--appenders`` concurrent trio appenders each
appending single-entry batches (group commit gathers them). Every writer
opens its journal and its writer first; then all start at once, and the
figure is every writer's entries over the wall time until the last is done.
Each case runs three ways in the same repeat: PostgreSQL as configured
(durable: each commit waits for its WAL flush), PostgreSQL with
``synchronous_commit=off`` for the session (a crash of the server's OS may
lose the last commits, never tear one: the durability of SQLite's default),
and one SQLite file (WAL, ``synchronous=NORMAL``, the default) written by the
same processes. Each figure is the median of the repeats.

Not a test: nothing is asserted but the entry counts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import machine
from playbill.runtime import open_journal
from playbill.runtime.model._entry import Draft
from playbill.runtime.model._messages import Heartbeat

DRAFT = Draft(
    msg=Heartbeat(agent="executor-1", step="step-3", attempt=2, progress="editing src/app.py"),
    sender="actor/executor-1",
    recipient="supervisor",
    cause=41,
)


def child(target: str, run_id: str, entries: int, appenders: int) -> None:
    """One writer: say ``ready``, wait for a line on stdin, append, print the count."""

    async def main() -> None:
        with open_journal(target) as journal:
            async with journal.writer(run_id) as w:
                print("ready", flush=True)
                await trio.to_thread.run_sync(sys.stdin.readline)

                async def appender(count: int) -> None:
                    for _ in range(count):
                        await w.append([DRAFT])

                async with trio.open_nursery() as nursery:
                    for i in range(appenders):
                        share = entries // appenders + (1 if i < entries % appenders else 0)
                        nursery.start_soon(appender, share)
                # The wall clock, comparable between processes of one host; the
                # process's teardown is not part of the figure.
                finished = time.time()
                stats = w.statistics()
        print(f"{stats.entries_committed} {finished!r}", flush=True)

    trio.run(main)


def measure(target: str, writers: int, entries: int, appenders: int, tag: str) -> float:
    """Entries per second of ``writers`` processes, ``entries`` in all, started together."""
    per_writer = entries // writers
    # Made before the writers start: they would race to create it (and a
    # SQLite file being created is, for a moment, an empty file to the others).
    open_journal(target).close()
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.postgres_journal", "--child", target),
                *(f"{tag}-{writers}w-{i}", str(per_writer), str(appenders)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        for i in range(writers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            for other in procs:
                other.kill()
                other.communicate()
            raise RuntimeError(f"a writer failed to start: {line!r}")
    t0 = time.time()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    done, last = 0, t0
    for proc in procs:
        out, _ = proc.communicate()
        count, finished = out.split()
        done += int(count)
        last = max(last, float(finished))
    elapsed = last - t0
    if done != per_writer * writers:
        raise RuntimeError(f"{done} entries committed, not {per_writer * writers}")
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer entries, for a smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--appenders", type=int, default=10, help="per writer")
    parser.add_argument("--url", help="an existing server's database (default: start one)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        target, run_id, entries, appenders = args.child
        child(target, run_id, int(entries), int(appenders))
        return

    entries = 4_000 if args.quick else 16_000
    server = None
    if args.url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pg_server import PgServer

        server = PgServer(settings=())  # PostgreSQL's defaults: fsync, synchronous_commit on
    url = args.url if args.url is not None else server.url  # type: ignore[union-attr]
    try:
        print(machine())
        print(
            f"{entries} entries per figure, split over the writers; {args.appenders} appenders"
            f" per writer; median of {args.repeats}; PostgreSQL "
            + ("started here, default durability" if server is not None else "at --url")
        )
        # synchronous_commit=off (a session setting, here from the URL): a
        # commit may be lost to an OS crash or power loss, never torn; the
        # durability of SQLite's default synchronous=NORMAL.
        relaxed = url + ("&" if "?" in url else "?") + "options=-csynchronous_commit%3Doff"
        targets = {"pg": url, "pg-async": relaxed}
        rates: dict[tuple[str, int], list[float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(args.repeats):
                for writers in (1, 4, 16):
                    for kind, target in targets.items():
                        tag = f"{kind}-{repeat}"
                        got = measure(target, writers, entries, args.appenders, tag)
                        rates.setdefault((kind, writers), []).append(got)
                    path = str(Path(tmp) / f"bench-{repeat}-{writers}.db")
                    got = measure(path, writers, entries, args.appenders, "lite")
                    rates.setdefault(("sqlite", writers), []).append(got)
        median = {key: statistics.median(values) for key, values in rates.items()}
        print(
            "writers  PostgreSQL (durable)  PostgreSQL (synchronous_commit=off)"
            "  SQLite (synchronous=NORMAL)  ratios to SQLite"
        )
        for writers in (1, 4, 16):
            pg, relaxed_rate = median["pg", writers], median["pg-async", writers]
            lite = median["sqlite", writers]
            print(
                f"{writers:>7}  {pg:>12,.0f} entries/s  {relaxed_rate:>23,.0f} entries/s"
                f"  {lite:>18,.0f} entries/s  {pg / lite:.2f} / {relaxed_rate / lite:.2f}"
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
