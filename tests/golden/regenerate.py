"""Write every golden journal of this directory again, and print their state digests.

    python tests/golden/regenerate.py          # rewrite the files
    python tests/golden/regenerate.py --check  # exit 1 if a file would change

Run it (with the project importable: ``PYTHONPATH=src`` in a checkout) only
when a change is meant to alter what recorded runs mean, say why in the
changelog, and copy the printed digests into ``DEMO_DIGEST``
(``tests/test_golden_demo.py``) and ``SIM_DIGEST``
(``tests/test_golden_sim.py``). ``tests/test_golden_journals.py`` checks
that every ``*.jsonl`` here is what this script writes, and replays each
with ``replay --check``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import trio

from playbill.cli._demo import demo_run
from playbill.cli._jsonl import encode_run_file
from playbill.runtime import MemoryJournal, fold, parse_faults, state_digest
from playbill.simulation import simulate

HERE = Path(__file__).resolve().parent

SIM_FAULTS = "crash=0.05,hang=0.02,transient=0.05"
"""``sim-3`` is ``playbill sim --seed 3 --faults`` these, exported."""


def demo_bytes() -> bytes:
    """``demo-0001``: the scripted demo (``playbill demo --scripted``), exported."""
    return encode_run_file(demo_run().entries("demo-0001"))


def sim_bytes() -> bytes:
    """``sim-3``: a seeded simulated run under faults, exported."""
    journal = MemoryJournal()
    simulate(3, journal=journal, faults=parse_faults(SIM_FAULTS), labels={"profiles": "builtin"})
    return encode_run_file(trio.run(journal.read, "sim-3"))


GOLDEN: dict[str, Callable[[], bytes]] = {
    "demo-0001.jsonl": demo_bytes,
    "sim-3.jsonl": sim_bytes,
}
"""Each golden journal's file name, and what writes its bytes."""


def main(argv: list[str]) -> int:
    """Rewrite (or, with ``--check``, compare) every golden journal; print digests."""
    from playbill.cli._jsonl import parse_run_file

    check = "--check" in argv
    changed = []
    for name, build in GOLDEN.items():
        data = build()
        path = HERE / name
        if path.exists() and path.read_bytes() == data:
            status = "unchanged"
        else:
            changed.append(name)
            status = "differs" if check else "written"
            if not check:
                path.write_bytes(data)
        digest = state_digest(fold(parse_run_file(name, data)))
        print(f"{name}: {status}, state-digest {digest}")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
