"""A recorded simulated run as a golden journal: committed bytes that must keep replaying.

``tests/golden/sim-3.jsonl`` is ``playbill export sim-3`` of a fresh::

    playbill sim --seed 3 --faults crash=0.05,hang=0.02,transient=0.05

If these tests fail, a change altered what recorded runs mean (the entry
encoding, the reducer), what the policy decides on them (``replay --check``),
or what a seeded simulation does. If that is intended, say so in the
changelog, regenerate every golden journal with
``python tests/golden/regenerate.py`` and update ``SIM_DIGEST`` to the
digest it prints.
"""

from __future__ import annotations

from pathlib import Path

import trio

from playbill.cli._jsonl import parse_run_file
from playbill.runtime import (
    MemoryJournal,
    check_replay,
    encode_entry,
    fold,
    parse_faults,
    state_digest,
)
from playbill.simulation import simulate

GOLDEN = Path(__file__).parent / "golden" / "sim-3.jsonl"
SIM_DIGEST = "08a24feb01075ee26a0d7258bc478a9a5ad4cc333c5f4b7e188b894709ee31f1"
FAULTS = "crash=0.05,hang=0.02,transient=0.05"


def golden_entries():
    return parse_run_file(str(GOLDEN), GOLDEN.read_bytes())


def test_the_golden_run_replays_to_the_recorded_state() -> None:
    state = fold(golden_entries())
    assert state.anomaly_count == 0, state.anomalies
    assert state_digest(state) == SIM_DIGEST


def test_the_policy_still_makes_every_recorded_decision() -> None:
    divergence = check_replay(golden_entries())
    assert divergence is None, divergence.describe()


def test_the_simulation_still_writes_the_golden_journal() -> None:
    journal = MemoryJournal()
    simulate(3, journal=journal, faults=parse_faults(FAULTS), labels={"profiles": "builtin"})
    written = trio.run(journal.read, "sim-3")
    assert b"".join(encode_entry(e) + b"\n" for e in written) == GOLDEN.read_bytes()
