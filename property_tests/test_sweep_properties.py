"""Properties of sweeps: rows depend only on the cells asked for.

Not on the number of worker processes, and not on how often the sweep was
interrupted (a torn last line included) and resumed. The model is the
simplest possible sweep: ``run_cell`` on every cell, in sorted order.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from playbill.runtime import STRATEGIES
from playbill.sweeps import PROGRESS_FILE, ROWS_JSONL, Cell, Row, load_setup, run_cell, run_sweep
from playbill.sweeps._runner import cells_of

pytestmark = pytest.mark.slow

SETUP = load_setup()
SEED_POOL = range(0, 40)

seed_sets = st.sets(st.sampled_from(SEED_POOL), min_size=1, max_size=3).map(sorted)
strategy_sets = st.sets(st.sampled_from(sorted(STRATEGIES)), min_size=1, max_size=2).map(sorted)


@functools.cache
def model_row(cell: Cell) -> Row:
    return run_cell(SETUP, cell)


def model(seeds: list[int], strategies: list[str]) -> tuple[Row, ...]:
    return tuple(model_row(cell) for cell in cells_of(seeds, strategies, SETUP.profile_names))


@settings(max_examples=3)
@given(seeds=seed_sets, strategies=strategy_sets)
def test_rows_do_not_depend_on_the_number_of_workers(
    seeds: list[int], strategies: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one = run_sweep(SETUP, Path(tmp) / "1", strategies=strategies, seeds=seeds, workers=1)
        two = run_sweep(SETUP, Path(tmp) / "2", strategies=strategies, seeds=seeds, workers=2)
        assert one.rows == two.rows == model(seeds, strategies)
        jsonl = (Path(tmp) / "1" / ROWS_JSONL).read_bytes()
        assert jsonl == (Path(tmp) / "2" / ROWS_JSONL).read_bytes()


@settings(max_examples=6)
@given(
    seeds=seed_sets,
    strategies=strategy_sets,
    data=st.data(),
    torn=st.binary(max_size=40).filter(lambda b: b"\n" not in b),
)
def test_a_resumed_sweep_gives_the_rows_of_a_whole_one(
    seeds: list[int], strategies: list[str], data: st.DataObject, torn: bytes
) -> None:
    first = data.draw(st.lists(st.sampled_from(seeds), unique=True).map(sorted), label="first")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if first:
            partial = run_sweep(SETUP, out, strategies=strategies, seeds=first)
            assert partial.rows == model(first, strategies)
            with (out / PROGRESS_FILE).open("ab") as log:
                log.write(torn)  # what a kill in the middle of a write leaves
        whole = run_sweep(SETUP, out, strategies=strategies, seeds=seeds)
        assert whole.rows == model(seeds, strategies)
        assert whole.reused == len(first) * len(strategies) * len(SETUP.profile_names)
        decoder = msgspec.json.Decoder(Row)
        logged = [decoder.decode(line) for line in (out / PROGRESS_FILE).read_bytes().splitlines()]
        assert sorted(logged, key=lambda row: row.cell) == list(whole.rows)
