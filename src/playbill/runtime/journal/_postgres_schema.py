"""The PostgreSQL journal's schema: its versions, and the migrations between them.

The schema lives in the connection's current schema (the first of its
``search_path``), in tables prefixed ``playbill_``. ``playbill_schema_version``
keeps one row per migration applied; the highest is the schema's version.
Migrations are an ordered list, applied in one transaction under an advisory
lock, so hosts that migrate at once do it once. A new, empty database gets the
whole list when a journal is opened with ``create=True``; an older schema is
upgraded only by ``migrate`` (``playbill migrate``), deliberately; a newer one
is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, final
from urllib.parse import urlsplit, urlunsplit

import attrs

from ..model._errors import NotAJournalError

if TYPE_CHECKING:  # only annotations: importing this module needs no psycopg
    import psycopg

_MIGRATE_LOCK = 0x706C6231_0000_0001
"""Advisory lock key held while migrating (``plb1``, 1)."""


@final
@attrs.frozen
class Migration:
    """One step of the schema.

    Attributes:
        version: The schema version after it (1, 2, 3...).
        description: What it does, kept in ``playbill_schema_version``.
        statements: SQL, run in order in the migration's transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "runs, entries, leases, snapshots and control requests",
        (
            """CREATE TABLE playbill_runs (
                run_id text PRIMARY KEY,
                first_us bigint NOT NULL
            )""",
            """CREATE TABLE playbill_entries (
                run_id text NOT NULL,
                seq bigint NOT NULL,
                at_us bigint NOT NULL,
                data bytea NOT NULL,
                crc bigint NOT NULL,
                PRIMARY KEY (run_id, seq)
            )""",
            """CREATE TABLE playbill_leases (
                run_id text PRIMARY KEY,
                holder text NOT NULL,
                token text NOT NULL,
                expires_at double precision NOT NULL
            )""",
            """CREATE TABLE playbill_snapshots (
                run_id text NOT NULL,
                seq bigint NOT NULL,
                data bytea NOT NULL,
                crc bigint NOT NULL,
                PRIMARY KEY (run_id, seq)
            )""",
            """CREATE TABLE playbill_requests (
                id bigint PRIMARY KEY,
                run_id text NOT NULL,
                posted_us bigint NOT NULL,
                body bytea NOT NULL
            )""",
            "CREATE INDEX playbill_requests_by_run ON playbill_requests (run_id, id)",
        ),
    ),
)
"""Every migration, in order. Append only: a released migration never changes."""

SCHEMA_VERSION = MIGRATIONS[-1].version
"""The schema version this code reads and writes."""

# The statements of the store over the schema above (they change with it).

LIST_RUNS = """
SELECT run_id, first_us,
    (SELECT max(seq) FROM playbill_entries AS e WHERE e.run_id = r.run_id),
    (SELECT at_us FROM playbill_entries AS e WHERE e.run_id = r.run_id
        ORDER BY seq DESC LIMIT 1)
FROM playbill_runs AS r
"""
"""Every run with its first time, last seq and last time (add WHERE / ORDER BY)."""

COMMIT_CHECKS = """
SELECT l.token, l.holder, (SELECT max(seq) FROM playbill_entries WHERE run_id = %(run)s)
FROM playbill_leases AS l WHERE l.run_id = %(run)s FOR UPDATE OF l
"""
"""A commit's checks: the lease's token and holder, and the run's last seq.

The lease row stays locked until the commit ends: a takeover waits for it.
"""

INSERT_ENTRIES = """
WITH inserted AS (
    INSERT INTO playbill_entries (run_id, seq, at_us, data, crc)
    SELECT %(run)s, s, a, d, c
    FROM unnest(%(seq)s::bigint[], %(at)s::bigint[], %(data)s::bytea[], %(crc)s::bigint[])
        AS t (s, a, d, c)
    RETURNING 1
)
SELECT pg_notify(%(channel)s, %(run)s) WHERE EXISTS (SELECT FROM inserted)
"""
"""A batch of rows, as arrays, and its notification, in one statement (one round trip).

The server sends the notification when the transaction commits, never before.
"""

