"""The demo run as a golden journal: properties of loading it through the real journal.

The CLI loads state as the latest snapshot plus the tail (``state_at``); here
that is checked against the full fold at every seq, whatever the snapshot
interval and however the drafts are grouped into appends.
"""

from __future__ import annotations

import trio
from hypothesis import given
from hypothesis import strategies as st

from playbill.cli._demo import demo_run
from playbill.cli._load import state_at
from playbill.runtime import MemoryJournal
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._state import decode_state, encode_state, state_digest

DEMO = demo_run()
ENTRIES = DEMO.entries("demo-0001")
SEQS = st.integers(0, len(ENTRIES))


def batches(sizes: list[int]) -> list[tuple[list[Draft], int]]:
    """The demo's drafts cut into batches of these sizes (the rest in one), with a time each."""
    out: list[tuple[list[Draft], int]] = []
    start = 0
    for size in [*sizes, len(DEMO.drafts)]:
        if start >= len(DEMO.drafts):
            break
        stop = min(start + size, len(DEMO.drafts))
        out.append((list(DEMO.drafts[start:stop]), DEMO.times_us[stop - 1]))
        start = stop
    return out


@given(base=SEQS, target=SEQS)
def test_snapshot_plus_tail_equals_the_full_fold(base: int, target: int) -> None:
    base, target = min(base, target), max(base, target)
    snapshot = decode_state(encode_state(fold(ENTRIES[:base])))
    assert fold(ENTRIES[base:target], snapshot) == fold(ENTRIES[:target])


@given(cut=SEQS)
def test_every_prefix_of_the_demo_folds_without_anomalies(cut: int) -> None:
    assert fold(ENTRIES[:cut]).anomaly_count == 0


@given(
    sizes=st.lists(st.integers(1, 12), max_size=40),
    snapshot_every=st.integers(1, 30),
    query=st.integers(1, len(ENTRIES)),
)
def test_state_at_agrees_with_the_full_fold_through_the_writer(
    sizes: list[int], snapshot_every: int, query: int
) -> None:
    async def main() -> tuple[list[Entry], str, str]:
        with MemoryJournal() as journal:
            now = DEMO.times_us[0]
            async with journal.writer(
                "demo-0001", clock=lambda: now, snapshot_every=snapshot_every
            ) as writer:
                for drafts, at_us in batches(sizes):
                    now = at_us
                    await writer.append(drafts)
            stored = await journal.read("demo-0001")
            from_snapshot = await state_at(journal, "demo-0001", query)
            full = await state_at(journal, "demo-0001", query, snapshots=False)
            return stored, state_digest(from_snapshot), state_digest(full)

    stored, from_snapshot, full = trio.run(main)
    assert [e.msg for e in stored] == [e.msg for e in ENTRIES]
    assert fold(stored).anomaly_count == 0
    assert fold(stored).status == "completed"
    assert from_snapshot == full == state_digest(fold(stored[:query]))
