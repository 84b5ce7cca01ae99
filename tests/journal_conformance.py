"""The conformance suite every journal store must pass.

It talks only to ``Journal``. A store joins by subclassing ``JournalConformance``
in ``test_journal_stores.py`` with a ``backend`` fixture returning a
``Backend``: how to open (and reopen) a journal over the same storage, and how
to damage the stored bytes of one entry. Commit failures are injected by a
``FaultyStore`` around the store (``Backend.open_faulty``).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from contextlib import aclosing

import msgspec
import pytest
import trio
import trio.testing

import factories
from journal_hooks_conformance import JournalHooksConformance
from playbill.runtime import Journal
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import FORMAT_VERSION, Draft, Entry, encode_entry
from playbill.runtime.model._errors import (
    CorruptEntryError,
    CorruptSnapshotError,
    InjectedFaultError,
    InvalidEntryError,
    JournalClosedError,
    LeaseLostError,
    RunExistsError,
    SeqConflictError,
    WriterConflictError,
)
from playbill.runtime.model._messages import Heartbeat, NoteWritten, RunCreated, UsageReported
from playbill.runtime.model._state import decode_state, encode_state, state_digest
from playbill.runtime.model._values import ControlRequest, Usage
from playbill.testing import FaultyStore

T0 = 1_767_225_600_000_000


class Backend(abc.ABC):
    """One store under test: opens journals over the same storage."""

    @abc.abstractmethod
    def open(self, *, lease_clock: Callable[[], float] = time.time) -> Journal:
        """A journal over the storage (a reopen, if one was opened before)."""

    @abc.abstractmethod
    def corrupt(
        self, run_id: str, seq: int, mutate: Callable[[bytes], bytes], *, fix_crc: bool = False
    ) -> None:
        """Replace the stored bytes of (run_id, seq) by ``mutate(bytes)``.

        With ``fix_crc`` the stored checksum is updated to match, so that only
        decoding or the run/seq check can catch the damage.
        """

    def open_faulty(self) -> tuple[Journal, FaultyStore]:
        """A journal over the storage, through a store that fails commits when told."""
        store = FaultyStore(self.open().store)
        return Journal(store), store


def notes(n: int, prefix: str = "n") -> list[Draft]:
    return [
        Draft(msg=NoteWritten(author="test", text=f"{prefix}{i}"), sender="tester")
        for i in range(n)
    ]


def texts(entries: list[Entry]) -> list[str]:
    out = []
    for entry in entries:
        assert isinstance(entry.msg, NoteWritten)
        out.append(entry.msg.text)
    return out


class Clock:
    """An injectable microsecond clock that moves only when told to."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class LeaseClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class JournalConformance(JournalHooksConformance):
    """The behaviour of ``Journal`` that every store must provide.

    The writer's hooks (reactor, ``on_entries``, ``wait_for_room``) are
    tested in ``JournalHooksConformance``, kept in its own file for size.
    """

    @pytest.fixture
    def journal(self, backend: Backend) -> Journal:
        return backend.open()

    # ------------------------------------------------------------ append/read

    async def test_append_assigns_dense_seqs_from_one(self, journal: Journal) -> None:
        clock = Clock()
        async with journal.writer("run-a", clock=clock) as w:
            first = await w.append(notes(3, "a"))
            clock.now += 5
            second = await w.append(notes(2, "b"))
        assert [e.seq for e in first + second] == [1, 2, 3, 4, 5]
        assert all(e.run_id == "run-a" and e.v == FORMAT_VERSION for e in first + second)
        assert [e.at_us for e in first + second] == [T0] * 3 + [T0 + 5] * 2
        assert await journal.read("run-a") == first + second
        assert [e.seq for e in await journal.read("run-a", 2, 4)] == [2, 3]
        assert [e.seq for e in await journal.read("run-a", 4)] == [4, 5]
        assert await journal.read("run-a", 6) == []
        assert await journal.last_seq("run-a") == 5

    async def test_unknown_run_is_empty(self, journal: Journal) -> None:
        assert await journal.read("nope") == []
        assert await journal.last_seq("nope") == 0
        assert await journal.run_info("nope") is None
        assert not await journal.run_exists("nope")
        assert await journal.list_runs() == []

    async def test_entries_keep_the_draft_envelope(self, journal: Journal) -> None:
        draft = Draft(
            msg=Heartbeat(agent="ex-1", step="s1"), sender="ex-1", recipient="sup", cause=7
        )
        async with journal.writer("run-a", clock=Clock()) as w:
            (entry,) = await w.append([draft])
        assert (entry.msg, entry.sender, entry.recipient, entry.cause) == (
            draft.msg,
            "ex-1",
            "sup",
            7,
        )
        assert await journal.read("run-a") == [entry]

    async def test_appenders_get_the_entries_a_replay_reads(self, journal: Journal) -> None:
        # An int where the schema says float: equal in Python, different bytes.
        draft = Draft(
            msg=UsageReported(agent="ex-1", usage=Usage(cost_usd=1, wall_s=2)), sender="ex-1"
        )
        created = Draft(msg=RunCreated(goal="g"), sender="t")
        async with journal.writer("run-a", clock=Clock(), snapshot_every=1) as w:
            appended = await w.append([created, draft])
            writer_state = w.state
        assert appended[1].msg.usage.cost_usd.__class__ is float
        replayed = await journal.read("run-a")
        assert [encode_entry(e) for e in appended] == [encode_entry(e) for e in replayed]
        assert writer_state is not None
        assert state_digest(writer_state) == state_digest(fold(replayed))

    async def test_recorded_time_never_goes_backwards(self, journal: Journal) -> None:
        clock = Clock()
        async with journal.writer("run-a", clock=clock) as w:
            await w.append(notes(1))
            clock.now -= 1_000_000
            (entry,) = await w.append(notes(1))
        assert entry.at_us == T0

    async def test_empty_append_writes_nothing(self, journal: Journal) -> None:
        async with journal.writer("run-a") as w:
            assert await w.append([]) == []
        assert await journal.last_seq("run-a") == 0

    async def test_reads_survive_reopen(self, backend: Backend) -> None:
        journal = backend.open()
        async with journal.writer("run-a", clock=Clock()) as w:
            written = await w.append(notes(4))
        journal.close()
        again = backend.open()
        assert await again.read("run-a") == written
        async with again.writer("run-a", clock=Clock(T0 + 1)) as w:
            (more,) = await w.append(notes(1, "m"))
        assert more.seq == 5
        assert texts(await again.read("run-a")) == ["n0", "n1", "n2", "n3", "m0"]

    async def test_list_runs_reports_times_and_last_seq(self, journal: Journal) -> None:
        clock = Clock()
        async with journal.writer("run-b", clock=clock) as w:
            await w.append(notes(2))
            clock.now += 10
            await w.append(notes(1))
        clock.now += 100
        async with journal.writer("run-a", clock=clock) as w:
            await w.append(notes(1))
        runs = await journal.list_runs()
        assert [(r.run_id, r.first_us, r.last_seq, r.last_us) for r in runs] == [
            ("run-b", T0, 3, T0 + 10),
            ("run-a", T0 + 110, 1, T0 + 110),
        ]
        assert await journal.run_info("run-a") == runs[1]
        assert await journal.run_exists("run-b")

    # ----------------------------------------------------------- group commit

    async def test_group_commit_batches_concurrent_appenders(self, journal: Journal) -> None:
        results: dict[int, list[Entry]] = {}
        async with journal.writer("run-a") as w:

            async def appender(i: int) -> None:
                results[i] = await w.append(notes(3, f"t{i}-"))

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(appender, i)
            stats = w.statistics()
        assert stats.entries_committed == 60
        assert stats.appends_committed == 20
        assert stats.batches_committed < 20
        assert stats.largest_batch > 3
        assert stats.last_seq == 60
        for i, entries in results.items():  # each got its own drafts, contiguous and in order
            assert texts(entries) == [f"t{i}-0", f"t{i}-1", f"t{i}-2"]
            assert [e.seq for e in entries] == list(range(entries[0].seq, entries[0].seq + 3))
        stored = await journal.read("run-a")
        assert [e.seq for e in stored] == list(range(1, 61))
        assert sorted(e.seq for entries in results.values() for e in entries) == list(range(1, 61))

    async def test_backpressure_bounds_the_queue(self, journal: Journal) -> None:
        async with journal.writer("run-a", max_pending=3) as w:
            async with trio.open_nursery() as nursery:
                for i in range(10):
                    nursery.start_soon(w.append, notes(1, f"t{i}-"))
            stats = w.statistics()
        assert stats.entries_committed == 10
        assert stats.largest_batch <= 3  # the others waited for room

    async def test_appender_is_released_only_after_commit(self, backend: Backend) -> None:
        journal = backend.open()
        observer = backend.open()  # another journal over the same storage

        async with journal.writer("run-a") as w:

            async def appender(i: int) -> None:
                entries = await w.append(notes(2, f"t{i}-"))
                # Committed: visible through the store, to anyone, right now.
                assert journal.store.last_seq("run-a") >= entries[-1].seq
                assert await observer.read("run-a", entries[0].seq, entries[-1].seq + 1) == entries

            async with trio.open_nursery() as nursery:
                for i in range(10):
                    nursery.start_soon(appender, i)

    async def test_commit_failure_fails_the_whole_batch(self, backend: Backend) -> None:
        journal, store = backend.open_faulty()
        errors: list[BaseException] = []
        async with journal.writer("run-a") as w:
            await w.append(notes(2, "before"))
            store.fail_next_commit()

            async def appender(i: int) -> None:
                try:
                    await w.append(notes(2, f"t{i}-"))
                except InjectedFaultError as exc:
                    errors.append(exc)

            async with trio.open_nursery() as nursery:
                for i in range(4):
                    nursery.start_soon(appender, i)
            assert len(errors) == 4  # every appender of the batch got the error
            assert await journal.last_seq("run-a") == 2  # nothing of it is visible
            assert texts(await backend.open().read("run-a")) == ["before0", "before1"]
            after = await w.append(notes(1, "after"))
            assert after[0].seq == 3  # and the seqs go on densely
            assert w.statistics().batches_failed == 1
        assert texts(await journal.read("run-a")) == ["before0", "before1", "after0"]

    async def test_invalid_draft_fails_only_its_append(self, journal: Journal) -> None:
        bad = Draft(msg=Heartbeat(agent=42), sender="x")  # type: ignore[arg-type]
        outcome: dict[str, object] = {}
        async with journal.writer("run-a") as w:

            async def good() -> None:
                outcome["good"] = await w.append(notes(2))

            async def wrong() -> None:
                with pytest.raises(InvalidEntryError) as info:
                    await w.append([*notes(1), bad])
                outcome["bad"] = info.value

            async with trio.open_nursery() as nursery:
                nursery.start_soon(good)
                nursery.start_soon(wrong)
        assert isinstance(outcome["bad"], InvalidEntryError)
        assert "agent" in outcome["bad"].detail
        assert texts(await journal.read("run-a")) == ["n0", "n1"]

    async def test_cancelled_append_is_not_journaled(self, journal: Journal) -> None:
        async with journal.writer("run-a") as w:
            with trio.CancelScope() as scope:
                scope.cancel()
                await w.append(notes(1, "cancelled"))
            assert scope.cancelled_caught
            await w.append(notes(1, "kept"))
        assert texts(await journal.read("run-a")) == ["kept0"]

    async def test_closed_writer_and_journal_refuse(self, journal: Journal) -> None:
        async with journal.writer("run-a") as w:
            await w.append(notes(1))
        with pytest.raises(JournalClosedError):
            await w.append(notes(1))
        journal.close()
        with pytest.raises(JournalClosedError):
            await journal.read("run-a")

    async def test_an_append_racing_a_cancelled_writer_is_refused(self, journal: Journal) -> None:
        # Once the writer's flusher has been cancelled, nobody may wake it
        # again (waking an exited task corrupts trio): appends are refused.
        with trio.CancelScope() as scope:
            async with journal.writer("run-a") as w:
                await w.append(notes(1))
                scope.cancel()
                with trio.CancelScope(shield=True):
                    await trio.testing.wait_all_tasks_blocked()
                    with pytest.raises(JournalClosedError):
                        await w.append(notes(1, "late"))
        assert texts(await journal.read("run-a")) == ["n0"]

    async def test_body_errors_pass_through_unwrapped(self, journal: Journal) -> None:
        with pytest.raises(KeyError):
            async with journal.writer("run-a") as w:
                await w.append(notes(1))
                raise KeyError("boom")
        async with journal.writer("run-a") as w:  # and the lease was released
            assert w.last_seq == 1

    # ----------------------------------------------------------------- leases

    async def test_second_writer_is_refused_with_holder_named(self, backend: Backend) -> None:
        journal = backend.open()
        other = backend.open()
        async with journal.writer("run-a", holder="elsewhere:1:first") as w:
            await w.append(notes(1))
            for j in (journal, other):
                with pytest.raises(WriterConflictError) as info:
                    async with j.writer("run-a"):
                        pass  # pragma: no cover
                assert info.value.holder == "elsewhere:1:first"
                assert info.value.run_id == "run-a"
            async with other.writer("run-b") as w2:  # other runs are free
                await w2.append(notes(1))

    async def test_lease_is_released_on_exit(self, backend: Backend) -> None:
        journal = backend.open()
        async with journal.writer("run-a") as w:
            await w.append(notes(1))
        async with backend.open().writer("run-a") as w:
            (entry,) = await w.append(notes(1))
        assert entry.seq == 2

    async def test_stale_lease_is_taken_over(self, backend: Backend) -> None:
        lease_clock = LeaseClock()
        journal = backend.open(lease_clock=lease_clock)
        other = backend.open(lease_clock=lease_clock)
        async with journal.writer("run-a", holder="elsewhere:1:old", lease_ttl_s=30) as old:
            await old.append(notes(1, "old"))
            lease_clock.now += 29
            with pytest.raises(WriterConflictError):
                async with other.writer("run-a"):
                    pass  # pragma: no cover
            lease_clock.now += 2  # expired: the old holder stopped renewing
            async with other.writer("run-a", holder="elsewhere:2:new") as new:
                await new.append(notes(1, "new"))
                with pytest.raises(LeaseLostError) as info:
                    await old.append(notes(1, "lost"))
                assert info.value.holder == "elsewhere:2:new"
                with pytest.raises(LeaseLostError):  # and it stays lost
                    await old.append(notes(1, "lost"))
                await new.append(notes(1, "new"))
        assert texts(await journal.read("run-a")) == ["old0", "new0", "new0"]

    async def test_the_writer_renews_its_lease(
        self, backend: Backend, autojump_clock: trio.testing.MockClock
    ) -> None:
        lease_clock = LeaseClock()
        journal = backend.open(lease_clock=lease_clock)
        async with journal.writer("run-a", holder="elsewhere:1:x", lease_ttl_s=30) as w:
            for _ in range(10):  # 100 s of (virtual, lease) time, never idle past the ttl
                lease_clock.now += 10
                await trio.sleep(10)
            with pytest.raises(WriterConflictError):
                async with backend.open(lease_clock=lease_clock).writer("run-a"):
                    pass  # pragma: no cover
            await w.append(notes(1))

    # -------------------------------------------------------------- snapshots

    async def test_snapshots_load_the_nearest_at_or_below(self, journal: Journal) -> None:
        await journal.save_snapshot("run-a", 3, b"three")
        await journal.save_snapshot("run-a", 6, b"six")
        await journal.save_snapshot("run-b", 4, b"other run")
        assert await journal.load_snapshot("run-a", 2) is None
        assert await journal.load_snapshot("run-a", 3) == (3, b"three")
        assert await journal.load_snapshot("run-a", 5) == (3, b"three")
        assert await journal.load_snapshot("run-a", 100) == (6, b"six")
        await journal.save_snapshot("run-a", 6, b"six again")
        assert await journal.load_snapshot("run-a", 6) == (6, b"six again")

    async def test_writer_stores_snapshots_and_resumes_from_them(self, backend: Backend) -> None:
        journal = backend.open()
        drafts = [Draft(msg=RunCreated(goal="g"), sender="t"), *notes(6)]
        async with journal.writer("run-a", snapshot_every=3) as w:
            await w.append(drafts[:2])
            await w.append(drafts[2:])
            assert w.statistics().snapshots_written == 1  # the latest multiple of 3 per batch
            assert w.state == fold(await journal.read("run-a"))
        snap = await journal.load_snapshot("run-a", 100)
        assert snap is not None and snap[0] == 6
        assert decode_state(snap[1]) == fold(await journal.read("run-a", 1, 7))
        again = backend.open()
        async with again.writer("run-a", snapshot_every=3) as w:
            assert w.state == fold(await again.read("run-a"))
            await w.append(notes(2, "more"))
            assert w.state == fold(await again.read("run-a"))
        assert (await again.load_snapshot("run-a", 100) or (0,))[0] == 9

    async def test_state_at_is_snapshot_plus_tail_and_never_trusts_a_bad_snapshot(
        self, journal: Journal
    ) -> None:
        drafts = [Draft(msg=RunCreated(goal="g"), sender="t"), *notes(9)]
        async with journal.writer("run-a", snapshot_every=4) as w:
            for draft in drafts:
                await w.append([draft])
        entries = await journal.read("run-a")
        for seq in range(11):
            expected = fold(entries[:seq])
            assert await journal.state_at("run-a", seq) == expected
            assert await journal.state_at("run-a", seq, snapshots=False) == expected
        assert await journal.state_at("run-a") == fold(entries)
        assert (await journal.state_at("nope")).status == "new"
        await journal.save_snapshot("run-a", 8, encode_state(fold(entries[:7])))
        with pytest.raises(CorruptSnapshotError) as caught:
            await journal.state_at("run-a", 9)
        assert (caught.value.run_id, caught.value.seq) == ("run-a", 8)
        assert await journal.state_at("run-a", 9, snapshots=False) == fold(entries[:9])

    async def test_control_requests_queue_in_order_per_run(self, backend: Backend) -> None:
        journal = backend.open()
        pause = ControlRequest(action="pause", reason="lunch", by="ann")
        first = await journal.post_request("run-a", pause)
        other = await journal.post_request("run-b", ControlRequest(action="cancel"))
        approve = ControlRequest(action="approve", step="s1", by="bob")
        second = await journal.post_request("run-a", approve)
        assert first < other < second
        again = backend.open()  # another process sees the same queue
        assert await again.requests_after("run-a", 0) == [(first, pause), (second, approve)]
        assert await again.requests_after("run-a", first) == [(second, approve)]
        assert await again.requests_after("run-a", second) == []
        assert await again.requests_after("run-b", 0) == [(other, ControlRequest(action="cancel"))]

    # ----------------------------------------------------------------- follow

    async def test_follow_is_woken_by_a_writer_at_once(
        self, journal: Journal, autojump_clock: trio.testing.MockClock
    ) -> None:
        got: list[Entry] = []
        start = trio.current_time()

        async def follower() -> None:
            async with aclosing(journal.follow("run-a", poll_interval_s=3600)) as entries:
                async for entry in entries:
                    got.append(entry)
                    if len(got) == 7:
                        return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follower)
            async with journal.writer("run-a") as w:
                for n in (2, 1, 4):
                    await trio.testing.wait_all_tasks_blocked()
                    await w.append(notes(n))
        assert [e.seq for e in got] == list(range(1, 8))
        assert trio.current_time() - start < 3600  # woken, not polled

    async def test_follow_from_the_middle(self, journal: Journal) -> None:
        async with journal.writer("run-a") as w:
            await w.append(notes(5))
        got = []
        async with aclosing(journal.follow("run-a", from_seq=3)) as entries:
            async for entry in entries:
                got.append(entry.seq)
                if entry.seq == 5:
                    break
        assert got == [3, 4, 5]

    async def test_follow_polls_for_other_writers(
        self, backend: Backend, autojump_clock: trio.testing.MockClock
    ) -> None:
        journal = backend.open()
        other = backend.open()
        got: list[int] = []

        async def follower() -> None:
            async with aclosing(journal.follow("run-a", poll_interval_s=0.5)) as entries:
                async for entry in entries:
                    got.append(entry.seq)
                    if entry.seq == 4:
                        return

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follower)
            async with other.writer("run-a") as w:
                for _ in range(4):
                    await trio.sleep(1)
                    await w.append(notes(1))
        assert got == [1, 2, 3, 4]

    # ----------------------------------------------------------------- import

    async def test_import_is_atomic_and_refuses_an_existing_run(self, journal: Journal) -> None:
        source = backend_entries("run-x", 5)
        await journal.import_entries(source)
        assert await journal.read("run-x") == source
        with pytest.raises(RunExistsError):
            await journal.import_entries(backend_entries("run-x", 2))
        assert await journal.read("run-x") == source
        async with journal.writer("run-x") as w:  # an imported run goes on
            (entry,) = await w.append(notes(1))
        assert entry.seq == 6

    async def test_import_refuses_bad_input(self, journal: Journal) -> None:
        entries = backend_entries("run-x", 4)
        with pytest.raises(SeqConflictError):
            await journal.import_entries([entries[0], entries[2]])
        with pytest.raises(SeqConflictError):
            await journal.import_entries(entries[1:])
        with pytest.raises(ValueError, match="runs"):
            await journal.import_entries([entries[0], *backend_entries("run-y", 2)[1:]])
        bad = msgspec.structs.replace(entries[1], msg=Heartbeat(agent=1))  # type: ignore[arg-type]
        with pytest.raises(InvalidEntryError):
            await journal.import_entries([entries[0], bad])
        assert await journal.list_runs() == []
        async with journal.writer("run-x") as w:
            await w.append(notes(1))
        with pytest.raises(RunExistsError):
            await journal.import_entries(entries)
        assert await journal.last_seq("run-x") == 1

    # ------------------------------------------------------------- corruption

    @pytest.mark.parametrize(
        "mutate",
        [
            pytest.param(lambda b: b[:-1], id="truncated"),
            pytest.param(lambda b: b[:10] + bytes([b[10] ^ 0x20]) + b[11:], id="flipped"),
            pytest.param(lambda b: b"", id="emptied"),
        ],
    )
    async def test_corrupt_entry_is_reported_with_run_and_seq(
        self, backend: Backend, mutate: Callable[[bytes], bytes]
    ) -> None:
        journal = backend.open()
        async with journal.writer("run-a") as w:
            await w.append(notes(5))
        backend.corrupt("run-a", 3, mutate)
        for read in (journal, backend.open()):
            with pytest.raises(CorruptEntryError) as info:
                await read.read("run-a")
            assert (info.value.run_id, info.value.seq) == ("run-a", 3)
            assert "checksum" in info.value.detail
        assert len(await journal.read("run-a", 1, 3)) == 2  # around it, reads work
        assert len(await journal.read("run-a", 4)) == 2
        with pytest.raises(CorruptEntryError):
            async with aclosing(journal.follow("run-a")) as entries:
                async for _ in entries:
                    pass

    async def test_damage_behind_a_valid_checksum_is_still_caught(self, backend: Backend) -> None:
        journal = backend.open()
        async with journal.writer("run-a") as w:
            entries = await w.append(notes(5))
        stored = journal.store.codec.encode  # the bytes a store of this kind keeps
        backend.corrupt("run-a", 2, lambda _: stored(entries[3]), fix_crc=True)
        # an unknown tag of the same length: JSON and MessagePack stay well-formed
        backend.corrupt(
            "run-a", 4, lambda b: b.replace(b"note_written", b"note_forged_"), fix_crc=True
        )
        with pytest.raises(CorruptEntryError) as info:
            await journal.read("run-a")
        assert info.value.seq == 2 and "seq 4" in info.value.detail
        with pytest.raises(CorruptEntryError) as info:
            await journal.read("run-a", 3)
        assert info.value.seq == 4 and "undecodable" in info.value.detail

    async def test_writer_refuses_to_open_on_a_corrupt_tail(self, backend: Backend) -> None:
        journal = backend.open()
        async with journal.writer("run-a") as w:
            await w.append(notes(3))
        backend.corrupt("run-a", 3, lambda b: b[:-2])
        with pytest.raises(CorruptEntryError) as info:
            async with journal.writer("run-a"):
                pass  # pragma: no cover
        assert info.value.seq == 3
        with pytest.raises(CorruptEntryError):  # not WriterConflictError: the lease was released
            async with journal.writer("run-a"):
                pass  # pragma: no cover


def backend_entries(run_id: str, n: int) -> list[Entry]:
    msgs = (NoteWritten(author="i", text=f"x{seq}") for seq in range(1, n + 1))
    return factories.entries(*msgs, run_id=run_id, start_us=T0 + 1, step_us=1, sender="importer")
