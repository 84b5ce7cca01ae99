"""Properties of the fault spec: canonical round trip, and typed errors only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbill.runtime.model._faults import FAULT_NAMES, FaultPlan, FaultSpecError, parse_faults

probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
factors = st.floats(min_value=1.0, max_value=1e300, allow_nan=False, allow_infinity=False)
entries = st.integers(min_value=1, max_value=10**12)

plans = st.builds(
    FaultPlan,
    crash=probabilities,
    hang=probabilities,
    slow=probabilities,
    slow_factor=factors,
    transient=probabilities,
    journal_fail=st.frozensets(entries, max_size=4).map(tuple),
    kill=st.none() | entries,
)


@given(plans)
def test_a_plan_round_trips_through_its_canonical_spec(plan: FaultPlan) -> None:
    spec = str(plan)
    assert parse_faults(spec) == plan
    assert str(parse_faults(spec)) == spec


@given(st.text(alphabet=st.sampled_from("crashngslowtijeuk_f=@:,.0123456789e- "), max_size=40))
def test_any_text_parses_to_a_plan_or_raises_the_typed_error(spec: str) -> None:
    try:
        plan = parse_faults(spec)
    except FaultSpecError as error:
        assert error.index >= 1
        assert str(error).startswith(f"--faults: item {error.index} ")
    else:
        assert parse_faults(str(plan)) == plan


@pytest.mark.slow
@given(st.text(max_size=30))
def test_arbitrary_unicode_raises_only_the_typed_error(spec: str) -> None:
    try:
        plan = parse_faults(spec)
    except FaultSpecError:
        pass
    else:
        assert parse_faults(str(plan)) == plan


bad_values = st.sampled_from(
    ["", "abc", "1.5", "-1", "nan", "inf", "0.1:", ":2", "@", "@0", "@x", "0x1", "1e400"]
)


@given(plans, st.data())
def test_a_corrupted_item_is_named_by_its_position(plan: FaultPlan, data: st.DataObject) -> None:
    items = [item for item in str(plan).split(",") if item]
    position = data.draw(st.integers(min_value=0, max_value=len(items)))
    name = data.draw(st.sampled_from([*FAULT_NAMES, "boom", ""]))
    value = data.draw(bad_values)
    bad = f"{name}={value}"
    items.insert(position, bad)
    try:
        parse_faults(",".join(items))
    except FaultSpecError as error:
        assert error.index == position + 1
        assert error.item == bad.strip()
    else:
        raise AssertionError(f"{bad!r} was accepted")
