"""Properties of the pure reducer: determinism, snapshots, round trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from journals import plausible_journals
from playbill.runtime.logic._reducer import evolve, fold
from playbill.runtime.model._entry import decode_entry, encode_entry
from playbill.runtime.model._state import decode_state, encode_state, initial_state, state_digest
from strategies import entries_of, messages


@given(plausible_journals())
def test_plausible_runs_fold_without_anomalies(entries):
    state = fold(entries)
    assert state.anomalies == ()
    assert state.last_seq == len(entries)
    assert state.run_id == "run-1"


@given(plausible_journals())
def test_fold_is_deterministic_and_survives_the_codec(entries):
    decoded = [decode_entry(encode_entry(e)) for e in entries]
    first, second = fold(entries), fold(decoded)
    assert first == second
    assert state_digest(first) == state_digest(second)
    assert encode_state(first) == encode_state(second)


@given(plausible_journals(), st.data())
def test_snapshot_plus_tail_equals_full_fold_at_every_seq(entries, data):
    states = [initial_state()]
    for entry in entries:
        states.append(evolve(states[-1], entry))
    # every seq: the snapshot, stored and loaded, plus the tail gives the full fold
    for seq, snapshot in enumerate(states):
        restored = decode_state(encode_state(snapshot))
        assert restored == snapshot
        assert fold(entries[seq:], restored) == states[-1]
    # and an arbitrary target seq from an arbitrary earlier snapshot
    target = data.draw(st.integers(0, len(entries)))
    base = data.draw(st.integers(0, target))
    assert fold(entries[base:target], states[base]) == states[target]


@given(plausible_journals())
def test_every_reachable_state_round_trips(entries):
    state = initial_state()
    for entry in entries:
        state = evolve(state, entry)
        restored = decode_state(encode_state(state))
        assert restored == state
        # ...and iterates in the same order, so code that loops over a state
        # loaded from a snapshot does what it did on the full fold
        for field in ("steps", "agents", "criteria", "timers", "workspaces", "approvals"):
            assert list(getattr(restored, field)) == list(getattr(state, field))
        assert encode_state(restored) == encode_state(state)


@given(plausible_journals(max_actions=200))
def test_bounded_history_keeps_state_size_proportional_to_the_plan(entries):
    state = fold(entries)
    assert len(state.notes) <= 50
    assert len(state.anomalies) <= 50
    assert len(state.timers) <= len(entries)


@given(st.lists(messages(), max_size=40))
def test_evolve_is_total_over_the_whole_union(msgs):
    # Random messages mostly make no sense (unknown steps, agents, timers):
    # folding them never raises, and every state reached still round-trips.
    state = initial_state()
    for entry in entries_of("run-x", msgs):
        state = evolve(state, entry)
        assert decode_state(encode_state(state)) == state
    assert state.last_seq == len(msgs)
