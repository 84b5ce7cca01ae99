"""Confidence intervals: Wilson score for rates, seeded BCa bootstrap for continuous metrics.

* A **rate** (a share of runs, each 1 or 0) gets the Wilson score interval,
  a closed form: unlike a bootstrap it stays sensible at the edges (29 of 30
  successes: about [0.833, 0.994], where a percentile bootstrap says
  [0.9, 1.0], and 0 of 20 is not [0, 0]).
* A **continuous** metric (makespan, cost, tokens) gets a bias-corrected and
  accelerated (BCa) bootstrap interval of the mean, ``RESAMPLES`` resamples:
  it corrects the percentile interval's bias and skew, which cost and token
  counts have. It is ``scipy.stats.bootstrap``'s BCa interval, the same
  draws in the same batches, computed here for the mean: the resamples are
  gathered with ``numpy.take`` (six times faster than scipy's indexing) and
  the jackknife of a mean is a closed form, where scipy recomputes n means
  of n - 1 values; the ends agree with scipy's to 1e-12 of the width.
* A **difference** of rates gets Newcombe's hybrid score interval, built
  from the two Wilson intervals: for independent groups (Newcombe 1998a,
  method 10), or for runs paired by seed, with the correlation of the pairs
  (Newcombe 1998b, method 10). A difference of means gets a BCa interval
  (of the mean paired difference, or of two independent samples).

Each bootstrap is seeded from a label (``label_seed``: the strategy, profile
and metric), so the same values always give the same interval, in any
process, and one cell's interval does not change when other cells are added
to a sweep. scipy (the ``sweeps`` extra) is needed for the bootstrap; the
closed forms are computed here.
"""

from __future__ import annotations

import hashlib
import math
import statistics
import warnings
from collections.abc import Sequence
from typing import Any, final

import msgspec

from playbill._extras import require

RESAMPLES = 10_000
"""Bootstrap resamples per BCa interval."""

LEVEL = 0.95
"""The confidence level of every interval."""

WILSON = "Wilson score"
"""The method of a rate's interval."""

BCA = f"BCa bootstrap, {RESAMPLES:,} resamples"
"""The method of a continuous metric's interval (and of a paired difference's)."""

NEWCOMBE = "Newcombe hybrid score"
"""The method of the interval of a difference of two independent rates."""

NEWCOMBE_PAIRED = "Newcombe hybrid score, paired"
"""The method of the interval of a difference of two rates paired by seed."""

_BATCH_VALUES = 2_000_000  # resampled values held in memory at once by the bootstrap


@final
class Estimate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A metric over a set of runs: its mean, median and a confidence interval of the mean.

    Attributes:
        n: Runs it is over (0: no run had a value; the numbers are then ``None``).
        mean: The mean (for a rate: the share of successes).
        median: The median.
        low: The interval's lower end.
        high: The interval's upper end.
        method: How the interval was computed (``WILSON``, ``BCA``); empty when ``n`` is 0.
    """

    n: int
    mean: float | None = None
    median: float | None = None
    low: float | None = None
    high: float | None = None
    method: str = ""


def label_seed(*parts: str) -> int:
    """A 64-bit seed from a label: the same parts give the same seed in every process."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def z_value(level: float = LEVEL) -> float:
    """The standard normal quantile of a two-sided interval at ``level`` (1.96 for 95 %)."""
    return statistics.NormalDist().inv_cdf(0.5 + level / 2.0)


