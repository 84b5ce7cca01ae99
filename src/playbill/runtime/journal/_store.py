"""The storage primitives under a journal, and what every store shares.

A ``JournalStore`` is small, synchronous and backend-neutral: it keeps rows of
bytes with their checksums, per run, plus leases and snapshots. It knows
nothing about messages: encoding, decoding and verifying rows is done once,
here and in ``Journal``, for every backend. Stores do their I/O inline (no
threads): under simulation that keeps scheduling deterministic, and a SQLite
WAL commit takes tens of microseconds.

Each store call is atomic. The write path is ``commit``: in one transaction it
checks the caller still holds the run's lease, checks the rows continue the
run's dense seq, inserts them (and an optional snapshot) and renews the lease.
"""

from __future__ import annotations

import abc
import contextlib
import operator
import os
import secrets
import socket
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

import msgspec

from ..model._entry import JSON_CODEC, Entry, EntryCodec, EntryRow, checksum
from ..model._errors import CorruptEntryError, SeqConflictError

StoredRow: TypeAlias = tuple[int, bytes, int]
"""A row as read back: ``(seq, data, crc)``."""

SnapshotRow: TypeAlias = tuple[int, bytes, int]
"""A snapshot as read back: ``(seq, data, crc)``."""


class RunInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a journal knows about a run without reading its entries.

    Attributes:
        run_id: The run.
        first_us: Recorded time of its first entry (microseconds since the epoch).
        last_seq: Seq of its last entry.
        last_us: Recorded time of its last entry.
    """

    run_id: str
    first_us: int
    last_seq: int
    last_us: int


class CommitFeed(abc.ABC):
    """Word of commits to one run by any process, for followers (``JournalStore.subscribe``).

    The feed is a file descriptor that becomes readable when something
    arrived; ``drain`` reads it without blocking. Only a hint to read again:
    the entries themselves are always read from the store.
    """

    @abc.abstractmethod
    def fileno(self) -> int:
        """The descriptor to wait on for readability (it may change after ``drain``)."""

    @abc.abstractmethod
    def drain(self) -> bool:
        """Take what arrived, without blocking.

        Returns:
            Whether the run may have new entries: a commit to it was
            announced, or the feed had to reconnect (and so may have missed one).

        Raises:
            StoreError: The feed is lost and cannot be re-established.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Stop listening and release the descriptor. Idempotent."""


class JournalStore(abc.ABC):
    """Durable rows of entry bytes per run, with leases and snapshots.

    Implementations: ``SqliteStore``, ``MemoryStore``, ``PostgresStore``.
    Every method is one atomic operation. Backend failures are raised as
    ``StoreError``.
    """

    @property
    def codec(self) -> EntryCodec:
        """How the store's rows encode entries (the journal encodes and decodes them)."""
        return JSON_CODEC

    # ------------------------------------------------------------- entries

    @abc.abstractmethod
    def commit(
        self,
        run_id: str,
        rows: Sequence[EntryRow],
        *,
        lease_token: str,
        snapshot: tuple[int, bytes] | None = None,
    ) -> None:
        """Append rows to a run, all or nothing, in one transaction.

        Args:
            run_id: The run.
            rows: Dense rows whose first seq is the run's last seq + 1.
            lease_token: The caller's lease token (from ``acquire_lease``).
            snapshot: A snapshot ``(seq, data)`` to store in the same
                transaction.

        Raises:
            LeaseLostError: The token no longer holds the run's lease.
            SeqConflictError: The rows do not continue the run's seq.
            StoreError: The backend failed; nothing was written.
        """

    @abc.abstractmethod
    def import_rows(self, run_id: str, rows: Sequence[EntryRow]) -> None:
        """Write a whole run at once, rows dense from seq 1, all or nothing.

        Raises:
            RunExistsError: The run already has entries; nothing was written.
            SeqConflictError: The rows are not dense from 1.
        """

    @abc.abstractmethod
    def last_seq(self, run_id: str) -> int:
        """Seq of the run's last entry; 0 for an empty or unknown run."""

    @abc.abstractmethod
    def read_rows(self, run_id: str, start: int, stop: int | None) -> list[StoredRow]:
        """The stored rows with ``start <= seq < stop`` (no upper bound if None), by seq."""

    def read_data(self, run_id: str, start: int, stop: int | None) -> list[bytes] | None:
        """The stored bytes alone of the rows ``read_rows`` would give, or None.

        A store whose records carry their own checksum (its codec's
        ``stored_crc``) may implement this cheaper read; the journal then
        verifies and decodes the bytes in bulk, and reads ``read_rows``
        instead when anything is wrong, to name what. None (the default):
        the store has no such read.
        """
        return None

    @abc.abstractmethod
    def run_info(self, run_id: str) -> RunInfo | None:
        """What is known about one run, or None if it has no entry."""

    @abc.abstractmethod
    def list_runs(self) -> list[RunInfo]:
        """Every run with at least one entry, oldest first (ties by run id)."""

    # -------------------------------------------------------------- leases

    @abc.abstractmethod
    def acquire_lease(self, run_id: str, holder: str, *, now: float, ttl_s: float) -> str:
        """Take the run's write lease and return its token.

        An expired lease, or one whose holder is a dead process on this host
        (see ``holder_is_dead``), is taken over.

        Raises:
            WriterConflictError: Another live holder has the lease.
        """

    @abc.abstractmethod
    def renew_lease(self, run_id: str, token: str, *, now: float, ttl_s: float) -> None:
        """Push the lease's expiry to ``now + ttl_s``.

        Raises:
            LeaseLostError: The token no longer holds the lease.
        """

    @abc.abstractmethod
    def release_lease(self, run_id: str, token: str) -> None:
        """Give the lease up, if the token still holds it (else do nothing)."""

    # ----------------------------------------------------------- snapshots

    @abc.abstractmethod
    def save_snapshot(self, run_id: str, seq: int, data: bytes) -> None:
        """Store (or replace) the run's snapshot at ``seq``, with its checksum."""

    @abc.abstractmethod
    def load_snapshot(self, run_id: str, max_seq: int) -> SnapshotRow | None:
        """The run's snapshot with the highest seq ``<= max_seq``, unverified."""

    # ---------------------------------------------------- control requests

    @abc.abstractmethod
    def post_request(self, run_id: str, body: bytes, *, now_us: int) -> int:
        """Queue a control request (pause, cancel, approve...) for a run's live writer.

        Any process may post; the run's own writer takes requests in id order
        and journals them. Requests are kept (they are the audit trail of who
        asked for what), never rewritten.

        Returns:
            The request's id: increasing across the whole store.
        """

    @abc.abstractmethod
    def requests_after(self, run_id: str, after_id: int) -> list[tuple[int, bytes]]:
        """The run's requests with ``id > after_id``, as ``(id, body)``, oldest first."""

    # ------------------------------------------------------------- follow

    def subscribe(self, run_id: str) -> CommitFeed | None:
        """Listen for commits to a run by any process, if the store can tell.

        Followers of a store that returns None (the default: SQLite and
        memory) poll for other processes' commits instead. A feed is set up
        before its follower reads, so no commit after the read goes unheard.

        Raises:
            StoreError: The backend failed.
        """
        return None

    # --------------------------------------------------------------- other

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store's resources. Idempotent."""


