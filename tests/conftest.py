"""Fixtures shared by the test files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from isolation import worktrees_in_tmp  # noqa: F401 (the fixture, registered here)
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
