"""The PostgreSQL journal store: many runs, many processes, many hosts, one database.

Each thread that calls the store gets a connection of its own (autocommit;
every write is one explicit transaction). Calls are synchronous, on the
calling thread, like ``SqliteStore``'s: a commit is a few round trips on a
local network.

Dense seqs under concurrency: a commit locks its run's lease row
(``SELECT ... FOR UPDATE``), checks the token and the run's last seq, and
inserts; the primary key ``(run_id, seq)`` turns any race that got past the
lock into a ``SeqConflictError`` rather than a duplicate. The lease carries
its holder (``host:pid:random``) and an expiry from the callers' lease clock,
which must agree between hosts (NTP): a dead holder on the same host is taken
over at once, one elsewhere when its lease expires.

Each commit sends ``NOTIFY`` on the journal's channel with the run id as its
payload, delivered at commit; ``subscribe`` hands followers a ``LISTEN``ing
connection, so ``Journal.follow`` needs no polling.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, final

import attrs
import psycopg
import psycopg.errors

from ..model._entry import EntryRow, checksum
from ..model._errors import (
    LeaseLostError,
    RunExistsError,
    SeqConflictError,
    StoreError,
    WriterConflictError,
)
from ._postgres_feed import PostgresFeed, first_line
from ._postgres_schema import (
    COMMIT_CHECKS,
    INSERT_ENTRIES,
    INSERT_RUN,
    LIST_RUNS,
    UPSERT_SNAPSHOT,
    channel_name,
    check_schema,
    redact_url,
)
from ._store import (
    CommitFeed,
    JournalStore,
    RunInfo,
    SnapshotRow,
    StoredRow,
    check_dense,
    holder_is_dead,
)

_REQUESTS_LOCK = 0x706C6231_0000_0002
"""Advisory lock key that orders control requests: ids become visible in id order."""

_ACQUIRE_TURNS = 100
"""Claims of a lease that other processes keep taking and releasing, before giving up."""


@final
@attrs.define(eq=False, init=False)
class PostgresStore(JournalStore):
    """A ``JournalStore`` in a PostgreSQL database, shared by processes and hosts.

    Args:
        url: A libpq connection URL (``postgresql://user@host:5432/db``);
            keep passwords in ``PGPASSWORD`` or ``~/.pgpass`` rather than here.
        create: Install the schema in a database that has none. With
            ``False`` such a database is refused (read-only tools).
        lock_timeout_s: How long a statement waits for another's row lock.

    Attributes:
        url: The URL without its password: fit to show.

    Raises:
        SchemaVersionError: The schema is missing (``create`` false), older
            (run ``playbill migrate``) or newer than this playbill's.
        StoreError: The server cannot be reached.
    """

    url: str
    _conninfo: str
    _lock_timeout_ms: int
    _channel: str
    _conns: dict[int, psycopg.Connection[Any]]
    _guard: threading.Lock
    _closed: bool

    def __init__(self, url: str, *, create: bool = True, lock_timeout_s: float = 5.0) -> None:
        self.url = redact_url(url)
        self._conninfo = url
        self._lock_timeout_ms = int(lock_timeout_s * 1000)
        self._conns = {}
        self._guard = threading.Lock()
        self._closed = False
        try:
            with self._errors():
                conn = self._conn()
                check_schema(conn, self.url, create=create)
                self._channel = channel_name(conn)
        except BaseException:
            self.close()
            raise

    # -------------------------------------------------------- connections

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: cannot connect: {first_line(exc)}") from exc
        conn.execute(f"SET lock_timeout = {self._lock_timeout_ms}")
        return conn

    def _conn(self) -> psycopg.Connection[Any]:
        """This thread's connection; a new one if it has none or its own broke."""
        if self._closed:
            raise StoreError(f"{self.url}: the store is closed")
        key = threading.get_ident()
        conn = self._conns.get(key)
        if conn is None or conn.closed:
            conn = self._connect()
            with self._guard:
                self._conns[key] = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        """One write transaction; rolled back whole if anything raises."""
        conn = self._conn()
        with conn.transaction():
            yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn the backend's errors into ``StoreError``."""
        try:
            yield
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: {first_line(exc)}") from exc

    # ------------------------------------------------------------- entries

    def commit(
        self,
        run_id: str,
        rows: Sequence[EntryRow],
        *,
        lease_token: str,
        snapshot: tuple[int, bytes] | None = None,
    ) -> None:
        """See ``JournalStore.commit``."""
        with self._errors(), self._unique_as_conflict(run_id, rows), self._write() as conn:
            found = conn.execute(COMMIT_CHECKS, {"run": run_id}).fetchone()
            if found is None or found[0] != lease_token:
                raise LeaseLostError(run_id, found[1] if found is not None else "nobody")
            if rows:
                stored = int(found[2]) if found[2] is not None else 0
                check_dense(run_id, rows, stored + 1)
                if stored == 0:
                    conn.execute(INSERT_RUN, (run_id, rows[0][1]))
                self._insert(conn, run_id, rows)
            if snapshot is not None:
                seq, data = snapshot
                conn.execute(UPSERT_SNAPSHOT, (run_id, seq, data, checksum(data)))

    def _insert(self, conn: psycopg.Connection[Any], run_id: str, rows: Sequence[EntryRow]) -> None:
        if not rows:
            return
        seqs, ats, datas, crcs = zip(*rows, strict=True)
        params: dict[str, object] = {"run": run_id, "channel": self._channel}
        params.update(seq=list(seqs), at=list(ats), data=list(datas), crc=list(crcs))
        conn.execute(INSERT_ENTRIES, params)

    @contextmanager
    def _unique_as_conflict(self, run_id: str, rows: Sequence[EntryRow]) -> Iterator[None]:
        """A duplicate (run, seq): another writer got there first, past every check."""
        try:
            yield
        except psycopg.errors.UniqueViolation as exc:
            got = rows[0][0] if rows else 0
            raise SeqConflictError(run_id, self.last_seq(run_id) + 1, got) from exc

    def import_rows(self, run_id: str, rows: Sequence[EntryRow]) -> None:
        """See ``JournalStore.import_rows``."""
        check_dense(run_id, rows, 1)
        if not rows:
            return
        try:
            with self._errors(), self._write() as conn:
                # The runs row is the claim on the run: a concurrent import waits for it.
                if conn.execute(INSERT_RUN, (run_id, rows[0][1])).rowcount == 0:
                    raise RunExistsError(run_id)
                self._insert(conn, run_id, rows)
        except StoreError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise RunExistsError(run_id) from exc  # a writer began it meanwhile
            raise

    def last_seq(self, run_id: str) -> int:
        """See ``JournalStore.last_seq``."""
        with self._errors():
            row = (
                self._conn()
                .execute("SELECT max(seq) FROM playbill_entries WHERE run_id = %s", (run_id,))
                .fetchone()
            )
        return int(row[0]) if row is not None and row[0] is not None else 0

    def read_rows(self, run_id: str, start: int, stop: int | None) -> list[StoredRow]:
        """See ``JournalStore.read_rows``."""
        query = "SELECT seq, data, crc FROM playbill_entries WHERE run_id = %s AND seq >= %s"
        params: tuple[object, ...] = (run_id, start)
        if stop is not None:
            query += " AND seq < %s"
            params = (run_id, start, stop)
        with self._errors():
            # Binary results: the entry bytes come as they are, not hex-encoded.
            cursor = self._conn().cursor(binary=True)
            with cursor:
                return [
                    (int(seq), bytes(data), int(crc))
                    for seq, data, crc in cursor.execute(query + " ORDER BY seq", params)
                ]

    def run_info(self, run_id: str) -> RunInfo | None:
        """See ``JournalStore.run_info``."""
        with self._errors():
            row = self._conn().execute(LIST_RUNS + " WHERE run_id = %s", (run_id,)).fetchone()
        if row is None or row[2] is None:
            return None
        return RunInfo(run_id=row[0], first_us=row[1], last_seq=row[2], last_us=row[3])

    def list_runs(self) -> list[RunInfo]:
        """See ``JournalStore.list_runs``."""
        with self._errors():
            # COLLATE "C": ties sort by code point, as in the other stores.
            query = LIST_RUNS + ' ORDER BY first_us, run_id COLLATE "C"'
            rows = self._conn().execute(query).fetchall()
        return [
            RunInfo(run_id=r[0], first_us=r[1], last_seq=r[2], last_us=r[3])
            for r in rows
            if r[2] is not None
        ]

    # -------------------------------------------------------------- leases

    def acquire_lease(self, run_id: str, holder: str, *, now: float, ttl_s: float) -> str:
        """See ``JournalStore.acquire_lease``."""
        token = secrets.token_hex(8)
        with self._errors(), self._write() as conn:
            # Each statement sees what committed before it (READ COMMITTED):
            # a lease released between the two is claimed afresh on the next turn.
            for _ in range(_ACQUIRE_TURNS):
                taken = conn.execute(
                    "INSERT INTO playbill_leases (run_id, holder, token, expires_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING",
                    (run_id, holder, token, now + ttl_s),
                ).rowcount
                if taken:
                    return token
                # Someone holds (or held) it: lock their row and judge it.
                row = conn.execute(
                    "SELECT holder, expires_at FROM playbill_leases WHERE run_id = %s FOR UPDATE",
                    (run_id,),
                ).fetchone()
                if row is None:
                    continue
                if row[1] > now and not holder_is_dead(row[0]):
                    raise WriterConflictError(run_id, row[0])
                conn.execute(
                    "UPDATE playbill_leases SET holder = %s, token = %s, expires_at = %s"
                    " WHERE run_id = %s",
                    (holder, token, now + ttl_s, run_id),
                )
                return token
        raise StoreError(f"{self.url}: the lease of run {run_id!r} changed hands too often")

    def renew_lease(self, run_id: str, token: str, *, now: float, ttl_s: float) -> None:
        """See ``JournalStore.renew_lease``."""
        with self._errors(), self._write() as conn:
            renewed = conn.execute(
                "UPDATE playbill_leases SET expires_at = %s WHERE run_id = %s AND token = %s",
                (now + ttl_s, run_id, token),
            ).rowcount
            if not renewed:
                row = conn.execute(
                    "SELECT holder FROM playbill_leases WHERE run_id = %s", (run_id,)
                ).fetchone()
                raise LeaseLostError(run_id, str(row[0]) if row is not None else "nobody")

    def release_lease(self, run_id: str, token: str) -> None:
        """See ``JournalStore.release_lease``."""
        with self._errors():
            self._conn().execute(
                "DELETE FROM playbill_leases WHERE run_id = %s AND token = %s", (run_id, token)
            )

    # ---------------------------------------------------- control requests

    def post_request(self, run_id: str, body: bytes, *, now_us: int) -> int:
        """See ``JournalStore.post_request``."""
        with self._errors(), self._write() as conn:
            # Serialised, so that no id becomes visible before a smaller one
            # (a reader past id n would never see n - 1 arrive later).
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_REQUESTS_LOCK,))
            row = conn.execute(
                "INSERT INTO playbill_requests (id, run_id, posted_us, body)"
                " SELECT coalesce(max(id), 0) + 1, %s, %s, %s FROM playbill_requests"
                " RETURNING id",
                (run_id, now_us, body),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def requests_after(self, run_id: str, after_id: int) -> list[tuple[int, bytes]]:
        """See ``JournalStore.requests_after``."""
        with self._errors():
            rows = (
                self._conn()
                .execute(
                    "SELECT id, body FROM playbill_requests WHERE run_id = %s AND id > %s"
                    " ORDER BY id",
                    (run_id, after_id),
                )
                .fetchall()
            )
        return [(int(row[0]), bytes(row[1])) for row in rows]

    # ----------------------------------------------------------- snapshots

    def save_snapshot(self, run_id: str, seq: int, data: bytes) -> None:
        """See ``JournalStore.save_snapshot``."""
        with self._errors():
            self._conn().execute(UPSERT_SNAPSHOT, (run_id, seq, data, checksum(data)))

    def load_snapshot(self, run_id: str, max_seq: int) -> SnapshotRow | None:
        """See ``JournalStore.load_snapshot``."""
        with self._errors():
            row = (
                self._conn()
                .execute(
                    "SELECT seq, data, crc FROM playbill_snapshots WHERE run_id = %s AND seq <= %s"
                    " ORDER BY seq DESC LIMIT 1",
                    (run_id, max_seq),
                )
                .fetchone()
            )
        return (int(row[0]), bytes(row[1]), int(row[2])) if row is not None else None

    # -------------------------------------------------------------- follow

    def subscribe(self, run_id: str) -> CommitFeed:
        """A ``LISTEN``ing connection of its own, woken by commits to the run.

        Raises:
            StoreError: The server cannot be reached.
        """
        feed = PostgresFeed(self._connect, self._channel, run_id)
        feed.listen()
        return feed

    # --------------------------------------------------------------- other

    def close(self) -> None:
        """Close every thread's connection. Idempotent."""
        self._closed = True
        with self._guard:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()