# ---------------------------------------------------------------- helpers


def check_dense(run_id: str, rows: Sequence[EntryRow], first: int) -> None:
    """Raise ``SeqConflictError`` unless the rows' seqs are ``first, first+1, ...``."""
    expected = first
    for row in rows:
        if row[0] != expected:
            raise SeqConflictError(run_id, expected, row[0])
        expected += 1


def default_holder() -> str:
    """A lease holder name for this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease holder is a process on this host that no longer runs.

    Holders named ``host:pid:anything`` (``default_holder``) are checked; any
    other name is assumed alive, so its lease only ends when it expires. A
    reused pid makes a dead holder look alive, which only delays takeover
    until expiry.
    """
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    # A killed child that its parent has not reaped yet is a zombie: dead.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] in "ZX"
    return False


def decode_data(
    run_id: str, start: int, datas: Sequence[bytes], codec: EntryCodec
) -> list[Entry] | None:
    """Records that should hold seqs ``start, start+1, ...``, verified and decoded in bulk.

    For a codec whose records carry their own checksum. Returns None when
    anything is wrong (a record missing, damaged, undecodable, or naming
    another run or seq): read the rows with ``decode_rows`` to learn what.
    """
    if not datas:
        return []
    if set(map(zlib.crc32, datas)) != {codec.stored_crc}:
        return None
    try:
        entries = codec.decode_many(datas)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if (
        len(entries) != len(datas)
        or tuple(map(_SEQ, entries)) != tuple(range(start, start + len(datas)))
        or set(map(_RUN_ID, entries)) != {run_id}
    ):
        return None
    return entries


