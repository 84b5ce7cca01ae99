"""A commit feed from PostgreSQL: a connection that ``LISTEN``s on the journal's channel.

``PostgresStore.subscribe`` makes one per follower. Commits ``NOTIFY`` the
channel with their run id as the payload; the server delivers it when the
transaction commits, never before. A lost connection is re-established, and
reported as a possible commit so that the follower reads what it missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, final

import attrs
import psycopg

from ..model._errors import StoreError
from ._store import CommitFeed


@final
@attrs.define(eq=False)
class PostgresFeed(CommitFeed):
    """Commits to one run, heard on a ``LISTEN``ing connection (see ``CommitFeed``)."""

    _connect: Callable[[], psycopg.Connection[Any]]
    _channel: str
    _run_id: str
    _conn: psycopg.Connection[Any] | None = attrs.field(default=None, init=False)

    def listen(self) -> None:
        """(Re)connect and ``LISTEN`` on the journal's channel."""
        self.close()
        conn: psycopg.Connection[Any] = self._connect()
        try:
            conn.execute(f'LISTEN "{self._channel}"')
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"LISTEN failed: {first_line(exc)}") from exc
        self._conn = conn

    def fileno(self) -> int:
        """See ``CommitFeed.fileno``."""
        if self._conn is None:
            raise StoreError("the commit feed is closed")
        return self._conn.fileno()

    def drain(self) -> bool:
        """See ``CommitFeed.drain``."""
        if self._conn is None:
            raise StoreError("the commit feed is closed")
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.Error:
            self.listen()  # lost: listen again, and have the follower read what it missed
            return True
        ours = False
        run = self._run_id.encode()
        while (note := pgconn.notifies()) is not None:
            ours = ours or note.extra == run
        return ours

    def close(self) -> None:
        """See ``CommitFeed.close``."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def first_line(exc: BaseException) -> str:
    """The first line of an error's message: libpq's carry details on more lines."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
