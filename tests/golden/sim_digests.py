"""Digests of simulated journals, seed by seed: one seed keeps giving the same bytes.

    python tests/golden/sim_digests.py          # rewrite sim-digests.json
    python tests/golden/sim_digests.py --check  # exit 1 if a digest would change

Each case is a whole simulated run (``simulate``) of one seed, strategy and
fault setting; its digest is the SHA-256 of its exported journal (the bytes
``playbill export`` writes) followed by its sweep row. A change that makes
simulation faster must leave every digest as it is: the same seed gives the
same journal, byte for byte, and the same row. ``tests/test_golden_sim_digests.py``
checks them. Regenerate only when a change is meant to alter what a seed
simulates, and say why in the changelog.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import msgspec
import trio

from playbill.cli._jsonl import encode_run_file
from playbill.runtime import AgentSpec, MemoryJournal, Plan, parse_faults
from playbill.simulation import default_plan, simulate
from playbill.sweeps._cells import Cell, row_of

HERE = Path(__file__).resolve().parent
DIGESTS = HERE / "sim-digests.json"

FAULTS = {
    "none": "",
    "agents": "crash=0.05,hang=0.02,transient=0.1",
    "journal": "crash=0.05,transient=0.1,journal_fail=@40,journal_fail=@41,kill=@300",
}
"""The fault settings of the cases, by name."""

CASES = (
    *((seed, strategy, "none") for seed in (0, 1) for strategy in (
        "pipeline", "parallel", "competitive", "cooperative", "review_loop"
    )),
    *((seed, strategy, "agents") for seed in (2, 3, 4) for strategy in (
        "pipeline", "parallel", "competitive", "cooperative", "review_loop"
    )),
    *((seed, "pipeline", "journal") for seed in (5, 6)),
    *((seed, "bench", "agents") for seed in (7, 8, 9)),
)  # fmt: skip
"""(seed, strategy, faults) of every case; strategy ``bench`` is ``bench/simulate.py``'s
four-agent plan under ``pipeline``."""


def bench_plan() -> Plan:
    """The default plan's 10 steps with 4 agents, as ``bench/simulate.py`` has it."""
    plan = default_plan()
    agents = (
        AgentSpec(id="executor-1", roles=("executor", "planner")),
        AgentSpec(id="executor-2", roles=("executor",)),
        AgentSpec(id="reviewer", roles=("reviewer",), edits_files=False),
        AgentSpec(id="verifier", roles=("verifier",), edits_files=False),
    )
    return Plan(steps=plan.steps, agents=agents, criteria=plan.criteria)


def digest(seed: int, strategy: str, faults: str) -> str:
    """The digest of one case: its exported journal, then its sweep row."""
    journal = MemoryJournal()
    bench = strategy == "bench"
    result = simulate(
        seed,
        plan=bench_plan() if bench else None,
        strategy="pipeline" if bench else strategy,
        faults=parse_faults(FAULTS[faults]),
        journal=journal,
        max_virtual_s=24 * 3600.0,
    )
    exported = encode_run_file(trio.run(journal.read, result.run_id))
    row = row_of(Cell(seed, strategy, "builtin"), result.outcome, result.virtual_s, result.state)
    return hashlib.sha256(exported + msgspec.json.encode(row)).hexdigest()


def digests() -> dict[str, str]:
    """Every case's digest, keyed ``seed/strategy/faults``."""
    return {f"{s}/{st}/{f}": digest(s, st, f) for s, st, f in CASES}


def main(argv: list[str]) -> int:
    """Rewrite (or, with ``--check``, compare) the digest table."""
    table = digests()
    if "--check" in argv:
        recorded = json.loads(DIGESTS.read_text())
        keys = table.keys() | recorded.keys()
        changed = sorted(k for k in keys if table.get(k) != recorded.get(k))
        print("unchanged" if not changed else f"differs: {', '.join(changed)}")
        return 1 if changed else 0
    DIGESTS.write_text(json.dumps(table, indent=1) + "\n")
    print(f"written: {len(table)} digests")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
