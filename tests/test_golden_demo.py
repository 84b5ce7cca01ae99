"""The demo run as a golden journal: committed bytes that must keep replaying.

``tests/golden/demo-0001.jsonl`` is ``playbill export demo-0001`` of a fresh
``playbill demo``. If a change makes these tests fail, it changed what old
journals mean: the entry encoding, the message catalogue, the demo script or
the reducer. If that is intended, say so in the changelog, regenerate every
golden journal with ``python tests/golden/regenerate.py`` and update
``DEMO_DIGEST`` to the digest it prints.
"""

from __future__ import annotations

from pathlib import Path

from playbill.cli._demo import demo_run
from playbill.cli._jsonl import encode_run_file, parse_run_file
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._state import state_digest

GOLDEN = Path(__file__).parent / "golden" / "demo-0001.jsonl"
DEMO_DIGEST = "aee1ed8bc51edcecacabbee92f1b95987dd4cce6c6a95513f29b998eb622dceb"


def test_the_golden_journal_replays_to_the_recorded_state() -> None:
    entries = parse_run_file(str(GOLDEN), GOLDEN.read_bytes())
    state = fold(entries)
    assert state.anomaly_count == 0, state.anomalies
    assert state.status == "completed"
    assert state_digest(state) == DEMO_DIGEST


def test_the_demo_script_still_writes_the_golden_journal() -> None:
    assert encode_run_file(demo_run().entries("demo-0001")) == GOLDEN.read_bytes()
