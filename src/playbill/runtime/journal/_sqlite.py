"""The SQLite journal store: one file, many runs, WAL mode.

Durability: with ``synchronous="NORMAL"`` (the default) a committed
transaction survives a crash of the process, but the last transactions before
a power loss or an OS crash may be lost (never torn: SQLite rolls them back
whole). ``synchronous="FULL"`` syncs the WAL on every commit and survives
power loss too, at the price of one fsync per commit (group commit amortises
it over concurrent appenders).

The file is marked with ``PRAGMA application_id`` and its schema version with
``PRAGMA user_version``; any other file is refused with ``NotAJournalError``.
All I/O is inline, on the calling thread: a WAL commit takes tens of
microseconds, and inline I/O keeps simulated runs deterministic. A write
waits up to ``busy_timeout_s`` for another process's write to finish.
"""

from __future__ import annotations

import functools
import operator
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, Literal, final

import attrs
import msgspec

from ..model._entry import SEALED_CODEC, SEALED_CRC, EntryCodec, EntryRow, checksum
from ..model._errors import (
    LeaseLostError,
    NotAJournalError,
    RunExistsError,
    StoreError,
    WriterConflictError,
)
from ._postgres_schema import SchemaVersionError
from ._sqlite_open import connect
from ._store import (
    JournalStore,
    RunInfo,
    SnapshotRow,
    StoredRow,
    check_dense,
    holder_is_dead,
)

APPLICATION_ID = 0x706C6231
"""``PRAGMA application_id`` of a playbill journal (``"plb1"``)."""

SCHEMA_VERSION = 2
"""``PRAGMA user_version`` of the schema this code writes and reads.

Version 1 kept entries as JSON in a table keyed by ``(run_id, seq)``;
``playbill migrate`` (``migrate_sqlite``) upgrades such a file in place.
"""

SEQ_BITS = 32
"""An entry's key is ``run << SEQ_BITS | seq``: a run holds at most 2**32 - 1 entries."""

