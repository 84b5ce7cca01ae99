"""Benchmark: a sweep of simulated runs in one process: runs per minute, and memory.

Run with ``python -m bench.sweep`` (``--quick`` for 500 runs instead of
10,000), or as part of ``python -m bench``. Like a research sweep, one
process calls ``playbill.simulation.simulate(seed, ...)`` for seed after seed,
each run a whole simulated run (writer, policy, router, timers, supervision,
role actors with seeded simulated backends) on a new ``MemoryJournal`` and a
virtual clock. The plan: the 10 steps of ``default_plan()`` over 4 agents (a
planner that also verifies, two executors, a reviewer that also verifies),
the built-in agent profile, and faults ``crash=0.02,transient=0.1``.

Printed: runs per minute and simulated entries per second (the median over
ten slices of the sweep), the outcomes, and the process's resident memory
after the first slice and at the end (after a garbage collection): a sweep
must not grow with the number of runs; and its peak RSS.

A run that raises is counted, not fatal. A run not settled after 6 virtual
hours stops as ``running`` (``max_virtual_s``; the longest settled runs take
about half an hour): a guard, so that a run that never settles (as some did
before the fixes of 5b8af38: a helper re-asked forever for a review its
seeded draw crashes) cannot make the sweep spin for the default 30 virtual
days. (Simulated runs per minute against the pure core are
``bench/simulate.py``.) Not a test.
"""

from __future__ import annotations

import collections
import gc
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import Figure, figure, finish, machine, peak_rss_mb, topic_args
from playbill.runtime import AgentSpec, Plan, parse_faults
from playbill.simulation import default_plan, simulate

TOPIC = "sweep"
FAULTS = "crash=0.02,transient=0.1"
SLICES = 10
MAX_VIRTUAL_S = 6 * 3600.0


def rss_mb() -> float:
    """This process's resident memory now (not its peak), in MB; 0 where /proc is missing."""
    try:
        with Path("/proc/self/status").open() as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def sweep_plan() -> Plan:
    """The 10 steps of the built-in example plan, over 4 agents."""
    base = default_plan()
    agents = (
        AgentSpec(id="planner", roles=("planner", "verifier"), edits_files=False),
        AgentSpec(id="executor-1", roles=("executor",)),
        AgentSpec(id="executor-2", roles=("executor",)),
        AgentSpec(id="reviewer", roles=("reviewer", "verifier"), edits_files=False),
    )
    return Plan(steps=base.steps, agents=agents, criteria=base.criteria)


def run(quick: bool, runs: int | None = None) -> list[Figure]:
    """Simulate ``runs`` seeds in a row; return the figures (printed as they come)."""
    total = runs or (500 if quick else 10_000)
    per_slice = max(1, total // SLICES)
    plan = sweep_plan()
    faults = parse_faults(FAULTS)
    print(f"{TOPIC}: {total:,} simulated runs in one process, faults {FAULTS}")
    baseline = rss_mb()
    outcomes: collections.Counter[str] = collections.Counter()
    runs_per_min: list[float] = []
    entries_per_s: list[float] = []
    rss_after_first = 0.0
    seed = 0
    for index in range(SLICES):
        entries = 0
        start = time.perf_counter()
        for _ in range(per_slice):
            try:
                result = simulate(seed, plan=plan, faults=faults, max_virtual_s=MAX_VIRTUAL_S)
            except Exception as exc:  # counted: a sweep goes on
                outcomes[f"raised {type(exc).__name__}"] += 1
            else:
                outcomes[result.outcome] += 1
                entries += result.entries
            seed += 1
        elapsed = time.perf_counter() - start
        runs_per_min.append(per_slice / elapsed * 60)
        entries_per_s.append(entries / elapsed)
        if index == 0:
            gc.collect()
            rss_after_first = rss_mb()
    done = per_slice * SLICES
    print(
        f"  outcomes of {done:,} runs: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common())
    )
    gc.collect()
    end_rss = rss_mb()
    growth_kb = (end_rss - rss_after_first) / max(1, done - per_slice) * 1e3
    return [
        figure(TOPIC, "simulated runs (10 steps, 4 agents, faults)", runs_per_min, "runs/min"),
        figure(TOPIC, "simulated entries journaled and folded", entries_per_s, "entries/s"),
        figure(
            TOPIC,
            f"resident memory after {per_slice:,} runs",
            [rss_after_first],
            "MB",
            note=f"baseline after imports {baseline:.0f} MB",
        ),
        figure(
            TOPIC,
            f"resident memory after {done:,} runs",
            [end_rss],
            "MB",
            note=f"{growth_kb:.2f} kB per run after the first slice",
        ),
        figure(TOPIC, f"peak RSS over {done:,} runs", [peak_rss_mb()], "MB"),
    ]


def main() -> None:
    args = topic_args(__doc__.splitlines()[0], "500 runs instead of 10,000")
    print(machine())
    finish(run(args.quick), args.json)


if __name__ == "__main__":
    main()
