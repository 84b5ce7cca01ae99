"""Benchmark: simulated runs per minute on one core, into memory and into SQLite.

Run with ``python -m bench.simulate`` (``--quick``: 30 runs a repeat instead
of 200; ``--repeats``, ``--json PATH`` as every topic of ``python -m bench``).
The workload is a research sweep's: seeds 1..N of one scenario, each a whole
run in ``simulate`` (writer, policy, router, timers, supervision tree, role
actors with seeded simulated backends, virtual clock):

* the plan: the default plan's 10 steps, played by 4 agents (``executor-1``
  also plans; ``executor-2``, ``reviewer``, ``verifier``), default profiles;
* faults on: ``crash=0.05,hang=0.02,transient=0.1``;
* a run not settled after ``MAX_VIRTUAL_S`` (a virtual day) would stop there
  (``running``): a guard, that no run of this sweep reaches since lost
  reviews and verifications are asked again a bounded number of times
  (before that fix, 4 % of these seeds never settled, and at ``simulate``'s
  30-day default each of them cost more wall time than all the others).

Each repeat runs, interleaved, on one CPU:

(a) reference: the pure core over the same journals: ``check_replay`` folds
    every entry (``evolve``) and runs the policy on it (``decide``): what any
    runtime of these runs must do at least once per entry;
(b) the sweep with a new ``MemoryJournal`` per run: entries per second (as a
    ratio to (a)), runs per minute, virtual seconds simulated per wall second;
(c) the same sweep into one SQLite journal file (WAL, ``synchronous=NORMAL``)
    holding all its runs, as a ratio to (b).

Figures are medians of the repeats. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import collections
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import trio

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import Figure, figure, finish, machine, topic_args
from playbill.runtime import (
    AgentSpec,
    Journal,
    MemoryJournal,
    Plan,
    SqliteJournal,
    check_replay,
    parse_faults,
)
from playbill.simulation import ProfileSet, default_plan, simulate

TOPIC = "simulate"
FAULTS = parse_faults("crash=0.05,hang=0.02,transient=0.1")
MAX_VIRTUAL_S = 24 * 3600.0


def bench_plan() -> Plan:
    """The default plan's 10 steps, with 4 agents: the planner's role goes to executor-1."""
    plan = default_plan()
    agents = (
        AgentSpec(id="executor-1", roles=("executor", "planner")),
        AgentSpec(id="executor-2", roles=("executor",)),
        AgentSpec(id="reviewer", roles=("reviewer",), edits_files=False),
        AgentSpec(id="verifier", roles=("verifier",), edits_files=False),
    )
    return Plan(steps=plan.steps, agents=agents, criteria=plan.criteria)


@attrs.frozen
class Sweep:
    """What one sweep came to."""

    wall_s: float
    entries: int
    virtual_s: float
    outcomes: collections.Counter[str]

    @property
    def runs(self) -> int:
        return sum(self.outcomes.values())


def sweep(seeds: range, plan: Plan, journal_for: Callable[[int], Journal]) -> Sweep:
    """Simulate every seed; ``journal_for(seed)`` is the journal each run goes to."""
    outcomes: collections.Counter[str] = collections.Counter()
    entries = 0
    virtual_s = 0.0
    profiles = ProfileSet()
    gc.collect()
    start = time.perf_counter()
    for seed in seeds:
        result = simulate(
            seed,
            plan=plan,
            profiles=profiles,
            faults=FAULTS,
            journal=journal_for(seed),
            max_virtual_s=MAX_VIRTUAL_S,
        )
        outcomes[result.outcome] += 1
        entries += result.entries
        virtual_s += result.virtual_s
    return Sweep(time.perf_counter() - start, entries, virtual_s, outcomes)


def replay_rate(journals: dict[int, MemoryJournal]) -> float:
    """Entries per second of ``check_replay`` over every run's journal."""
    runs = [trio.run(j.read, f"sim-{seed}") for seed, j in journals.items()]
    gc.collect()
    start = time.perf_counter()
    for entries in runs:
        assert check_replay(entries) is None
    return sum(len(e) for e in runs) / (time.perf_counter() - start)


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "30 runs a repeat instead of 200")
    n = 30 if args.quick else 200
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(machine())
    print(
        f"simulate: {n} runs a repeat (seeds 1..{n}), 10 steps, 4 agents, faults {FAULTS}, "
        f"at most {MAX_VIRTUAL_S / 3600:.0f} virtual hours a run, {args.repeats} repeats",
        flush=True,
    )
    plan = bench_plan()
    seeds = range(1, n + 1)
    memory: list[Sweep] = []
    sqlite: list[Sweep] = []
    reference: list[float] = []
    sizes: list[int] = []
    for _ in range(args.repeats):
        journals = {seed: MemoryJournal() for seed in seeds}
        memory.append(sweep(seeds, plan, journals.__getitem__))
        with tempfile.TemporaryDirectory() as tmp:
            with SqliteJournal(Path(tmp) / "sweep.db") as journal:
                sqlite.append(sweep(seeds, plan, lambda _: journal))
            sizes.append(sum(p.stat().st_size for p in Path(tmp).iterdir()))
        reference.append(replay_rate(journals))
        assert memory[-1].entries == sqlite[-1].entries, "the runs differ between journals"

    def rates(sweeps: list[Sweep]) -> list[float]:
        return [s.entries / s.wall_s for s in sweeps]

    figures: list[Figure] = [
        figure(
            TOPIC, "(a) pure core: fold + decide each entry", reference, "entries/s",
            subject="reference",
        ),
    ]  # fmt: skip
    for label, sweeps, versus in (
        ("(b) memory journal", memory, ("(a) the pure core", reference)),
        ("(c) SQLite journal, one file", sqlite, ("(b) memory", rates(memory))),
    ):
        figures += [
            figure(TOPIC, f"{label}: entries", rates(sweeps), "entries/s", versus=versus),
            figure(TOPIC, f"{label}: runs", [60 * s.runs / s.wall_s for s in sweeps], "runs/min"),
            figure(
                TOPIC,
                f"{label}: virtual time",
                [s.virtual_s / s.wall_s for s in sweeps],
                "virtual s/s",
            ),
        ]
    last = memory[-1]
    mix = ", ".join(f"{k} {v}" for k, v in sorted(last.outcomes.items()))
    print(
        f"  outcomes: {mix}; {last.entries:,} entries, {last.entries / last.runs:,.0f} a run; "
        f"SQLite file {statistics.median(sizes) / 1e6:.1f} MB for {n} runs",
        flush=True,
    )
    finish(figures, args.json)


if __name__ == "__main__":
    main()
