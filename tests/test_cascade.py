"""The reaction cascade: order, causes, admission, limits and failures, on real messages."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

import factories
from playbill.runtime import (
    AgentSpec,
    BudgetExhausted,
    CascadePolicy,
    Draft,
    Entry,
    MemoryJournal,
    Message,
    NoteWritten,
    Plan,
    PlanAttached,
    ReactionLimitError,
    ReactorError,
    RunCreated,
    RunState,
    StepSpec,
    TimerCancelled,
    TimerFired,
    TimerSet,
    cascade,
    decide,
    decode_entries,
    encode_entry,
    fold,
)

AT = 1_700_000_000_000_000


def entry(seq: int, msg: Message, sender: str = "t", cause: int | None = None) -> Entry:
    return factories.entry(msg, seq=seq, run_id="run", at_us=AT + seq, sender=sender, cause=cause)


def note(text: str, sender: str = "reactor") -> Draft:
    return Draft(msg=NoteWritten(author=sender, text=text), sender=sender)


def text(e: Entry) -> str:
    assert isinstance(e.msg, NoteWritten)
    return e.msg.text


def started() -> RunState:
    return fold([entry(1, RunCreated(goal="g"))])


def tree(state: RunState, e: Entry) -> Sequence[Draft]:
    """``ask`` gets ``a1`` and ``a2``; ``a1`` gets ``b1``, saying how many notes it saw."""
    if not isinstance(e.msg, NoteWritten):
        return []
    replies = {"ask": ["a1", "a2"], "a1": [f"b1@{state.note_count}"]}
    return [note(reply) for reply in replies.get(e.msg.text, [])]


def test_reactions_follow_their_cause_breadth_first() -> None:
    state = started()
    result = cascade(state, entry(2, NoteWritten(author="t", text="ask")), CascadePolicy(tree))
    assert [text(e) for e in result.entries] == ["ask", "a1", "a2", "b1@2"]
    assert [e.seq for e in result.entries] == [2, 3, 4, 5]
    assert [e.cause for e in result.entries] == [None, 2, 2, 3]
    assert {e.at_us for e in result.entries} == {AT + 2}  # the time of the entry they follow
    assert result.reactions == 3
    # a1 was reacted to before its sibling a2 was folded: b1 saw two notes
    assert [s.last_seq for s in result.states] == [2, 3, 4, 5]
    assert result.state == fold(result.entries, state)
    assert result.states[-1] is result.state


def test_an_entry_without_reactions_is_only_folded() -> None:
    state = started()
    alone = entry(2, NoteWritten(author="t", text="hello"))
    result = cascade(state, alone, CascadePolicy(tree))
    assert result.entries == [alone]
    assert result.reactions == 0
    assert result.state == fold([alone], state)


def test_the_firing_of_a_timer_no_longer_pending_is_refused() -> None:
    state = fold(
        [entry(2, TimerSet(timer="t1", due_us=5, purpose="backoff"))],
        started(),
    )
    fire = entry(3, TimerFired(timer="t1"), sender="timers")
    assert [e.msg for e in cascade(state, fire, CascadePolicy(tree)).entries] == [fire.msg]
    cancelled = fold([entry(3, TimerCancelled(timer="t1"))], state)
    late = entry(4, TimerFired(timer="t1"), sender="timers")
    refused = cascade(cancelled, late, CascadePolicy(tree))
    assert refused.entries == []
    assert refused.states == []
    assert refused.state is cancelled  # not folded: the seq is not taken
    assert refused.reactions == 0


def test_a_runaway_cascade_hits_the_limit() -> None:
    def echo(state: RunState, e: Entry) -> Sequence[Draft]:
        return [note("again")]

    start = entry(2, NoteWritten(author="t", text="go"))
    with pytest.raises(ReactionLimitError) as raised:
        cascade(started(), start, CascadePolicy(echo), max_reactions=3)
    assert raised.value.limit == 3
    assert raised.value.seq == 5  # the fourth reaction was to the third
    assert "more than 3 reactions in one batch" in str(raised.value)
    with pytest.raises(ReactionLimitError) as again:
        cascade(started(), start, CascadePolicy(echo), max_reactions=3, reactions_before=3)
    assert again.value.seq == 2  # the batch had spent its reactions already


def test_a_reactor_that_raises_fails_the_cascade() -> None:
    def broken(state: RunState, e: Entry) -> Sequence[Draft]:
        if isinstance(e.msg, NoteWritten) and e.msg.text == "a2":
            raise ValueError("boom")
        return tree(state, e)

    with pytest.raises(ReactorError) as raised:
        cascade(started(), entry(2, NoteWritten(author="t", text="ask")), CascadePolicy(broken))
    assert raised.value.seq == 4
    assert raised.value.detail == "ValueError: boom"
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_draft_that_does_not_encode_fails_the_cascade() -> None:
    def invalid(state: RunState, e: Entry) -> Sequence[Draft]:
        if e.sender == "reactor":
            return []
        return [Draft(msg=NoteWritten(author="r", text=object()), sender="reactor")]  # type: ignore[arg-type]

    with pytest.raises(ReactorError) as raised:
        cascade(started(), entry(2, NoteWritten(author="t", text="x")), CascadePolicy(invalid))
    assert raised.value.seq == 2
    assert raised.value.detail.startswith("it returned an invalid draft: ")


def test_reactions_are_folded_as_decoded_from_their_bytes() -> None:
    def ints(state: RunState, e: Entry) -> Sequence[Draft]:
        if e.sender == "reactor":
            return []
        msg = BudgetExhausted(resource="tokens", limit=5, used=7, action="refused")
        return [Draft(msg=msg, sender="reactor")]

    start = entry(2, NoteWritten(author="t", text="x"))
    result = cascade(started(), start, CascadePolicy(ints))
    exhausted = result.entries[1].msg
    assert isinstance(exhausted, BudgetExhausted)
    assert (type(exhausted.limit), type(exhausted.used)) == (float, float)  # as a replay reads it
    assert result.state == fold(
        decode_entries([encode_entry(e) for e in result.entries]), started()
    )


def test_the_supervisor_commands_are_folded_once_and_as_a_replay_folds_them() -> None:
    steps = tuple(StepSpec(id=sid, goal=f"do {sid}", scope=(f"{sid}/",)) for sid in "ab")
    agents = (AgentSpec(id="x1", roles=("executor",)), AgentSpec(id="x2", roles=("executor",)))
    state = fold([entry(1, RunCreated(goal="g"))])
    attach = entry(2, PlanAttached(plan=Plan(steps=steps, agents=agents)), sender="cli")

    def plain(state: RunState, e: Entry) -> Sequence[Draft]:
        return list(decide(state, e))  # the same drafts, without what decide folded

    folded_once = cascade(state, attach, CascadePolicy(decide))
    folded_here = cascade(state, attach, CascadePolicy(plain))
    assert [(type(e.msg).__name__, e.recipient, e.cause) for e in folded_once.entries[1:]] == [
        ("StepAssigned", "x1", 2),
        ("TimerSet", "supervisor", 2),
        ("StepAssigned", "x2", 2),
        ("TimerSet", "supervisor", 2),
    ]
    assert folded_once.reactions == 4
    assert folded_once.entries == folded_here.entries
    assert folded_once.states == folded_here.states
    assert folded_once.state == fold(folded_once.entries, state)


def test_a_writer_batch_of_only_a_refused_firing_commits_nothing() -> None:
    def cancels_on_stop(state: RunState, e: Entry) -> Sequence[Draft]:
        if isinstance(e.msg, NoteWritten) and e.msg.text == "stop":
            return [Draft(msg=TimerCancelled(timer="t1"), sender="reactor")]
        return []

    async def main() -> None:
        journal = MemoryJournal()
        async with journal.writer("run", reactor=cancels_on_stop) as w:
            await w.append([Draft(msg=RunCreated(goal="g"), sender="t")])
            await w.append(
                [Draft(msg=TimerSet(timer="t1", due_us=5, purpose="backoff"), sender="t")]
            )
            await w.append([note("stop", "t")])
            assert await w.append([Draft(msg=TimerFired(timer="t1"), sender="timers")]) == []
            assert w.last_seq == 4
            after = await w.append([note("after", "t")])
            assert [e.seq for e in after] == [5]
        stored = await journal.read("run")
        assert [type(e.msg).__name__ for e in stored] == [
            "RunCreated",
            "TimerSet",
            "NoteWritten",
            "TimerCancelled",
            "NoteWritten",
        ]

    trio.run(main)
