"""The one writer of a run: its lease, group commit and snapshots.

Group commit: an appender puts its request on a bounded deque, wakes the
flusher task if it sleeps, and parks. The flusher runs on the next scheduler
pass, when every appender that was runnable has queued: it takes everything
pending, stamps and encodes it, commits it in one store transaction and wakes
each appender with its own entries. That is one park and one wake per
appender, and one transaction per batch; there is no timer.

A cancelled appender whose request has not been taken yet is dropped: its
drafts are never journaled. Once taken, the request completes (the commit is
inline) and the appender gets its entries.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, final

import attrs
import outcome
import trio

from ._entry import FORMAT_VERSION, Entry, checksum, decode_entries, decode_entry, encode_entry
from ._errors import (
    InvalidEntryError,
    JournalClosedError,
    JournalError,
    LeaseLostError,
    SeqConflictError,
    StoreError,
)
from ._reducer import evolve
from ._state import RunState, encode_state
from ._store import EntryRow, JournalStore

if TYPE_CHECKING:
    from ._entry import Draft


def wall_clock_us() -> int:
    """Microseconds since the Unix epoch, from the system clock."""
    return time.time_ns() // 1000


@final
@attrs.frozen
class WriterStatistics:
    """What a ``JournalWriter`` has done so far. Returned by ``statistics()``."""

    run_id: str
    """The run being written."""

    last_seq: int
    """Seq of the run's last committed entry."""

    batches_committed: int
    """Store transactions committed by this writer."""

    entries_committed: int
    """Entries committed by this writer."""

    appends_committed: int
    """Calls to ``append`` that completed with their entries committed."""

    largest_batch: int
    """The most entries committed in one transaction."""

    batches_failed: int
    """Transactions that failed (each of their appenders got the error)."""

    appends_pending: int
    """Appends queued now, waiting for the flusher."""

    snapshots_written: int
    """Snapshots stored along with a batch (``snapshot_every``)."""


@final
@attrs.define(eq=False, slots=True)
class _Append:
    """One pending call to ``append``."""

    drafts: Sequence[Draft]
    task: trio.lowlevel.Task
    settled: bool = False  # cancelled, or its task already woken with an error
    taken: bool = False  # in a batch being committed


def _abort_ok(_: object) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.SUCCEEDED


