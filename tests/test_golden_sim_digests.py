"""Simulated runs keep their bytes: every seed of ``tests/golden/sim-digests.json`` still
gives the journal and sweep row it gave (see ``tests/golden/sim_digests.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))

import sim_digests  # noqa: E402

RECORDED: dict[str, str] = json.loads((GOLDEN / "sim-digests.json").read_text())


def test_every_case_is_recorded() -> None:
    assert sorted(RECORDED) == sorted(f"{s}/{st}/{f}" for s, st, f in sim_digests.CASES)


@pytest.mark.parametrize(("seed", "strategy", "faults"), sim_digests.CASES)
def test_a_seed_simulates_the_same_journal_and_row(seed: int, strategy: str, faults: str) -> None:
    assert sim_digests.digest(seed, strategy, faults) == RECORDED[f"{seed}/{strategy}/{faults}"]
