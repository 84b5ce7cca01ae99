"""Conformance of the writer's hooks: the reactor, ``on_entries`` and ``wait_for_room``.

A part of ``JournalConformance`` (which inherits it), kept apart for size: it
runs against every store, through ``Journal`` only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest
import trio

from playbill.runtime import Journal
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import Draft, Entry, encode_entry
from playbill.runtime.model._errors import (
    InjectedFaultError,
    JournalError,
    ReactionLimitError,
    ReactorError,
)
from playbill.runtime.model._messages import (
    NoteWritten,
    RunCreated,
    TimerCancelled,
    TimerFired,
    TimerSet,
    UsageReported,
)
from playbill.runtime.model._state import RunState
from playbill.runtime.model._values import Usage

if TYPE_CHECKING:
    from journal_conformance import Backend


def note(text: str, sender: str = "reactor") -> Draft:
    return Draft(msg=NoteWritten(author=sender, text=text), sender=sender)


def text_of(entry: Entry) -> str:
    assert isinstance(entry.msg, NoteWritten)
    return entry.msg.text


def notes(n: int, prefix: str = "n") -> list[Draft]:
    return [note(f"{prefix}{i}", "t") for i in range(n)]


def texts(entries: Sequence[Entry]) -> list[str]:
    return [text_of(entry) for entry in entries]


def replies_to_asks(state: RunState, entry: Entry) -> Sequence[Draft]:
    """Answer every note ``ask...`` with one reply that says how many notes it saw."""
    if isinstance(entry.msg, NoteWritten) and entry.msg.text.startswith("ask"):
        return [note(f"re:{entry.msg.text}@{state.note_count}")]
    return []


class JournalHooksConformance:
    """The writer's hooks, on every store."""

    async def test_reactions_follow_their_cause_in_the_same_batch(self, journal: Journal) -> None:
        got: dict[int, list[Entry]] = {}
        async with journal.writer("run-a", reactor=replies_to_asks) as w:
            await w.append([Draft(msg=RunCreated(goal="g"), sender="t")])

            async def appender(i: int) -> None:
                got[i] = await w.append([note(f"ask{i}", "t"), note(f"tell{i}", "t")])

            async with trio.open_nursery() as nursery:
                for i in range(5):
                    nursery.start_soon(appender, i)
            stats = w.statistics()
        stored = await journal.read("run-a")
        assert [e.seq for e in stored] == list(range(1, 17))
        assert stats.batches_committed == 2  # the reactions added no transaction
        assert stats.reactions_committed == 5
        assert stats.entries_committed == 16
        by_seq = {e.seq: e for e in stored}
        for i, (ask, tell) in got.items():
            reply = by_seq[ask.seq + 1]  # right after its cause, before the appender's next
            assert text_of(reply).startswith(f"re:ask{i}@")
            assert (reply.cause, reply.sender, reply.at_us) == (ask.seq, "reactor", ask.at_us)
            assert tell.seq == ask.seq + 2
            assert by_seq[tell.seq] == tell
        # Each reaction saw every note before it, its own cause included.
        for entry in stored:
            if text_of_or_none(entry).startswith("re:"):
                assert text_of(entry).endswith(f"@{count_notes(stored, entry.cause)}")

    async def test_a_timer_fire_that_lost_the_race_to_its_cancel_is_dropped(
        self, journal: Journal
    ) -> None:
        def cancels_on_stop(state: RunState, entry: Entry) -> Sequence[Draft]:
            if isinstance(entry.msg, NoteWritten) and entry.msg.text == "stop":
                return [Draft(msg=TimerCancelled(timer="t1"), sender="reactor")]
            return []

        async with journal.writer("run-a", reactor=cancels_on_stop) as w:
            await w.append([Draft(msg=RunCreated(goal="g"), sender="t")])
            await w.append(
                [Draft(msg=TimerSet(timer="t1", due_us=5, purpose="backoff"), sender="t")]
            )
            # the fire was drafted before the cancel was committed
            fire = Draft(msg=TimerFired(timer="t1"), sender="timers")
            got = await w.append([note("stop", "t"), fire, note("after", "t")])
        stored = await journal.read("run-a")
        kinds = [type(e.msg).__name__ for e in stored]
        assert kinds == [
            "RunCreated",
            "TimerSet",
            "NoteWritten",
            "TimerCancelled",
            "NoteWritten",
        ]
        assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
        assert [text_of(e) for e in got] == ["stop", "after"]  # the fire is not journaled
        assert fold(stored).anomalies == ()

    async def test_reactor_sees_the_state_after_each_entry(self, journal: Journal) -> None:
        seen: list[tuple[int, int, int]] = []

        def reactor(state: RunState, entry: Entry) -> Sequence[Draft]:
            seen.append((entry.seq, state.last_seq, state.note_count))
            return replies_to_asks(state, entry)

        async with journal.writer("run-a", reactor=reactor) as w:
            await w.append([Draft(msg=RunCreated(goal="g"), sender="t")])
            await w.append([note("ask-a", "t"), note("ask-b", "t"), note("x", "t")])
            assert w.state == fold(await journal.read("run-a"))
        stored = await journal.read("run-a")
        assert [seq for seq, _, _ in seen] == [e.seq for e in stored]  # each entry, once, in order
        for seq, last_seq, note_count in seen:
            assert last_seq == seq  # folded up to and including the entry
            assert note_count == count_notes(stored, seq)  # including every earlier reaction
        assert [text_of(e) for e in stored[1:]] == [
            "ask-a",
            "re:ask-a@1",
            "ask-b",
            "re:ask-b@3",
            "x",
        ]

    async def test_cascades_are_breadth_first_in_seq_order(self, journal: Journal) -> None:
        def split(state: RunState, entry: Entry) -> Sequence[Draft]:
            text = text_of(entry)
            if len(text) < 3:  # "r" -> "ra", "rb" -> "raa", "rab", "rba", "rbb"
                return [note(text + "a"), note(text + "b")]
            return []

        async with journal.writer("run-a", reactor=split) as w:
            appended = await w.append([note("r", "t"), note("s", "t")])
        stored = await journal.read("run-a")
        assert [text_of(e) for e in stored] == [
            *("r", "ra", "rb", "raa", "rab", "rba", "rbb"),
            *("s", "sa", "sb", "saa", "sab", "sba", "sbb"),
        ]
        assert [e.seq for e in appended] == [1, 8]
        causes = {text_of(e): e.cause for e in stored}
        assert (causes["ra"], causes["rb"], causes["raa"], causes["rbb"]) == (1, 1, 2, 3)
        assert causes["r"] is None

    async def test_runaway_cascade_fails_the_batch_typed(self, backend: Backend) -> None:
        journal = backend.open()

        def echo(state: RunState, entry: Entry) -> Sequence[Draft]:
            return [note("again")] if text_of(entry) != "calm" else []

        errors: list[BaseException] = []
        async with journal.writer("run-a", reactor=echo, max_reactions=50) as w:
            await w.append([note("calm", "t")])

            async def appender(text: str) -> None:
                with pytest.raises(ReactionLimitError) as info:
                    await w.append([note(text, "t")])
                errors.append(info.value)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(appender, "calm")
                nursery.start_soon(appender, "loud")
            assert len(errors) == 2 and errors[0] is errors[1]  # the whole batch failed
            assert (errors[0].limit, errors[0].run_id) == (50, "run-a")
            with pytest.raises(ReactionLimitError):  # and the writer is broken
                await w.append([note("calm", "t")])
            assert w.statistics().batches_failed == 1
        assert texts(await backend.open().read("run-a")) == ["calm"]  # nothing else visible

    @pytest.mark.parametrize("failure", ["raises", "invalid draft", "not a draft"])
    async def test_reactor_error_leaves_nothing_visible(
        self, backend: Backend, failure: str
    ) -> None:
        journal = backend.open()

        def reactor(state: RunState, entry: Entry) -> Sequence[Draft]:
            if text_of(entry) != "boom":
                return []
            if failure == "raises":
                raise ValueError("policy bug")
            if failure == "invalid draft":
                return [Draft(msg=NoteWritten(author="r", text=7), sender="r")]  # type: ignore[arg-type]
            return [NoteWritten(author="r", text="x")]  # type: ignore[list-item]

        async with journal.writer("run-a", reactor=reactor) as w:
            await w.append([note("before", "t")])
            outcomes: list[BaseException] = []

            async def appender(text: str) -> None:
                with pytest.raises(ReactorError) as info:
                    await w.append([note(text, "t")])
                outcomes.append(info.value)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(appender, "fine")
                nursery.start_soon(appender, "boom")
            assert len(outcomes) == 2
            error = outcomes[0]
            assert isinstance(error, ReactorError) and error.seq in (2, 3)  # "boom"
            if failure == "raises":
                assert isinstance(error.__cause__, ValueError)
                assert "policy bug" in str(error)
            assert await backend.open().last_seq("run-a") == 1
            with pytest.raises(ReactorError):
                await w.append([note("after", "t")])
        assert texts(await journal.read("run-a")) == ["before"]

    async def test_reactions_are_canonical_entries(self, journal: Journal) -> None:
        def usage(state: RunState, entry: Entry) -> Sequence[Draft]:
            if isinstance(entry.msg, NoteWritten):  # ints in float fields
                msg = UsageReported(agent="r", usage=Usage(cost_usd=1, wall_s=2))
                return [Draft(msg=msg, sender="r")]
            return []

        committed: list[Entry] = []
        async with journal.writer("run-a", reactor=usage, on_entries=committed.extend) as w:
            await w.append([note("n", "t")])
        stored = await journal.read("run-a")
        assert [encode_entry(e) for e in committed] == [encode_entry(e) for e in stored]
        assert isinstance(committed[1].msg, UsageReported)
        assert committed[1].msg.usage.cost_usd.__class__ is float

    async def test_on_entries_sees_every_committed_entry_once_in_order(
        self, backend: Backend
    ) -> None:
        journal, store = backend.open_faulty()
        batches: list[list[Entry]] = []

        def on_entries(entries: Sequence[Entry]) -> None:
            assert journal.store.last_seq("run-a") >= entries[-1].seq  # already committed
            batches.append(list(entries))

        async with journal.writer("run-a", reactor=replies_to_asks, on_entries=on_entries) as w:

            async def appender(i: int) -> None:
                for j in range(3):
                    with contextlib.suppress(InjectedFaultError):
                        await w.append([note(f"ask{i}.{j}", "t"), note("x", "t")])

            store.fail_next_commit()  # the first batch fails
            async with trio.open_nursery() as nursery:
                for i in range(6):
                    nursery.start_soon(appender, i)
            stats = w.statistics()
        stored = await journal.read("run-a")
        assert [e for batch in batches for e in batch] == stored
        assert len(batches) == stats.batches_committed
        assert stats.batches_failed == 1

    async def test_on_entries_without_a_reactor(self, journal: Journal) -> None:
        seen: list[Entry] = []
        async with (
            journal.writer("run-a", on_entries=seen.extend) as w,
            trio.open_nursery() as nursery,
        ):
            for i in range(4):
                nursery.start_soon(w.append, notes(2, f"t{i}-"))
        assert seen == await journal.read("run-a")

    async def test_a_failing_on_entries_hook_breaks_the_writer(self, journal: Journal) -> None:
        def hook(entries: Sequence[Entry]) -> None:
            raise ValueError("router bug")

        appended: list[Entry] = []
        with pytest.RaisesGroup(ValueError):  # out of the writer's block, from its flusher
            async with journal.writer("run-a", on_entries=hook) as w:
                appended += await w.append(notes(1))  # committed before the hook ran
                await trio.sleep_forever()  # cancelled when the flusher fails
        assert appended == await journal.read("run-a")
        with pytest.raises(JournalError, match="on_entries hook failed"):
            await w.append(notes(1))

    async def test_reopened_writer_resumes_state_and_reactions(self, backend: Backend) -> None:
        journal = backend.open()
        async with journal.writer("run-a", reactor=replies_to_asks, snapshot_every=4) as w:
            await w.append([Draft(msg=RunCreated(goal="g"), sender="t")])
            for i in range(3):
                await w.append([note(f"ask{i}", "t")])
        journal.close()
        again = backend.open()
        async with again.writer("run-a", reactor=replies_to_asks) as w:
            assert w.state == fold(await again.read("run-a"))
            (ask,) = await w.append([note("ask-more", "t")])
            assert w.state == fold(await again.read("run-a"))
        stored = await again.read("run-a")
        assert ask.seq == 8
        assert text_of(stored[-1]) == "re:ask-more@7"  # counted the notes before the reopen
        assert stored[-1].cause == 8

    async def test_the_flusher_waits_for_room_before_each_batch(self, journal: Journal) -> None:
        gate = trio.Event()
        waits = 0

        async def wait_for_room() -> None:
            nonlocal waits
            waits += 1
            await gate.wait()

        async with (
            journal.writer("run-a", wait_for_room=wait_for_room, max_pending=2) as w,
            trio.open_nursery() as nursery,
        ):
            for i in range(4):
                nursery.start_soon(w.append, notes(1, f"t{i}-"))
            await trio.testing.wait_all_tasks_blocked()
            assert await journal.last_seq("run-a") == 0  # held back
            assert w.statistics().appends_pending == 2  # and the appenders wait for space
            gate.set()
        assert await journal.last_seq("run-a") == 4
        assert waits >= 2


def text_of_or_none(entry: Entry) -> str:
    return entry.msg.text if isinstance(entry.msg, NoteWritten) else ""


def count_notes(entries: Sequence[Entry], up_to: int | None) -> int:
    assert up_to is not None
    return sum(1 for e in entries if e.seq <= up_to and isinstance(e.msg, NoteWritten))
