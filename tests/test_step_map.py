"""``StepMap``: a run's steps, changed without copying, read as the dict they were."""

from __future__ import annotations

import pickle

from msgspec.structs import replace

from factories import run_state
from playbill.runtime import (
    AgentSpec,
    Plan,
    PlanAttached,
    RunCreated,
    StepAssigned,
    StepSpec,
    decode_state,
    encode_state,
    state_digest,
)
from playbill.runtime.model._state import StepState
from playbill.runtime.model._step_map import StepMap


def steps(*ids: str) -> dict[str, StepState]:
    return {sid: StepState(spec=StepSpec(id=sid, goal=f"do {sid}")) for sid in ids}


def test_it_iterates_in_the_order_the_steps_were_put_in() -> None:
    mapping = StepMap(steps("c", "a", "b"))
    assert list(mapping) == ["c", "a", "b"]
    assert list(mapping.keys()) == ["c", "a", "b"]
    assert [s.spec.id for s in mapping.values()] == ["c", "a", "b"]
    assert [sid for sid, _ in mapping.items()] == ["c", "a", "b"]


def test_set_replaces_in_place_adds_last_and_leaves_the_original_as_it_was() -> None:
    before = StepMap(steps("c", "a"))
    changed = before.set(replace(before["a"], status="completed"))
    added = changed.set(steps("z")["z"])
    assert list(changed) == ["c", "a"]
    assert changed["a"].status == "completed"
    assert before["a"].status == "pending"
    assert list(added) == ["c", "a", "z"]
    assert len(added) == 3
    assert len(changed) == 2


def test_it_reads_as_a_mapping() -> None:
    mapping = StepMap(steps("a"))
    assert "a" in mapping
    assert "b" not in mapping
    assert mapping.get("b") is None
    assert mapping.get("a") is mapping["a"]
    assert repr(mapping) == repr(steps("a"))


def test_it_equals_a_dict_with_the_same_items_whatever_their_order() -> None:
    plain = steps("a", "b")
    assert StepMap(plain) == plain
    assert plain == StepMap(plain)
    assert StepMap(plain) == StepMap(steps("b", "a"))
    assert StepMap(plain) != steps("a")
    changed = StepMap(plain).set(replace(plain["a"], status="failed"))
    assert changed != plain


def test_a_state_encodes_and_digests_as_with_a_dict_of_its_steps() -> None:
    plan = Plan(
        steps=(StepSpec(id="b", goal="second"), StepSpec(id="a", goal="first")),
        agents=(AgentSpec(id="ex", roles=("executor",)),),
    )
    state = run_state(
        RunCreated(goal="g"),
        PlanAttached(plan=plan),
        StepAssigned(step="a", agent="ex", attempt=1),
    )
    assert isinstance(state.steps, StepMap)
    as_dict = replace(state, steps=dict(state.steps.items()))
    assert encode_state(state) == encode_state(as_dict)
    assert state_digest(state) == state_digest(as_dict)
    restored = decode_state(encode_state(state))
    assert list(restored.steps) == ["b", "a"]
    assert restored == state


def test_it_pickles_as_its_steps() -> None:
    mapping = StepMap(steps("b", "a")).set(replace(steps("a")["a"], status="completed"))
    copy = pickle.loads(pickle.dumps(mapping))
    assert isinstance(copy, StepMap)
    assert list(copy) == ["b", "a"]
    assert copy == mapping
