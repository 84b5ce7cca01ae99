"""The PostgreSQL journal: the store conformance suite, and what only it does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import aclosing
from pathlib import Path

import pytest
import trio
import trio.testing
from click.testing import CliRunner, Result

from journal_conformance import Backend, JournalConformance, notes
from needs import need
from pg_server import PgServer, drop_schema
from playbill.cli import cli
from playbill.runtime import (
    Journal,
    NotAJournalError,
    PostgresJournal,
    SchemaVersionError,
    StoreError,
    migrate_journal,
    open_journal,
)
from playbill.runtime.journal._postgres_schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Migration,
    check_schema,
    migrate,
    redact_url,
)
from playbill.runtime.model._entry import checksum

psycopg = need("psycopg")
pytestmark = pytest.mark.postgres


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


# ------------------------------------------------------------------ schema


def test_an_empty_database_is_refused_without_create_and_says_to_migrate(pg_url: str) -> None:
    with pytest.raises(SchemaVersionError) as info:
        PostgresJournal(pg_url, create=False)
    assert (info.value.found, info.value.supported) == (0, SCHEMA_VERSION)
    assert "playbill migrate --journal" in str(info.value)
    with pytest.raises(NotAJournalError):  # the CLI reports it like a foreign file
        open_journal(pg_url, create=False)
    journal = open_journal(pg_url)  # create: the schema is installed
    assert isinstance(journal, PostgresJournal)
    journal.close()
    PostgresJournal(pg_url, create=False).close()


def test_migrate_creates_then_upgrades_in_order_and_older_schemas_are_refused(
    pg_url: str,
) -> None:
    later = Migration(2, "a column", ("ALTER TABLE playbill_runs ADD COLUMN note text",))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        first = migrate(conn, "db", migrations=MIGRATIONS)
        assert (first.from_version, first.to_version, first.changed) == (0, SCHEMA_VERSION, True)
        with pytest.raises(SchemaVersionError) as info:  # code that knows version 2
            check_schema(conn, "db", create=True, migrations=(*MIGRATIONS, later))
        assert (info.value.found, info.value.supported) == (1, 2)
        assert "older" in info.value.detail and "playbill migrate" in info.value.detail
        second = migrate(conn, "db", migrations=(*MIGRATIONS, later))
        assert (second.from_version, second.to_version) == (1, 2)
        check_schema(conn, "db", create=False, migrations=(*MIGRATIONS, later))
        again = migrate(conn, "db", migrations=(*MIGRATIONS, later))
        assert not again.changed
        versions = conn.execute("SELECT version FROM playbill_schema_version ORDER BY 1")
        assert [v for (v,) in versions] == [1, 2]
    # This playbill (version 1) refuses the newer schema, and will not "migrate" it down.
    with pytest.raises(SchemaVersionError, match="newer") as newer:
        PostgresJournal(pg_url)
    assert newer.value.found == 2
    with pytest.raises(SchemaVersionError):
        migrate_journal(pg_url)


def test_migrate_journal_reports_and_is_idempotent(pg_url: str) -> None:
    assert migrate_journal(pg_url).changed
    done = migrate_journal(pg_url)
    assert (done.from_version, done.to_version, done.changed) == (1, 1, False)


def test_passwords_never_show_in_errors() -> None:
    url = "postgresql://bob:s3cret@127.0.0.1:1/db"
    assert redact_url(url) == "postgresql://bob:***@127.0.0.1:1/db"
    with pytest.raises(StoreError) as info:
        PostgresJournal(url)
    assert "s3cret" not in str(info.value)
    assert "bob:***@127.0.0.1:1/db" in str(info.value)


def test_journals_in_two_schemas_of_one_database_are_apart(pg_server: PgServer) -> None:
    urls = [pg_server.new_schema(), pg_server.new_schema()]

    async def main() -> None:
        for n, url in enumerate(urls, 1):
            with PostgresJournal(url) as journal:
                async with journal.writer("run-a") as w:
                    await w.append(notes(n))
        for n, url in enumerate(urls, 1):
            with PostgresJournal(url, create=False) as journal:
                assert await journal.last_seq("run-a") == n

    try:
        trio.run(main)
    finally:
        for url in urls:
            drop_schema(url)


# ------------------------------------------------------------------ follow


async def test_follow_hears_another_journal_through_notify_without_polling(pg_url: str) -> None:
    reader, writer = PostgresJournal(pg_url), PostgresJournal(pg_url)
    got: list[int] = []

    async def follower() -> None:
        async with aclosing(reader.follow("run-a", poll_interval_s=3600)) as entries:
            async for entry in entries:
                got.append(entry.seq)
                if entry.seq == 6:
                    return

    with reader, writer, trio.fail_after(30):  # a hang guard: a poll would take an hour
        async with trio.open_nursery() as nursery:
            nursery.start_soon(follower)
            async with writer.writer("run-a") as w:
                for n in (1, 2, 3):
                    await trio.testing.wait_all_tasks_blocked()
                    await w.append(notes(n))
    assert got == [1, 2, 3, 4, 5, 6]


async def test_a_follower_whose_connection_drops_listens_again(pg_url: str) -> None:
    reader, writer = PostgresJournal(pg_url), PostgresJournal(pg_url)
    got: list[int] = []
    first = trio.Event()

    async def follower() -> None:
        async with aclosing(reader.follow("run-a", poll_interval_s=3600)) as entries:
            async for entry in entries:
                got.append(entry.seq)
                first.set()
                if entry.seq == 2:
                    return

    with reader, writer, trio.fail_after(30):  # a hang guard: a poll would take an hour
        async with trio.open_nursery() as nursery:
            nursery.start_soon(follower)
            async with writer.writer("run-a") as w:
                await w.append(notes(1))
                await first.wait()
                with psycopg.connect(pg_url, autocommit=True) as admin:
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                    )
                await w.append(notes(1))
    assert got == [1, 2]


# --------------------------------------------------------------------- CLI


def test_the_cli_takes_a_url_and_migrate_says_what_it_did(pg_url: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def playbill(*args: str) -> Result:
        return runner.invoke(cli, ["--journal", pg_url, *args])

    refused = playbill("runs")
    assert refused.exit_code == 2
    assert "no playbill schema; run `playbill migrate --journal" in refused.output
    assert "Traceback" not in refused.output
    first = playbill("migrate")
    assert first.exit_code == 0, first.output
    assert "from schema version 0 to 1." in first.output
    again = playbill("migrate")
    assert "is at schema version 1; nothing to do." in again.output
    assert playbill("runs").exit_code == 0
    assert not list(tmp_path.iterdir())  # a URL is never taken for a file to create

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        sqlite = runner.invoke(cli, ["--journal", "j.db", "migrate"])
    assert sqlite.exit_code == 0, sqlite.output
    assert "a SQLite journal; its schema is current" in sqlite.output


def test_the_cli_never_shows_a_password() -> None:
    url = "postgresql://bob:s3cret@127.0.0.1:1/db"
    result = CliRunner().invoke(cli, ["--journal", url, "migrate"])
    assert result.exit_code == 2
    assert "bob:***@127.0.0.1:1/db" in result.output
    assert "s3cret" not in result.output
