"""Significance tests of differences, and Holm's correction for testing many at once.

Paired by seed (the same seed, run twice, is one pair):

* rates: **McNemar's exact test**: only the discordant pairs (one side
  succeeded, the other did not) carry information; under no difference each
  is equally likely either way, a binomial test with p = 1/2;
* continuous metrics: the **Wilcoxon signed-rank test** of the paired
  differences (zeros dropped), by ``scipy.stats.wilcoxon``.

Unpaired (independent groups):

* rates: **Fisher's exact test** of the 2x2 table, computed exactly here;
* continuous metrics: the **Mann-Whitney U test**, by ``scipy.stats.mannwhitneyu``.

Every p-value is two-sided. **Holm's step-down correction** adjusts a family
of p-values so that the chance of any false finding among them stays at most
the level (5 %), whatever their dependence: with 40 tests, a plain 5 % would
let about two through by chance.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from playbill._extras import require

MCNEMAR = "McNemar exact"
"""The paired test of rates."""

WILCOXON = "Wilcoxon signed-rank"
"""The paired test of continuous metrics."""

FISHER = "Fisher exact"
"""The unpaired test of rates."""

MANN_WHITNEY = "Mann-Whitney U"
"""The unpaired test of continuous metrics."""

ALPHA = 0.05
"""A Holm-adjusted p-value below this is significant."""


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """The two-sided p-value of McNemar's exact test.

    Args:
        only_a: Pairs where only side A succeeded.
        only_b: Pairs where only side B succeeded.
    """
    if only_a < 0 or only_b < 0:
        raise ValueError("counts of pairs are not negative")
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, i) for i in range(min(only_a, only_b) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**discordant)))


def fisher_exact(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float:
    """The two-sided p-value of Fisher's exact test: ``successes_a`` of ``n_a`` against B's.

    Sums the probabilities of every table with the same margins that is at
    most as likely as the one observed (compared exactly, as integers).
    """
    if not (0 <= successes_a <= n_a and 0 <= successes_b <= n_b):
        raise ValueError("successes are between 0 and the runs")
    successes, total = successes_a + successes_b, n_a + n_b
    weights = [
        math.comb(n_a, k) * math.comb(n_b, successes - k)
        for k in range(max(0, successes - n_b), min(successes, n_a) + 1)
    ]
    observed = math.comb(n_a, successes_a) * math.comb(n_b, successes_b)
    at_most = sum(weight for weight in weights if weight <= observed)
    return float(min(Fraction(1), Fraction(at_most, math.comb(total, successes))))


def wilcoxon_signed_rank(differences: Sequence[float]) -> float:
    """The two-sided p-value of the Wilcoxon signed-rank test of paired differences.

    Zero differences are dropped (Wilcoxon's own treatment); with none left, 1.

    Raises:
        MissingExtraError: scipy is not installed.
    """
    if not any(differences):
        return 1.0
    stats: Any = require("scipy.stats", "sweeps", "paired tests")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small samples: scipy warns that it falls back
        result = stats.wilcoxon(list(differences), zero_method="wilcox")
    return _probability(result.pvalue)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sided p-value of the Mann-Whitney U test of two independent samples.

    Raises:
        MissingExtraError: scipy is not installed.
    """
    if not a or not b or len({*a, *b}) == 1:
        return 1.0
    stats: Any = require("scipy.stats", "sweeps", "unpaired tests")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.mannwhitneyu(list(b), list(a), alternative="two-sided")
    return _probability(result.pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values, in the order given.

    The smallest of ``m`` p-values is multiplied by ``m``, the next by
    ``m - 1``, and so on; each adjusted value is at least the one before it
    (in ascending order of the raw values) and at most 1. An adjusted value
    below the level is significant at that level, for the whole family.
    """
    order = sorted(range(len(pvalues)), key=lambda index: pvalues[index])
    adjusted = [0.0] * len(pvalues)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def _probability(value: object) -> float:
    found = float(value)  # type: ignore[arg-type]
    return 1.0 if math.isnan(found) else min(1.0, max(0.0, found))
