"""The journal stores under property test, and how to damage what they hold."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from playbill.runtime import Journal, MemoryJournal, PostgresJournal, SqliteJournal
from playbill.runtime.journal._memory import MemoryStore

# The PostgreSQL test server helper lives with the tests (``tests/pg_server.py``);
# one server serves every example, started on first use, stopped at exit. It
# (and psycopg) is imported by the postgres store alone: without psycopg, its
# tests skip (fail under CI) and the others run.

STORE_KINDS = ("memory", "sqlite", "postgres")

STORE_PARAMS = [
    pytest.param(kind, marks=pytest.mark.postgres) if kind == "postgres" else kind
    for kind in STORE_KINDS
]
"""``STORE_KINDS`` for ``parametrize``, the PostgreSQL one marked ``postgres``."""

ENTRY_KEY = "key = ((SELECT id FROM runs WHERE run_id = ?) << 32) + ?"
"""Where a SQLite journal keeps a run's entry (its run's number << 32 | seq)."""


class StoreUnderTest:
    """Storage that outlives the journals opened over it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._memory = MemoryStore()
        self._dir = Path(tempfile.mkdtemp(prefix="playbill-prop-"))
        self.path = self._dir / "journal.db"
        # A schema of its own on the shared server (fails, or skips if asked, without one).
        self.url = ""
        if kind == "postgres":
            import pg_server

            self.url = pg_server.require_server().new_schema()
        self._opened: list[Journal] = []

    def open(self) -> Journal:
        if self.kind == "memory":
            return MemoryJournal(self._memory)
        journal = PostgresJournal(self.url) if self.kind == "postgres" else SqliteJournal(self.path)
        self._opened.append(journal)  # closed at cleanup, even by an example cut short
        return journal

    def damage(self, run_id: str, seq: int, mutate: Callable[[bytes], bytes]) -> bytes:
        """Replace the stored bytes of one entry (keeping its checksum); return the old bytes."""
        if self.kind == "memory":
            rows = self._memory._runs[run_id].rows
            data, crc = rows[seq - 1]
            rows[seq - 1] = (mutate(data), crc)
            return data
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as pg:
                row = pg.execute(
                    "SELECT data FROM playbill_entries WHERE run_id = %s AND seq = %s",
                    (run_id, seq),
                ).fetchone()
                assert row is not None
                old = bytes(row[0])
                pg.execute(
                    "UPDATE playbill_entries SET data = %s WHERE run_id = %s AND seq = %s",
                    (mutate(old), run_id, seq),
                )
            return old
        conn = sqlite3.connect(self.path)
        with conn:
            (data,) = conn.execute(
                f"SELECT data FROM entries WHERE {ENTRY_KEY}", (run_id, seq)
            ).fetchone()
            conn.execute(
                f"UPDATE entries SET data = ? WHERE {ENTRY_KEY}",
                (mutate(data), run_id, seq),
            )
        conn.close()
        return bytes(data)

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
        for journal in self._opened:
            journal.close()
        if self.url:
            import pg_server

            pg_server.drop_schema(self.url)
