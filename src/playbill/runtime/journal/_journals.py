"""The journals people open: in one SQLite file, in PostgreSQL, in memory, or by name.

``SqliteJournal``, ``PostgresJournal`` and ``MemoryJournal`` are ``Journal``s
over the store of that name; ``open_journal`` picks one from a target (a
path, a ``postgresql://`` URL, or ``:memory:``). PostgreSQL needs the
``postgres`` extra (psycopg), imported only when such a journal is opened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, final

import attrs

from ..model._errors import JournalError, StoreError
from ._journal import Journal
from ._memory import MemoryStore
from ._sqlite import SqliteStore
from ._sqlite_migrate import migrate_sqlite

if TYPE_CHECKING:
    from ._postgres_schema import SchemaMigration
    from ._store import JournalStore

URL_SCHEMES = ("postgresql", "postgres")
"""The URL schemes of PostgreSQL journals (as libpq spells them)."""


@final
@attrs.define(eq=False, init=False)
class SqliteJournal(Journal):
    """A journal in one SQLite file (WAL mode): the embedded default.

    Args:
        path: The file. Many runs share one file.
        create: Create the file if missing; read-only tools pass False.
        synchronous: ``"NORMAL"`` survives process crashes, ``"FULL"`` power
            loss too (see ``SqliteStore``).
        lease_clock: Seconds since the epoch for write leases.
        read_only: Open the file read-only (read commands): see ``SqliteStore``.

    Raises:
        NotAJournalError: The file is not a playbill journal.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        lease_clock: Callable[[], float] = time.time,
        read_only: bool = False,
    ) -> None:
        store = SqliteStore(path, create=create, synchronous=synchronous, read_only=read_only)
        self.__attrs_init__(store, lease_clock)


@final
@attrs.define(eq=False, init=False)
class MemoryJournal(Journal):
    """A journal in memory, for tests and simulation.

    Args:
        store: The store to open; a new, empty one by default. Pass the
            store of a closed journal to "reopen" it.
        lease_clock: Seconds since the epoch for write leases.
    """

    def __init__(
        self, store: MemoryStore | None = None, *, lease_clock: Callable[[], float] = time.time
    ) -> None:
        self.__attrs_init__(store if store is not None else MemoryStore(), lease_clock)


@final
@attrs.define(eq=False, init=False)
class PostgresJournal(Journal):
    """A journal in a PostgreSQL database, shared by processes on many hosts.

    Args:
        url: A libpq URL, ``postgresql://user@host:5432/dbname``; the
            journal's tables live in the connection's current schema (set
            ``?options=-csearch_path%3Dname`` for another). Keep passwords
            out of it (``PGPASSWORD``, ``~/.pgpass``).
        create: Install the schema in a database without one; read-only
            tools pass False. An older schema is never upgraded here: run
            ``playbill migrate`` (``migrate_journal``).
        lease_clock: Seconds since the epoch for write leases; the hosts'
            clocks must agree (NTP) to well within the lease's time to live.

    Raises:
        SchemaVersionError: The schema is missing (``create`` false), older
            or newer than this playbill's.
        StoreError: The server cannot be reached, or psycopg is missing.
    """

    def __init__(
        self, url: str, *, create: bool = True, lease_clock: Callable[[], float] = time.time
    ) -> None:
        self.__attrs_init__(_postgres_store(url, create=create), lease_clock)


def _postgres_store(url: str, *, create: bool) -> JournalStore:
    try:
        from ._postgres import PostgresStore
    except ImportError as exc:  # the optional extra is not installed
        raise StoreError(
            f"PostgreSQL journals need psycopg: pip install 'playbill[postgres]' ({exc})"
        ) from exc
    return PostgresStore(url, create=create)


def is_journal_url(target: str | Path) -> bool:
    """Whether a journal target is a database URL rather than a file path."""
    if not isinstance(target, str):
        return False
    scheme, sep, _ = target.partition("://")
    return bool(sep) and scheme.isidentifier()


def migrate_journal(url: str | Path) -> SchemaMigration:
    """Create or upgrade a journal's schema to this playbill's version.

    A PostgreSQL URL gets the migrations its database lacks: idempotent;
    hosts that migrate at once do it once (an advisory lock). A SQLite file
    is upgraded in place, in one transaction (see ``migrate_sqlite``), or
    created when missing.

    Raises:
        SchemaVersionError: The schema is newer than this playbill's.
        StoreError: The server cannot be reached, or psycopg is missing.
        NotAJournalError: The file is not a playbill journal.
        JournalError: The URL is not a PostgreSQL one.
    """
    if not is_journal_url(url):
        return migrate_sqlite(url)
    url = str(url)
    if url.partition("://")[0] not in URL_SCHEMES:
        raise JournalError(f"{url}: migrate takes a postgresql:// URL")
    try:
        import psycopg

        from ._postgres_schema import migrate, redact_url
    except ImportError as exc:
        raise StoreError(
            f"PostgreSQL journals need psycopg: pip install 'playbill[postgres]' ({exc})"
        ) from exc
    where = redact_url(url)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            return migrate(conn, where)
    except psycopg.Error as exc:
        raise StoreError(f"{where}: {str(exc).strip().splitlines()[0]}") from exc


def open_journal(target: str | Path, *, create: bool = True, read_only: bool = False) -> Journal:
    """Open the journal a target names.

    Args:
        target: ``":memory:"`` for a new in-memory journal, a
            ``postgresql://`` URL, or the path of a SQLite journal file.
        create: Create a missing SQLite file, or a missing PostgreSQL schema
            (read-only tools pass False).
        read_only: Open a SQLite file read-only (SQLite ``mode=ro``), so
            that reading works on a file or directory the user cannot write;
            a database URL is opened as usual (its role decides).

    Raises:
        NotAJournalError: The file (or database) is not a playbill journal
            (``SchemaVersionError`` for a database whose schema needs ``migrate``).
        JournalError: The target names a kind of store playbill lacks.
        StoreError: The database cannot be reached.
    """
    if isinstance(target, str):
        if target == ":memory:":
            return MemoryJournal()
        if is_journal_url(target):
            scheme = target.partition("://")[0]
            if scheme in URL_SCHEMES:
                return PostgresJournal(target, create=create)
            raise JournalError(f"{target}: no journal store for {scheme}:// URLs")
    return SqliteJournal(target, create=create and not read_only, read_only=read_only)