INSERT_RUN = (
    "INSERT INTO playbill_runs (run_id, first_us) VALUES (%s, %s) ON CONFLICT (run_id) DO NOTHING"
)
"""A run's row, with its first entry; inserting nothing if it exists."""

UPSERT_SNAPSHOT = """
INSERT INTO playbill_snapshots (run_id, seq, data, crc) VALUES (%s, %s, %s, %s)
ON CONFLICT (run_id, seq) DO UPDATE SET data = excluded.data, crc = excluded.crc
"""
"""Store or replace a run's snapshot at a seq."""


_CREATE_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS playbill_schema_version (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class SchemaVersionError(NotAJournalError):
    """The database's journal schema is not the version this playbill uses.

    Attributes:
        path: The journal's URL (without its password).
        found: The schema version found (0: no journal schema at all).
        supported: The version this playbill reads and writes.
    """

    def __init__(self, path: str, found: int, supported: int) -> None:
        if found == 0:
            detail = f"no playbill schema; run `playbill migrate --journal {path}`"
        elif found < supported:
            detail = (
                f"schema version {found} is older than this playbill's ({supported});"
                f" run `playbill migrate --journal {path}`"
            )
        else:
            detail = (
                f"schema version {found} is newer than this playbill reads ({supported});"
                " upgrade playbill"
            )
        super().__init__(path, detail)
        self.found = found
        self.supported = supported


@final
@attrs.frozen
class SchemaMigration:
    """What ``migrate`` did.

    Attributes:
        journal: The journal's URL (without its password).
        from_version: The schema version before (0: none).
        to_version: The schema version after.
    """

    journal: str
    from_version: int
    to_version: int

    @property
    def changed(self) -> bool:
        """Whether any migration was applied."""
        return self.to_version != self.from_version


def redact_url(url: str) -> str:
    """The URL with its password, if any, replaced by ``***``: fit to show and keep."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://***"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def schema_version(conn: psycopg.Connection[Any]) -> int:
    """The journal schema's version in the connection's current schema; 0 for none."""
    row = conn.execute("SELECT to_regclass('playbill_schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT max(version) FROM playbill_schema_version").fetchone()
    return int(found[0]) if found is not None and found[0] is not None else 0


def channel_name(conn: psycopg.Connection[Any]) -> str:
    """The NOTIFY channel of the journal in the connection's current schema.

    Channels are per database, not per schema: the name is derived from the
    schema so that journals in different schemas do not wake each other.
    """
    row = conn.execute("SELECT current_schema()").fetchone()
    schema = str(row[0]) if row is not None and row[0] is not None else ""
    return "playbill_" + hashlib.sha256(schema.encode()).hexdigest()[:16]


def check_schema(
    conn: psycopg.Connection[Any],
    where: str,
    *,
    create: bool,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> None:
    """Make sure the journal schema is the version ``migrations`` ends at.

    An empty database gets every migration when ``create`` is true.

    Raises:
        SchemaVersionError: The schema is missing (and ``create`` is false),
            older or newer.
    """
    supported = migrations[-1].version
    found = schema_version(conn)
    if found == 0 and create:
        found = migrate(conn, where, migrations=migrations).to_version
    if found != supported:
        raise SchemaVersionError(where, found, supported)


def migrate(
    conn: psycopg.Connection[Any], where: str, *, migrations: Sequence[Migration] = MIGRATIONS
) -> SchemaMigration:
    """Apply the migrations the schema lacks, in order, in one transaction.

    Args:
        conn: A connection in autocommit mode.
        where: The journal's URL, for errors and the result.
        migrations: The ordered migrations (tests pass shorter lists).

    Raises:
        SchemaVersionError: The schema is newer than ``migrations``.
    """
    supported = migrations[-1].version
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
        conn.execute(_CREATE_VERSION_TABLE)
        found = schema_version(conn)
        if found > supported:
            raise SchemaVersionError(where, found, supported)
        for migration in migrations:
            if migration.version <= found:
                continue
            for statement in migration.statements:
                conn.execute(statement.encode())
            conn.execute(
                "INSERT INTO playbill_schema_version (version, description) VALUES (%s, %s)",
                (migration.version, migration.description),
            )
    return SchemaMigration(journal=where, from_version=found, to_version=supported)
