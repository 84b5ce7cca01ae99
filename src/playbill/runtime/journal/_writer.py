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

Hooks, all optional: before the commit, a ``BatchHook`` (see ``_batch``;
``Journal.writer`` wires in the run's state and policy, ``_keeper``) may drop
entries of the batch, add entries after them and pick a snapshot; after the
commit, ``on_entries`` gets every entry of the batch in seq order (the
router's feed); before taking a batch, the flusher awaits ``wait_for_room``
(the router's backpressure). The writer itself folds nothing and decides
nothing: it stamps, encodes, commits and holds the lease.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, final

import attrs
import msgspec
import outcome
import trio

from ..model._entry import Entry
from ..model._errors import (
    JournalClosedError,
    JournalError,
    LeaseLostError,
    ReactorError,
    SeqConflictError,
    StoreError,
)
from ..model._state import RunState
from ._batch import Append, BatchHook, place, stamp
from ._store import JournalStore

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..model._entry import Draft
    from ..model._messages import Message


def _scrubbed(draft: Draft, scrub: Callable[[Message], Message]) -> Draft:
    """``draft`` with its message scrubbed (the same draft when nothing changed)."""
    msg = scrub(draft.msg)
    return draft if msg is draft.msg else msgspec.structs.replace(draft, msg=msg)


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

    reactions_committed: int
    """Entries added by the hook (the reactor's), committed (included in
    ``entries_committed``)."""


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
    _hook: BatchHook | None = None
    _on_entries: Callable[[Sequence[Entry]], None] | None = None
    _wait_for_room: Callable[[], Awaitable[None]] | None = None
    _scrub: Callable[[Message], Message] | None = None

    _pending: collections.deque[Append] = attrs.field(factory=collections.deque, init=False)
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
    _reactions: int = attrs.field(default=0, init=False)

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
        """The run's state folded up to ``last_seq``.

        None unless the writer was opened with ``snapshot_every`` or a ``reactor``.
        """
        return None if self._hook is None else self._hook.state

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
            reactions_committed=self._reactions,
        )

    async def append(self, drafts: Sequence[Draft]) -> list[Entry]:
        """Journal drafts as consecutive entries of the run, atomically.

        Returns only once the entries are committed, with their seqs and
        recorded time. A draft the writer's hook drops (a ``timer_fired``
        whose timer is no longer pending) is not returned; when it drops
        every draft of a batch, nothing is committed. If the commit fails,
        nothing of the drafts is stored and the error is raised here (to
        every appender of that batch).

        Raises:
            InvalidEntryError: A draft does not encode into a readable entry;
                nothing of this call was written.
            LeaseLostError: Another writer took the run over.
            JournalClosedError: The writer or its journal was closed.
            StoreError: The store failed; nothing of this call was written.
        """
        if self._broken is not None or self._closed or len(self._pending) >= self._max_pending:
            await self._wait_for_space()
        if not drafts:
            await trio.lowlevel.checkpoint()
            return []
        scrub = self._scrub
        if scrub is not None:
            # The one choke point: whatever an actor, a backend or a hook
            # forgot to redact is cleaned here, before it is stamped.
            drafts = [_scrubbed(draft, scrub) for draft in drafts]
        if self._flusher is None:
            # The flusher was cancelled: the writer's block is ending.
            raise JournalClosedError(f"the writer of run {self._run_id!r} is closing")
        request = Append(drafts, trio.lowlevel.current_task())
        self._pending.append(request)
        if self._flusher_parked:
            self._flusher_parked = False
            trio.lowlevel.reschedule(self._flusher)

        def abort(_: object) -> trio.lowlevel.Abort:
            if request.taken:  # being committed; the result comes anyway
                return trio.lowlevel.Abort.FAILED
            request.settled = True
            return trio.lowlevel.Abort.SUCCEEDED

        entries: list[Entry] = await trio.lowlevel.wait_task_rescheduled(abort)
        return entries

    async def _wait_for_space(self) -> None:
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
        wait_for_room = self._wait_for_room
        try:
            while True:
                if self._pending and wait_for_room is not None:
                    await wait_for_room()  # backpressure from whoever consumes on_entries
                if self._pending:
                    self._flush()
                self._flusher_parked = True
                await trio.lowlevel.wait_task_rescheduled(self._unpark_flusher)
        finally:
            # Cancelled (the writer is closing): nobody may reschedule this
            # task once it has exited; ``_close`` flushes what is left.
            self._flusher_parked = False
            self._flusher = None

    def _unpark_flusher(self, _: object) -> trio.lowlevel.Abort:
        self._flusher_parked = False
        return trio.lowlevel.Abort.SUCCEEDED

    async def _run_renewer(self) -> None:
        while self._broken is None:
            await trio.sleep(self._lease_ttl_s / 3)
            try:
                self._store.renew_lease(
                    self._run_id, self._token, now=self._lease_clock(), ttl_s=self._lease_ttl_s
                )
            except LeaseLostError as exc:
                logger.error(
                    "write lease of run %s lost: %s",
                    self._run_id,
                    exc,
                    extra={"run_id": self._run_id},
                )
                self._broken = exc
            except StoreError as exc:  # transient; the next renewal or commit tries again
                logger.warning(
                    "write lease of run %s not renewed: %s",
                    self._run_id,
                    exc,
                    extra={"run_id": self._run_id},
                )

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
        done: list[tuple[Append, list[Entry]]] = []
        try:
            if self._broken is not None:
                raise self._broken
            if self._needs_resync:
                self._resync()
            at_us = self._clock()
            if at_us < self._last_at_us:
                at_us = self._last_at_us
            rows, done = stamp(self._run_id, batch, self._last_seq, at_us, self._store.codec)
            if not rows:
                return
            everything: list[Entry] | None = None
            snapshot: tuple[int, bytes] | None = None
            reactions = 0
            hook = self._hook
            if hook is not None:
                prepared = hook.before_commit([entry for _, entries in done for entry in entries])
                rows, done, everything = place(done, rows, prepared.placed, self._store.codec)
                snapshot, reactions = prepared.snapshot, prepared.added
            if rows:
                self._store.commit(self._run_id, rows, lease_token=self._token, snapshot=snapshot)
        except BaseException as exc:
            self._failed += 1
            for request in batch:
                if not request.settled:
                    reschedule(request.task, outcome.Error(exc))
            if isinstance(exc, LeaseLostError | SeqConflictError | ReactorError):
                self._broken = exc
            else:
                self._needs_resync = True
            if not isinstance(exc, Exception):
                raise
            return
        if not rows:  # the hook dropped every entry: nothing to commit
            for request, entries in done:
                request.settled = True
                reschedule(request.task, outcome.Value(entries))
            return
        self._last_seq = rows[-1][0]
        self._last_at_us = at_us
        if hook is not None:
            hook.committed()
        self._batches += 1
        self._entries += len(rows)
        self._appends += len(done)
        if len(rows) > self._largest:
            self._largest = len(rows)
        if snapshot is not None:
            self._snapshots += 1
        self._reactions += reactions
        for request, entries in done:
            request.settled = True
            reschedule(request.task, outcome.Value(entries))
        self._on_commit(self._run_id)
        if self._on_entries is not None:
            if everything is None:
                everything = [entry for _, entries in done for entry in entries]
            try:
                self._on_entries(everything)
            except BaseException as exc:
                detail = f"run {self._run_id!r}: the on_entries hook failed: {exc!r}"
                self._broken = JournalError(detail)
                raise

    def _resync(self) -> None:
        """After a failed commit: make sure the store is where we think it is."""
        stored = self._store.last_seq(self._run_id)
        if stored != self._last_seq:
            self._broken = SeqConflictError(self._run_id, self._last_seq + 1, stored + 1)
            raise self._broken
        self._needs_resync = False
