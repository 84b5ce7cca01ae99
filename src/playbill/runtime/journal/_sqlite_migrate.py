"""Upgrading a SQLite journal file to this playbill's schema, in place.

Schema 1 kept each entry as its JSON in a table keyed by ``(run_id, seq)``,
with its time in a column of its own. Schema 2 (``SqliteStore``) numbers the
runs and keeps each entry as a sealed MessagePack record (its CRC-32 inside)
in a rowid table keyed by
``run << 32 | seq``. ``migrate_sqlite`` upgrades a file in one transaction:
every entry is verified (checksum, decoding, run and seq) as any read does,
re-encoded, and checked to decode back to the very same entry; snapshots,
leases and control requests are kept as they are. If anything is wrong,
nothing changes and the error names the run and seq.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..model._entry import JSON_CODEC, SEALED_CODEC
from ..model._errors import JournalError, NotAJournalError, StoreError, WriterConflictError
from ._postgres_schema import SchemaMigration, SchemaVersionError
from ._sqlite import _SCHEMA, APPLICATION_ID, SCHEMA_VERSION, SEQ_BITS, SqliteStore
from ._sqlite_open import connect
from ._store import decode_rows, holder_is_dead

_CHUNK = 4096
"""Entries re-encoded at a time."""


def migrate_sqlite(path: str | Path) -> SchemaMigration:
    """Create a SQLite journal, or upgrade its schema to this playbill's, in place.

    A missing file becomes a new, empty journal. Safe to run again: a
    journal already at this playbill's version is left alone.

    Raises:
        NotAJournalError: The file is not a playbill journal.
        SchemaVersionError: Its schema is newer than this playbill's.
        WriterConflictError: A live process is writing one of its runs.
        CorruptEntryError: An entry is damaged; nothing was changed.
        StoreError: The file cannot be read or written.
    """
    where = str(path)
    if not Path(where).exists():
        SqliteStore(where).close()
        return SchemaMigration(where, SCHEMA_VERSION, SCHEMA_VERSION)
    conn, _ = connect(where, create=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = _version(conn, where)
            if found == 1:
                _upgrade_from_1(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.OperationalError as exc:  # locked, I/O error: not the file's fault
        raise StoreError(f"{where}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise NotAJournalError(where, str(exc)) from exc
    finally:
        conn.close()
    SqliteStore(where).close()  # WAL mode, and proof that it opens
    return SchemaMigration(where, found, SCHEMA_VERSION)


def _version(conn: sqlite3.Connection, where: str) -> int:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        raise NotAJournalError(where, f"application_id {app_id:#x}")
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found not in (1, SCHEMA_VERSION):
        raise SchemaVersionError(where, found, SCHEMA_VERSION)
    return found


def _upgrade_from_1(conn: sqlite3.Connection) -> None:
    now = time.time()
    for run_id, holder, expires_at in conn.execute("SELECT run_id, holder, expires_at FROM leases"):
        if expires_at > now and not holder_is_dead(holder):
            raise WriterConflictError(run_id, holder)
    conn.execute("ALTER TABLE runs RENAME TO runs_1")
    conn.execute("ALTER TABLE entries RENAME TO entries_1")
    conn.execute(_SCHEMA[0])  # runs
    conn.execute(_SCHEMA[1])  # entries
    runs = conn.execute("SELECT run_id, first_us FROM runs_1 ORDER BY first_us, run_id").fetchall()
    moved = 0
    for run_id, first_us in runs:
        number = conn.execute(
            "INSERT INTO runs (run_id, first_us) VALUES (?, ?)", (run_id, first_us)
        ).lastrowid
        assert number is not None
        moved += _move_entries(conn, run_id, number << SEQ_BITS)
    total = conn.execute("SELECT count(*) FROM entries_1").fetchone()[0]
    if moved != total:  # entries of no listed run: cannot be, but never drop anything
        raise JournalError(f"{total - moved} entries belong to no run; nothing was changed")
    conn.execute("DROP TABLE entries_1")
    conn.execute("DROP TABLE runs_1")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _move_entries(conn: sqlite3.Connection, run_id: str, base: int) -> int:
    start = 1
    while True:
        rows = conn.execute(
            "SELECT seq, data, crc FROM entries_1 WHERE run_id = ? AND seq >= ? ORDER BY seq"
            " LIMIT ?",
            (run_id, start, _CHUNK),
        ).fetchall()
        if not rows:
            return start - 1
        entries = decode_rows(run_id, start, rows, JSON_CODEC)
        datas = [SEALED_CODEC.encode(entry) for entry in entries]
        if SEALED_CODEC.decode_many(datas) != entries:
            raise JournalError(f"run {run_id!r}: entries from seq {start} do not re-encode")
        keys = [base + entry.seq for entry in entries]
        conn.executemany(
            "INSERT INTO entries (key, data) VALUES (?, ?)", zip(keys, datas, strict=True)
        )
        start += len(rows)
