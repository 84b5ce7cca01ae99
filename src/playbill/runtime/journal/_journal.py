"""The journal: the public, async face of a ``JournalStore``.

``Journal`` verifies everything it reads (checksum, decoding into the closed
union, run and seq of every row) and raises ``CorruptEntryError`` on the first
row that fails: it never skips and never repairs. Writes go through
``Journal.writer``, which holds the run's lease and group-commits appends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress

import attrs
import msgspec
import trio

from ..logic._cascade import CascadePolicy, Reactor
from ..logic._reducer import fold
from ..model._entry import Entry, EntryRow, checksum
from ..model._errors import (
    CorruptEntryError,
    CorruptSnapshotError,
    InvalidEntryError,
    JournalClosedError,
    JournalError,
    SeqConflictError,
    StoreError,
)
from ..model._messages import Message, RunCancelled, RunCompleted, RunFailed
from ..model._state import RunState, decode_state, initial_state
from ..model._values import ControlRequest
from ._keeper import StateKeeper
from ._store import (
    CommitFeed,
    JournalStore,
    RunInfo,
    decode_data,
    decode_rows,
    default_holder,
)
from ._writer import JournalWriter, wall_clock_us

logger = logging.getLogger(__name__)
_RUN_ENDS = (RunCompleted, RunFailed, RunCancelled)
"""The messages that end a run (``follow(until_ended=True)`` stops after one)."""

_request_encoder = msgspec.json.Encoder(order="deterministic")
_request_decoder = msgspec.json.Decoder(ControlRequest)

_READ_CHUNK = 4096
"""Entries read at once when following or folding a run."""


@attrs.define(eq=False)
class Journal:
    """Every run's entries, in a store; async, for trio.

    Args:
        store: Where the entries live.
        lease_clock: Seconds since the epoch, for write leases. It must agree
            between the processes sharing a store; tests inject a fake one.

    ``SqliteJournal`` and ``MemoryJournal`` build one over their store. Close
    it with ``close()`` or by using it as a (sync or async) context manager.
    """

    _store: JournalStore
    _lease_clock: Callable[[], float] = time.time
    _closed: bool = attrs.field(default=False, init=False)
    _lots: dict[str, trio.lowlevel.ParkingLot] = attrs.field(factory=dict, init=False)
    _writers: list[JournalWriter] = attrs.field(factory=list, init=False)

    @property
    def store(self) -> JournalStore:
        """The store under this journal."""
        return self._store

    @property
    def lease_clock(self) -> Callable[[], float]:
        """The clock of this journal's write leases (seconds since the epoch)."""
        return self._lease_clock

    # ------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the writers (releasing their leases) and the store. Idempotent."""
        if self._closed:
            return
        for writer in list(self._writers):
            writer._close()
            with suppress(JournalError):
                self._store.release_lease(writer.run_id, writer._token)
        self._closed = True
        self._store.close()
        for lot in self._lots.values():
            lot.unpark_all()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Journal:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise JournalClosedError("the journal is closed")

    # ---------------------------------------------------------------- writing

    @asynccontextmanager
    async def writer(
        self,
        run_id: str,
        *,
        holder: str | None = None,
        clock: Callable[[], int] | None = None,
        snapshot_every: int | None = None,
        lease_ttl_s: float = 30.0,
        max_pending: int = 1024,
        reactor: Reactor | None = None,
        max_reactions: int = 10_000,
        on_entries: Callable[[Sequence[Entry]], None] | None = None,
        wait_for_room: Callable[[], Awaitable[None]] | None = None,
        scrub: Callable[[Message], Message] | None = None,
    ) -> AsyncIterator[JournalWriter]:
        """Become the one writer of a run, for the duration of the block.

        Args:
            run_id: The run (new or existing).
            holder: Name to hold the lease under; ``host:pid:random`` by
                default, which lets a dead process's lease be taken over at
                once on the same host.
            clock: Microseconds since the epoch, for the entries' ``at_us``
                (virtual under simulation). The wall clock by default.
            snapshot_every: Keep the folded run state (``writer.state``) and
                store a snapshot with each batch that reaches a multiple of
                this seq. The state starts from the latest snapshot + tail.
            lease_ttl_s: The lease lasts this long without renewal; a
                background task renews it every third of it.
            max_pending: Appends queued beyond this wait (backpressure).
            reactor: ``reactor(state, entry) -> drafts``, pure. Called in the
                flush on every entry, in seq order, with the state folded up
                to and including it; the drafts it returns are stamped right
                after it, in the same batch and transaction (a draft without a
                ``cause`` gets the entry's seq), and are folded and reacted to
                in turn (``cascade``; a ``timer_fired`` whose timer is no
                longer pending is dropped, see ``timer_pending``). A reactor
                that raises (or returns an invalid draft) fails the batch and
                breaks the writer (``ReactorError``). Like ``snapshot_every``,
                it makes the writer keep the state.
            max_reactions: A batch whose reactions exceed this fails with
                ``ReactionLimitError`` (a runaway cascade).
            on_entries: Called after each commit with every entry of the batch
                (appended and reactions), in seq order, as decoded back from
                the stored bytes. Synchronous; it must not raise (an error
                breaks the writer and leaves its block).
            wait_for_room: Awaited by the flusher before it takes each batch:
                how the consumer of ``on_entries`` makes the writer wait
                (and, once ``max_pending`` appends queue, the appenders).
            scrub: Applied to every draft's message before it is stamped
                (the one choke point where a real run redacts secrets and
                invalid Unicode); it returns the same message when there is
                nothing to clean.

        Raises:
            WriterConflictError: Another live writer holds the run.
            CorruptEntryError: The run's last entry (or, with
                ``snapshot_every``, its tail) is corrupt.
        """
        self._check_open()
        if snapshot_every is not None and snapshot_every < 1:
            raise ValueError(f"snapshot_every must be positive, not {snapshot_every}")
        if max_reactions < 0:
            raise ValueError(f"max_reactions must not be negative, not {max_reactions}")
        holder = holder if holder is not None else default_holder()
        await trio.lowlevel.checkpoint()
        token = self._store.acquire_lease(
            run_id, holder, now=self._lease_clock(), ttl_s=lease_ttl_s
        )
        logger.debug(
            "write lease of run %s taken by %s (ttl %g s)",
            run_id,
            holder,
            lease_ttl_s,
            extra={"run_id": run_id},
        )
        try:
            last_seq = self._store.last_seq(run_id)
            last_at_us = self._read(run_id, last_seq, last_seq + 1)[0].at_us if last_seq else 0
            keeper = None
            if snapshot_every is not None or reactor is not None:
                keeper = StateKeeper(
                    self._folded(run_id, last_seq),
                    policy=None if reactor is None else CascadePolicy(reactor),
                    snapshot_every=snapshot_every,
                    max_reactions=max_reactions,
                )
            writer = JournalWriter(
                store=self._store,
                run_id=run_id,
                holder=holder,
                token=token,
                clock=clock if clock is not None else wall_clock_us,
                lease_clock=self._lease_clock,
                lease_ttl_s=lease_ttl_s,
                last_seq=last_seq,
                last_at_us=last_at_us,
                on_commit=self._wake_followers,
                max_pending=max_pending,
                hook=keeper,
                on_entries=on_entries,
                wait_for_room=wait_for_room,
                scrub=scrub,
            )
            self._writers.append(writer)
            # The body's exception is held while the nursery closes and
            # re-raised after it, so that it is not wrapped in a group.
            body_error: BaseException | None = None
            async with trio.open_nursery() as nursery:
                await nursery.start(writer._run_flusher)
                nursery.start_soon(writer._run_renewer)
                try:
                    yield writer
                except BaseException as exc:
                    body_error = exc
                finally:
                    writer._close()
                    nursery.cancel_scope.cancel()
            if body_error is not None:
                raise body_error
        finally:
            if not self._closed:
                self._writers = [w for w in self._writers if w.run_id != run_id]
                with suppress(JournalError):
                    self._store.release_lease(run_id, token)
                    logger.debug("write lease of run %s released", run_id, extra={"run_id": run_id})

    def _wake_followers(self, run_id: str) -> None:
        lot = self._lots.get(run_id)
        if lot is not None:
            lot.unpark_all()

    async def state_at(
        self, run_id: str, seq: int | None = None, *, snapshots: bool = True
    ) -> RunState:
        """The run's state after entry ``seq`` (after its last entry when None).

        The latest snapshot at or below ``seq`` plus the entries after it; with
        ``snapshots=False``, a fold of every entry from seq 1 that trusts
        nothing but the entries (what ``playbill replay`` does). A run with no
        entries is in the initial state.

        Raises:
            CorruptEntryError: A stored entry is damaged or missing.
            CorruptSnapshotError: The snapshot used is damaged (it is never
                skipped silently; pass ``snapshots=False`` to fold without it).
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        last = self._store.last_seq(run_id)
        return self._folded(run_id, last if seq is None else min(seq, last), snapshots=snapshots)

    def _folded(self, run_id: str, last_seq: int, *, snapshots: bool = True) -> RunState:
        """The run's state at ``last_seq``: latest snapshot + tail."""
        state = initial_state()
        snap = self._load_snapshot(run_id, last_seq) if snapshots else None
        if snap is not None:
            seq, data = snap
            try:
                state = decode_state(data)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise CorruptSnapshotError(run_id, seq, f"undecodable: {exc}") from exc
            if state.last_seq != seq or state.run_id not in ("", run_id):
                detail = f"it holds run {state.run_id!r} at seq {state.last_seq}"
                raise CorruptSnapshotError(run_id, seq, detail)
        while state.last_seq < last_seq:
            start = state.last_seq + 1
            state = fold(self._read(run_id, start, min(start + _READ_CHUNK, last_seq + 1)), state)
        return state

    async def import_entries(self, entries: Sequence[Entry]) -> None:
        """Store a whole run at once (from an export, say), atomically.

        Args:
            entries: Every entry of one run, seqs dense from 1.

        Raises:
            RunExistsError: The run already has entries; nothing was written.
            SeqConflictError: The seqs are not 1, 2, 3...
            InvalidEntryError: An entry does not encode into a readable one.
            ValueError: The entries belong to more than one run.
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        if not entries:
            return
        run_id = entries[0].run_id
        codec = self._store.codec
        rows: list[EntryRow] = []
        for expected, entry in enumerate(entries, 1):
            if entry.run_id != run_id:
                raise ValueError(f"entries of runs {run_id!r} and {entry.run_id!r} in one import")
            if entry.seq != expected:
                raise SeqConflictError(run_id, expected, entry.seq)
            data = codec.encode(entry)
            rows.append((entry.seq, entry.at_us, data, checksum(data)))
        try:
            if len(codec.decode_many([row[2] for row in rows])) != len(rows):
                raise msgspec.DecodeError("the entries do not decode back one for one")
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise InvalidEntryError(run_id, str(exc)) from exc
        self._store.import_rows(run_id, rows)

    # ---------------------------------------------------------------- reading

    def _read(self, run_id: str, start: int, stop: int | None) -> list[Entry]:
        """Verified entries ``start <= seq < stop``, none missing up to the run's end."""
        if start < 1:
            raise ValueError(f"seqs start at 1, not {start}")
        last = self._store.last_seq(run_id)  # first: rows only ever grow after it
        end = last + 1 if stop is None else min(stop, last + 1)
        if end <= start:
            return []
        codec = self._store.codec
        if codec.stored_crc is not None:  # the cheap read, when nothing is wrong
            datas = self._store.read_data(run_id, start, end)
            if datas is not None and len(datas) == end - start:
                fast = decode_data(run_id, start, datas, codec)
                if fast is not None:
                    return fast
        rows = self._store.read_rows(run_id, start, end)
        # raises on a gap or damage inside
        entries = decode_rows(run_id, start, rows, codec)
        if len(entries) < end - start:
            missing = start + len(entries)
            raise CorruptEntryError(run_id, missing, f"missing: the run's last seq is {last}")
        return entries

    async def read(self, run_id: str, start: int = 1, stop: int | None = None) -> list[Entry]:
        """The run's entries with ``start <= seq < stop`` (to the end if None).

        An unknown run has no entries.

        Raises:
            CorruptEntryError: A stored entry is damaged or missing.
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self._read(run_id, start, stop)

    async def last_seq(self, run_id: str) -> int:
        """Seq of the run's last entry; 0 for an unknown run."""
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self._store.last_seq(run_id)

    async def run_info(self, run_id: str) -> RunInfo | None:
        """What is known about a run without reading it; None if it has no entry."""
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self._store.run_info(run_id)

    async def run_exists(self, run_id: str) -> bool:
        """Whether the run has at least one entry."""
        return await self.run_info(run_id) is not None

    async def list_runs(self) -> list[RunInfo]:
        """Every run in the journal, oldest first."""
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self._store.list_runs()

    async def follow(
        self,
        run_id: str,
        from_seq: int = 1,
        *,
        poll_interval_s: float = 0.2,
        until_ended: bool = False,
    ) -> AsyncGenerator[Entry, None]:
        """Yield the run's entries in seq order from ``from_seq``, forever.

        With ``until_ended``, it ends once it gave the entry that ends the run
        (``run_completed``, ``run_failed``, ``run_cancelled``) and those
        committed with it; for a run that had ended already, once it gave
        the run's last entry.

        New entries arrive at once from a writer of this journal. From one in
        another process they arrive at once too when the store announces
        commits (``JournalStore.subscribe``: PostgreSQL's LISTEN/NOTIFY), and
        otherwise within ``poll_interval_s``. Close the iterator when done
        with it, as for any async generator under trio::

            async with contextlib.aclosing(journal.follow(run_id)) as entries:
                async for entry in entries:
                    ...

        Raises:
            CorruptEntryError: A stored entry is damaged or missing.
            JournalClosedError: The journal was closed.
            StoreError: The store, or its feed of commits, failed.
        """
        self._check_open()
        feed = self._store.subscribe(run_id)  # before reading: no commit after it is missed
        try:
            next_seq = from_seq
            last = None
            if until_ended:
                state = await self.state_at(run_id)
                last = state.last_seq if state.is_terminal else None
            while last is None or next_seq <= last:
                self._check_open()
                entries = self._read(run_id, next_seq, next_seq + _READ_CHUNK)
                if entries:
                    for entry in entries:
                        if last is not None and entry.seq > last:
                            return
                        yield entry
                        if until_ended and last is None and isinstance(entry.msg, _RUN_ENDS):
                            last = self._store.last_seq(run_id)  # its batch, not what follows
                    next_seq = entries[-1].seq + 1
                    await trio.lowlevel.checkpoint()
                    continue
                lot = self._lots.setdefault(run_id, trio.lowlevel.ParkingLot())
                if feed is None:
                    with trio.move_on_after(poll_interval_s):
                        await lot.park()
                else:
                    await _wait_for_commit(lot, feed)
                if not lot:
                    self._lots.pop(run_id, None)
        finally:
            if feed is not None:
                feed.close()

    # ------------------------------------------------------- control requests

    async def post_request(self, run_id: str, request: ControlRequest) -> int:
        """Ask a run's live writer, in this process or another, to do something.

        The request waits in the journal's queue until the run's writer takes
        it and journals it (``control_requested``); a run that is not running
        takes it when it is resumed.

        Returns:
            The request's id.
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self._store.post_request(
            run_id, _request_encoder.encode(request), now_us=wall_clock_us()
        )

    async def requests_after(self, run_id: str, after_id: int) -> list[tuple[int, ControlRequest]]:
        """The run's queued requests with ``id > after_id``, oldest first.

        Raises:
            InvalidEntryError: A queued request does not decode (it is never skipped).
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        taken = []
        for request_id, body in self._store.requests_after(run_id, after_id):
            try:
                taken.append((request_id, _request_decoder.decode(body)))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                raise InvalidEntryError(run_id, f"control request {request_id}: {exc}") from exc
        return taken

    # -------------------------------------------------------------- snapshots

    async def save_snapshot(self, run_id: str, seq: int, data: bytes) -> None:
        """Store (or replace) a snapshot of the run's state at ``seq``."""
        self._check_open()
        await trio.lowlevel.checkpoint()
        self._store.save_snapshot(run_id, seq, data)

    async def load_snapshot(self, run_id: str, max_seq: int) -> tuple[int, bytes] | None:
        """The run's snapshot with the highest seq at or below ``max_seq``.

        Raises:
            CorruptSnapshotError: The snapshot failed its checksum.
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        return self._load_snapshot(run_id, max_seq)

    def _load_snapshot(self, run_id: str, max_seq: int) -> tuple[int, bytes] | None:
        row = self._store.load_snapshot(run_id, max_seq)
        if row is None:
            return None
        seq, data, crc = row
        actual = checksum(data)
        if actual != crc:
            raise CorruptSnapshotError(
                run_id, seq, f"checksum mismatch (stored {crc:#010x}, computed {actual:#010x})"
            )
        return seq, data


async def _wait_for_commit(lot: trio.lowlevel.ParkingLot, feed: CommitFeed) -> None:
    """Wait until a writer of this journal commits, or the feed announces a commit.

    Raises:
        StoreError: The feed failed (raised as itself, not in an exception group).
    """
    failed: list[StoreError] = []
    async with trio.open_nursery() as nursery:

        async def local() -> None:
            await lot.park()
            nursery.cancel_scope.cancel()

        async def remote() -> None:
            try:
                while True:
                    await trio.lowlevel.wait_readable(feed.fileno())
                    if feed.drain():
                        break
            except StoreError as exc:
                failed.append(exc)
            nursery.cancel_scope.cancel()

        nursery.start_soon(local)
        nursery.start_soon(remote)
    if failed:
        raise failed[0]
