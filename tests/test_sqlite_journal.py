"""What only the SQLite store does: the file format, WAL, opening files.

(Leases across real processes are tested for every store in test_lease_processes.py.)
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from pathlib import Path

import msgspec
import pytest
import trio

from playbill.runtime import Journal, MemoryJournal, SqliteJournal, open_journal
from playbill.runtime.journal._sqlite import APPLICATION_ID, SCHEMA_VERSION, SqliteStore
from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._errors import (
    CorruptEntryError,
    JournalError,
    NotAJournalError,
)
from playbill.runtime.model._messages import NoteWritten


def note(text: str) -> Draft:
    return Draft(msg=NoteWritten(author="parent", text=text), sender="parent")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.write_bytes(b""), id="empty file"),
        pytest.param(lambda p: p.write_bytes(os.urandom(4096)), id="random bytes"),
        pytest.param(lambda p: p.write_text("hello\n"), id="text file"),
        pytest.param(lambda p: p.mkdir(), id="directory"),
        pytest.param(
            lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.close(),
            id="another sqlite database",
        ),
        pytest.param(
            lambda p: sqlite3.connect(p).execute("PRAGMA user_version = 3").connection.close(),
            id="empty sqlite database",
        ),
    ],
)
@pytest.mark.parametrize("create", [True, False])
def test_files_that_are_not_journals_are_refused(
    tmp_path: Path, make: object, create: bool
) -> None:
    path = tmp_path / "not-a-journal"
    make(path)  # type: ignore[operator]
    before = sorted(tmp_path.iterdir())
    with pytest.raises(NotAJournalError) as info:
        SqliteJournal(path, create=create)
    assert info.value.path == str(path)
    assert sorted(tmp_path.iterdir()) == before  # nothing written beside it


def test_a_missing_file_is_not_created_when_create_is_false(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(NotAJournalError, match="no such file"):
        SqliteJournal(path, create=False)
    assert not path.exists()
    SqliteJournal(path).close()
    SqliteJournal(path, create=False).close()


def test_a_journal_from_a_newer_playbill_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    SqliteJournal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(NotAJournalError, match="schema version"):
        SqliteJournal(path)


def test_the_file_is_marked_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    SqliteJournal(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


@pytest.mark.parametrize(("synchronous", "level"), [("NORMAL", 1), ("FULL", 2)])
def test_synchronous_is_set(tmp_path: Path, synchronous: str, level: int) -> None:
    store = SqliteStore(tmp_path / "journal.db", synchronous=synchronous)  # type: ignore[arg-type]
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == level
    store.close()


async def test_a_gap_in_the_stored_run_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SqliteJournal(path) as journal:
        async with journal.writer("run-a") as w:
            await w.append([note(str(i)) for i in range(5)])
        with sqlite3.connect(path) as conn:
            conn.execute(  # the entry's key is its run's number << 32 | its seq
                "DELETE FROM entries"
                " WHERE key = (SELECT id << 32 FROM runs WHERE run_id = 'run-a') + 3"
            )
        conn.close()
        with pytest.raises(CorruptEntryError) as info:
            await journal.read("run-a")
        assert (info.value.seq, info.value.detail) == (3, "missing: the stored run has a gap")


async def test_many_runs_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SqliteJournal(path) as journal:
        for run in ("run-a", "run-b", "run-c"):
            async with journal.writer(run) as w:
                await w.append([note(run)] * 3)
    with SqliteJournal(path, create=False) as journal:
        runs = await journal.list_runs()
        assert [(r.run_id, r.last_seq) for r in runs] == [("run-a", 3), ("run-b", 3), ("run-c", 3)]


def test_open_journal_picks_the_store(tmp_path: Path) -> None:
    assert isinstance(open_journal(":memory:"), MemoryJournal)
    journal: Journal = open_journal(tmp_path / "j.db")
    assert isinstance(journal, SqliteJournal)
    journal.close()
    by_name = open_journal(str(tmp_path / "k.db"))
    assert isinstance(by_name, SqliteJournal)
    by_name.close()
    with pytest.raises(JournalError, match="postgresql://"):
        open_journal("postgresql://localhost/playbill")
    with pytest.raises(NotAJournalError):
        open_journal(tmp_path / "missing.db", create=False)


async def test_a_new_journal_creates_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.db"
    with SqliteJournal(path) as journal:
        assert await journal.list_runs() == []
    assert path.is_file()
    with pytest.raises(NotAJournalError):
        SqliteJournal(tmp_path / "missing" / "journal.db", create=False)
    assert not (tmp_path / "missing").exists()


def test_memory_is_sqlites_in_memory_database_not_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def main() -> list[int]:
        with SqliteJournal(":memory:") as journal:
            async with journal.writer("run-a") as w:
                await w.append([note("kept in memory")])
            return [e.seq for e in await journal.read("run-a")]

    assert trio.run(main) == [1]
    assert list(tmp_path.iterdir()) == []


def test_a_stored_record_is_the_entry_sealed_with_its_crc(tmp_path: Path) -> None:
    """The format docs/journal.md gives: [entry, check], CRC-32 residue 0x2144DF1C."""
    path = tmp_path / "journal.db"

    async def main() -> Entry:
        with SqliteJournal(path) as journal:
            async with journal.writer("run-a") as w:
                return (await w.append([note("sealed")]))[0]

    entry = trio.run(main)
    conn = sqlite3.connect(path)
    ((record,),) = conn.execute("SELECT data FROM entries").fetchall()
    conn.close()
    head = msgspec.msgpack.Encoder(order="deterministic").encode((entry, 0xFFFFFFFF))[:-4]
    assert record == head + zlib.crc32(head).to_bytes(4, "little")
    assert zlib.crc32(record) == 0x2144DF1C
