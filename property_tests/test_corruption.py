"""Any damage to the stored bytes of an entry is reported, with its run and seq.

Whatever bytes of whichever entry are truncated or flipped, in the SQLite file
(edited through sqlite3) or in the memory store, reading the run raises
``CorruptEntryError`` naming that run and seq: never a skipped entry, never a
different entry, never a wrong one decoded in its place. Entries before it
still read.
"""

from __future__ import annotations

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

from playbill.runtime.model._entry import Draft
from playbill.runtime.model._errors import CorruptEntryError
from stores import STORE_PARAMS, StoreUnderTest
from strategies import drafts


@st.composite
def damage(draw: st.DrawFn, size: int) -> tuple[str, object]:
    """A change to a byte string of ``size`` bytes: a truncation or byte flips."""
    if draw(st.booleans()):
        return "truncate", draw(st.integers(0, size - 1))
    positions = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4, unique=True))
    masks = [draw(st.integers(1, 255)) for _ in positions]
    return "flip", list(zip(positions, masks, strict=True))


def apply(kind: str, how: object, data: bytes) -> bytes:
    if kind == "truncate":
        assert isinstance(how, int)
        return data[:how]
    out = bytearray(data)
    for position, mask in how:  # type: ignore[attr-defined]
        out[position] ^= mask
    return bytes(out)


@pytest.mark.parametrize("kind", STORE_PARAMS)
@given(
    runs=st.lists(st.lists(drafts(), min_size=1, max_size=6), min_size=1, max_size=3),
    data=st.data(),
)
def test_damage_is_always_detected(kind: str, runs: list[list[Draft]], data: st.DataObject) -> None:
    storage = StoreUnderTest(kind)
    try:
        journal = storage.open()

        async def write() -> None:
            for i, batch in enumerate(runs):
                async with journal.writer(f"run-{i}") as w:
                    await w.append(batch)

        trio.run(write)
        victim = data.draw(st.integers(0, len(runs) - 1), label="run")
        run_id = f"run-{victim}"
        seq = data.draw(st.integers(1, len(runs[victim])), label="seq")
        stored = storage.damage(run_id, seq, lambda b: b)  # peek at the stored bytes
        change = data.draw(damage(len(stored)), label="damage")
        storage.damage(run_id, seq, lambda b: apply(*change, b))

        for reader in (journal, storage.open()):  # this journal, and a fresh one
            with pytest.raises(CorruptEntryError) as info:
                trio.run(reader.read, run_id)
            assert (info.value.run_id, info.value.seq) == (run_id, seq)
            with pytest.raises(CorruptEntryError) as info:
                trio.run(reader.read, run_id, seq, seq + 1)
            assert (info.value.run_id, info.value.seq) == (run_id, seq)
            before = trio.run(reader.read, run_id, 1, seq)
            assert [e.seq for e in before] == list(range(1, seq))
            reader.close()
    finally:
        storage.cleanup()
