"""One batch of the writer: stamping, encoding, decoding back, folding.

The flusher takes every pending append at once; these functions turn them
into the rows of one transaction. An append that cannot be stored (a value
that does not encode, or does not decode back) fails alone, at once: the
others go on without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import final

import attrs
import outcome
import trio

from ..logic._reactions import Reactor, react
from ..logic._reducer import evolve
from ..model._entry import (
    Draft,
    Entry,
    EntryRow,
    checksum,
    decode_entries,
    decode_entry,
    encode_entry,
)
from ..model._errors import InvalidEntryError
from ..model._state import RunState, encode_state

Done = list[tuple["Append", list[Entry]]]
"""The appends of a batch that will be committed, each with its entries."""


@final
@attrs.define(eq=False, slots=True)
class Append:
    """One pending call to ``JournalWriter.append``."""

    drafts: Sequence[Draft]
    task: trio.lowlevel.Task
    settled: bool = False  # cancelled, or its task already woken with an error
    taken: bool = False  # in a batch being committed

    def fail(self, error: BaseException) -> None:
        """Wake the appender with an error; it is no longer part of the batch."""
        self.settled = True
        trio.lowlevel.reschedule(self.task, outcome.Error(error))


def stamp(
    run_id: str, batch: Iterable[Append], last_seq: int, at_us: int
) -> tuple[list[EntryRow], Done]:
    """Stamp and encode the batch; fail (and settle) the appends that cannot be stored.

    Returns the rows, and each remaining append with its entries as decoded
    back from their bytes.
    """
    rows: list[EntryRow] = []
    add_row = rows.append
    done: Done = []
    seq = last_seq
    for request in batch:
        if request.settled:  # cancelled while it waited
            continue
        request.taken = True
        start = len(rows)
        first = seq
        entries: list[Entry] = []
        add_entry = entries.append
        try:
            for draft in request.drafts:
                seq += 1
                entry = draft.stamp(run_id, seq, at_us)
                data = encode_entry(entry)
                add_row((seq, at_us, data, checksum(data)))
                add_entry(entry)
        except Exception as exc:  # not a Draft, or not encodable
            del rows[start:]
            seq = first
            request.fail(InvalidEntryError(run_id, f"{type(exc).__name__}: {exc}"))
            continue
        done.append((request, entries))
    if not rows:
        return rows, done
    decoded = _decode_back(run_id, rows, done)
    if decoded is None:
        return stamp(run_id, [request for request, _ in done], last_seq, at_us)
    # Hand back the entries as decoded from their bytes, not as built: a
    # value built in Python may differ from its decoded form (an int in a
    # float field), and every actor must see exactly what a replay sees.
    canonical: Done = []
    start = 0
    for request, entries in done:
        canonical.append((request, decoded[start : start + len(entries)]))
        start += len(entries)
    return rows, canonical


def _decode_back(run_id: str, rows: list[EntryRow], done: Done) -> list[Entry] | None:
    """The batch decoded back; None after failing the appends that do not decode."""
    try:
        return decode_entries([row[2] for row in rows])
    except Exception:  # find the culprits, one append at a time
        pass
    culprits = 0
    for request, entries in done:
        for index, entry in enumerate(entries):
            try:
                decode_entry(encode_entry(entry))
            except Exception as exc:
                request.fail(InvalidEntryError(run_id, f"draft {index} of the append: {exc}"))
                culprits += 1
                break
    if not culprits:
        raise InvalidEntryError(run_id, "the batch does not decode back")
    return None


def fold_batch(
    state: RunState | None, done: Done, snapshot_every: int | None
) -> tuple[RunState | None, tuple[int, bytes] | None]:
    """The state after the batch, and the snapshot to store with it, if any."""
    if state is None or snapshot_every is None:
        return state, None
    snap: tuple[int, RunState] | None = None
    for _, entries in done:
        for entry in entries:
            state = evolve(state, entry)
            if entry.seq % snapshot_every == 0:
                snap = (entry.seq, state)
    if snap is None:
        return state, None
    return state, (snap[0], encode_state(snap[1]))


def react_batch(
    run_id: str,
    state: RunState,
    done: Done,
    rows: list[EntryRow],
    *,
    at_us: int,
    reactor: Reactor,
    snapshot_every: int | None,
    max_reactions: int,
) -> tuple[list[EntryRow], Done, list[Entry], RunState, tuple[int, bytes] | None, int]:
    """The batch with the reactor's reactions stamped in (see ``_reactions``).

    Returns the rows, the appends with their final entries, every entry in
    seq order, the state after the batch, the snapshot and the number of
    reactions.
    """
    reacted = react(
        run_id,
        state,
        done,
        rows,
        at_us=at_us,
        reactor=reactor,
        snapshot_every=snapshot_every,
        max_reactions=max_reactions,
    )
    snap = reacted.snapshot
    snapshot = None if snap is None else (snap[0], encode_state(snap[1]))
    return reacted.rows, reacted.done, reacted.entries, reacted.state, snapshot, reacted.reactions
