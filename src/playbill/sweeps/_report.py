"""A sweep's summary, plots and ``report.md``, written from its rows.

The report ties the outputs together: the command that reproduces the sweep
(built from its manifest, so it is exact however the sweep was started), the
setup, the summary and outcome tables in markdown, links to the plots, and
how the statistics were computed.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import final

import attrs

from ._cells import Row
from ._plots import write_plots
from ._rows import PROGRESS_FILE, ROWS_CSV, ROWS_JSONL, replace_file
from ._runner import MANIFEST_FILE
from ._seeds import format_seeds
from ._setup import Manifest
from ._stats import LEVEL, RESAMPLES, Estimate
from ._summary import SUMMARY_CSV, Summary, summarise, write_summary

REPORT_MD = "report.md"
"""The report of a sweep directory."""


@final
@attrs.frozen
class Outputs:
    """What ``write_outputs`` wrote.

    Attributes:
        summaries: The summary, one per strategy and profile.
        plots: The plots drawn (file names); empty when plots were not asked for.
        command: The command that reproduces the sweep.
    """

    summaries: tuple[Summary, ...]
    plots: tuple[str, ...]
    command: str


def reproduce_command(manifest: Manifest, rows: Sequence[Row], out: str | Path) -> str:
    """The ``playbill sweep`` command line that gives the same rows."""
    argv = ["playbill", "sweep"]
    if manifest.plan != "builtin":
        argv += ["--plan", manifest.plan]
    if manifest.profiles_source != "builtin":
        argv += ["--profiles", manifest.profiles_source]
    argv += ["--strategies", ",".join(sorted({row.strategy for row in rows}))]
    argv += ["--seeds", format_seeds(row.seed for row in rows) or "0"]
    if manifest.faults:
        argv += ["--faults", manifest.faults]
    argv += ["--out", str(out)]
    return shlex.join(argv)


def write_outputs(
    out: str | Path, rows: Sequence[Row], manifest: Manifest, *, plots: bool = True
) -> Outputs:
    """Write ``summary.csv``, the plots (unless ``plots`` is false) and ``report.md``.

    Args:
        out: The sweep directory.
        rows: Its rows (``SweepResult.rows``).
        manifest: Its manifest.
        plots: Whether to draw the plots (which need matplotlib).

    Raises:
        PlotsUnavailableError: Plots were asked for and matplotlib is missing;
            nothing is written then.
    """
    directory = Path(out)
    summaries = summarise(rows)
    drawn = write_plots(directory, summaries, rows) if plots else ()
    write_summary(directory, summaries)
    command = reproduce_command(manifest, rows, directory)
    replace_file(directory / REPORT_MD, render_report(summaries, manifest, command, drawn).encode())
    return Outputs(summaries=tuple(summaries), plots=drawn, command=command)


def render_report(
    summaries: Sequence[Summary], manifest: Manifest, command: str, plots: Sequence[str]
) -> str:
    """The markdown of ``report.md``."""
    runs = sum(s.runs for s in summaries)
    strategies = sorted({s.strategy for s in summaries})
    lines = [
        "# Sweep report",
        "",
        f"{runs:,} simulated runs: {len(strategies)} strategies ({', '.join(strategies)}) "
        f"x {len(manifest.profiles)} profiles ({', '.join(manifest.profiles)}), "
        f"playbill {manifest.playbill}.",
        "",
        "Reproduce (every run is deterministic; an interrupted sweep resumes):",
        "",
        "```sh",
        command,
        "```",
        "",
        "## Setup",
        "",
        f"- plan: {manifest.plan} (sha256 `{manifest.plan_sha256[:16]}`)",
        f"- profiles: {manifest.profiles_source}: {', '.join(manifest.profiles)} "
        f"(sha256 `{manifest.profiles_sha256[:16]}`)",
        f"- faults: {manifest.faults or 'none'}",
        f"- a run not settled after {manifest.max_virtual_s / 3600:g} virtual hours "
        "stops as `running`",
        "",
        "## Summary",
        "",
        f"Means with {LEVEL:.0%} bootstrap intervals; makespan over completed runs only.",
        "",
        "| strategy | profile | runs | success rate | makespan (min) | median | cost (USD) "
        "| tokens |",
        "|---|---|---:|---|---|---:|---|---|",
    ]
    for s in summaries:
        median = s.makespan_s.median
        lines.append(
            f"| {s.strategy} | {s.profile} | {s.runs:,} | {_cell(s.success_rate, 1, '.1%')} "
            f"| {_cell(s.makespan_s, 60, '.1f')} "
            f"| {'' if median is None else format(median / 60, '.1f')} "
            f"| {_cell(s.cost_usd, 1, '.3f')} | {_cell(s.tokens, 1, ',.0f')} |"
        )
    outcomes = sorted({name for s in summaries for name in s.outcomes})
    lines += [
        "",
        "## Outcomes",
        "",
        "| strategy | profile | " + " | ".join(outcomes) + " |",
        "|---|---|" + "---:|" * len(outcomes),
    ]
    for s in summaries:
        counts = " | ".join(f"{s.outcomes.get(name, 0):,}" for name in outcomes)
        lines.append(f"| {s.strategy} | {s.profile} | {counts} |")
    if plots:
        lines += ["", "## Plots", ""]
        for name in plots:
            lines += [f"![{name}]({name})", ""]
        lines.pop()
    lines += [
        "",
        "## Files",
        "",
        f"- [{ROWS_CSV}]({ROWS_CSV}), [{ROWS_JSONL}]({ROWS_JSONL}): one row per run, "
        "sorted by seed, strategy, profile",
        f"- [{SUMMARY_CSV}]({SUMMARY_CSV}): the summary, with medians and interval ends",
        f"- [{MANIFEST_FILE}]({MANIFEST_FILE}): what the rows are of",
        f"- `{PROGRESS_FILE}`: the append-only log a resumed sweep reads back",
        "",
        "## Statistics",
        "",
        f"Intervals are percentile bootstraps of the mean, {RESAMPLES:,} resamples, "
        "seeded from the strategy, profile and metric: the same rows always give the "
        "same report. `playbill sweep --compare A B` says which differences between "
        "two sweeps are significant.",
        "",
    ]
    return "\n".join(lines)


def _cell(found: Estimate, scale: float, spec: str) -> str:
    if found.mean is None or found.low is None or found.high is None:
        return "n/a"
    mean, low, high = (format(v / scale, spec) for v in (found.mean, found.low, found.high))
    return f"{mean} [{low}, {high}]"
