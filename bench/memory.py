"""Benchmark: memory and cost per entry as a run's journal grows to 1M entries.

Run with ``python -m bench.memory`` (``--quick`` for 200k entries instead of
1M), or as part of ``python -m bench``. Each part runs in a new process of
its own, so that its peak RSS is its own (``ru_maxrss``; the baseline is the
same process after its imports):

(a) fold: ``evolve`` over the entries of ``long_run`` (``bench/_workloads.py``)
    as they are generated, 10,000 at a time, never holding more: the cost
    per entry (generation not timed) over the first 100k entries and over
    the last 100k, and the state's encoded size
    at 100k and at the end. Constant cost per entry and a state that does not
    grow with the journal are what make long runs and snapshots cheap;
(b) journal: the same entries appended through a ``SqliteJournal`` writer
    (1,000 drafts per append, a snapshot every 1,000 entries), as a live run
    journals them;
(c) replay: a new process reads the journal of (b) back and folds every
    entry (``state_at(run, snapshots=False)``).

The memory of a sweep of simulated runs is ``bench/sweep.py``. Not a test.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import Figure, figure, finish, machine, peak_rss_mb, topic_args
from bench._workloads import iter_long_run
from playbill.runtime import Draft, SqliteJournal, encode_state, evolve, initial_state

TOPIC = "memory"
RUN_ID = "bench-run"
WINDOW = 100_000  # a multiple of CHUNK
CHUNK = 10_000


def child_fold(n: int) -> dict[str, float]:
    """(a): fold as the entries come, 10,000 at a time; time the first and last ``WINDOW``."""
    baseline = peak_rss_mb()
    state = initial_state()
    entries = iter_long_run(n, RUN_ID)
    first = last = 0.0
    size_at_window = 0
    folded = 0
    while chunk := list(itertools.islice(entries, CHUNK)):
        start = time.perf_counter()
        for entry in chunk:
            state = evolve(state, entry)
        elapsed = time.perf_counter() - start
        if folded < WINDOW:
            first += elapsed
        if folded >= n - WINDOW:
            last += elapsed
        folded += len(chunk)
        if folded == WINDOW:
            size_at_window = len(encode_state(state))
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "first_us": first / WINDOW * 1e6,
        "last_us": last / WINDOW * 1e6,
        "kb_at_window": size_at_window / 1e3,
        "kb_at_end": len(encode_state(state)) / 1e3,
    }


def child_journal(n: int, path: Path) -> dict[str, float]:
    """(b): journal the run through the writer, never holding all its entries."""
    baseline = peak_rss_mb()
    entries = iter_long_run(n, RUN_ID)

    async def main() -> None:
        with SqliteJournal(path) as journal:
            async with journal.writer(RUN_ID, snapshot_every=1000) as writer:
                while chunk := list(itertools.islice(entries, 1000)):
                    await writer.append(
                        [
                            Draft(msg=e.msg, sender=e.sender, recipient=e.recipient, cause=e.cause)
                            for e in chunk
                        ]
                    )

    start = time.perf_counter()
    trio.run(main)
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "seconds": time.perf_counter() - start,
        "file_mb": path.stat().st_size / 1e6,
    }


def child_replay(path: Path) -> dict[str, float]:
    """(c): read every entry back and fold it, in a process that never wrote it."""
    baseline = peak_rss_mb()

    async def main() -> int:
        with SqliteJournal(path, create=False) as journal:
            state = await journal.state_at(RUN_ID, snapshots=False)
            return len(encode_state(state))

    start = time.perf_counter()
    size = trio.run(main)
    return {
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "seconds": time.perf_counter() - start,
        "kb_at_end": size / 1e3,
    }


def in_child(*args: str) -> dict[str, float]:
    """Run one part in a new process; its figures come back as JSON on its last line."""
    command = [sys.executable, "-m", "bench.memory", "--child", *args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.splitlines()[-1]))


def run(quick: bool, repeats: int = 1) -> list[Figure]:
    """Each part once, in a process of its own; return the figures (printed as they come)."""
    n = 200_000 if quick else 1_000_000
    print(f"{TOPIC}: a run of {n:,} entries (long_run), each part in a new process")
    fold = in_child("fold", str(n))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.db"
        wrote = in_child("journal", str(n), str(path))
        replay = in_child("replay", str(path))
    growth = fold["last_us"] / fold["first_us"]
    return [
        figure(
            TOPIC,
            f"(a) fold {n:,} entries, streamed: peak RSS",
            [fold["peak_mb"]],
            "MB",
            note=f"baseline after imports {fold['baseline_mb']:.0f} MB",
        ),
        figure(TOPIC, "(a) fold: cost per entry, first 100k", [fold["first_us"]], "us"),
        figure(
            TOPIC,
            "(a) fold: cost per entry, last 100k",
            [fold["last_us"]],
            "us",
            note=f"{growth:.2f}x the first 100k",
        ),
        figure(TOPIC, "(a) state encoded, at 100k entries", [fold["kb_at_window"]], "kB"),
        figure(TOPIC, f"(a) state encoded, at {n:,} entries", [fold["kb_at_end"]], "kB"),
        figure(
            TOPIC,
            f"(b) journal {n:,} entries (SQLite, snapshots): peak RSS",
            [wrote["peak_mb"]],
            "MB",
            note=f"{wrote['seconds']:.1f} s, {wrote['file_mb']:.0f} MB file",
        ),
        figure(
            TOPIC,
            f"(c) replay {n:,} entries in a new process: peak RSS",
            [replay["peak_mb"]],
            "MB",
            note=f"baseline {replay['baseline_mb']:.0f} MB, {replay['seconds']:.1f} s",
        ),
    ]


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        part, *rest = sys.argv[2:]
        if part == "fold":
            result = child_fold(int(rest[0]))
        elif part == "journal":
            result = child_journal(int(rest[0]), Path(rest[1]))
        else:
            result = child_replay(Path(rest[0]))
        print(json.dumps(result))
        return
    args = topic_args(__doc__.splitlines()[0], "200k entries instead of 1M")
    print(machine())
    finish(run(args.quick), args.json)


if __name__ == "__main__":
    main()
