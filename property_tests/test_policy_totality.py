"""``decide`` is total, and its reactions are whole.

On plausible journals (``journals.py``), with any policy settings and budget,
and then on any message of the catalogue from anyone: ``decide`` never
raises; its drafts are journalable (they encode and decode back); folding them
records no anomaly the state did not have; and ``decide`` returns nothing for
any of them, so a reaction is one level deep whatever order the writer folds
it in. The retry plan of every state along the way is computed and rendered,
and is the same for the state decoded from its snapshot encoding.
"""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

import factories
from journals import as_entries, plausible_messages
from playbill.runtime.logic._policy import decide
from playbill.runtime.logic._reducer import evolve
from playbill.runtime.logic._retry_plan import render_retry_plan, retry_plan
from playbill.runtime.model._entry import Entry, decode_entry, encode_entry
from playbill.runtime.model._messages import Message, RunCreated
from playbill.runtime.model._state import RunState, decode_state, encode_state
from playbill.runtime.model._values import Budget, PolicySettings
from strategies import messages, structs

SENDERS = ["cli", "timers", "a00", "a31", "supervisor", "human"]


def check_reaction(state: RunState, entry: Entry) -> None:
    drafts = decide(state, entry)
    if entry.sender == "supervisor":
        assert drafts == []
    after = state
    stamps = [
        d.stamp(state.run_id, state.last_seq + i, entry.at_us) for i, d in enumerate(drafts, 1)
    ]
    for stamped in stamps:
        assert decode_entry(encode_entry(stamped)) == stamped
        after = evolve(after, stamped)
        assert decide(after, stamped) == []
    assert after.anomaly_count == state.anomaly_count, after.anomalies[-3:]


def check_retry_plan(state: RunState) -> None:
    plan = retry_plan(state)
    assert render_retry_plan(plan).startswith(f"Retry plan for run {state.run_id} ")
    assert retry_plan(decode_state(encode_state(state))) == plan


@given(
    plausible_messages(),
    structs(PolicySettings),
    structs(Budget),
    st.lists(st.tuples(messages(), st.sampled_from(SENDERS)), max_size=3),
)
def test_decide_is_total_and_its_reactions_are_whole(
    msgs: list[Message],
    policy: PolicySettings,
    budget: Budget,
    extra: list[tuple[Message, str]],
) -> None:
    first = msgs[0]
    assert isinstance(first, RunCreated)
    msgs = [msgspec.structs.replace(first, policy=policy, budget=budget), *msgs[1:]]
    entries = as_entries(msgs)
    state = RunState()
    for entry in entries:
        state = evolve(state, entry)
        check_reaction(state, entry)
        check_retry_plan(state)
    for msg, sender in extra:
        entry = factories.entry(
            msg,
            seq=state.last_seq + 1,
            run_id=state.run_id,
            at_us=state.updated_us + 1,
            sender=sender,
            recipient="supervisor",
        )
        state = evolve(state, entry)
        check_reaction(state, entry)
        check_retry_plan(state)