def wilson(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of a rate of ``successes`` out of ``n`` (``n`` > 0).

    Its ends are within [0, 1] and around ``successes / n``, even at 0 or ``n``.
    """
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"wilson needs 0 <= successes <= n and n > 0, not {successes}/{n}")
    z = z_value(level)
    rate = successes / n
    shrink = 1.0 + z * z / n
    centre = (rate + z * z / (2 * n)) / shrink
    half = z / shrink * math.sqrt(rate * (1.0 - rate) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, min(rate, centre - half))
    high = 1.0 if successes == n else min(1.0, max(rate, centre + half))
    return low, high


def newcombe(
    successes_a: int, n_a: int, successes_b: int, n_b: int, level: float = LEVEL
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of the difference of rates ``b - a`` (independent groups).

    Newcombe (1998), method 10: from the Wilson interval of each rate.
    """
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson(successes_a, n_a, level)
    low_b, high_b = wilson(successes_b, n_b, level)
    difference = rate_b - rate_a
    return (
        difference - math.hypot(rate_b - low_b, high_a - rate_a),
        difference + math.hypot(high_b - rate_b, rate_a - low_a),
    )


def newcombe_paired(
    both: int, only_a: int, only_b: int, neither: int, level: float = LEVEL
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of the difference of paired rates ``b - a``.

    Newcombe (1998b), method 10: the Wilson intervals of both rates, combined
    with the (continuity-corrected) correlation of the pairs.

    Args:
        both: Pairs where both sides succeeded.
        only_a: Pairs where only side A succeeded.
        only_b: Pairs where only side B succeeded.
        neither: Pairs where neither did.
        level: The confidence level.
    """
    n = both + only_a + only_b + neither
    rate_a, rate_b = (both + only_a) / n, (both + only_b) / n
    low_a, high_a = wilson(both + only_a, n, level)
    low_b, high_b = wilson(both + only_b, n, level)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    cross = both * neither - only_a * only_b
    corrected = cross - n / 2 if cross > n / 2 else min(cross, 0)
    phi = corrected / math.sqrt(margins) if margins else 0.0

    def spread(x: float, y: float) -> float:
        return math.sqrt(max(0.0, x * x - 2.0 * phi * x * y + y * y))

    difference = rate_b - rate_a
    return (
        difference - spread(rate_b - low_b, high_a - rate_a),
        difference + spread(high_b - rate_b, rate_a - low_a),
    )


def rate_estimate(values: Sequence[float], level: float = LEVEL) -> Estimate:
    """The share of ones among ``values`` (each 1 or 0), with its Wilson interval."""
    if not values:
        return Estimate(n=0)
    successes = sum(1 for value in values if value)
    low, high = wilson(successes, len(values), level)
    return Estimate(
        n=len(values),
        mean=successes / len(values),
        median=statistics.median(values),
        low=low,
        high=high,
        method=WILSON,
    )


def estimate(
    values: Sequence[float], *, seed: int, resamples: int = RESAMPLES, level: float = LEVEL
) -> Estimate:
    """The mean and median of ``values``, with a seeded BCa bootstrap interval of the mean.

    Args:
        values: The values.
        seed: Seeds the resampling.
        resamples: How many resamples.
        level: The confidence level, in (0, 1).

    Returns:
        The estimate (only ``n`` = 0 for no values).

    Raises:
        MissingExtraError: scipy is not installed.
    """
    if not values:
        return Estimate(n=0)
    data = list(values)
    low, high = bca((data,), seed=seed, resamples=resamples, level=level)
    return Estimate(
        n=len(data),
        mean=math.fsum(data) / len(data),
        median=statistics.median(data),
        low=low,
        high=high,
        method=BCA if resamples == RESAMPLES else f"BCa bootstrap, {resamples:,} resamples",
    )


def bca(
    samples: tuple[Sequence[float], ...],
    *,
    seed: int,
    resamples: int = RESAMPLES,
    level: float = LEVEL,
) -> tuple[float, float]:
    """A seeded BCa bootstrap interval: of the mean of one sample, or of ``mean(b) - mean(a)``.

    Args:
        samples: One sample (its mean), or two independent samples ``(a, b)``
            (the difference of their means; each resampled on its own).
        seed: Seeds the resampling.
        resamples: How many resamples.
        level: The confidence level.

    Where every resample gives the same statistic (all values equal), the
    interval is that value; where the BCa correction is undefined, the
    percentile interval of the same resamples.

    Raises:
        MissingExtraError: scipy is not installed.
    """
    np: Any = require("numpy", "sweeps", "bootstrap intervals")
    stats: Any = require("scipy.stats", "sweeps", "bootstrap intervals")
    special: Any = require("scipy.special", "sweeps", "bootstrap intervals")
    arrays = tuple(np.asarray(sample, dtype=float) for sample in samples)
    point = _statistic(np, arrays)
    if all(float(array.min()) == float(array.max()) for array in arrays):
        return point, point
    batch = max(1, _BATCH_VALUES // max(len(array) for array in arrays))
    rng = np.random.default_rng(seed)
    parts = []
    for size in _batches(resamples, batch):
        means = [_resample_means(np, rng, array, size) for array in arrays]
        parts.append(means[0] if len(means) == 1 else means[1] - means[0])
    distribution = np.concatenate(parts)
    alpha = (1.0 - level) / 2.0
    z0 = special.ndtri(
        (np.count_nonzero(distribution < point) + np.count_nonzero(distribution <= point))
        / (2 * len(distribution))
    )
    # The jackknife of a mean, in closed form: leaving value i out moves the
    # mean by -(x_i - mean)/(n - 1), so each U_i of the acceleration is x_i - mean
    # (negated for the sample whose mean is subtracted).
    nums = dens = 0.0
    for index, array in enumerate(arrays):
        n = float(len(array))
        u = array - np.mean(array)
        sign = -1.0 if len(arrays) == 2 and index == 0 else 1.0
        nums += sign * float(np.sum(u**3)) / n**3
        dens += float(np.sum(u**2)) / n**2
    accel = nums / 6.0 / dens**1.5 if dens > 0 else 0.0
    ends = []
    for z in (float(special.ndtri(alpha)), -float(special.ndtri(alpha))):
        ends.append(special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate BCa gives nan, handled below
        ci = stats.quantile(distribution, np.stack(ends, axis=-1), axis=-1)
    low, high = float(ci[0]), float(ci[1])
    if not (math.isfinite(low) and math.isfinite(high)):
        tail = (1.0 - level) / 2.0 * 100.0
        percentiles = np.percentile(distribution, [tail, 100.0 - tail])
        low, high = float(percentiles[0]), float(percentiles[1])
    return low, high


def _batches(total: int, size: int) -> list[int]:
    """The sizes of the batches ``total`` resamples are drawn in, ``size`` at most each."""
    return [min(size, total - start) for start in range(0, total, size)]


def _resample_means(np: Any, rng: Any, array: Any, count: int) -> Any:
    """The means of ``count`` resamples of ``array`` (with replacement), as scipy draws them."""
    picks = rng.integers(0, len(array), size=(count, len(array)))
    return np.mean(np.take(array, picks), axis=-1)


def _statistic(np: Any, arrays: Sequence[Any], axis: int = -1) -> Any:
    if len(arrays) == 1:
        value = np.mean(arrays[0], axis=axis)
    else:
        value = np.mean(arrays[1], axis=axis) - np.mean(arrays[0], axis=axis)
    return value if np.ndim(value) else float(value)
