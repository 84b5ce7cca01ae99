"""``FaultyStore``: commits that fail on demand, around any store, writing nothing.

How a journal and its writer take a failed commit is in the conformance
suite (``test_commit_failure_fails_the_whole_batch``), run through a
``FaultyStore`` over every store; here, the wrapper itself.
"""

from __future__ import annotations

import pytest

from playbill import LeaseLostError, SeqConflictError
from playbill.lowlevel import JournalStore, MemoryStore
from playbill.runtime.model._entry import checksum
from playbill.testing import FaultyStore, InjectedFaultError


def rows(first: int, n: int) -> list[tuple[int, int, bytes, int]]:
    out = []
    for seq in range(first, first + n):
        data = f"entry {seq}".encode()
        out.append((seq, seq * 10, data, checksum(data)))
    return out


@pytest.fixture
def inner() -> MemoryStore:
    return MemoryStore()


def leased(store: JournalStore, run_id: str = "run") -> str:
    return store.acquire_lease(run_id, "tester", now=0.0, ttl_s=60.0)


def stored(store: JournalStore, run_id: str = "run") -> list[int]:
    return [seq for seq, _, _ in store.read_rows(run_id, 1, None)]


def test_it_passes_everything_through_until_told(inner: MemoryStore) -> None:
    store = FaultyStore(inner)
    token = leased(store)
    store.commit("run", rows(1, 3), lease_token=token, snapshot=(3, b"state"))
    assert stored(inner) == [1, 2, 3]
    assert store.last_seq("run") == 3
    snapshot = store.load_snapshot("run", 3)
    assert snapshot is not None and snapshot[:2] == (3, b"state")
    assert [info.run_id for info in store.list_runs()] == ["run"]
    assert store.injected == 0
    assert store.store is inner


def test_an_armed_commit_fails_whole_once_and_writes_nothing(inner: MemoryStore) -> None:
    store = FaultyStore(inner)
    token = leased(store)
    store.commit("run", rows(1, 2), lease_token=token)
    store.fail_next_commit()
    store.fail_next_commit()  # armed twice: still one failure
    store.commit("run", [], lease_token=token)  # a commit without rows never fails
    with pytest.raises(InjectedFaultError, match="after 0 of 3 rows"):
        store.commit("run", rows(3, 3), lease_token=token, snapshot=(5, b"state"))
    assert stored(inner) == [1, 2]
    assert inner.load_snapshot("run", 5) is None
    store.commit("run", rows(3, 3), lease_token=token)  # the same rows go through now
    assert stored(inner) == [1, 2, 3, 4, 5]
    assert store.injected == 1


def test_fail_commit_at_fails_the_commit_that_holds_that_seq(inner: MemoryStore) -> None:
    store = FaultyStore(inner)
    token = leased(store)
    store.fail_commit_at(4)
    store.commit("run", rows(1, 3), lease_token=token)
    with pytest.raises(InjectedFaultError):
        store.commit("run", rows(4, 2), lease_token=token)
    store.commit("run", rows(4, 2), lease_token=token)  # once
    assert stored(inner) == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="start at 1"):
        store.fail_commit_at(0)


def test_the_lease_and_seq_checks_win_and_leave_the_failure_armed(inner: MemoryStore) -> None:
    store = FaultyStore(inner)
    token = leased(store)
    store.commit("run", rows(1, 2), lease_token=token)
    store.fail_next_commit()
    with pytest.raises(LeaseLostError):
        store.commit("run", rows(3, 1), lease_token="not the token")
    with pytest.raises(SeqConflictError):
        store.commit("run", rows(4, 1), lease_token=token)
    assert store.injected == 0
    with pytest.raises(InjectedFaultError):
        store.commit("run", rows(3, 1), lease_token=token)
    assert stored(inner) == [1, 2]


def test_disarm_forgets_what_has_not_happened(inner: MemoryStore) -> None:
    store = FaultyStore(inner)
    token = leased(store)
    store.fail_next_commit()
    store.fail_commit_at(2)
    store.disarm()
    store.commit("run", rows(1, 3), lease_token=token)
    assert stored(inner) == [1, 2, 3]
    assert store.injected == 0