def decode_rows(
    run_id: str, start: int, rows: Sequence[StoredRow], codec: EntryCodec = JSON_CODEC
) -> list[Entry]:
    """Verify and decode stored rows that should hold seqs ``start, start+1, ...``.

    Each row's checksum is checked, each entry must decode into the closed
    union, and each must name this run and the seq it is stored under. The
    common case (nothing wrong) is checked in bulk, with no Python-level loop
    per row; only when something is wrong are the rows looked at one by one,
    so that the error names the lowest bad seq.

    Raises:
        CorruptEntryError: The first row that fails, with what is wrong.
    """
    if not rows:
        return []
    seqs, datas, crcs = zip(*rows, strict=True)
    # ``checksum`` is zlib.crc32: mapped directly, the whole pass stays in C
    if seqs != tuple(range(start, start + len(rows))) or tuple(map(zlib.crc32, datas)) != crcs:
        _check_rows(run_id, start, rows)
    try:
        entries = codec.decode_many(datas)
    except (msgspec.ValidationError, msgspec.DecodeError):
        entries = []
    if len(entries) != len(rows):  # undecodable, or bytes that split into other entries
        entries = [_decode_one(run_id, seq, data, codec) for seq, data, _ in rows]
    if tuple(map(_SEQ, entries)) != seqs or set(map(_RUN_ID, entries)) != {run_id}:
        for entry, seq in zip(entries, seqs, strict=True):
            _check_identity(run_id, seq, entry)
    return entries


_SEQ = operator.attrgetter("seq")
_RUN_ID = operator.attrgetter("run_id")


def _check_rows(run_id: str, start: int, rows: Sequence[StoredRow]) -> None:
    """Raise for the first row out of place or failing its checksum."""
    expected = start
    for seq, data, crc in rows:
        if seq != expected:
            raise CorruptEntryError(run_id, expected, "missing: the stored run has a gap")
        actual = checksum(data)
        if actual != crc:
            raise CorruptEntryError(
                run_id, seq, f"checksum mismatch (stored {crc:#010x}, computed {actual:#010x})"
            )
        expected += 1


def _check_identity(run_id: str, seq: int, entry: Entry) -> None:
    if entry.seq != seq or entry.run_id != run_id:
        raise CorruptEntryError(
            run_id, seq, f"the stored entry says run {entry.run_id!r} seq {entry.seq}"
        )


def _decode_one(run_id: str, seq: int, data: bytes, codec: EntryCodec) -> Entry:
    try:
        entry = codec.decode_one(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise CorruptEntryError(run_id, seq, f"undecodable: {exc}") from exc
    _check_identity(run_id, seq, entry)  # here too, so the lowest bad seq is the one named
    return entry
