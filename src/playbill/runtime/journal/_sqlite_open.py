"""Opening a SQLite journal file: refuse what cannot be one before SQLite touches it.

``connect`` checks that an existing file is a regular file starting with
SQLite's header, creates a new journal's directory, and opens the file
read-write, or read-only (``mode=ro``) for commands that only read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from ..model._errors import NotAJournalError, StoreError

_SQLITE_MAGIC = b"SQLite format 3\x00"

_NO_SHM = frozenset(
    {
        1544,  # SQLITE_READONLY_DIRECTORY: the -shm file cannot be created
        14,  # SQLITE_CANTOPEN
        sqlite3.SQLITE_READONLY,
    }
)
"""Errors of a ``mode=ro`` open that cannot make the WAL's shared-memory file."""


def connect(path: str, *, create: bool, read_only: bool = False) -> tuple[sqlite3.Connection, bool]:
    """Open the file, refusing what cannot be a journal before SQLite touches it.

    ``":memory:"`` opens a new in-memory database, as ``sqlite3`` does.

    Returns:
        The connection, and whether the file is new (did not exist before).
    """
    if path == ":memory:":  # SQLite's own in-memory database, not a file of that name
        return sqlite3.connect(path, isolation_level=None, cached_statements=256), True
    file = Path(path)
    try:
        exists = file.exists()
    except OSError as exc:  # a parent that is a file, a directory we cannot enter
        raise StoreError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    if exists:
        if not file.is_file():
            raise NotAJournalError(path, "not a regular file")
        try:
            with file.open("rb") as f:
                header = f.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise StoreError(f"{path}: cannot open: {exc.strerror or exc}") from exc
        if not header:
            raise NotAJournalError(path, "an empty file")
        if header != _SQLITE_MAGIC:
            raise NotAJournalError(path, "not a SQLite database")
    elif not create:
        raise NotAJournalError(path, "no such file")
    else:
        try:  # a new journal may live in a directory that does not exist yet
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create its directory: {exc}") from exc
    mode = "ro" if read_only else "rwc" if create else "rw"
    uri = f"file:{quote(file.absolute().as_posix())}?mode={mode}"
    try:
        # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves.
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, cached_statements=256)
        if read_only:
            conn = _readable(conn, uri)
        return conn, not exists
    except sqlite3.OperationalError as exc:  # permissions, I/O: not the file's fault
        raise StoreError(f"{path}: cannot open: {exc}") from exc
    except sqlite3.Error as exc:
        raise NotAJournalError(path, str(exc)) from exc


def _readable(conn: sqlite3.Connection, uri: str) -> sqlite3.Connection:
    """A read-only connection that can read, even where SQLite cannot create ``-shm``.

    A WAL journal whose directory is read-only (and has no ``-shm`` file
    left) cannot be opened ``mode=ro`` alone: SQLite would need to create
    the shared-memory file. Nobody can write such a journal either, so it is
    then read as immutable.
    """
    try:
        conn.execute("PRAGMA application_id").fetchone()
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode not in _NO_SHM:
            raise  # anything else (a lock, an I/O error) is reported, not read around
        conn.close()
        return sqlite3.connect(
            f"{uri}&immutable=1", uri=True, isolation_level=None, cached_statements=256
        )
    return conn
