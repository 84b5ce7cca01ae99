"""Benchmark: replaying a long run, and state at a seq via snapshot + tail.

Run with ``python -m bench.replay`` (``--quick`` for 200k entries instead of
1M), or as part of ``python -m bench``. The journal is ``long_run`` from
``bench/_workloads.py``: a realistic run where heartbeats and usage reports
are most of the entries. Everything is measured in one process; each figure
is the median of 3 repeats, and each repeat measures every case.

(a) reference: an in-place fold of the pre-decoded entries (mutable dicts,
    the same bookkeeping as ``evolve``);
(b) the pure fold (``fold``) of the same pre-decoded entries;
(c) replay: read the run from a SQLite journal, verify every checksum,
    decode and fold (``Journal.state_at(run, snapshots=False)``), as a ratio
    to (a) (target: >= 0.5);
(d) ``Journal.state_at(run)`` at the last seq, via the latest snapshot
    (written every 1,000 entries) plus the tail, as a speed-up over (c)
    (target: >= 100x).

Also printed: the size of the final state. (Memory, and the cost per entry
as the journal grows, are ``bench/memory.py``.) Not a test.
"""

from __future__ import annotations

import argparse
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

from bench._report import Figure, figure, finish, interleaved, machine
from bench._workloads import InPlaceReducer, long_run
from playbill.runtime import Draft, Entry, SqliteJournal, encode_state, fold, state_digest

RUN_ID = "bench-run"
SNAPSHOT_EVERY = 1000


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


TOPIC = "replay"


def run(quick: bool, repeats: int = 3, entries_n: int | None = None) -> list[Figure]:
    """Build and journal the run, measure every case, interleaved; return the figures."""
    n = entries_n or (200_000 if quick else 1_000_000)
    print(f"{TOPIC}: {n:,} entries, snapshots every {SNAPSHOT_EVERY:,}")
    start = time.perf_counter()
    entries = long_run(n, RUN_ID)
    print(f"  built the run in {time.perf_counter() - start:.1f} s")
    results: dict[str, object] = {}

    def keep(name: str, work: Callable[[], object]) -> float:
        start = time.perf_counter()
        results[name] = work()
        return time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        start = time.perf_counter()
        write_journal(path, entries)
        size = path.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob("*-wal"))
        print(f"  journaled it in {time.perf_counter() - start:.1f} s ({size / 1e6:.0f} MB)")
        cases: dict[str, Callable[[], float]] = {
            "a": lambda: keep("a", lambda: InPlaceReducer().fold(entries)),
            "b": lambda: keep("b", lambda: fold(entries)),
            "c": lambda: keep("c", lambda: state_at(path, snapshots=False)),
            # about 2 ms: the median of 5 calls per repeat
            "d": lambda: statistics.median(
                keep("d", lambda: state_at(path, snapshots=True)) for _ in range(5)
            ),
        }
        times = interleaved(cases, repeats)
    replayed, from_snapshot, folded = results["c"], results["d"], results["b"]
    # (the journal stamps one time per batch, so its state differs from ``folded`` in times)
    assert replayed == from_snapshot, "snapshot + tail disagrees with the full replay"
    print(f"  state-digest {state_digest(replayed)}")  # type: ignore[arg-type]
    rates = {name: [n / t for t in ts] for name, ts in times.items()}
    unit = "entries/s"
    in_place = rates["a"]
    figures = [
        figure(TOPIC, "(a) in-place fold, pre-decoded", in_place, unit, subject="reference"),
        figure(
            TOPIC, "(b) pure fold, pre-decoded", rates["b"], unit, versus=("in-place", in_place)
        ),
        figure(
            TOPIC,
            "(c) replay: read + verify + decode + fold",
            rates["c"],
            unit,
            versus=("in-place fold", in_place),
            target=0.5,
        ),
        figure(
            TOPIC,
            "(d) state_at(last) via snapshot + tail",
            [t * 1e3 for t in times["d"]],
            "ms",
            versus=("full replay (c)", [t * 1e3 for t in times["c"]]),
            lower_is_better=True,
            target=100.0,
        ),
    ]
    kb = len(encode_state(folded)) / 1e3  # type: ignore[arg-type]
    figures.append(figure(TOPIC, "final state, encoded", [kb], "kB"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k entries instead of 1M")
    parser.add_argument("--entries", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print(machine())
    finish(run(args.quick, args.repeats, args.entries), args.json)


if __name__ == "__main__":
    main()
