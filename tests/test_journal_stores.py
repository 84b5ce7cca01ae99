"""The journal conformance suite, run against every store."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from journal_conformance import Backend, JournalConformance
from playbill.runtime import Journal, MemoryJournal, SqliteJournal
from playbill.runtime.journal._memory import MemoryStore
from playbill.runtime.model._entry import checksum, reseal

ENTRY_KEY = "key = ((SELECT id FROM runs WHERE run_id = ?) << 32) + ?"
"""Where a SQLite journal keeps a run's entry (its run's number << 32 | seq)."""


class MemoryBackend(Backend):
    def __init__(self) -> None:
        self.store = MemoryStore()

    def open(self, *, lease_clock: Callable[[], float] = time.time) -> Journal:
        return MemoryJournal(self.store, lease_clock=lease_clock)

    def corrupt(
        self, run_id: str, seq: int, mutate: Callable[[bytes], bytes], *, fix_crc: bool = False
    ) -> None:
        rows = self.store._runs[run_id].rows
        data, crc = rows[seq - 1]
        damaged = mutate(data)
        rows[seq - 1] = (damaged, checksum(damaged) if fix_crc else crc)


class SqliteBackend(Backend):
    """A database file; every journal opened over it is closed at teardown.

    (Python 3.13 warns of a connection left to the garbage collector.)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened: list[Journal] = []

    def open(self, *, lease_clock: Callable[[], float] = time.time) -> Journal:
        journal = SqliteJournal(self.path, lease_clock=lease_clock)
        self.opened.append(journal)
        return journal

    def close(self) -> None:
        for journal in self.opened:
            journal.close()

    def corrupt(
        self, run_id: str, seq: int, mutate: Callable[[bytes], bytes], *, fix_crc: bool = False
    ) -> None:
        # A SQLite record carries its own CRC-32 (its last four bytes): fixing
        # it is sealing the damaged record again.
        with sqlite3.connect(self.path) as conn:
            (data,) = conn.execute(
                f"SELECT data FROM entries WHERE {ENTRY_KEY}", (run_id, seq)
            ).fetchone()
            damaged = mutate(data)
            conn.execute(
                f"UPDATE entries SET data = ? WHERE {ENTRY_KEY}",
                (reseal(damaged) if fix_crc else damaged, run_id, seq),
            )
        conn.close()


class TestMemoryJournal(JournalConformance):
    @pytest.fixture
    def backend(self) -> Backend:
        return MemoryBackend()


class TestSqliteJournal(JournalConformance):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        backend = SqliteBackend(tmp_path / "journal.db")
        yield backend
        backend.close()
