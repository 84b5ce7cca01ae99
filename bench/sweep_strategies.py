"""Benchmark: simulated runs per minute per core for each strategy, and a 10,000-seed sweep.

Run with ``python -m bench.sweep_strategies`` (``--quick``: 500 seeds instead
of 10,000 and 40 runs per strategy instead of 200; ``--seeds N``,
``--workers N``; ``--json PATH`` as every topic). Not part of ``python -m
bench`` nor of the tests: the full sweep takes many minutes.

(a) Per strategy, on one core, in this process: ``run_cell`` over seeds
    0..K-1 of the built-in example plan (10 steps, 5 agents), every agent
    playing the ``default`` profile, no faults: runs per minute of wall time,
    and of CPU time (less sensitive to a noisy, shared machine), with the
    outcomes.
(b) ``playbill.sweeps.run_sweep`` of the same setup over seeds 0..N-1 and
    every registered strategy but ``pipeline`` (the default), in worker
    processes (all the cores by default), into a new directory: wall time,
    CPU time (this process and its workers), runs per minute in all and per
    worker; then ``write_outputs`` (summary with bootstrap intervals, plots
    if matplotlib is there, report): wall time and CPU time.

Figures are single measurements (one sweep): the machine is shared, so read
them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing.forkserver
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import ``bench`` and ``playbill`` from here
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench._report import Figure, figure, finish, machine
from playbill.runtime import STRATEGIES
from playbill.sweeps import Cell, load_setup, run_cell, run_sweep, write_outputs

TOPIC = "sweep_strategies"
DEFAULT = "pipeline"


def per_strategy(runs: int, profiles: Path) -> list[Figure]:
    """Runs per minute on one core, strategy by strategy."""
    setup = load_setup(profiles=profiles)
    figures = []
    for strategy in sorted(STRATEGIES):
        outcomes: collections.Counter[str] = collections.Counter()
        wall, cpu = time.perf_counter(), time.process_time()
        for seed in range(runs):
            outcomes[run_cell(setup, Cell(seed, strategy, "default")).outcome] += 1
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        mix = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
        print(f"  {strategy:<12} {runs / wall * 60:>7,.0f} runs/min wall, "
              f"{runs / cpu * 60:>7,.0f} runs/min CPU  ({mix})", flush=True)  # fmt: skip
        figures += [
            figure(TOPIC, f"(a) {strategy}: runs per minute, one core", [runs / wall * 60],
                   "runs/min", note=f"CPU time: {runs / cpu * 60:,.0f} runs/min; {mix}"),
        ]  # fmt: skip
    return figures


def whole_sweep(seeds: int, workers: int, profiles: Path) -> list[Figure]:
    """A sweep of every non-default strategy over ``seeds`` seeds, in worker processes."""
    strategies = sorted(set(STRATEGIES) - {DEFAULT})
    runs = seeds * len(strategies)
    print(
        f"(b) sweep: {seeds:,} seeds x {len(strategies)} strategies ({', '.join(strategies)}) "
        f"= {runs:,} runs, {workers} workers",
        flush=True,
    )
    setup = load_setup(profiles=profiles)
    shown = [time.perf_counter()]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - shown[0] >= 60 or done == total:
            shown[0] = time.perf_counter()
            print(f"  {done:,}/{total:,} runs, {time.perf_counter() - start:,.0f} s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), _cpu_s()
        result = run_sweep(
            setup, tmp, strategies=strategies, seeds=range(seeds), workers=workers,
            progress=progress,
        )  # fmt: skip
        sweep_s, sweep_cpu_s = time.perf_counter() - start, _cpu_s() - cpu
        start_outputs, cpu = time.perf_counter(), _cpu_s()
        try:
            outputs = write_outputs(tmp, result.rows, result.manifest)
        except Exception as error:  # plots need matplotlib: measure the rest anyway
            print(f"  plots skipped: {error}")
            outputs = write_outputs(tmp, result.rows, result.manifest, plots=False)
        outputs_s, outputs_cpu_s = time.perf_counter() - start_outputs, _cpu_s() - cpu
    for s in outputs.summaries:
        rate = s.success_rate
        print(f"  {s.strategy:<12} success {rate.mean:.1%} [{rate.low:.1%}, {rate.high:.1%}], "
              f"cost {s.cost_usd.mean:.3f} USD, outcomes {s.outcomes}")  # fmt: skip
    print(
        f"  sweep {sweep_s / 60:.1f} min ({sweep_cpu_s / 60:.1f} min CPU), "
        f"summary + plots + report {outputs_s:.1f} s ({outputs_cpu_s:.1f} s CPU)",
        flush=True,
    )
    return [
        figure(
            TOPIC,
            f"(b) sweep of {runs:,} runs, {workers} workers",
            [sweep_s / 60],
            "min",
            note=f"CPU time, all processes: {sweep_cpu_s / 60:.1f} min",
        ),
        figure(TOPIC, "(b) sweep: runs per minute, all workers", [runs / sweep_s * 60], "runs/min"),
        figure(
            TOPIC,
            "(b) sweep: runs per minute per worker",
            [runs / sweep_s * 60 / workers],
            "runs/min",
        ),
        figure(
            TOPIC,
            "(b) summary, plots and report",
            [outputs_s],
            "s",
            note=f"CPU time: {outputs_cpu_s:.1f} s",
        ),
    ]


def _cpu_s() -> float:
    """CPU seconds of this process and of the workers that have ended.

    Workers are children of this process (``spawn``) or of the forkserver
    (whose children's times Linux keeps in ``/proc/PID/stat``).
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = time.process_time() + children.ru_utime + children.ru_stime
    server = getattr(multiprocessing.forkserver._forkserver, "_forkserver_pid", None)
    try:
        fields = Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return seconds
    # cutime and cstime: fields 16 and 17 of stat(5), counted after the name's ")"
    return seconds + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 seeds instead of 10,000")
    parser.add_argument("--seeds", type=int, default=None, help="seeds of the sweep (b)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (b)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    seeds = args.seeds or (500 if args.quick else 10_000)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = args.workers or cores
    print(machine())
    print(f"strategies registered: {', '.join(sorted(STRATEGIES))}")
    with tempfile.TemporaryDirectory() as tmp:
        profiles = Path(tmp) / "profiles.toml"
        profiles.write_text('default = "default"\n')  # one swept profile: the built-in default
        runs = 40 if args.quick else 200
        print(f"(a) {runs} runs per strategy on one core, default profile, no faults", flush=True)
        figures = per_strategy(runs, profiles)
        figures += whole_sweep(seeds, workers, profiles)
    finish(figures, args.json)


if __name__ == "__main__":
    main()
