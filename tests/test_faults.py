"""The fault spec of simulated runs: parsing, canonical form, precise errors."""

from __future__ import annotations

import pytest

from playbill.runtime import InputError, PlaybillError
from playbill.runtime.model._faults import NO_FAULTS, FaultPlan, FaultSpecError, parse_faults

FULL = "crash=0.05,hang=0.02,slow=0.1:5,transient=0.1,journal_fail=@120,kill=@200"


def test_the_full_example_parses() -> None:
    plan = parse_faults(FULL)
    assert plan == FaultPlan(
        crash=0.05,
        hang=0.02,
        slow=0.1,
        slow_factor=5.0,
        transient=0.1,
        journal_fail=(120,),
        kill=200,
    )
    assert str(plan) == FULL.replace("slow=0.1:5", "slow=0.1:5.0")
    assert plan.injects_anything


@pytest.mark.parametrize("spec", ["", "   ", "crash=0", "slow=0:1"])
def test_specs_that_inject_nothing(spec: str) -> None:
    assert parse_faults(spec) == NO_FAULTS
    assert str(parse_faults(spec)) == ""
    assert not parse_faults(spec).injects_anything


def test_spaces_are_ignored_and_the_canonical_order_is_fixed() -> None:
    plan = parse_faults(" kill = @7 , journal_fail=@9, crash =1e-3 ,journal_fail=@3 ")
    assert plan == FaultPlan(crash=0.001, journal_fail=(3, 9), kill=7)
    assert str(plan) == "crash=0.001,journal_fail=@3,journal_fail=@9,kill=@7"


def test_a_slow_factor_alone_survives_the_round_trip() -> None:
    plan = FaultPlan(slow_factor=3.0)
    assert parse_faults(str(plan)) == plan


@pytest.mark.parametrize(
    ("spec", "index", "item", "expected"),
    [
        ("crash", 1, "crash", "expected NAME=VALUE"),
        ("crash=0.1,", 2, "", "expected NAME=VALUE"),
        ("=0.1", 1, "=0.1", "expected NAME=VALUE"),
        ("boom=0.1", 1, "boom=0.1", "unknown fault 'boom'"),
        ("crash=abc", 1, "crash=abc", "expected a PROBABILITY"),
        ("crash=1.5", 1, "crash=1.5", "between 0 and 1, got 1.5"),
        ("crash=-0.1", 1, "crash=-0.1", "expected a PROBABILITY"),
        ("crash=nan", 1, "crash=nan", "expected a PROBABILITY"),
        ("hang=inf", 1, "hang=inf", "expected a PROBABILITY"),
        ("crash=0.1,hang=0.1,slow=abc", 3, "slow=abc", "expected PROBABILITY:FACTOR"),
        ("slow=0.1", 1, "slow=0.1", "expected PROBABILITY:FACTOR"),
        ("slow=0.1:", 1, "slow=0.1:", "expected PROBABILITY:FACTOR"),
        ("slow=2:5", 1, "slow=2:5", "between 0 and 1, got 2"),
        ("slow=0.1:0.5", 1, "slow=0.1:0.5", "FACTOR >= 1, got 0.5"),
        ("slow=0.1:1e999", 1, "slow=0.1:1e999", "FACTOR >= 1"),
        ("kill=200", 1, "kill=200", "expected @ENTRY"),
        ("kill=@0", 1, "kill=@0", "entry number >= 1"),
        ("kill=@-3", 1, "kill=@-3", "expected @ENTRY"),
        ("kill=@1,kill=@2", 2, "kill=@2", "kill is given twice"),
        ("journal_fail=@5,journal_fail=@5", 2, "journal_fail=@5", "given twice"),
        ("crash=0.1,crash=0.2", 2, "crash=0.2", "crash is given twice"),
        ("crash=\u0661", 1, "crash=\u0661", "expected a PROBABILITY"),
    ],
)
def test_bad_items_are_named_with_what_was_expected(
    spec: str, index: int, item: str, expected: str
) -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_faults(spec)
    error = caught.value
    assert isinstance(error, InputError)
    assert isinstance(error, PlaybillError)
    assert (error.source, error.index, error.item) == ("--faults", index, item)
    assert expected in error.detail
    assert str(error) == f"--faults: item {index} {item!r}: {error.detail}"


def test_the_example_error_message() -> None:
    with pytest.raises(FaultSpecError) as caught:
        parse_faults("crash=0.05,hang=0.02,slow=abc")
    assert str(caught.value) == "--faults: item 3 'slow=abc': expected PROBABILITY:FACTOR"


def test_the_source_is_named() -> None:
    with pytest.raises(FaultSpecError, match=r"^sim.toml:faults: item 1"):
        parse_faults("crash=2", source="sim.toml:faults")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"crash": 1.5},
        {"hang": -0.1},
        {"slow": float("nan")},
        {"slow_factor": 0.5},
        {"slow_factor": float("inf")},
        {"journal_fail": (0,)},
        {"journal_fail": (3, 3)},
        {"kill": 0},
    ],
)
def test_a_plan_refuses_values_out_of_range(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**kwargs)  # type: ignore[arg-type]


def test_a_plan_normalises_its_values() -> None:
    plan = FaultPlan(crash=-0.0, journal_fail=(9, 2))
    assert str(plan.crash) == "0.0"
    assert plan.journal_fail == (2, 9)
