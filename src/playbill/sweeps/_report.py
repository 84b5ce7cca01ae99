"""A sweep's summary, strategy comparisons, plots and ``report.md``, written from its rows.

The report ties the outputs together: the command that reproduces the sweep
(built from its manifest, so it is exact however the sweep was started), the
setup, the summary and outcome tables in markdown, the strategies compared
pairwise (paired by seed, Holm-adjusted), links to the plots, and how each
interval and test was computed.
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import final

import attrs

from ._cells import Row
from ._compare import Difference, compare_strategies
from ._plots import svg_name, write_plots
from ._rows import PROGRESS_FILE, ROWS_CSV, ROWS_JSONL, ROWS_PARQUET, replace_file
from ._runner import MANIFEST_FILE
from ._seeds import format_seeds
from ._setup import Manifest
from ._significance import ALPHA
from ._stats import BCA, LEVEL, WILSON, Estimate
from ._summary import SUMMARY_CSV, Summary, summarise, write_summary

REPORT_MD = "report.md"
"""The report of a sweep directory."""

COMPARISONS_CSV = "comparisons.csv"
"""Every pair of strategies of a sweep compared, per profile and metric (``compare_strategies``)."""


@final
@attrs.frozen
class Outputs:
    """What ``write_outputs`` wrote.

    Attributes:
        summaries: The summary, one per strategy and profile.
        comparisons: Every pair of strategies compared (``compare_strategies``).
        plots: The plots drawn (PNG file names, each with an SVG beside it);
            empty when plots were not asked for.
        command: The command that reproduces the sweep.
    """

    summaries: tuple[Summary, ...]
    comparisons: tuple[Difference, ...]
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
    """Write ``summary.csv``, ``comparisons.csv``, the plots (unless not ``plots``), ``report.md``.

    Args:
        out: The sweep directory.
        rows: Its rows (``SweepResult.rows``).
        manifest: Its manifest.
        plots: Whether to draw the plots (which need matplotlib).

    Raises:
        PlotsUnavailableError: Plots were asked for and matplotlib is missing;
            nothing is written then.
        MissingExtraError: scipy is missing (nothing is written then either).
    """
    directory = Path(out)
    summaries = summarise(rows)
    comparisons = compare_strategies(rows)
    drawn = write_plots(directory, summaries, rows) if plots else ()
    write_summary(directory, summaries)
    write_comparisons(directory, comparisons)
    command = reproduce_command(manifest, rows, directory)
    text = render_report(summaries, manifest, command, drawn, comparisons)
    replace_file(directory / REPORT_MD, text.encode())
    return Outputs(
        summaries=tuple(summaries), comparisons=comparisons, plots=drawn, command=command
    )


def write_comparisons(out: Path, comparisons: Sequence[Difference]) -> None:
    """Write ``comparisons.csv``: one line per pair of strategies, profile and metric."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(_COMPARISON_FIELDS)
    for d in comparisons:
        line: list[object] = [
            d.profile,
            d.baseline,
            d.strategy,
            d.metric,
            d.test,
            d.paired,
            d.pairs,
        ]
        line += [d.unshared, d.a.mean, d.b.mean, d.difference, d.low, d.high, d.interval]
        line += [d.p, d.p_holm, d.significant]
        writer.writerow("" if value is None else value for value in line)
    replace_file(out / COMPARISONS_CSV, text.getvalue().encode())


_COMPARISON_FIELDS = (
    "profile",
    "baseline",
    "strategy",
    "metric",
    "test",
    "paired",
    "pairs",
    "unshared",
    "mean_a",
    "mean_b",
    "difference",
    "low",
    "high",
    "interval",
    "p",
    "p_holm",
    "significant",
)


