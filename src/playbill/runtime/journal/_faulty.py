"""A store that fails commits on demand, around any other store.

``FaultyStore(store)`` passes every call through to ``store``, except the
commits it was told to fail: those raise ``InjectedFaultError`` after the
store's own checks (the lease, then the seqs) and write nothing, as a commit
whose transaction failed and rolled back. The simulator fails the journal's
commits with it (``journal_fail=@N``, and the commits a killed process never
made); tests use it to see how a journal and its writer take a failed commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

import attrs

from ..model._entry import EntryCodec, EntryRow
from ..model._errors import InjectedFaultError
from ._store import CommitFeed, JournalStore, RunInfo, SnapshotRow, StoredRow, check_dense


@final
@attrs.define(eq=False)
class FaultyStore(JournalStore):
    """Any ``JournalStore``, with commits that fail when asked to.

    Args:
        store: The store to pass every call to; closing this one closes it.

    A failed commit first checks what the store would check before writing
    (that the lease token still holds the run, then that the rows continue
    the run's seqs: those errors win over the injected one), then raises
    ``InjectedFaultError``; the store never sees it, so nothing of it is
    written. A commit without rows never fails.
    """

    _store: JournalStore
    _fail_next: bool = attrs.field(default=False, init=False)
    _fail_at: set[int] = attrs.field(factory=set, init=False)
    _injected: int = attrs.field(default=0, init=False)

    @property
    def store(self) -> JournalStore:
        """The store under this one."""
        return self._store

    @property
    def codec(self) -> EntryCodec:
        """The codec of the store under this one."""
        return self._store.codec

    @property
    def injected(self) -> int:
        """How many commits this store failed on purpose so far."""
        return self._injected

    def fail_next_commit(self) -> None:
        """Make the next commit (with rows) fail, whole. Arming it twice fails one."""
        self._fail_next = True

    def fail_commit_at(self, seq: int) -> None:
        """Make the commit that would write entry ``seq`` (of any run) fail, once."""
        if seq < 1:
            raise ValueError(f"seqs start at 1, not {seq}")
        self._fail_at.add(seq)

    def disarm(self) -> None:
        """Forget every failure asked for that has not happened yet."""
        self._fail_next = False
        self._fail_at.clear()

    def _armed_for(self, rows: Sequence[EntryRow]) -> set[int] | None:
        """The seqs asked for that ``rows`` hold, or None if the commit goes through."""
        if not rows or not (self._fail_next or self._fail_at):
            return None
        hit = {seq for seq, *_ in rows} & self._fail_at
        return hit if self._fail_next or hit else None

    # ------------------------------------------------------------- entries

    def commit(
        self,
        run_id: str,
        rows: Sequence[EntryRow],
        *,
        lease_token: str,
        snapshot: tuple[int, bytes] | None = None,
    ) -> None:
        """See ``JournalStore.commit``; fails with ``InjectedFaultError`` when armed.

        A lease or seq error raised instead leaves the failure armed.
        """
        hit = self._armed_for(rows)
        if hit is None:
            self._store.commit(run_id, rows, lease_token=lease_token, snapshot=snapshot)
            return
        self._store.commit(run_id, (), lease_token=lease_token)  # only checks the lease
        check_dense(run_id, rows, self._store.last_seq(run_id) + 1)
        self._fail_next = False
        self._fail_at -= hit
        self._injected += 1
        raise InjectedFaultError(f"injected failure after 0 of {len(rows)} rows")

    def import_rows(self, run_id: str, rows: Sequence[EntryRow]) -> None:
        """See ``JournalStore.import_rows``."""
        self._store.import_rows(run_id, rows)

    def last_seq(self, run_id: str) -> int:
        """See ``JournalStore.last_seq``."""
        return self._store.last_seq(run_id)

    def read_rows(self, run_id: str, start: int, stop: int | None) -> list[StoredRow]:
        """See ``JournalStore.read_rows``."""
        return self._store.read_rows(run_id, start, stop)

    def read_data(self, run_id: str, start: int, stop: int | None) -> list[bytes] | None:
        """See ``JournalStore.read_data``."""
        return self._store.read_data(run_id, start, stop)

    def run_info(self, run_id: str) -> RunInfo | None:
        """See ``JournalStore.run_info``."""
        return self._store.run_info(run_id)

    def list_runs(self) -> list[RunInfo]:
        """See ``JournalStore.list_runs``."""
        return self._store.list_runs()

    # -------------------------------------------------------------- leases

    def acquire_lease(self, run_id: str, holder: str, *, now: float, ttl_s: float) -> str:
        """See ``JournalStore.acquire_lease``."""
        return self._store.acquire_lease(run_id, holder, now=now, ttl_s=ttl_s)

    def renew_lease(self, run_id: str, token: str, *, now: float, ttl_s: float) -> None:
        """See ``JournalStore.renew_lease``."""
        self._store.renew_lease(run_id, token, now=now, ttl_s=ttl_s)

    def release_lease(self, run_id: str, token: str) -> None:
        """See ``JournalStore.release_lease``."""
        self._store.release_lease(run_id, token)

    # ----------------------------------------------------------- snapshots

    def save_snapshot(self, run_id: str, seq: int, data: bytes) -> None:
        """See ``JournalStore.save_snapshot``."""
        self._store.save_snapshot(run_id, seq, data)

    def load_snapshot(self, run_id: str, max_seq: int) -> SnapshotRow | None:
        """See ``JournalStore.load_snapshot``."""
        return self._store.load_snapshot(run_id, max_seq)

    # ---------------------------------------------------- control requests

    def post_request(self, run_id: str, body: bytes, *, now_us: int) -> int:
        """See ``JournalStore.post_request``."""
        return self._store.post_request(run_id, body, now_us=now_us)

    def requests_after(self, run_id: str, after_id: int) -> list[tuple[int, bytes]]:
        """See ``JournalStore.requests_after``."""
        return self._store.requests_after(run_id, after_id)

    # ------------------------------------------------------------- follow

    def subscribe(self, run_id: str) -> CommitFeed | None:
        """See ``JournalStore.subscribe``."""
        return self._store.subscribe(run_id)

    # --------------------------------------------------------------- other

    def close(self) -> None:
        """Close the store under this one. Idempotent."""
        self._store.close()
