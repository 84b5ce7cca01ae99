"""Reading runs out of a journal: entries in chunks, and state at a seq.

``state_at`` is the one way the CLI loads a run's state (``Journal.state_at``,
falling back to a full fold, with a warning, when a snapshot is damaged).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from playbill.plans import ID_PATTERN
from playbill.runtime import (
    CorruptSnapshotError,
    Entry,
    InputError,
    Journal,
    NotAJournalError,
    RunState,
    StoreError,
    UnknownRunError,
    is_journal_url,
    open_journal,
)

RUN_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-', not starting with '.', '_' or '-'"
"""What a run id may be, as every command that takes a new one says it."""

READ_CHUNK = 2048
"""Entries read from the journal at once: bounds memory on long runs."""


@asynccontextmanager
async def opened_journal(
    target: Path | str, *, create: bool, read_only: bool = False
) -> AsyncIterator[Journal]:
    """Open the journal at ``target`` for the block, and close it after.

    Args:
        target: The journal file, ``:memory:``, or a database URL.
        create: Whether a missing file may be created. Read commands pass
            ``False``: they never leave an empty journal behind.
        read_only: Open a journal file read-only (``runs``, ``status``,
            ``events``, ``export``...): they work on a file they cannot write.

    Raises:
        NotAJournalError: The file is missing (``create=False``) or is not a
            journal.
    """
    local = str(target) != ":memory:" and not is_journal_url(target)
    if not create and local and not await _exists(target):
        raise NotAJournalError(
            str(target), "no such file (`playbill demo` or `playbill import FILE` creates one)"
        )
    journal = open_journal(str(target), create=create, read_only=read_only)
    async with journal:
        yield journal


def run_id_problem(run_id: str) -> str | None:
    """What is wrong with a new run id (``run``/``sim --run-id``, ``import``), if anything.

    Every command that creates or imports a run checks its id with this, so
    that no run id can hold a path, a newline or a terminal sequence.
    """
    if re.fullmatch(ID_PATTERN, run_id):
        return None
    shown = repr(run_id) if len(run_id) <= 80 else f"{run_id[:40]!r}... ({len(run_id)} characters)"
    return f"expected {RUN_ID_RULE}, got {shown}"


def check_run_id(run_id: str, where: str) -> str:
    """The run id, checked with ``run_id_problem``.

    Raises:
        InputError: The id is not a valid run id; ``where`` names the option or file.
    """
    problem = run_id_problem(run_id)
    if problem is not None:
        raise InputError(where, "", problem)
    return run_id


async def _exists(target: Path | str) -> bool:
    try:
        return await trio.Path(target).exists()
    except OSError as exc:  # a parent that is a file, a directory we cannot enter
        raise StoreError(f"{target}: cannot open: {exc.strerror or exc}") from exc


async def make_journal_dir(target: Path | str) -> None:
    """Create the directory of a journal file about to be written, if missing."""
    if str(target) != ":memory:" and not is_journal_url(target):
        try:
            await trio.Path(target).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            detail = f"cannot create its directory: {exc.strerror or exc}"
            raise StoreError(f"{target}: {detail}") from exc


async def require_run(journal: Journal, run_id: str, where: Path | str) -> int:
    """The run's last seq.

    Raises:
        UnknownRunError: The journal has no entry of the run.
    """
    last = await journal.last_seq(run_id)
    if last == 0:
        raise UnknownRunError(run_id, str(where))
    return last


async def read_chunks(
    journal: Journal, run_id: str, start: int = 1, stop: int | None = None
) -> AsyncIterator[list[Entry]]:
    """The run's entries ``start <= seq < stop`` (to its current end if None), in chunks.

    Raises:
        CorruptEntryError: A stored entry is damaged or missing.
    """
    end = await journal.last_seq(run_id) + 1
    if stop is not None:
        end = min(end, stop)
    while start < end:
        chunk = await journal.read(run_id, start, min(start + READ_CHUNK, end))
        if not chunk:
            return
        yield chunk
        start = chunk[-1].seq + 1


async def state_at(
    journal: Journal,
    run_id: str,
    seq: int,
    *,
    snapshots: bool = True,
    warn: Callable[[str], None] | None = None,
) -> RunState:
    """The run's state after entry ``seq``.

    Args:
        journal: The journal.
        run_id: The run.
        seq: The last entry to fold in.
        snapshots: Start from the latest snapshot at or below ``seq``; with
            ``False``, fold every entry from seq 1 (the checker's way).
        warn: Told, in one line, when a damaged snapshot is ignored and the
            state is rebuilt from the entries instead. Never silent: without
            ``warn`` a damaged snapshot raises.

    Raises:
        CorruptEntryError: A stored entry is damaged or missing.
        CorruptSnapshotError: A snapshot is damaged and ``warn`` is None.
    """
    try:
        return await journal.state_at(run_id, seq, snapshots=snapshots)
    except CorruptSnapshotError as error:
        if warn is None:
            raise
        warn(f"{error}; folding the run from seq 1 instead")
    return await journal.state_at(run_id, seq, snapshots=False)