def format_p(p: float | None) -> str:
    """A p-value for people: four decimals, or ``<0.0001``; ``-`` for none."""
    if p is None:
        return "-"
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def render_report(
    summaries: Sequence[Summary],
    manifest: Manifest,
    command: str,
    plots: Sequence[str],
    comparisons: Sequence[Difference] = (),
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
        f"Means with {LEVEL:.0%} confidence intervals; makespan over completed runs only. "
        f"Success rate: Wilson score interval; makespan, cost and tokens: {BCA} "
        "(see Statistics).",
        "",
        f"| strategy | profile | runs | success rate, {LEVEL:.0%} CI (Wilson) "
        f"| makespan (min), {LEVEL:.0%} CI (BCa) | median | cost (USD), {LEVEL:.0%} CI (BCa) "
        f"| tokens, {LEVEL:.0%} CI (BCa) |",
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
    lines += _comparisons_section(comparisons)
    if plots:
        lines += ["", "## Plots", "", "Each also as SVG: "]
        lines[-1] += ", ".join(f"[{svg_name(name)}]({svg_name(name)})" for name in plots) + "."
        for name in plots:
            lines += ["", f"![{name}]({name})"]
    lines += [
        "",
        "## Files",
        "",
        f"- [{ROWS_CSV}]({ROWS_CSV}), [{ROWS_JSONL}]({ROWS_JSONL}): one row per run, "
        f"sorted by seed, strategy, profile (and `{ROWS_PARQUET}` where pyarrow is installed)",
        f"- [{SUMMARY_CSV}]({SUMMARY_CSV}): the summary, with medians and interval ends",
        f"- [{COMPARISONS_CSV}]({COMPARISONS_CSV}): the strategies compared, with p-values",
        f"- [{MANIFEST_FILE}]({MANIFEST_FILE}): what the rows are of",
        f"- `{PROGRESS_FILE}`: the append-only log a resumed sweep reads back",
        "",
        "## Statistics",
        "",
        f"- Success rate: {WILSON} interval (closed form; sound at 0 % and 100 %).",
        f"- Makespan, cost, tokens: {BCA} of the mean, seeded from the strategy, "
        "profile and metric: the same rows always give the same report.",
        "- Strategies compared: paired by seed; rates by McNemar's exact test, the others "
        "by the Wilcoxon signed-rank test; intervals of the paired difference: Newcombe's "
        f"hybrid score for rates, {BCA} for the others; "
        f"p-values adjusted by Holm's method over all {len(comparisons)} "
        f"comparisons, significant when the adjusted p < {ALPHA}.",
        "- `playbill sweep --compare A B` compares two sweeps the same way.",
        "",
    ]
    return "\n".join(lines)


def _comparisons_section(comparisons: Sequence[Difference]) -> list[str]:
    if not comparisons:
        return []
    found = sum(1 for d in comparisons if d.significant)
    lines = [
        "",
        "## Strategies compared",
        "",
        f"B - A, paired by seed; {found} of {len(comparisons)} differences significant "
        f"(Holm-adjusted p < {ALPHA}). 95 % CI: "
        + "; ".join(sorted({d.interval for d in comparisons if d.interval}) or ["none"])
        + ".",
        "",
        "| profile | A | B | metric | test | pairs | B - A | 95 % CI | p | p (Holm) | "
        "significant |",
        "|---|---|---|---|---|---:|---:|---|---:|---:|---|",
    ]
    for d in comparisons:
        shown, interval = d.formatted()
        verdict = "**yes**" if d.significant else "no"
        lines.append(
            f"| {d.profile} | {d.baseline} | {d.strategy} | {d.metric} | {d.test or '-'} "
            f"| {d.pairs:,} | {shown} | {interval} | {format_p(d.p)} | {format_p(d.p_holm)} "
            f"| {verdict} |"
        )
    return lines


def _cell(found: Estimate, scale: float, spec: str) -> str:
    if found.mean is None or found.low is None or found.high is None:
        return "n/a"
    mean, low, high = (format(v / scale, spec) for v in (found.mean, found.low, found.high))
    return f"{mean} [{low}, {high}]"
