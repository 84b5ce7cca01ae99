"""The summary of a sweep: per strategy and profile, each metric's mean, median and 95 % interval.

The metrics:

* ``success_rate``: the share of runs that completed (each run 1 or 0);
* ``makespan_s``: virtual seconds, over the runs that *completed* (the time a
  success takes; a failure's time is when it gave up, another quantity);
* ``cost_usd`` and ``tokens``: over every run (failures cost too).

A rate's interval is Wilson's score interval; the others' are seeded BCa
bootstrap intervals of the mean (``_stats``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import final

import msgspec

from ._cells import Row
from ._rows import replace_file
from ._stats import Estimate, estimate, label_seed, rate_estimate

SUMMARY_CSV = "summary.csv"
"""The summary table of a sweep directory."""

ROW_METRICS: dict[str, Callable[[Row], float | None]] = {
    "success_rate": lambda row: 1.0 if row.succeeded else 0.0,
    "makespan_s": lambda row: row.makespan_s if row.succeeded else None,
    "cost_usd": lambda row: row.cost_usd,
    "tokens": lambda row: float(row.tokens),
}
"""Each metric's value of one row; ``None`` where the row does not count (a failure's makespan)."""

RATES = frozenset({"success_rate"})
"""The metrics that are rates (each value 1 or 0): Wilson intervals, exact tests."""


def _values(metric: Callable[[Row], float | None]) -> Callable[[Sequence[Row]], list[float]]:
    return lambda rows: [value for value in map(metric, rows) if value is not None]


METRICS: dict[str, Callable[[Sequence[Row]], list[float]]] = {
    name: _values(metric) for name, metric in ROW_METRICS.items()
}
"""Each metric's values over a group of rows (see the module documentation)."""


@final
class Summary(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The runs of one strategy and profile, summarised.

    Attributes:
        strategy: The strategy.
        profile: The profile.
        runs: Runs.
        outcomes: How many runs ended each way, by outcome, sorted.
        success_rate: The share of runs that completed.
        makespan_s: Virtual seconds of the runs that completed.
        cost_usd: US dollars per run.
        tokens: Tokens per run.
    """

    strategy: str
    profile: str
    runs: int
    outcomes: dict[str, int]
    success_rate: Estimate
    makespan_s: Estimate
    cost_usd: Estimate
    tokens: Estimate

    def metric(self, name: str) -> Estimate:
        """The estimate of metric ``name`` (a key of ``METRICS``)."""
        value: Estimate = getattr(self, name)
        return value


def group(rows: Iterable[Row]) -> dict[tuple[str, str], list[Row]]:
    """Rows by ``(strategy, profile)``, the keys sorted."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.strategy, row.profile), []).append(row)
    return dict(sorted(groups.items()))


def summarise(rows: Iterable[Row]) -> list[Summary]:
    """One summary per strategy and profile, sorted by strategy, then profile."""
    summaries = []
    for (strategy, profile), members in group(rows).items():
        outcomes: dict[str, int] = {}
        for row in members:
            outcomes[row.outcome] = outcomes.get(row.outcome, 0) + 1
        estimates = {
            name: rate_estimate(values(members))
            if name in RATES
            else estimate(values(members), seed=label_seed(strategy, profile, name))
            for name, values in METRICS.items()
        }
        summaries.append(
            Summary(
                strategy=strategy,
                profile=profile,
                runs=len(members),
                outcomes=dict(sorted(outcomes.items())),
                **estimates,
            )
        )
    return summaries


def write_summary(out: Path, summaries: Sequence[Summary]) -> None:
    """Write ``summary.csv``: one line per strategy and profile, six columns per metric."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    header = ["strategy", "profile", "runs"]
    for name in METRICS:
        header += [f"{name}_{part}" for part in ("n", "mean", "median", "low", "high", "interval")]
    writer.writerow(header)
    for summary in summaries:
        line: list[object] = [summary.strategy, summary.profile, summary.runs]
        for name in METRICS:
            found = summary.metric(name)
            line += [found.n, found.mean, found.median, found.low, found.high, found.method]
        writer.writerow("" if value is None else value for value in line)
    replace_file(out / SUMMARY_CSV, text.getvalue().encode())
