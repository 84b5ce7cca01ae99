"""``playbill sweep``: many seeded simulated runs, their summary and plots; and comparisons.

``sweep --strategies ... --seeds ... --out DIR`` runs a sweep (see
``playbill.sweeps`` and docs/sweeps.md) with a progress bar on stderr, then
prints the summary table and how many differences between its strategies
are significant. ``sweep --compare A B`` prints which differences between
two finished sweeps are significant (paired by seed, Holm-adjusted). Errors (bad seeds, an unknown
strategy, an unreadable plan or profile file, an output directory that holds
another sweep) are one line and exit status 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import final

import click
import msgspec
from rich import box
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from playbill._extras import MissingExtraError, available
from playbill.runtime import FaultPlan, parse_faults
from playbill.sweeps import (
    Comparison,
    Difference,
    Estimate,
    PlotsUnavailableError,
    Summary,
    SweepResult,
    SweepSetup,
    compare,
    load_setup,
    parse_seeds,
    run_sweep,
    write_outputs,
)
from playbill.sweeps import check_strategies as known_strategies

from ._app import make_console, say

EXIT_INTERRUPTED = 130
"""Exit status of a sweep stopped by Ctrl-C (its finished runs are kept)."""


def _default_workers() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@click.command()
@click.option(
    "--strategies",
    metavar="A,B,...",
    help="Coordination strategies to sweep, comma-separated (e.g. pipeline,parallel).",
)
@click.option("--seeds", metavar="SPEC", help="Seeds: 0:1000 (0 to 999), 7, or 0:100,500:600.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The sweep's directory; a sweep interrupted there resumes where it stopped.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A plan file (playbill.toml); the built-in 10-step example by default.",
)
@click.option(
    "--profiles",
    "profiles_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Agent profiles (TOML); each profile it defines is swept. Default: default and reliable.",
)
@click.option("--faults", default="", metavar="SPEC", help="Faults for every run: crash=0.05,...")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=_default_workers,
    show_default="the cores available",
    help="Worker processes (1: simulate in this process).",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    metavar="[ADDRESS]",
    help="Run the cells as Ray tasks: on a new local Ray instance of --workers CPUs, "
    "or on the cluster at ADDRESS (auto, host:port, ray://host:port). Same rows.",
)
@click.option(
    "--no-plots", is_flag=True, help="Skip the plots (PNG and SVG; they need matplotlib)."
)
@click.option(
    "--compare",
    "compared",
    nargs=2,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    metavar="DIR_A DIR_B",
    help="Compare two finished sweeps instead of running one.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="With --compare: print the comparison as JSON."
)
def sweep(
    strategies: str | None,
    seeds: str | None,
    out: Path | None,
    plan_file: Path | None,
    profiles_file: Path | None,
    faults: str,
    workers: int,
    ray_address: str | None,
    no_plots: bool,
    compared: tuple[Path, Path] | None,
    as_json: bool,
) -> None:
    """Simulate a run per seed, strategy and profile; summarise, plot and report.

    Every run is deterministic, so a sweep is reproducible, and resumable:
    rerun an interrupted sweep's command and it skips the runs it finished.
    DIR gets rows.csv and rows.jsonl (a row per run; rows.parquet too where
    pyarrow is installed), summary.csv (per strategy and profile: means,
    medians and 95 % intervals of success rate (Wilson), makespan, cost and
    tokens (BCa bootstrap)), comparisons.csv (every two strategies compared,
    paired by seed, Holm-adjusted p-values), plots (PNG and SVG) and report.md.

    With --compare DIR_A DIR_B, print which differences between two sweeps
    are significant: tested paired on the seeds both ran (unpaired when they
    share none), p-values adjusted by Holm's method; with --json, as one
    object (its keys are in docs/cli.md).
    """
    if compared:
        given = [strategies, seeds, out, plan_file, profiles_file, faults or None, ray_address]
        if any(value is not None for value in given):
            raise click.UsageError("--compare takes no other sweep option")
        _need_scipy()
        if as_json:
            click.echo(msgspec.json.encode(comparison_doc(compare(*compared), *compared)))
            return
        _print_comparison(compare(*compared), *compared)
        return
    if as_json:
        raise click.UsageError("--json goes with --compare (a sweep writes rows.jsonl)")
    missing = [
        name
        for name, value in (("--strategies", strategies), ("--seeds", seeds), ("--out", out))
        if value is None
    ]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or --compare DIR_A DIR_B)")
    assert strategies is not None and seeds is not None and out is not None
    names = known_strategies([name.strip() for name in strategies.split(",") if name.strip()])
    seed_list = parse_seeds(seeds)
    fault_plan = parse_faults(faults) if faults else FaultPlan()
    plots = not no_plots
    _need_scipy()  # before hours of runs, not after
    if plots and not available("matplotlib"):
        raise PlotsUnavailableError()
    setup = load_setup(plan_file, profiles_file, faults=fault_plan)
    result = _run_with_progress(setup, out, names, seed_list, workers, ray_address or False)
    outputs = write_outputs(out, result.rows, result.manifest, plots=plots)
    console = make_console()
    console.print(_summary_table(outputs.summaries))
    if outputs.comparisons:
        found = sum(1 for d in outputs.comparisons if d.significant)
        say(
            console,
            f"{found} of {len(outputs.comparisons)} differences between strategies significant "
            "(paired by seed, Holm-adjusted p < 0.05): see the report",
        )
    say(console, f"{result.ran:,} runs simulated, {result.reused:,} reused from {out}")
    say(console, f"Report: {out / 'report.md'}")


def _need_scipy() -> None:
    if not available("scipy"):
        raise MissingExtraError("scipy", "sweeps", "sweep statistics")


def _run_with_progress(
    setup: SweepSetup,
    out: Path,
    names: tuple[str, ...],
    seeds: tuple[int, ...],
    workers: int,
    ray: str | bool = False,
) -> SweepResult:
    """Run the sweep with a progress bar on stderr; Ctrl-C keeps what finished."""
    console = make_console(stderr=True)
    columns = (
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeRemainingColumn(),
    )
    done = [0]
    bar = Progress(*columns, console=console, transient=False)
    task = bar.add_task("sweep", total=None)
    # The bar starts with the first report: after the directory was claimed,
    # so that a refused sweep prints its one line of error and nothing else.
    started = [False]

    def progress(finished: int, total: int) -> None:
        if not started[0]:
            started[0] = True
            bar.start()
        done[0] = finished
        bar.update(task, completed=finished, total=total, refresh=finished == total)

    try:
        return run_sweep(
            setup, out, strategies=names, seeds=seeds, workers=workers, progress=progress, ray=ray
        )
    except KeyboardInterrupt:
        if started[0]:
            bar.stop()
            started[0] = False
        say(
            console,
            f"interrupted: {done[0]:,} runs are saved in {out}; "
            "run the same command again to resume",
        )
        raise SystemExit(EXIT_INTERRUPTED) from None
    finally:
        if started[0]:
            bar.stop()


def _interval(found: Estimate, scale: float, spec: str) -> str:
    if found.mean is None or found.low is None or found.high is None:
        return "-"
    mean, low, high = (format(v / scale, spec) for v in (found.mean, found.low, found.high))
    return f"{mean} [{low}, {high}]"


def _summary_table(summaries: tuple[Summary, ...]) -> Table:
    table = Table(
        title="means [95 % CI: success rate Wilson, others BCa bootstrap]; "
        "makespan of completed runs",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    for name, justify in (
        ("strategy", "left"),
        ("profile", "left"),
        ("runs", "right"),
        ("success", "left"),
        ("makespan min", "left"),
        ("median", "right"),
        ("cost USD", "left"),
        ("tokens", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in summaries:
        median = s.makespan_s.median
        table.add_row(
            s.strategy,
            s.profile,
            f"{s.runs:,}",
            _interval(s.success_rate, 0.01, ".1f").replace(" [", "% ["),
            _interval(s.makespan_s, 60, ".1f"),
            "-" if median is None else f"{median / 60:.1f}",
            _interval(s.cost_usd, 1, ".3f"),
            _interval(s.tokens, 1, ",.0f"),
        )
    return table


_SHORT_TESTS = {
    "McNemar exact": "McNemar",
    "Wilcoxon signed-rank": "Wilcoxon",
    "Fisher exact": "Fisher",
    "Mann-Whitney U": "Mann-Whitney",
}


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


@final
class ComparisonDoc(msgspec.Struct, frozen=True, kw_only=True):
    """``sweep --compare A B --json``: the comparison of two sweeps.

    Attributes:
        a: Sweep A's directory, as given.
        b: Sweep B's directory.
        setup_differences: What differs between their setups.
        differences: One per shared strategy, profile and metric: its
            estimates in A and B (n, mean, median, low, high), B - A and
            its 95 % interval, the test (paired by seed or not), its raw
            and Holm-adjusted p-values, and whether it is significant.
        only_a: ``[strategy, profile]`` pairs only A ran.
        only_b: Pairs only B ran.
        significant: How many differences are significant (Holm-adjusted p < 0.05).
    """

    a: str
    b: str
    setup_differences: tuple[str, ...]
    differences: tuple[Difference, ...]
    only_a: tuple[tuple[str, str], ...]
    only_b: tuple[tuple[str, str], ...]
    significant: int


def comparison_doc(comparison: Comparison, a: Path, b: Path) -> ComparisonDoc:
    """The document ``sweep --compare --json`` prints."""
    return ComparisonDoc(
        a=str(a),
        b=str(b),
        setup_differences=comparison.setup_differences,
        differences=comparison.differences,
        only_a=comparison.only_a,
        only_b=comparison.only_b,
        significant=len(comparison.significant),
    )


def _print_comparison(comparison: Comparison, a: Path, b: Path) -> None:
    console = make_console()
    say(console, f"A: {a}")
    say(console, f"B: {b}")
    if comparison.setup_differences:
        say(console, f"The sweeps differ in: {', '.join(comparison.setup_differences)}")
    table = Table(
        title="B - A with a 95 % interval; n: pairs by seed (p), else runs of A + B; "
        "Holm p: adjusted over every row, * below 0.05",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    for name in ("metric", "test", "n", "B - A", "95 % CI", "p", "Holm p"):
        table.add_column(name, justify="right" if name in ("n", "p", "Holm p") else "left")
    cell = ("", "")
    for d in comparison.differences:
        if (d.strategy, d.profile) != cell:
            cell = (d.strategy, d.profile)
            table.add_section()
            table.add_row(f"[bold]{d.strategy} / {d.profile}[/bold]")
        if d.p is None:
            table.add_row(d.metric, "no values on one side")
            continue
        shown, interval = d.formatted()
        count = f"{d.pairs:,}p" if d.paired else f"{d.a.n:,}+{d.b.n:,}"
        table.add_row(
            d.metric,
            _SHORT_TESTS.get(d.test, d.test),
            count,
            shown,
            interval,
            _p(d.p),
            _p(d.p_holm) + (" *" if d.significant else "  "),
            style="bold" if d.significant else None,
        )
    console.print(table)
    unshared = max((d.unshared for d in comparison.differences if d.paired), default=0)
    if unshared:
        say(console, f"paired tests leave out up to {unshared:,} runs of seeds only one sweep ran")
    for label, pairs in (("only in A", comparison.only_a), ("only in B", comparison.only_b)):
        if pairs:
            say(console, f"{label}: " + ", ".join(f"{s}/{p}" for s, p in pairs))
    found = len(comparison.significant)
    say(
        console,
        f"{found} of {len(comparison.differences)} differences significant "
        "(Holm-adjusted p < 0.05)",
    )
