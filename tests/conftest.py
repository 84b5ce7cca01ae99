"""Fixtures shared by the test files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from needs import mark_heavy

if TYPE_CHECKING:
    from pg_server import PgServer

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_heavy(item for item in items if item.path.is_relative_to(HERE))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server on loopback for the whole session (see ``pg_server.py``).

    psycopg is imported here, not with the suite: without it the PostgreSQL
    tests skip (fail under CI, see ``needs.py``) and the others still run.
    """
    from pg_server import require_server, stop_shared_server

    yield require_server()
    stop_shared_server()


@pytest.fixture(scope="session", autouse=True)
def worktrees_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the worktrees of real runs out of the user's data directory.

    Runs make their worktrees under ``$XDG_DATA_HOME/playbill/worktrees``, one
    directory per repository; the session (and every process it starts) gets
    a data directory of its own.
    """
    data = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(data))
        yield data