@final
@attrs.define(eq=False)
class JournalWriter:
    """The single writer of one run. Made by ``Journal.writer``; never directly.

    Appends from many tasks are grouped into one transaction each time the
    flusher runs. Seqs are dense; ``at_us`` comes from the writer's clock and
    never goes backwards within the run.
    """

    _store: JournalStore
    _run_id: str
    _holder: str
    _token: str
    _clock: Callable[[], int]
    _lease_clock: Callable[[], float]
    _lease_ttl_s: float
    _last_seq: int
    _last_at_us: int
    _on_commit: Callable[[str], None]
    _max_pending: int = 1024
    _snapshot_every: int | None = None
    _state: RunState | None = None

    _pending: collections.deque[_Append] = attrs.field(factory=collections.deque, init=False)
    _space: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot, init=False)
    _flusher: trio.lowlevel.Task | None = attrs.field(default=None, init=False)
    _flusher_parked: bool = attrs.field(default=False, init=False)
    _closed: bool = attrs.field(default=False, init=False)
    _broken: JournalError | None = attrs.field(default=None, init=False)
    _needs_resync: bool = attrs.field(default=False, init=False)
    _batches: int = attrs.field(default=0, init=False)
    _entries: int = attrs.field(default=0, init=False)
    _appends: int = attrs.field(default=0, init=False)
    _largest: int = attrs.field(default=0, init=False)
    _failed: int = attrs.field(default=0, init=False)
    _snapshots: int = attrs.field(default=0, init=False)

    @property
    def run_id(self) -> str:
        """The run this writer appends to."""
        return self._run_id

    @property
    def holder(self) -> str:
        """The name under which this writer holds the run's lease."""
        return self._holder

    @property
    def last_seq(self) -> int:
        """Seq of the run's last committed entry (0 for a new run)."""
        return self._last_seq

    @property
    def state(self) -> RunState | None:
        """The run's state folded up to ``last_seq``; None unless ``snapshot_every`` is set."""
        return self._state

    def statistics(self) -> WriterStatistics:
        """What this writer has done so far."""
        return WriterStatistics(
            run_id=self._run_id,
            last_seq=self._last_seq,
            batches_committed=self._batches,
            entries_committed=self._entries,
            appends_committed=self._appends,
            largest_batch=self._largest,
            batches_failed=self._failed,
            appends_pending=len(self._pending),
            snapshots_written=self._snapshots,
        )

    async def append(self, drafts: Sequence[Draft]) -> list[Entry]:
        """Journal drafts as consecutive entries of the run, atomically.

        Returns only once the entries are committed, with their seqs and
        recorded time. If the commit fails, nothing of the drafts is stored
        and the error is raised here (to every appender of that batch).

        Raises:
            InvalidEntryError: A draft does not encode into a readable entry;
                nothing of this call was written.
            LeaseLostError: Another writer took the run over.
            JournalClosedError: The writer or its journal was closed.
            StoreError: The store failed; nothing of this call was written.
        """
        if self._broken is not None or self._closed or len(self._pending) >= self._max_pending:
            await self._wait_for_room()
        if not drafts:
            await trio.lowlevel.checkpoint()
            return []
        request = _Append(drafts, trio.lowlevel.current_task())
        self._pending.append(request)
        if self._flusher_parked:
            self._flusher_parked = False
            trio.lowlevel.reschedule(self._flusher)  # type: ignore[arg-type]

        def abort(_: object) -> trio.lowlevel.Abort:
            if request.taken:  # being committed; the result comes anyway
                return trio.lowlevel.Abort.FAILED
            request.settled = True
            return trio.lowlevel.Abort.SUCCEEDED

        entries: list[Entry] = await trio.lowlevel.wait_task_rescheduled(abort)
        return entries

    async def _wait_for_room(self) -> None:
        """Raise if the writer cannot take appends; wait while the queue is full."""
        while True:
            if self._broken is not None:
                raise self._broken
            if self._closed:
                raise JournalClosedError(f"the writer of run {self._run_id!r} is closed")
            if len(self._pending) < self._max_pending:
                return
            await self._space.park()  # backpressure: the flusher wakes us

    # ------------------------------------------------------- background tasks

    async def _run_flusher(self, *, task_status: trio.TaskStatus[None]) -> None:
        self._flusher = trio.lowlevel.current_task()
        task_status.started()
        while True:
            if self._pending:
                self._flush()
            self._flusher_parked = True
            await trio.lowlevel.wait_task_rescheduled(_abort_ok)

    async def _run_renewer(self) -> None:
        while self._broken is None:
            await trio.sleep(self._lease_ttl_s / 3)
            try:
                self._store.renew_lease(
                    self._run_id, self._token, now=self._lease_clock(), ttl_s=self._lease_ttl_s
                )
            except LeaseLostError as exc:
                self._broken = exc
            except StoreError:
                pass  # transient; the next renewal or commit tries again

    def _close(self) -> None:
        """Refuse new appends, commit what is queued, wake everyone waiting."""
        if self._closed:
            return
        self._closed = True
        if self._pending:
            self._flush()
        self._flusher_parked = False
        self._space.unpark_all()

    # ---------------------------------------------------------------- flush

    def _flush(self) -> None:
        batch = self._pending
        self._pending = collections.deque()
        if self._space:
            self._space.unpark_all()
        reschedule = trio.lowlevel.reschedule
        done: list[tuple[_Append, list[Entry]]] = []
        try:
            if self._broken is not None:
                raise self._broken
            if self._needs_resync:
                self._resync()
            at_us = self._clock()
            if at_us < self._last_at_us:
                at_us = self._last_at_us
            rows, done = self._prepare(batch, at_us)
            if not rows:
                return
            state, snapshot = self._fold(done)
            self._store.commit(self._run_id, rows, lease_token=self._token, snapshot=snapshot)
        except BaseException as exc:
            self._failed += 1
            for request in batch:
                if not request.settled:
                    reschedule(request.task, outcome.Error(exc))
            if isinstance(exc, LeaseLostError | SeqConflictError):
                self._broken = exc
            else:
                self._needs_resync = True
            if not isinstance(exc, Exception):
                raise
            return
        self._last_seq = rows[-1][0]
        self._last_at_us = at_us
        self._state = state
        self._batches += 1
        self._entries += len(rows)
        self._appends += len(done)
        if len(rows) > self._largest:
            self._largest = len(rows)
        if snapshot is not None:
            self._snapshots += 1
        for request, entries in done:
            request.settled = True
            reschedule(request.task, outcome.Value(entries))
        self._on_commit(self._run_id)

    def _prepare(
        self, batch: Iterable[_Append], at_us: int
    ) -> tuple[list[EntryRow], list[tuple[_Append, list[Entry]]]]:
        """Stamp and encode the batch; fail (and settle) requests that cannot be stored."""
        run_id = self._run_id
        rows: list[EntryRow] = []
        add_row = rows.append
        done: list[tuple[_Append, list[Entry]]] = []
        seq = self._last_seq
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
                    entry = Entry(
                        v=FORMAT_VERSION,
                        run_id=run_id,
                        seq=seq,
                        at_us=at_us,
                        sender=draft.sender,
                        recipient=draft.recipient,
                        cause=draft.cause,
                        msg=draft.msg,
                    )
                    data = encode_entry(entry)
                    add_row((seq, at_us, data, checksum(data)))
                    add_entry(entry)
            except Exception as exc:  # not a Draft, or not encodable
                del rows[start:]
                seq = first
                error = InvalidEntryError(run_id, f"{type(exc).__name__}: {exc}")
                request.settled = True
                trio.lowlevel.reschedule(request.task, outcome.Error(error))
                continue
            done.append((request, entries))
        if not rows:
            return rows, done
        decoded = self._decode_back(rows, done)
        if decoded is None:
            return self._prepare([request for request, _ in done], at_us)
        # Hand back the entries as decoded from their bytes, not as built: a
        # value built in Python may differ from its decoded form (an int in a
        # float field), and every actor must see exactly what a replay sees.
        canonical: list[tuple[_Append, list[Entry]]] = []
        start = 0
        for request, entries in done:
            canonical.append((request, decoded[start : start + len(entries)]))
            start += len(entries)
        return rows, canonical

    def _decode_back(
        self, rows: list[EntryRow], done: list[tuple[_Append, list[Entry]]]
    ) -> list[Entry] | None:
        """The batch decoded back; None after failing the requests that do not decode."""
        try:
            return decode_entries([row[2] for row in rows])
        except Exception:  # find the culprits, one request at a time
            pass
        culprits = 0
        for request, entries in done:
            for index, entry in enumerate(entries):
                try:
                    decode_entry(encode_entry(entry))
                except Exception as exc:
                    error = InvalidEntryError(self._run_id, f"draft {index} of the append: {exc}")
                    trio.lowlevel.reschedule(request.task, outcome.Error(error))
                    request.settled = True
                    culprits += 1
                    break
        if not culprits:
            raise InvalidEntryError(self._run_id, "the batch does not decode back")
        return None

    def _fold(
        self, done: list[tuple[_Append, list[Entry]]]
    ) -> tuple[RunState | None, tuple[int, bytes] | None]:
        """The state after the batch, and the snapshot to store with it, if any."""
        state = self._state
        every = self._snapshot_every
        if state is None or every is None:
            return state, None
        snap: tuple[int, RunState] | None = None
        for _, entries in done:
            for entry in entries:
                state = evolve(state, entry)
                if entry.seq % every == 0:
                    snap = (entry.seq, state)
        if snap is None:
            return state, None
        return state, (snap[0], encode_state(snap[1]))

    def _resync(self) -> None:
        """After a failed commit: make sure the store is where we think it is."""
        stored = self._store.last_seq(self._run_id)
        if stored != self._last_seq:
            self._broken = SeqConflictError(self._run_id, self._last_seq + 1, stored + 1)
            raise self._broken
        self._needs_resync = False
