"""What every benchmark prints the same way: the machine, and figures with ratios.

A topic module (``bench.round_trip``...) measures playbill and its references
interleaved, in one process: every repeat runs every case once, so a noisy
minute slows them all alike, and each ratio is the median of the per-repeat
ratios. It returns ``Figure``\\ s; ``python -m bench`` runs every topic in a
process of its own, gathers their figures (``--json``) and prints the table.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import msgspec
import trio

SKIPPED = "skipped: install playbill[bench]"
"""What a peer's figure says when its library is not installed."""


def machine() -> str:
    """One line naming the machine and the versions that matter to the figures."""
    return (
        f"cpus {os.cpu_count()}, {platform.machine()}, python {platform.python_version()}, "
        f"sqlite {sqlite3.sqlite_version}, trio {trio.__version__}, msgspec {msgspec.__version__}"
    )


def ratio_line(
    name: str, rate: float, unit: str, ratio: float | None, *, target: float | None = None
) -> str:
    """``name  rate unit  ratio x (target >= t)``, aligned."""
    text = f"  {name:<44} {rate:>12,.0f} {unit}"
    if ratio is not None:
        text += f"  ratio {ratio:.2f}"
    if target is not None:
        verdict = "met" if ratio is not None and ratio >= target else "MISSED"
        text += f" (target >= {target}: {verdict})"
    return text


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One measured figure, with its ratio to a reference measured in the same run.

    ``ratio`` is always playbill's advantage (its rate over the reference's,
    or the reference's time over its own), so a target is met when
    ``ratio >= target``.
    """

    topic: str
    name: str
    value: float | None
    unit: str
    subject: str = "playbill"  # or the peer's name, or "reference"
    ratio: float | None = None
    versus: str | None = None
    target: float | None = None
    spread: tuple[float, float] | None = None  # min and max of the repeats
    note: str = ""
    skipped: str | None = None

    @property
    def verdict(self) -> str | None:
        """``met`` / ``MISSED`` for a figure with a target, else None."""
        if self.target is None:
            return None
        return "met" if self.ratio is not None and self.ratio >= self.target else "MISSED"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def value_text(value: float | None, unit: str) -> str:
    """A figure's value with its unit, as the tables show it."""
    return "-" if value is None else f"{_number(value)} {unit}"


def print_figure(fig: Figure) -> None:
    """One aligned line for a figure, as topics print them while they run."""
    if fig.skipped is not None:
        print(f"  {fig.name:<58} {fig.skipped}", flush=True)
        return
    text = f"  {fig.name:<58} {value_text(fig.value, fig.unit):>22}"
    if fig.spread is not None:
        lo, hi = fig.spread
        text += f" [{_number(lo)}-{_number(hi)}]"
    if fig.ratio is not None:
        text += f"  {fig.ratio:,.2f}x vs {fig.versus}"
    if fig.target is not None:
        text += f" (target >= {fig.target:g}: {fig.verdict})"
    if fig.note:
        text += f"  {fig.note}"
    print(text, flush=True)


def cpu_steal() -> tuple[int, int]:
    """(steal, total) jiffies over all CPUs, from /proc/stat (0, 0 elsewhere)."""
    try:
        with Path("/proc/stat").open() as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return fields[7], sum(fields)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved(
    cases: dict[str, Callable[[], float]], repeats: int, *, warmup: Iterable[str] = ()
) -> dict[str, list[float]]:
    """Each case's value per repeat: every repeat runs every case once, in order.

    A case measures itself and returns its figure (a rate, or a cost per
    operation): timed inside ``trio.run``, inside an actor, or with start-up
    left out. Cases named in ``warmup`` run once, untimed, first.
    """
    for name in warmup:
        cases[name]()
    values: dict[str, list[float]] = {name: [] for name in cases}
    steal0, total0 = cpu_steal()
    for _ in range(repeats):
        for name, work in cases.items():
            gc.collect()
            values[name].append(work())
    steal1, total1 = cpu_steal()
    if total1 > total0:
        share = 100 * (steal1 - steal0) / (total1 - total0)
        print(f"  (cpu steal during the repeats: {share:.0f} %)", flush=True)
    return values


def seconds(work: Callable[[], object]) -> float:
    """Wall seconds of ``work()`` (for work that does not time itself)."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def figure(
    topic: str,
    name: str,
    values: Sequence[float],
    unit: str,
    *,
    subject: str = "playbill",
    versus: tuple[str, Sequence[float]] | None = None,
    lower_is_better: bool = False,
    target: float | None = None,
    note: str = "",
) -> Figure:
    """The median of repeated values and, against a reference's values from the
    same repeats, the median of the per-repeat ratios (playbill's advantage).
    """
    ratio = None
    versus_name = None
    if versus is not None:
        versus_name, theirs = versus
        pairs = zip(values, theirs, strict=True)
        ratio = statistics.median(t / m if lower_is_better else m / t for m, t in pairs)
    fig = Figure(
        topic=topic,
        name=name,
        value=statistics.median(values),
        unit=unit,
        subject=subject,
        ratio=ratio,
        versus=versus_name,
        target=target,
        spread=(min(values), max(values)) if len(values) > 1 else None,
        note=note,
    )
    print_figure(fig)
    return fig


def skipped(topic: str, name: str, unit: str, subject: str) -> Figure:
    """The figure of a peer that is not installed (printed as such)."""
    fig = Figure(topic=topic, name=name, value=None, unit=unit, subject=subject, skipped=SKIPPED)
    print_figure(fig)
    return fig


def topic_args(description: str, quick_help: str) -> argparse.Namespace:
    """The arguments every topic takes: ``--quick``, ``--repeats``, ``--json PATH``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    return parser.parse_args()


def finish(figures: Sequence[Figure], json_path: Path | None) -> None:
    """Write the figures as JSON when asked (``figure`` printed them already)."""
    if json_path is not None:
        json_path.write_bytes(msgspec.json.encode(list(figures)))


def load_figures(path: Path) -> list[Figure]:
    """Figures written by ``finish``."""
    return msgspec.json.decode(path.read_bytes(), type=list[Figure])
