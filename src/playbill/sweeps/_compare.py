"""Differences and their significance: between strategies of one sweep, and between two sweeps.

A difference is of one metric, ``B - A``, where A and B are two strategies
of one sweep (``compare_strategies``), or one strategy in two sweeps
(``compare``), for one profile. Runs with the same seed are *paired*: the
same seed gives both sides the same luck (the same draws of faults and
latencies), so the paired difference removes it, and a paired test sees
smaller effects. When the two sides share seeds, the test is paired on the
shared seeds (McNemar's exact test for rates, Wilcoxon's signed-rank test
otherwise), and runs of the other seeds are left out (counted in
``unshared``); when they share none (sweeps on different seeds), the test
is unpaired on every run (Fisher's exact test, Mann-Whitney's U test). Each
difference has a 95 % interval (see ``_stats``) and a two-sided p-value,
and the p-values of one report are adjusted together by Holm's method: a
difference is *significant* when its adjusted p-value is below 0.05.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from itertools import combinations
from pathlib import Path
from typing import NamedTuple, final

import attrs
import msgspec

from ._cells import Row
from ._errors import SweepFileError
from ._rows import read_rows
from ._runner import MANIFEST_FILE, read_manifest
from ._setup import Manifest
from ._significance import (
    ALPHA,
    FISHER,
    MANN_WHITNEY,
    MCNEMAR,
    WILCOXON,
    fisher_exact,
    holm,
    mann_whitney,
    mcnemar_exact,
    wilcoxon_signed_rank,
)
from ._stats import (
    BCA,
    NEWCOMBE,
    NEWCOMBE_PAIRED,
    Estimate,
    bca,
    label_seed,
    newcombe,
    newcombe_paired,
)
from ._summary import RATES, ROW_METRICS, group


@final
class Difference(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How one metric differs from A to B, for one strategy (or pair of strategies) and profile.

    Attributes:
        strategy: B's strategy (comparing two sweeps: the strategy of both).
        profile: The profile.
        metric: The metric (a key of ``METRICS``).
        a: The metric on side A, over the runs the test used (no interval: see ``low``).
        b: The metric on side B, likewise.
        baseline: A's strategy, comparing two strategies of one sweep; ``None``
            comparing two sweeps.
        test: The test (``McNemar exact``, ``Wilcoxon signed-rank``, ``Fisher
            exact``, ``Mann-Whitney U``); empty when a side has no values.
        paired: Whether the test paired runs by seed.
        pairs: The pairs a paired test used (0 for an unpaired test).
        unshared: Runs of seeds only one side ran, left out of a paired test.
        difference: ``mean(B) - mean(A)``, or ``None`` when a side has no values.
        low: The lower end of the difference's 95 % interval (``None`` likewise).
        high: The upper end.
        interval: How the interval was computed.
        p: The test's two-sided p-value.
        p_holm: The p-value adjusted by Holm's method over every difference of the report.
        significant: Whether ``p_holm`` is below 0.05.
    """

    strategy: str
    profile: str
    metric: str
    a: Estimate
    b: Estimate
    baseline: str | None = None
    test: str = ""
    paired: bool = False
    pairs: int = 0
    unshared: int = 0
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    interval: str = ""
    p: float | None = None
    p_holm: float | None = None
    significant: bool = False

    def formatted(self) -> tuple[str, str]:
        """The difference with its unit, and its interval, for people (``-`` where none)."""
        if self.difference is None or self.low is None or self.high is None:
            return "-", "-"
        scale, spec, unit = _UNITS[self.metric]
        low, high = format(self.low / scale, spec), format(self.high / scale, spec)
        return format(self.difference / scale, spec) + unit, f"[{low}, {high}]"


_UNITS: dict[str, tuple[float, str, str]] = {  # a difference shown: divided by, format, unit
    "success_rate": (0.01, "+.1f", " pp"),
    "makespan_s": (60.0, "+.2f", " min"),
    "cost_usd": (1.0, "+.4f", " USD"),
    "tokens": (1.0, "+,.0f", ""),
}


@final
@attrs.frozen
class Comparison:
    """Two sweeps compared.

    Attributes:
        differences: One per shared strategy and profile and metric, sorted.
        only_a: ``(strategy, profile)`` pairs only sweep A ran.
        only_b: Pairs only sweep B ran.
        setup_differences: What differs between the sweeps' setups (plan,
            profiles, faults...), from their manifests; empty when nothing does.
    """

    differences: tuple[Difference, ...]
    only_a: tuple[tuple[str, str], ...]
    only_b: tuple[tuple[str, str], ...]
    setup_differences: tuple[str, ...]

    @property
    def significant(self) -> tuple[Difference, ...]:
        """The differences significant after Holm's correction."""
        return tuple(d for d in self.differences if d.significant)


def compare(a: str | Path, b: str | Path) -> Comparison:
    """Compare the rows of two finished sweep directories.

    Args:
        a: Sweep A (the baseline).
        b: Sweep B.

    Raises:
        SweepFileError: A directory holds no finished sweep, or a corrupt one.
        MissingExtraError: scipy is not installed.
    """
    groups_a, groups_b = group(read_rows(Path(a))), group(read_rows(Path(b)))
    differences = [
        difference(groups_a[key], groups_b[key], metric, strategy=key[0], profile=key[1])
        for key in sorted(groups_a.keys() & groups_b.keys())
        for metric in ROW_METRICS
    ]
    return Comparison(
        differences=adjust(differences),
        only_a=tuple(sorted(groups_a.keys() - groups_b.keys())),
        only_b=tuple(sorted(groups_b.keys() - groups_a.keys())),
        setup_differences=tuple(_manifest(Path(a)).differences(_manifest(Path(b)))),
    )


