"""The step index (``_step_index``) always equals what it indexes.

The reducer keeps a ``StepIndex`` up to date entry by entry; the policy
trusts it instead of scanning the steps. These properties fold journals
entry by entry and check, after every entry, that the index kept so far
equals both an index built from scratch and a naive reading of the steps
(each mask recomputed from the statuses, dependencies and attempts), over
plausible journals, random (mostly anomalous) messages, and simulated runs
with faults: the journals the policy really meets.
"""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from journals import plausible_journals
from playbill.runtime import (
    AgentSpec,
    Entry,
    MemoryJournal,
    Plan,
    PlanAttached,
    RunCreated,
    RunState,
    StepAssigned,
    StepCompleted,
    StepSpec,
)
from playbill.runtime.logic._reducer import evolve
from playbill.runtime.logic._step_index import STATUSES, StepIndex, index_of, scan
from playbill.runtime.model._state import StepState, decode_state, encode_state, initial_state
from playbill.simulation import simulate
from strategies import entries_of, messages
from test_simulation_properties import Scenario, examples, read, scenarios


def naive(steps: dict[str, StepState]) -> dict[str, object]:
    """Every mask of the index, read off the steps one by one."""
    ids = list(steps)
    status = [0] * len(STATUSES)
    unblocked = live = lost = retried = 0
    for n, step in enumerate(steps.values()):
        status[STATUSES.index(step.status)] |= 1 << n
        deps = [steps.get(d) for d in step.spec.depends_on]
        if all(d is not None and d.status in ("completed", "skipped") for d in deps):
            unblocked |= 1 << n
        if any(a.status in ("assigned", "running", "proposed") for a in step.attempts):
            live |= 1 << n
        if any(a.lost for a in step.attempts):
            lost |= 1 << n
        if len(step.attempts) > 1:
            retried |= 1 << n
    return {
        "ids": tuple(ids),
        "size": len(ids),
        "status": tuple(status),
        "unblocked": unblocked,
        "live": live,
        "lost": lost,
        "retried": retried,
    }


def seen(index: StepIndex) -> dict[str, object]:
    return {
        "ids": index.layout.ids,
        "size": index.size,
        "status": index.status,
        "unblocked": index.unblocked,
        "live": index.live,
        "lost": index.lost,
        "retried": index.retried,
    }


def layout(index: StepIndex) -> tuple[object, ...]:
    shape = index.layout
    return (
        shape.ids,
        shape.deps,
        shape.unknown,
        shape.dependents,
        shape.needs,
        shape.strategies,
        shape.budgeted,
    )


def check(state: RunState) -> None:
    kept = index_of(state.steps)
    fresh = StepIndex.build(dict(state.steps))
    assert seen(kept) == seen(fresh) == naive(state.steps)
    assert layout(kept) == layout(fresh)
    assert kept.all_done == all(s.status in ("completed", "skipped") for s in state.steps.values())


def fold_checking(entries: list[Entry]) -> RunState:
    state = initial_state()
    for entry in entries:
        state = evolve(state, entry)
        check(state)
    return state


@given(plausible_journals())
def test_the_index_kept_entry_by_entry_is_the_index_of_the_steps(entries: list[Entry]) -> None:
    fold_checking(entries)


@given(st.lists(messages(), max_size=40))
def test_the_index_survives_entries_that_make_no_sense(msgs: list) -> None:
    fold_checking(entries_of("run-1", msgs))


@given(scenarios())
@examples(0.2)
def test_the_index_follows_simulated_runs_with_faults(scenario: Scenario) -> None:
    journal = MemoryJournal()
    result = simulate(
        scenario.seed,
        plan=scenario.plan,
        budget=scenario.budget,
        policy=scenario.policy,
        profiles=scenario.profiles,
        faults=scenario.faults,
        journal=journal,
        max_virtual_s=6 * 3600.0,
    )
    state = fold_checking(read(journal, result.run_id))
    # a snapshot holds no index: the one built for the decoded state is the same
    restored = decode_state(encode_state(state))
    assert type(restored.steps) is dict
    assert seen(index_of(restored.steps)) == seen(index_of(state.steps))


@given(plausible_journals(), st.data())
def test_scan_meets_what_a_walk_over_the_ids_meets(
    entries: list[Entry], data: st.DataObject
) -> None:
    """``scan`` reads the steps afresh before each id, as a walk over the ids would."""
    states = [initial_state()]
    for entry in entries:
        states.append(evolve(states[-1], entry))
    start = data.draw(st.integers(0, len(states) - 1))
    later = states[start:]
    wanted = data.draw(st.sampled_from(STATUSES))
    # the steps change under the scan, one entry per id met
    current = [0]

    def steps() -> dict[str, StepState]:
        return later[min(current[0], len(later) - 1)].steps

    met = []
    for sid in scan(steps, lambda index: index.of(wanted)):
        met.append(sid)
        current[0] += 1
    current[0] = 0
    walked = []
    for sid in list(later[0].steps):
        found = steps().get(sid)
        if found is not None and found.status == wanted:
            walked.append(sid)
            current[0] += 1
    assert met == walked


@given(plausible_journals())
def test_a_step_map_pickles_as_its_steps(entries: list[Entry]) -> None:
    state = fold_checking(entries)
    copy = pickle.loads(pickle.dumps(state))
    assert copy == state
    assert getattr(copy.steps, "memo", None) is None  # built again when asked for
    assert seen(index_of(copy.steps)) == seen(index_of(state.steps))


def test_a_step_that_depends_on_a_step_the_plan_lacks_is_never_unblocked() -> None:
    plan = Plan(
        steps=(
            StepSpec(id="a", goal="a"),
            StepSpec(id="b", goal="b", depends_on=("a", "ghost")),
            StepSpec(id="c", goal="c", depends_on=("a",)),
        ),
        agents=(AgentSpec(id="x", roles=("executor",)),),
    )
    state = fold_checking(
        entries_of(
            "run-1",
            [
                RunCreated(goal="g"),
                PlanAttached(plan=plan),
                StepAssigned(step="a", agent="x", attempt=1, heartbeat_timeout_s=60.0),
                StepCompleted(step="a", attempt=1),
            ],
        )
    )
    index = index_of(state.steps)
    assert list(index.ids(index.ready)) == ["c"]
    assert list(index.ids(index.layout.unknown)) == ["b"]


def test_a_step_with_several_dependencies_the_plan_lacks_is_unknown_once() -> None:
    plan = Plan(
        steps=(
            StepSpec(id="x", goal="x", depends_on=("ghost", "phantom")),
            StepSpec(id="y", goal="y"),
            StepSpec(id="z", goal="z", depends_on=("spectre",)),
        ),
        agents=(AgentSpec(id="a", roles=("executor",)),),
    )
    state = fold_checking(entries_of("run-1", [RunCreated(goal="g"), PlanAttached(plan=plan)]))
    index = index_of(state.steps)
    assert list(index.ids(index.layout.unknown)) == ["x", "z"]
    assert list(index.ids(index.ready)) == ["y"]
