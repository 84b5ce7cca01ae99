"""Fixtures shared by the test files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pg_server import PgServer, require_server, stop_shared_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server on loopback for the whole session (see ``pg_server.py``)."""
    yield require_server()
    stop_shared_server()
