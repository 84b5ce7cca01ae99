"""The writer's reactor: pure reactions stamped into the batch that caused them.

A reactor is a pure function ``reactor(state, entry) -> drafts``: the state is
the run's state folded up to and including ``entry``. The writer calls it on
every entry of a batch, in seq order, inside the flush, and stamps the drafts
it returns as the next entries of the same batch (same transaction, same
``at_us``). Those are folded and reacted to in turn. This is how the
supervisor's policy runs: its commands are committed with their cause, and
when it reacts to an entry, every command it issued for an earlier entry is
already folded into the state it sees.

Order, precisely. Each appended entry is followed at once by its whole
cascade, breadth first: the reactions to it, then the reactions to those, and
so on, before the appender's next entry. Within a cascade the entries are
folded and reacted to in seq order, so the reactor sees exactly the state a
replay that folds the journal in seq order sees. One consequence: the drafts
returned by one call are all stamped before the first of them is reacted to,
so when the reactor reacts to the first, its siblings are not folded yet.

One appended entry is dropped rather than committed: a ``timer_fired`` whose
timer a reaction cancelled while the firing waited for the writer (see
``_stale``).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Generic, TypeAlias, TypeVar, final

import attrs
from msgspec.structs import replace

from ..model._entry import Draft, Entry, EntryRow, checksum, decode_entries, encode_entry
from ..model._errors import ReactionLimitError, ReactorError
from ..model._messages import TimerFired
from ..model._state import RunState
from ._reducer import evolve

Reactor: TypeAlias = Callable[[RunState, Entry], Sequence[Draft]]
"""``reactor(state_after_entry, entry) -> drafts``: pure, see ``Journal.writer``."""

R = TypeVar("R")


@final
@attrs.define(eq=False, slots=True)
class Reacted(Generic[R]):
    """A batch with its reactions: everything the flush commits."""

    rows: list[EntryRow]
    """Every row, in seq order."""
    done: list[tuple[R, list[Entry]]]
    """Each request with its own entries, at their final seqs."""
    entries: list[Entry]
    """Every entry, in seq order (appenders' and reactions)."""
    state: RunState
    """The state after the last entry."""
    snapshot: tuple[int, RunState] | None
    """The latest (seq, state) at a multiple of ``snapshot_every``, if any."""
    reactions: int
    """Entries the reactor added."""


def react(
    run_id: str,
    state: RunState,
    done: Sequence[tuple[R, list[Entry]]],
    rows: Sequence[EntryRow],
    *,
    at_us: int,
    reactor: Reactor,
    snapshot_every: int | None,
    max_reactions: int,
) -> Reacted[R]:
    """Fold a stamped batch entry by entry, stamping each entry's reactions after it.

    Args:
        run_id: The run.
        state: The state before the batch.
        done: The batch's requests with their canonical entries, stamped from
            the seq after ``state.last_seq`` as if there were no reactions.
        rows: Their rows, in the same order.
        at_us: The batch's recorded time.
        reactor: The pure reaction.
        snapshot_every: Take the snapshot at the latest multiple of this.
        max_reactions: Fail past this many reactions in the batch.

    Raises:
        ReactorError: The reactor raised, or returned a draft that does not
            encode into a readable entry.
        ReactionLimitError: The batch exceeded ``max_reactions``.
    """
    out_rows: list[EntryRow] = []
    out_entries: list[Entry] = []
    out_done: list[tuple[R, list[Entry]]] = []
    pending: collections.deque[tuple[Entry, bytes, int]] = collections.deque()
    seq = rows[0][0] - 1 if rows else state.last_seq
    snapshot: tuple[int, RunState] | None = None
    reactions = 0
    row_index = 0
    for request, entries in done:
        mine: list[Entry] = []
        for entry in entries:
            _, _, data, crc = rows[row_index]
            row_index += 1
            if _stale(state, entry):
                continue
            seq += 1
            if entry.seq != seq:  # reactions before it pushed it on
                entry = replace(entry, seq=seq)
                data = encode_entry(entry)
                crc = checksum(data)
            mine.append(entry)
            pending.append((entry, data, crc))
            while pending:
                current, data, crc = pending.popleft()
                out_rows.append((current.seq, at_us, data, crc))
                out_entries.append(current)
                state = evolve(state, current)
                if snapshot_every is not None and current.seq % snapshot_every == 0:
                    snapshot = (current.seq, state)
                try:
                    drafts = reactor(state, current)
                except Exception as exc:
                    raise ReactorError(run_id, current.seq, f"{type(exc).__name__}: {exc}") from exc
                if not drafts:
                    continue
                reactions += len(drafts)
                if reactions > max_reactions:
                    raise ReactionLimitError(run_id, current.seq, max_reactions)
                pending.extend(_stamp(run_id, current, drafts, seq, at_us))
                seq += len(drafts)
        out_done.append((request, mine))
    return Reacted(out_rows, out_done, out_entries, state, snapshot, reactions)


def _stale(state: RunState, entry: Entry) -> bool:
    """Whether an appended entry lost a race with the reactions before it.

    A timer fires in its own task; the reaction that cancels it may be
    committed while the firing waits for the writer. The run owns its timers:
    a ``timer_fired`` for a timer that is no longer pending is dropped here,
    never journaled.
    """
    msg = entry.msg
    return isinstance(msg, TimerFired) and msg.timer not in state.timers


def _stamp(
    run_id: str, cause: Entry, drafts: Sequence[Draft], seq: int, at_us: int
) -> list[tuple[Entry, bytes, int]]:
    """The reaction drafts as canonical entries after ``seq``, with their bytes."""
    datas: list[bytes] = []
    try:
        for draft in drafts:
            seq += 1
            datas.append(encode_entry(draft.stamp(run_id, seq, at_us, cause.seq)))
        entries = decode_entries(datas)
    except Exception as exc:  # not a Draft, not encodable, or not decodable back
        detail = f"it returned an invalid draft: {type(exc).__name__}: {exc}"
        raise ReactorError(run_id, cause.seq, detail) from exc
    return [(entry, data, checksum(data)) for entry, data in zip(entries, datas, strict=True)]