def compare_strategies(rows: Iterable[Row]) -> tuple[Difference, ...]:
    """Every pair of strategies of one sweep compared, per profile and metric, paired by seed.

    Sorted by profile, then baseline (A), strategy (B) and metric; the
    p-values adjusted together by Holm's method.

    Raises:
        MissingExtraError: scipy is not installed.
    """
    groups = group(rows)
    differences = []
    for profile in sorted({profile for _, profile in groups}):
        strategies = sorted(strategy for strategy, p in groups if p == profile)
        for first, second in combinations(strategies, 2):
            for metric in ROW_METRICS:
                differences.append(
                    difference(
                        groups[first, profile],
                        groups[second, profile],
                        metric,
                        strategy=second,
                        profile=profile,
                        baseline=first,
                    )
                )
    return adjust(differences)


def difference(
    rows_a: Sequence[Row],
    rows_b: Sequence[Row],
    metric: str,
    *,
    strategy: str,
    profile: str,
    baseline: str | None = None,
) -> Difference:
    """The difference of ``metric`` from rows A to rows B, tested (paired on shared seeds)."""
    value = ROW_METRICS[metric]
    by_seed_a = {row.seed: row for row in rows_a}
    by_seed_b = {row.seed: row for row in rows_b}
    shared = sorted(by_seed_a.keys() & by_seed_b.keys())
    seed = label_seed("difference", baseline or "", strategy, profile, metric)
    unshared = pairs = 0
    if shared:
        both = [(value(by_seed_a[s]), value(by_seed_b[s])) for s in shared]
        kept = [(x, y) for x, y in both if x is not None and y is not None]
        unshared = len(by_seed_a) + len(by_seed_b) - 2 * len(shared)
        pairs = len(kept)
        found = _paired([x for x, _ in kept], [y for _, y in kept], metric, seed)
    else:
        values_a = [v for v in map(value, rows_a) if v is not None]
        values_b = [v for v in map(value, rows_b) if v is not None]
        found = _unpaired(values_a, values_b, metric, seed)
    return Difference(
        strategy=strategy,
        profile=profile,
        metric=metric,
        a=found.a,
        b=found.b,
        baseline=baseline,
        test=found.test,
        paired=bool(shared),
        pairs=pairs,
        unshared=unshared,
        difference=found.difference,
        low=found.low,
        high=found.high,
        interval=found.interval,
        p=found.p,
    )


def adjust(differences: Sequence[Difference]) -> tuple[Difference, ...]:
    """The differences with ``p_holm`` and ``significant`` set, Holm over all that were tested."""
    tested = [index for index, d in enumerate(differences) if d.p is not None]
    adjusted = holm([differences[index].p or 0.0 for index in tested])
    result = list(differences)
    for index, p_holm in zip(tested, adjusted, strict=True):
        result[index] = msgspec.structs.replace(
            differences[index], p_holm=p_holm, significant=p_holm < ALPHA
        )
    return tuple(result)


class _Found(NamedTuple):
    a: Estimate
    b: Estimate
    test: str = ""
    p: float | None = None
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    interval: str = ""


def _paired(xs: list[float], ys: list[float], metric: str, seed: int) -> _Found:
    if not xs:
        return _Found(_plain(xs), _plain(ys))
    deltas = [y - x for x, y in zip(xs, ys, strict=True)]
    mean = math.fsum(deltas) / len(deltas)
    if metric in RATES:
        pairs = list(zip(map(bool, xs), map(bool, ys), strict=True))
        both, neither = pairs.count((True, True)), pairs.count((False, False))
        only_a, only_b = pairs.count((True, False)), pairs.count((False, True))
        low, high = newcombe_paired(both, only_a, only_b, neither)
        p = mcnemar_exact(only_a, only_b)
        return _Found(_plain(xs), _plain(ys), MCNEMAR, p, mean, low, high, NEWCOMBE_PAIRED)
    low, high = bca((deltas,), seed=seed)
    p = wilcoxon_signed_rank(deltas)
    return _Found(_plain(xs), _plain(ys), WILCOXON, p, mean, low, high, f"{BCA}, paired")


def _unpaired(xs: list[float], ys: list[float], metric: str, seed: int) -> _Found:
    if not xs or not ys:
        return _Found(_plain(xs), _plain(ys))
    mean = math.fsum(ys) / len(ys) - math.fsum(xs) / len(xs)
    if metric in RATES:
        successes_a, successes_b = sum(1 for x in xs if x), sum(1 for y in ys if y)
        p = fisher_exact(successes_a, len(xs), successes_b, len(ys))
        low, high = newcombe(successes_a, len(xs), successes_b, len(ys))
        return _Found(_plain(xs), _plain(ys), FISHER, p, mean, low, high, NEWCOMBE)
    low, high = bca((xs, ys), seed=seed)
    return _Found(_plain(xs), _plain(ys), MANN_WHITNEY, mann_whitney(xs, ys), mean, low, high, BCA)


def _plain(values: Sequence[float]) -> Estimate:
    if not values:
        return Estimate(n=0)
    mean = math.fsum(values) / len(values)
    return Estimate(n=len(values), mean=mean, median=statistics.median(values))


def _manifest(directory: Path) -> Manifest:
    found = read_manifest(directory)
    if found is None:
        raise SweepFileError(str(directory / MANIFEST_FILE), "missing: is it a sweep directory?")
    return found
