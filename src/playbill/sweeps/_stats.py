"""Seeded bootstrap statistics: confidence intervals of means and of differences of means.

Percentile bootstrap: resample the values with replacement ``resamples``
times, take the mean of each resample, and read the interval off the sorted
means (for 95 %: the 2.5th and 97.5th percentiles). The generator is a
``random.Random`` seeded from a label (the strategy, profile and metric), so
the same values always give the same interval, in any process, and one
cell's interval does not change when other cells are added to a sweep.
"""

from __future__ import annotations

import hashlib
import math
import random
import statistics
from collections.abc import Sequence
from typing import final

import msgspec

RESAMPLES = 1000
"""Bootstrap resamples per interval."""

LEVEL = 0.95
"""The confidence level of every interval."""


@final
class Estimate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A metric over a set of runs: its mean, median and a bootstrap interval of the mean.

    Attributes:
        n: Runs it is over (0: no run had a value; the numbers are then ``None``).
        mean: The mean.
        median: The median.
        low: The interval's lower end.
        high: The interval's upper end.
    """

    n: int
    mean: float | None = None
    median: float | None = None
    low: float | None = None
    high: float | None = None


def label_seed(*parts: str) -> int:
    """A 64-bit seed from a label: the same parts give the same seed in every process."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def estimate(
    values: Sequence[float], *, seed: int, resamples: int = RESAMPLES, level: float = LEVEL
) -> Estimate:
    """The mean and median of ``values``, with a percentile-bootstrap interval of the mean.

    Args:
        values: The values.
        seed: Seeds the resampling.
        resamples: How many resamples.
        level: The confidence level, in (0, 1).

    Returns:
        The estimate (only ``n`` = 0 for no values).
    """
    if not values:
        return Estimate(n=0)
    data = list(values)
    means = _resampled_means(data, random.Random(seed), resamples)
    low, high = _percentiles(means, level)
    return Estimate(
        n=len(data),
        mean=math.fsum(data) / len(data),
        median=statistics.median(data),
        low=low,
        high=high,
    )


def difference_interval(
    a: Sequence[float],
    b: Sequence[float],
    *,
    seed: int,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
) -> tuple[float, float] | None:
    """A percentile-bootstrap interval of ``mean(b) - mean(a)``, resampling each side on its own.

    Returns:
        The interval, or ``None`` when a side has no values.
    """
    if not a or not b:
        return None
    rng = random.Random(seed)
    means_a = _resampled_means(list(a), rng, resamples, keep_order=True)
    means_b = _resampled_means(list(b), rng, resamples, keep_order=True)
    return _percentiles(sorted(y - x for x, y in zip(means_a, means_b, strict=True)), level)


def _resampled_means(
    data: list[float], rng: random.Random, resamples: int, *, keep_order: bool = False
) -> list[float]:
    n = len(data)
    if min(data) == max(data):  # every resample is the same: skip the work
        means = [data[0]] * resamples
    else:
        means = [math.fsum(rng.choices(data, k=n)) / n for _ in range(resamples)]
    return means if keep_order else sorted(means)


def _percentiles(ordered: Sequence[float], level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    count = len(ordered)
    low = ordered[max(0, math.floor(tail * count))]
    high = ordered[min(count - 1, math.ceil((1.0 - tail) * count) - 1)]
    return low, high
