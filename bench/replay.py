"""Benchmark: replaying a long run, and state at a seq via snapshot + tail.

Run with ``python -m bench.replay`` (``--quick`` for 200k entries instead of
1M). The journal is ``long_run`` from ``bench/_workloads.py``: a realistic run
where heartbeats and usage reports are most of the entries. Everything is
measured in one process; each figure is the median of 3 repeats.

(a) reference: an in-place fold of the pre-decoded entries (mutable dicts,
    the same bookkeeping as ``evolve``);
(b) the pure fold (``fold``) of the same pre-decoded entries;
(c) replay: read the run from a SQLite journal, verify every checksum,
    decode and fold (``Journal.state_at(run, snapshots=False)``), as a ratio
    to (a) (target: >= 0.5);
(d) ``Journal.state_at(run)`` at the last seq, via the latest snapshot
    (written every 1,000 entries) plus the tail, as a speed-up over (c)
    (target: >= 100x).

Also printed: peak RSS and the size of the final state. Not a test.
"""

from __future__ import annotations

import argparse
import gc
import resource
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

from bench._report import machine, ratio_line
from bench._workloads import InPlaceReducer, long_run
from playbill.runtime import Draft, Entry, SqliteJournal, encode_state, fold, state_digest

RUN_ID = "bench-run"
SNAPSHOT_EVERY = 1000


def timed(work: Callable[[], object], repeats: int = 3) -> tuple[float, object]:
    """Median seconds of ``work`` over the repeats, and its last result."""
    times = []
    result: object = None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def write_journal(path: Path, entries: list[Entry]) -> None:
    """Journal the run through the real writer, with snapshots, 1,000 drafts per append."""

    async def main() -> None:
        times = iter(e.at_us for e in entries)
        with SqliteJournal(path) as journal:
            async with journal.writer(
                RUN_ID, clock=lambda: next(times), snapshot_every=SNAPSHOT_EVERY
            ) as w:
                for start in range(0, len(entries), 1000):
                    chunk = entries[start : start + 1000]
                    await w.append(
                        [
                            Draft(msg=e.msg, sender=e.sender, recipient=e.recipient, cause=e.cause)
                            for e in chunk
                        ]
                    )

    trio.run(main)


def state_at(path: Path, *, snapshots: bool) -> object:
    async def main() -> object:
        with SqliteJournal(path, create=False) as journal:
            return await journal.state_at(RUN_ID, snapshots=snapshots)

    return trio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k entries instead of 1M")
    parser.add_argument("--entries", type=int, default=None)
    args = parser.parse_args()
    n = args.entries or (200_000 if args.quick else 1_000_000)
    print(machine())
    print(f"replay benchmark: {n:,} entries, snapshots every {SNAPSHOT_EVERY:,}")

    start = time.perf_counter()
    entries = long_run(n, RUN_ID)
    print(f"  built the run in {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        start = time.perf_counter()
        write_journal(path, entries)
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob("*-wal"))
        print(f"  journaled it in {time.perf_counter() - start:.1f} s ({size / 1e6:.0f} MB)")

        in_place, _ = timed(lambda: InPlaceReducer().fold(entries))
        pure, folded = timed(lambda: fold(entries))
        replay, replayed = timed(lambda: state_at(path, snapshots=False))
        tail, from_snapshot = timed(lambda: state_at(path, snapshots=True), repeats=5)

    # (the journal stamps one time per batch, so its state differs from ``folded`` in times)
    assert replayed == from_snapshot, "snapshot + tail disagrees with the full replay"
    print(f"  state-digest {state_digest(replayed)}")  # type: ignore[arg-type]
    print()
    print(ratio_line("(a) in-place fold, pre-decoded", n / in_place, "entries/s", None))
    print(ratio_line("(b) pure fold, pre-decoded", n / pure, "entries/s", pure and in_place / pure))
    print(
        ratio_line(
            "(c) replay: read + verify + decode + fold",
            n / replay,
            "entries/s",
            in_place / replay,
            target=0.5,
        )
    )
    print(
        f"  (d) state_at(last) via snapshot + tail: {tail * 1e3:.2f} ms "
        f"vs {replay * 1e3:.0f} ms full replay: {replay / tail:,.0f}x faster (target >= 100x)"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  final state: {len(encode_state(folded)) / 1e3:.1f} kB encoded; "  # type: ignore[arg-type]
        f"peak RSS of this process {peak_mb:.0f} MB (entries held in memory for (a) and (b))"
    )


if __name__ == "__main__":
    main()
