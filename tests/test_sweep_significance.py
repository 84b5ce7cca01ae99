"""The statistics of sweeps against known values: intervals, tests, Holm's correction."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbill._extras import MissingExtraError
from playbill.sweeps._significance import (
    fisher_exact,
    holm,
    mann_whitney,
    mcnemar_exact,
    wilcoxon_signed_rank,
)
from playbill.sweeps._stats import (
    _BATCH_VALUES,
    BCA,
    RESAMPLES,
    WILSON,
    bca,
    estimate,
    newcombe,
    newcombe_paired,
    rate_estimate,
    wilson,
    z_value,
)


def test_wilson_29_of_30() -> None:
    low, high = wilson(29, 30)
    assert low == pytest.approx(0.8333, abs=5e-4)
    assert high == pytest.approx(0.9941, abs=5e-4)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe (1998), table I: Wilson score intervals (method 3)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (20, 20, 0.8389, 1.0),
    ],
)
def test_wilson_matches_published_intervals(
    successes: int, n: int, low: float, high: float
) -> None:
    found = wilson(successes, n)
    assert found == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_wilson_refuses_impossible_counts() -> None:
    for successes, n in ((1, 0), (3, 2), (-1, 5)):
        with pytest.raises(ValueError, match="successes"):
            wilson(successes, n)


def test_z_of_95_percent() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_newcombe_difference_of_independent_rates() -> None:
    # Newcombe (1998), table II, example (a): 56/70 against 48/80, 0.0524 to 0.3339
    low, high = newcombe(48, 80, 56, 70)
    assert (low, high) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3339, abs=1e-4))


def test_newcombe_difference_of_paired_rates() -> None:
    # Fagerland, Lydersen and Laake, "Statistical analysis of contingency tables"
    # (2017), chapter 8: 59 pairs both, 6 only A, 16 only B, 80 neither;
    # A - B = -0.0621 (-0.1186 to -0.0046), so B - A = 0.0621 (0.0046 to 0.1186)
    low, high = newcombe_paired(59, 6, 16, 80)
    assert (low, high) == (pytest.approx(0.0046, abs=1e-4), pytest.approx(0.1186, abs=1e-4))
    low, high = newcombe_paired(10, 0, 0, 10)  # no discordant pair
    assert low < 0.0 < high


@given(
    counts=st.tuples(*[st.integers(0, 40)] * 4).filter(lambda c: sum(c) > 0),
    level=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_a_paired_newcombe_interval_holds_its_difference(
    counts: tuple[int, int, int, int], level: float
) -> None:
    both, only_a, only_b, neither = counts
    low, high = newcombe_paired(both, only_a, only_b, neither, level)
    difference = (only_b - only_a) / sum(counts)
    assert -1.0 <= low <= difference + 1e-12 and difference - 1e-12 <= high <= 1.0


def test_a_rate_estimate_names_wilson_and_holds_at_the_edges() -> None:
    none = rate_estimate([0.0] * 20)
    assert (none.mean, none.low, none.method) == (0.0, 0.0, WILSON)
    assert none.high is not None and none.high > 0.15  # 0 of 20 is not "certainly 0"
    assert rate_estimate([]).n == 0 and rate_estimate([]).method == ""


def test_mcnemar_exact_is_a_binomial_test_of_the_discordant_pairs() -> None:
    # 3 against 12 discordant pairs: 2 * P(X <= 3), X ~ Binomial(15, 1/2) = 1,152 / 32,768
    assert mcnemar_exact(3, 12) == pytest.approx(1152 / 32768)
    assert mcnemar_exact(12, 3) == mcnemar_exact(3, 12)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)


def test_fisher_exact_of_textbook_tables() -> None:
    # The lady tasting tea: 3 of 4 cups right each way, one-sided 17/70; two-sided 34/70
    assert fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70)
    assert fisher_exact(4, 4, 0, 4) == pytest.approx(2 / 70)
    assert fisher_exact(5, 5, 5, 5) == 1.0
    assert fisher_exact(0, 5, 5, 5) == pytest.approx(2 / 252)


def test_holm_on_the_textbook_example() -> None:
    # Four hypotheses, p = 0.01, 0.04, 0.03, 0.005: at 0.05 Holm rejects H1 and H4 only
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]
    assert holm([]) == []
    assert holm([0.4, 0.3]) == pytest.approx([0.6, 0.6])  # 0.3 x 2, then no smaller than it
    assert holm([0.9, 0.8]) == [1.0, 1.0]


def test_the_rank_tests_against_known_values() -> None:
    # Exact distributions: 8 positive differences of distinct sizes: 2 / 2**8
    assert wilcoxon_signed_rank([float(v) for v in range(1, 9)]) == pytest.approx(2 / 256)
    assert wilcoxon_signed_rank([0.0, 0.0]) == 1.0
    # Completely separated samples of 4 and 4: 2 / C(8, 4)
    assert mann_whitney([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]) == pytest.approx(2 / 70)
    assert mann_whitney([1.0, 1.0], [1.0]) == 1.0


def test_a_bca_estimate_is_seeded_names_its_method_and_holds_the_mean() -> None:
    values = [float(v % 13) for v in range(200)]
    first = estimate(values, seed=5)
    assert first == estimate(values, seed=5)
    assert first.method == BCA
    assert first.n == 200 and first.mean == sum(values) / 200 and first.median == 6.0
    assert first.low is not None and first.high is not None
    assert first.low < first.mean < first.high
    assert estimate(values, seed=6) != first  # another seed, other resamples


def test_bca_of_a_skewed_sample_leans_right() -> None:
    values = [1.0] * 40 + [2.0] * 8 + [30.0, 60.0]
    found = estimate(values, seed=1)
    assert found.mean is not None and found.low is not None and found.high is not None
    assert found.high - found.mean > found.mean - found.low  # a long right tail


@pytest.mark.parametrize(
    "samples",
    [
        ([1.0] * 40 + [2.0] * 8 + [30.0, 60.0],),
        ([float((v * 7919) % 1013) ** 1.5 for v in range(3000)],),
        ([float(v % 7) for v in range(45)], [float((v * 3) % 11) for v in range(60)]),
    ],
    ids=["skewed", "3000 values", "two samples"],
)
def test_bca_is_scipys_bca_of_the_same_resamples(samples: tuple[list[float], ...]) -> None:
    np = pytest.importorskip("numpy")
    stats = pytest.importorskip("scipy.stats")
    arrays = tuple(np.asarray(sample) for sample in samples)

    def mean_or_difference(*xs: object, axis: int) -> object:
        return np.mean(xs[-1], axis=axis) - (np.mean(xs[0], axis=axis) if len(xs) == 2 else 0.0)

    batch = max(1, _BATCH_VALUES // max(len(a) for a in arrays))
    expected = stats.bootstrap(
        arrays,
        mean_or_difference,
        n_resamples=RESAMPLES,
        batch=batch,
        vectorized=True,
        method="BCa",
        rng=np.random.default_rng(11),
    ).confidence_interval
    low, high = bca(samples, seed=11)
    # The same draws and resample means; the jackknife is computed in closed form.
    width = expected.high - expected.low
    assert low == pytest.approx(float(expected.low), abs=1e-12 * width)
    assert high == pytest.approx(float(expected.high), abs=1e-12 * width)


def test_degenerate_bootstraps() -> None:
    assert estimate([], seed=1).n == 0 and estimate([], seed=1).mean is None
    constant = estimate([2.0, 2.0, 2.0], seed=1)
    assert (constant.low, constant.mean, constant.high) == (2.0, 2.0, 2.0)
    assert bca(([1.0, 1.0], [3.0, 3.0]), seed=1) == (2.0, 2.0)


def test_a_difference_interval_excludes_zero_only_for_a_real_difference() -> None:
    a = [float(v % 10) for v in range(300)]
    low, high = bca((a, [v + 3.0 for v in a]), seed=1)
    assert 2.0 < low < 3.0 < high < 4.0
    low, high = bca((a, list(reversed(a))), seed=1)
    assert low < 0.0 < high


def test_without_scipy_a_bootstrap_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.stats", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'playbill\[sweeps\]'"):
        estimate([1.0, 2.0], seed=1)
    assert rate_estimate([1.0, 0.0]).low is not None  # Wilson needs no scipy


@given(n=st.integers(1, 5000), data=st.data(), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_a_wilson_interval_holds_its_rate_within_0_and_1(
    n: int, data: st.DataObject, level: float
) -> None:
    successes = data.draw(st.integers(0, n), label="successes")
    low, high = wilson(successes, n, level)
    assert 0.0 <= low <= successes / n <= high <= 1.0
    assert low < high
    wider_low, wider_high = wilson(successes, n, 0.999)
    assert wider_low <= low and high <= wider_high


@given(st.lists(st.floats(0.0, 1.0, allow_nan=False), max_size=30))
def test_holm_is_at_least_the_raw_p_monotone_and_at_most_1(pvalues: list[float]) -> None:
    adjusted = holm(pvalues)
    assert len(adjusted) == len(pvalues)
    for raw, found in zip(pvalues, adjusted, strict=True):
        assert raw <= found <= 1.0 or math.isclose(raw, found)
    ordered = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    ranked = [adjusted[i] for i in ordered]
    assert ranked == sorted(ranked)  # the order of the raw p-values is kept


@given(only_a=st.integers(0, 60), only_b=st.integers(0, 60))
def test_mcnemar_is_a_symmetric_probability(only_a: int, only_b: int) -> None:
    p = mcnemar_exact(only_a, only_b)
    assert 0.0 < p <= 1.0
    assert p == mcnemar_exact(only_b, only_a)
    if only_a == only_b:
        assert p == 1.0
