"""The journals people open: in one SQLite file, in memory, or by name.

``SqliteJournal`` and ``MemoryJournal`` are ``Journal``s over the store of
that name; ``open_journal`` picks one from a target (a path, or ``:memory:``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal, final

import attrs

from ._errors import JournalError
from ._journal import Journal
from ._memory import MemoryStore
from ._sqlite import SqliteStore


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
    ) -> None:
        self.__attrs_init__(SqliteStore(path, create=create, synchronous=synchronous), lease_clock)


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


def open_journal(target: str | Path, *, create: bool = True) -> Journal:
    """Open the journal a target names.

    Args:
        target: ``":memory:"`` for a new in-memory journal, or the path of a
            SQLite journal file.
        create: Create a missing SQLite file (read-only tools pass False).

    Raises:
        NotAJournalError: The file is not a playbill journal.
        JournalError: The target names a kind of store playbill lacks.
    """
    if isinstance(target, str):
        if target == ":memory:":
            return MemoryJournal()
        scheme, sep, _ = target.partition("://")
        if sep and scheme.isidentifier():
            raise JournalError(f"{target}: no journal store for {scheme}:// URLs")
    return SqliteJournal(target, create=create)