# ``runs`` numbers each run when its first entry is written; ``entries`` is a
# plain rowid table keyed by ``run << 32 | seq`` holding one sealed
# MessagePack record per entry (its CRC-32 inside: no checksum column), so a
# commit appends to one B-tree with an integer key and one value per row (no
# text key repeated in every row, no second index) and a replay reads one
# contiguous range of one column. A run's last seq and time are read from its last
# entry by a rowid seek, so a commit dirties only the pages of the entries it
# adds, and listing runs stays cheap however long they are.
_SCHEMA = (
    """CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    first_us INTEGER NOT NULL
)""",
    """CREATE TABLE entries (
    key INTEGER PRIMARY KEY,
    data BLOB NOT NULL
)""",
    """CREATE TABLE leases (
    run_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID""",
    """CREATE TABLE snapshots (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID""",
    """CREATE TABLE requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    posted_us INTEGER NOT NULL,
    body BLOB NOT NULL
)""",
    "CREATE INDEX requests_by_run ON requests (run_id, id)",
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

# Each run with its first time, its last entry's key and bytes (for its time).
_LIST_RUNS = """
SELECT r.run_id, r.first_us, r.id, e.key, e.data
FROM runs AS r JOIN entries AS e
ON e.key = (SELECT max(key) FROM entries WHERE key > (r.id << 32) AND key < ((r.id + 1) << 32))
"""

# What a commit checks, in one statement: the lease, and where the run ends.
_COMMIT_CHECKS = """
SELECT
    (SELECT token FROM leases WHERE run_id = ?1),
    (SELECT holder FROM leases WHERE run_id = ?1),
    (SELECT max(key) FROM entries WHERE key > ?2 AND key < ?3)
"""
_READ_ROWS = "SELECT key - ?1, data FROM entries WHERE key >= ?2 AND key < ?3"
_READ_DATA = "SELECT data FROM entries WHERE key >= ?2 AND key < ?3"  # ?1: unused
_first = operator.itemgetter(0)
_LAST_KEY = "SELECT max(key) FROM entries WHERE key > ? AND key < ?"
_RUN_NUMBER = "SELECT id FROM runs WHERE run_id = ?"
_INSERT_RUN = "INSERT INTO runs (run_id, first_us) VALUES (?, ?)"
_INSERT_SNAPSHOT = "INSERT OR REPLACE INTO snapshots (run_id, seq, data, crc) VALUES (?, ?, ?, ?)"

_SEQ_LIMIT = 1 << SEQ_BITS

_MAX_ROWS_PER_INSERT = 128
"""Rows per multi-row INSERT (4 parameters each, plus the run's base key)."""


@functools.cache
def _insert_sql(n: int) -> str:
    # One multi-row INSERT binds a batch with one call, about 20 % faster per
    # row than executemany. Each row binds its EntryRow as is, ``(seq, at_us,
    # data, crc)``: the time is in the entry (only the run's first is kept)
    # and the CRC in the record. The last parameter, ``?{4n+1}``, is the run's
    # base key, shared by every row (last, so that every parameter is counted).
    base = f"?{4 * n + 1}"
    values = (f"({base} + ?{1 + 4 * i}, ?{3 + 4 * i})" for i in range(n))
    return "INSERT INTO entries (key, data) VALUES " + ", ".join(values)


def _run_info(row: tuple[str, int, int, int, bytes]) -> RunInfo:
    run_id, first_us, number, key, data = row
    return RunInfo(
        run_id=run_id,
        first_us=first_us,
        last_seq=key - (number << SEQ_BITS),
        last_us=_entry_time(data, first_us),
    )


class _Time(msgspec.Struct):
    """The time of an entry, decoded from its record without the rest."""

    at_us: int


_time_decoder = msgspec.msgpack.Decoder(tuple[_Time, int])  # a sealed record


def _entry_time(data: bytes, default: int) -> int:
    try:
        return _time_decoder.decode(data)[0].at_us
    except (msgspec.ValidationError, msgspec.DecodeError):
        return default  # a damaged entry: reading it says what is wrong


@final
@attrs.define(eq=False, init=False)
class SqliteStore(JournalStore):
    """A ``JournalStore`` in one SQLite file (WAL mode), shared by processes.

    Args:
        path: The journal file.
        create: Create the file if it does not exist. With ``False`` a
            missing file is ``NotAJournalError``: commands that only read
            must never leave an empty journal behind.
        synchronous: ``"NORMAL"`` survives process crashes; ``"FULL"``
            survives power loss too.
        busy_timeout_s: How long a write waits for another process's.
        read_only: Open the file read-only (SQLite ``mode=ro``): read
            commands then work on a journal they cannot write, and never
            change it. Writing through such a store raises ``StoreError``.

    Raises:
        NotAJournalError: The file exists but is not a playbill journal, or
            is missing and ``create`` is false.
    """

    path: str
    _conn: sqlite3.Connection
    _closed: bool
    _runs: dict[str, int]  # run id -> its number (never changes once given)

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout_s: float = 5.0,
        read_only: bool = False,
    ) -> None:
        self.path = str(path)
        self._closed = False
        self._runs = {}
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self._conn, fresh = connect(self.path, create=create and not read_only, read_only=read_only)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._setup(fresh=fresh and not read_only, read_only=read_only)
            if not read_only:
                self._conn.execute(f"PRAGMA synchronous = {synchronous}")
        except sqlite3.OperationalError as exc:  # locked, I/O error: not the file's fault
            self._conn.close()
            raise StoreError(f"{self.path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise NotAJournalError(self.path, str(exc)) from exc
        except BaseException:
            self._conn.close()
            raise

    def _setup(self, *, fresh: bool, read_only: bool = False) -> None:
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == 0 and fresh:  # only a file we just created becomes a journal
            with self._write():  # BEGIN IMMEDIATE: another process may be creating it too
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app_id == 0 and tables == 0:
                    for statement in _SCHEMA:  # not executescript: it would COMMIT first
                        conn.execute(statement)
                    app_id = APPLICATION_ID
        if app_id != APPLICATION_ID:
            what = "an empty SQLite database" if app_id == 0 else "another SQLite database"
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id == 0 and tables:
                what = f"another SQLite database ({tables} schema objects)"
            raise NotAJournalError(self.path, f"{what}, application_id {app_id:#x}")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(self.path, version, SCHEMA_VERSION)
        # Read-only: never switch modes (that writes); reading works in any mode.
        query = "PRAGMA journal_mode" if read_only else "PRAGMA journal_mode = WAL"
        mode = conn.execute(query).fetchone()[0]
        if read_only:
            return
        if mode != "wal" and not (mode == "memory" and self.path == ":memory:"):
            raise NotAJournalError(self.path, f"cannot switch to WAL mode (got {mode!r})")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back whole if anything raises."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn the backend's errors into ``StoreError``."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc

    @property
    def codec(self) -> EntryCodec:
        """Entries are stored as sealed MessagePack records (schema version 2)."""
        return SEALED_CODEC

    # ------------------------------------------------------------- entries

    def _number(self, run_id: str) -> int | None:
        """The run's number, or None if it has no entry yet."""
        number = self._runs.get(run_id)
        if number is None:
            row = self._conn.execute(_RUN_NUMBER, (run_id,)).fetchone()
            if row is not None:
                number = self._runs[run_id] = int(row[0])
        return number

    def commit(
        self,
        run_id: str,
        rows: Sequence[EntryRow],
        *,
        lease_token: str,
        snapshot: tuple[int, bytes] | None = None,
    ) -> None:
        """See ``JournalStore.commit``."""
        with self._errors(), self._write() as conn:
            number = self._number(run_id)
            base = (number or 0) << SEQ_BITS
            token, holder, last = conn.execute(
                _COMMIT_CHECKS, (run_id, base, base + _SEQ_LIMIT)
            ).fetchone()
            if token != lease_token:
                raise LeaseLostError(run_id, holder if holder is not None else "nobody")
            if rows:
                stored = last - base if number is not None and last is not None else 0
                check_dense(run_id, rows, stored + 1)
                if number is None:
                    base = self._new_run(run_id, rows)
                self._insert(base, rows)
            if snapshot is not None:
                seq, data = snapshot
                conn.execute(_INSERT_SNAPSHOT, (run_id, seq, data, checksum(data)))

    def _new_run(self, run_id: str, rows: Sequence[EntryRow]) -> int:
        """Number a run at its first entry; returns its base key (not cached before commit)."""
        number = self._conn.execute(_INSERT_RUN, (run_id, rows[0][1])).lastrowid
        assert number is not None
        return number << SEQ_BITS

    def _insert(self, base: int, rows: Sequence[EntryRow]) -> None:
        if rows[-1][0] >= _SEQ_LIMIT:
            raise StoreError(f"{self.path}: a run holds at most {_SEQ_LIMIT - 1} entries")
        for start in range(0, len(rows), _MAX_ROWS_PER_INSERT):
            chunk = rows[start : start + _MAX_ROWS_PER_INSERT]
            params = list(chain.from_iterable(chunk))
            params.append(base)
            self._conn.execute(_insert_sql(len(chunk)), params)

    def import_rows(self, run_id: str, rows: Sequence[EntryRow]) -> None:
        """See ``JournalStore.import_rows``."""
        check_dense(run_id, rows, 1)
        if not rows:
            return
        with self._errors(), self._write():
            if self._last_seq(run_id):
                raise RunExistsError(run_id)
            self._insert(self._new_run(run_id, rows), rows)

    def last_seq(self, run_id: str) -> int:
        """See ``JournalStore.last_seq``."""
        with self._errors():
            return self._last_seq(run_id)

    def _last_seq(self, run_id: str) -> int:
        number = self._number(run_id)
        if number is None:
            return 0
        base = number << SEQ_BITS
        row = self._conn.execute(_LAST_KEY, (base, base + _SEQ_LIMIT)).fetchone()
        return int(row[0]) - base if row[0] is not None else 0

    def read_rows(self, run_id: str, start: int, stop: int | None) -> list[StoredRow]:
        """See ``JournalStore.read_rows``; each row's checksum is ``SEALED_CRC``."""
        return [
            (seq, data, SEALED_CRC) for seq, data in self._select(_READ_ROWS, run_id, start, stop)
        ]

    def read_data(self, run_id: str, start: int, stop: int | None) -> list[bytes] | None:
        """See ``JournalStore.read_data``: the records alone, one column."""
        return list(map(_first, self._select(_READ_DATA, run_id, start, stop)))

    def _select(self, sql: str, run_id: str, start: int, stop: int | None) -> list[Any]:
        with self._errors():
            number = self._number(run_id)
            if number is None:
                return []
            base = number << SEQ_BITS
            end = _SEQ_LIMIT if stop is None else max(0, min(stop, _SEQ_LIMIT))
            return self._conn.execute(sql, (base, base + max(start, 0), base + end)).fetchall()

    def run_info(self, run_id: str) -> RunInfo | None:
        """See ``JournalStore.run_info``."""
        with self._errors():
            row = self._conn.execute(_LIST_RUNS + " WHERE r.run_id = ?", (run_id,)).fetchone()
        return _run_info(row) if row is not None else None

    def list_runs(self) -> list[RunInfo]:
        """See ``JournalStore.list_runs``."""
        with self._errors():
            rows = self._conn.execute(_LIST_RUNS + " ORDER BY r.first_us, r.run_id").fetchall()
        return [_run_info(row) for row in rows]

    # -------------------------------------------------------------- leases

    def acquire_lease(self, run_id: str, holder: str, *, now: float, ttl_s: float) -> str:
        """See ``JournalStore.acquire_lease``."""
        token = secrets.token_hex(8)
        with self._errors(), self._write() as conn:
            row = conn.execute(
                "SELECT holder, expires_at FROM leases WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is not None and row[1] > now and not holder_is_dead(row[0]):
                raise WriterConflictError(run_id, row[0])
            conn.execute(
                "INSERT OR REPLACE INTO leases (run_id, holder, token, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (run_id, holder, token, now + ttl_s),
            )
        return token

    def renew_lease(self, run_id: str, token: str, *, now: float, ttl_s: float) -> None:
        """See ``JournalStore.renew_lease``."""
        with self._errors(), self._write() as conn:
            renewed = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE run_id = ? AND token = ?",
                (now + ttl_s, run_id, token),
            ).rowcount
            if not renewed:
                raise LeaseLostError(run_id, self._holder(run_id))

    def release_lease(self, run_id: str, token: str) -> None:
        """See ``JournalStore.release_lease``."""
        with self._errors(), self._write() as conn:
            conn.execute("DELETE FROM leases WHERE run_id = ? AND token = ?", (run_id, token))

    def _holder(self, run_id: str) -> str:
        row = self._conn.execute("SELECT holder FROM leases WHERE run_id = ?", (run_id,)).fetchone()
        return str(row[0]) if row is not None else "nobody"

    # ---------------------------------------------------- control requests

    def post_request(self, run_id: str, body: bytes, *, now_us: int) -> int:
        """See ``JournalStore.post_request``."""
        with self._errors(), self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO requests (run_id, posted_us, body) VALUES (?, ?, ?)",
                (run_id, now_us, body),
            )
            request_id = cursor.lastrowid
        assert request_id is not None
        return request_id

    def requests_after(self, run_id: str, after_id: int) -> list[tuple[int, bytes]]:
        """See ``JournalStore.requests_after``."""
        with self._errors():
            rows = self._conn.execute(
                "SELECT id, body FROM requests WHERE run_id = ? AND id > ? ORDER BY id",
                (run_id, after_id),
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    # ----------------------------------------------------------- snapshots

    def save_snapshot(self, run_id: str, seq: int, data: bytes) -> None:
        """See ``JournalStore.save_snapshot``."""
        with self._errors(), self._write() as conn:
            conn.execute(_INSERT_SNAPSHOT, (run_id, seq, data, checksum(data)))

    def load_snapshot(self, run_id: str, max_seq: int) -> SnapshotRow | None:
        """See ``JournalStore.load_snapshot``."""
        with self._errors():
            row = self._conn.execute(
                "SELECT seq, data, crc FROM snapshots WHERE run_id = ? AND seq <= ?"
                " ORDER BY seq DESC LIMIT 1",
                (run_id, max_seq),
            ).fetchone()
        return (row[0], row[1], row[2]) if row is not None else None

    # --------------------------------------------------------------- other

    def close(self) -> None:
        """Close the connection. Idempotent."""
        if not self._closed:
            self._closed = True
            self._conn.close()
