"""One batch of the writer: stamping, encoding, decoding back, the hook.

The flusher takes every pending append at once; these functions turn them
into the rows of one transaction. An append that cannot be stored (a value
that does not encode, or does not decode back) fails alone, at once: the
others go on without it. A ``BatchHook`` (the run's state and policy, wired
in by whoever opens the writer) may then rearrange the batch before the
commit: drop entries, add entries after them, pick a snapshot.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Protocol, final

import attrs
import outcome
import trio

from ..model._entry import JSON_CODEC, Draft, Entry, EntryCodec, EntryRow, checksum
from ..model._errors import InvalidEntryError
from ..model._state import RunState

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


@final
@attrs.frozen
class Prepared:
    """What a ``BatchHook`` makes of a batch: what the writer commits."""

    placed: list[list[Entry]]
    """For each entry of the batch, in order, what is committed in its place:
    the entry itself (at the seq it now has) and the entries added after it,
    in seq order; empty when the entry is dropped."""
    snapshot: tuple[int, bytes] | None = None
    """A snapshot to store with the batch: (seq, encoded state)."""
    added: int = 0
    """How many entries the hook added."""


class BatchHook(Protocol):
    """Called by the writer on each batch, inside the flush, before the commit.

    The hook is transactional: ``before_commit`` prepares, and only once the
    batch is stored does the writer call ``committed``.
    """

    @property
    def state(self) -> RunState:
        """The run's state folded up to the writer's last committed entry."""
        ...

    def before_commit(self, entries: Sequence[Entry]) -> Prepared:
        """What to commit for the batch's entries (stamped from the next seq).

        The entries and seqs it returns must follow on densely; an exception
        fails the batch.
        """
        ...

    def committed(self) -> None:
        """The batch last prepared is stored."""
        ...


def stamp(
    run_id: str,
    batch: Iterable[Append],
    last_seq: int,
    at_us: int,
    codec: EntryCodec = JSON_CODEC,
) -> tuple[list[EntryRow], Done]:
    """Stamp and encode the batch; fail (and settle) the appends that cannot be stored.

    Returns the rows (encoded with ``codec``, the store's), and each
    remaining append with its entries as decoded back from their bytes.
    """
    encode = codec.encode
    crc32 = zlib.crc32  # what ``checksum`` computes, without a Python call per entry
    sealed = codec.stored_crc  # a sealed record's checksum is known without computing it
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
                data = encode(entry)
                add_row((seq, at_us, data, crc32(data) if sealed is None else sealed))
                add_entry(entry)
        except Exception as exc:  # not a Draft, or not encodable
            del rows[start:]
            seq = first
            request.fail(InvalidEntryError(run_id, f"{type(exc).__name__}: {exc}"))
            continue
        done.append((request, entries))
    if not rows:
        return rows, done
    decoded = _decode_back(run_id, rows, done, codec)
    if decoded is None:
        return stamp(run_id, [request for request, _ in done], last_seq, at_us, codec)
    # Hand back the entries as decoded from their bytes, not as built: a
    # value built in Python may differ from its decoded form (an int in a
    # float field), and every actor must see exactly what a replay sees.
    canonical: Done = []
    start = 0
    for request, entries in done:
        canonical.append((request, decoded[start : start + len(entries)]))
        start += len(entries)
    return rows, canonical


def _decode_back(
    run_id: str, rows: list[EntryRow], done: Done, codec: EntryCodec
) -> list[Entry] | None:
    """The batch decoded back; None after failing the appends that do not decode."""
    try:
        decoded = codec.decode_many([row[2] for row in rows])
        if len(decoded) == len(rows):
            return decoded
    except Exception:  # find the culprits, one append at a time
        pass
    culprits = 0
    for request, entries in done:
        for index, entry in enumerate(entries):
            try:
                codec.decode_one(codec.encode(entry))
            except Exception as exc:
                request.fail(InvalidEntryError(run_id, f"draft {index} of the append: {exc}"))
                culprits += 1
                break
    if not culprits:
        raise InvalidEntryError(run_id, "the batch does not decode back")
    return None


def place(
    done: Done,
    rows: list[EntryRow],
    placed: Sequence[Sequence[Entry]],
    codec: EntryCodec = JSON_CODEC,
) -> tuple[list[EntryRow], Done, list[Entry]]:
    """The batch as a hook rearranged it (see ``BatchHook.before_commit``).

    ``placed`` has, for each entry of ``done`` in order, what is committed in
    its place: the entry itself (possibly at another seq) followed by the
    entries the hook added after it; or nothing, when it is dropped. Returns
    the rows, each append with its own entries and every entry, in seq order.
    """
    out_rows: list[EntryRow] = []
    out_done: Done = []
    everything: list[Entry] = []
    index = 0
    for request, entries in done:
        mine: list[Entry] = []
        for entry in entries:
            row = rows[index]
            in_its_place = placed[index]
            index += 1
            if not in_its_place:
                continue
            mine.append(in_its_place[0])
            for added in in_its_place:
                if added is entry:
                    out_rows.append(row)
                else:
                    data = codec.encode(added)
                    out_rows.append((added.seq, added.at_us, data, checksum(data)))
                everything.append(added)
        out_done.append((request, mine))
    return out_rows, out_done, everything
