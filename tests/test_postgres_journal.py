"""The PostgreSQL journal: the store conformance suite, and what only it does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from journal_conformance import Backend, JournalConformance
from pg_server import PgServer, drop_schema
from playbill.runtime import Journal, PostgresJournal
from playbill.runtime._entry import checksum


class PostgresBackend(Backend):
    """A fresh schema of the test server; every journal opened over it is closed at teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[Journal] = []

    def open(self, *, lease_clock: Callable[[], float] = time.time) -> Journal:
        journal = PostgresJournal(self.url, lease_clock=lease_clock)
        self.opened.append(journal)
        return journal

    def corrupt(
        self, run_id: str, seq: int, mutate: Callable[[bytes], bytes], *, fix_crc: bool = False
    ) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT data, crc FROM playbill_entries WHERE run_id = %s AND seq = %s",
                (run_id, seq),
            ).fetchone()
            assert row is not None
            damaged = mutate(bytes(row[0]))
            conn.execute(
                "UPDATE playbill_entries SET data = %s, crc = %s WHERE run_id = %s AND seq = %s",
                (damaged, checksum(damaged) if fix_crc else row[1], run_id, seq),
            )

    def close(self) -> None:
        for journal in self.opened:
            journal.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    url = pg_server.new_schema()
    yield url
    drop_schema(url)


class TestPostgresJournal(JournalConformance):
    @pytest.fixture
    def backend(self, pg_url: str) -> Iterator[Backend]:
        backend = PostgresBackend(pg_url)
        yield backend
        backend.close()
