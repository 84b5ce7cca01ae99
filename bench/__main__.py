"""Run every benchmark, playbill and its peers side by side: ``python -m bench``.

Each topic runs in a new process of its own (``python -m bench.<topic>``), so
that one topic's threads, clusters and memory do not weigh on the next; inside
a topic, playbill and its references run interleaved, in the same process.
At the end, a table of every figure, each target met or MISSED.

    python -m bench                  # the full suite (13 minutes on 2 vCPUs)
    python -m bench --quick          # a smoke run (2 minutes)
    python -m bench --only round_trip,orchestration
    python -m bench --json results.json --plot docs/performance.png

Peers (pykka, autogen-core, ray, langgraph) come with ``pip install
playbill[bench]``; a figure whose peer is missing says so, and the rest runs.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from bench._report import Figure, load_figures, machine, value_text

TOPICS = (
    "actor_delivery",  # one-way tell: trio, pykka
    "round_trip",  # request/reply: trio, pykka, autogen-core, ray
    "fan_in",  # 100 producers into one actor: trio, pykka
    "durable",  # journaled delivery vs raw SQLite
    "orchestration",  # overhead per step vs LangGraph
    "replay",  # replay and snapshot + tail vs an in-place fold
    "memory",  # 1M entries: RSS, cost per entry, state size
    "simulate",  # simulated runs per minute vs the pure core (bench/simulate.py)
    "sweep",  # a 10,000-run sweep in one process: memory, runs per minute
    "ui",  # the web view's pages on a 100,000-entry run: load times (bench/ui.py)
)
ROOT = Path(__file__).resolve().parents[1]


class Results(msgspec.Struct, frozen=True, kw_only=True):
    """What ``--json`` writes: when, where, how, and every figure."""

    date: str
    machine: str
    quick: bool
    seconds: dict[str, float]
    figures: list[Figure]


def run_topic(topic: str, quick: bool, repeats: int) -> tuple[list[Figure], float]:
    """Run one topic in a new process (its output streams through); its figures and seconds."""
    if not (ROOT / "bench" / f"{topic}.py").exists():
        print(f"bench.{topic}: not here; skipped", flush=True)
        return [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        command = [sys.executable, "-m", f"bench.{topic}", "--json", str(out)]
        command += ["--repeats", str(repeats)] + (["--quick"] if quick else [])
        start = time.perf_counter()
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        elapsed = time.perf_counter() - start
        if code != 0 or not out.exists():
            print(f"!! bench.{topic} failed (exit status {code}); going on", flush=True)
            return [], elapsed
        return load_figures(out), elapsed


def table(figures: list[Figure]) -> str:
    """Every figure as a Markdown table row, with its ratio and verdict."""
    rows = [
        "| topic | figure | value | ratio | target | note |",
        "|---|---|---:|---:|---|---|",
    ]
    for fig in figures:
        if fig.skipped is not None:
            rows.append(f"| {fig.topic} | {fig.name} | {fig.skipped} | | | |")
            continue
        ratio = f"{fig.ratio:,.2f}x vs {fig.versus}" if fig.ratio is not None else ""
        target = f">= {fig.target:g}: **{fig.verdict}**" if fig.target is not None else ""
        value = value_text(fig.value, fig.unit)
        rows.append(f"| {fig.topic} | {fig.name} | {value} | {ratio} | {target} | {fig.note} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer of everything")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case (median)")
    parser.add_argument(
        "--only", default="", help=f"comma-separated topics, of {', '.join(TOPICS)}"
    )
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--plot", type=Path, default=None, help="draw the PNG plot here")
    args = parser.parse_args()
    topics = [t for t in args.only.split(",") if t] or list(TOPICS)
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        parser.error(f"unknown topics: {', '.join(unknown)}")
    print(machine(), flush=True)
    figures: list[Figure] = []
    seconds: dict[str, float] = {}
    for topic in topics:
        print(flush=True)
        found, seconds[topic] = run_topic(topic, args.quick, args.repeats)
        figures += found
    print("\n" + table(figures))
    targets = [f for f in figures if f.target is not None]
    missed = [f for f in targets if f.verdict == "MISSED"]
    print(f"\n{len(targets) - len(missed)} of {len(targets)} targets met; ", end="")
    print(
        ", ".join(f"{t} {s:.0f} s" for t, s in seconds.items()),
        f"(total {sum(seconds.values()):.0f} s)",
    )
    results = Results(
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        machine=machine(),
        quick=args.quick,
        seconds=seconds,
        figures=figures,
    )
    if args.json is not None:
        args.json.write_bytes(msgspec.json.format(msgspec.json.encode(results)))
        print(f"figures written to {args.json}")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401 - only when asked; it comes with playbill[bench]
        except ImportError:
            print("plot skipped: install playbill[bench]")
            return
        from bench._plot import plot

        plot(results.figures, args.plot, title=f"{results.date[:10]}, {results.machine}")
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
