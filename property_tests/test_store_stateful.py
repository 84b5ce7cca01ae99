"""A journal over each store behaves like a dict of lists, whatever happens to it.

The model is ``run_id -> [message, ...]``. Rules append (alone, or from many
concurrent trio tasks whose drafts are group-committed), read ranges, reopen
the journal over the same storage, and fail the commit that would write one
of a batch's entries (through a ``FaultyStore``). After every step the stored
runs equal the model, with dense seqs.
"""

from __future__ import annotations

import pytest
import trio
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from playbill.runtime import Journal
from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._errors import InjectedFaultError
from playbill.runtime.model._messages import Message
from playbill.testing import FaultyStore
from stores import STORE_KINDS, StoreUnderTest
from strategies import drafts

RUN_IDS = st.sampled_from(["run-a", "run-b", "run-c", "r/ü", "x"])
BATCH = st.lists(drafts(), min_size=1, max_size=4)


class JournalMachine(RuleBasedStateMachine):
    kind = "memory"

    runs = Bundle("runs")

    def __init__(self) -> None:
        super().__init__()
        self.storage = StoreUnderTest(self.kind)
        self.journal = self.storage.open()
        self.model: dict[str, list[Message]] = {}

    def teardown(self) -> None:
        self.journal.close()
        self.storage.cleanup()

    @initialize(target=runs, run_id=RUN_IDS)
    def first_run(self, run_id: str) -> str:
        return run_id

    @rule(target=runs, run_id=RUN_IDS)
    def another_run(self, run_id: str) -> str:
        return run_id

    @rule(run_id=runs, batch=BATCH)
    def append(self, run_id: str, batch: list[Draft]) -> None:
        async def main() -> list[Entry]:
            async with self.journal.writer(run_id) as w:
                return await w.append(batch)

        entries = trio.run(main)
        self._expect(run_id, [entries])
        assert [e.msg for e in entries] == [d.msg for d in batch]

    @rule(run_id=runs, batches=st.lists(BATCH, min_size=2, max_size=6))
    def concurrent_appends(self, run_id: str, batches: list[list[Draft]]) -> None:
        results: list[list[Entry]] = []

        async def main() -> int:
            async with self.journal.writer(run_id) as w:

                async def appender(batch: list[Draft]) -> None:
                    entries = await w.append(batch)
                    assert [e.msg for e in entries] == [d.msg for d in batch]
                    results.append(entries)

                async with trio.open_nursery() as nursery:
                    for batch in batches:
                        nursery.start_soon(appender, batch)
                return w.statistics().batches_committed

        assert trio.run(main) < len(batches)  # grouped, not one transaction each
        self._expect(run_id, results)

    @rule(run_id=runs, batch=BATCH, index=st.integers(0, 5), then=BATCH)
    def fail_a_commit(self, run_id: str, batch: list[Draft], index: int, then: list[Draft]) -> None:
        store = FaultyStore(self.journal.store)
        journal = Journal(store)  # not closed: that would close the storage's store

        async def main() -> list[Entry]:
            async with journal.writer(run_id) as w:
                seq = store.last_seq(run_id) + 1 + min(index, len(batch) - 1)
                store.fail_commit_at(seq)  # the commit of the batch's entry at that seq
                with pytest.raises(InjectedFaultError):
                    await w.append(batch)
                assert store.injected == 1
                return await w.append(then)  # the writer goes on, densely

        self._expect(run_id, [trio.run(main)])

    @rule(run_id=runs, start=st.integers(1, 30), length=st.none() | st.integers(0, 30))
    def read_range(self, run_id: str, start: int, length: int | None) -> None:
        stop = None if length is None else start + length
        got = trio.run(self.journal.read, run_id, start, stop)
        expected = self.model.get(run_id, [])[start - 1 : None if stop is None else stop - 1]
        assert [e.msg for e in got] == expected
        assert [e.seq for e in got] == list(range(start, start + len(got)))

    @rule()
    def reopen(self) -> None:
        self.journal.close()
        self.journal = self.storage.open()

    @invariant()
    def stored_runs_equal_the_model(self) -> None:
        async def main() -> None:
            infos = await self.journal.list_runs()
            assert {i.run_id: i.last_seq for i in infos} == {
                run_id: len(msgs) for run_id, msgs in self.model.items() if msgs
            }
            for run_id, msgs in self.model.items():
                entries = await self.journal.read(run_id)
                assert [e.msg for e in entries] == msgs
                assert [e.seq for e in entries] == list(range(1, len(msgs) + 1))
                assert all(e.run_id == run_id for e in entries)

        trio.run(main)

    def _expect(self, run_id: str, appended: list[list[Entry]]) -> None:
        """Add what appenders got to the model, checking it extends the run densely."""
        run = self.model.setdefault(run_id, [])
        for entries in sorted(appended, key=lambda es: es[0].seq):
            assert [e.seq for e in entries] == list(
                range(len(run) + 1, len(run) + 1 + len(entries))
            )
            run.extend(e.msg for e in entries)


class MemoryJournalMachine(JournalMachine):
    kind = "memory"


class SqliteJournalMachine(JournalMachine):
    kind = "sqlite"


class PostgresJournalMachine(JournalMachine):
    kind = "postgres"


TestMemoryJournal = MemoryJournalMachine.TestCase
TestSqliteJournal = SqliteJournalMachine.TestCase
TestPostgresJournal = pytest.mark.postgres(PostgresJournalMachine.TestCase)

MACHINES = (MemoryJournalMachine, SqliteJournalMachine, PostgresJournalMachine)


def test_every_store_has_a_machine() -> None:
    assert {m.kind for m in MACHINES} == set(STORE_KINDS)
