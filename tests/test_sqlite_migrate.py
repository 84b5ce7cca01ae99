"""Upgrading a SQLite journal written by an older playbill (schema 1: JSON entries).

``fixtures/journals/schema-1.db`` was written by playbill with schema 1: the
scripted demo (``demo-0001``, exported as ``golden/demo-0001.jsonl``) and a
run of three notes (exported as ``schema-1-notes-1.jsonl``), with their
snapshots and one control request.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
import trio
from click.testing import CliRunner

from playbill.cli import cli
from playbill.cli._jsonl import encode_run_file
from playbill.runtime import (
    ControlRequest,
    CorruptEntryError,
    NotAJournalError,
    SchemaVersionError,
    SqliteJournal,
    WriterConflictError,
    migrate_journal,
)
from playbill.runtime.journal._sqlite import SCHEMA_VERSION

FIXTURES = Path(__file__).parent / "fixtures" / "journals"
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def old(tmp_path: Path) -> Path:
    path = tmp_path / "journal.db"
    shutil.copyfile(FIXTURES / "schema-1.db", path)
    return path


def _table(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _export(path: Path, run_id: str) -> bytes:
    async def main() -> bytes:
        with SqliteJournal(path, create=False) as journal:
            return encode_run_file(await journal.read(run_id))

    return trio.run(main)


def test_an_old_journal_is_refused_in_one_line_that_says_what_to_do(old: Path) -> None:
    before = old.read_bytes()
    with pytest.raises(SchemaVersionError) as info:
        SqliteJournal(old)
    message = str(info.value)
    assert "\n" not in message
    assert "schema version 1 is older than this playbill's (2)" in message
    assert f"run `playbill migrate --journal {old}`" in message
    assert old.read_bytes() == before  # refusing changes nothing


def test_migrate_keeps_every_run_entry_snapshot_and_request(old: Path) -> None:
    snapshots = _table(old, "SELECT run_id, seq, data, crc FROM snapshots ORDER BY run_id, seq")
    requests = _table(old, "SELECT id, run_id, posted_us, body FROM requests ORDER BY id")
    done = migrate_journal(old)
    assert (done.from_version, done.to_version, done.changed) == (1, SCHEMA_VERSION, True)
    assert _table(old, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    # exports are byte for byte what the old playbill exported
    assert _export(old, "demo-0001") == (GOLDEN / "demo-0001.jsonl").read_bytes()
    assert _export(old, "notes-1") == (FIXTURES / "schema-1-notes-1.jsonl").read_bytes()
    assert _table(old, "SELECT run_id, seq, data, crc FROM snapshots ORDER BY run_id, seq") == (
        snapshots
    )
    assert _table(old, "SELECT id, run_id, posted_us, body FROM requests ORDER BY id") == requests

    async def main() -> None:
        with SqliteJournal(old) as journal:
            runs = await journal.list_runs()
            assert [(r.run_id, r.last_seq) for r in runs] == [("demo-0001", 147), ("notes-1", 3)]
            assert runs[1].first_us == runs[1].last_us == 1_767_225_600_000_000
            taken = await journal.requests_after("notes-1", 0)
            assert [request.action for _, request in taken] == ["pause"]
            # and the migrated journal takes new entries and requests
            assert await journal.post_request("notes-1", ControlRequest(action="cancel")) == 2

    trio.run(main)


def test_migrate_again_changes_nothing(old: Path) -> None:
    migrate_journal(old)
    before = old.read_bytes()
    again = migrate_journal(old)
    assert (again.from_version, again.to_version, again.changed) == (2, 2, False)
    assert _export(old, "demo-0001") == (GOLDEN / "demo-0001.jsonl").read_bytes()
    assert len(old.read_bytes()) == len(before)


def test_a_damaged_entry_stops_the_migration_and_nothing_changes(old: Path) -> None:
    conn = sqlite3.connect(old)
    with conn:
        conn.execute(
            "UPDATE entries SET data = CAST(data || ' ' AS BLOB)"
            " WHERE run_id = 'notes-1' AND seq = 2"
        )
    conn.close()
    entries = _table(old, "SELECT run_id, seq, data, crc FROM entries ORDER BY run_id, seq")
    with pytest.raises(CorruptEntryError) as info:
        migrate_journal(old)
    assert (info.value.run_id, info.value.seq) == ("notes-1", 2)
    assert _table(old, "PRAGMA user_version") == [(1,)]
    assert _table(old, "SELECT run_id, seq, data, crc FROM entries ORDER BY run_id, seq") == (
        entries
    )


def test_a_run_being_written_stops_the_migration(old: Path) -> None:
    conn = sqlite3.connect(old)
    with conn:  # a live holder on another host: its lease runs for an hour
        conn.execute(
            "INSERT INTO leases VALUES ('notes-1', 'elsewhere:1:x', 'token', ?)",
            (time.time() + 3600,),
        )
    conn.close()
    with pytest.raises(WriterConflictError):
        migrate_journal(old)
    assert _table(old, "PRAGMA user_version") == [(1,)]


def test_migrate_creates_a_missing_journal_and_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "new" / "journal.db"
    path.parent.mkdir()
    done = migrate_journal(path)
    assert not done.changed and done.to_version == SCHEMA_VERSION
    SqliteJournal(path, create=False).close()
    text = tmp_path / "notes.txt"
    text.write_text("just notes\n")
    with pytest.raises(NotAJournalError):
        migrate_journal(text)
    assert text.read_text() == "just notes\n"


def test_the_cli_migrates_then_reads(old: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["--journal", str(old), "runs"])
    assert refused.exit_code == 2
    assert "run `playbill migrate --journal" in refused.output
    assert "Traceback" not in refused.output
    done = runner.invoke(cli, ["--journal", str(old), "migrate"])
    assert done.exit_code == 0, done.output
    assert "from schema version 1 to 2." in done.output
    again = runner.invoke(cli, ["--journal", str(old), "migrate"])
    assert "its schema is current (nothing to do)" in again.output
    out = old.parent / "demo.jsonl"
    exported = runner.invoke(cli, ["--journal", str(old), "export", "demo-0001", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert out.read_bytes() == (GOLDEN / "demo-0001.jsonl").read_bytes()
