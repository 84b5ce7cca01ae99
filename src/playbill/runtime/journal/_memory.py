"""A journal store in memory, for tests and simulation.

It keeps exactly what the SQLite store keeps (MessagePack entry bytes with their
checksums, leases, snapshots) with the same semantics, so that corruption is
detected the same way. Its data lives as long as the object: closing it does
not drop anything, and "reopening" a journal is making a new ``Journal`` over
the same ``MemoryStore``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import final

import attrs

from ..model._entry import MSGPACK_CODEC, EntryCodec, EntryRow, checksum
from ..model._errors import (
    LeaseLostError,
    RunExistsError,
    WriterConflictError,
)
from ._store import (
    JournalStore,
    RunInfo,
    SnapshotRow,
    StoredRow,
    check_dense,
    holder_is_dead,
)


@final
@attrs.define(eq=False)
class _Run:
    first_us: int
    last_us: int
    # rows[i] holds seq i + 1 as (data, crc).
    rows: list[tuple[bytes, int]] = attrs.field(factory=list)


@final
@attrs.define(eq=False)
class _Lease:
    holder: str
    token: str
    expires_at: float


@final
@attrs.define(eq=False)
class MemoryStore(JournalStore):
    """A ``JournalStore`` in dicts and lists. Not shared between processes."""

    _runs: dict[str, _Run] = attrs.field(factory=dict, init=False)
    _leases: dict[str, _Lease] = attrs.field(factory=dict, init=False)
    _snapshots: dict[str, dict[int, tuple[bytes, int]]] = attrs.field(factory=dict, init=False)
    _requests: list[tuple[int, str, bytes]] = attrs.field(factory=list, init=False)

    @property
    def codec(self) -> EntryCodec:
        """Entries are kept as MessagePack, as in a SQLite journal."""
        return MSGPACK_CODEC

    # ------------------------------------------------------------- entries

    def commit(
        self,
        run_id: str,
        rows: Sequence[EntryRow],
        *,
        lease_token: str,
        snapshot: tuple[int, bytes] | None = None,
    ) -> None:
        """See ``JournalStore.commit``."""
        lease = self._leases.get(run_id)
        if lease is None or lease.token != lease_token:
            raise LeaseLostError(run_id, lease.holder if lease is not None else "nobody")
        run = self._runs.get(run_id)
        last = len(run.rows) if run is not None else 0
        if rows:
            check_dense(run_id, rows, last + 1)
        staged = [(data, crc) for _, _, data, crc in rows]
        # Nothing below can fail: the commit is applied whole.
        if rows:
            if run is None:
                run = self._runs[run_id] = _Run(first_us=rows[0][1], last_us=rows[-1][1])
            run.rows.extend(staged)
            run.last_us = rows[-1][1]
        if snapshot is not None:
            self.save_snapshot(run_id, *snapshot)

    def import_rows(self, run_id: str, rows: Sequence[EntryRow]) -> None:
        """See ``JournalStore.import_rows``."""
        if run_id in self._runs:
            raise RunExistsError(run_id)
        check_dense(run_id, rows, 1)
        if rows:
            run = _Run(first_us=rows[0][1], last_us=rows[-1][1])
            run.rows.extend((data, crc) for _, _, data, crc in rows)
            self._runs[run_id] = run

    def last_seq(self, run_id: str) -> int:
        """See ``JournalStore.last_seq``."""
        run = self._runs.get(run_id)
        return len(run.rows) if run is not None else 0

    def read_rows(self, run_id: str, start: int, stop: int | None) -> list[StoredRow]:
        """See ``JournalStore.read_rows``."""
        run = self._runs.get(run_id)
        if run is None:
            return []
        first = max(start, 1)
        rows = run.rows[first - 1 : None if stop is None else max(stop - 1, first - 1)]
        return [(seq, data, crc) for seq, (data, crc) in enumerate(rows, first)]

    def run_info(self, run_id: str) -> RunInfo | None:
        """See ``JournalStore.run_info``."""
        run = self._runs.get(run_id)
        if run is None:
            return None
        return RunInfo(
            run_id=run_id, first_us=run.first_us, last_seq=len(run.rows), last_us=run.last_us
        )

    def list_runs(self) -> list[RunInfo]:
        """See ``JournalStore.list_runs``."""
        infos = [self.run_info(run_id) for run_id in self._runs]
        return sorted(
            (info for info in infos if info is not None), key=lambda i: (i.first_us, i.run_id)
        )

    # -------------------------------------------------------------- leases

    def acquire_lease(self, run_id: str, holder: str, *, now: float, ttl_s: float) -> str:
        """See ``JournalStore.acquire_lease``."""
        lease = self._leases.get(run_id)
        if lease is not None and lease.expires_at > now and not holder_is_dead(lease.holder):
            raise WriterConflictError(run_id, lease.holder)
        token = secrets.token_hex(8)
        self._leases[run_id] = _Lease(holder=holder, token=token, expires_at=now + ttl_s)
        return token

    def renew_lease(self, run_id: str, token: str, *, now: float, ttl_s: float) -> None:
        """See ``JournalStore.renew_lease``."""
        lease = self._leases.get(run_id)
        if lease is None or lease.token != token:
            raise LeaseLostError(run_id, lease.holder if lease is not None else "nobody")
        lease.expires_at = now + ttl_s

    def release_lease(self, run_id: str, token: str) -> None:
        """See ``JournalStore.release_lease``."""
        lease = self._leases.get(run_id)
        if lease is not None and lease.token == token:
            del self._leases[run_id]

    # ----------------------------------------------------------- snapshots

    def save_snapshot(self, run_id: str, seq: int, data: bytes) -> None:
        """See ``JournalStore.save_snapshot``."""
        self._snapshots.setdefault(run_id, {})[seq] = (bytes(data), checksum(data))

    def load_snapshot(self, run_id: str, max_seq: int) -> SnapshotRow | None:
        """See ``JournalStore.load_snapshot``."""
        snapshots = self._snapshots.get(run_id, {})
        seqs = [seq for seq in snapshots if seq <= max_seq]
        if not seqs:
            return None
        seq = max(seqs)
        data, crc = snapshots[seq]
        return seq, data, crc

    # --------------------------------------------------------------- other

    def post_request(self, run_id: str, body: bytes, *, now_us: int) -> int:
        """See ``JournalStore.post_request``."""
        request_id = len(self._requests) + 1
        self._requests.append((request_id, run_id, bytes(body)))
        return request_id

    def requests_after(self, run_id: str, after_id: int) -> list[tuple[int, bytes]]:
        """See ``JournalStore.requests_after``."""
        return [(i, body) for i, run, body in self._requests[after_id:] if run == run_id]

    def close(self) -> None:
        """Nothing to release: the data lives as long as this object."""
